"""Document × document cosine similarity on lemma TF-IDF and on theme profiles."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.compare.common import _text, compared_units, round_floats
from pipeline.compare.inputs import CompareInputs

SIMILARITY_COLUMNS = ["doc_a", "doc_b", "cosine_lemmas", "cosine_themes"]


def doc_lemma_texts(units: pd.DataFrame, nlp: pd.DataFrame, doc_ids: list[str]) -> list[str]:
    """Per document of ``doc_ids`` (same order): the space-joined lemmas of its compared
    units (content units but empty headings: ``common.compared_units``; from the nlp table;
    "" when it has none)."""
    if nlp is None or not len(nlp):
        return [""] * len(doc_ids)
    keys = compared_units(units)[["doc_id", "unit_id"]]
    lem = nlp[["doc_id", "unit_id", "lemmas"]].merge(keys, on=["doc_id", "unit_id"])
    lem = lem.assign(lemmas=lem["lemmas"].map(_text))
    joined = lem.groupby("doc_id", sort=False)["lemmas"].agg(" ".join)
    return [joined.get(d, "") for d in doc_ids]


def cosine_matrix(x) -> np.ndarray:
    """Cosine similarity of the rows of ``x`` (dense array or scipy sparse); a row of zeros
    has similarity 0 with every row, itself included."""
    if hasattr(x, "toarray") and not isinstance(x, np.ndarray):
        x = x.tocsr().astype(float)
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
        dots = (x @ x.T).toarray()
    else:
        x = np.asarray(x, dtype=float)
        norms = np.sqrt((x * x).sum(axis=1))
        dots = x @ x.T
    denom = np.outer(norms, norms)
    with np.errstate(divide="ignore", invalid="ignore"):
        sim = np.where(denom > 0, dots / np.where(denom > 0, denom, 1), 0.0)
    return np.clip(sim, 0.0, 1.0)


def lemma_similarity(texts: list[str]) -> np.ndarray:
    """Cosine of the TF-IDF vectors (scikit-learn defaults: raw counts × smoothed idf
    ln((1+n)/(1+df))+1, no l2 needed since cosine normalises) of space-separated lemma texts."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    n = len(texts)
    if n == 0 or not any(t.strip() for t in texts):
        return np.zeros((n, n))
    vec = TfidfVectorizer(analyzer=str.split, lowercase=False)
    return cosine_matrix(vec.fit_transform(texts))


def tfidf_rows(counts):
    """TF-IDF of a document × term count matrix (scikit-learn's ``TfidfTransformer()``: raw
    counts × smoothed idf ln((1+n)/(1+df))+1, rows scaled to unit length). Out: CSR floats."""
    from sklearn.feature_extraction.text import TfidfTransformer

    return TfidfTransformer().fit_transform(counts)


def lemma_similarity_counts(counts) -> np.ndarray:
    """Cosine of TF-IDF vectors (same weighting as ``lemma_similarity``) from a document ×
    term count matrix."""
    if counts.shape[1] == 0:
        return np.zeros((counts.shape[0], counts.shape[0]))
    return cosine_matrix(tfidf_rows(counts))


def theme_similarity(theme_matrix: pd.DataFrame, doc_ids: list[str]) -> np.ndarray:
    """Cosine of the documents' ``share_units`` vectors (rows of ``doc_ids``)."""
    if not len(theme_matrix):
        return np.zeros((len(doc_ids), len(doc_ids)))
    wide = theme_matrix.pivot_table(index="doc_id", columns="theme", values="share_units",
                                    aggfunc="sum", fill_value=0.0)
    wide = wide.reindex(index=doc_ids, fill_value=0.0)
    return cosine_matrix(wide.to_numpy(dtype=float))


def similarity(documents: pd.DataFrame, units: pd.DataFrame, nlp: pd.DataFrame,
               theme_matrix: pd.DataFrame) -> pd.DataFrame:
    """Long table of every ordered pair of distinct documents read: ``doc_a, doc_b,
    cosine_lemmas`` (TF-IDF of the lemmas of the content units, empty headings left out:
    ``common.compared_mask``) and ``cosine_themes`` (theme profiles = share_units of
    ``theme_matrix``). Sorted by doc_a, doc_b; rounded."""
    return similarity_of(CompareInputs(documents, units, nlp), theme_matrix)


def similarity_of(p: CompareInputs, theme_matrix: pd.DataFrame) -> pd.DataFrame:
    """``similarity`` from the shared inputs (:class:`pipeline.compare.inputs.CompareInputs`)."""
    ids = p.ids
    n = len(ids)
    if n < 2:
        return pd.DataFrame(columns=SIMILARITY_COLUMNS)
    lem = lemma_similarity_counts(p.lemmas.unigrams)
    th = theme_similarity(theme_matrix, ids)
    a = np.repeat(np.arange(n), n - 1)
    b = np.arange(n * (n - 1)) % (n - 1)
    b = b + (b >= a)  # every other document, in order
    names = pd.array(ids, dtype="str")
    out = pd.DataFrame({"doc_a": names.take(a), "doc_b": names.take(b),
                        "cosine_lemmas": lem[a, b], "cosine_themes": th[a, b]})
    return round_floats(out)


def similarity_matrix(similarity: pd.DataFrame, value: str = "cosine_lemmas",
                      labels: dict[str, str] | pd.Series | None = None) -> pd.DataFrame:
    """Square document × document matrix of ``value`` from the long table (diagonal 1), for
    heatmaps; rows/columns renamed through ``labels`` (doc_id → label) when given."""
    ids = sorted(set(similarity["doc_a"]) | set(similarity["doc_b"]))
    m = similarity.pivot_table(index="doc_a", columns="doc_b", values=value, aggfunc="first")
    m = m.reindex(index=ids, columns=ids).astype(float)
    for d in ids:
        m.loc[d, d] = 1.0
    m = m.fillna(0.0)
    m.index.name, m.columns.name = None, None
    if labels is not None:
        lab = dict(labels)
        m = m.rename(index=lambda d: lab.get(d, d), columns=lambda d: lab.get(d, d))
    return m


def nearest(similarity: pd.DataFrame, doc_id: str, value: str = "cosine_lemmas",
            k: int = 3) -> pd.DataFrame:
    """The ``k`` documents most similar to ``doc_id`` on ``value``: ``doc_id, cosine``
    (ties broken by doc_id)."""
    rows = similarity[similarity["doc_a"] == doc_id][["doc_b", value]]
    rows = rows.rename(columns={"doc_b": "doc_id", value: "cosine"})
    rows = rows.sort_values(["cosine", "doc_id"], ascending=[False, True], kind="stable")
    return rows.head(k).reset_index(drop=True)
