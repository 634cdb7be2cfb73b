"""Leave-one-document-out evaluation of the theme classifier against the human annotations.

``python -m pipeline.classify.evaluate [annotations.csv]`` evaluates on the annotation rows
themselves (their texts lemmatised with the shared model) and prints the French table.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from pipeline.classify.annotations import split_themes
from pipeline.classify.model import predict_labels, train, vocabulary_labels
from pipeline.classify.vocabulary import build_matcher

COLUMNS = ["level", "system", "theme", "label", "precision", "recall", "f1", "support",
           "n_predicted"]


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Precision, recall, F1 from counts (0 when undefined)."""
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def score_table(gold: list[list[str]], pred: list[list[str]], theme_ids: list[str],
                labels: dict[str, str] | None = None, level: str = "unit",
                system: str = "combined", per_theme: bool = True) -> pd.DataFrame:
    """P/R/F1 per theme plus ``micro`` and ``macro`` rows for parallel label lists.

    ``gold``/``pred``: per item, the theme ids. Macro = mean F1 over themes with gold support
    > 0. Returns rows with COLUMNS.
    """
    labels = labels or {}
    rows, f1s = [], []
    TP = FP = FN = 0
    for tid in theme_ids:
        tp = sum(tid in g and tid in p for g, p in zip(gold, pred, strict=False))
        fp = sum(tid not in g and tid in p for g, p in zip(gold, pred, strict=False))
        fn = sum(tid in g and tid not in p for g, p in zip(gold, pred, strict=False))
        TP, FP, FN = TP + tp, FP + fp, FN + fn
        p, r, f = prf(tp, fp, fn)
        if tp + fn:
            f1s.append(f)
        if per_theme:
            rows.append([level, system, tid, labels.get(tid, tid), p, r, f, tp + fn, tp + fp])
    p, r, f = prf(TP, FP, FN)
    rows.append([level, system, "micro", "micro (toutes les étiquettes)", p, r, f, TP + FN,
                 TP + FP])
    rows.append([level, system, "macro", "macro (moyenne des thèmes)", np.nan, np.nan,
                 float(np.mean(f1s)) if f1s else 0.0, TP + FN, TP + FP])
    return pd.DataFrame(rows, columns=COLUMNS)


def _doc_presence(doc_ids: list[str], labels: list[list[str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for d, lab in zip(doc_ids, labels, strict=False):
        out.setdefault(d, set()).update(lab)
    return out


def cross_validate(frame: pd.DataFrame, labels: list[list[str]], codebook, matcher=None
                   ) -> dict[str, list[list[str]]]:
    """Leave-one-document-out predictions for every row of ``frame``.

    Each document is predicted by a model trained on the other documents only (its settings
    and threshold chosen inside those). Returns ``{"combined": [...], "vocabulary": [...],
    "dictionary": [...]}``, one label list per row: the combined system, the codebook's own
    vocabulary rule (a decisive term or two supporting ones, no negative cue) and the plain
    dictionary (any term of the theme).
    """
    frame = frame.reset_index(drop=True)
    matcher = matcher if matcher is not None else build_matcher(codebook)
    docs = frame["doc_id"].astype(str).to_numpy()
    combined: list[list[str]] = [[] for _ in range(len(frame))]
    for d in sorted(set(docs)):
        tr, te = np.where(docs != d)[0], np.where(docs == d)[0]
        model = train(frame.iloc[tr], [labels[i] for i in tr], codebook, matcher=matcher)
        for i, lab in zip(te, predict_labels(model, frame.iloc[te]), strict=False):
            combined[i] = lab
    return {"combined": combined,
            "vocabulary": vocabulary_labels(matcher, frame, rule="codebook"),
            "dictionary": vocabulary_labels(matcher, frame, rule="any")}


def score_systems(frame: pd.DataFrame, labels: list[list[str]],
                  preds: dict[str, list[list[str]]], codebook) -> pd.DataFrame:
    """Unit-level (per theme, micro, macro) and document-presence (micro, macro) rows for each
    system of ``preds`` against the gold ``labels`` of the rows of ``frame``."""
    ids = [t.id for t in codebook]
    names = {t.id: t.label for t in codebook}
    docs = frame["doc_id"].astype(str).tolist()
    gold_docs = _doc_presence(docs, labels)
    tables = []
    for system, pred in preds.items():
        tables.append(score_table(labels, pred, ids, names, "unit", system))
        pred_docs = _doc_presence(docs, pred)
        keys = sorted(gold_docs)
        tables.append(score_table([sorted(gold_docs[k]) for k in keys],
                                  [sorted(pred_docs.get(k, set())) for k in keys],
                                  ids, names, "document", system, per_theme=False))
    out = pd.concat(tables, ignore_index=True)
    out.attrs["n_units"] = len(frame)
    out.attrs["n_documents"] = len(gold_docs)
    return out


def evaluate(frame: pd.DataFrame, labels=None, codebook=None, matcher=None) -> pd.DataFrame:
    """Leave-one-document-out evaluation table.

    ``frame``: classify frame rows (doc_id, lemmas, tokens, text, context…) of annotated units;
    ``labels``: their human theme lists. The runner's form ``evaluate(matched, codebook)`` is
    accepted too: labels are then read from ``frame["themes_human"]``.
    Returns rows (COLUMNS) for ``level`` "unit" (per theme, micro, macro) and "document"
    (theme presence per document: micro, macro), for each system of :func:`cross_validate`.
    """
    if codebook is None and labels is not None and labels and hasattr(labels[0], "terms"):
        codebook, labels = labels, None
    if labels is None:
        labels = [split_themes(t) for t in frame["themes_human"]]
    frame = frame.reset_index(drop=True)
    ids = [t.id for t in codebook]
    labels = [[t for t in lab if t in ids] for lab in labels]
    out = score_systems(frame, labels, cross_validate(frame, labels, codebook, matcher),
                        codebook)
    out.insert(0, "split", "lodo")
    return out


#: Ablations scored on held-out documents: model features used, decisive rule.
ABLATIONS = {
    "model": {"blocks": ("text",), "decisive": False},
    "model+context": {"blocks": ("text", "context"), "decisive": False},
    "combined+vocabulary": {"blocks": ("text", "context", "vocabulary"), "decisive": None},
}


def context_labels(matcher, frame: pd.DataFrame) -> list[list[str]]:
    """Context-only baseline: the themes with a decisive term in the unit's ancestors' titles."""
    from pipeline.classify.model import _vocab_hits

    _, ctx = _vocab_hits(frame.reset_index(drop=True), matcher)
    return [[t for t, hits in hm.items() if any(h.strength == "decisive" for h in hits)]
            for hm in ctx]


def heldout(train_frame: pd.DataFrame, train_labels: list[list[str]], test_frame: pd.DataFrame,
            test_labels: list[list[str]], codebook, matcher=None
            ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train on ``train_frame`` (every training document), score ``test_frame`` (held-out
    documents, never used to choose anything). Returns ``(table, reliability)``: the scores of
    the combined system, the vocabulary rule, the plain dictionary, the context-only baseline
    and the ablations of :data:`ABLATIONS`; and the reliability table of the combined
    system's scores (:func:`reliability`)."""
    from pipeline.classify.model import predict_scores

    matcher = matcher if matcher is not None else build_matcher(codebook)
    ids = [t.id for t in codebook]
    train_labels = [[t for t in lab if t in ids] for lab in train_labels]
    test_labels = [[t for t in lab if t in ids] for lab in test_labels]
    test_frame = test_frame.reset_index(drop=True)
    model = train(train_frame, train_labels, codebook, matcher=matcher)
    preds = {"combined": predict_labels(model, test_frame)}
    S = predict_scores(model, test_frame)
    for name, kw in ABLATIONS.items():
        m = train(train_frame, train_labels, codebook, matcher=matcher, **kw)
        preds[name] = predict_labels(m, test_frame)
    preds["vocabulary"] = vocabulary_labels(matcher, test_frame, rule="codebook")
    preds["dictionary"] = vocabulary_labels(matcher, test_frame, rule="any")
    preds["context"] = context_labels(matcher, test_frame)
    table = score_systems(test_frame, test_labels, preds, codebook)
    table.insert(0, "split", "heldout")
    Y = np.array([[t in lab for t in ids] for lab in test_labels], dtype=bool)
    rel = reliability(S, Y, model.threshold)
    table.attrs["settings"] = dict(model.settings)
    return table, rel


RELIABILITY_BINS = (0.1, 0.3, 0.5, 0.7, 0.9, 1.0001)


def reliability(scores: np.ndarray, gold: np.ndarray, threshold: float) -> pd.DataFrame:
    """Calibration check: every (unit, theme) pair with a score ≥ 0.1, binned by score.
    Columns ``bin, n_pairs, mean_score, share_right`` (share of the pairs whose theme the
    human gave) and ``n_assigned`` (pairs at or above the threshold)."""
    rows = []
    s, g = scores.reshape(-1), gold.reshape(-1)
    for lo, hi in zip(RELIABILITY_BINS[:-1], RELIABILITY_BINS[1:], strict=True):
        m = (s >= lo) & (s < hi)
        n = int(m.sum())
        rows.append({"bin": f"{lo:.1f}–{min(hi, 1.0):.1f}", "n_pairs": n,
                     "mean_score": float(s[m].mean()) if n else np.nan,
                     "share_right": float(g[m].mean()) if n else np.nan,
                     "n_assigned": int((m & (s >= threshold)).sum())})
    return pd.DataFrame(rows)


SYSTEM_NAMES = {
    "combined": "combiné (modèle + contexte + termes décisifs)",
    "model": "modèle seul (lemmes de l'unité)",
    "model+context": "modèle + contexte",
    "combined+vocabulary": "combiné + traits de vocabulaire",
    "vocabulary": "vocabulaire seul (règle de la grille)",
    "dictionary": "dictionnaire simple (un terme suffit)",
    "context": "contexte seul (titres parents)",
}


def format_summary(table: pd.DataFrame) -> str:
    """One line per (split, system): unit precision / recall / micro-F1 / macro-F1 and
    document presence micro-F1, in percent."""
    def pct(x):
        return "   –" if pd.isna(x) else f"{100 * x:4.0f}"

    lines = [f"{'système':<44} {'préc.':>5} {'rappel':>6} {'micro':>5} {'macro':>5} "
             f"{'présence':>8}"]
    for system in dict.fromkeys(table["system"]):
        sub = table[table["system"] == system]
        um = sub[(sub["level"] == "unit") & (sub["theme"] == "micro")].iloc[0]
        uM = sub[(sub["level"] == "unit") & (sub["theme"] == "macro")].iloc[0]
        dm = sub[(sub["level"] == "document") & (sub["theme"] == "micro")].iloc[0]
        lines.append(f"{SYSTEM_NAMES.get(system, system)[:44]:<44} {pct(um.precision):>5} "
                     f"{pct(um.recall):>6} {pct(um.f1):>5} {pct(uM.f1):>5} {pct(dm.f1):>8}")
    return "\n".join(lines)


def format_table(table: pd.DataFrame) -> str:
    """The evaluation table as readable French text (one block per level and system)."""
    def pct(x):
        return "   –" if pd.isna(x) else f"{100 * x:4.0f}"

    lines = ["Évaluation « un document laissé de côté » (entraînement sur les autres documents)"]
    if table.attrs.get("n_units"):
        lines.append(f"{table.attrs['n_units']} unités annotées, "
                     f"{table.attrs.get('n_documents', '?')} documents")
    lines += ["", format_summary(table)]
    for level, title in (("unit", "Par unité"),):
        for system in ("combined", "dictionary"):
            sub = table[(table["level"] == level) & (table["system"] == system)]
            if sub.empty:
                continue
            lines += ["", f"{title} — {SYSTEM_NAMES.get(system, system)}",
                      f"{'thème':<48} {'préc.':>5} {'rappel':>6} {'F1':>4} {'effectif':>8}"]
            for r in sub.itertuples(index=False):
                lines.append(f"{str(r.label)[:48]:<48} {pct(r.precision):>5} {pct(r.recall):>6} "
                             f"{pct(r.f1):>4} {int(r.support):>8}")
    return "\n".join(lines)


def format_reliability(rel: pd.DataFrame) -> str:
    """The reliability table in French."""
    lines = [f"{'score':<10} {'paires':>7} {'score moyen':>12} {'part juste':>11} "
             f"{'attribuées':>10}"]
    for r in rel.itertuples(index=False):
        ms = "–" if pd.isna(r.mean_score) else f"{r.mean_score:.2f}"
        sr = "–" if pd.isna(r.share_right) else f"{r.share_right:.2f}"
        lines.append(f"{r.bin:<10} {r.n_pairs:>7} {ms:>12} {sr:>11} {r.n_assigned:>10}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Evaluate on an annotations CSV (default corpus/annotations.csv) and print the table."""
    from pipeline.classify.annotations import load_annotations
    from pipeline.classify.codebook import load_codebook
    from pipeline.classify.model import annotation_frame
    from pipeline.models import NON_CONTENT_KINDS

    argv = sys.argv[1:] if argv is None else argv
    path = argv[0] if argv else "corpus/annotations.csv"
    ann = load_annotations(path)
    if ann is None:
        print(f"erreur : pas d'annotations ({path})", file=sys.stderr)
        return 2
    ann = ann[~ann["kind"].isin(NON_CONTENT_KINDS)].reset_index(drop=True)
    codebook = load_codebook()
    frame = annotation_frame(ann)
    table = evaluate(frame, [split_themes(t) for t in ann["themes"]], codebook)
    print(format_table(table))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
