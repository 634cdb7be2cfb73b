"""Peer benchmark of one declaration against all the others of the corpus."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd

from pipeline.compare.common import DECIMALS

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
    ``percentile`` (0–100: share of peers with a lower share, ties counting half) — both NaN
    with fewer than 10 peers —, ``rank`` (1 = largest share; ties share the best rank), sorted
    by z-score then gap. ``nearest``: its 3 nearest documents by each measure (``measure`` =
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

    # Benchmarks made by ``benchmark_all`` keep their tables as plain columns in ``_parts``
    # (part name → (columns, list of column arrays)) and build a DataFrame only when the
    # attribute is read: rendering 300 profiles then needs no DataFrame at all (``records``).
    def __getattr__(self, name: str):
        parts = self.__dict__.get("_parts")
        if parts is None or name not in parts:
            raise AttributeError(name)
        value = parts[name]
        if callable(value):
            df = value()
        else:
            cols, arrays = value
            df = pd.DataFrame(dict(zip(cols, arrays, strict=True)), columns=cols)
        self.__dict__[name] = df
        return df

    def __getstate__(self) -> dict:
        """Pickled with every table built (the lazy parts hold closures)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def records(self, name: str) -> list[dict]:
        """Rows of part ``name`` (unique_themes, missing_themes, emphasis, nearest, terms) as
        dicts of Python values, without building a DataFrame when avoidable."""
        rec = self.__dict__.get("_records", {}).get(name)
        if rec is not None:
            return rec
        parts = self.__dict__.get("_parts") or {}
        if name in parts and name not in self.__dict__ and not callable(parts[name]):
            cols, arrays = parts[name]
            lists = [a.tolist() if hasattr(a, "tolist") else list(a) for a in arrays]
            return [dict(zip(cols, row, strict=True)) for row in zip(*lists, strict=True)]
        return getattr(self, name).to_dict("records")

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
        if self.n_peers < MIN_PEERS_FOR_STATS:
            lines.append(f"Accent mis sur chaque thème (part des unités ; médiane des autres ; "
                         f"rang sur {self.n_peers + 1} — moins de 10 pairs : pas d'écart-type "
                         "ni de centile) :")
            for r in self.emphasis.itertuples():
                lines.append(f"  - {r.theme_label} : {r.share_units:.0%} ; médiane "
                             f"{r.peers_median:.0%} ; rang {r.rank}/{self.n_peers + 1}")
        else:
            lines.append("Accent mis sur chaque thème (part des unités ; moyenne des autres ; "
                         "écart en écarts-types ; centile) :")
            for r in self.emphasis.itertuples():
                z = "n.d." if pd.isna(r.z_score) else f"{r.z_score:+.1f}"
                lines.append(f"  - {r.theme_label} : {r.share_units:.0%} ; moyenne "
                             f"{r.peers_mean:.0%} ; z = {z} ; centile {r.percentile:.0f}")
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


EMPHASIS_COLUMNS = ["theme", "theme_label", "share_units", "peers_mean", "peers_median",
                    "peers_std", "z_score", "percentile", "rank"]
#: Below this many peers, z-scores and percentiles are left empty (NaN): a rank among the few
#: values and their median say what is known (also the profile's, ``compare.peers``, and the report's).
MIN_PEERS_FOR_STATS = 10
NEAREST_COLUMNS = ["measure", "rank", "doc_id", "commune_label", "cosine"]
UNIQUE_COLUMNS = ["theme", "theme_label", "share_units", "peers_present"]
MISSING_COLUMNS = ["theme", "theme_label", "peers_present"]
TERM_COLUMNS = ["doc_id", "term", "count_doc", "count_rest", "per_10k_doc", "per_10k_rest",
                "log_likelihood", "rank"]


def _truthy(values: pd.Series) -> np.ndarray:
    """``present`` column (bool, or text "True"/"1" read back from CSV) → bool array."""
    if pd.api.types.is_bool_dtype(values):
        return values.fillna(False).to_numpy(dtype=bool)
    return values.astype(str).str.lower().isin(["true", "1"]).to_numpy(dtype=bool)


def _round(a: np.ndarray) -> np.ndarray:
    return np.round(a, DECIMALS)


class _Corpus:
    """Everything ``benchmark`` needs, computed once for all documents from the tables.

    ``share``/``present``: documents × themes arrays (NaN / False where theme_matrix has no
    row); ``nearest``: doc_id → rows (measure, doc_b, cosine) already ranked; ``terms``:
    doc_id → its distinctive_terms rows sorted by rank.
    """

    def __init__(self, tables: dict[str, pd.DataFrame], k: int):
        tm = tables.get("theme_matrix")
        if tm is None or not len(tm):
            raise ValueError("aucune déclaration analysée : pas de matrice des thèmes")
        doc = tm["doc_id"].astype(str).to_numpy(dtype=object)
        self.known = sorted(set(doc))
        self.labels = dict(zip(doc, tm["commune_label"].astype(str), strict=False))
        self.themes = list(dict.fromkeys(tm["theme"]))
        d_index = {d: i for i, d in enumerate(self.known)}
        t_index = {t: j for j, t in enumerate(self.themes)}
        rows = np.fromiter((d_index[d] for d in doc), dtype=np.int64, count=len(doc))
        cols = np.fromiter((t_index[t] for t in tm["theme"]), dtype=np.int64, count=len(doc))
        n, m = len(self.known), len(self.themes)
        # the last row of a (doc, theme) pair wins, as .set_index().reindex() would raise on
        # duplicates anyway; build_tables never writes duplicates
        self.share = np.full((n, m), np.nan)
        self.share[rows, cols] = pd.to_numeric(tm["share_units"], errors="coerce").to_numpy(float)
        self.has_row = np.zeros((n, m), dtype=bool)
        self.has_row[rows, cols] = True
        self.present = np.zeros((n, m), dtype=bool)
        self.present[rows, cols] = _truthy(tm["present"])
        self.theme_label = np.full((n, m), np.nan, dtype=object)
        self.theme_label[rows, cols] = tm["theme_label"].to_numpy(dtype=object)
        self.d_index = d_index
        self.k = k
        self.nearest = self._nearest(tables.get("similarity"), k)
        terms = tables.get("distinctive_terms")
        self.terms_table = terms
        self.terms = self._terms(terms)
        self.no_terms = (terms.iloc[0:0].reset_index(drop=True)
                         if terms is not None and len(terms) else pd.DataFrame(columns=TERM_COLUMNS))

    @staticmethod
    def _nearest(sim: pd.DataFrame | None, k: int) -> dict[str, list[tuple]]:
        out: dict[str, list[tuple]] = {}
        if sim is None or not len(sim):
            return out
        a = sim["doc_a"].astype(str)
        b = sim["doc_b"].astype(str)
        # codes in doc_id order: sorting them sorts the ids
        a_codes, a_ids = pd.factorize(a, sort=True)
        b_codes, b_ids = pd.factorize(b, sort=True)
        a_ids, b_ids = a_ids.tolist(), b_ids.tolist()
        for measure, col in (("lemmes", "cosine_lemmas"), ("thèmes", "cosine_themes")):
            if pd.api.types.is_float_dtype(sim[col]):
                # rank by doc_a, cosine (descending, NaN last), doc_b; keep the first k
                cos = sim[col].to_numpy(dtype=float, na_value=np.nan)
                order = np.lexsort((b_codes, -cos, a_codes))
                groups = a_codes[order]
                starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
                rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
                order = order[rank < k]
                for d, b_id, c in zip(a_codes[order].tolist(), b_codes[order].tolist(),
                                      cos[order].tolist(), strict=True):
                    out.setdefault(a_ids[d], []).append((measure, b_ids[b_id], c))
                continue
            df = pd.DataFrame({"doc_a": a, "doc_id": b, "cosine": sim[col]})
            df = df.sort_values(["doc_a", "cosine", "doc_id"], ascending=[True, False, True],
                                kind="stable")
            df = df[df.groupby("doc_a", sort=False).cumcount() < k]
            for d, b_id, cos in zip(df["doc_a"].tolist(), df["doc_id"].tolist(),
                                    df["cosine"].tolist(), strict=True):
                out.setdefault(d, []).append((measure, b_id, cos))
        return out

    @staticmethod
    def _terms(terms: pd.DataFrame | None) -> dict[str, tuple[np.ndarray, list[dict]]]:
        """doc_id → (row positions in ``terms`` sorted by rank, the same rows as dicts)."""
        if terms is None or not len(terms):
            return {}
        key = terms["doc_id"].astype(str).to_numpy(dtype=object)
        rank = pd.to_numeric(terms["rank"], errors="coerce").to_numpy(dtype=float)
        order = np.lexsort((np.arange(len(key)), rank, key))
        columns = list(terms.columns)
        values = [terms.iloc[:, i].tolist() for i in range(len(columns))]
        recs = [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)]
        out: dict[str, tuple[list[int], list[dict]]] = {}
        for pos in order.tolist():
            pos_list, rec_list = out.setdefault(key[pos], ([], []))
            pos_list.append(pos)
            rec_list.append(recs[pos])
        return {d: (np.asarray(p), r) for d, (p, r) in out.items()}

    def benchmark(self, doc_id: str) -> Benchmark:
        if doc_id not in self.d_index:
            raise ValueError(f"déclaration inconnue : {doc_id!r} ; identifiants connus : "
                             f"{', '.join(self.known)}")
        i = self.d_index[doc_id]
        n = len(self.known)
        peers_mask = np.arange(n) != i
        # fields left unset are built on first read from ``_parts`` (Benchmark.__getattr__)
        result = Benchmark.__new__(Benchmark)
        result.__dict__.update(doc_id=doc_id, commune_label=self.labels[doc_id], n_peers=n - 1)
        own = self.share[i]
        mine_present = self.present[i] | ~self.has_row[i]  # bool(NaN) is True, as before
        has = self.has_row[peers_mask]
        shares = self.share[peers_mask]
        count = has.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            masked = np.where(has, shares, np.nan)
            if has.all():
                mean = shares.mean(axis=0) if len(shares) else np.full(len(own), np.nan)
                std = shares.std(axis=0) if len(shares) else np.full(len(own), np.nan)
                median = np.median(shares, axis=0) if len(shares) else np.full(len(own), np.nan)
            else:
                mean = np.nanmean(masked, axis=0)
                std = np.nanstd(masked, axis=0)
                median = np.nanmedian(masked, axis=0)
            peers_present = np.where(
                count > 0, (self.present[peers_mask] & has).sum(axis=0) / np.maximum(count, 1),
                np.nan)
            z = np.where((count > 0) & (std > 0), (own - mean) / np.where(std > 0, std, 1),
                         np.nan)
            below = ((masked < own[None, :]) & has).sum(axis=0)
            equal = ((masked == own[None, :]) & has).sum(axis=0)
            percentile = np.where(count > 0, 100.0 * (below + 0.5 * equal) / np.maximum(count, 1),
                                  np.nan)
            rank = 1 + ((masked > own[None, :]) & has).sum(axis=0)
            few = count < MIN_PEERS_FOR_STATS
            z = np.where(few, np.nan, z)
            percentile = np.where(few, np.nan, percentile)
        themes = np.asarray(self.themes, dtype=object)
        labels = self.theme_label[i]
        parts: dict = {}
        if n > 1:
            uniq = mine_present & (peers_present < MAJORITY)
            parts["unique_themes"] = (UNIQUE_COLUMNS, [
                themes[uniq], labels[uniq], _round(own[uniq]), _round(peers_present[uniq])])
            miss = np.flatnonzero(~mine_present & (peers_present > MAJORITY))
            miss = miss[np.argsort(-peers_present[miss], kind="stable")]
            parts["missing_themes"] = (MISSING_COLUMNS, [
                themes[miss], labels[miss], _round(peers_present[miss])])
        else:
            result.unique_themes = pd.DataFrame()
            result.missing_themes = pd.DataFrame()
        gap = np.abs(own - mean)
        nan_z = np.isnan(z)
        # z-score descending (NaN last), then gap descending (NaN last); stable
        order = np.lexsort((np.isnan(gap), -np.nan_to_num(gap), -np.where(nan_z, 0.0, z), nan_z))
        parts["emphasis"] = (EMPHASIS_COLUMNS, [
            themes[order], labels[order], _round(own[order]), _round(mean[order]),
            _round(median[order]), _round(std[order]), _round(z[order]),
            _round(percentile[order]), rank[order].astype(int)])
        ranks: dict[str, int] = {}
        near: list[list] = [[] for _ in NEAREST_COLUMNS]
        for measure, other, cos in self.nearest.get(doc_id, []):
            ranks[measure] = ranks.get(measure, 0) + 1
            for col, v in zip(near, (measure, ranks[measure], other,
                                     self.labels.get(other, other), float(cos)), strict=True):
                col.append(v)
        if near[0]:
            parts["nearest"] = (NEAREST_COLUMNS, near)
        else:
            result.nearest = pd.DataFrame(columns=NEAREST_COLUMNS)
        terms = self.terms.get(doc_id)
        if terms is None:
            result.terms = self.no_terms.copy()
        else:
            table = self.terms_table
            positions, recs = terms
            parts["terms"] = lambda: table.iloc[positions].reset_index(drop=True)
            result.__dict__["_records"] = {"terms": recs}
        result.__dict__["_parts"] = parts
        return result


def benchmark(doc_id: str, tables: dict[str, pd.DataFrame], k: int = 3) -> Benchmark:
    """Benchmark ``doc_id`` against every other document, from the tables of
    ``build_tables`` (uses theme_matrix, similarity and distinctive_terms; the last two may
    be missing). Raises ValueError, listing the known ids, when ``doc_id`` is unknown."""
    return _Corpus(tables, k).benchmark(doc_id)


def benchmark_all(tables: dict[str, pd.DataFrame], k: int = 3) -> dict[str, Benchmark]:
    """``benchmark`` of every document of ``tables["theme_matrix"]`` at once (the shared
    work — pivoting the theme matrix, ranking neighbours, grouping terms — is done once).

    In: the tables of ``build_tables``. Out: doc_id → Benchmark, in doc_id order; {} when
    the theme matrix is missing or empty. Same values as calling ``benchmark`` per document.
    """
    tm = tables.get("theme_matrix")
    if tm is None or not len(tm):
        return {}
    corpus = _Corpus(tables, k)
    return {d: corpus.benchmark(d) for d in corpus.known}
