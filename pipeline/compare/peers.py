"""One declaration against a chosen peer group: the data of its profile page.

Everything here is a pure function of the tables an analysis wrote (``documents``, ``units``,
``unit_nlp``, ``unit_themes``, ``theme_matrix``); ``pipeline.report.profile`` renders it.

Peer groups are chosen with :func:`peer_group` (``province=Liège``, ``mandate=2025-2030``, any
``metadata.csv`` column, or a list of doc_ids / communes). With fewer than
:data:`MIN_PEERS_FOR_DISTRIBUTION` peers a share is placed by its rank and the peers' minimum,
median and maximum only: a z-score or a percentile on four values says more than it knows.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.models import NON_CONTENT_KINDS

#: Below this many peers: ranks and min/median/max, no quartiles, percentiles or z-scores.
MIN_PEERS_FOR_DISTRIBUTION = 10
#: An objective whose best match among the peers' content units has a cosine (TF-IDF of
#: lemmas) below this is listed as shared with no peer.
UNIQUE_MAX_COSINE = 0.25
#: Kinds compared when looking for objectives shared with no peer.
OBJECTIVE_KINDS = ("objective", "action", "statement", "group")

POSITION_COLUMNS = ["theme", "theme_label", "share_units", "n_units", "present", "n_peers",
                    "peers_present", "peers_min", "peers_median", "peers_max", "rank",
                    "n_ranked", "peers_q1", "peers_q3", "percentile", "peer_shares"]
UNIQUE_COLUMNS = ["unit_id", "kind", "label", "text", "themes", "best_cosine", "nearest_doc",
                  "nearest_text"]
EVIDENCE_COLUMNS = ["theme", "unit_id", "kind", "text", "score", "sources", "evidence"]


@dataclass
class PeerGroup:
    """``doc_ids`` of the peers (the profiled document excluded, in doc_id order) and a French
    ``description`` of how they were chosen (« même province (Liège) », « toutes les autres
    déclarations »…)."""

    doc_ids: list[str]
    description: str


def _fold(text) -> str:
    s = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return " ".join(s.casefold().replace("-", " ").split())


def _ok_docs(documents: pd.DataFrame) -> pd.DataFrame:
    if "status" in documents.columns:
        return documents[documents["status"].astype(str) == "ok"]
    return documents


def peer_group(documents: pd.DataFrame, doc_id: str, spec: str | None = None) -> PeerGroup:
    """The peers of ``doc_id`` among the documents read.

    ``spec``: None or "" → every other declaration; ``colonne=valeur`` (``province=Liège``,
    ``mandate=2025-2030``; case, accents and dashes ignored) → the others with that value;
    ``colonne`` alone → the others sharing ``doc_id``'s value; otherwise a comma-separated list
    of doc_ids or commune names. Raises ValueError in French for an unknown column or name.
    """
    from pipeline.results import resolve_doc

    docs = _ok_docs(documents)
    others = [str(d) for d in docs["doc_id"] if str(d) != doc_id]
    spec = (spec or "").strip()
    if not spec:
        return PeerGroup(sorted(others), "toutes les autres déclarations analysées")
    if "=" in spec or ("," not in spec and spec in docs.columns):
        column, _, value = spec.partition("=")
        column = column.strip()
        if column not in docs.columns:
            raise ValueError(f"colonne « {column} » inconnue pour --peers ; colonnes : "
                             f"{', '.join(c for c in docs.columns)} (ajoutez-la à metadata.csv)")
        if not value:
            own = docs.loc[docs["doc_id"].astype(str) == doc_id, column]
            value = str(own.iloc[0]) if len(own) else ""
        key = _fold(value)
        chosen = [str(d) for d, v in zip(docs["doc_id"], docs[column], strict=True)
                  if str(d) != doc_id and _fold(v) == key and key]
        return PeerGroup(sorted(chosen), f"{column} = {value.strip()}")
    chosen = []
    for name in (s.strip() for s in spec.split(",")):
        if name:
            d = resolve_doc(name, docs)
            if d != doc_id and d not in chosen:
                chosen.append(d)
    return PeerGroup(sorted(chosen), "déclarations choisies : " + ", ".join(sorted(chosen)))


def share_table(theme_matrix: pd.DataFrame) -> pd.DataFrame:
    """doc_id × theme table of share_units (0 where missing)."""
    tm = theme_matrix.assign(doc_id=theme_matrix["doc_id"].astype(str))
    return tm.pivot_table(index="doc_id", columns="theme", values="share_units",
                          aggfunc="first", fill_value=0.0)


def theme_positions(theme_matrix: pd.DataFrame, doc_id: str, peers: list[str],
                    codebook, shares: pd.DataFrame | None = None) -> pd.DataFrame:
    """Where ``doc_id`` stands on every theme of ``codebook`` against ``peers``.

    Out: one row per theme (codebook order), columns :data:`POSITION_COLUMNS`: its
    ``share_units`` and ``n_units``, ``present``; ``n_peers``, ``peers_present`` (how many
    peers treat the theme), the peers' ``peers_min``/``peers_median``/``peers_max``; ``rank``
    of the document in the group of ``n_ranked`` = peers + itself (1 = largest share, ties
    share the best rank); with at least :data:`MIN_PEERS_FOR_DISTRIBUTION` peers also
    ``peers_q1``/``peers_q3`` and ``percentile`` (share of peers below, ties counting half),
    else NaN; ``peer_shares`` = the peers' shares (a list, for the chart). ``shares``: the
    doc_id × theme pivot of share_units (:func:`share_table`), when already built.
    """
    shares = share_table(theme_matrix) if shares is None else shares
    tm = theme_matrix[theme_matrix["doc_id"].astype(str) == doc_id]
    n_units = dict(zip(tm["theme"], tm["n_units"], strict=True)) if len(tm) else {}
    ids = [t.id for t in codebook]
    table = shares.reindex(columns=ids, fill_value=0.0)
    index = {d: i for i, d in enumerate(table.index)}
    matrix = table.to_numpy(dtype=float)
    own_row = matrix[index[doc_id]] if doc_id in index else np.zeros(len(ids))
    peer_rows = matrix[[index[p] for p in peers if p in index]]
    n = len(peer_rows)
    big = n >= MIN_PEERS_FOR_DISTRIBUTION
    rows = []
    for k, t in enumerate(codebook):
        own, vals = float(own_row[k]), peer_rows[:, k]
        rows.append({
            "theme": t.id, "theme_label": t.label, "share_units": own,
            "n_units": int(n_units.get(t.id, 0)), "present": own > 0, "n_peers": n,
            "peers_present": int((vals > 0).sum()),
            "peers_min": float(vals.min()) if n else np.nan,
            "peers_median": float(np.median(vals)) if n else np.nan,
            "peers_max": float(vals.max()) if n else np.nan,
            "rank": int((vals > own).sum()) + 1, "n_ranked": n + 1,
            "peers_q1": float(np.percentile(vals, 25)) if big else np.nan,
            "peers_q3": float(np.percentile(vals, 75)) if big else np.nan,
            "percentile": (100.0 * ((vals < own).sum() + 0.5 * (vals == own).sum()) / n
                           if big else np.nan),
            "peer_shares": [round(float(v), 4) for v in vals],
        })
    return pd.DataFrame(rows, columns=POSITION_COLUMNS)


def _content(units: pd.DataFrame) -> pd.DataFrame:
    return units[~units["kind"].isin(NON_CONTENT_KINDS)]


@dataclass
class UnitVectors:
    """TF-IDF vectors (lemma unigrams and bigrams, fitted once on every content unit of the
    corpus) of the content units: ``doc_ids``, ``unit_ids``, ``kinds``, ``texts`` aligned with
    the rows of ``matrix``; ``rows`` = doc_id → its row numbers."""

    doc_ids: list[str]
    unit_ids: list[str]
    kinds: list[str]
    texts: list[str]
    labels: list[str]
    themes: list[str]
    matrix: object
    rows: dict[str, list[int]]


def unit_vectors(units: pd.DataFrame, nlp: pd.DataFrame | None) -> UnitVectors:
    """Vectors of every content unit of ``units`` from its lemmas in ``nlp`` (unit_nlp)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    content = _content(units)
    lem = {}
    if nlp is not None and len(nlp):
        lem = {(str(d), str(u)): str(x) for d, u, x in
               zip(nlp["doc_id"], nlp["unit_id"], nlp["lemmas"].fillna(""), strict=True)}
    doc_ids = content["doc_id"].astype(str).tolist()
    unit_ids = content["unit_id"].astype(str).tolist()
    texts = [lem.get(k, "") for k in zip(doc_ids, unit_ids, strict=True)]
    vec = TfidfVectorizer(token_pattern=r"(?u)[^\s]+", ngram_range=(1, 2), sublinear_tf=True)
    try:
        matrix = vec.fit_transform(texts)
    except ValueError:  # no lemma at all
        from scipy import sparse

        matrix = sparse.csr_matrix((len(texts), 1))
    rows: dict[str, list[int]] = {}
    for i, d in enumerate(doc_ids):
        rows.setdefault(d, []).append(i)

    def col(name):
        return content[name].fillna("").astype(str).tolist() if name in content else [""] * len(
            content)

    return UnitVectors(doc_ids, unit_ids, content["kind"].astype(str).tolist(), col("text"),
                       col("label"), col("themes"), matrix, rows)


def unique_objectives(units: pd.DataFrame, nlp: pd.DataFrame | None, doc_id: str,
                      peers: list[str], max_cosine: float = UNIQUE_MAX_COSINE,
                      vectors: UnitVectors | None = None) -> pd.DataFrame:
    """The objectives (objective, action, statement, group units) of ``doc_id`` that no peer
    shares: the best cosine similarity (TF-IDF of lemmas, :func:`unit_vectors`, built from
    ``units``/``nlp`` unless given) between the unit and any content unit of a peer is below
    ``max_cosine``.

    Out: columns :data:`UNIQUE_COLUMNS`, the least shared first; ``nearest_doc`` /
    ``nearest_text`` = the peer unit that comes closest (empty without peers).
    """
    v = vectors if vectors is not None else unit_vectors(units, nlp)
    mine = [i for i in v.rows.get(doc_id, []) if v.kinds[i] in OBJECTIVE_KINDS]
    theirs = [i for p in peers for i in v.rows.get(p, [])]
    if not mine:
        return pd.DataFrame(columns=UNIQUE_COLUMNS)
    xa = v.matrix[mine]
    if theirs:
        sims = (xa @ v.matrix[theirs].T).toarray()
        best, arg = sims.max(axis=1), sims.argmax(axis=1)
    else:
        best, arg = np.zeros(len(mine)), np.zeros(len(mine), dtype=int)
    empty = np.asarray(xa.getnnz(axis=1)) == 0
    rows = []
    for k, i in enumerate(mine):
        if empty[k] or best[k] >= max_cosine:
            continue
        j = theirs[arg[k]] if theirs else None
        rows.append({"unit_id": v.unit_ids[i], "kind": v.kinds[i], "label": v.labels[i],
                     "text": v.texts[i], "themes": v.themes[i],
                     "best_cosine": round(float(best[k]), 3),
                     "nearest_doc": v.doc_ids[j] if j is not None else "",
                     "nearest_text": v.texts[j] if j is not None else ""})
    out = pd.DataFrame(rows, columns=UNIQUE_COLUMNS)
    return out.sort_values(["best_cosine", "unit_id"], kind="stable").reset_index(drop=True)


def theme_evidence(units: pd.DataFrame, unit_themes: pd.DataFrame, doc_id: str,
                   per_theme: int = 3) -> pd.DataFrame:
    """The units behind each theme claim of ``doc_id``: per theme, its ``per_theme``
    best-scored units with their score, sources and evidence words (columns
    :data:`EVIDENCE_COLUMNS`)."""
    if unit_themes is None or not len(unit_themes):
        return pd.DataFrame(columns=EVIDENCE_COLUMNS)
    ut = unit_themes[unit_themes["doc_id"].astype(str) == doc_id]
    info = units[units["doc_id"].astype(str) == doc_id].set_index("unit_id")
    rows = []
    for theme, g in ut.groupby("theme", sort=True):
        g = g.sort_values(["score", "unit_id"], ascending=[False, True], kind="stable")
        for r in g.head(per_theme).itertuples(index=False):
            u = info.loc[r.unit_id] if r.unit_id in info.index else None
            rows.append({"theme": theme, "unit_id": r.unit_id,
                         "kind": "" if u is None else u["kind"],
                         "text": "" if u is None else u["text"], "score": float(r.score),
                         "sources": r.sources, "evidence": r.evidence})
    return pd.DataFrame(rows, columns=EVIDENCE_COLUMNS)
