"""Shared passages: sentences found, identical or nearly so, in several declarations."""

from __future__ import annotations

import heapq
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain

import numpy as np
import pandas as pd
from rapidfuzz import fuzz

from pipeline.compare.common import round_floats, single_spaced
from pipeline.compare.inputs import CompareInputs
from pipeline.segment import load_patterns
from pipeline.segment.sentences import split_sentences as _split

PASSAGE_COLUMNS = ["passage_id", "doc_id", "unit_id", "text", "n_docs", "similarity"]
SUMMARY_COLUMNS = ["doc_id", "commune_label", "n_sentences", "n_shared", "share_shared",
                   "n_passages"]

_WORD = re.compile(r"[a-z0-9]+")


@lru_cache(maxsize=1)
def _abbreviations() -> frozenset[str]:
    return load_patterns().abbreviations


def split_sentences(text: str) -> list[str]:
    """Sentences of a (whitespace-collapsed) unit text, with the segmenter's splitter and its
    abbreviations ("M.", "art.", …), so passages are compared sentence for sentence."""
    text = text or ""
    if not single_spaced(text):
        text = re.sub(r"\s+", " ", text)
    text = text.strip()
    if not text:
        return []
    return [text[s:e] for s, e in _split(text, abbreviations=_abbreviations())]


def normalise(sentence: str) -> str:
    """Comparison form: lower case, no accents (œ → oe), ASCII words only, single spaces."""
    s = unicodedata.normalize("NFKD", sentence.casefold().replace("œ", "oe").replace("æ", "ae"))
    return " ".join(_WORD.findall(s.encode("ascii", "ignore").decode("ascii")))


class _UnionFind:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, i: int, j: int) -> None:
        a, b = self.find(i), self.find(j)
        if a != b:
            self.parent[max(a, b)] = min(a, b)


def _score(a: str, b: str, cutoff: float = 0.0) -> float:
    """Similarity 0–100 of two normalised sentences: the larger of rapidfuzz ``ratio`` and,
    when their lengths are within 15 % (so a short sentence inside a long one is no match),
    ``token_set_ratio``; scores under ``cutoff`` may be returned as 0."""
    s = fuzz.ratio(a, b, score_cutoff=cutoff)
    if s < 100 and min(len(a), len(b)) >= 0.85 * max(len(a), len(b)):
        s = max(s, fuzz.token_set_ratio(a, b, score_cutoff=cutoff))
    return s


def _reachable(short: np.ndarray, long_: np.ndarray, threshold: float) -> np.ndarray:
    """Whether ``_score`` of two sentences of these lengths can reach ``threshold``.

    ``fuzz.ratio`` is 200 · LCS / (sum of the lengths) and the longest common subsequence is at
    most the shorter length; ``token_set_ratio`` is only tried when the lengths are within 15 %.
    """
    return (200 * short >= threshold * (short + long_)) | (short >= 0.85 * long_)


def _candidate_pairs(uniq: list[str], n_keys: int, max_block: int, min_shared: int,
                     threshold: float | None = None) -> Iterable[tuple[int, int]]:
    """Pairs (i < j) of distinct normalised sentences worth scoring.

    Each sentence is keyed by its ``n_keys`` rarest words (≥ 4 characters, found in 2 to
    ``max_block`` sentences; ties alphabetical); a pair is a candidate when the two share at
    least ``min_shared`` keys (or all the keys of the one with fewer) and their lengths are
    within a factor 2 (and, given ``threshold``, close enough for ``_score`` to reach it).
    Sparse product keys × keys, so cost grows with the pairs, not n².
    """
    import numpy as np
    from scipy.sparse import csr_matrix

    tokens = [{w for w in n.split() if len(w) >= 4} for n in uniq]
    df = Counter(chain.from_iterable(tokens))
    key_ids: dict[str, int] = {}
    rows, cols = [], []
    for i, toks in enumerate(tokens):
        cands = [(df[w], w) for w in toks]
        cands = heapq.nsmallest(n_keys, [c for c in cands if 2 <= c[0] <= max_block])
        for _, w in cands:
            rows.append(i)
            cols.append(key_ids.setdefault(w, len(key_ids)))
    if not rows:
        return iter(())
    s = csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)),
                   shape=(len(uniq), len(key_ids)))
    shared = (s @ s.T).tocoo()
    nkeys = np.asarray(s.sum(axis=1)).ravel()
    lens = np.array([len(n) for n in uniq])
    r, c, k = shared.row, shared.col, shared.data
    # the conditions one after the other, each on what the previous kept (the product can
    # hold millions of pairs): i < j, lengths within a factor 2, then shared keys ≥
    # min(min_shared, keys of i, keys of j)
    keep = r < c
    r, c, k = r[keep], c[keep], k[keep]
    short, long_ = np.minimum(lens[r], lens[c]), np.maximum(lens[r], lens[c])
    keep = 2 * short >= long_
    if threshold is not None:  # and able to reach the threshold (see ``_reachable``)
        keep &= _reachable(short, long_, threshold)
    r, c, k = r[keep], c[keep], k[keep]
    keep = (k >= min_shared) | (k >= nkeys[r]) | (k >= nkeys[c])
    r, c = r[keep], c[keep]
    order = np.lexsort((c, r))  # by i then j
    return zip(r[order].tolist(), c[order].tolist(), strict=True)


@dataclass
class _Sentences:
    """The long sentences, one entry per occurrence (arrays aligned): unit position in the
    units table, doc_id, unit_id, ``pos`` (rank among all sentences in reading order), text,
    ``norm`` (index in ``uniq``: the distinct normalised forms, first-seen order)."""

    units: np.ndarray
    docs: list
    uids: list
    pos: np.ndarray
    texts: list[str]
    norm: np.ndarray
    uniq: list[str]


def _sentence_rows(p: CompareInputs, min_words: int) -> _Sentences:
    text, all_docs, all_uids = p.stripped("text"), p.column("doc_id"), p.column("unit_id")
    index: dict[str, int] = {}
    uniq: list[str] = []
    # per distinct unit text (boilerplate recurs: split and normalise each once):
    # (number of sentences, [(rank in the text, sentence, norm index) of the long ones])
    by_text: dict[str, tuple[int, list[tuple[int, str, int]]]] = {}
    units, pos, texts_, norms = [], [], [], []
    done = 0
    content = p.content.tolist()
    for i in p.reading_order.tolist():
        if not content[i]:  # navigation, preamble, title, signature: never compared
            continue
        t = text[i]
        parts = by_text.get(t)
        if parts is None:
            sentences = split_sentences(t)
            long_ = []
            for k, sentence in enumerate(sentences, start=1):
                if len(sentence.split()) >= min_words:
                    n = normalise(sentence)
                    u = index.get(n)
                    if u is None:
                        u = index[n] = len(uniq)
                        uniq.append(n)
                    long_.append((k, sentence, u))
            parts = by_text[t] = (len(sentences), long_)
        for k, sentence, u in parts[1]:
            units.append(i)
            pos.append(done + k)
            texts_.append(sentence)
            norms.append(u)
        done += parts[0]
    return _Sentences(np.asarray(units, dtype=np.int64), [all_docs[i] for i in units],
                      [all_uids[i] for i in units], np.asarray(pos, dtype=np.int64), texts_,
                      np.asarray(norms, dtype=np.int64), uniq)


def find_shared(documents: pd.DataFrame, units: pd.DataFrame, threshold: float = 85.0,
                min_words: int = 8, n_keys: int = 4, max_block: int = 400, min_shared: int = 2
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sentences of the content units (kinds not in NON_CONTENT_KINDS: no navigation,
    preamble, title or signature) that recur in several declarations.

    Sentences of at least ``min_words`` words are compared in normalised form; identical
    ones are grouped directly; near-identical ones are found by blocking: each distinct
    sentence is indexed under its ``n_keys`` rarest words (≥ 4 letters, in 2 to
    ``max_block`` sentences) and only sentences sharing ``min_shared`` keys are scored
    (``_score`` ≥ ``threshold``); groups are the connected components.
    Out: (passages, summary). passages: groups spanning ≥ 2 documents, one row per member
    sentence — ``passage_id`` ("P0001"… by descending n_docs then first occurrence),
    ``doc_id, unit_id, text, n_docs`` and ``similarity`` (0–1, to the group's first member in
    doc_id/text order). summary: per document ``n_sentences`` compared (of its content
    units), ``n_shared`` of them in a passage, ``share_shared`` and ``n_passages``.
    """
    return find_shared_of(CompareInputs(documents, units), threshold, min_words, n_keys, max_block,
                          min_shared)


def find_shared_of(p: CompareInputs, threshold: float = 85.0, min_words: int = 8, n_keys: int = 4,
                   max_block: int = 400, min_shared: int = 2
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``find_shared`` from the shared inputs (:class:`pipeline.compare.inputs.CompareInputs`)."""
    ids = p.ids
    n = len(ids)
    s = _sentence_rows(p, min_words)
    uniq = s.uniq
    uf = _UnionFind(len(uniq))
    find = uf.find
    last, root_i = -1, -1
    for i, j in _candidate_pairs(uniq, n_keys, max_block, min_shared, threshold):
        if i != last:  # pairs come sorted by i: its root changes only when it is joined
            last, root_i = i, find(i)
        if find(j) != root_i and _score(uniq[i], uniq[j], threshold) >= threshold:
            uf.union(i, j)
            root_i = find(i)
    root = np.asarray([uf.find(u) for u in range(len(uniq))], dtype=np.int64)
    group = root[s.norm] if len(s.norm) else np.zeros(0, dtype=np.int64)
    doc = p.doc_code[s.units]
    # documents per group: count the distinct (group, document) pairs
    pairs = np.unique(group * max(n, 1) + doc)
    n_docs = np.bincount(pairs // max(n, 1), minlength=len(uniq))
    rows = np.flatnonzero(n_docs[group] >= 2)
    # members by group, doc_id (ids are sorted: code order is doc_id order), then reading order
    rows = rows[np.lexsort((s.pos[rows], doc[rows], group[rows]))]
    g, d, u = group[rows], doc[rows], s.norm[rows]
    is_first = np.r_[True, g[1:] != g[:-1]] if len(rows) else np.zeros(0, dtype=bool)
    first_rows = np.flatnonzero(is_first)
    member_first = first_rows[np.cumsum(is_first) - 1]  # row (in ``rows``) of each one's first
    first_u = u[member_first]
    scores: dict[tuple[int, int], float] = {}
    similarity = []
    for f, m in zip(first_u.tolist(), u.tolist(), strict=True):
        if f == m:
            similarity.append(1.0)
        else:
            key = (f, m)
            if key not in scores:
                scores[key] = _score(uniq[f], uniq[m]) / 100
            similarity.append(scores[key])
    # passages numbered by descending n_docs, then doc_id and rank of their first member
    fg = g[first_rows]
    ranked = np.lexsort((s.pos[rows][first_rows], d[first_rows], -n_docs[fg]))
    names = [f"P{k + 1:04d}" for k in range(len(fg))]
    pid_of_group = dict(zip(fg[ranked].tolist(), names, strict=True))
    member_pid = [pid_of_group[x] for x in g.tolist()]
    name_rank = {name: r for r, name in enumerate(sorted(names))}
    final = np.lexsort((s.pos[rows], d, np.asarray([name_rank[x] for x in member_pid],
                                                    dtype=np.int64)))
    if len(rows):
        passages = pd.DataFrame({
            "passage_id": [member_pid[k] for k in final.tolist()],
            "doc_id": [s.docs[r] for r in rows[final].tolist()],
            "unit_id": [s.uids[r] for r in rows[final].tolist()],
            "text": [s.texts[r] for r in rows[final].tolist()],
            "n_docs": n_docs[g[final]].astype(int),
            "similarity": np.asarray(similarity, dtype=float)[final],
        }, columns=PASSAGE_COLUMNS)
    else:  # no passage: the columns keep the types of the sentences' columns

        def no_rows(values: list) -> pd.Series:
            return pd.Series(values, dtype=object).infer_objects().iloc[0:0]

        passages = pd.DataFrame({
            "passage_id": np.zeros(0), "doc_id": no_rows(s.docs), "unit_id": no_rows(s.uids),
            "text": no_rows(s.texts), "n_docs": np.zeros(0, dtype=int),
            "similarity": np.zeros(0)}, columns=PASSAGE_COLUMNS)
    passages = round_floats(passages)

    total = np.bincount(doc, minlength=n)
    n_sh = np.bincount(d, minlength=n)
    n_p = np.bincount(np.unique(d * max(len(uniq), 1) + g) // max(len(uniq), 1), minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(total > 0, n_sh / np.where(total > 0, total, 1), 0.0)
    summary = pd.DataFrame({"doc_id": ids})
    summary["commune_label"] = summary["doc_id"].map(p.labels)
    summary["n_sentences"] = total.astype(int)
    summary["n_shared"] = n_sh.astype(int)
    summary["share_shared"] = share.astype(float)
    summary["n_passages"] = n_p.astype(int)
    return passages, round_floats(summary[SUMMARY_COLUMNS])
