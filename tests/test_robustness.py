"""Robustness of the whole pipeline: bad inputs, interruption, determinism.

Bad inputs are generated here (fpdf2, zipfile, raw bytes), next to good seeds copied from
tests/fixtures. Every good file must be fully analysed; every bad one must end with
status="error" and a one-line message; the run exits 0 (1 with strict=True).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))
from make_bad_fixtures import (  # noqa: E402  (the fixture generator's builders)
    _corrupt_docx,
    text_pdf,
)

SEEDS = ROOT / "tests" / "fixtures" / "seeds"
SAMPLES = ROOT / "tests" / "fixtures" / "samples"


# --------------------------------------------------------------------------- generators


def _image_only_pdf() -> bytes:
    """One page holding a picture of text: no text layer at all."""
    from fpdf import FPDF
    from PIL import Image, ImageDraw

    img = Image.new("L", (1200, 400), 255)
    draw = ImageDraw.Draw(img)
    for k in range(6):
        draw.text((40, 40 + 50 * k), f"AXE {k + 1} : Le logement et l'insertion sociale", fill=0)
    pdf = FPDF()
    pdf.add_page()
    pdf.image(img, x=10, y=10, w=190)
    return bytes(pdf.output())


LONG_PAGES = 200
LONG_AXES = 8  # one "AXE n :" heading every 25 pages, two actions on every page


def _long_pages() -> list[list[str]]:
    pages = []
    for k in range(LONG_PAGES):
        lines = []
        if k % (LONG_PAGES // LONG_AXES) == 0:
            lines.append(f"AXE {k // (LONG_PAGES // LONG_AXES) + 1} : Axe numero "
                         f"{k // (LONG_PAGES // LONG_AXES) + 1} du plan social")
        lines += [f"- Action {2 * k + 1} : accompagner les familles en difficulte vers le "
                  "logement et l'emploi.",
                  f"- Action {2 * k + 2} : renforcer les partenariats avec les services "
                  "communaux et le PCS."]
        pages.append(lines)
    return pages

#: file name → bytes of each bad input (what makes it bad is in the name)
BAD: dict[str, bytes] = {}
GOOD: dict[str, Path | bytes] = {}


def _build_inputs() -> None:
    if BAD:
        return
    ok_pdf = text_pdf([["Declaration de politique sociale", "AXE 1 : Le logement",
                    "- Creer des logements de transit pour les familles"]] * 3)
    BAD.update({
        "vide.txt": b"",
        "vide.pdf": b"",
        "aleatoire.pdf": random.Random(0).randbytes(8192),
        "tronque.pdf": ok_pdf[: len(ok_pdf) // 2],
        "chiffre.pdf": text_pdf([["Declaration de politique sociale", "AXE 1 : Le logement"]],
                            owner_password="proprietaire", user_password="secret"),
        "scan-sans-ocr.pdf": _image_only_pdf(),
        "abime.docx": _corrupt_docx(),
        "brochure.odt": b"PK\x03\x04 OpenDocument text, not supported",
        "illisible.txt": bytes(random.Random(1).randrange(0, 32) for _ in range(4000)),
    })
    GOOD.update({
        "trooz-dps-2019.txt": SEEDS / "trooz-dps-2019.txt",
        "trooz-dps-2019.pdf": SAMPLES / "trooz-dps-2019.pdf",  # same stem as the .txt
        "ittre-dps-2019.docx": SAMPLES / "ittre-dps-2019.docx",
        "Déclaration été 2025 Beyne.txt": SEEDS / "beyne-heusay-dps-2025.txt",
        "long-200-pages.pdf": text_pdf(_long_pages()),
    })


def make_corpus(dest: Path) -> Path:
    _build_inputs()
    dest.mkdir(parents=True, exist_ok=True)
    for name, data in BAD.items():
        (dest / name).write_bytes(data)
    for name, src in GOOD.items():
        (dest / name).write_bytes(src if isinstance(src, bytes) else src.read_bytes())
    return dest


def _row(docs: pd.DataFrame, name: str) -> pd.Series:
    rows = docs[docs["source_file"].map(lambda s: Path(str(s)).name) == name]
    assert len(rows) == 1, f"{name}: {len(rows)} rows in documents"
    return rows.iloc[0]


# --------------------------------------------------------------------------- bad inputs


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory):
    """The mixed corpus analysed once, with OCR made unavailable."""
    from pipeline.runner import analyze

    corpus = make_corpus(tmp_path_factory.mktemp("mixed"))
    out = tmp_path_factory.mktemp("mixed_out")
    empty_bin = tmp_path_factory.mktemp("no_tesseract")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", str(empty_bin))  # no tesseract binary to be found
        try:
            import pytesseract

            mp.setattr(pytesseract.pytesseract, "tesseract_cmd", str(empty_bin / "tesseract"))
        except ImportError:
            pass
        result = analyze(corpus, out, n_process=2, quiet=True)
    return corpus, out, result


def test_run_succeeds_despite_bad_inputs(mixed_run):
    _corpus, _out, result = mixed_run
    assert result.exit_code == 0


@pytest.mark.parametrize("name", sorted(["vide.txt", "vide.pdf", "aleatoire.pdf", "tronque.pdf",
                                          "chiffre.pdf", "scan-sans-ocr.pdf", "abime.docx",
                                          "brochure.odt", "illisible.txt"]))
def test_each_bad_input_is_an_error_with_a_one_line_message(mixed_run, name):
    from pipeline.runner import summary

    _corpus, _out, result = mixed_run
    row = _row(result.documents, name)
    assert row["status"] == "error"
    message = str(row["error"])
    assert "\n" not in message and len(message) > 20
    # what the user reads names the file, on one line with the reason
    assert any(name in line and message in line for line in summary(result).splitlines())
    listed = [e for e in result.errors if e["doc_id"] == row["doc_id"]]
    assert len(listed) == 1 and listed[0]["error"] == message
    assert Path(listed[0]["source_file"]).name == name


def test_good_inputs_fully_analysed(mixed_run):
    _corpus, out, result = mixed_run
    docs, units = result.documents, result.units
    good_ids = []
    for name in ("trooz-dps-2019.txt", "trooz-dps-2019.pdf", "ittre-dps-2019.docx",
                 "Déclaration été 2025 Beyne.txt", "long-200-pages.pdf"):
        row = _row(docs, name)
        assert row["status"] == "ok", (name, row["error"])
        assert int(row["n_words"]) > 100, name
        good_ids.append(row["doc_id"])
        assert (out / "texts" / f"{row['doc_id']}.txt").is_file(), name
    assert len(set(good_ids)) == len(good_ids), "two files with the same stem share a doc_id"
    for name in ("trooz-dps-2019.txt", "trooz-dps-2019.pdf"):  # "AXE 1" … "AXE 4"
        doc_units = units[units["doc_id"] == _row(docs, name)["doc_id"]]
        assert (doc_units["kind"] == "axis").sum() == 4, name
        assert (doc_units["themes"] != "").any(), name
    long_row = _row(docs, "long-200-pages.pdf")
    assert int(long_row["n_pages"]) == LONG_PAGES
    long_units = units[units["doc_id"] == long_row["doc_id"]]
    assert (long_units["kind"] == "axis").sum() == LONG_AXES
    long_text = (out / "texts" / f"{long_row['doc_id']}.txt").read_text(encoding="utf-8")
    assert "Action 400 " in long_text and "Action 1 " in long_text  # first and last page read
    assert len(long_units) > 2 * LONG_AXES
    # bad documents contribute no units
    bad_ids = set(docs.loc[docs["status"] == "error", "doc_id"])
    assert not set(units["doc_id"]) & bad_ids


def test_strict_exit_code(mixed_run, tmp_path):
    from pipeline.runner import analyze

    corpus, out, _ = mixed_run
    strict = analyze(corpus, tmp_path / "strict", n_process=1, quiet=True, strict=True,
                     cache_dir=out / ".cache")
    assert strict.exit_code == 1
    # also when the outputs are up to date and the run is skipped
    again = analyze(corpus, out, n_process=1, quiet=True, strict=True)
    assert again.exit_code == 1


# --------------------------------------------------------------------------- interruption


def _csvs(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.csv"))
            if ".cache" not in p.relative_to(out).parts}


def _leftovers(out: Path) -> list[str]:
    return [str(p) for p in out.rglob("*") if p.is_file()
            and (p.name.endswith(".tmp") or p.name.startswith("."))
            and p.name not in (".manifest.json", ".cpas-compare", ".lock")]


@pytest.fixture(scope="module")
def synth_corpus(tmp_path_factory) -> Path:
    from benchmarks import synth

    dest = tmp_path_factory.mktemp("synth_corpus")
    synth.generate_corpus(dest, 24, seed=5, seeds=SEEDS)
    return dest


@pytest.fixture(scope="module")
def clean_run(synth_corpus, tmp_path_factory):
    """The synthetic corpus analysed once from scratch with two processes."""
    from pipeline.runner import analyze

    return analyze(synth_corpus, tmp_path_factory.mktemp("clean"), n_process=2, quiet=True)


def test_interrupted_run_recovers_identically(synth_corpus, clean_run, tmp_path):
    from pipeline.runner import analyze

    out = tmp_path / "interrupted"
    env = dict(os.environ, PYTHONPATH=str(ROOT), TQDM_DISABLE="1")
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "analyze", str(synth_corpus),
                             "--out", str(out), "--processes", "2", "--quiet"],
                            cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if list((out / ".cache").rglob("*.pkl")):
                break
            time.sleep(0.02)
        interrupted = proc.poll() is None
        if interrupted:
            os.killpg(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert interrupted, "the run finished before it could be interrupted"

    resumed = analyze(synth_corpus, out, n_process=2, quiet=True)
    assert resumed.exit_code == clean_run.exit_code == 0
    a, b = _csvs(out), _csvs(clean_run.out)
    assert a.keys() == b.keys() and len(a) >= 5
    for name in a:
        assert a[name] == b[name], f"{name} differs after an interrupted run"
    assert _leftovers(out) == []


# --------------------------------------------------------------------------- determinism


def test_same_csvs_with_one_or_two_processes(synth_corpus, clean_run, tmp_path):
    from pipeline.runner import analyze

    one = analyze(synth_corpus, tmp_path / "p1", n_process=1, quiet=True)
    two = clean_run
    assert one.exit_code == two.exit_code == 0
    assert sum(len(t.split()) for t in two.units["text"]) > 40_000  # multi-process NLP is used
    a, b = _csvs(tmp_path / "p1"), _csvs(two.out)
    assert a.keys() == b.keys() and len(a) >= 5
    for name in a:
        assert a[name] == b[name], f"{name} depends on n_process"
    shutil.rmtree(tmp_path / "p1")


def _all_outputs(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and ".cache" not in p.relative_to(out).parts
            and p.name not in ("run.json", ".manifest.json", ".lock")}


def test_adding_documents_gives_the_outputs_of_a_clean_run(synth_corpus, clean_run, tmp_path):
    """The add-one path (model loading in a background process, cached documents and labels,
    per-unit tables and QDPX written by a forked child) changes no output byte."""
    from pipeline.runner import BACKGROUND_MAX_DOCS, analyze

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    files = sorted(p for p in synth_corpus.iterdir() if p.is_file())
    for p in files[:-3]:  # copy2 keeps the times: the QDPX date is the newest file's
        shutil.copy2(p, corpus / p.name)
    out = tmp_path / "out"
    first = analyze(corpus, out, n_process=2, quiet=True)
    assert first.exit_code == 0 and len(first.documents) == len(files) - 3
    for p in files[-3:]:
        shutil.copy2(p, corpus / p.name)
    assert 3 <= BACKGROUND_MAX_DOCS  # so that the background model is what this run uses
    added = analyze(corpus, out, n_process=2, quiet=True)
    assert added.exit_code == 0 and not added.skipped and added.timings["nlp"] > 0
    a, b = _all_outputs(out), _all_outputs(clean_run.out)
    assert a.keys() == b.keys()
    assert {"report.html", "cpas-compare.qdpx", "cpas-compare.xlsx", "review.csv"} <= a.keys()
    for name in a:
        if name.endswith(".xlsx"):
            continue  # zip timestamps: the sheets are compared through the CSV tables
        assert a[name] == b[name], f"{name} differs between an incremental and a clean run"
