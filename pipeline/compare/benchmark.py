"""Peer benchmark of one declaration against all the others of the corpus."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline.compare.common import round_floats
from pipeline.compare.similarity import nearest

#: Share of peers above which a theme counts as covered by "most peers".
MAJORITY = 0.5


@dataclass
class Benchmark:
    """Profile of one declaration against its peers (every other document read).

    ``unique_themes``: themes it covers that most peers do not (``theme, theme_label,
    share_units, peers_present`` = share of peers covering it, < 0.5).
    ``missing_themes``: themes most peers cover (> 0.5) and it does not.
    ``emphasis``: per theme, its ``share_units`` against the peers' ``peers_mean``,
    ``peers_median``, ``peers_std``, ``z_score`` (NaN when peers do not vary) and
    ``percentile`` (0–100: share of peers with a lower share, ties counting half), sorted by
    z-score then gap. ``nearest``: its 3 nearest documents by each measure (``measure`` =
    "lemmes"/"thèmes", ``rank, doc_id, commune_label, cosine``). ``terms``: its distinctive
    terms (rows of distinctive_terms).
    """

    doc_id: str
    commune_label: str
    n_peers: int
    unique_themes: pd.DataFrame = field(default_factory=pd.DataFrame)
    missing_themes: pd.DataFrame = field(default_factory=pd.DataFrame)
    emphasis: pd.DataFrame = field(default_factory=pd.DataFrame)
    nearest: pd.DataFrame = field(default_factory=pd.DataFrame)
    terms: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_text(self, n_terms: int = 10) -> str:
        """French summary for the terminal."""
        lines = [f"Profil de {self.commune_label} ({self.doc_id}) face à {self.n_peers} "
                 f"autre(s) déclaration(s)", ""]
        if self.n_peers == 0:
            lines.append("Une seule déclaration dans le corpus : pas de comparaison possible.")
            return "\n".join(lines)
        lines.append("Thèmes abordés alors que la plupart des autres ne les abordent pas :")
        if len(self.unique_themes):
            for r in self.unique_themes.itertuples():
                lines.append(f"  - {r.theme_label} : {r.share_units:.0%} des unités "
                             f"(présent chez {r.peers_present:.0%} des autres)")
        else:
            lines.append("  (aucun)")
        lines.append("Thèmes abordés par la plupart des autres mais absents ici :")
        if len(self.missing_themes):
            for r in self.missing_themes.itertuples():
                lines.append(f"  - {r.theme_label} (présent chez {r.peers_present:.0%} des autres)")
        else:
            lines.append("  (aucun)")
        lines.append("Accent mis sur chaque thème (part des unités ; moyenne des autres ; écart-type) :")
        for r in self.emphasis.itertuples():
            z = "n.d." if pd.isna(r.z_score) else f"{r.z_score:+.1f}"
            lines.append(f"  - {r.theme_label} : {r.share_units:.0%} ; moyenne {r.peers_mean:.0%}"
                         f" ; z = {z} ; centile {r.percentile:.0f}")
        for measure, title in (("lemmes", "vocabulaire"), ("thèmes", "profil thématique")):
            sub = self.nearest[self.nearest["measure"] == measure] if len(self.nearest) else []
            lines.append(f"Déclarations les plus proches ({title}) :")
            for r in (sub.itertuples() if len(sub) else []):
                name = r.doc_id if r.commune_label == r.doc_id else f"{r.commune_label} ({r.doc_id})"
                lines.append(f"  {r.rank}. {name} — cosinus {r.cosine:.2f}")
            if not len(sub):
                lines.append("  (aucune)")
        lines.append("Termes distinctifs (log-vraisemblance) :")
        if len(self.terms):
            lines.append("  " + ", ".join(
                f"{r.term} ({r.count_doc})" for r in self.terms.head(n_terms).itertuples()))
        else:
            lines.append("  (aucun)")
        return "\n".join(lines)


def _percentile(value: float, others: np.ndarray) -> float:
    if not len(others):
        return float("nan")
    return 100.0 * ((others < value).sum() + 0.5 * (others == value).sum()) / len(others)


def benchmark(doc_id: str, tables: dict[str, pd.DataFrame], k: int = 3) -> Benchmark:
    """Benchmark ``doc_id`` against every other document, from the tables of
    ``build_tables`` (uses theme_matrix, similarity and distinctive_terms; the last two may
    be missing). Raises ValueError, listing the known ids, when ``doc_id`` is unknown."""
    tm = tables.get("theme_matrix")
    if tm is None or not len(tm):
        raise ValueError("aucune déclaration analysée : pas de matrice des thèmes")
    known = sorted(set(tm["doc_id"].astype(str)))
    if doc_id not in known:
        raise ValueError(f"déclaration inconnue : {doc_id!r} ; identifiants connus : "
                         f"{', '.join(known)}")
    tm = tm.assign(doc_id=tm["doc_id"].astype(str),
                   present=tm["present"].map(lambda v: str(v).lower() in ("true", "1")))
    labels = dict(zip(tm["doc_id"], tm["commune_label"].astype(str), strict=False))
    theme_order = list(dict.fromkeys(tm["theme"]))
    mine = tm[tm["doc_id"] == doc_id].set_index("theme").reindex(theme_order)
    peers = tm[tm["doc_id"] != doc_id]
    n_peers = peers["doc_id"].nunique()
    result = Benchmark(doc_id=doc_id, commune_label=labels[doc_id], n_peers=n_peers)

    rows = []
    for theme in theme_order:
        p = peers[peers["theme"] == theme]
        shares = p["share_units"].to_numpy(dtype=float)
        own = float(mine.at[theme, "share_units"])
        mean = float(shares.mean()) if len(shares) else float("nan")
        std = float(shares.std(ddof=0)) if len(shares) else float("nan")
        rows.append({
            "theme": theme, "theme_label": mine.at[theme, "theme_label"],
            "share_units": own, "present": bool(mine.at[theme, "present"]),
            "peers_present": float(p["present"].mean()) if len(p) else float("nan"),
            "peers_mean": mean,
            "peers_median": float(np.median(shares)) if len(shares) else float("nan"),
            "peers_std": std,
            "z_score": (own - mean) / std if len(shares) and std > 0 else float("nan"),
            "percentile": _percentile(own, shares),
        })
    prof = pd.DataFrame(rows)
    if n_peers:
        uniq = prof[prof["present"] & (prof["peers_present"] < MAJORITY)]
        result.unique_themes = round_floats(uniq[["theme", "theme_label", "share_units",
                                                  "peers_present"]].reset_index(drop=True))
        miss = prof[~prof["present"] & (prof["peers_present"] > MAJORITY)]
        miss = miss.sort_values("peers_present", ascending=False, kind="stable")
        result.missing_themes = round_floats(miss[["theme", "theme_label", "peers_present"]]
                                             .reset_index(drop=True))
    prof["_gap"] = (prof["share_units"] - prof["peers_mean"]).abs()
    emph = prof.sort_values(["z_score", "_gap"], ascending=[False, False], na_position="last",
                            kind="stable")
    result.emphasis = round_floats(emph[["theme", "theme_label", "share_units", "peers_mean",
                                         "peers_median", "peers_std", "z_score", "percentile"]]
                                   .reset_index(drop=True))
    sim = tables.get("similarity")
    near = []
    if sim is not None and len(sim):
        sim = sim.assign(doc_a=sim["doc_a"].astype(str), doc_b=sim["doc_b"].astype(str))
        for measure, col in (("lemmes", "cosine_lemmas"), ("thèmes", "cosine_themes")):
            top = nearest(sim, doc_id, col, k)
            for i, r in enumerate(top.itertuples(), start=1):
                near.append({"measure": measure, "rank": i, "doc_id": r.doc_id,
                             "commune_label": labels.get(r.doc_id, r.doc_id),
                             "cosine": float(r.cosine)})
    result.nearest = pd.DataFrame(near, columns=["measure", "rank", "doc_id", "commune_label",
                                                 "cosine"])
    terms = tables.get("distinctive_terms")
    if terms is not None and len(terms):
        t = terms[terms["doc_id"].astype(str) == doc_id].sort_values("rank", kind="stable")
        result.terms = t.reset_index(drop=True)
    else:
        result.terms = pd.DataFrame(columns=["doc_id", "term", "count_doc", "count_rest",
                                             "per_10k_doc", "per_10k_rest", "log_likelihood",
                                             "rank"])
    return result
