"""The tracing stage with a per-pair cache: a (declaration, plan) or (declaration, declaration)
pair whose two documents, themes and metadata did not change is not scored again (adding one
declaration traces only its own pairs)."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from pipeline.engine.cache import code_version, load_pickle, save_pickle

#: what the rows of a pair depend on besides its documents: the stage, its settings, concept
#: lexicon and anchor weights, the word vectors, the name folding of communes
TRACE_CODE = ("trace", "data/trace.toml", "data/trace_concepts.toml", "data/trace_anchor.toml",
              "data/trace_trees.json",
              "classify/vectors.py", "results.py")


def _theme_hashes(unit_themes: pd.DataFrame) -> dict[str, str]:
    """doc_id → hash of its (unit, theme) rows (the themes a pair's signals read)."""
    if unit_themes is None or not len(unit_themes):
        return {}
    rows = pd.util.hash_pandas_object(
        unit_themes[["doc_id", "unit_id", "theme"]].astype(str), index=False)
    sums = rows.groupby(unit_themes["doc_id"].astype(str).to_numpy()).sum()
    return {str(d): f"{int(v):x}" for d, v in sums.items()}


class PairMemo:
    """``get``/``put`` of :func:`pipeline.trace.build_trace`, as pickles in
    ``cache_dir/trace/``, keyed by both documents' content keys, themes and metadata, the
    theme labels and the code of the stage; ``get_signals``/``put_signals`` (the theme-free
    signals of a pair) keyed by the contents and the code only."""

    def __init__(self, cache_dir: Path, doc_keys: dict[str, str], documents: pd.DataFrame,
                 unit_themes: pd.DataFrame, theme_labels: dict[str, str] | None):
        self.dir = Path(cache_dir) / "trace"
        self.doc_keys = doc_keys
        self.themes = _theme_hashes(unit_themes)
        cols = [c for c in ("commune", "mandate", "adopted_on") if c in documents.columns]
        self.meta = {str(r["doc_id"]): "|".join(str(r[c]) for c in cols)
                     for r in documents[["doc_id", *cols]].to_dict("records")}
        self.code = code_version(*TRACE_CODE)
        self.base = self.code + repr(sorted((theme_labels or {}).items()))
        #: names of the entries read or written by this run (what :meth:`prune` keeps)
        self.used: set[str] = set()

    def _file(self, name: str, seed: str, parts) -> Path:
        h = hashlib.sha256(seed.encode())
        for part in parts:
            h.update(b"\x00" + str(part).encode())
        return self.dir / f"{name}{h.hexdigest()}.pkl"

    def _path(self, kind: str, a: str, b: str, extra: str = "") -> Path:
        return self._file("", self.base, (
            kind, a, b, extra, self.doc_keys.get(a, ""), self.doc_keys.get(b, ""),
            self.themes.get(a, ""), self.themes.get(b, ""), self.meta.get(a, ""),
            self.meta.get(b, "")))

    def _use(self, path: Path) -> Path:
        self.used.add(path.name)
        return path

    def has(self, kind: str, a: str, b: str, extra: str = "") -> bool:
        """True when the rows of the pair are in the cache (nothing is read or marked)."""
        return self._path(kind, a, b, extra).is_file()

    def mark(self, kind: str, a: str, b: str, extra: str = "") -> None:
        """Mark the pair's entries as used by this run (rows computed by another process
        and handed over: :meth:`prune` keeps them)."""
        self._use(self._signals_path(kind, a, b))
        self._use(self._path(kind, a, b, extra))

    def get(self, kind: str, a: str, b: str, extra: str = ""):
        # the pair's signals are kept with its rows: the next retrained theme model reads them
        self._use(self._signals_path(kind, a, b))
        return load_pickle(self._use(self._path(kind, a, b, extra)))

    def put(self, kind: str, a: str, b: str, value, extra: str = "") -> None:
        save_pickle(self._use(self._path(kind, a, b, extra)), value)

    def _signals_path(self, kind: str, a: str, b: str) -> Path:
        """Keyed on the two documents' contents and the code only: a retrained theme model
        (new themes, same words) finds them."""
        return self._file("signals-", self.code, (
            "signals", kind, a, b, self.doc_keys.get(a, ""), self.doc_keys.get(b, "")))

    def get_signals(self, kind: str, a: str, b: str):
        return load_pickle(self._use(self._signals_path(kind, a, b)))

    def put_signals(self, kind: str, a: str, b: str, value) -> None:
        save_pickle(self._use(self._signals_path(kind, a, b)), value)

    def prune(self) -> int:
        """Delete the entries of ``cache_dir/trace/`` this run did not read or write (pairs
        of documents since changed or removed, old theme labels, old code): the cache keeps
        one run's worth, about 200 kB per pair. Returns the number of files deleted."""
        if not self.dir.is_dir():
            return 0
        gone = 0
        for f in self.dir.glob("*.pkl"):
            if f.name not in self.used:
                try:
                    f.unlink()
                    gone += 1
                except OSError:  # another process removed it, or read-only: left as is
                    pass
        return gone


class _Recorder:
    """A memo for :func:`pipeline.trace.build_trace` over ``memo`` (a :class:`PairMemo` or
    None): reads and writes go through to it, and the rows of every pair put are kept in
    ``rows`` ((kind, a, b, extra) → rows), to be handed to another process."""

    def __init__(self, memo: PairMemo | None):
        self.memo = memo
        self.rows: dict[tuple, object] = {}

    def get(self, kind, a, b, extra=""):
        return self.memo.get(kind, a, b, extra) if self.memo is not None else None

    def put(self, kind, a, b, value, extra=""):
        self.rows[(kind, a, b, extra)] = value
        if self.memo is not None:
            self.memo.put(kind, a, b, value, extra)

    def get_signals(self, kind, a, b):
        return self.memo.get_signals(kind, a, b) if self.memo is not None else None

    def put_signals(self, kind, a, b, value):
        if self.memo is not None:
            self.memo.put_signals(kind, a, b, value)


class _Handed:
    """A memo whose pairs computed elsewhere (``rows``: (kind, a, b, extra) → rows) are
    served first; every other call goes to ``memo`` (None: no cache)."""

    def __init__(self, memo: PairMemo | None, rows: dict[tuple, object]):
        self.memo, self.rows = memo, rows

    def get(self, kind, a, b, extra=""):
        key = (kind, a, b, extra)
        if key in self.rows:
            if self.memo is not None:
                self.memo.mark(kind, a, b, extra)
            return self.rows[key]
        return self.memo.get(kind, a, b, extra) if self.memo is not None else None

    def put(self, kind, a, b, value, extra=""):
        if self.memo is not None:
            self.memo.put(kind, a, b, value, extra)

    def get_signals(self, kind, a, b):
        return self.memo.get_signals(kind, a, b) if self.memo is not None else None

    def put_signals(self, kind, a, b, value):
        if self.memo is not None:
            self.memo.put_signals(kind, a, b, value)


#: fewer pairs to score than this: one process (a fork costs more than it saves)
PARALLEL_MIN_PAIRS = 16


def _to_compute(pairs, memo: PairMemo | None, review) -> tuple[list, list]:
    """The plan pairs and version pairs whose rows are not in the cache."""
    if memo is None:
        return list(pairs.plans), list(pairs.versions)
    plans = [(d, p) for d, p in pairs.plans
             if not memo.has("plan", d, p, review.digest(d, p) if review is not None else "")]
    versions = [(a, b) for a, b in pairs.versions if not memo.has("versions", a, b)]
    return plans, versions


def _score_pairs(documents, units, nlp_df, unit_themes, pairs, theme_labels, memo, review):
    """Rows of ``pairs`` ((kind, a, b, extra) → rows), computed by
    :func:`pipeline.trace.build_trace` (cached pairs read from ``memo``, new ones written)."""
    from pipeline import trace

    rec = _Recorder(memo)
    trace.build_trace(documents, units, nlp_df, unit_themes, pairs=pairs,
                      theme_labels=theme_labels, memo=rec, review=review)
    return rec.rows


def trace_cached(documents: pd.DataFrame, units: pd.DataFrame, nlp_df: pd.DataFrame,
                 unit_themes: pd.DataFrame, *, cache_dir: Path | None, doc_keys: dict[str, str],
                 by: Sequence[str] = (), theme_labels: dict[str, str] | None = None,
                 quiet: bool = False, review_csv: Path | None = None,
                 prune: bool = False, n_process: int = 1) -> dict[str, pd.DataFrame]:
    """:func:`pipeline.trace.build_trace` with the pair cache (none when ``cache_dir`` is
    None), and its one-line French note on stderr. ``review_csv``: the links a person checked
    (:mod:`pipeline.trace.review`); a row that cannot be applied, or a file that cannot be
    read, is reported on stderr and the rest is traced as usual. ``prune``: afterwards,
    delete the cache entries this run did not use (only when no other run shares the cache:
    the runner sets it for the default ``OUT/.cache``). ``n_process`` > 1: when many pairs
    are not cached, a forked child scores half of them while this process scores the other
    half (the same tables, byte for byte)."""
    from pipeline import trace
    from pipeline.trace.review import load_review, match_review

    pairs = trace.find_pairs(documents)
    review = None
    if review_csv is not None and pairs.plans:
        try:
            review = match_review(load_review(review_csv), units)
        except (ValueError, OSError) as exc:  # the links are traced as found, and it says so
            print(f"attention : {exc} ; les liens ne sont pas relus", file=sys.stderr)
        if review is not None:
            for line in review.notes + review.unused(pairs.plans):
                print(line, file=sys.stderr)
    memo = (PairMemo(cache_dir, doc_keys, documents, unit_themes, theme_labels)
            if cache_dir is not None and (pairs.plans or pairs.versions) else None)
    from pipeline.trace.link import clear_concept_cache

    try:
        handed = memo
        plans, versions = _to_compute(pairs, memo, review) if n_process > 1 else ([], [])
        if len(plans) + len(versions) >= PARALLEL_MIN_PAIRS:
            from threadpoolctl import threadpool_limits

            from pipeline.engine.parallel import in_background

            # one BLAS thread per process: two processes of two threads each on two cores
            # spend their time waiting for each other (measured: 2.2 × slower)
            blas = threadpool_limits(limits=1, user_api="blas")

            # every other pair to the child, the rest here (plans and declarations mixed)
            todo = [("p", x) for x in plans] + [("v", x) for x in versions]
            theirs, mine = todo[0::2], todo[1::2]

            def subset(part):
                return trace.Pairs(plans=[x for k, x in part if k == "p"],
                                   versions=[x for k, x in part if k == "v"])
            child = in_background(_score_pairs, documents, units, nlp_df, unit_themes,
                                  subset(theirs), theme_labels, memo, review,
                                  label="suivi des engagements")
            try:
                rows = _score_pairs(documents, units, nlp_df, unit_themes, subset(mine),
                                    theme_labels, memo, review)
                rows.update(child()[0])
            except BaseException:
                child.cancel()
                raise
            finally:
                blas.restore_original_limits()
            handed = _Handed(memo, rows)
        tables = trace.build_trace(documents, units, nlp_df, unit_themes, by=by, pairs=pairs,
                                   theme_labels=theme_labels, memo=handed, review=review)
    finally:
        clear_concept_cache()
    if prune and cache_dir is not None:
        if memo is None:  # no pair left: every entry is stale
            memo = PairMemo(cache_dir, doc_keys, documents, unit_themes, theme_labels)
        memo.prune()
    if not quiet:
        for line in trace.trace_note(documents, pairs):
            print(line, file=sys.stderr)
    return tables
