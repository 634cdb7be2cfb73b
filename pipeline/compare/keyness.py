"""Distinctive terms: log-likelihood (Dunning G²) keyness of each document against the rest."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.compare.common import round_floats
from pipeline.compare.inputs import CompareInputs

KEYNESS_COLUMNS = ["doc_id", "term", "count_doc", "count_rest", "per_10k_doc", "per_10k_rest",
                   "log_likelihood", "rank"]


def log_likelihood(a, b, c, d):
    """Dunning's G² for a term seen ``a`` times in a part of ``c`` words and ``b`` times in
    the rest (``d`` words): 2·Σ O·ln(O/E) over the two observed cells, with expected
    E1 = c·(a+b)/(c+d), E2 = d·(a+b)/(c+d) and 0·ln 0 = 0. Works on scalars or arrays."""
    a, b, c, d = (np.asarray(x, dtype=float) for x in (a, b, c, d))
    tot = c + d
    with np.errstate(divide="ignore", invalid="ignore"):
        e1 = np.where(tot > 0, c * (a + b) / np.where(tot > 0, tot, 1), 0.0)
        e2 = np.where(tot > 0, d * (a + b) / np.where(tot > 0, tot, 1), 0.0)
        t1 = np.where((a > 0) & (e1 > 0), a * np.log(np.where(a > 0, a, 1) / np.where(e1 > 0, e1, 1)), 0.0)
        t2 = np.where((b > 0) & (e2 > 0), b * np.log(np.where(b > 0, b, 1) / np.where(e2 > 0, e2, 1)), 0.0)
    g2 = 2.0 * (t1 + t2)
    return np.maximum(g2, 0.0) if g2.ndim else max(float(g2), 0.0)


def distinctive_terms(documents: pd.DataFrame, units: pd.DataFrame, nlp: pd.DataFrame,
                      top: int = 20, min_count: int = 2, bigrams: bool = True) -> pd.DataFrame:
    """Per document, the terms most over-used against the rest of the corpus.

    In: content units' lemmas (nlp table), empty headings left out (``common.compared_mask``). Terms are lemmas and, with ``bigrams``, pairs of
    consecutive lemmas of one unit. Counts are compared through G² with the number of lemmas
    (words) of the document vs of all other documents as sizes; ``per_10k_*`` are per 10,000
    words. Kept: ``count_doc`` ≥ ``min_count`` and over-use (count_doc/words_doc >
    count_rest/words_rest). Out: the ``top`` terms per document by G² (ties: higher
    count_doc, then term alphabetically), with ``rank`` from 1; sorted by doc_id, rank.
    """
    return distinctive_terms_of(CompareInputs(documents, units, nlp), top, min_count, bigrams)


def top_candidates(doc: np.ndarray, score: np.ndarray, count: np.ndarray, top: int
                   ) -> np.ndarray:
    """Boolean mask of the rows that can be among the ``top`` of their document when rows
    are ranked by ``score`` then ``count`` (both descending) then any other key: per
    document, the rows whose (score, count) is at least that of its ``top``-th best row (so
    ties with it are kept). Every row when ``top`` < 1."""
    if top < 1:
        return np.ones(len(doc), dtype=bool)
    keep = np.zeros(len(doc), dtype=bool)
    if not len(doc):
        return keep
    order = np.lexsort((-count, -score, doc))
    d, s, c = doc[order], score[order], count[order]
    starts = np.flatnonzero(np.r_[True, d[1:] != d[:-1]])
    ends = np.r_[starts[1:], len(d)]
    cut = np.minimum(starts + top, ends) - 1  # the top-th row (or the last) of each document
    group = np.repeat(np.arange(len(starts)), ends - starts)
    cut_s, cut_c = s[cut][group], c[cut][group]
    keep[order] = (s > cut_s) | ((s == cut_s) & (c >= cut_c))
    return keep


def distinctive_terms_of(p: CompareInputs, top: int = 20, min_count: int = 2, bigrams: bool = True
                         ) -> pd.DataFrame:
    """``distinctive_terms`` from the shared inputs (:class:`pipeline.compare.inputs.CompareInputs`)."""
    ids = p.ids
    empty = pd.DataFrame(columns=KEYNESS_COLUMNS)
    if len(ids) < 2:
        return empty
    lc = p.lemmas
    words_doc = lc.words
    row, col, a = lc.cells
    if not bigrams:
        uni = col < len(lc.terms)
        row, col, a = row[uni], col[uni], a[uni]
    if not len(a):
        return empty
    total_words = words_doc.sum()
    term_total = np.bincount(col, weights=a, minlength=lc.n_terms)
    b = term_total[col] - a
    c = words_doc[row]
    d = total_words - c
    with np.errstate(divide="ignore", invalid="ignore"):
        rate_doc = np.where(c > 0, a / np.where(c > 0, c, 1), 0.0)
        rate_rest = np.where(d > 0, b / np.where(d > 0, d, 1), 0.0)
    keep = (a >= min_count) & (rate_doc > rate_rest) & (d > 0)
    g2 = log_likelihood(a[keep], b[keep], c[keep], d[keep])
    # only the rows that can make a document's top need their term text and the full sort
    g6 = np.round(g2, 6)
    rows = np.flatnonzero(keep)
    sel = top_candidates(row[rows], g6, a[rows], top)
    rows = rows[sel]
    df = pd.DataFrame({
        "doc_id": np.asarray(ids, dtype=object)[row[rows]],
        "term": lc.term(col[rows]),
        "count_doc": a[rows].astype(int), "count_rest": b[rows].astype(int),
        "per_10k_doc": rate_doc[rows] * 10_000, "per_10k_rest": rate_rest[rows] * 10_000,
        "log_likelihood": g2[sel],
    })
    if not len(df):
        return empty
    df["_g"] = g6[sel]
    df = df.sort_values(["doc_id", "_g", "count_doc", "term"],
                        ascending=[True, False, False, True], kind="stable")
    df["rank"] = df.groupby("doc_id").cumcount() + 1
    df = df[df["rank"] <= top]
    return round_floats(df[KEYNESS_COLUMNS].reset_index(drop=True))
