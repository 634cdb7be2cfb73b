"""``analyze(corpus, out)``: what ``make analyze`` / ``python -m pipeline analyze`` run, as the
sequence of stages a person would draw:

1. read (``steps.read``): discover → ingest → segment → nlp, each document cached by content;
2. classify (``steps.themes``): the theme model and the labels of every content unit;
3. trace (``pipeline.trace``): declarations → strategic plans, declaration → next declaration;
4. compare (``pipeline.compare``): the comparison tables (declarations only, never plans);
5. export and report (``steps.write``, ``pipeline.report``): tables, workbook, QDPX, report,
   profiles — written atomically under ``out``.

Overlaps are declared with ``engine.parallel.in_background`` (the per-unit tables and the QDPX
export, the figures and the workbook are written by forked children while this process
compares and renders) and ``read_corpus(while_waiting=…)`` (work done while the language model
loads). When nothing changed since the last run, nothing is recomputed and no model is loaded.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from pipeline import io
from pipeline.engine.cache import code_version
from pipeline.engine.parallel import in_background
from pipeline.limits import DEFAULT as DEFAULT_LIMITS
from pipeline.limits import Limits
from pipeline.models import Document
from pipeline.outdir import EXIT_NOTHING_READ, EXIT_OK, EXIT_STRICT, owned
from pipeline.outdir import contains as outdir_contains
from pipeline.procs import install as _die_with_parent
from pipeline.results import RunResult
from pipeline.steps.evaluation import run_evaluation
from pipeline.steps.read import BACKGROUND_MAX_DOCS, ReadCorpus, read_corpus
from pipeline.steps.themes import (
    classify_cached,
    machine_labels,
    read_annotations,
    theme_model,
    with_labels,
)
from pipeline.steps.trace import trace_cached
from pipeline.steps.write import (
    STAGE_LABELS,
    figures_and_workbook,
    summary,
    write_tables,
    write_unit_outputs,
)

#: a person's review of the declaration → plan links (pipeline.trace.review.REVIEW_FILE; not
#: imported from there: a run with nothing to redo never loads the tracing stage)
REVIEW_FILE = "trace_review.csv"

_die_with_parent()  # every child forked from here dies with its parent (pipeline.procs)

__all__ = ["analyze", "run_evaluation", "summary", "STAGE_LABELS", "BACKGROUND_MAX_DOCS",
           "read_corpus", "ReadCorpus", "RunResult"]

def _documents(docs: list[Document], metadata_csv: Path | None) -> pd.DataFrame:
    """The documents table: metadata read from the texts, completed by ``metadata_csv`` (a
    malformed file raises ValueError naming it and the fix)."""
    from pipeline.ingest import documents_table

    return documents_table(docs, metadata_csv)


def _run_key(read: ReadCorpus, corpus: Path, metadata_csv: Path | None,
             annotations: Path | None, by: Sequence[str], report: bool,
             codebook: Path | None = None, limits: Limits | None = None,
             trace_review: Path | None = None) -> str:
    h = hashlib.sha256()
    for k in read.keys:
        h.update(k.encode())
    for p in (metadata_csv, annotations, codebook, trace_review):
        if p is not None and Path(p).is_file():
            h.update(Path(p).read_bytes())
    h.update(code_version(".").encode())
    h.update(f"{sorted(by)}|{report}".encode())
    if limits is not None and limits != DEFAULT_LIMITS:  # they decide what is read and shown
        h.update(repr(limits).encode())
    return h.hexdigest()


def declarations_only(documents: pd.DataFrame, units: pd.DataFrame
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The documents and units that are compared with each other: every document but the
    strategic plans (``doc_kind`` pst), which are traced against their declaration instead."""
    from pipeline.trace import without_plans

    keep = without_plans(documents)
    if keep is documents:
        return documents, units
    return keep, units[units["doc_id"].isin(keep["doc_id"])].reset_index(drop=True)


def _outputs_complete(out: Path, manifest: dict) -> bool:
    return all((out / f).is_file() for f in manifest.get("files", []))


def analyze(corpus: Path, out: Path, *, n_process: int = 2, cache_dir: Path | None = None,
            metadata_csv: Path | None = None, annotations: Path | None = None,
            by: Sequence[str] = (), strict: bool = False, quiet: bool = False,
            report: bool = True, ner: bool = True, codebook: Path | None = None,
            limits: Limits | None = None, follow_symlinks: bool = False, force: bool = False,
            wait: bool = False, trace_review: Path | bool | None = None) -> RunResult:
    """Analyse every declaration in ``corpus`` and write all outputs to ``out``.

    ``metadata_csv``, ``annotations`` and ``trace_review`` (links checked by a person,
    :mod:`pipeline.trace.review`) default to ``corpus/metadata.csv``,
    ``corpus/annotations.csv`` and ``corpus/trace_review.csv`` when those exist
    (``trace_review=False``: none). ``limits``: per-file limits and units shown in
    the report (``pipeline.limits``; defaults when None). ``follow_symlinks``: read files
    reached through symbolic links (skipped with a note otherwise). ``out`` must be new, empty
    or already the tool's (``force`` adopts another folder; see :func:`pipeline.outdir.claim`);
    one run at a time per ``out`` (``wait``: wait for the other one instead of refusing).
    Returns a RunResult; ``exit_code`` is 0, 2 when no document could be read, 1 with
    ``strict`` when at least one failed (``pipeline.outdir.EXIT_*``).
    """
    corpus, out = Path(corpus), Path(out)
    if not corpus.is_dir():
        raise FileNotFoundError(f"dossier introuvable : {corpus} (indiquez le dossier des déclarations)")
    with owned(out, corpus, force, wait):
        return _analyze(corpus, out, n_process=n_process, cache_dir=cache_dir,
                        metadata_csv=metadata_csv, annotations=annotations, by=by, strict=strict,
                        quiet=quiet, report=report, ner=ner, codebook=codebook, limits=limits,
                        follow_symlinks=follow_symlinks, trace_review=trace_review)


# The stage sequence itself, with its overlaps (≈150 lines): split further, the order of the
# steps and of the background children would no longer be visible in one place.
def _analyze(corpus: Path, out: Path, *, n_process: int, cache_dir: Path | None,
             metadata_csv: Path | None, annotations: Path | None, by: Sequence[str],
             strict: bool, quiet: bool, report: bool, ner: bool, codebook: Path | None,
             limits: Limits | None, follow_symlinks: bool,
             trace_review: Path | bool | None = None) -> RunResult:
    """:func:`analyze` once ``out`` is claimed and locked."""
    own_cache = not cache_dir  # OUT/.cache: this run is its only user (the lock on OUT)
    cache_dir = Path(cache_dir) if cache_dir else out / ".cache"
    if metadata_csv is None and (corpus / "metadata.csv").is_file():
        metadata_csv = corpus / "metadata.csv"
    if annotations is None and (corpus / "annotations.csv").is_file():
        annotations = corpus / "annotations.csv"
    if trace_review is None:  # corpus/trace_review.csv, whatever the case of its name
        trace_review = next((p for p in sorted(corpus.iterdir())
                             if p.name.lower() == REVIEW_FILE and p.is_file()), None)
    elif trace_review is False:  # the links as found, e.g. to score them against gold links
        trace_review = None
    elif not Path(trace_review).is_file():
        raise FileNotFoundError(f"{trace_review} introuvable : indiquez le fichier des liens "
                                "relus (--trace-review), ou retirez l'option")
    t_start = time.perf_counter()
    for folder in {out, cache_dir}:  # temporaries left by an interrupted run
        io.remove_stale_temporaries(folder)

    early: dict[str, object] = {}

    def while_waiting(docs, units):  # while the spaCy model loads in the background
        from pipeline.compare import find_shared

        early["ann_df"] = read_annotations(annotations)
        early["model"] = theme_model(cache_dir, codebook, annotations, threads=n_process)
        early["documents"] = _documents(docs, metadata_csv)
        # shared passages need the texts only (the longest table to build on a large corpus)
        compared, compared_units = declarations_only(early["documents"], units)
        early["shared"] = find_shared(compared, compared_units)

    # 1. read: discover → ingest → segment → nlp (the theme model loads meanwhile)
    read = read_corpus(corpus, cache_dir, n_process=n_process, ner=ner, quiet=quiet,
                           while_waiting=while_waiting, limits=limits,
                           follow_symlinks=follow_symlinks)
    timings = dict(read.timings)
    if read.failed_nlp:  # built while those documents still looked fine
        early.pop("documents", None)
        early.pop("shared", None)
    run_key = _run_key(read, corpus, metadata_csv, annotations, by, report, codebook,
                       limits, trace_review)
    manifest_path = out / ".manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    if manifest.get("run_key") == run_key and _outputs_complete(out, manifest):
        return _unchanged(out, read, timings, t_start, strict, quiet)

    from pipeline import compare

    documents = early["documents"] if "documents" in early else _documents(read.docs,
                                                                           metadata_csv)
    units, nlp_df = read.units, read.nlp
    unknown = [c for c in by if c not in documents.columns]
    if unknown:
        raise ValueError(f"colonne(s) --by inconnue(s) : {', '.join(unknown)} ; colonnes "
                         f"disponibles : {', '.join(documents.columns)} (ajoutez-la à metadata.csv)")
    errors = [{"doc_id": d.doc_id, "source_file": Path(d.source_file).name, "error": d.error}
              for d in read.docs if d.status != "ok"]
    if not any(d.status == "ok" for d in read.docs):
        io.write_table(documents, out / "documents")  # say which files failed, and why
        timings["total"] = time.perf_counter() - t_start
        return RunResult(documents=documents, units=units, unit_themes=pd.DataFrame(),
                         nlp=nlp_df, errors=errors, warnings=read.warnings, timings=timings,
                         exit_code=EXIT_NOTHING_READ, out=out)

    # 2. classify: the theme of every content unit (and the machine's view of human labels)
    t = time.perf_counter()
    ann_df = early["ann_df"] if "ann_df" in early else read_annotations(annotations)
    if annotations is not None:
        from pipeline.classify.annotations import annotation_notes

        for note in annotation_notes(ann_df, list(documents["doc_id"]), Path(annotations).name):
            print(f"attention : {note}", file=sys.stderr)
    model, codebook_themes, model_key = (early["model"] if "model" in early
                                         else theme_model(cache_dir, codebook, annotations,
                                                          threads=n_process))
    doc_keys = {d.doc_id: k for d, k in zip(read.docs, read.keys, strict=True)}
    unit_themes, themes, candidates = classify_cached(units, nlp_df, model, codebook_themes,
                                                      ann_df, doc_keys, model_key, cache_dir,
                                                      n_process=n_process)
    machine_themes = machine_labels(units, nlp_df, themes, cache_dir, codebook, doc_keys,
                                    n_process=n_process)
    units = with_labels(units, themes, machine_themes)
    timings["classify"] = time.perf_counter() - t

    # 3. trace: declarations → strategic plans, and one CPAS's declarations between them
    t = time.perf_counter()
    traced = trace_cached(documents, units, nlp_df, unit_themes, cache_dir=cache_dir,
                          doc_keys=doc_keys, by=by, quiet=quiet, review_csv=trace_review,
                          theme_labels={t.id: t.label for t in codebook_themes},
                          prune=own_cache, n_process=n_process)
    timings["trace"] = time.perf_counter() - t
    # plans are traced, never compared with declarations (theme shares, peers, similarity)
    compared, compared_units = declarations_only(documents, units)
    compared_themes = unit_themes[unit_themes["doc_id"].isin(compared["doc_id"])] \
        if len(unit_themes) else unit_themes

    # the per-unit tables and the QDPX export do not need the comparison tables: a forked child
    # writes them on the other core while this process compares and writes the report
    t = time.perf_counter()
    texts = {d.doc_id: d.text for d in read.docs if d.status == "ok"}
    review = (model.threshold, candidates)  # the review table is built by the child
    export = in_background(write_unit_outputs, out, read.docs, documents, units, nlp_df,
                           unit_themes, review, texts, codebook_themes, report, machine_themes,
                           label="écriture des tables par unité et de l'export QDPX",
                           parallel=n_process > 1)

    children = [export]
    try:
        # 4. compare (declarations only), then the trace tables join the comparison tables
        tables = compare.build_tables(compared, compared_units, nlp_df, compared_themes,
                                      codebook_themes, by=list(by), shared=early.get("shared"))
        tables.update(traced)
        timings["compare"] = time.perf_counter() - t
        # the figures and the workbook need the tables only: a second child draws and writes
        # them meanwhile (one child, not two: every forked child counts in the peak memory)
        side = in_background(figures_and_workbook, out, tables, documents, units, unit_themes,
                             codebook_themes, report, label="figures et classeur Excel",
                             parallel=n_process > 1)
        children.append(side)

        # 5. export and report
        t = time.perf_counter()
        written = write_tables(out, tables)
        timings["write"] = time.perf_counter() - t
        if report:
            from pipeline import report as rep
            from pipeline.report.profile import write_all_profiles

            t = time.perf_counter()
            benchmarks = compare.benchmark_all(tables)
            finish = rep.prepare_html(tables, compared, compared_units, compared_themes,
                                      codebook_themes, benchmarks, model.training,
                                      max_units=(limits or DEFAULT_LIMITS).report_max_units)
            written += write_all_profiles(out, RunResult(
                documents=compared, units=compared_units, unit_themes=compared_themes,
                nlp=nlp_df, tables=tables), codebook_themes)
            (pngs, book_written), timings["figures_workbook_parallel"] = side()
            written += book_written + [f"figures/{p.name}" for p in rep.write_figures(out, pngs)]
            io.write_text(out / "report.html", finish(pngs))
            written.append("report.html")
            timings["report"] = time.perf_counter() - t
    except BaseException:
        for child in children:  # do not leave a child behind; this error is the one to report
            child.cancel()
        raise
    t = time.perf_counter()
    child_written, timings["export_parallel"] = export()
    written += child_written
    if not report:
        (_, book_written), timings["figures_workbook_parallel"] = side()
        written += book_written
    timings["export_wait"] = time.perf_counter() - t

    exit_code = _exit_code(read.docs, strict)
    timings["total"] = time.perf_counter() - t_start
    n_words = int(sum(d.n_words for d in read.docs))
    n_pages = int(sum(d.n_pages for d in read.docs))
    written.append(_write_run_json(out, read, errors, units, n_words, n_pages, model,
                                   timings))
    _write_manifest(out, manifest, run_key, written)
    return RunResult(documents=documents, units=units, unit_themes=unit_themes, nlp=nlp_df,
                     tables=tables, errors=errors, warnings=read.warnings, timings=timings,
                     n_words=n_words, n_pages=n_pages, exit_code=exit_code, out=out,
                     machine_themes=machine_themes)


def _unchanged(out: Path, read: ReadCorpus, timings: dict[str, float], t_start: float,
               strict: bool, quiet: bool) -> RunResult:
    """The previous run's results, read back (nothing changed since: same inputs and code)."""
    from pipeline.results import load_results

    result = load_results(out)
    result.skipped = True
    result.warnings = read.warnings
    result.n_words = int(sum(d.n_words for d in read.docs))
    result.n_pages = int(sum(d.n_pages for d in read.docs))
    result.exit_code = _exit_code(read.docs, strict)
    result.timings = {**timings, "total": time.perf_counter() - t_start}
    if not quiet:
        print(f"Rien n'a changé depuis la dernière analyse : résultats inchangés dans {out}/",
              file=sys.stderr)
    return result


def _write_run_json(out: Path, read: ReadCorpus, errors: list, units: pd.DataFrame,
                    n_words: int, n_pages: int, model, timings: dict[str, float]) -> str:
    """``run.json``: counts, the theme model's training data and settings, times per stage."""
    io.write_json(out / "run.json", {
        "n_docs": len(read.docs), "n_errors": len(errors), "n_units": int(len(units)),
        "n_words": n_words, "n_pages": n_pages, "model_loaded": read.model_loaded,
        "theme_model": {**model.training, **model.settings},
        "timings_s": {k: round(v, 3) for k, v in timings.items()}})
    return "run.json"


def _write_manifest(out: Path, manifest: dict, run_key: str, written: list[str]) -> None:
    """Remove what the previous run wrote and this one did not (only files our own manifest
    listed, only inside ``out``), then record this run's files and key."""
    for stale in set(manifest.get("files", [])) - set(written):  # e.g. an old by_<col> table
        path = out / stale
        if path.is_file() and not path.is_symlink() and outdir_contains(out, path):
            path.unlink()
    io.write_json(out / ".manifest.json", {"run_key": run_key, "files": sorted(written)})


def _exit_code(docs: list[Document], strict: bool) -> int:
    """2 when no document could be read; 1 with ``strict`` when any failed; else 0."""
    n_ok = sum(d.status == "ok" for d in docs)
    if n_ok == 0:
        return EXIT_NOTHING_READ
    return EXIT_STRICT if strict and n_ok < len(docs) else EXIT_OK
