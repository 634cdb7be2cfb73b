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

SYSTEMS = {"combined": "combiné (vocabulaire + modèle + contexte)",
           "vocabulary": "vocabulaire seul"}
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

    Each document is predicted by a model trained on the other documents only (its threshold
    tuned inside those). Returns ``{"combined": [...], "vocabulary": [...]}``, one label list
    per row.
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
    return {"combined": combined, "vocabulary": vocabulary_labels(matcher, frame)}


def evaluate(frame: pd.DataFrame, labels=None, codebook=None, matcher=None) -> pd.DataFrame:
    """Leave-one-document-out evaluation table.

    ``frame``: classify frame rows (doc_id, lemmas, tokens, text, context…) of annotated units;
    ``labels``: their human theme lists. The runner's form ``evaluate(matched, codebook)`` is
    accepted too: labels are then read from ``frame["themes_human"]``.
    Returns rows (COLUMNS) for ``level`` "unit" (per theme, micro, macro) and "document"
    (theme presence per document: micro, macro), for ``system`` "combined" and "vocabulary".
    """
    if codebook is None and labels is not None and labels and hasattr(labels[0], "terms"):
        codebook, labels = labels, None
    if labels is None:
        labels = [split_themes(t) for t in frame["themes_human"]]
    frame = frame.reset_index(drop=True)
    ids = [t.id for t in codebook]
    names = {t.id: t.label for t in codebook}
    labels = [[t for t in lab if t in ids] for lab in labels]
    preds = cross_validate(frame, labels, codebook, matcher)
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


def format_table(table: pd.DataFrame) -> str:
    """The evaluation table as readable French text (one block per level and system)."""
    def pct(x):
        return "   –" if pd.isna(x) else f"{100 * x:4.0f}"

    lines = ["Évaluation « un document laissé de côté » (entraînement sur les autres documents)"]
    if table.attrs.get("n_units"):
        lines.append(f"{table.attrs['n_units']} unités annotées, "
                     f"{table.attrs.get('n_documents', '?')} documents")
    for level, title in (("unit", "Par unité"), ("document", "Présence des thèmes par document")):
        for system, sname in SYSTEMS.items():
            sub = table[(table["level"] == level) & (table["system"] == system)]
            if sub.empty:
                continue
            lines += ["", f"{title} — {sname}",
                      f"{'thème':<48} {'préc.':>5} {'rappel':>6} {'F1':>4} {'effectif':>8}"]
            for r in sub.itertuples(index=False):
                lines.append(f"{str(r.label)[:48]:<48} {pct(r.precision):>5} {pct(r.recall):>6} "
                             f"{pct(r.f1):>4} {int(r.support):>8}")
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
