"""Speed and memory benchmark (``make benchmark`` → ``python -m pipeline perf``).

``run_benchmark(out)`` generates a synthetic corpus (``pipeline.synth``), analyses it three
times in subprocesses exactly as a user would (``python -m pipeline analyze``): cold (empty
cache), warm (nothing changed) and with one declaration added; samples the memory of the
whole process tree meanwhile; then times, in this process, the bare work the pipeline cannot
avoid: loading the spaCy model + ``nlp.pipe`` over the same unit texts, and pdfplumber text
extraction of every PDF page (what the ingest uses; pypdfium2 timed too, for comparison).  Writes ``out/benchmark.json`` and prints a French/English
summary with each figure against its target (OK / DÉPASSÉ).
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from pipeline import io

REPO = Path(__file__).resolve().parents[1]

#: Targets on an ordinary 2-core laptop (issue 6); "ratio" is pipeline / bare work.
TARGETS = {
    "cold_s": 90.0,
    "warm_s": 3.0,
    "add_one_s": 10.0,
    "peak_rss_mb": 2048.0,
    "ratio_to_bare": 1.5,
    "trace_s": 10.0,
    "trace_step_s": 10.0,
}

LABELS = {
    "cold_s": "Analyse à froid / cold run (s)",
    "warm_s": "Relance sans changement / warm run (s)",
    "add_one_s": "Ajout d'une déclaration / add one (s)",
    "correct_label_s": "Correction d'un label / correct one label (s)",
    "peak_rss_mb": "Mémoire max. / peak RSS, process tree (Mo/MB)",
    "ratio_to_bare": "Pipeline ÷ travail nu / pipeline ÷ bare",
    "trace_s": "Suivi DPS → PST, 300 paires / tracing 300 pairs (s)",
    "trace_step_s": "  idem, étape de make analyze / as analyze runs it (s)",
}


# --------------------------------------------------------------------------- process tree memory


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue
        # the command name may contain spaces/parentheses: fields restart after the last ")"
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 1:
            kids.setdefault(int(fields[1]), []).append(int(entry))
    return kids


def _direct_children(pid: int) -> list[int] | None:
    """Children of ``pid`` from /proc/<pid>/task/*/children (cheap), None if unavailable."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    kids: list[int] = []
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", encoding="ascii") as f:
                kids += [int(x) for x in f.read().split()]
        except FileNotFoundError:
            return None  # kernel without CONFIG_PROC_CHILDREN
        except OSError:
            continue
    return kids


def tree_pids(pid: int) -> list[int]:
    """``pid`` and all its live descendants (read from /proc; Linux only)."""
    kids_map: dict[int, list[int]] | None = None
    out, stack = [], [pid]
    while stack:
        p = stack.pop()
        out.append(p)
        kids = _direct_children(p)
        if kids is None:  # fall back to one scan of every /proc/<pid>/stat
            kids_map = kids_map if kids_map is not None else _children_map()
            kids = kids_map.get(p, [])
        stack.extend(kids)
    return out


def _status_kb(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def tree_memory_kb(pid: int, pss: bool = True) -> tuple[int, int]:
    """(sum of VmRSS, sum of PSS) in KiB over ``pid`` and its descendants, now.

    RSS counts pages shared between forked workers once per process (an upper bound);
    PSS splits them (what the tree really costs; 0 unless ``pss``).  (0, 0) without /proc.
    """
    if not os.path.isdir("/proc"):
        return 0, 0
    rss = pss_kb = 0
    for p in tree_pids(pid):
        rss += _status_kb(p, "VmRSS")
        if pss:  # smaps_rollup walks every mapping: costlier, sampled less often
            pss_kb += _pss_kb(p)
    return rss, pss_kb


@dataclass
class Measured:
    """One subprocess run: wall time, exit code, output, peak memory of its process tree."""

    wall_s: float
    returncode: int
    stdout: str
    stderr: str
    peak_rss_mb: float
    peak_pss_mb: float
    samples: int = 0
    rusage_maxrss_mb: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)


def run_measured(cmd: list[str], *, cwd: Path | None = None, env: dict | None = None,
                 interval: float = 0.2, timeout: float | None = None) -> Measured:
    """Run ``cmd`` to completion, sampling its process tree's memory every ``interval`` s.

    Returns a ``Measured``; ``peak_rss_mb`` is the larger of the sampled tree RSS peak and
    the largest ``ru_maxrss`` of a child waited for during this run
    (``getrusage(RUSAGE_CHILDREN)``, which covers processes too short-lived to be sampled).
    """
    ru_before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    with tempfile.TemporaryFile("w+", encoding="utf-8") as fout, \
            tempfile.TemporaryFile("w+", encoding="utf-8") as ferr:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=fout, stderr=ferr)
        peak = [0, 0, 0]
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                rss, pss = tree_memory_kb(proc.pid, pss=peak[2] % 5 == 0)
                peak[0], peak[1] = max(peak[0], rss), max(peak[1], pss)
                peak[2] += 1
                stop.wait(interval)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            returncode = proc.wait(timeout=timeout)
        finally:
            stop.set()
            sampler.join()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        wall = time.perf_counter() - t0
        fout.seek(0)
        ferr.seek(0)
        stdout, stderr = fout.read(), ferr.read()
    ru_after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # a max over every child ever waited for: it belongs to this run only if it grew
    ru = ru_after / 1024 if ru_after > ru_before else 0.0  # KiB → MiB on Linux
    return Measured(wall_s=wall, returncode=returncode, stdout=stdout, stderr=stderr,
                    peak_rss_mb=max(peak[0] / 1024, ru), peak_pss_mb=peak[1] / 1024,
                    samples=peak[2], rusage_maxrss_mb=ru)


_TIMING = re.compile(r"([^,]+?) (\d+(?:\.\d+)?) s(?:,|$)")


def parse_timings(summary: str) -> dict[str, float]:
    """Stage timings from the ``Temps : stage 1.2 s, stage 3.4 s`` line of the run summary."""
    from pipeline.steps.write import STAGE_LABELS

    key_of = {label: key for key, label in STAGE_LABELS.items()}
    for line in summary.splitlines():
        if line.startswith("Temps"):
            return {key_of.get(k.strip(), k.strip()): float(v)
                    for k, v in _TIMING.findall(line.split(":", 1)[1])}
    return {}


def analyze_cmd(corpus: Path, out: Path, n_process: int) -> list[str]:
    """The command line a user runs (``python -m pipeline analyze``)."""
    return [sys.executable, "-m", "pipeline", "analyze", str(corpus), "--out", str(out),
            "--processes", str(n_process)]


def snapshot_code(dest: Path) -> Path:
    """Copy the ``pipeline`` package into ``dest/pipeline`` and return ``dest``.

    The cold, warm and add-one runs all import this frozen copy, so an edit of the source
    tree during the benchmark cannot invalidate the cache (its keys hash the code).
    """
    dest = Path(dest)
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(REPO / "pipeline", dest / "pipeline",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


def run_analysis(corpus: Path, out: Path, n_process: int, code: Path = REPO) -> Measured:
    """``python -m pipeline analyze corpus --out out`` in a subprocess, measured.

    ``code`` is the folder holding the ``pipeline`` package to run (default: this checkout).
    Raises RuntimeError (with the end of stderr) if it exits non-zero.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(code), env.get("PYTHONPATH", "")]))
    env.setdefault("TQDM_DISABLE", "1")
    m = run_measured(analyze_cmd(corpus, out, n_process), cwd=code, env=env)
    if m.returncode != 0:
        raise RuntimeError(f"`python -m pipeline analyze` failed (exit {m.returncode}):\n"
                           + m.stderr[-3000:])
    m.timings = parse_timings(m.stdout)
    return m


# --------------------------------------------------------------------------- bare work


def content_texts(out: Path) -> list[str]:
    """Texts of the content units of an analysed corpus (what the pipeline lemmatises)."""
    import pandas as pd

    from pipeline.models import NON_CONTENT_KINDS

    units = pd.read_csv(out / "units.csv", dtype=str, keep_default_na=False)
    keep = ~units["kind"].isin(NON_CONTENT_KINDS) & (units["text"].str.strip() != "")
    return units.loc[keep, "text"].tolist()


def bare_nlp(texts: list[str], n_process: int) -> tuple[float, float]:
    """(model load s, ``nlp.pipe`` s) with the pipeline's model and components."""
    from pipeline.nlp import get_nlp

    t0 = time.perf_counter()
    nlp = get_nlp(ner=True)
    t1 = time.perf_counter()
    for _ in nlp.pipe(texts, n_process=n_process, batch_size=64):
        pass
    return t1 - t0, time.perf_counter() - t1


def _pdf_text_pdfium(path: str) -> int:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(path)
    try:
        n = 0
        for i in range(len(pdf)):
            page = pdf[i]
            tp = page.get_textpage()
            tp.get_text_bounded()
            tp.close()
            page.close()
            n += 1
        return n
    finally:
        pdf.close()


def _pdf_text_plumber(path: str) -> int:
    import logging

    import pdfplumber

    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    n = 0
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            page.extract_text()
            page.close()
            n += 1
    return n


PDF_EXTRACTORS = {"pdfplumber": _pdf_text_plumber, "pypdfium2": _pdf_text_pdfium}


def bare_pdf(pdfs: list[Path], n_process: int, engine: str = "pdfplumber") -> tuple[float, int]:
    """(seconds, pages) to extract the text of every page of ``pdfs`` with ``engine``
    ("pdfplumber" ``extract_text``, what the ingest reads PDFs with, or "pypdfium2"
    ``get_text_bounded``), over ``n_process`` worker processes like the ingest stage."""
    extract = PDF_EXTRACTORS[engine]
    t0 = time.perf_counter()
    if n_process > 1 and len(pdfs) > 1:
        with ProcessPoolExecutor(max_workers=n_process) as pool:
            pages = sum(pool.map(extract, [str(p) for p in pdfs], chunksize=1))
    else:
        pages = sum(extract(str(p)) for p in pdfs)
    return time.perf_counter() - t0, pages


# --------------------------------------------------------------------------- the benchmark


def correct_label(annotations: Path) -> str:
    """Change the themes of one row of ``annotations`` (an annotations.csv), as a reviewer
    correcting a label does: add ``sante`` to the first labelled row without it (or drop it
    from the first one with it). Returns the row's text."""
    import pandas as pd

    ann = pd.read_csv(annotations, dtype=str, keep_default_na=False)
    themes = ann["themes"].str.split(";")
    labelled = ann.index[ann["themes"] != ""]
    row = next((i for i in labelled if "sante" not in themes[i]), labelled[0])
    new = [t for t in themes[row] if t != "sante"] if "sante" in themes[row] else themes[row] + ["sante"]
    ann.loc[row, "themes"] = ";".join(new)
    io.write_table(ann, annotations.with_suffix(""), parquet=False)
    return ann.loc[row, "text"]


def bare_trace(aout: Path, n_process: int = 2) -> tuple[float, float, int]:
    """Time the tracing stage on as many (declaration, plan) pairs as there are declarations
    in ``aout``: each declaration's plan stands in as the next declaration's units, renamed
    (the synthetic corpus has no plan; a plan has the size of a declaration). Returns
    (seconds of ``pipeline.trace.build_trace`` alone, one process, no cache; seconds of the
    step as ``make analyze`` runs it, ``steps.trace.trace_cached`` with ``n_process``
    processes and an empty pair cache that it fills; number of pairs)."""
    import pandas as pd

    from pipeline.results import load_results
    from pipeline.steps.trace import trace_cached
    from pipeline.trace import Pairs, build_trace

    res = load_results(aout)
    ids = res.documents.loc[res.documents["status"] == "ok", "doc_id"].tolist()
    if len(ids) < 2:
        return 0.0, 0.0, 0
    plan_of = {d: f"{d}--plan" for d in ids}
    nxt = dict(zip(ids, ids[1:] + ids[:1], strict=True))
    parts = {"units": [res.units], "nlp": [res.nlp], "themes": [res.unit_themes]}
    for key, df in (("units", res.units), ("nlp", res.nlp), ("themes", res.unit_themes)):
        copy = df[df["doc_id"].isin(ids)].copy()
        copy["doc_id"] = copy["doc_id"].map(lambda d: plan_of[nxt[d]])
        parts[key].append(copy)
    docs = pd.concat([res.documents, res.documents.assign(
        doc_id=res.documents["doc_id"].map(lambda d: plan_of.get(nxt.get(d, d), d)),
        doc_kind="pst")], ignore_index=True)
    units = pd.concat(parts["units"], ignore_index=True)
    nlp = pd.concat(parts["nlp"], ignore_index=True)
    themes = pd.concat(parts["themes"], ignore_index=True)
    pairs = Pairs(plans=[(d, plan_of[d]) for d in ids])
    t = time.perf_counter()
    build_trace(docs, units, nlp, themes, pairs=pairs)
    alone = time.perf_counter() - t
    # the step: the same pairs found from the documents' commune and mandate, cached per pair
    docs = docs.copy()
    docs["commune"] = docs["doc_id"].map(lambda d: d.removesuffix("--plan"))
    docs["mandate"] = "2025-2030"
    with tempfile.TemporaryDirectory(prefix="cpas-bench-trace-") as cache:
        t = time.perf_counter()
        out = trace_cached(docs, units, nlp, themes, cache_dir=Path(cache),
                           doc_keys={d: d for d in docs["doc_id"]}, quiet=True,
                           n_process=n_process)
        step = time.perf_counter() - t
    n_pairs = out["trace"][["dps_doc", "pst_doc"]].drop_duplicates().shape[0]
    if n_pairs != len(pairs.plans):
        raise RuntimeError(f"benchmark: the step traced {n_pairs} pairs, not {len(pairs.plans)}")
    return alone, step, len(pairs.plans)


def verdict(key: str, value: float) -> str:
    """"OK" if ``value`` meets the target of ``key``, "DÉPASSÉ" otherwise, "" if no target."""
    if key not in TARGETS:
        return ""
    return "OK" if value <= TARGETS[key] else "DÉPASSÉ"


def format_summary(res: dict) -> str:
    """French/English table of the benchmark figures with their targets."""
    lines = [
        f"Banc d'essai / benchmark : {res['n_docs']} déclarations synthétiques "
        f"({res['formats']}), {res['n_words']} mots/words, {res['n_pages']} pages PDF, "
        f"{res['n_process']} processus",
    ]
    for key, label in LABELS.items():
        value = res.get(key)
        if value is None:
            continue
        target = f"cible/target ≤ {TARGETS[key]:g}" if key in TARGETS else "(sans cible / no target)"
        lines.append(f"  {label:<50} {value:>9.2f}   {target}   {verdict(key, value)}".rstrip())
    lines += [
        f"  {'Débit / throughput (mots/s, words/s)':<50} {res['words_per_s']:>9.0f}",
        f"  {'Débit / throughput (pages/s)':<50} {res['pages_per_s']:>9.2f}",
        f"  {'Travail nu / bare: chargement modèle + nlp.pipe (s)':<50} "
        f"{res['bare_nlp_load_s'] + res['bare_nlp_s']:>9.2f}",
        f"  {'Travail nu / bare: extraction PDF (s)':<50} {res['bare_pdf_s']:>9.2f}",
        "  Étapes à froid / cold stages (s) : "
        + ", ".join(f"{k} {v:.1f}" for k, v in res.get("timings_cold", {}).items()),
    ]
    return "\n".join(lines)


def run_benchmark(out: Path, n_docs: int = 300, workdir: Path | None = None,
                  n_process: int = 2, seed: int = 0) -> dict:
    """Generate ``n_docs`` synthetic declarations, analyse them cold / warm / plus one, time
    the bare NLP and PDF work, write ``out/benchmark.json``, print the summary, return the dict.

    ``workdir`` holds the synthetic corpus, a frozen copy of the code (``snapshot_code``) and
    the analysis outputs (default: a temporary folder, deleted afterwards).  Keys: n_docs, n_words, n_pages, cold_s, warm_s, add_one_s,
    peak_rss_mb (whole process tree, max over the three runs), peak_pss_mb, bare_nlp_s,
    bare_nlp_load_s, bare_pdf_s, ratio_to_bare, words_per_s, pages_per_s, timings_cold /
    timings_warm / timings_add_one (stage → s), targets, verdicts, …
    """
    from benchmarks import synth

    out = Path(out)
    tmp = None
    if workdir is None:
        tmp = tempfile.mkdtemp(prefix="cpas-bench-")
        workdir = Path(tmp)
    workdir = Path(workdir)
    corpus, extra, aout = workdir / "corpus", workdir / "extra", workdir / "outputs"
    try:
        for d in (corpus, extra, aout):
            shutil.rmtree(d, ignore_errors=True)
        t = time.perf_counter()
        files = synth.generate_corpus(corpus, n_docs, seed)
        one_more = synth.generate_corpus(extra, 1, seed, start=n_docs)[0]
        synth_s = time.perf_counter() - t

        # the project's hand annotations, as a user's corpus has them: the theme model is the
        # one `make analyze` trains (the synthetic documents have no annotated unit)
        annotations = REPO / "corpus" / "annotations.csv"
        if annotations.is_file():
            shutil.copy2(annotations, corpus / "annotations.csv")
        code = snapshot_code(workdir / "code")
        cold = run_analysis(corpus, aout, n_process, code)
        warm = run_analysis(corpus, aout, n_process, code)
        shutil.copy2(one_more, corpus / one_more.name)
        add_one = run_analysis(corpus, aout, n_process, code)
        correct = None
        if annotations.is_file():  # a reviewer corrects one label: the model is retrained
            correct_label(corpus / "annotations.csv")
            correct = run_analysis(corpus, aout, n_process, code)

        import pandas as pd

        docs = pd.read_csv(aout / "documents.csv", dtype=str, keep_default_na=False)
        ok = docs[docs["status"] == "ok"]
        before = ok[ok["source_file"].map(lambda s: Path(s).name) != one_more.name]
        n_words = int(pd.to_numeric(before["n_words"]).sum())
        n_pages = int(pd.to_numeric(before["n_pages"], errors="coerce").fillna(0).sum())

        texts = content_texts(aout)
        trace_s, trace_step_s, n_trace = bare_trace(aout, n_process)
        load_s, pipe_s = bare_nlp(texts, n_process)
        pdfs = [p for p in files if p.suffix == ".pdf"]
        # the ingest reads PDF text with pypdfium2 (pdfplumber only for table pages)
        pdf_s, pdf_pages = bare_pdf(pdfs, n_process, "pypdfium2")
        plumber_s, _ = bare_pdf(pdfs, n_process, "pdfplumber")

        runs = {"cold": cold, "warm": warm, "add_one": add_one}
        if correct is not None:
            runs["correct_label"] = correct
        tc = cold.timings
        pipeline_work = tc.get("nlp", 0.0) + tc.get("ingest_segment", tc.get("ingest", 0.0))
        bare = load_s + pipe_s + pdf_s
        formats: dict[str, int] = {}
        for p in files:
            formats[p.suffix.lstrip(".")] = formats.get(p.suffix.lstrip("."), 0) + 1
        res = {
            "n_docs": n_docs,
            "n_process": n_process,
            "seed": seed,
            "formats": ", ".join(f"{v} {k}" for k, v in sorted(formats.items())),
            "n_docs_ok": int(len(before)),
            "n_words": n_words,
            "n_pages": n_pages,
            "n_pdf_pages_bare": pdf_pages,
            "n_units_lemmatised": len(texts),
            "synth_s": round(synth_s, 3),
            "cold_s": round(cold.wall_s, 3),
            "warm_s": round(warm.wall_s, 3),
            "add_one_s": round(add_one.wall_s, 3),
            "correct_label_s": round(correct.wall_s, 3) if correct else None,
            "trace_s": round(trace_s, 3),
            "trace_step_s": round(trace_step_s, 3),
            "n_trace_pairs": n_trace,
            "peak_rss_mb": round(max(m.peak_rss_mb for m in runs.values()), 1),
            "peak_pss_mb": round(max(m.peak_pss_mb for m in runs.values()), 1),
            "peak_rss_mb_by_run": {k: round(m.peak_rss_mb, 1) for k, m in runs.items()},
            "bare_nlp_s": round(pipe_s, 3),
            "bare_nlp_load_s": round(load_s, 3),
            "bare_pdf_s": round(pdf_s, 3),
            "bare_pdf_s_per_page": round(pdf_s / pdf_pages, 5) if pdf_pages else 0.0,
            "bare_pdf_pdfplumber_s": round(plumber_s, 3),
            "n_texts": len(texts),
            "n_unique_texts": len(set(texts)),
            "pipeline_nlp_pdf_s": round(pipeline_work, 3),
            "ratio_to_bare": round(pipeline_work / bare, 3) if bare > 0 else 0.0,
            "words_per_s": round(n_words / cold.wall_s, 1) if cold.wall_s else 0.0,
            "pages_per_s": round(n_pages / cold.wall_s, 2) if cold.wall_s else 0.0,
            "timings_cold": tc,
            "timings_warm": warm.timings,
            "timings_add_one": add_one.timings,
            "timings_correct_label": correct.timings if correct else {},
            "annotations": annotations.is_file(),
            "targets": dict(TARGETS),
            "ratio_definition": "(nlp + ingest_segment stages of the cold run) / "
                                "(model load + nlp.pipe over every content unit + pypdfium2 text of every page, "
                                "same n_process); the pipeline analyses identical texts once",
        }
        res["verdicts"] = {k: verdict(k, res[k]) for k in TARGETS}
        io.write_json(out / "benchmark.json", res)
        print(format_summary(res))
        print(f"Écrit / written: {out / 'benchmark.json'}")
        return res
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
