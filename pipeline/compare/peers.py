"""One declaration against a chosen peer group: the data of its profile page.

Everything here is a pure function of the tables an analysis wrote (``documents``, ``units``,
``unit_nlp``, ``unit_themes``, ``theme_matrix``); ``pipeline.report.profile`` renders it.

Peer groups are chosen with :func:`peer_group` (``province=Liège``, ``mandate=2025-2030``, any
``metadata.csv`` column, or a list of doc_ids / communes). With fewer than
:data:`MIN_PEERS_FOR_DISTRIBUTION` peers a share is placed by its rank and the peers' minimum,
median and maximum only: a z-score or a percentile on four values says more than it knows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.compare.benchmark import MIN_PEERS_FOR_STATS
from pipeline.models import NON_CONTENT_KINDS

#: Below this many peers: ranks and min/median/max, no quartiles, percentiles or z-scores
#: (the benchmark's threshold: one number for the profile, ``peers`` and the report).
MIN_PEERS_FOR_DISTRIBUTION = MIN_PEERS_FOR_STATS
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
    from pipeline.results import fold_name, resolve_doc

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
        key = fold_name(value)
        chosen = [str(d) for d, v in zip(docs["doc_id"], docs[column], strict=True)
                  if str(d) != doc_id and fold_name(v) == key and key]
        return PeerGroup(sorted(chosen), f"{column} = {value.strip()}")
    chosen = []
    for name in (s.strip() for s in spec.split(",")):
        if name:
            d = resolve_doc(name, docs)
            if d != doc_id and d not in chosen:
                chosen.append(d)
    return PeerGroup(sorted(chosen), "déclarations choisies : " + ", ".join(sorted(chosen)))


@dataclass
class ShareTable:
    """The doc × theme ``share_units`` matrix (``matrix[index[doc_id], k]``, 0 where missing)
    and each document's ``n_units`` per theme, built once for many profiles."""

    matrix: np.ndarray
    index: dict[str, int]
    theme_ids: list[str]
    n_units: dict[str, dict[str, int]]


def share_table(theme_matrix: pd.DataFrame, theme_ids: list[str]) -> ShareTable:
    """:class:`ShareTable` of ``theme_matrix`` over the themes ``theme_ids``."""
    docs = theme_matrix["doc_id"].astype(str).tolist()
    index = {d: i for i, d in enumerate(dict.fromkeys(docs))}
    col = {t: k for k, t in enumerate(theme_ids)}
    matrix = np.zeros((len(index), len(theme_ids)))
    n_units: dict[str, dict[str, int]] = {}
    for d, t, v, n in zip(docs, theme_matrix["theme"].astype(str), theme_matrix["share_units"],
                          theme_matrix["n_units"], strict=True):
        if t in col:
            matrix[index[d], col[t]] = float(v) if v == v else 0.0
        n_units.setdefault(d, {})[t] = int(n) if n == n else 0
    return ShareTable(matrix, index, list(theme_ids), n_units)


def theme_positions(theme_matrix: pd.DataFrame, doc_id: str, peers: list[str],
                    codebook, shares: ShareTable | None = None) -> pd.DataFrame:
    """Where ``doc_id`` stands on every theme of ``codebook`` against ``peers``.

    Out: one row per theme (codebook order), columns :data:`POSITION_COLUMNS`: its
    ``share_units`` and ``n_units``, ``present``; ``n_peers``, ``peers_present`` (how many
    peers treat the theme), the peers' ``peers_min``/``peers_median``/``peers_max``; ``rank``
    of the document in the group of ``n_ranked`` = peers + itself (1 = largest share, ties
    share the best rank); with at least :data:`MIN_PEERS_FOR_DISTRIBUTION` peers also
    ``peers_q1``/``peers_q3`` and ``percentile`` (share of peers below, ties counting half),
    else NaN; ``peer_shares`` = the peers' shares (a list, for the chart). ``shares``: the
    :func:`share_table` of ``theme_matrix`` over the codebook's themes, when already built.
    """
    ids = [t.id for t in codebook]
    if shares is None or shares.theme_ids != ids:
        shares = share_table(theme_matrix, ids)
    n_units = shares.n_units.get(doc_id, {})
    index, matrix = shares.index, shares.matrix
    own_row = matrix[index[doc_id]] if doc_id in index else np.zeros(len(ids))
    peer_rows = matrix[[index[p] for p in peers if p in index]].reshape(-1, len(ids))
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
    lemmas: list[str]
    #: ``matrix`` transposed (CSR), for one product per document against every unit
    transposed: object = None


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
                       col("label"), col("themes"), matrix, rows, texts, matrix.T.tocsr())


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
    has_words = [bool(v.lemmas[i].strip()) for i in mine]
    if theirs:
        # one product against every unit, the non-peers' columns masked (cheaper than slicing
        # the peers' rows out of the matrix for every document)
        sims = (xa @ v.transposed).toarray()
        keep = np.zeros(sims.shape[1], dtype=bool)
        keep[theirs] = True
        sims[:, ~keep] = -1.0
        best, col = sims.max(axis=1), sims.argmax(axis=1)
        where = {row: k for k, row in enumerate(theirs)}
        arg = np.array([where[c] for c in col])
    else:
        best, arg = np.zeros(len(mine)), np.zeros(len(mine), dtype=int)
    rows = []
    for k, i in enumerate(mine):
        if not has_words[k] or best[k] >= max_cosine:
            continue
        j = theirs[arg[k]] if theirs else None
        rows.append({"unit_id": v.unit_ids[i], "kind": v.kinds[i], "label": v.labels[i],
                     "text": v.texts[i], "themes": v.themes[i],
                     "best_cosine": round(float(best[k]), 3),
                     "nearest_doc": v.doc_ids[j] if j is not None else "",
                     "nearest_text": v.texts[j] if j is not None else ""})
    out = pd.DataFrame(rows, columns=UNIQUE_COLUMNS)
    return out.sort_values(["best_cosine", "unit_id"], kind="stable").reset_index(drop=True)


def evidence_index(units: pd.DataFrame, unit_themes: pd.DataFrame | None
                   ) -> dict[str, list[dict]]:
    """doc_id → its unit_themes rows as dicts (theme, unit_id, kind, text, score, sources,
    evidence), by theme then descending score: the input of :func:`theme_evidence` for many
    documents (built once)."""
    if unit_themes is None or not len(unit_themes):
        return {}
    info = {(str(d), str(u)): (k, t) for d, u, k, t in
            zip(units["doc_id"], units["unit_id"], units["kind"], units["text"], strict=True)}
    by_doc: dict[str, list[dict]] = {}
    for d, u, th, sc, src, ev in zip(unit_themes["doc_id"].astype(str),
                                     unit_themes["unit_id"].astype(str), unit_themes["theme"],
                                     unit_themes["score"], unit_themes["sources"],
                                     unit_themes["evidence"], strict=True):
        kind, text = info.get((d, u), ("", ""))
        by_doc.setdefault(d, []).append({"theme": th, "unit_id": u, "kind": kind, "text": text,
                                         "score": float(sc), "sources": src, "evidence": ev})
    for rows in by_doc.values():
        rows.sort(key=lambda r: (r["theme"], -r["score"], r["unit_id"]))
    return by_doc


def theme_evidence(units: pd.DataFrame, unit_themes: pd.DataFrame | None, doc_id: str,
                   per_theme: int = 3, index: dict[str, list[dict]] | None = None
                   ) -> pd.DataFrame:
    """The units behind each theme claim of ``doc_id``: per theme, its ``per_theme``
    best-scored units with their score, sources and evidence words (columns
    :data:`EVIDENCE_COLUMNS`). ``index``: :func:`evidence_index`, when already built."""
    index = evidence_index(units, unit_themes) if index is None else index
    rows, seen = [], {}
    for r in index.get(doc_id, []):
        seen[r["theme"]] = seen.get(r["theme"], 0) + 1
        if seen[r["theme"]] <= per_theme:
            rows.append(r)
    return pd.DataFrame(rows, columns=EVIDENCE_COLUMNS)
