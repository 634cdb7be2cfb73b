"""``make evaluate``: leave-one-document-out on the training annotations, then the held-out
declarations, printed in French and written as CSV."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from pipeline import io
from pipeline.outdir import EXIT_USAGE, owned
from pipeline.steps.read import read_corpus
from pipeline.steps.themes import cached_lemmatiser, read_annotations


def run_evaluation(corpus: Path, out: Path, *, annotations: Path | None = None,
                   heldout: Path | None = None, lodo: bool = True, n_process: int = 2,
                   quiet: bool = False, force: bool = False, wait: bool = False) -> int:
    """``make evaluate``: leave-one-document-out on the training annotations (shipped + the
    folder's), then the held-out declarations of ``heldout`` (their ``annotations.csv``) scored
    by a model trained on every training annotation.

    Prints the French tables; writes ``out/evaluation.csv`` (column ``split``: ``lodo`` /
    ``heldout``) and ``out/evaluation_reliability.csv``; returns an exit code. ``out`` is
    claimed and locked as in :func:`analyze` (``force``, ``wait``).
    """
    with owned(Path(out), None, force, wait):
        return _run_evaluation(corpus, out, annotations=annotations, heldout=heldout, lodo=lodo,
                               n_process=n_process, quiet=quiet)


def _run_evaluation(corpus: Path, out: Path, *, annotations: Path | None,
                    heldout: Path | None, lodo: bool, n_process: int, quiet: bool) -> int:
    """:func:`run_evaluation` once ``out`` is claimed and locked."""
    from pipeline.classify import evaluate as ev
    from pipeline.classify import match_annotations, split_themes, unit_frame
    from pipeline.classify.codebook import load_codebook
    from pipeline.classify.model import annotation_frame, training_annotations

    corpus, out = Path(corpus), Path(out)
    annotations = annotations or corpus / "annotations.csv"
    folder_ann = annotations if Path(annotations).is_file() else None
    ann = training_annotations(folder_ann)
    if len(ann) == 0:
        print("erreur : aucune annotation (ni livrée ni dans le dossier) : annotez d'abord des "
              "unités", file=sys.stderr)
        return EXIT_USAGE
    codebook = load_codebook()
    cache = out / ".cache"
    cache.mkdir(parents=True, exist_ok=True)
    frame = annotation_frame(ann, cached_lemmatiser(cache))
    labels = [split_themes(t) for t in ann["themes"]]
    tables = []
    if lodo:
        table = ev.evaluate(frame, labels, codebook)
        tables.append(table)
        print(f"Validation croisée (un document laissé de côté) : {table.attrs['n_units']} "
              f"unités annotées de {table.attrs['n_documents']} déclarations d'entraînement")
        print(ev.format_table(table))
    rel = None
    heldout = Path(heldout) if heldout else None
    if heldout is not None and (heldout / "annotations.csv").is_file():
        read = read_corpus(heldout, cache, n_process=n_process, quiet=quiet)
        test = unit_frame(read.units, read.nlp)
        h_ann = read_annotations(heldout / "annotations.csv")
        matched = match_annotations(test, h_ann)
        h_table, rel = ev.heldout(frame, labels, matched,
                                  [split_themes(t) for t in matched["themes_human"]], codebook)
        tables.append(h_table)
        print(f"\nDéclarations mises de côté ({heldout}) : {len(matched)} unités appariées sur "
              f"{len(h_ann)} annotées, {h_table.attrs['n_documents']} déclarations ; modèle "
              f"entraîné sur les {len(frame)} unités d'entraînement")
        print(ev.format_summary(h_table))
        sub = h_table[(h_table["system"] == "combined") & (h_table["level"] == "unit")]
        print("\nPar thème (combiné, mises de côté) :")
        for r in sub[sub["theme"] != "macro"].itertuples(index=False):
            print(f"  {str(r.label)[:44]:<44} P {100 * r.precision:4.0f}  R {100 * r.recall:4.0f}"
                  f"  F1 {100 * r.f1:4.0f}  n={int(r.support)}")
        print("\nFiabilité des scores (mises de côté, paires unité × thème de score ≥ 0,1) :")
        print(ev.format_reliability(rel))
    elif heldout is not None:
        print(f"(pas de déclarations mises de côté dans {heldout})")
    if not tables:
        return 0
    io.write_table(pd.concat(tables, ignore_index=True), out / "evaluation", parquet=False)
    if rel is not None:
        io.write_table(rel, out / "evaluation_reliability", parquet=False)
    print(f"\nÉcrit : {out / 'evaluation.csv'}")
    return 0
