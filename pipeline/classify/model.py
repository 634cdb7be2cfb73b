"""Theme classifier: vocabulary + scikit-learn model + context, combined per theme.

Evidence sources (each named in ``unit_themes.sources``):

* ``vocabulary``: codebook terms found in the unit (strength ``1 - 0.5**n_terms``);
* ``model``: one logistic regression per theme (one-vs-rest) on TF-IDF of the unit lemmas
  (uni- and bigrams), TF-IDF of its ancestors' lemmas (prefixed ``ctx:``) and the vocabulary
  hit counts; trained on the human annotations. Its probability is the base score;
* ``context``: codebook terms found in the ancestor section/axis/group/objective titles.

Base score of a theme = ``1 - (1 - p_model)(1 - VOCAB_WEIGHT·v)(1 - CONTEXT_WEIGHT·c)``; for a
theme with too few training examples to have a classifier, ``1 - (1 - v')(1 - CONTEXT_WEIGHT·c)``
with ``v' = 1 - 0.5**(n_terms + 1)`` (one term → 0.75).

Final score (COMBINER "stack", used when the training data span ≥ 3 documents and hold ≥
STACK_MIN_LABELS labels): a second-level logistic regression over STACK_FEATURES of each
(unit, theme) pair — base score, gap to the unit's best theme, whether it is the best, number of
themes with vocabulary hits in the unit, model logit, vocabulary and context evidence — fitted
on leave-one-document-out predictions inside the training data; its decision threshold is the
best micro-F1 one on those same out-of-fold pairs. Otherwise the base score is the final score
and the weights and threshold come from an inner leave-one-document-out grid (one classifier
fit per inner fold). A unit gets every theme whose score reaches the threshold (per theme when
``theme_thresholds`` is set; plus its best theme above ``top_threshold`` when set). Human labels
override everything (source ``human``, score 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from pipeline.classify.annotations import match_annotations, split_themes
from pipeline.classify.vocabulary import VocabularyMatcher, build_matcher, vocabulary_score
from pipeline.models import NON_CONTENT_KINDS

CONTEXT_KINDS = ("section", "axis", "group", "objective")
VOCAB_WEIGHT = 0.6
CONTEXT_WEIGHT = 0.35
MIN_POSITIVES = 5  # default: fewer positive examples → no classifier, the vocabulary decides
MIN_POSITIVES_GRID = (2, 5)
DEFAULT_THRESHOLD = 0.5
THRESHOLD_GRID = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7)
WEIGHT_GRID = ((0.6, 0.35), (0.6, 0.0), (0.3, 0.2), (0.0, 0.0))  # (vocabulary, context)
#: top-1 guarantee: the best theme of a unit is kept when it scores ≥ this, even below the
#: threshold (None = no guarantee). The threshold then applies to the other themes.
TOP_GRID = (None,)
#: "stack": the final score of a (unit, theme) pair is a second-level logistic regression on
#: the evidence (model probability, vocabulary, context, rank of the theme in the unit…),
#: fitted on inner leave-one-document-out predictions; "product": the noisy-or of the grid.
COMBINER = "stack"
STACK_MIN_LABELS = 30  # fewer human labels → too little to fit the second level: "product"
STACK_C = 1.0  # regularisation of the second-level regression (fixed a priori)
STACK_THRESHOLDS = tuple(round(0.2 + 0.05 * k, 2) for k in range(11))  # 0.2 … 0.7
STACK_FEATURES = ("base", "gap_to_best", "is_best", "n_vocab_themes", "logit_p", "trained",
                  "vocab", "vocab_untrained", "context", "vocab_trained")
#: per-theme thresholds: each theme's F1-best threshold on the inner out-of-fold scores, shrunk
#: towards the global one with weight n_positives / (n_positives + THEME_SHRINK) (None = off)
THEME_SHRINK: float | None = None
VECTOR_WEIGHT = 0.0  # weight of the mean word-vector block in the model features (0 = unused)
SOLVER = "newton-cg"  # same objective as lbfgs, ≈5× faster here (lbfgs pays per-iteration overhead)
CANDIDATE_MIN = 0.1
FRAME_COLUMNS = ["doc_id", "unit_id", "kind", "text", "lemmas", "tokens", "context",
                 "context_tokens", "context_text"]
UNIT_THEME_COLUMNS = ["doc_id", "unit_id", "theme", "score", "sources", "evidence"]


# --------------------------------------------------------------------------- frame


def prepare(units: pd.DataFrame, nlp: pd.DataFrame) -> pd.DataFrame:
    """One row per content unit, ready for the classifier.

    ``units``: the units table (doc_id, unit_id, parent_id, kind, text, …); ``nlp``: one row per
    lemmatised unit (doc_id, unit_id, lemmas, tokens, optionally ``vector``). Returns
    ``doc_id, unit_id, kind, text, lemmas, tokens, context, context_tokens, context_text`` (+
    ``vector`` when ``nlp`` has it: the unit's mean word vector, None when missing) where
    ``context`` holds the lemmas of the ancestor section/axis/group/objective titles (nearest
    last) and ``context_text`` their raw texts joined by " | ". Non-content kinds are dropped;
    missing lemmas are "".
    """
    has_vec = "vector" in nlp.columns
    columns = FRAME_COLUMNS + (["vector"] if has_vec else [])
    if len(units) == 0:
        return pd.DataFrame(columns=columns)
    u = units.copy()
    for col in ("parent_id", "text", "kind"):
        if col not in u.columns:
            u[col] = ""
        u[col] = u[col].fillna("").astype(str)
    ncols = ["doc_id", "unit_id", "lemmas", "tokens"] + (["vector"] if has_vec else [])
    n = nlp[ncols] if len(nlp) else pd.DataFrame(columns=ncols)
    u = u.merge(n, on=["doc_id", "unit_id"], how="left")
    u["lemmas"] = u["lemmas"].fillna("").astype(str)
    u["tokens"] = u["tokens"].fillna("").astype(str)
    # plain lists: iterating Arrow-backed columns row by row is slow (pandas 3)
    col = {c: u[c].tolist() for c in ("doc_id", "unit_id", "parent_id", "kind", "text",
                                      "lemmas", "tokens")}
    vectors = u["vector"].tolist() if has_vec else None
    index = {(d, i): k for k, (d, i) in enumerate(zip(col["doc_id"], col["unit_id"],
                                                       strict=True))}
    kinds, parents = col["kind"], col["parent_id"]
    rows = []
    for k, (doc_id, kind) in enumerate(zip(col["doc_id"], kinds, strict=True)):
        if kind in NON_CONTENT_KINDS:
            continue
        ctx_l, ctx_t, ctx_x = [], [], []
        parent, seen = parents[k], set()
        while parent and (doc_id, parent) in index and parent not in seen:
            seen.add(parent)
            p = index[(doc_id, parent)]
            if kinds[p] in CONTEXT_KINDS:
                ctx_l.insert(0, col["lemmas"][p])
                ctx_t.insert(0, col["tokens"][p])
                ctx_x.insert(0, col["text"][p])
            parent = parents[p]
        row = {"doc_id": doc_id, "unit_id": col["unit_id"][k], "kind": kind,
               "text": col["text"][k], "lemmas": col["lemmas"][k], "tokens": col["tokens"][k],
               "context": " ".join(x for x in ctx_l if x),
               "context_tokens": " ".join(x for x in ctx_t if x),
               "context_text": " | ".join(x for x in ctx_x if x)}
        if has_vec:
            v = vectors[k]
            row["vector"] = v if isinstance(v, (np.ndarray, list)) else None
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def _col(frame: pd.DataFrame, name: str) -> list[str]:
    if name not in frame.columns:
        return [""] * len(frame)
    return frame[name].fillna("").astype(str).tolist()


def _vectors(frame: pd.DataFrame) -> np.ndarray | None:
    """L2-normalised mean word vectors of the rows (n × width; zero rows where missing), or
    None when the frame has no usable ``vector`` column."""
    if "vector" not in frame.columns or len(frame) == 0:
        return None
    vals = [v for v in frame["vector"] if isinstance(v, (np.ndarray, list)) and len(v)]
    if not vals:
        return None
    width = len(vals[0])
    out = np.zeros((len(frame), width), dtype=np.float64)
    for i, v in enumerate(frame["vector"]):
        if isinstance(v, (np.ndarray, list)) and len(v) == width:
            a = np.asarray(v, dtype=np.float64)
            norm = np.linalg.norm(a)
            if norm > 0:
                out[i] = a / norm
    return out


# --------------------------------------------------------------------------- model


@dataclass
class ThemeModel:
    """Trained classifier (picklable). ``classifiers[theme]`` is None when the training data had
    fewer than ``min_positives`` positive units for it (vocabulary and context only).
    ``top_threshold``: see TOP_GRID; ``vector_weight`` > 0 when the features include the mean
    word vectors (``vector_width`` wide)."""

    theme_ids: list[str]
    matcher: VocabularyMatcher
    vectorizer: object | None = None
    ctx_vectorizer: object | None = None
    classifiers: dict[str, object] = field(default_factory=dict)
    threshold: float = DEFAULT_THRESHOLD
    min_positives: int = MIN_POSITIVES
    vocab_weight: float = VOCAB_WEIGHT
    context_weight: float = CONTEXT_WEIGHT
    n_train: int = 0
    inner_scores: dict[tuple, float] = field(default_factory=dict)
    top_threshold: float | None = None
    theme_thresholds: dict[str, float] = field(default_factory=dict)
    stacker: object | None = None
    vector_weight: float = 0.0
    vector_width: int = 0


def _vocab_hits(frame: pd.DataFrame, matcher: VocabularyMatcher):
    """Vocabulary hits of each unit and of its ancestors' titles (each distinct input once:
    siblings share their context, templates repeat sentences)."""
    memo: dict[tuple[str, str, str], dict] = {}

    def hits(cols):
        out = []
        for key in zip(*(_col(frame, c) for c in cols), strict=True):
            if key not in memo:
                memo[key] = matcher.match(*key)
            out.append(memo[key])
        return out

    return hits(("lemmas", "tokens", "text")), hits(("context", "context_tokens", "context_text"))


@dataclass
class _Pre:
    """Everything about a frame that does not depend on the training split (computed once)."""

    lemmas: list[str]
    context: list[str]
    unit_hits: list[dict]
    ctx_hits: list[dict]
    n_terms: np.ndarray  # n × T: distinct codebook terms of the theme in the unit
    ctx_hit: np.ndarray  # n × T: 1 when a term of the theme is in the ancestors' titles
    vectors: np.ndarray | None

    def take(self, idx) -> _Pre:
        idx = list(idx)
        return _Pre([self.lemmas[i] for i in idx], [self.context[i] for i in idx],
                    [self.unit_hits[i] for i in idx], [self.ctx_hits[i] for i in idx],
                    self.n_terms[idx], self.ctx_hit[idx],
                    None if self.vectors is None else self.vectors[idx])


def _precompute(frame: pd.DataFrame, matcher: VocabularyMatcher, ids: list[str]) -> _Pre:
    unit_hits, ctx_hits = _vocab_hits(frame, matcher)
    n_terms = np.array([[len(h.get(t, [])) for t in ids] for h in unit_hits],
                       dtype=float).reshape(len(frame), len(ids))
    ctx_hit = np.array([[1.0 if t in h else 0.0 for t in ids] for h in ctx_hits],
                       dtype=float).reshape(len(frame), len(ids))
    return _Pre(_col(frame, "lemmas"), _col(frame, "context"), unit_hits, ctx_hits, n_terms,
                ctx_hit, _vectors(frame))


def _features(model: ThemeModel, pre: _Pre):
    X_text = model.vectorizer.transform(pre.lemmas)
    X_ctx = model.ctx_vectorizer.transform(pre.context)
    voc = np.hstack([np.minimum(pre.n_terms, 3) / 3.0, pre.ctx_hit])
    blocks = [X_text, 0.5 * X_ctx, sparse.csr_matrix(voc)]
    if model.vector_weight > 0:
        vec = pre.vectors if pre.vectors is not None and pre.vectors.shape[1] == model.vector_width \
            else np.zeros((len(pre.lemmas), model.vector_width))
        blocks.append(sparse.csr_matrix(model.vector_weight * vec))
    return sparse.hstack(blocks).tocsr()


def feature_names(model: ThemeModel) -> list[str]:
    """Names of the model's features, aligned with its coefficients."""
    return ([str(f) for f in model.vectorizer.get_feature_names_out()]
            + [f"contexte:{f}" for f in model.ctx_vectorizer.get_feature_names_out()]
            + [f"vocabulaire:{t}" for t in model.theme_ids]
            + [f"contexte-vocabulaire:{t}" for t in model.theme_ids]
            + ([f"vecteur:{k}" for k in range(model.vector_width)]
               if model.vector_weight > 0 else []))


def _fit_pre(pre: _Pre, labels: list[list[str]], theme_ids: list[str],
             matcher: VocabularyMatcher, min_positives: int = MIN_POSITIVES,
             vector_weight: float | None = None) -> ThemeModel:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    model = ThemeModel(theme_ids=list(theme_ids), matcher=matcher, n_train=len(pre.lemmas),
                       min_positives=min_positives)
    vector_weight = VECTOR_WEIGHT if vector_weight is None else vector_weight
    if vector_weight > 0 and pre.vectors is not None and np.abs(pre.vectors).sum() > 0:
        model.vector_weight, model.vector_width = vector_weight, pre.vectors.shape[1]
    model.vectorizer = TfidfVectorizer(token_pattern=r"\S+", ngram_range=(1, 2),
                                       sublinear_tf=True, lowercase=False)
    model.ctx_vectorizer = TfidfVectorizer(token_pattern=r"\S+", sublinear_tf=True,
                                           lowercase=False)
    model.vectorizer.fit([t if t.strip() else "_vide_" for t in pre.lemmas] or ["_vide_"])
    model.ctx_vectorizer.fit([c if c.strip() else "_vide_" for c in pre.context] or ["_vide_"])
    if len(pre.lemmas) == 0:
        return model
    X = _features(model, pre)
    for tid in theme_ids:
        y = np.array([tid in lab for lab in labels], dtype=int)
        if y.sum() < min_positives or y.sum() == len(y):
            model.classifiers[tid] = None
            continue
        clf = LogisticRegression(C=10.0, max_iter=2000, class_weight="balanced", solver=SOLVER)
        clf.fit(X, y)
        model.classifiers[tid] = clf
    return model


def _fit(frame: pd.DataFrame, labels: list[list[str]], theme_ids: list[str],
         matcher: VocabularyMatcher, min_positives: int = MIN_POSITIVES,
         vector_weight: float | None = None) -> ThemeModel:
    return _fit_pre(_precompute(frame.reset_index(drop=True), matcher, list(theme_ids)), labels,
                    theme_ids, matcher, min_positives, vector_weight)


def train(frame: pd.DataFrame, labels: list[list[str]], codebook,
          matcher: VocabularyMatcher | None = None, tune: bool = True,
          min_positives: int = MIN_POSITIVES) -> ThemeModel:
    """Train the theme model on annotated units.

    ``frame``: rows as returned by :func:`prepare` (at least lemmas; doc_id for tuning; the
    ``vector`` column, when present, feeds the model VECTOR_WEIGHT-weighted word vectors);
    ``labels``: per row, the list of theme ids a human gave it; ``codebook``: list of Theme;
    ``matcher``: a prebuilt vocabulary matcher (default: the codebook's, lemmatised with the
    shared spaCy model). When ``tune`` and the frame spans ≥ 3 documents: with ≥
    STACK_MIN_LABELS labels (and COMBINER "stack"), the stacked combiner and its threshold are
    fitted by leave-one-document-out inside this training data (see the module docstring);
    with fewer, the minimum number of positive examples for a theme to get a classifier, the
    vocabulary/context weights, the decision threshold and the top-1 threshold are chosen the
    same way (best micro-F1 over MIN_POSITIVES_GRID × WEIGHT_GRID × THRESHOLD_GRID ×
    TOP_GRID; one fit per inner fold, the grid is scored on the stored probabilities).
    Otherwise they are ``min_positives`` (default MIN_POSITIVES), VOCAB_WEIGHT, CONTEXT_WEIGHT,
    DEFAULT_THRESHOLD, no top-1 guarantee. Returns a picklable :class:`ThemeModel`.
    """
    ids = [t.id for t in codebook]
    matcher = matcher if matcher is not None else build_matcher(codebook)
    labels = [[t for t in lab if t in ids] for lab in labels]
    frame = frame.reset_index(drop=True)
    pre = _precompute(frame, matcher, ids)
    docs = sorted(set(_col(frame, "doc_id")))
    if not (tune and len(docs) >= 3):
        return _fit_pre(pre, labels, ids, matcher, min_positives)
    if COMBINER == "stack" and sum(len(lab) for lab in labels) >= STACK_MIN_LABELS:
        return _train_stacked(pre, np.array(_col(frame, "doc_id")), labels, ids, matcher, docs)
    inner, oof = _tune(pre, np.array(_col(frame, "doc_id")), labels, ids, matcher, docs)
    best = max(inner.values())
    # ties → the first entries of the grids, then the threshold closest to 0.5
    mp, vw, cw, th, top = min(
        (g for g, s in inner.items() if s == best),
        key=lambda g: (MIN_POSITIVES_GRID.index(g[0]), WEIGHT_GRID.index(g[1:3]),
                       TOP_GRID.index(g[4]), abs(g[3] - DEFAULT_THRESHOLD)))
    model = _fit_pre(pre, labels, ids, matcher, min_positives=mp)
    model.vocab_weight, model.context_weight, model.threshold = vw, cw, th
    model.top_threshold = top
    model.inner_scores = inner
    if THEME_SHRINK is not None:
        Y = np.array([[t in lab for t in ids] for lab in labels], dtype=bool)
        model.theme_thresholds = theme_thresholds(oof[(mp, vw, cw)], Y, ids, th, THEME_SHRINK)
    return model


def _train_stacked(pre: _Pre, doc_col: np.ndarray, labels, ids, matcher, docs) -> ThemeModel:
    """Stacked model: classifiers for every theme with ≥ MIN_POSITIVES_GRID[0] positives; the
    second-level regression is fitted on their leave-one-document-out probabilities inside the
    training data, and its threshold is the STACK_THRESHOLDS value with the best micro-F1 on
    those same out-of-fold pairs (ties → closest to 0.5)."""
    from sklearn.linear_model import LogisticRegression

    mp = MIN_POSITIVES_GRID[0]
    Y = np.array([[t in lab for t in ids] for lab in labels], dtype=bool).reshape(len(labels), len(ids))
    feats, gold = [], []
    for d in docs:
        tr, te = np.where(doc_col != d)[0], np.where(doc_col == d)[0]
        inner = _fit_pre(pre.take(tr), [labels[i] for i in tr], ids, matcher, mp)
        F, _ = stack_features(inner, pre.take(te))
        feats.append(F)
        gold.append(Y[te].reshape(-1))
    F, y = np.vstack(feats), np.concatenate(gold)
    model = _fit_pre(pre, labels, ids, matcher, min_positives=mp)
    if y.sum() == 0 or y.all():
        return model
    stacker = LogisticRegression(C=STACK_C, max_iter=1000).fit(F, y)
    q = stacker.predict_proba(F)[:, 1]
    inner_scores = {}
    for t in STACK_THRESHOLDS:
        keep = q >= t
        tp = int((keep & y).sum())
        inner_scores[("stack", t)] = 2 * tp / (int(keep.sum()) + int(y.sum())) if tp else 0.0
    best = max(inner_scores.values())
    model.threshold = min((g[1] for g, v in inner_scores.items() if v == best),
                          key=lambda t: abs(t - DEFAULT_THRESHOLD))
    model.stacker, model.inner_scores = stacker, inner_scores
    return model


def stack_features(model: ThemeModel, pre: _Pre) -> tuple[np.ndarray, np.ndarray]:
    """Second-level features of every (unit, theme) pair of ``pre`` under ``model``'s
    classifiers: ``(F, base)`` with F of shape (n·T, len(STACK_FEATURES)), rows unit-major,
    and ``base`` (n × T) the noisy-or score with VOCAB_WEIGHT / CONTEXT_WEIGHT (0 = no
    evidence at all)."""
    P = _probabilities(model, pre)
    n, T = P.shape
    trained = np.broadcast_to(np.array([model.classifiers.get(t) is not None
                                        for t in model.theme_ids]), (n, T))
    n_terms, ctx = pre.n_terms, pre.ctx_hit
    base = combine_arrays(np.where(trained, P, 0.0), trained, n_terms, ctx, VOCAB_WEIGHT,
                          CONTEXT_WEIGHT)
    best = base.max(axis=1, keepdims=True) if T else np.zeros((n, 1))
    is_best = (base == best) & (best > 0)
    n_vocab = np.broadcast_to((n_terms > 0).sum(axis=1, keepdims=True), (n, T))
    pc = np.clip(P, 1e-4, 1 - 1e-4)
    logit = np.log(pc / (1 - pc)) * trained
    v = 1.0 - 0.5 ** n_terms
    F = np.stack([base, base - best, is_best, n_vocab, logit, trained, v,
                  (n_terms > 0) & ~trained, ctx, v * trained], axis=-1).astype(float)
    return F.reshape(n * T, len(STACK_FEATURES)), base


def theme_thresholds(scores: np.ndarray, gold: np.ndarray, ids: list[str], threshold: float,
                     shrink: float) -> dict[str, float]:
    """Per-theme thresholds from out-of-fold ``scores`` and ``gold`` (both n × T): for each
    theme with positives, the THRESHOLD_GRID value maximising its F1 (ties → closest to
    ``threshold``), then ``w·t_theme + (1 - w)·threshold`` with ``w = n_pos / (n_pos + shrink)``.
    Themes without positives keep the global threshold (absent from the dict)."""
    out = {}
    for j, tid in enumerate(ids):
        y = gold[:, j]
        n_pos = int(y.sum())
        if n_pos == 0:
            continue
        best_t, best_f = threshold, -1.0
        for t in sorted(THRESHOLD_GRID, key=lambda x: abs(x - threshold)):
            pred = scores[:, j] >= t
            tp = int((pred & y).sum())
            f = 2 * tp / (pred.sum() + n_pos)
            if f > best_f + 1e-12:
                best_t, best_f = t, f
        w = n_pos / (n_pos + shrink)
        out[tid] = round(w * best_t + (1 - w) * threshold, 4)
    return out


def combine_arrays(p: np.ndarray, trained: np.ndarray, n_terms: np.ndarray, ctx: np.ndarray,
                   vocab_weight: float, context_weight: float) -> np.ndarray:
    """Vectorised :func:`combine`: arrays of p_model, trained (bool), n_terms and context (all
    n × T, or broadcastable) → scores n × T."""
    c = context_weight * ctx
    v = vocab_weight * (1.0 - 0.5 ** n_terms)
    with_model = 1.0 - (1.0 - p) * (1.0 - v) * (1.0 - c)
    v_alone = np.where(n_terms > 0, 1.0 - 0.5 ** (n_terms + 1), 0.0)
    alone = 1.0 - (1.0 - v_alone) * (1.0 - c)
    return np.where(trained, with_model, alone)


def decide_matrix(scores: np.ndarray, threshold: float, top_threshold: float | None) -> np.ndarray:
    """Boolean n × T: themes kept (score ≥ threshold, plus each row's best theme when it
    scores ≥ top_threshold; ties → the first theme)."""
    keep = scores >= threshold
    if top_threshold is not None and scores.shape[1]:
        best = scores.argmax(axis=1)
        rows = np.arange(len(scores))
        keep[rows, best] |= scores[rows, best] >= top_threshold
    return keep


def _tune(pre: _Pre, doc_col: np.ndarray, labels, ids, matcher, docs
          ) -> tuple[dict[tuple, float], dict[tuple, np.ndarray]]:
    """Micro-F1 of every (min positives, vocab weight, context weight, threshold, top
    threshold) of the grids, by leave-one-document-out inside the training data. Each inner
    fold fits one model (every theme with ≥ min(MIN_POSITIVES_GRID) positives); a larger
    minimum only switches classifiers off, so it is scored from the same probabilities.
    Also returns the out-of-fold score matrices (n × T) per (min positives, vocab weight,
    context weight)."""
    T = len(ids)
    Y = np.array([[t in lab for t in ids] for lab in labels], dtype=bool).reshape(len(labels), T)
    grid = [(mp, vw, cw, th, top) for mp in MIN_POSITIVES_GRID for vw, cw in WEIGHT_GRID
            for th in THRESHOLD_GRID for top in TOP_GRID]
    tp = dict.fromkeys(grid, 0)
    fp = dict.fromkeys(grid, 0)
    fn = dict.fromkeys(grid, 0)
    mp_min = min(MIN_POSITIVES_GRID)
    oof = {(mp, vw, cw): np.zeros(Y.shape) for mp in MIN_POSITIVES_GRID for vw, cw in WEIGHT_GRID}
    for d in docs:
        tr, te = np.where(doc_col != d)[0], np.where(doc_col == d)[0]
        inner = _fit_pre(pre.take(tr), [labels[i] for i in tr], ids, matcher, mp_min)
        P = _probabilities(inner, pre.take(te))
        npos = Y[tr].sum(axis=0)
        fitted = np.array([inner.classifiers.get(t) is not None for t in ids])
        for mp in MIN_POSITIVES_GRID:
            trained = fitted & (npos >= mp)
            for vw, cw in WEIGHT_GRID:
                S = combine_arrays(np.where(trained, P, 0.0), trained, pre.n_terms[te],
                                   pre.ctx_hit[te], vw, cw)
                oof[(mp, vw, cw)][te] = S
                for th in THRESHOLD_GRID:
                    for top in TOP_GRID:
                        keep = decide_matrix(S, th, top)
                        g = (mp, vw, cw, th, top)
                        tp[g] += int((keep & Y[te]).sum())
                        fp[g] += int((keep & ~Y[te]).sum())
                        fn[g] += int((~keep & Y[te]).sum())
    f1 = {g: (2 * tp[g] / (2 * tp[g] + fp[g] + fn[g]) if tp[g] else 0.0) for g in grid}
    return f1, oof


def _probabilities(model: ThemeModel, pre: _Pre) -> np.ndarray:
    """n × T model probabilities (0 for themes without a classifier)."""
    P = np.zeros((len(pre.lemmas), len(model.theme_ids)))
    if model.vectorizer is None or len(pre.lemmas) == 0:
        return P
    X = None
    for j, tid in enumerate(model.theme_ids):
        clf = model.classifiers.get(tid)
        if clf is not None:
            X = _features(model, pre) if X is None else X
            P[:, j] = clf.predict_proba(X)[:, 1]
    return P


def combine(comp: dict, vocab_weight: float, context_weight: float) -> float:
    """Score in [0, 1] of one theme for one unit from its evidence ``comp`` (p_model, trained,
    n_terms, context): see the module docstring."""
    c = context_weight * comp["context"]
    n = comp["n_terms"]
    if comp["trained"]:
        v = vocab_weight * vocabulary_score(n)
        return 1.0 - (1.0 - comp["p_model"]) * (1.0 - v) * (1.0 - c)
    # too few examples to learn from: the vocabulary decides
    v_alone = 1.0 - 0.5 ** (n + 1) if n else 0.0
    return 1.0 - (1.0 - v_alone) * (1.0 - c)


def _top_features(clf, X, rows: list[int], names, k: int = 3) -> dict[int, list[str]]:
    """For each row index in ``rows``, the ``k`` features of ``X`` that pushed ``clf`` most
    towards the theme (positive contributions only, largest first). One sparse product."""
    if not rows:
        return {}
    contrib = X[rows].multiply(clf.coef_[0]).tocsr()
    out: dict[int, list[str]] = {}
    for j, row in enumerate(rows):
        s, e = contrib.indptr[j], contrib.indptr[j + 1]
        data, ind = contrib.data[s:e], contrib.indices[s:e]
        order = np.lexsort((ind, -data))  # largest first, ties by feature index
        out[row] = [names[ind[o]] for o in order[:k] if data[o] > 0]
    return out


def score_frame(model: ThemeModel, frame: pd.DataFrame) -> list[dict[str, dict]]:
    """Per row of ``frame``, ``{theme: {"score", "p_model", "vocab", "context", "evidence"}}``
    for every theme with a non-zero score (evidence: list of words/features)."""
    frame = frame.reset_index(drop=True)
    out: list[dict[str, dict]] = [dict() for _ in range(len(frame))]
    if len(frame) == 0:
        return out
    pre = _precompute(frame, model.matcher, model.theme_ids)
    unit_hits, ctx_hits = pre.unit_hits, pre.ctx_hits
    stacked = None
    if model.stacker is not None:
        F, base = stack_features(model, pre)
        stacked = model.stacker.predict_proba(F)[:, 1].reshape(base.shape)
    X = _features(model, pre) if model.vectorizer is not None else None
    names = feature_names(model) if X is not None else []
    probs = {}
    for tid, clf in model.classifiers.items():
        if clf is not None and X is not None:
            probs[tid] = clf.predict_proba(X)[:, 1]
    top = {tid: _top_features(model.classifiers[tid], X, np.flatnonzero(p >= 0.2).tolist(),
                              names, k=6)
           for tid, p in probs.items()}
    for i in range(len(frame)):
        for tid in model.theme_ids:
            p = float(probs[tid][i]) if tid in probs else 0.0
            terms = unit_hits[i].get(tid, [])
            cterms = ctx_hits[i].get(tid, [])
            v = vocabulary_score(len(terms))
            c = 1.0 if cterms else 0.0
            comp = {"p_model": p, "trained": tid in probs, "n_terms": len(terms), "context": c}
            score = combine(comp, model.vocab_weight, model.context_weight)
            if score <= 0.0:  # no evidence at all
                continue
            if stacked is not None:
                score = float(stacked[i, model.theme_ids.index(tid)])
            evidence = list(terms)
            if tid in probs and p >= 0.2:
                for f in top[tid][i]:
                    if len(evidence) >= len(terms) + 3:
                        break
                    if not f.startswith(("vocabulaire:", "vecteur:")) and f not in evidence:
                        evidence.append(f)
            model_ctx = any(e.startswith("contexte") for e in evidence)
            if model.context_weight > 0 and cterms:
                evidence += [f"contexte:{t}" for t in cterms if f"contexte:{t}" not in evidence]
            comp["context_used"] = bool(model_ctx or (model.context_weight > 0 and cterms))
            out[i][tid] = {**comp, "score": score, "vocab": v, "evidence": evidence}
    return out


def decide(scores: dict[str, float], threshold: float, top_threshold: float | None = None,
           theme_thresholds: dict[str, float] | None = None) -> list[str]:
    """Themes kept for one unit from ``{theme: score}`` (in codebook order), best first: every
    theme scoring ≥ its threshold (``theme_thresholds[theme]``, else ``threshold``), plus the
    best theme when it scores ≥ ``top_threshold``."""
    per = theme_thresholds or {}
    kept = {t for t, s in scores.items() if s >= per.get(t, threshold)}
    if top_threshold is not None and scores:
        best = max(scores, key=lambda t: scores[t])  # first of equals, as argmax
        if scores[best] >= top_threshold:
            kept.add(best)
    order = list(scores)
    return sorted(kept, key=lambda t: (-scores[t], order.index(t)))


def _sources(s: dict) -> str:
    src = []
    if s["vocab"] > 0:
        src.append("vocabulary")
    if s["p_model"] >= 0.2:
        src.append("model")
    if s.get("context_used"):
        src.append("context")
    return ";".join(src)


def classify(frame: pd.DataFrame, model: ThemeModel, codebook=None,
             annotations: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Label every content unit of ``frame`` (from :func:`prepare`).

    ``annotations`` (annotations.csv rows) override the model for the units they match
    (source ``human``, score 1, evidence ``annotation``). ``codebook`` restricts the themes to
    its ids (default: the model's). Returns ``(unit_themes, themes)``: the long table
    ``doc_id, unit_id, theme, score, sources, evidence`` (assigned themes only, best first per
    unit) and ``doc_id, unit_id, themes`` (";"-joined, by descending score; "" for none), one row
    per content unit. ``unit_themes.attrs`` holds ``threshold`` and ``candidates`` (rejected
    themes scoring ≥ 0.1 as (doc_id, unit_id, theme, score) tuples, for the review table).
    """
    frame = frame.reset_index(drop=True)
    if "kind" in frame.columns:
        frame = frame[~frame["kind"].isin(NON_CONTENT_KINDS)].reset_index(drop=True)
    allowed = set(t.id for t in codebook) if codebook else set(model.theme_ids)
    human: dict[tuple[str, str], list[str]] = {}
    if annotations is not None and len(annotations) and len(frame):
        m = match_annotations(frame, annotations)
        for r in m.itertuples(index=False):
            human[(r.doc_id, r.unit_id)] = [t for t in split_themes(r.themes_human) if t in allowed]
    scores = score_frame(model, frame)
    rows, cands, per_unit = [], [], []
    for i, r in enumerate(frame.itertuples(index=False)):
        key = (r.doc_id, r.unit_id)
        if key in human:
            chosen = [(t, 1.0, "human", "annotation") for t in human[key]]
        else:
            sc = {t: s for t, s in scores[i].items() if t in allowed}
            kept = decide({t: s["score"] for t, s in sc.items()}, model.threshold,
                          model.top_threshold, model.theme_thresholds)
            chosen = [(t, round(sc[t]["score"], 4), _sources(sc[t]), ";".join(sc[t]["evidence"]))
                      for t in kept]
            for tid, s in sc.items():
                if tid not in kept and s["score"] >= CANDIDATE_MIN:
                    cands.append({"doc_id": r.doc_id, "unit_id": r.unit_id, "theme": tid,
                                  "score": round(s["score"], 4)})
        for tid, sc, src, ev in chosen:
            rows.append({"doc_id": r.doc_id, "unit_id": r.unit_id, "theme": tid, "score": sc,
                         "sources": src, "evidence": ev})
        per_unit.append({"doc_id": r.doc_id, "unit_id": r.unit_id,
                         "themes": ";".join(c[0] for c in chosen)})
    unit_themes = pd.DataFrame(rows, columns=UNIT_THEME_COLUMNS)
    unit_themes["score"] = unit_themes["score"].astype(float)
    unit_themes.attrs["threshold"] = model.threshold
    # plain tuples, not a DataFrame: pandas compares attrs when concatenating
    unit_themes.attrs["candidates"] = [(c["doc_id"], c["unit_id"], c["theme"], c["score"])
                                       for c in cands]
    themes = pd.DataFrame(per_unit, columns=["doc_id", "unit_id", "themes"])
    return unit_themes, themes


def predict_labels(model: ThemeModel, frame: pd.DataFrame) -> list[list[str]]:
    """Assigned theme ids per row of ``frame`` (no human override), best first."""
    return [decide({t: v["score"] for t, v in s.items()}, model.threshold, model.top_threshold,
                   model.theme_thresholds) for s in score_frame(model, frame)]


def vocabulary_labels(matcher: VocabularyMatcher, frame: pd.DataFrame) -> list[list[str]]:
    """Baseline: every theme with at least one codebook term in the unit itself."""
    unit_hits, _ = _vocab_hits(frame.reset_index(drop=True), matcher)
    return [list(h) for h in unit_hits]


# --------------------------------------------------------------------------- review


REVIEW_COLUMNS = ["doc_id", "unit_id", "kind", "text", "themes_predicted", "scores",
                  "uncertainty", "themes_reviewed", "comment"]


def review_table(units: pd.DataFrame, unit_themes: pd.DataFrame, *,
                 threshold: float | None = None, candidates=None) -> pd.DataFrame:
    """Units to review, least certain first.

    ``units``: units table (doc_id, unit_id, kind, text); ``unit_themes``: as from
    :func:`classify`. ``threshold`` and ``candidates`` (rejected themes as (doc_id, unit_id,
    theme, score) tuples or a DataFrame with those columns) default to ``unit_themes.attrs``.
    Content units already labelled by a human are left out. ``uncertainty`` in [0, 1] is 1 when
    some theme scores exactly at the threshold and falls as every score moves away from it.
    ``themes_reviewed`` and ``comment`` are empty, for the reviewer.
    """
    attrs = unit_themes.attrs
    thr = float(threshold if threshold is not None
                else attrs.get("threshold", DEFAULT_THRESHOLD))
    cands = candidates if candidates is not None else attrs.get("candidates")
    span = max(thr, 1.0 - thr)
    scores: dict[tuple[str, str], list[tuple[str, float, bool]]] = {}
    human = set()
    # one column access each (pandas deep-copies ``attrs`` on every access), then plain lists
    ut = {c: unit_themes[c].tolist() for c in ("doc_id", "unit_id", "theme", "score", "sources")}
    for doc_id, unit_id, theme, score, sources in zip(*ut.values(), strict=True):
        if "human" in str(sources).split(";"):
            human.add((doc_id, unit_id))
        scores.setdefault((doc_id, unit_id), []).append((theme, float(score), True))
    if isinstance(cands, pd.DataFrame):
        cands = list(zip(*(cands[c].tolist() for c in ("doc_id", "unit_id", "theme", "score")),
                         strict=True))
    for doc_id, unit_id, theme, score in cands or []:
        scores.setdefault((doc_id, unit_id), []).append((theme, float(score), False))
    rows = []
    content = units[~units["kind"].isin(NON_CONTENT_KINDS)] if len(units) else units
    cols = [content[c].tolist() for c in ("doc_id", "unit_id", "kind", "text")]
    for doc_id, unit_id, kind, text in zip(*cols, strict=True):
        key = (doc_id, unit_id)
        if key in human:
            continue
        sc = scores.get(key, [])
        vals = [s for _, s, _ in sc] or [0.0]
        unc = max(1.0 - abs(s - thr) / span for s in vals)
        assigned = sorted([x for x in sc if x[2]], key=lambda x: -x[1])
        shown = sorted(sc, key=lambda x: -x[1])
        rows.append({"doc_id": doc_id, "unit_id": unit_id, "kind": kind, "text": text,
                     "themes_predicted": ";".join(t for t, _, _ in assigned),
                     "scores": ";".join(f"{t}:{s:.2f}" for t, s, _ in shown),
                     "uncertainty": round(max(0.0, min(1.0, unc)), 3),
                     "themes_reviewed": "", "comment": ""})
    out = pd.DataFrame(rows, columns=REVIEW_COLUMNS)
    return out.sort_values(["uncertainty", "doc_id", "unit_id"], ascending=[False, True, True],
                           kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- default model


def annotation_frame(ann: pd.DataFrame, lemmatise=None) -> pd.DataFrame:
    """annotations.csv rows → a classify frame (lemmas of text and context computed with
    ``lemmatise`` (list[str] → list[(lemmas, tokens)]), default the shared spaCy model)."""
    from pipeline.classify.vocabulary import default_lemmatiser

    lemmatise = lemmatise or default_lemmatiser
    texts = _col(ann, "text")
    ctx_text = _col(ann, "context")
    res = lemmatise(texts + ctx_text) if len(ann) else []
    n = len(texts)
    return pd.DataFrame({
        "doc_id": _col(ann, "doc_id"), "unit_id": _col(ann, "unit_id"),
        "kind": _col(ann, "kind"), "text": texts,
        "lemmas": [r[0] for r in res[:n]], "tokens": [r[1] for r in res[:n]],
        "context": [r[0] for r in res[n:]], "context_tokens": [r[1] for r in res[n:]],
        "context_text": ctx_text,
    }, columns=FRAME_COLUMNS)


def default_model(codebook, annotations_path=None, lemmatise=None) -> ThemeModel:
    """Train on ``annotations_path`` (an annotations.csv).

    Annotation texts and contexts are lemmatised with the shared spaCy model (one load).
    Without annotations (``None`` or a missing file) the model has no classifiers: vocabulary
    and context only — never a file picked from the current directory.
    """
    from pathlib import Path

    from pipeline.classify.annotations import load_annotations

    ann = load_annotations(Path(annotations_path)) if annotations_path else None
    matcher = build_matcher(codebook, lemmatise)
    if ann is None or len(ann) == 0:
        return _fit(pd.DataFrame(columns=FRAME_COLUMNS), [], [t.id for t in codebook], matcher)
    ann = ann[~ann["kind"].isin(NON_CONTENT_KINDS)].reset_index(drop=True)
    frame = annotation_frame(ann, lemmatise)
    labels = [split_themes(t) for t in ann["themes"]]
    return train(frame, labels, codebook, matcher=matcher)
