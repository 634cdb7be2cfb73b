"""Shared passages: sentences found, identical or nearly so, in several declarations."""

from __future__ import annotations

import heapq
import re
import unicodedata
from collections import Counter
from functools import lru_cache
from itertools import chain

import pandas as pd
from rapidfuzz import fuzz

from pipeline.compare.common import commune_label, ok_documents, round_floats, texts
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
    text = re.sub(r"\s+", " ", text or "").strip()
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


def _candidate_pairs(uniq: list[str], n_keys: int, max_block: int, min_shared: int
                     ) -> list[tuple[int, int]]:
    """Pairs (i < j) of distinct normalised sentences worth scoring.

    Each sentence is keyed by its ``n_keys`` rarest words (≥ 4 characters, found in 2 to
    ``max_block`` sentences; ties alphabetical); a pair is a candidate when the two share at
    least ``min_shared`` keys (or all the keys of the one with fewer) and their lengths are
    within a factor 2. Sparse product keys × keys, so cost grows with the pairs, not n².
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
        return []
    s = csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)),
                   shape=(len(uniq), len(key_ids)))
    shared = (s @ s.T).tocoo()
    nkeys = np.asarray(s.sum(axis=1)).ravel()
    lens = np.array([len(n) for n in uniq])
    r, c, k = shared.row, shared.col, shared.data
    need = np.minimum(min_shared, np.minimum(nkeys[r], nkeys[c]))
    short, long_ = np.minimum(lens[r], lens[c]), np.maximum(lens[r], lens[c])
    keep = (r < c) & (k >= need) & (2 * short >= long_)
    pairs = sorted(zip(r[keep].tolist(), c[keep].tolist(), strict=True))
    return pairs


def _sentences(documents: pd.DataFrame, units: pd.DataFrame, min_words: int) -> pd.DataFrame:
    ids = set(ok_documents(documents)["doc_id"].astype(str))
    u = units[units["doc_id"].isin(ids)]
    if "start" in u.columns:
        u = u.sort_values(["doc_id", "start"], kind="stable")
    else:
        u = u.sort_values("doc_id", kind="stable")
    rows = []
    pos = 0
    norm_cache: dict[str, str] = {}
    split_cache: dict[str, list[str]] = {}  # boilerplate recurs: split each text once
    for doc, uid, text in zip(u["doc_id"].tolist(), u["unit_id"].tolist(), texts(u["text"]),
                              strict=True):
        parts = split_cache.get(text)
        if parts is None:
            parts = split_cache[text] = split_sentences(text)
        for s in parts:
            pos += 1
            if len(s.split()) >= min_words:
                n = norm_cache.get(s)
                if n is None:
                    n = norm_cache[s] = normalise(s)
                rows.append((doc, uid, pos, s, n))
    return pd.DataFrame(rows, columns=["doc_id", "unit_id", "pos", "text", "norm"])


def find_shared(documents: pd.DataFrame, units: pd.DataFrame, threshold: float = 85.0,
                min_words: int = 8, n_keys: int = 4, max_block: int = 400, min_shared: int = 2
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sentences of all units (preamble included) that recur in several declarations.

    Sentences of at least ``min_words`` words are compared in normalised form; identical
    ones are grouped directly; near-identical ones are found by blocking: each distinct
    sentence is indexed under its ``n_keys`` rarest words (≥ 4 letters, in 2 to
    ``max_block`` sentences) and only sentences sharing ``min_shared`` keys are scored
    (``_score`` ≥ ``threshold``); groups are the connected components.
    Out: (passages, summary). passages: groups spanning ≥ 2 documents, one row per member
    sentence — ``passage_id`` ("P0001"… by descending n_docs then first occurrence),
    ``doc_id, unit_id, text, n_docs`` and ``similarity`` (0–1, to the group's first member in
    doc_id/text order). summary: per document ``n_sentences`` compared, ``n_shared`` of them
    in a passage, ``share_shared`` and ``n_passages``.
    """
    sents = _sentences(documents, units, min_words)
    docs = ok_documents(documents)
    labels = commune_label(docs)
    ids = sorted(docs["doc_id"].astype(str))
    uniq = list(dict.fromkeys(sents["norm"]))
    index = {n: i for i, n in enumerate(uniq)}
    sents["u"] = sents["norm"].map(index)
    uf = _UnionFind(len(uniq))
    for i, j in _candidate_pairs(uniq, n_keys, max_block, min_shared):
        if uf.find(i) != uf.find(j) and _score(uniq[i], uniq[j], threshold) >= threshold:
            uf.union(i, j)
    sents["group"] = [uf.find(u) for u in sents["u"]]
    n_docs = sents.groupby("group")["doc_id"].nunique()
    shared = sents[sents["group"].map(n_docs) >= 2].copy()
    shared["n_docs"] = shared["group"].map(n_docs).astype(int)
    shared = shared.sort_values(["group", "doc_id", "pos"], kind="stable")
    first = shared.groupby("group").first()
    shared["_first_doc"] = shared["group"].map(first["doc_id"])
    shared["_first_pos"] = shared["group"].map(first["pos"])
    shared["similarity"] = [
        1.0 if n == f else _score(f, n) / 100
        for n, f in zip(shared["norm"].tolist(), shared["group"].map(first["norm"]).tolist(),
                        strict=True)]
    order = (shared.drop_duplicates("group")
             .sort_values(["n_docs", "_first_doc", "_first_pos"], ascending=[False, True, True])
             ["group"].tolist())
    pid = {g: f"P{k + 1:04d}" for k, g in enumerate(order)}
    shared["passage_id"] = shared["group"].map(pid)
    passages = shared.sort_values(["passage_id", "doc_id", "pos"], kind="stable")
    passages = round_floats(passages[PASSAGE_COLUMNS].reset_index(drop=True))

    total = sents.groupby("doc_id").size()
    n_sh = shared.groupby("doc_id").size()
    n_p = shared.groupby("doc_id")["group"].nunique()
    summary = pd.DataFrame({"doc_id": ids})
    summary["commune_label"] = summary["doc_id"].map(labels)
    summary["n_sentences"] = summary["doc_id"].map(total).fillna(0).astype(int)
    summary["n_shared"] = summary["doc_id"].map(n_sh).fillna(0).astype(int)
    summary["share_shared"] = (summary["n_shared"] / summary["n_sentences"].where(
        summary["n_sentences"] > 0)).fillna(0.0).astype(float)
    summary["n_passages"] = summary["doc_id"].map(n_p).fillna(0).astype(int)
    return passages, round_floats(summary[SUMMARY_COLUMNS])
