"""The inputs of the compare tables, read once and shared between the tables.

Iterating pandas 3 Arrow-backed string columns is slow, and every table used to filter, sort
and split the same units again. ``CompareInputs`` reads each column once (as a Python list or a
numpy array, when first asked for) and keeps what several tables need: the documents read,
the units in reading order, word counts, the (unit, theme) pairs and the lemma counts.
A unit is identified by (doc_id, unit_id), as in docs/architecture.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from pipeline.compare.common import (
    commune_label,
    compared_mask,
    ok_documents,
    texts,
    word_count,
)
from pipeline.models import NON_CONTENT_KINDS


def count_cells(rows: np.ndarray, cols: np.ndarray, n_cols: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Occurrences (rows[i], cols[i]) counted per cell: (rows, cols, counts) of the distinct
    cells, sorted by row then column (the order of a canonical CSR matrix), counts as
    floats."""
    key = rows.astype(np.int64) * max(n_cols, 1) + cols
    codes, cells = pd.factorize(key)
    counts = np.bincount(codes, minlength=len(cells)).astype(float)
    order = np.argsort(cells, kind="stable")
    cells = cells[order]
    return cells // max(n_cols, 1), cells % max(n_cols, 1), counts[order]


def csr_from_cells(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, shape: tuple):
    """CSR matrix of the sorted distinct cells of ``count_cells`` (already canonical: the
    same matrix, entry for entry, as building it from coordinates)."""
    from scipy.sparse import csr_matrix

    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
    index = np.int32 if max(shape[1], len(values)) < np.iinfo(np.int32).max else np.int64
    return csr_matrix((values, cols.astype(index), indptr.astype(index)), shape=shape)


@dataclass
class LemmaCounts:
    """Lemma and lemma-bigram counts of the content units, per document.

    ``terms``: the lemmas (first-appearance order); ``pairs``: the bigrams (first-appearance
    order) as pairs of positions in ``terms``; term column ``len(terms) + k`` is the bigram
    ``pairs[k]`` ("a b"). ``cells``: (document, term column, count) of every term seen in a
    document, sorted by document then column; ``words``: lemmas per document (float).
    """

    terms: np.ndarray
    pairs: np.ndarray
    cells: tuple[np.ndarray, np.ndarray, np.ndarray]
    words: np.ndarray

    @property
    def n_terms(self) -> int:
        return len(self.terms) + len(self.pairs)

    @cached_property
    def unigrams(self):
        """Documents × lemmas count matrix (CSR)."""
        rows, cols, counts = self.cells
        uni = cols < len(self.terms)
        return csr_from_cells(rows[uni], cols[uni], counts[uni],
                              (len(self.words), len(self.terms)))

    @cached_property
    def counts(self):
        """Documents × terms (lemmas, then bigrams) count matrix (CSR)."""
        return csr_from_cells(*self.cells, (len(self.words), self.n_terms))

    def term(self, columns: np.ndarray) -> np.ndarray:
        """Text of the terms of ``columns`` (object array)."""
        columns = np.asarray(columns, dtype=np.int64)
        k = len(self.terms)
        out = np.empty(len(columns), dtype=object)
        uni = columns < k
        out[uni] = self.terms[columns[uni]]
        pairs = self.pairs[columns[~uni] - k]
        out[~uni] = [f"{a} {b}" for a, b in zip(self.terms[pairs[:, 0]].tolist(),
                                                self.terms[pairs[:, 1]].tolist(), strict=True)]
        return out

    def all_terms(self) -> np.ndarray:
        """Text of every term column."""
        return self.term(np.arange(self.n_terms))


def _content_nlp_rows(doc_ids: list[str], units: pd.DataFrame, nlp: pd.DataFrame,
                      content: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(positions of the nlp rows of the units of ``doc_ids`` selected by ``content`` (a
    mask of ``units``), in nlp order; the position of their doc_id in ``doc_ids``) — the rows
    an inner merge of nlp with the selected units' (doc_id, unit_id) keeps."""
    n_units = len(units)
    docs, doc_values = pd.factorize(pd.concat([units["doc_id"], nlp["doc_id"]],
                                              ignore_index=True))
    uids, uid_values = pd.factorize(pd.concat([units["unit_id"], nlp["unit_id"]],
                                              ignore_index=True))
    index = {d: i for i, d in enumerate(doc_ids)}
    doc_index = np.fromiter((index.get(d, -1) for d in doc_values.tolist()), dtype=np.int64,
                            count=len(doc_values))
    doc_index = np.append(doc_index, -1)[docs]  # code -1 (missing) → the -1 appended
    key = np.where((docs >= 0) & (uids >= 0), docs.astype(np.int64) * len(uid_values) + uids, -1)
    unit_keys = key[:n_units][content & (key[:n_units] >= 0)]
    nlp_key, nlp_doc = key[n_units:], doc_index[n_units:]
    rows = np.flatnonzero((nlp_doc >= 0) & (nlp_key >= 0) & np.isin(nlp_key, unit_keys))
    return rows, nlp_doc[rows]


def lemma_counts(doc_ids: list[str], units: pd.DataFrame, nlp: pd.DataFrame | None,
                 compared: np.ndarray | None = None) -> LemmaCounts:
    """Count the lemmas (and bigrams of consecutive lemmas of one unit) of the compared units
    (``compared``, a mask of ``units``; by default ``compared_mask``: content units but
    empty headings) of ``doc_ids``, from the nlp table (``lemmas``: space-separated), nlp
    rows in order; documents without lemmas get zero rows (and ``words`` 0)."""
    n = len(doc_ids)
    no_pairs = np.zeros((0, 2), dtype=np.int64)
    none = np.zeros(0, dtype=np.int64)

    def empty():
        return LemmaCounts(np.array([], dtype=object), no_pairs, (none, none, np.zeros(0)),
                           np.zeros(n))

    if nlp is None or not len(nlp) or not n:
        return empty()
    if compared is None:
        compared = compared_mask(units)
    rows, docs = _content_nlp_rows(doc_ids, units, nlp, compared)
    lemmas = texts(nlp["lemmas"])
    kept = [lemmas[i] for i in rows.tolist()]
    lengths = np.fromiter(map(word_count, kept), dtype=np.int64, count=len(kept))
    if not lengths.sum():
        return empty()
    # one split of the joined texts: no list per unit
    tokens = np.array(" ".join(kept).split(), dtype=object)
    tok_doc = np.repeat(docs, lengths)
    words = np.bincount(tok_doc, minlength=n).astype(float)
    codes, terms = pd.factorize(tokens)
    k = len(terms)
    cell_rows, cell_cols, pairs = [tok_doc], [codes], no_pairs
    if len(tokens) > 1:
        tok_unit = np.repeat(np.arange(len(kept)), lengths)
        same = tok_unit[:-1] == tok_unit[1:]
        pair_codes, uniq = pd.factorize(codes[:-1][same].astype(np.int64) * k + codes[1:][same])
        pairs = np.column_stack([uniq // k, uniq % k]).astype(np.int64)
        cell_rows.append(tok_doc[:-1][same])
        cell_cols.append(pair_codes + k)
    cells = count_cells(np.concatenate(cell_rows), np.concatenate(cell_cols), k + len(pairs))
    return LemmaCounts(np.asarray(terms, dtype=object), pairs, cells, words)


class CompareInputs:
    """documents, units, nlp, unit_themes as read by the compare tables (each part computed
    on first use, then kept)."""

    def __init__(self, documents: pd.DataFrame, units: pd.DataFrame,
                 nlp: pd.DataFrame | None = None, unit_themes: pd.DataFrame | None = None):
        self.documents = documents
        self.units = units
        self.nlp = nlp
        self.unit_themes = unit_themes
        self._columns: dict[str, list] = {}
        self._stripped: dict[str, list[str]] = {}

    @cached_property
    def ok_docs(self) -> pd.DataFrame:
        """The rows of ``documents`` read (``ok_documents``)."""
        return ok_documents(self.documents)

    @cached_property
    def ids(self) -> list[str]:
        """doc_ids of the documents read, sorted."""
        return sorted(self.ok_docs["doc_id"].astype(str))

    @cached_property
    def labels(self) -> pd.Series:
        """``commune_label`` of the documents read."""
        return commune_label(self.ok_docs)

    def column(self, name: str) -> list:
        """Column ``name`` of ``units`` as a list of Python values."""
        if name not in self._columns:
            self._columns[name] = self.units[name].tolist()
        return self._columns[name]

    def stripped(self, name: str) -> list[str]:
        """Column ``name`` of ``units`` as stripped strings ("" when missing)."""
        if name not in self._stripped:
            self._stripped[name] = texts(self.units[name])
        return self._stripped[name]

    @cached_property
    def doc_code(self) -> np.ndarray:
        """Per unit: position of its doc_id in ``ids``, -1 when its document was not read."""
        index = {d: i for i, d in enumerate(self.ids)}
        return np.fromiter((index.get(d, -1) for d in self.column("doc_id")), dtype=np.int64,
                           count=len(self.units))

    @cached_property
    def content(self) -> np.ndarray:
        """Per unit: its kind carries policy content (``content_units``)."""
        return ~self.units["kind"].isin(NON_CONTENT_KINDS).to_numpy(dtype=bool)

    @cached_property
    def compared(self) -> np.ndarray:
        """Per unit: it counts in theme shares, similarity and distinctive terms (a content
        unit, but not an empty heading: ``compared_mask``)."""
        return compared_mask(self.units, self.content)

    @cached_property
    def n_words(self) -> np.ndarray:
        """Per unit: whitespace-separated words of its text (``common.n_words``)."""
        return np.fromiter(map(word_count, self.stripped("text")), dtype=np.int64,
                           count=len(self.units))

    @cached_property
    def reading_order(self) -> np.ndarray:
        """Positions of the units of the documents read, sorted by doc_id then ``start``
        (stable; by doc_id only without a ``start`` column)."""
        keys = ["doc_id", "start"] if "start" in self.units.columns else ["doc_id"]
        order = (self.units[keys].reset_index(drop=True)
                 .sort_values(keys, kind="stable").index.to_numpy())
        return order[self.doc_code[order] >= 0]

    @cached_property
    def themes_of(self) -> list[tuple]:
        """Per unit: the ids of its themes, each once (empty for non-content units). Read
        from ``units.themes`` (";"-joined) when present, else from ``unit_themes``
        (``unit_theme_pairs``)."""
        content = self.content.tolist()
        out: list[tuple] = [()] * len(self.units)
        if "themes" in self.units.columns:
            for pos, (value, c) in enumerate(zip(self.stripped("themes"), content, strict=True)):
                if c and value:
                    if ";" not in value:  # one theme (the text is stripped)
                        out[pos] = (value,)
                    else:
                        out[pos] = tuple(t for t in dict.fromkeys(
                            x.strip() for x in value.split(";")) if t)
        elif self.unit_themes is not None and len(self.unit_themes):
            where = {(d, u): pos for pos, (d, u, c) in enumerate(zip(
                self.column("doc_id"), self.column("unit_id"), content, strict=True)) if c}
            found: dict[int, dict] = {}
            ut = self.unit_themes
            for d, u, t in zip(ut["doc_id"].tolist(), ut["unit_id"].tolist(),
                               ut["theme"].tolist(), strict=True):
                pos = where.get((d, u))
                if pos is not None:
                    found.setdefault(pos, {})[t] = None
            for pos, themes in found.items():
                out[pos] = tuple(themes)
        return out

    @cached_property
    def theme_pairs(self) -> tuple[np.ndarray, list]:
        """``themes_of`` as pairs: (unit positions, theme ids)."""
        themes_of = self.themes_of
        lengths = np.fromiter(map(len, themes_of), dtype=np.int64, count=len(themes_of))
        positions = np.repeat(np.arange(len(themes_of), dtype=np.int64), lengths)
        return positions, [t for themes in themes_of for t in themes]

    @cached_property
    def lemmas(self) -> LemmaCounts:
        """``lemma_counts`` of the documents read."""
        return lemma_counts(self.ids, self.units, self.nlp, self.compared)
