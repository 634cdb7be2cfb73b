"""Scoring (promise, plan unit) pairs: the signals of ``pipeline/data/trace.toml`` and the
logistic score over them.

In: two :class:`Side` objects (the units of one document that can be linked, with their
lemmas, word tokens, parent texts and themes). Out: :class:`PairScores`, one matrix per
signal (sources × targets) and the score matrix; :func:`select_links` keeps the links.
Pure functions; the same inputs give the same numbers.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import tomllib

from pipeline.models import NON_CONTENT_KINDS

SETTINGS_FILE = Path(__file__).resolve().parents[1] / "data" / "trace.toml"
#: the lexicon of concepts (words and phrases naming the same thing in a declaration and a plan)
CONCEPTS_FILE = Path(__file__).resolve().parents[1] / "data" / "trace_concepts.toml"
#: which plan units usually carry a promise out: word weights fitted on the tuning folders
ANCHOR_FILE = Path(__file__).resolve().parents[1] / "data" / "trace_anchor.toml"
#: what an error on a shipped data file tells the user to do
_RESTORE = "restaurez le fichier livré avec l'outil"
#: the signals of a pair, in the order of the model's weights
SIGNALS = ("tfidf", "vector", "align", "parent_tfidf", "parent_vector", "parent_align",
           "family_tfidf", "family_align", "family_best", "parent_best", "axis", "themes",
           "best", "mutual", "gap", "reverse_best", "reverse_gap", "order",
           "family_reverse_best", "concepts", "parent_concepts", "family_concepts", "anchor")
#: kinds whose text is the "parent" of a plan unit or a promise (nearest first is taken)
PARENT_KINDS = ("group", "objective", "axis", "section")
#: kinds whose text is the "top" of a unit (its axis, or OS in a plan)
TOP_KINDS = ("axis", "section")
_WORD = re.compile(r"[^\W\d_]{2,}")
#: what separates the words of a text or a lexicon entry when concepts are matched
_SEP = re.compile(r"[^\w§]+")


@dataclass(frozen=True, eq=False)
class Trees:
    """Boosted regression trees over ``SIGNALS`` (fitted by scikit-learn's
    HistGradientBoostingClassifier, read here with numpy only): the log-odds of a pair are
    ``baseline`` + the value of the leaf each tree sends it to. The trees' nodes are stored
    flat: ``feature`` (column of ``SIGNALS``), ``threshold`` (a row goes left when its value
    ≤ threshold), ``left`` / ``right`` (node indices; a leaf points to itself), ``value``
    (a leaf's log-odds, 0 elsewhere); ``roots``: each tree's first node; ``depth``: the
    deepest leaf."""

    baseline: float
    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray
    roots: np.ndarray
    depth: int

    @cached_property
    def _kids(self) -> np.ndarray:
        """Both children of every node, interleaved: node k's left at 2k, right at 2k + 1
        (built once per set of trees; the walk of :meth:`log_odds` reads it)."""
        return np.stack([self.left, self.right], axis=1).ravel()

    def log_odds(self, X: np.ndarray) -> np.ndarray:
        """One log-odds per row of ``X`` (rows × len(SIGNALS)): every tree walked at once,
        one level at a time."""
        n = len(X)
        if not n:
            return np.zeros(0)
        flat = np.ascontiguousarray(X.T, dtype=np.float64).ravel()  # signal-major
        kids = self._kids
        start = self.feature * n  # where a node's signal starts in ``flat``
        node = np.repeat(self.roots, n)  # tree-major: tree t, row i at t × n + i
        row = np.tile(np.arange(n), len(self.roots))
        for _ in range(self.depth):
            right = flat[start[node] + row] > self.threshold[node]
            node = kids[2 * node + right]
        return self.baseline + self.value[node].reshape(len(self.roots), n).sum(axis=0)

    def to_json(self) -> dict:
        """What :func:`load_trees` reads back (floats written exactly)."""
        return {"signals": list(SIGNALS), "baseline": float(self.baseline),
                "depth": int(self.depth), "roots": self.roots.tolist(),
                "feature": self.feature.tolist(), "threshold": self.threshold.tolist(),
                "left": self.left.tolist(), "right": self.right.tolist(),
                "value": self.value.tolist()}


def trees_from_json(raw: dict) -> Trees:
    """The :class:`Trees` of :meth:`Trees.to_json` (ValueError when malformed)."""
    if raw.get("signals") != list(SIGNALS):
        raise ValueError("les arbres ont été ajustés sur d'autres signaux "
                         f"({raw.get('signals')!r}, attendu {list(SIGNALS)!r})")
    arrays = {k: np.asarray(raw[k]) for k in ("feature", "threshold", "left", "right", "value")}
    n = len(arrays["feature"])
    if not n or any(len(a) != n for a in arrays.values()):
        raise ValueError("tableaux de nœuds vides ou de longueurs différentes")
    ints = {k: arrays[k].astype(np.int64) for k in ("feature", "left", "right")}
    roots = np.asarray(raw["roots"], dtype=np.int64)
    for k, a in (*ints.items(), ("roots", roots)):
        hi = len(SIGNALS) if k == "feature" else n
        if a.size and (a.min() < 0 or a.max() >= hi):
            raise ValueError(f"indice hors limites dans « {k} »")
    return Trees(float(raw["baseline"]), ints["feature"], arrays["threshold"].astype(np.float64),
                 ints["left"], ints["right"], arrays["value"].astype(np.float64), roots,
                 int(raw["depth"]))


@lru_cache(maxsize=4)
def load_trees(path: Path) -> Trees:
    """The trees of a JSON file written by ``make fit-trace ARGS=--write`` (ValueError naming
    the file when it is unreadable or malformed)."""
    import json

    try:
        return trees_from_json(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{path} : arbres du suivi illisibles ({e}) ; {_RESTORE} ou "
                         "refaites-le avec make fit-trace ARGS=--write") from e


@dataclass(frozen=True)
class Model:
    """A logistic model over ``SIGNALS``: ``intercept``, ``weights`` (signal → weight),
    ``threshold`` (a pair is a link from this score) and ``max_links`` per promise. With
    ``trees``, a cascade: the logistic score finds the candidates (score ≥ ``floor``), whose
    score is then the trees' (a promise's other pairs keep their logistic score, below
    ``floor``)."""

    intercept: float
    weights: dict[str, float]
    threshold: float
    max_links: int = 4
    kept_min: float = 0.7
    trees: Trees | None = None
    floor: float = 0.0

    def score(self, signals: dict[str, np.ndarray]) -> np.ndarray:
        z = np.full(next(iter(signals.values())).shape, self.intercept, dtype=np.float64)
        for name in SIGNALS:
            z += self.weights.get(name, 0.0) * signals[name]
        p = 1.0 / (1.0 + np.exp(-z))
        if self.trees is not None:
            cand = p >= self.floor
            if cand.any():
                X = np.column_stack([signals[name][cand] for name in SIGNALS])
                p[cand] = 1.0 / (1.0 + np.exp(-self.trees.log_odds(X)))
        return p


@lru_cache(maxsize=4)
def load_settings(path: Path = SETTINGS_FILE) -> dict:
    """The raw content of ``trace.toml``."""
    with open(path, "rb") as f:
        return tomllib.load(f)


def model(section: str = "link", path: Path = SETTINGS_FILE) -> Model:
    """The ``[link]`` (declaration → plan) or ``[versions]`` (declaration → declaration) model."""
    s = load_settings(path)[section]
    unknown = set(s["weights"]) - set(SIGNALS)
    if unknown:
        raise ValueError(f"{path} : [{section}] poids inconnus {sorted(unknown)} "
                         f"(signaux : {', '.join(SIGNALS)})")
    trees = load_trees(Path(path).parent / s["trees"]) if s.get("trees") else None
    return Model(intercept=float(s["intercept"]),
                 weights={k: float(v) for k, v in s["weights"].items()},
                 threshold=float(s["threshold"]), max_links=int(s.get("max_links", 4)),
                 kept_min=float(s.get("kept_min", 0.7)), trees=trees,
                 floor=float(s.get("floor", 0.0)))


@dataclass(frozen=True)
class Anchor:
    """How likely a plan unit is to carry out some promise of its declaration, from its words
    alone: ``intercept`` + the ``weights`` of its distinct lemmas, through the logistic
    function. Internal management ("règlement de travail", "logiciel comptable", "siège
    administratif") weighs down; help to people ("permanence", "ménages", "domicile") up."""

    intercept: float = 0.0
    weights: dict[str, float] = field(default_factory=dict)

    def scores(self, lemmas: list[str]) -> np.ndarray:
        """One probability per lemma string (0.5 everywhere for an empty model)."""
        # summed in a fixed order: a set's order changes with the interpreter's string hashing
        z = np.array([self.intercept + sum(self.weights.get(w, 0.0) for w in sorted(set(t.split())))
                      for t in lemmas], dtype=np.float64)
        return 1.0 / (1.0 + np.exp(-z))

    def signal(self, n_sources: int, lemmas: list[str]) -> np.ndarray:
        """The ``anchor`` signal (sources × targets): each target's score, the same for
        every one of the ``n_sources`` promises."""
        if not n_sources or not lemmas:
            return np.zeros((n_sources, len(lemmas)))
        return np.tile(self.scores(lemmas), (n_sources, 1))


@lru_cache(maxsize=4)
def load_anchor(path: Path = ANCHOR_FILE) -> Anchor:
    """The anchor model of ``trace_anchor.toml`` (ValueError naming the file when it is
    unreadable or malformed; it ships with the package and ``make fit-trace ARGS=--write``
    rewrites it)."""
    def number(x) -> float:
        if isinstance(x, bool) or not isinstance(x, int | float):
            raise ValueError(f"{x!r} n'est pas un nombre")
        return float(x)

    def make(raw: dict) -> Anchor:
        table = raw.get("weights")
        if not isinstance(table, dict) or not table:
            raise ValueError("pas de table [weights] de poids par lemme")
        if "intercept" not in raw:
            raise ValueError("pas d'intercept")
        return Anchor(number(raw["intercept"]), {str(k): number(v) for k, v in table.items()})

    return _data_file(path, "poids d'ancrage illisibles", make,
                      fix=f"{_RESTORE} ou refaites-le avec make fit-trace ARGS=--write")


def anchor_signal(src: Side, dst: Side, anchor: Anchor | None) -> np.ndarray:
    """The ``anchor`` signal (sources × targets): the plan unit's anchor probability, the
    same for every promise; 0 without a model (two declarations: no plan unit)."""
    if anchor is None:
        return np.zeros((len(src), len(dst)))
    return anchor.signal(len(src), dst.lemmas)


@lru_cache(maxsize=4)
def load_concepts(path: Path = CONCEPTS_FILE) -> tuple[tuple[str, str], ...]:
    """The lexicon of ``trace_concepts.toml`` as (concept, normalised entry) pairs, sorted.
    A missing or malformed file is an error naming it (the file ships with the package)."""
    out = set()
    for concept, entries in _lexicon_file(path).get("concepts", {}).items():
        if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
            raise ValueError(f"{path} : [concepts] {concept} doit être une liste de textes")
        for entry in entries:
            norm = _norm(entry)
            if norm.strip():
                out.add((str(concept), norm))
    return tuple(sorted(out))


@lru_cache(maxsize=4)
def concept_labels(path: Path = CONCEPTS_FILE) -> dict[str, str]:
    """Concept id → its French name (``[labels]`` of ``trace_concepts.toml``; the id with
    spaces when the file names none)."""
    load_concepts(path)  # the same errors for a broken file
    raw = _lexicon_file(path)
    names = {str(k): str(v) for k, v in raw.get("labels", {}).items()}
    return {c: names.get(c, c.replace("_", " ")) for c in raw.get("concepts", {})}


def _lexicon_file(path: Path) -> dict:
    """The content of a concepts file (ValueError naming it when unreadable); its readers
    cache what they make of it."""
    return _data_file(path, "lexique des concepts illisible")


def _data_file(path: Path, what: str, make=None, fix: str = _RESTORE):
    """``make`` (the identity when None) of the TOML content of a shipped data file; a file
    that cannot be opened, parsed or made into what its reader wants is a ValueError naming
    it, ``what`` went wrong and the ``fix``."""
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
        return make(raw) if make else raw
    except (OSError, tomllib.TOMLDecodeError, TypeError, ValueError) as e:
        raise ValueError(f"{path} : {what} ({e}) ; {fix}") from e


def _norm(text: str) -> str:
    """Lower case, every run of non-word characters (apostrophes, hyphens, dots…) one space,
    padded with a space at each end so that entries match whole words only."""
    return " " + " ".join(_SEP.split(text.lower())).strip() + " "


@lru_cache(maxsize=8)
def _by_first_word(lexicon: tuple[tuple[str, str], ...]
                   ) -> dict[str, tuple[tuple[str, str], ...]]:
    """The entries of a lexicon grouped by their first word (only those are tried on a text)."""
    out: dict[str, list[tuple[str, str]]] = {}
    for concept, entry in lexicon:
        out.setdefault(entry.split()[0], []).append((concept, entry))
    return {w: tuple(x) for w, x in out.items()}


def unit_concepts(*texts: str, lexicon: tuple[tuple[str, str], ...] | None = None
                  ) -> frozenset[str]:
    """The concepts of the lexicon (``trace_concepts.toml`` when None) named in any of
    ``texts`` (a unit's text, its lemmas, its words): an entry is found when its words
    appear in a row, as whole words."""
    if lexicon is None:
        return _shipped_concepts(texts)
    return _find_concepts(texts, _by_first_word(lexicon))


@lru_cache(maxsize=1 << 16)
def _shipped_concepts(texts: tuple[str, ...]) -> frozenset[str]:
    """:func:`unit_concepts` with the shipped lexicon (a unit's texts recur in many pairs)."""
    return _find_concepts(texts, _by_first_word(load_concepts()))


def clear_concept_cache() -> None:
    """Forget the concepts found per unit text (the runner calls it once tracing is done: the
    memory goes back before the later stages fork their children); the anchor weights are
    read again by the next run too, in case the file changed."""
    _shipped_concepts.cache_clear()
    load_anchor.cache_clear()


def _find_concepts(texts: tuple[str, ...], index: dict[str, tuple[tuple[str, str], ...]]
                   ) -> frozenset[str]:
    parts = [_norm(t) for t in texts if t]
    if not parts:
        return frozenset()
    joined = " | ".join(parts)
    found = set()
    for word in set(joined.split()):
        for concept, entry in index.get(word, ()):
            if concept not in found and entry in joined:
                found.add(concept)
    return frozenset(found)


def _concept_cos(a: list[frozenset], b: list[frozenset], weight: dict[str, float]
                 ) -> np.ndarray:
    """Weighted cosine of the concept sets of each (a, b) pair (0 when one has none)."""
    names = sorted(weight)
    if not names or not a or not b:
        return np.zeros((len(a), len(b)))
    col = {c: k for k, c in enumerate(names)}
    w = np.array([weight[c] for c in names])

    def matrix(sets: list[frozenset]) -> np.ndarray:
        m = np.zeros((len(sets), len(names)))
        for i, x in enumerate(sets):
            m[i, [col[c] for c in x]] = 1.0
        m *= w[None, :]
        norm = np.linalg.norm(m, axis=1, keepdims=True)
        return np.divide(m, norm, out=np.zeros_like(m), where=norm > 0)

    return np.clip(matrix(a) @ matrix(b).T, 0.0, 1.0)


def concept_signals(src: Side, dst: Side,
                    lexicon: tuple[tuple[str, str], ...] | None = None) -> dict[str, np.ndarray]:
    """The ``concepts`` signals (sources × targets): cosine of the concepts the two units
    name, of the promise's with the plan unit's objective (``parent_concepts``) and with its
    whole family (``family_concepts``: the objective and every unit under it). A concept
    counts more the fewer units of the two documents name it (weight 1 + ln((N+1)/(df+1))).
    ``lexicon``: (concept, normalised entry) pairs; the shipped one when None."""
    def sets(texts: list[str], lemmas: list[str], words: list[str]) -> list[frozenset]:
        return [unit_concepts(t, lem, w, lexicon=lexicon)
                for t, lem, w in zip(texts, lemmas, words, strict=True)]

    cs = sets(src.texts, src.lemmas, src.words)
    cd = sets(dst.texts, dst.lemmas, dst.words)
    cp = sets(dst.parent_texts, dst.parent_lemmas, dst.parent_words)
    df: dict[str, int] = {}
    for x in cs + cd:
        for c in x:
            df[c] = df.get(c, 0) + 1
    n = len(cs) + len(cd)
    weight = {c: 1.0 + math.log((n + 1) / (df.get(c, 0) + 1))
              for c in {c for x in cs + cd + cp for c in x}}
    families: dict[str, set] = {}
    for j, p in enumerate(dst.parent_ids):
        families.setdefault(p or f"#{j}", set()).update(cd[j] | cp[j])
    cf = [frozenset(families[p or f"#{j}"]) for j, p in enumerate(dst.parent_ids)]
    return {"concepts": _concept_cos(cs, cd, weight),
            "parent_concepts": _concept_cos(cs, cp, weight),
            "family_concepts": _concept_cos(cs, cf, weight)}


@dataclass
class Side:
    """The linkable units of one document, in text order: ids, kinds, texts, lemma strings,
    word strings (for vectors), the nearest parent's text and lemmas, theme sets."""

    doc_id: str
    unit_ids: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    lemmas: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    parent_texts: list[str] = field(default_factory=list)
    parent_lemmas: list[str] = field(default_factory=list)
    parent_words: list[str] = field(default_factory=list)
    parent_ids: list[str] = field(default_factory=list)
    top_lemmas: list[str] = field(default_factory=list)
    themes: list[frozenset] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.unit_ids)


def strs(values, missing: str = "") -> list[str]:
    """A column's values (a Series or an array) as Python strings, as
    ``values.fillna(missing).astype(str).tolist()`` writes them (a missing value becomes
    ``missing``), without pandas' conversion to a string array at each call."""
    out = []
    for v in values.tolist():
        if isinstance(v, str):
            out.append(v)
        elif pd.isna(v):
            out.append(missing)
        else:
            out.append(str(v))
    return out


def _words(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def build_side(doc_id: str, units: pd.DataFrame, lemmas: dict, tokens: dict,
               themes: dict, kinds: tuple[str, ...], leaves_only: bool) -> Side:
    """One document's linkable units.

    ``units``: that document's rows of units.csv (a DataFrame, or anything whose
    ``units["column"]`` gives the column's values); ``lemmas``/``tokens``: unit_id → the
    space-separated lemmas / tokens of unit_nlp (the unit's own words when missing);
    ``themes``: unit_id → set of themes; ``kinds``: the unit kinds kept; ``leaves_only``: an
    objective or group with an action or objective under it is left out (a plan's OO is a
    target only when it has no action)."""
    ids = strs(units["unit_id"])
    ukinds = strs(units["kind"])
    texts = strs(units["text"])
    parents = strs(units["parent_id"])
    at = {u: k for k, u in enumerate(ids)}
    has_child: set[str] = set()
    for p, k in zip(parents, ukinds, strict=True):
        if p and k in ("action", "objective", "group"):
            has_child.add(p)
    side = Side(doc_id=doc_id)
    for k, uid in enumerate(ids):
        kind = ukinds[k]
        if kind not in kinds or kind in NON_CONTENT_KINDS or not texts[k].strip():
            continue
        if leaves_only and kind in ("objective", "group") and uid in has_child:
            continue
        parent, seen = parents[k], set()
        ptext = top = ""
        while parent and parent in at and parent not in seen:
            seen.add(parent)
            j = at[parent]
            if ukinds[j] in PARENT_KINDS and texts[j].strip() and not ptext:
                ptext = parent
            if ukinds[j] in TOP_KINDS and texts[j].strip():
                top = parent
                break
            parent = parents[j]
        side.unit_ids.append(uid)
        side.kinds.append(kind)
        side.texts.append(texts[k])
        side.lemmas.append(lemmas.get(uid) or _words(texts[k]))
        side.words.append(tokens.get(uid) or _words(texts[k]))
        pt = texts[at[ptext]] if ptext else ""
        side.parent_texts.append(pt)
        side.parent_lemmas.append((lemmas.get(ptext) or _words(pt)) if ptext else "")
        side.parent_words.append((tokens.get(ptext) or _words(pt)) if ptext else "")
        side.parent_ids.append(ptext)
        side.top_lemmas.append((lemmas.get(top) or _words(texts[at[top]])) if top else "")
        side.themes.append(frozenset(themes.get(uid, ())))
    return side


def _analyzer(text: str) -> list[str]:
    toks = text.split()
    return toks + [f"{a} {b}" for a, b in zip(toks, toks[1:], strict=False)]


class _Rows:
    """Lemma TF-IDF (unigrams + bigrams, sublinear tf, smoothed idf, l2 rows: the numbers of
    scikit-learn's ``TfidfVectorizer(analyzer=_analyzer, sublinear_tf=True)``, computed here
    with numpy and scipy) fitted on ``fit_texts`` and the rows of ``texts``: each distinct
    text is analysed once (the fit texts are among the rows; a text repeated in ``fit_texts``
    counts as often in the document frequencies), and a feature no fit text has is left out,
    as a fitted vectorizer would transform them. ``idf``: unigram → inverse document
    frequency (None when no fit text has a word)."""

    def __init__(self, fit_texts: list[str], texts: list[str]):
        from collections import Counter

        from scipy.sparse import csr_matrix

        self.index: dict[str, int] = {}
        for t in (*texts, *fit_texts):
            self.index.setdefault(t, len(self.index))
        self.matrix = self.idf = None
        if not any(t.strip() for t in fit_texts):
            return
        feats: dict[str, int] = {}
        ids: list[int] = []
        counts: list[int] = []
        lengths: list[int] = []
        for t in self.index:
            c = Counter(_analyzer(t))
            ids += [feats.setdefault(f, len(feats)) for f in c]
            counts += c.values()
            lengths.append(len(c))
        ind = np.array(ids, dtype=np.int64)
        row = np.repeat(np.arange(len(lengths)), lengths)
        # document frequency over the fit texts (a repeated fit text counts each time)
        times = np.bincount([self.index[t] for t in fit_texts], minlength=len(lengths))
        df = np.bincount(ind, weights=times[row].astype(np.float64), minlength=len(feats))
        names = list(feats)
        kept = sorted((k for k in range(len(names)) if df[k] > 0), key=names.__getitem__)
        at = np.full(len(names), -1, dtype=np.int64)
        at[kept] = np.arange(len(kept))
        idf = np.full(len(kept), len(fit_texts) + 1.0) / (df[kept] + 1.0)
        np.log(idf, out=idf)
        idf += 1.0
        cols = at[ind]
        use = cols >= 0
        data = np.log(np.array(counts, dtype=np.float64)[use]) + 1.0
        cols, row = cols[use], row[use]
        data *= idf[cols]
        # the rows' entries by column, as scikit-learn leaves them; l2 norms summed in that order
        order = np.lexsort((cols, row))
        data, cols, row = data[order], cols[order], row[order]
        norm = np.sqrt(np.bincount(row, weights=data * data, minlength=len(lengths)))
        data /= norm[row]
        ptr = np.concatenate([[0], np.cumsum(np.bincount(row, minlength=len(lengths)))])
        self.matrix = csr_matrix((data, cols, ptr), shape=(len(lengths), len(kept)))
        self.idf = {names[k]: float(idf[at[k]]) for k in kept if " " not in names[k]}

    def cos(self, a: list[str], b: list[str]) -> np.ndarray:
        """len(a) × len(b) cosines (every text one of the rows)."""
        if self.matrix is None or not a or not b:
            return np.zeros((len(a), len(b)))
        ma = self.matrix[[self.index[t] for t in a]]
        mb = self.matrix[[self.index[t] for t in b]]
        return (ma @ mb.T).toarray()

    def cos_from(self, a: list[str]):
        """The cosines of ``a`` with every row, computed once: a function of ``b`` giving
        :meth:`cos` (a, b) (the same sums, in the same order)."""
        every = (self.matrix[[self.index[t] for t in a]] @ self.matrix.T).toarray() \
            if self.matrix is not None and a else None

        def cos(b: list[str]) -> np.ndarray:
            if every is None or not b:
                return np.zeros((len(a), len(b)))
            return every[:, [self.index[t] for t in b]]
        return cos


def _vcos(a: list[str], b: list[str], va: np.ndarray | None = None) -> np.ndarray:
    """Cosine of the mean word vectors of each (a, b) pair (``va``: those of ``a``, when
    already computed)."""
    from pipeline.classify.vectors import mean_vectors_batch

    va = mean_vectors_batch(a) if va is None else va
    vb = mean_vectors_batch(b)
    if va is None or vb is None or not a or not b:
        return np.zeros((len(a), len(b)))
    return np.clip(va @ vb.T, 0.0, 1.0)


class _WordSims:
    """Cosines of the word vectors of a vocabulary (1 on the diagonal: a word is its own best
    match even without a vector), computed once for all the texts of one pair of documents."""

    def __init__(self, texts: list[str]):
        from pipeline.classify.vectors import word_vectors

        self.vocab = sorted({w for t in texts for w in t.split()})
        self.index = {w: i for i, w in enumerate(self.vocab)}
        vec = word_vectors(self.vocab) if self.vocab else None
        self.sims = None
        if vec is not None:
            self.sims = np.clip(vec @ vec.T, 0.0, 1.0)
            np.fill_diagonal(self.sims, 1.0)


def _segments(texts: list[str], index: dict[str, int]
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows whose text has words, their distinct word indices concatenated, segment starts)"""
    sets = [np.array(sorted({index[w] for w in t.split()}), dtype=np.int64) for t in texts]
    rows = np.array([k for k, x in enumerate(sets) if len(x)], dtype=np.int64)
    cat = np.concatenate([sets[k] for k in rows]) if len(rows) else np.zeros(0, np.int64)
    lengths = np.array([len(sets[k]) for k in rows], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]) if len(rows) else lengths
    return rows, cat, starts


class _Aligner:
    """Soft word overlap of the texts ``a`` with any list of texts ``b`` whose words are in
    ``words``' vocabulary: the mean, over the words of one text, of the best cosine of their
    word vectors to a word of the other (the same word counts 1 even without a vector),
    averaged over both directions; 0 when a text has no word. With ``idf`` (word → inverse
    document frequency) the mean is weighted by it: the rare, specific words of a text count
    more than the ones every unit uses. What depends on ``a`` only (its words against the
    whole vocabulary) is computed once for every ``b``."""

    def __init__(self, a: list[str], idf: dict[str, float] | None, words: _WordSims):
        self.n, self.words = len(a), words
        self._segs: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self.ready = bool(words.vocab) and words.sims is not None
        if not self.ready:
            return
        default = max(idf.values()) if idf else 1.0
        self.weight = np.array([idf.get(w, default) if idf else 1.0 for w in words.vocab])
        self.ra, cat_a, self.st_a = _segments(a, words.index)
        self.ready = bool(len(self.ra))
        if not self.ready:
            return
        self.sims_a = words.sims[cat_a]  # every word of a × the vocabulary
        self.sims_t = np.ascontiguousarray(self.sims_a.T)  # the same, a row per vocabulary word
        self.best_a = np.maximum.reduceat(self.sims_a, self.st_a, axis=0)  # texts × vocabulary
        self.wa = self.weight[cat_a]
        self.wa_sum = np.add.reduceat(self.wa, self.st_a)

    def _segments(self, b: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:func:`_segments` of ``b``, once per list of texts (:meth:`best_words` then the
        overlaps read the same)."""
        key = tuple(b)
        if key not in self._segs:
            self._segs[key] = _segments(b, self.words.index)
        return self._segs[key]

    def best_words(self, b: list[str]) -> np.ndarray | None:
        """Words of a × texts of ``b``: each word's best cosine in the text (−inf when the
        text has no word); None when ``a`` has no word."""
        if not self.ready:
            return None
        out = np.full((self.sims_a.shape[0], len(b)), -np.inf)
        rb, cat_b, st_b = self._segments(b)
        if len(rb):
            out[:, rb] = self._best_in(cat_b, st_b)
        return out

    def _best_in(self, cat_b: np.ndarray, st_b: np.ndarray) -> np.ndarray:
        """Words of a × texts of b (segments ``st_b`` of the word indices ``cat_b``): each
        word's best cosine in the text (a maximum over contiguous rows: the same numbers as
        over the columns of ``sims_a``, faster)."""
        return np.maximum.reduceat(self.sims_t[cat_b], st_b, axis=0).T

    def __call__(self, b: list[str], best_words: np.ndarray | None = None) -> np.ndarray:
        """n × len(b) soft overlaps (``best_words``: :meth:`best_words` of ``b``, when already
        known)."""
        out = np.zeros((self.n, len(b)))
        if not self.ready or not b:
            return out
        rb, cat_b, st_b = self._segments(b)
        if not len(rb):
            return out
        best_in_b = self._best_in(cat_b, st_b) if best_words is None else best_words[:, rb]
        # a → b: each word of a[i], its best match in b[j], weighted mean over the words of a[i]
        a_to_b = np.add.reduceat(self.wa[:, None] * best_in_b, self.st_a, axis=0) \
            / self.wa_sum[:, None]
        # b → a: each word of b[j], its best match in a[i], weighted mean over the words of b[j]
        wb = self.weight[cat_b]
        b_to_a = np.add.reduceat(self.best_a[:, cat_b] * wb[None, :], st_b, axis=1) \
            / np.add.reduceat(wb, st_b)[None, :]
        out[np.ix_(self.ra, rb)] = (a_to_b + b_to_a) / 2
        return out


def _align(a: list[str], b: list[str], idf: dict[str, float] | None = None,
           words: _WordSims | None = None) -> np.ndarray:
    """:class:`_Aligner` of ``a`` against ``b`` (``words``: the cosines of a vocabulary holding
    every word of ``a`` and ``b``; computed when None)."""
    if not a or not b:
        return np.zeros((len(a), len(b)))
    return _Aligner(a, idf, _WordSims(a + b) if words is None else words)(b)


@dataclass
class PairScores:
    """Signals (name → sources × targets matrix) and the model's score matrix."""

    signals: dict[str, np.ndarray]
    score: np.ndarray


def theme_signal(src: Side, dst: Side) -> np.ndarray:
    """The ``themes`` signal: Jaccard of the two units' theme sets (sources × targets; 0 when
    one has no theme)."""
    n, m = len(src), len(dst)
    names = sorted({t for ts in (*src.themes, *dst.themes) for t in ts})
    if not n or not m or not names:
        return np.zeros((n, m))
    col = {t: k for k, t in enumerate(names)}

    def onehot(sets: list[frozenset]) -> np.ndarray:
        out = np.zeros((len(sets), len(names)))
        for i, ts in enumerate(sets):
            out[i, [col[t] for t in ts]] = 1.0
        return out

    a, b = onehot(src.themes), onehot(dst.themes)
    inter = a @ b.T  # small integers: exact in float64
    union = a.sum(axis=1)[:, None] + b.sum(axis=1)[None, :] - inter
    return np.divide(inter, union, out=np.zeros((n, m)), where=inter > 0)


def pair_signals(src: Side, dst: Side, text: dict[str, np.ndarray] | None = None,
                 anchor: Anchor | None = None) -> dict[str, np.ndarray]:
    """Every signal of ``SIGNALS`` for every (source, target) pair (sources × targets).
    ``text``: the signals of :func:`text_signals` for these two sides when already computed
    (they depend on the words only; the themes are read again); ``anchor``: the model of
    the ``anchor`` signal (declaration → plan; None: 0, for two declarations)."""
    text = text_signals(src, dst) if text is None else text
    return {**text, "themes": theme_signal(src, dst), "anchor": anchor_signal(src, dst, anchor)}


def text_signals(src: Side, dst: Side) -> dict[str, np.ndarray]:
    """Every signal but ``themes`` and ``anchor``: what the words, word vectors, tree and order
    of the two documents give (the same for the same two documents whatever their themes)."""
    n, m = len(src), len(dst)
    if n == 0 or m == 0:
        return {s: np.zeros((n, m)) for s in SIGNALS if s not in ("themes", "anchor")}
    tops_s = [t or "" for t in src.top_lemmas]
    tops_d = [t or "" for t in dst.top_lemmas]
    families: dict[str, list[int]] = {}
    for j, p in enumerate(dst.parent_ids):
        families.setdefault(p or f"#{j}", []).append(j)
    keys = list(families)
    fam_lemmas = [" ".join(([dst.parent_lemmas[families[k][0]]] if not k.startswith("#") else [])
                           + [dst.lemmas[j] for j in families[k]]) for k in keys]
    rows = _Rows(src.lemmas + dst.lemmas + [p for p in dst.parent_lemmas if p]
                 + [p for p in src.top_lemmas + dst.top_lemmas if p],
                 src.lemmas + dst.lemmas + dst.parent_lemmas + fam_lemmas + tops_s + tops_d)
    from_src = rows.cos_from(src.lemmas)
    tfidf = from_src(dst.lemmas)
    from pipeline.classify.vectors import mean_vectors_batch

    src_vectors = mean_vectors_batch(src.words)
    vector = _vcos(src.words, dst.words, src_vectors)
    idf = rows.idf
    words = _WordSims(src.lemmas + dst.lemmas + dst.parent_lemmas)
    aligner = _Aligner(src.lemmas, idf, words)
    unit_words = aligner.best_words(dst.lemmas)
    align = aligner(dst.lemmas, unit_words)
    # the parent signals, computed once per objective (its actions share it) then spread
    first: dict[str, int] = {}
    for j, p in enumerate(dst.parent_ids):
        first.setdefault(p, j)
    uniq = list(first.values())
    rank = {p: k for k, p in enumerate(first)}
    spread = np.array([rank[p] for p in dst.parent_ids], dtype=np.int64)
    u_lemmas = [dst.parent_lemmas[j] for j in uniq]
    parent_tfidf = from_src(u_lemmas)[:, spread]
    parent_vector = _vcos(src.words, [dst.parent_words[j] for j in uniq], src_vectors)[:, spread]
    has_parent = np.array([bool(p) for p in dst.parent_lemmas])[None, :]
    parent_tfidf = np.where(has_parent, parent_tfidf, 0.0)
    parent_vector = np.where(has_parent, parent_vector, 0.0)
    parent_words = aligner.best_words(u_lemmas)
    parent_align = aligner(u_lemmas, parent_words)[:, spread]
    # the plan objective (OO) closest to the promise: every action under it is a candidate
    parent_score = parent_tfidf + parent_align
    parent_best = np.zeros((n, m))
    for i in range(n):
        j = int(np.argmax(parent_score[i]))
        if parent_tfidf[i, j] > 0:
            best_parent = dst.parent_ids[j]
            parent_best[i] = [1.0 if p == best_parent and p else 0.0 for p in dst.parent_ids]
    # an objective's "family": its text and every action under it, matched as one text
    fam_t = from_src(fam_lemmas)
    # a family's words are its objective's and its actions': a word's best match in the
    # family is the best of its best matches in each of them
    fam_words = None
    if unit_words is not None:
        fam_words = np.full((unit_words.shape[0], len(keys)), -np.inf)
        for f, k in enumerate(keys):
            cols = unit_words[:, families[k]]
            if not k.startswith("#"):
                cols = np.column_stack([cols, parent_words[:, rank[k]]])
            fam_words[:, f] = cols.max(axis=1)
    fam_a = aligner(fam_lemmas, fam_words)
    col = np.zeros(m, dtype=np.int64)
    for f, k in enumerate(keys):
        col[families[k]] = f
    family_tfidf, family_align = fam_t[:, col], fam_a[:, col]
    fam_best = (fam_t + fam_a).argmax(axis=1) if len(keys) else np.zeros(n, dtype=np.int64)
    family_best = (col[None, :] == fam_best[:, None]).astype(np.float64)
    # the promise the objective's family is closest to ("this OO was written for it")
    fam_rev = (fam_t + fam_a).argmax(axis=0) if n else np.zeros(len(keys), dtype=np.int64)
    family_reverse_best = (np.arange(n)[:, None] == fam_rev[col][None, :]).astype(np.float64)
    axis = rows.cos(tops_s, tops_d)
    concepts = concept_signals(src, dst)
    # how close a pair is, for the "best" and "gap" signals: words, then concepts (half
    # weight, the objective's at a quarter: a concept is broader than a shared word)
    combined = (tfidf + align + 0.5 * parent_tfidf + 0.5 * concepts["concepts"]
                + 0.25 * concepts["parent_concepts"])
    best_j = combined.argmax(axis=1)
    best_i = combined.argmax(axis=0)
    best = np.zeros((n, m))
    best[np.arange(n), best_j] = 1.0
    mutual = np.zeros((n, m))
    for i, j in enumerate(best_j):
        if best_i[j] == i:
            mutual[i, j] = 1.0
    gap = combined.max(axis=1, keepdims=True) - combined
    # the plan unit's side: is this promise the one it is closest to?
    reverse_best = np.zeros((n, m))
    reverse_best[best_i, np.arange(m)] = 1.0
    reverse_gap = combined.max(axis=0, keepdims=True) - combined
    # plans follow their declaration's order more often than not: 1 - distance of the two
    # units' relative positions in their documents
    pos_s = np.arange(n) / max(n - 1, 1)
    pos_d = np.arange(m) / max(m - 1, 1)
    order = 1.0 - np.abs(pos_s[:, None] - pos_d[None, :])
    return {**concepts, "order": order, "tfidf": tfidf, "vector": vector, "align": align,
            "parent_tfidf": parent_tfidf,
            "parent_vector": parent_vector, "parent_align": parent_align,
            "family_tfidf": family_tfidf, "family_align": family_align,
            "family_best": family_best, "parent_best": parent_best, "axis": axis,
            "best": best, "mutual": mutual, "gap": gap,
            "reverse_best": reverse_best, "reverse_gap": reverse_gap,
            "family_reverse_best": family_reverse_best}


def score_pairs(src: Side, dst: Side, mdl: Model,
                text: dict[str, np.ndarray] | None = None,
                anchor: Anchor | None = None) -> PairScores:
    """:func:`pair_signals` (``text``: its theme-free part, when already computed;
    ``anchor``: the anchor model, None for two declarations) and the model's score of each
    pair."""
    sig = pair_signals(src, dst, text, anchor)
    if not len(src) or not len(dst):
        return PairScores(sig, np.zeros((len(src), len(dst))))
    return PairScores(sig, mdl.score(sig))


def select_links(scores: np.ndarray, mdl: Model) -> list[list[int]]:
    """Per source row, the target columns that are links: score ≥ threshold, best first,
    at most ``max_links`` (ties broken by column, so the result is deterministic)."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2:
        raise ValueError(f"select_links : une matrice promesses × unités attendue, "
                         f"pas un tableau de forme {scores.shape}")
    out = []
    cols = np.arange(scores.shape[1])
    for row in scores:
        order = np.lexsort((cols, -row))[:mdl.max_links]  # best first, ties by column
        out.append([int(j) for j in order if row[j] >= mdl.threshold])
    return out


def shared_lemmas(a: str, b: str, limit: int) -> list[str]:
    """Lemmas of ``a`` also in ``b`` (order of ``a``, each once, at most ``limit``)."""
    bs = set(b.split())
    seen: list[str] = []
    for w in a.split():
        if w in bs and w not in seen:
            seen.append(w)
    return seen[:limit]


def fmt(x: float) -> str:
    """A score as a French decimal with two digits ("0,83")."""
    return f"{x:.2f}".replace(".", ",") if not math.isnan(x) else ""
