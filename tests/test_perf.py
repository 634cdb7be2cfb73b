"""Tests of the benchmark harness (benchmarks/perf.py). Not timed: only shapes and consistency."""

from __future__ import annotations

import json
import sys
import textwrap

import pytest

from benchmarks import perf


def test_parse_timings_from_summary():
    summary = ("Documents lus : 5 / 5\n"
               "Temps : lecture et découpage 1.2 s, analyse linguistique 13.0 s, thèmes 0.4 s, "
               "tables par unité et QDPX (en parallèle) 2.0 s, figures et classeur Excel (en parallèle) 1.5 s, "
               "total 15.9 s\n"
               "Résultats dans out/")
    assert perf.parse_timings(summary) == {"ingest_segment": 1.2, "nlp": 13.0, "classify": 0.4,
                                           "export_parallel": 2.0, "figures_workbook_parallel": 1.5,
                                           "total": 15.9}
    assert perf.parse_timings("pas de ligne de temps") == {}


def test_verdicts_against_targets():
    assert perf.verdict("cold_s", 89.9) == "OK"
    assert perf.verdict("cold_s", 90.1) == "DÉPASSÉ"
    assert perf.verdict("warm_s", 3.0) == "OK"
    assert perf.verdict("peak_rss_mb", 2100) == "DÉPASSÉ"
    assert perf.verdict("n_words", 10) == ""


def test_summary_lists_each_target():
    res = {"n_docs": 6, "formats": "3 pdf, 1 docx, 2 txt", "n_words": 12000, "n_pages": 14,
           "n_process": 2, "cold_s": 20.0, "warm_s": 4.5, "add_one_s": 8.0, "peak_rss_mb": 900.0,
           "ratio_to_bare": 1.2, "words_per_s": 600.0, "pages_per_s": 0.7, "bare_nlp_s": 5.0,
           "bare_nlp_load_s": 4.0, "bare_pdf_s": 0.5, "timings_cold": {"nlp": 9.0}}
    text = perf.format_summary(res)
    lines = {line.split("  ")[1].strip(): line for line in text.splitlines()
             if line.startswith("  ") and "cible" in line}
    assert len(lines) == 5
    warm = next(v for k, v in lines.items() if k.startswith("Relance"))
    assert warm.rstrip().endswith("DÉPASSÉ")  # 4.5 s > 3 s
    cold = next(v for k, v in lines.items() if k.startswith("Analyse à froid"))
    assert cold.rstrip().endswith("OK")
    assert "nlp 9.0" in text


CHILD = textwrap.dedent("""
    import subprocess, sys
    block = bytearray(100 * 1024 * 1024)          # 100 MiB, touched
    for i in range(0, len(block), 4096):
        block[i] = 1
    subprocess.run([sys.executable, "-c",
        "import time\\nb = bytearray(150 * 1024 * 1024)\\n"
        "for i in range(0, len(b), 4096): b[i] = 1\\ntime.sleep(1.5)"], check=True)
""")


def test_run_measured_sums_the_process_tree():
    m = perf.run_measured([sys.executable, "-c", CHILD], interval=0.02)  # PSS read every 5th sample
    assert m.returncode == 0
    assert m.samples > 5
    # parent (≥100 MiB) and grandchild (≥150 MiB) are alive together: the tree holds ≥ 250 MiB,
    # more than any single process
    assert m.peak_rss_mb >= 250
    assert m.peak_pss_mb >= 240
    assert m.rusage_maxrss_mb < m.peak_rss_mb


@pytest.mark.slow
def test_small_benchmark(tmp_path):
    from collections import Counter

    import pypdfium2 as pdfium

    out, work = tmp_path / "out", tmp_path / "work"
    res = perf.run_benchmark(out, n_docs=6, workdir=work, n_process=2, seed=1)
    written = json.loads((out / "benchmark.json").read_text(encoding="utf-8"))
    assert written == json.loads(json.dumps(res))
    for key in ("n_docs", "n_words", "n_pages", "cold_s", "warm_s", "add_one_s", "peak_rss_mb",
                "bare_nlp_s", "bare_pdf_s", "ratio_to_bare", "words_per_s", "pages_per_s",
                "timings_cold"):
        assert key in res, key
    assert res["n_docs"] == 6 and res["n_docs_ok"] == 6
    for key in ("cold_s", "warm_s", "add_one_s", "peak_rss_mb", "bare_nlp_s", "bare_pdf_s",
                "ratio_to_bare", "words_per_s", "pages_per_s", "n_words", "n_pages"):
        assert res[key] > 0, key
    assert res["warm_s"] < res["cold_s"]
    assert res["add_one_s"] < res["cold_s"]
    # the corpus is kept in workdir: count its PDF pages and words independently
    files = sorted(p for p in (work / "corpus").iterdir() if p.name != "annotations.csv")
    assert len(files) == 7  # six + the one added
    assert res["annotations"] and res["correct_label_s"] > 0  # the project's annotations, one corrected
    assert "correct_label" in res["peak_rss_mb_by_run"]
    extra = next((work / "extra").iterdir())
    pages = 0
    for p in files:
        if p.suffix == ".pdf" and p.name != extra.name:
            pdf = pdfium.PdfDocument(p)
            pages += len(pdf)
            pdf.close()
    assert res["n_pages"] == pages == res["n_pdf_pages_bare"]
    assert res["formats"] == ", ".join(
        f"{v} {k}" for k, v in sorted(Counter(p.suffix[1:] for p in files
                                              if p.name != extra.name).items()))
    assert 6 * 1500 < res["n_words"] < 6 * 3500
    assert res["words_per_s"] == pytest.approx(res["n_words"] / res["cold_s"], rel=0.01)
    assert set(res["verdicts"]) == set(perf.TARGETS)


def test_correct_label_changes_one_row(tmp_path):
    import pandas as pd

    src = perf.REPO / "corpus" / "annotations.csv"
    path = tmp_path / "annotations.csv"
    path.write_bytes(src.read_bytes())
    text = perf.correct_label(path)
    before = pd.read_csv(src, dtype=str, keep_default_na=False)
    after = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert before.shape == after.shape and list(before.columns) == list(after.columns)
    changed = (before != after).any(axis=1)
    assert changed.sum() == 1
    i = changed.idxmax()
    assert (before.loc[i].drop("themes") == after.loc[i].drop("themes")).all()
    assert after.loc[i, "text"] == text
    assert set(after.loc[i, "themes"].split(";")) ^ set(before.loc[i, "themes"].split(";")) == {"sante"}
