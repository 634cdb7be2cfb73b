"""The fast implementations of ``pipeline.trace.link`` (``_Rows``, ``_Aligner``/``_align``,
the family trick of ``text_signals``, ``theme_signal``, ``strs``) against plain references
written here (scikit-learn's ``TfidfVectorizer``, loops over word sets), on small random
inputs (hypothesis) and a few cases computed by hand.

``_WordSims`` is built by hand (vocabulary + a random symmetric similarity matrix), so no
language model is read.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

from pipeline.trace import link
from pipeline.trace.link import Side, _align, _Aligner, _Rows, strs, theme_signal

TOL = dict(atol=1e-12, rtol=0)
VOCAB = ("eau", "ecole", "logement", "parc", "sport", "velo")
#: lemma texts over a small vocabulary (repeated words, empty and blank texts included)
TEXT = st.lists(st.sampled_from(VOCAB[:4]), max_size=5).map(" ".join) | st.just("  ")
#: texts with words no fit text has (``zone``, ``vie``)
OTHER = st.lists(st.sampled_from(("eau", "parc", "zone", "vie")), max_size=4).map(" ".join)
IDF = st.none() | st.dictionaries(st.sampled_from(VOCAB), st.floats(1, 5), max_size=6)


# --------------------------------------------------------------------------- _Rows


def _ref_tfidf(fit: list[str], a: list[str], b: list[str]):
    """(cosines a × b, unigram idf) of a TfidfVectorizer fitted on ``fit``."""
    if not any(t.strip() for t in fit):  # sklearn refuses an empty vocabulary
        return np.zeros((len(a), len(b))), None
    vec = TfidfVectorizer(analyzer=link._analyzer, sublinear_tf=True, norm="l2",
                          dtype=np.float64).fit(fit)
    names = vec.get_feature_names_out()
    idf = {f: w for f, w in zip(names, vec.idf_, strict=True) if " " not in f}
    if not a or not b:
        return np.zeros((len(a), len(b))), idf
    return (vec.transform(a) @ vec.transform(b).T).toarray(), idf


def _check_rows(fit, texts, a, b):
    rows = _Rows(fit, texts)
    cos, idf = _ref_tfidf(fit, a, b)
    got = rows.cos(a, b)
    assert got.shape == cos.shape and np.allclose(got, cos, **TOL)
    if idf is None:
        assert rows.idf is None and rows.matrix is None
    else:
        assert set(rows.idf) == set(idf)
        assert all(math.isclose(rows.idf[t], idf[t], rel_tol=0, abs_tol=1e-12) for t in idf)


@settings(max_examples=200, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=6), st.lists(OTHER, max_size=3), st.data())
def test_rows_equal_a_fitted_tfidf_vectorizer(fit, other, data):
    """Guards the shared CountVectorizer + column filter + TfidfTransformer of ``_Rows``:
    same cosines and unigram idf as a TfidfVectorizer fitted on the fit texts (duplicates
    counted, words no fit text has ignored, all-blank fit texts → no matrix, zeros)."""
    fit = fit + fit[:1]  # a duplicate fit text counts twice in the document frequencies
    texts = other + fit
    pick = st.lists(st.sampled_from(texts), max_size=4)
    _check_rows(fit, texts, data.draw(pick), data.draw(pick))


def test_rows_by_hand():
    """idf = ln((1 + n) / (1 + df)) + 1; an unknown word (``zone``) adds nothing."""
    rows = _Rows(["a b", "a"], ["a z", "a b", "a"])
    assert rows.idf == pytest.approx({"a": 1.0, "b": 1 + math.log(1.5)}, abs=1e-12)
    w = 1 + math.log(1.5)  # "b" and "a b" both have df = 1
    expected = [[1.0, 1 / math.sqrt(1 + 2 * w * w)]]
    assert np.allclose(rows.cos(["a z"], ["a", "a b"]), expected, **TOL)
    blank = _Rows(["", "  ", ""], ["a", ""])
    assert blank.matrix is None and blank.idf is None
    assert np.array_equal(blank.cos(["a"], ["", "a"]), np.zeros((1, 2)))


# --------------------------------------------------------------------------- _Aligner


def _word_sims(upper: list[float]) -> link._WordSims:
    """A ``_WordSims`` over VOCAB with the given upper triangle (1 on the diagonal)."""
    ws = object.__new__(link._WordSims)
    ws.vocab = sorted(VOCAB)
    ws.index = {w: i for i, w in enumerate(ws.vocab)}
    n = len(ws.vocab)
    sims = np.eye(n)
    sims[np.triu_indices(n, 1)] = upper
    ws.sims = np.maximum(sims, sims.T)
    return ws


SIMS = st.lists(st.floats(0, 1), min_size=15, max_size=15).map(_word_sims)
ATEXT = st.lists(st.sampled_from(VOCAB), max_size=4).map(" ".join)


def _ref_align(a, b, idf, ws) -> np.ndarray:
    """Naive soft overlap: weighted mean best similarity, both directions averaged."""
    def w(x):
        return idf.get(x, max(idf.values())) if idf else 1.0

    def one_way(xs, ys):
        best = [w(x) * max(ws.sims[ws.index[x], ws.index[y]] for y in ys) for x in xs]
        return sum(best) / sum(w(x) for x in xs)

    out = np.zeros((len(a), len(b)))
    for i, ta in enumerate(a):
        for j, tb in enumerate(b):
            xs, ys = set(ta.split()), set(tb.split())
            if xs and ys:
                out[i, j] = (one_way(xs, ys) + one_way(ys, xs)) / 2
    return out


@settings(max_examples=200, deadline=None)
@given(SIMS, IDF, st.lists(ATEXT, max_size=4), st.lists(ATEXT, max_size=4))
def test_aligner_equals_naive_soft_overlap(ws, idf, a, b):
    """Guards the segment/reduceat arithmetic of ``_Aligner`` and ``_align``: idf None, {} or
    missing words (weighted by the largest idf), texts without words (0), empty lists."""
    ref = _ref_align(a, b, idf, ws)
    aligner = _Aligner(a, idf, ws)
    assert np.allclose(aligner(b), ref, **TOL)
    assert np.allclose(_align(a, b, idf, ws), ref, **TOL)
    if aligner.ready:  # given its own best matches, the same result
        assert np.allclose(aligner(b, aligner.best_words(b)), ref, **TOL)


def test_aligner_by_hand():
    """a = "eau parc", b = "eau": eau→eau 1, parc→eau 0.5; weights eau 1, parc 3
    (default = max idf): a→b = (1 + 3·0.5) / 4, b→a = 1."""
    ws = _word_sims([0.0] * 15)
    ws.sims[ws.index["eau"], ws.index["parc"]] = ws.sims[ws.index["parc"], ws.index["eau"]] = 0.5
    idf = {"eau": 1.0, "sport": 3.0}
    assert np.allclose(_align(["eau parc", ""], ["eau"], idf, ws),
                       [[(2.5 / 4 + 1) / 2], [0.0]], **TOL)


# --------------------------------------------------------------------------- family trick


@settings(max_examples=200, deadline=None)
@given(SIMS, IDF, st.lists(ATEXT, min_size=1, max_size=4), st.lists(ATEXT, min_size=1,
       max_size=4), st.none() | ATEXT)
def test_family_from_the_members_best_words(ws, idf, a, members, parent):
    """Guards ``text_signals``' family alignment: the best match of a word in a joined family
    text is the max of its best matches in each member (and the parent); ``best_words`` has
    one row per distinct word of each text of ``a`` and −inf for a member without words."""
    aligner = _Aligner(a, idf, ws)
    assume(aligner.ready)
    bw = aligner.best_words(members)
    # naive best_words: rows = the distinct words of each text of a with words, in vocab order
    words_a = [x for t in a for x in sorted(set(t.split()))]
    for k, t in enumerate(members):
        ys = set(t.split())
        col = [max((ws.sims[ws.index[x], ws.index[y]] for y in ys), default=-np.inf)
               for x in words_a]
        assert np.array_equal(bw[:, k], col)
    stack = bw if parent is None else np.column_stack([bw, aligner.best_words([parent])])
    fam = " ".join(([] if parent is None else [parent]) + members)
    ref = _ref_align(a, [fam], idf, ws)
    assert np.allclose(aligner([fam]), ref, **TOL)
    assert np.allclose(aligner([fam], np.max(stack, axis=1, keepdims=True)), ref, **TOL)


# --------------------------------------------------------------------------- theme_signal


def _themed(sets: list[frozenset]) -> Side:
    return Side(doc_id="d", unit_ids=[f"u{k}" for k in range(len(sets))], themes=sets)


THEMES = st.lists(st.frozensets(st.sampled_from("TUVWX"), max_size=4), max_size=5)


@settings(max_examples=200, deadline=None)
@given(THEMES, THEMES)
def test_theme_signal_equals_jaccard(src, dst):
    """Guards the one-hot matrix form of ``theme_signal``: exact Jaccard, 0 for an empty set."""
    ref = np.zeros((len(src), len(dst)))
    for i, a in enumerate(src):
        for j, b in enumerate(dst):
            if a and b:
                ref[i, j] = len(a & b) / len(a | b)
    assert np.array_equal(theme_signal(_themed(src), _themed(dst)), ref)


def test_theme_signal_by_hand():
    got = theme_signal(_themed([frozenset("ab"), frozenset()]),
                       _themed([frozenset("bc"), frozenset("ab"), frozenset()]))
    assert np.array_equal(got, [[1 / 3, 1.0, 0.0], [0.0, 0.0, 0.0]])


# --------------------------------------------------------------------------- strs

VALUE = st.one_of(st.text(max_size=3), st.integers(), st.floats(), st.just(np.nan))


@settings(max_examples=300, deadline=None)
@given(st.lists(VALUE | st.none(), max_size=6),
       # pandas' fillna drops a fill value's trailing NULs ("\x00" → ""): not strs' concern
       st.text(max_size=2).filter(lambda m: not m.endswith("\x00")))
def test_strs_equals_fillna_astype_str(values, missing):
    """Guards ``strs`` against the pandas conversion it replaces: every value a Python str,
    a missing one (None, NaN) written as ``missing``."""
    s = pd.Series(values, dtype=object)
    got = strs(s, missing)
    assert all(type(x) is str for x in got)
    assert got == [str(x) for x in s.fillna(missing).astype(str).tolist()]


def test_strs_default_writes_a_missing_value_empty():
    assert strs(pd.Series(["a", None, np.nan, 3], dtype=object)) == ["a", "", "", "3"]
