"""Distinctive terms: log-likelihood (Dunning G²) keyness of each document against the rest."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.compare.common import ok_documents, round_floats, term_counts

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

    In: content units' lemmas (nlp table). Terms are lemmas and, with ``bigrams``, pairs of
    consecutive lemmas of one unit. Counts are compared through G² with the number of lemmas
    (words) of the document vs of all other documents as sizes; ``per_10k_*`` are per 10,000
    words. Kept: ``count_doc`` ≥ ``min_count`` and over-use (count_doc/words_doc >
    count_rest/words_rest). Out: the ``top`` terms per document by G² (ties: higher
    count_doc, then term alphabetically), with ``rank`` from 1; sorted by doc_id, rank.
    """
    ids = sorted(ok_documents(documents)["doc_id"].astype(str))
    empty = pd.DataFrame(columns=KEYNESS_COLUMNS)
    if len(ids) < 2:
        return empty
    terms, x, words_doc = term_counts(ids, units, nlp, bigrams)
    if not x.shape[1]:
        return empty
    m = x.tocoo()
    total_words = words_doc.sum()
    term_total = np.asarray(x.sum(axis=0)).ravel()
    a = m.data.astype(float)
    b = term_total[m.col] - a
    c = words_doc[m.row]
    d = total_words - c
    with np.errstate(divide="ignore", invalid="ignore"):
        rate_doc = np.where(c > 0, a / np.where(c > 0, c, 1), 0.0)
        rate_rest = np.where(d > 0, b / np.where(d > 0, d, 1), 0.0)
    keep = (a >= min_count) & (rate_doc > rate_rest) & (d > 0)
    df = pd.DataFrame({
        "doc_id": np.asarray(ids, dtype=object)[m.row[keep]],
        "term": terms[m.col[keep]],
        "count_doc": a[keep].astype(int), "count_rest": b[keep].astype(int),
        "per_10k_doc": rate_doc[keep] * 10_000, "per_10k_rest": rate_rest[keep] * 10_000,
        "log_likelihood": log_likelihood(a[keep], b[keep], c[keep], d[keep]),
    })
    if not len(df):
        return empty
    df["_g"] = df["log_likelihood"].round(6)
    df = df.sort_values(["doc_id", "_g", "count_doc", "term"],
                        ascending=[True, False, False, True], kind="stable")
    df["rank"] = df.groupby("doc_id").cumcount() + 1
    df = df[df["rank"] <= top]
    return round_floats(df[KEYNESS_COLUMNS].reset_index(drop=True))
