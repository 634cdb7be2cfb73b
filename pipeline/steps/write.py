"""Writing a run's outputs: texts and per-unit tables, comparison tables, the workbook; the
French end-of-run summary."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline import io
from pipeline.models import NON_CONTENT_KINDS, Document
from pipeline.results import RunResult
from pipeline.steps.read import NLP_COLUMNS


def write_unit_outputs(out: Path, docs: list[Document], documents: pd.DataFrame,
                        units: pd.DataFrame, nlp_df: pd.DataFrame, unit_themes: pd.DataFrame,
                        review: tuple[float, list], texts: dict[str, str], codebook,
                        qdpx: bool, machine_themes: pd.DataFrame | None = None) -> list[str]:
    """Write the texts, the per-document and per-unit tables (CSV + Parquet), the review table
    (``review`` = the model's threshold and its rejected candidates) and (``qdpx``) the
    REFI-QDA export; ``machine_themes`` (the machine's labels of the human-labelled units,
    :func:`machine_labels`) is written as ``machine_themes`` when not empty. Returns the
    relative paths written."""
    from pipeline.classify import review_table

    written: list[str] = []
    texts_dir = out / "texts"
    for d in docs:  # texts of documents no longer in the corpus: removed with the manifest's
        if d.status == "ok":
            io.write_text(texts_dir / f"{d.doc_id}.txt", d.text)
            written.append(f"texts/{d.doc_id}.txt")
    for name, df in [("documents", documents), ("units", units), ("unit_themes", unit_themes)]:
        io.write_table(df, out / name)
        written += [f"{name}.csv", f"{name}.parquet"]
    if machine_themes is not None and len(machine_themes):
        io.write_table(machine_themes, out / "machine_themes")
        written += ["machine_themes.csv", "machine_themes.parquet"]
    threshold, candidates = review
    io.write_table(review_table(units, unit_themes, threshold=threshold, candidates=candidates),
                   out / "review", parquet=False)
    written.append("review.csv")
    io.write_table(nlp_df[[c for c in NLP_COLUMNS if c in nlp_df.columns]], out / "unit_nlp")
    written += ["unit_nlp.csv", "unit_nlp.parquet"]
    if qdpx:
        from pipeline.export.qdpx import export_date, export_qdpx

        # a real date, the same for every export of the same files: their newest mtime
        export_qdpx(documents, texts, units, unit_themes, codebook, out / "cpas-compare.qdpx",
                    created=export_date(d.source_file for d in docs if d.status == "ok"),
                    machine_themes=machine_themes)
        written.append("cpas-compare.qdpx")
    return written


def write_tables(out: Path, tables: dict[str, pd.DataFrame]) -> list[str]:
    """Write the comparison tables (CSV + Parquet); return the paths written."""
    written: list[str] = []
    for name, df in tables.items():
        io.write_table(df, out / name)
        written += [f"{name}.csv", f"{name}.parquet"]
    return written


def figures_and_workbook(out: Path, tables: dict[str, pd.DataFrame], documents: pd.DataFrame,
                         units: pd.DataFrame, unit_themes: pd.DataFrame, codebook,
                         figures: bool) -> tuple[dict[str, bytes] | None, list[str]]:
    """The report's figures (PNG bytes, when ``figures``), then the workbook: the work that
    needs the comparison tables only, for one background child. Returns ``(pngs or None,
    relative paths written)``."""
    pngs = None
    if figures:
        from pipeline.report import report_figures

        pngs = report_figures(tables, documents, codebook)
    from pipeline.export.workbook import write_workbook

    write_workbook(tables, out / "cpas-compare.xlsx", documents=documents, units=units,
                   unit_themes=unit_themes)
    return pngs, ["cpas-compare.xlsx"]


#: what the end-of-run summary calls each timed stage (``RunResult.timings`` keys)
STAGE_LABELS = {"ingest_segment": "lecture et découpage", "nlp": "analyse linguistique",
                "classify": "thèmes", "compare": "comparaisons", "write": "écriture des tableaux",
                "report": "rapport et profils",
                "export_parallel": "tables par unité et QDPX (en parallèle)",
                "figures_workbook_parallel": "figures et classeur Excel (en parallèle)",
                "export_wait": "attente des écritures parallèles", "total": "total"}


def summary(result: RunResult) -> str:
    """French end-of-run summary: documents read/failed (with reasons), units, time per stage."""
    docs = result.documents
    n_ok = int((docs["status"] == "ok").sum()) if len(docs) else 0
    units = result.units
    content = units[~units["kind"].isin(NON_CONTENT_KINDS)] if len(units) else units
    lines = [
        f"Documents lus : {n_ok} / {len(docs)}"
        + (f" — {len(result.errors)} en erreur" if result.errors else ""),
        f"Unités : {len(units)} (dont {len(content)} de contenu, "
        f"{int((units['kind'] == 'objective').sum()) if len(units) else 0} objectifs) ; "
        f"mots : {result.n_words} ; pages : {result.n_pages}",
    ]
    if result.timings:
        lines.append("Temps : " + ", ".join(f"{STAGE_LABELS.get(k, k)} {v:.1f} s"
                                            for k, v in result.timings.items()))
    for w in result.warnings:
        lines.append(f"Attention : {w}")
    for e in result.errors:
        lines.append(f"ERREUR {e['source_file']} : {e['error']}")
    if result.out is not None:
        report = result.out / "report.html"
        lines.append(f"Résultats dans {result.out}/"
                     + (f" (rapport : {report})" if report.is_file() else ""))
    return "\n".join(lines)
