"""Gold links for the tracing stage: reading them, finding their units, scoring a run against
them, and fitting the weights of ``pipeline/data/trace.toml``.

Gold files (in the folder of the documents they describe, written before any run):

``gold_links.csv``
    ``commune, dps_file, dps_quote, pst_file, pst_quote, kind, note``: one row per (promise,
    plan unit that carries it out) with ``kind`` ``same`` or ``reworded``; one row per
    promise no plan unit carries out (``kind`` ``none``, plan fields empty); ``decoy`` rows
    name a plan unit sharing words but not intent (not a link). A quote is an exact piece of
    one line of the document (whitespace, hyphen breaks and apostrophes are normalised).
``gold_versions.csv``
    ``commune, old_file, old_quote, new_file, new_quote, status`` (``kept``, ``reworded``,
    ``dropped``, ``new``).

Everything here is a pure function of DataFrames (the units of an analysed folder).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.classify.annotations import normalise_text
from pipeline.trace.link import (
    SIGNALS,
    Anchor,
    Model,
    Trees,
    load_anchor,
    pair_signals,
    select_links,
)
from pipeline.trace.tables import _Corpus

LINK_KINDS = ("same", "reworded")
#: the anchor model's lemmas: used by the units of at least this many plans; its L2 strength
ANCHOR_MIN_PLANS = 3
ANCHOR_C = 0.3
#: the boosted trees of the declaration → plan links (scikit-learn's
#: HistGradientBoostingClassifier; early stopping on 10 % of the rows, seeded)
TREE_PARAMS = dict(max_iter=300, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=40,
                   l2_regularization=1.0, random_state=0)
#: the logistic score from which a pair is a candidate the trees score
TREE_FLOOR = 0.01
_HYPHEN_BREAK = re.compile(r"(?<=\w)-\s+(?=\w)")


def normalise(text: str) -> str:
    """A text as quotes are matched: the annotations' matching key
    (``classify.annotations.normalise_text``: NFKC, plain apostrophes, single spaces, lower
    case, no leading label or trailing punctuation) with hyphen breaks joined ("toutes- boîtes")
    and case folded ("ß" = "ss")."""
    return normalise_text(_HYPHEN_BREAK.sub("-", str(text))).casefold()


def read_gold(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(gold_links, gold_versions)`` of ``folder`` (empty frames when a file is missing)."""
    def read(name: str) -> pd.DataFrame:
        p = Path(folder) / name
        return pd.read_csv(p, dtype=str, keep_default_na=False) if p.is_file() else pd.DataFrame()
    return read("gold_links.csv"), read("gold_versions.csv")


@dataclass
class QuoteIndex:
    """Finds the unit of a document holding a quote."""

    units: pd.DataFrame
    documents: pd.DataFrame
    missing: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.doc_of_file = {}
        for d, f in zip(self.documents["doc_id"], self.documents["source_file"], strict=True):
            self.doc_of_file[str(f)] = str(d)
            self.doc_of_file[Path(str(f)).stem] = str(d)
        self.by_doc = {d: list(zip(g["unit_id"].astype(str), g["kind"].astype(str),
                                   [normalise(t) for t in g["text"].fillna("").astype(str)],
                                   strict=True))
                       for d, g in self.units.groupby("doc_id", sort=False)}

    def doc(self, file: str) -> str:
        return self.doc_of_file.get(file) or self.doc_of_file.get(Path(file).stem, "")

    def unit(self, file: str, quote: str, prefer: tuple[str, ...]) -> str:
        """unit_id of the unit of ``file`` whose text holds ``quote`` ("" when none; noted in
        ``missing``); among several, the first of a kind in ``prefer``."""
        doc = self.doc(file)
        q = normalise(quote)
        found = [(u, k) for u, k, t in self.by_doc.get(doc, []) if q and q in t]
        if not found:
            self.missing.append(f"{file} : « {quote} » introuvable")
            return ""
        for u, k in found:
            if k in prefer:
                return u
        return found[0][0]


PROMISE_KINDS = ("objective", "action", "statement", "group")
PLAN_KINDS = ("action", "objective", "group", "statement")


def gold_links(links: pd.DataFrame, index: QuoteIndex) -> pd.DataFrame:
    """gold_links.csv → ``dps_doc, dps_unit, pst_doc, pst_unit, kind, commune`` (units found)."""
    rows = []
    for r in links.to_dict("records"):
        dps = index.doc(r["dps_file"])
        du = index.unit(r["dps_file"], r["dps_quote"], PROMISE_KINDS)
        pst = index.doc(r["pst_file"]) if r.get("pst_file") else ""
        pu = index.unit(r["pst_file"], r["pst_quote"], PLAN_KINDS) if r.get("pst_quote") else ""
        rows.append({"commune": r.get("commune", ""), "dps_doc": dps, "dps_unit": du,
                     "pst_doc": pst, "pst_unit": pu, "kind": r.get("kind", "")})
    return pd.DataFrame(rows, columns=["commune", "dps_doc", "dps_unit", "pst_doc", "pst_unit",
                                       "kind"])


@dataclass
class Scores:
    """Link precision / recall / F1 with their counts."""

    tp: int
    n_pred: int
    n_gold: int

    @property
    def precision(self) -> float:
        return self.tp / self.n_pred if self.n_pred else float("nan")

    @property
    def recall(self) -> float:
        return self.tp / self.n_gold if self.n_gold else float("nan")

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r > 0 else 0.0


def score_links(pred: set[tuple], gold: set[tuple], promises: set[tuple]) -> Scores:
    """``pred``/``gold``: sets of (dps_doc, dps_unit, pst_doc, pst_unit); predictions are
    counted for the promises of the gold file only (``promises``: (dps_doc, dps_unit))."""
    pred = {p for p in pred if (p[0], p[1]) in promises}
    return Scores(len(pred & gold), len(pred), len(gold))


@dataclass
class PairData:
    """Signals and gold labels of every (promise, plan unit) pair of one (declaration, plan)."""

    dps: str
    pst: str
    src_ids: list[str]
    dst_ids: list[str]
    signals: dict[str, np.ndarray]
    labels: np.ndarray  # 1 link, 0 not, -1 promise not in the gold file
    promises: np.ndarray  # bool per source row: in the gold file
    dst_lemmas: list[str] = field(default_factory=list)  # the targets' lemmas (anchor fits)

    def with_anchor(self, anchor: Anchor | None) -> PairData:
        """The same pair with its ``anchor`` signal computed by ``anchor``."""
        n, m = self.labels.shape
        sig = dict(self.signals)
        sig["anchor"] = (anchor.signal(n, self.dst_lemmas) if anchor is not None
                         else np.zeros((n, m)))
        return replace(self, signals=sig)

    def anchored(self) -> np.ndarray:
        """Per target: 1 when the gold file links some promise to it."""
        return (self.labels == 1).any(axis=0).astype(int)


def pair_data(units, nlp, unit_themes, pairs: list[tuple[str, str]], gold: pd.DataFrame,
              kinds: dict, versions: bool = False) -> list[PairData]:
    """For each (source doc, target doc): the signals of all unit pairs and their gold label.
    ``gold``: rows (src_doc, src_unit, dst_doc, dst_unit, is_link) as a DataFrame with those
    columns."""
    c = _Corpus(units, nlp, unit_themes)
    out = []
    for a, b in pairs:
        src = c.side(a, kinds["source_kinds"], leaves_only=False)
        dst = c.side(b, kinds["source_kinds"] if versions else kinds["target_kinds"],
                     leaves_only=not versions)
        sig = pair_signals(src, dst, anchor=None if versions else load_anchor())
        g = gold[(gold["src_doc"] == a) & (gold["dst_doc"] == b)]
        promised = set(g["src_unit"])
        linked = {(s, t) for s, t, ok in zip(g["src_unit"], g["dst_unit"], g["is_link"],
                                             strict=True) if ok}
        labels = np.array([[1 if (s, t) in linked else (0 if s in promised else -1)
                            for t in dst.unit_ids] for s in src.unit_ids]).reshape(len(src), len(dst))
        out.append(PairData(a, b, src.unit_ids, dst.unit_ids, sig, labels,
                            np.array([s in promised for s in src.unit_ids], dtype=bool),
                            list(dst.lemmas)))
    return out


def fit_anchor(data: list[PairData], *, min_plans: int = ANCHOR_MIN_PLANS,
               C: float = ANCHOR_C) -> Anchor | None:
    """The anchor model fitted on the plan units of the annotated pairs of ``data``: a
    logistic regression (scikit-learn) of "the gold links some promise to this unit" on the
    unit's distinct lemmas, a lemma counting only when the units of at least ``min_plans``
    plans use it (no commune or street name). None when there is nothing to learn from."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    data = [d for d in data if d.promises.any() and d.dst_lemmas]
    if not data:
        return None
    seen: dict[str, set[str]] = {}
    for d in data:
        for w in {w for t in d.dst_lemmas for w in t.split()}:
            seen.setdefault(w, set()).add(d.pst)
    vocab = sorted(w for w, plans in seen.items() if len(plans) >= min_plans)
    y = np.concatenate([d.anchored() for d in data])
    if not vocab or len(set(y.tolist())) < 2:
        return None
    cv = CountVectorizer(binary=True, vocabulary=vocab, token_pattern=r"\S+", lowercase=False)
    m = cv.fit_transform([t for d in data for t in d.dst_lemmas])
    lr = LogisticRegression(C=C, max_iter=3000).fit(m, y)
    return Anchor(float(lr.intercept_[0]),
                  {w: round(float(c), 3) for w, c in zip(vocab, lr.coef_[0], strict=True)
                   if abs(c) >= 0.001})


def out_of_fold_anchor(data: list[PairData]) -> list[PairData]:
    """Each pair with the anchor signal of a model fitted without its plan (every pair with
    the same ``pst`` left out: its plan's units are judged by what the other plans taught,
    as on a new plan)."""
    return [d.with_anchor(fit_anchor([e for e in data if e.pst != d.pst])) for d in data]


def features(data: list[PairData]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X, y, group) over the labelled pairs (group = index of the document pair)."""
    xs, ys, gs = [], [], []
    for k, d in enumerate(data):
        mask = d.labels >= 0
        if not mask.any():
            continue
        xs.append(np.column_stack([d.signals[s][mask] for s in SIGNALS]))
        ys.append(d.labels[mask])
        gs.append(np.full(int(mask.sum()), k))
    if not xs:
        return np.zeros((0, len(SIGNALS))), np.zeros(0), np.zeros(0)
    return np.vstack(xs), np.concatenate(ys), np.concatenate(gs)


def fit_model(X: np.ndarray, y: np.ndarray, *, C: float = 1.0) -> tuple[float, dict[str, float]]:
    """Logistic regression (scikit-learn, lbfgs) → (intercept, weights per signal)."""
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=C, max_iter=2000)
    lr.fit(X, y)
    return float(lr.intercept_[0]), {s: float(w) for s, w in zip(SIGNALS, lr.coef_[0], strict=True)}


def fit_trees(X: np.ndarray, y: np.ndarray) -> Trees:
    """Boosted trees (scikit-learn's HistGradientBoostingClassifier, ``TREE_PARAMS``) on the
    signals ``X`` (columns in ``SIGNALS`` order) → :class:`Trees`, read without scikit-learn."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    hgb = HistGradientBoostingClassifier(**TREE_PARAMS).fit(X, y)
    parts = [p.nodes for (p,) in hgb._predictors]  # one tree per iteration (two classes)
    offsets = np.cumsum([0] + [len(n) for n in parts[:-1]]).astype(np.int64)
    leaf = np.concatenate([n["is_leaf"] for n in parts]).astype(bool)
    own = np.arange(len(leaf))
    left = np.concatenate([n["left"].astype(np.int64) + o for n, o in zip(parts, offsets,
                                                                            strict=True)])
    right = np.concatenate([n["right"].astype(np.int64) + o for n, o in zip(parts, offsets,
                                                                              strict=True)])
    feature = np.concatenate([n["feature_idx"] for n in parts]).astype(np.int64)
    threshold = np.concatenate([n["num_threshold"] for n in parts]).astype(np.float64)
    value = np.concatenate([n["value"] for n in parts]).astype(np.float64)
    left[leaf], right[leaf], feature[leaf], threshold[leaf] = own[leaf], own[leaf], 0, 0.0
    value[~leaf] = 0.0
    depth = int(max(n["depth"].max() for n in parts))
    return Trees(float(np.ravel(hgb._baseline_prediction)[0]), feature, threshold, left, right,
                 value, offsets, depth)


def predict(data: list[PairData], mdl: Model) -> set[tuple]:
    """Links the model keeps in each pair → set of (src_doc, src_unit, dst_doc, dst_unit)."""
    out = set()
    for d in data:
        if not len(d.src_ids) or not len(d.dst_ids):
            continue
        scores = mdl.score(d.signals)
        for i, js in enumerate(select_links(scores, mdl)):
            out |= {(d.dps, d.src_ids[i], d.pst, d.dst_ids[j]) for j in js}
    return out


def baseline(data: list[PairData], cosine: float) -> set[tuple]:
    """Each promise to its best plan unit by TF-IDF cosine, when that cosine ≥ ``cosine``."""
    out = set()
    for d in data:
        if not len(d.src_ids) or not len(d.dst_ids):
            continue
        t = d.signals["tfidf"]
        for i in range(len(d.src_ids)):
            j = int(np.argmax(t[i]))
            if t[i, j] >= cosine:
                out.add((d.dps, d.src_ids[i], d.pst, d.dst_ids[j]))
    return out


def gold_sets(data: list[PairData]) -> tuple[set[tuple], set[tuple]]:
    """(gold links, promises of the gold files) of ``data``."""
    links, promises = set(), set()
    for d in data:
        for i, s in enumerate(d.src_ids):
            if d.promises[i]:
                promises.add((d.dps, s))
            for j in np.flatnonzero(d.labels[i] == 1):
                links.add((d.dps, s, d.pst, d.dst_ids[j]))
    return links, promises


def cross_validate(data: list[PairData], thresholds: list[float], max_links: int,
                   kept_min: float = 0.7, C: float = 1.0, anchor: bool = False,
                   trees: bool = False) -> dict[float, Scores]:
    """Leave-one-plan-out (one CPAS at a time: the pairs whose target is that plan, or that
    next declaration, are held together): fit on the other pairs, predict the held ones at
    every threshold; scores pooled over the held pairs. ``anchor``: the anchor model is
    refitted in each fold too (the held plan judged by the other plans; each training pair's
    by the training plans but its own), so no gold link of the held plan reaches its own
    prediction; without it the anchor signal is 0 (the shipped weights read every plan).
    ``trees``: the model is the cascade of :class:`Model` (logistic candidates, boosted trees
    fitted in each fold on the same rows score them)."""
    pooled = {t: Scores(0, 0, 0) for t in thresholds}
    for target in dict.fromkeys(d.pst for d in data):
        train = [d for d in data if d.pst != target]
        held = [d for d in data if d.pst == target]
        if anchor:
            model_ = fit_anchor(train)
            held = [d.with_anchor(model_) for d in held]
            train = out_of_fold_anchor(train)
        else:
            held = [d.with_anchor(None) for d in held]
            train = [d.with_anchor(None) for d in train]
        X, y, _ = features(train)
        if len(set(y.tolist())) < 2:
            continue
        b, w = fit_model(X, y, C=C)
        tr = fit_trees(X, y) if trees else None
        gold, promises = gold_sets(held)
        for t in thresholds:
            pred = predict(held, Model(b, w, t, max_links, kept_min, tr,
                                       TREE_FLOOR if trees else 0.0))
            s = score_links(pred, gold, promises)
            p = pooled[t]
            pooled[t] = Scores(p.tp + s.tp, p.n_pred + s.n_pred, p.n_gold + s.n_gold)
    return pooled
