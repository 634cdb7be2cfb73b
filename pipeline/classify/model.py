"""Theme classifier: vocabulary + scikit-learn model + context, combined per theme.

Evidence sources (each named in ``unit_themes.sources``):

* ``vocabulary``: codebook terms found in the unit (strength ``1 - 0.5**n_terms``);
* ``model``: one logistic regression per theme (one-vs-rest) on TF-IDF of the unit lemmas
  (uni- and bigrams), TF-IDF of its ancestors' lemmas (prefixed ``ctx:``) and the vocabulary
  hit counts; trained on the human annotations. Its probability is the base score;
* ``context``: codebook terms found in the ancestor section/axis/group/objective titles.

Score of a theme = ``1 - (1 - p_model)(1 - VOCAB_WEIGHT·v)(1 - CONTEXT_WEIGHT·c)``; for a theme
with too few training examples to have a classifier, ``1 - (1 - v')(1 - CONTEXT_WEIGHT·c)`` with
``v' = 1 - 0.5**(n_terms + 1)`` (one term → 0.75). A unit gets
every theme whose score reaches the model's threshold (chosen by leave-one-document-out inside
the training data, else 0.5). Human labels override everything (source ``human``, score 1).
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
CANDIDATE_MIN = 0.1
FRAME_COLUMNS = ["doc_id", "unit_id", "kind", "text", "lemmas", "tokens", "context",
                 "context_tokens", "context_text"]
UNIT_THEME_COLUMNS = ["doc_id", "unit_id", "theme", "score", "sources", "evidence"]


# --------------------------------------------------------------------------- frame


def prepare(units: pd.DataFrame, nlp: pd.DataFrame) -> pd.DataFrame:
    """One row per content unit, ready for the classifier.

    ``units``: the units table (doc_id, unit_id, parent_id, kind, text, …); ``nlp``: one row per
    lemmatised unit (doc_id, unit_id, lemmas, tokens). Returns ``doc_id, unit_id, kind, text,
    lemmas, tokens, context, context_tokens, context_text`` where ``context`` holds the lemmas of
    the ancestor section/axis/group/objective titles (nearest last) and ``context_text`` their
    raw texts joined by " | ". Non-content kinds are dropped; missing lemmas are "".
    """
    if len(units) == 0:
        return pd.DataFrame(columns=FRAME_COLUMNS)
    u = units.copy()
    for col in ("parent_id", "text", "kind"):
        if col not in u.columns:
            u[col] = ""
        u[col] = u[col].fillna("").astype(str)
    n = nlp[["doc_id", "unit_id", "lemmas", "tokens"]] if len(nlp) else pd.DataFrame(
        columns=["doc_id", "unit_id", "lemmas", "tokens"])
    u = u.merge(n, on=["doc_id", "unit_id"], how="left")
    u["lemmas"] = u["lemmas"].fillna("").astype(str)
    u["tokens"] = u["tokens"].fillna("").astype(str)
    by_key = {(r.doc_id, r.unit_id): r for r in u.itertuples(index=False)}
    rows = []
    for r in u.itertuples(index=False):
        if r.kind in NON_CONTENT_KINDS:
            continue
        ctx_l, ctx_t, ctx_x = [], [], []
        parent, seen = r.parent_id, set()
        while parent and (r.doc_id, parent) in by_key and parent not in seen:
            seen.add(parent)
            p = by_key[(r.doc_id, parent)]
            if p.kind in CONTEXT_KINDS:
                ctx_l.insert(0, p.lemmas)
                ctx_t.insert(0, p.tokens)
                ctx_x.insert(0, p.text)
            parent = p.parent_id
        rows.append({"doc_id": r.doc_id, "unit_id": r.unit_id, "kind": r.kind, "text": r.text,
                     "lemmas": r.lemmas, "tokens": r.tokens,
                     "context": " ".join(x for x in ctx_l if x),
                     "context_tokens": " ".join(x for x in ctx_t if x),
                     "context_text": " | ".join(x for x in ctx_x if x)})
    return pd.DataFrame(rows, columns=FRAME_COLUMNS)


def _col(frame: pd.DataFrame, name: str) -> list[str]:
    if name not in frame.columns:
        return [""] * len(frame)
    return frame[name].fillna("").astype(str).tolist()


# --------------------------------------------------------------------------- model


@dataclass
class ThemeModel:
    """Trained classifier (picklable). ``classifiers[theme]`` is None when the training data had
    fewer than MIN_POSITIVES positive units for it (vocabulary and context only)."""

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


def _vocab_hits(frame: pd.DataFrame, matcher: VocabularyMatcher):
    unit = [matcher.match(lem, tok, txt) for lem, tok, txt in
            zip(_col(frame, "lemmas"), _col(frame, "tokens"), _col(frame, "text"), strict=False)]
    ctx = [matcher.match(lem, tok, txt) for lem, tok, txt in
           zip(_col(frame, "context"), _col(frame, "context_tokens"), _col(frame, "context_text"), strict=False)]
    return unit, ctx


def _features(model: ThemeModel, frame: pd.DataFrame, unit_hits, ctx_hits):
    ids = model.theme_ids
    X_text = model.vectorizer.transform(_col(frame, "lemmas"))
    X_ctx = model.ctx_vectorizer.transform(_col(frame, "context"))
    voc = np.zeros((len(frame), 2 * len(ids)))
    for i, (uh, ch) in enumerate(zip(unit_hits, ctx_hits, strict=False)):
        for j, tid in enumerate(ids):
            voc[i, j] = min(len(uh.get(tid, [])), 3) / 3.0
            voc[i, len(ids) + j] = 1.0 if tid in ch else 0.0
    return sparse.hstack([X_text, 0.5 * X_ctx, sparse.csr_matrix(voc)]).tocsr()


def feature_names(model: ThemeModel) -> list[str]:
    """Names of the model's features, aligned with its coefficients."""
    return ([str(f) for f in model.vectorizer.get_feature_names_out()]
            + [f"contexte:{f}" for f in model.ctx_vectorizer.get_feature_names_out()]
            + [f"vocabulaire:{t}" for t in model.theme_ids]
            + [f"contexte-vocabulaire:{t}" for t in model.theme_ids])


def _fit(frame: pd.DataFrame, labels: list[list[str]], theme_ids: list[str],
         matcher: VocabularyMatcher, min_positives: int = MIN_POSITIVES) -> ThemeModel:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    model = ThemeModel(theme_ids=list(theme_ids), matcher=matcher, n_train=len(frame),
                       min_positives=min_positives)
    model.vectorizer = TfidfVectorizer(token_pattern=r"\S+", ngram_range=(1, 2),
                                       sublinear_tf=True, lowercase=False)
    model.ctx_vectorizer = TfidfVectorizer(token_pattern=r"\S+", sublinear_tf=True,
                                           lowercase=False)
    texts = _col(frame, "lemmas")
    ctx = _col(frame, "context")
    model.vectorizer.fit([t if t.strip() else "_vide_" for t in texts] or ["_vide_"])
    model.ctx_vectorizer.fit([c if c.strip() else "_vide_" for c in ctx] or ["_vide_"])
    if len(frame) == 0:
        return model
    unit_hits, ctx_hits = _vocab_hits(frame, matcher)
    X = _features(model, frame, unit_hits, ctx_hits)
    for tid in theme_ids:
        y = np.array([tid in lab for lab in labels], dtype=int)
        if y.sum() < min_positives or y.sum() == len(y):
            model.classifiers[tid] = None
            continue
        clf = LogisticRegression(C=10.0, max_iter=2000, class_weight="balanced")
        clf.fit(X, y)
        model.classifiers[tid] = clf
    return model


def train(frame: pd.DataFrame, labels: list[list[str]], codebook,
          matcher: VocabularyMatcher | None = None, tune: bool = True,
          min_positives: int = MIN_POSITIVES) -> ThemeModel:
    """Train the theme model on annotated units.

    ``frame``: rows as returned by :func:`prepare` (at least lemmas; doc_id for tuning);
    ``labels``: per row, the list of theme ids a human gave it; ``codebook``: list of Theme;
    ``matcher``: a prebuilt vocabulary matcher (default: the codebook's, lemmatised with the
    shared spaCy model). When ``tune`` and the frame spans ≥ 3 documents, the minimum number
    of positive examples for a theme to get a classifier, the vocabulary/context weights and
    the decision threshold are chosen by leave-one-document-out inside this training data (best
    micro-F1 over MIN_POSITIVES_GRID × WEIGHT_GRID × THRESHOLD_GRID); otherwise they are
    ``min_positives`` (default MIN_POSITIVES), VOCAB_WEIGHT, CONTEXT_WEIGHT, DEFAULT_THRESHOLD. Returns a picklable :class:`ThemeModel`.
    """
    ids = [t.id for t in codebook]
    matcher = matcher if matcher is not None else build_matcher(codebook)
    labels = [[t for t in lab if t in ids] for lab in labels]
    frame = frame.reset_index(drop=True)
    docs = sorted(set(_col(frame, "doc_id")))
    if not (tune and len(docs) >= 3):
        return _fit(frame, labels, ids, matcher, min_positives)
    inner = _tune_threshold(frame, labels, ids, matcher, docs)
    best = max(inner.values())
    # ties → the first entries of the grids, then the threshold closest to 0.5
    mp, vw, cw, th = min((g for g, s in inner.items() if s == best),
                         key=lambda g: (MIN_POSITIVES_GRID.index(g[0]),
                                        WEIGHT_GRID.index(g[1:3]), abs(g[3] - DEFAULT_THRESHOLD)))
    model = _fit(frame, labels, ids, matcher, min_positives=mp)
    model.vocab_weight, model.context_weight, model.threshold = vw, cw, th
    model.inner_scores = inner
    return model


def _tune_threshold(frame, labels, ids, matcher, docs) -> dict[tuple, float]:
    """Micro-F1 of every (min positives, vocab weight, context weight, threshold) of the grids,
    by leave-one-document-out inside ``frame``."""
    doc_col = np.array(_col(frame, "doc_id"))
    grid = [(mp, vw, cw, th) for mp in MIN_POSITIVES_GRID for vw, cw in WEIGHT_GRID
            for th in THRESHOLD_GRID]
    tp = {g: 0 for g in grid}
    fp = dict(tp)
    fn = dict(tp)
    for d in docs:
        tr, te = np.where(doc_col != d)[0], np.where(doc_col == d)[0]
        for mp in MIN_POSITIVES_GRID:
            inner = _fit(frame.iloc[tr], [labels[i] for i in tr], ids, matcher, mp)
            scores = score_frame(inner, frame.iloc[te])
            for g in grid:
                if g[0] != mp:
                    continue
                for k, i in enumerate(te):
                    pred = {t for t, s in scores[k].items() if combine(s, g[1], g[2]) >= g[3]}
                    gold = set(labels[i])
                    tp[g] += len(pred & gold)
                    fp[g] += len(pred - gold)
                    fn[g] += len(gold - pred)
    return {g: (2 * tp[g] / (2 * tp[g] + fp[g] + fn[g]) if tp[g] else 0.0) for g in grid}


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


def _top_features(clf, x_row, names, k: int = 3) -> list[str]:
    contrib = x_row.multiply(clf.coef_[0]).tocsr()
    if contrib.nnz == 0:
        return []
    idx = contrib.indices[np.argsort(-contrib.data)]
    vals = dict(zip(contrib.indices, contrib.data, strict=False))
    return [names[i] for i in idx[:k] if vals[i] > 0]


def score_frame(model: ThemeModel, frame: pd.DataFrame) -> list[dict[str, dict]]:
    """Per row of ``frame``, ``{theme: {"score", "p_model", "vocab", "context", "evidence"}}``
    for every theme with a non-zero score (evidence: list of words/features)."""
    frame = frame.reset_index(drop=True)
    out: list[dict[str, dict]] = [dict() for _ in range(len(frame))]
    if len(frame) == 0:
        return out
    unit_hits, ctx_hits = _vocab_hits(frame, model.matcher)
    X = _features(model, frame, unit_hits, ctx_hits) if model.vectorizer is not None else None
    names = feature_names(model) if X is not None else []
    probs = {}
    for tid, clf in model.classifiers.items():
        if clf is not None and X is not None:
            probs[tid] = clf.predict_proba(X)[:, 1]
    for i in range(len(frame)):
        for tid in model.theme_ids:
            p = float(probs[tid][i]) if tid in probs else 0.0
            terms = unit_hits[i].get(tid, [])
            cterms = ctx_hits[i].get(tid, [])
            v = vocabulary_score(len(terms))
            c = 1.0 if cterms else 0.0
            comp = {"p_model": p, "trained": tid in probs, "n_terms": len(terms), "context": c}
            score = combine(comp, model.vocab_weight, model.context_weight)
            if score <= 0.0:
                continue
            evidence = list(terms)
            if tid in probs and p >= 0.2:
                for f in _top_features(model.classifiers[tid], X[i], names):
                    if not f.startswith("vocabulaire:") and f not in evidence:
                        evidence.append(f)
            model_ctx = any(e.startswith("contexte") for e in evidence)
            if model.context_weight > 0 and cterms:
                evidence += [f"contexte:{t}" for t in cterms if f"contexte:{t}" not in evidence]
            comp["context_used"] = bool(model_ctx or (model.context_weight > 0 and cterms))
            out[i][tid] = {**comp, "score": score, "vocab": v, "evidence": evidence}
    return out


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
            chosen = []
            for tid, s in scores[i].items():
                if tid not in allowed:
                    continue
                if s["score"] >= model.threshold:
                    chosen.append((tid, round(s["score"], 4), _sources(s), ";".join(s["evidence"])))
                elif s["score"] >= CANDIDATE_MIN:
                    cands.append({"doc_id": r.doc_id, "unit_id": r.unit_id, "theme": tid,
                                  "score": round(s["score"], 4)})
            chosen.sort(key=lambda c: -c[1])
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
    out = []
    for s in score_frame(model, frame):
        got = [(t, v["score"]) for t, v in s.items() if v["score"] >= model.threshold]
        out.append([t for t, _ in sorted(got, key=lambda x: -x[1])])
    return out


def vocabulary_labels(matcher: VocabularyMatcher, frame: pd.DataFrame) -> list[list[str]]:
    """Baseline: every theme with at least one codebook term in the unit itself."""
    unit_hits, _ = _vocab_hits(frame.reset_index(drop=True), matcher)
    return [list(h) for h in unit_hits]


# --------------------------------------------------------------------------- review


REVIEW_COLUMNS = ["doc_id", "unit_id", "kind", "text", "themes_predicted", "scores",
                  "uncertainty", "themes_reviewed", "comment"]


def review_table(units: pd.DataFrame, unit_themes: pd.DataFrame) -> pd.DataFrame:
    """Units to review, least certain first.

    ``units``: units table (doc_id, unit_id, kind, text); ``unit_themes``: as from
    :func:`classify` (its ``attrs`` threshold/candidates are used when present). Content units
    already labelled by a human are left out. ``uncertainty`` in [0, 1] is 1 when some theme
    scores exactly at the threshold and falls as every score moves away from it.
    ``themes_reviewed`` and ``comment`` are empty, for the reviewer.
    """
    thr = float(unit_themes.attrs.get("threshold", DEFAULT_THRESHOLD))
    cands = unit_themes.attrs.get("candidates")
    span = max(thr, 1.0 - thr)
    scores: dict[tuple[str, str], list[tuple[str, float, bool]]] = {}
    human = set()
    for r in unit_themes.itertuples(index=False):
        if "human" in str(r.sources).split(";"):
            human.add((r.doc_id, r.unit_id))
        scores.setdefault((r.doc_id, r.unit_id), []).append((r.theme, float(r.score), True))
    if isinstance(cands, pd.DataFrame):
        cands = list(cands[["doc_id", "unit_id", "theme", "score"]].itertuples(index=False))
    for doc_id, unit_id, theme, score in cands or []:
        scores.setdefault((doc_id, unit_id), []).append((theme, float(score), False))
    rows = []
    content = units[~units["kind"].isin(NON_CONTENT_KINDS)] if len(units) else units
    for r in content.itertuples(index=False):
        key = (r.doc_id, r.unit_id)
        if key in human:
            continue
        sc = scores.get(key, [])
        vals = [s for _, s, _ in sc] or [0.0]
        unc = max(1.0 - abs(s - thr) / span for s in vals)
        assigned = sorted([x for x in sc if x[2]], key=lambda x: -x[1])
        shown = sorted(sc, key=lambda x: -x[1])
        rows.append({"doc_id": r.doc_id, "unit_id": r.unit_id, "kind": r.kind, "text": r.text,
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
    """Train on ``annotations_path`` (annotations.csv; default ``corpus/annotations.csv``).

    Annotation texts and contexts are lemmatised with the shared spaCy model (one load).
    Without annotations the model has no classifiers: vocabulary and context only.
    """
    from pathlib import Path

    from pipeline.classify.annotations import load_annotations

    path = Path(annotations_path) if annotations_path else Path("corpus") / "annotations.csv"
    ann = load_annotations(path)
    matcher = build_matcher(codebook, lemmatise)
    if ann is None or len(ann) == 0:
        return _fit(pd.DataFrame(columns=FRAME_COLUMNS), [], [t.id for t in codebook], matcher)
    ann = ann[~ann["kind"].isin(NON_CONTENT_KINDS)].reset_index(drop=True)
    frame = annotation_frame(ann, lemmatise)
    labels = [split_themes(t) for t in ann["themes"]]
    return train(frame, labels, codebook, matcher=matcher)
