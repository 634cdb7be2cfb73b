"""Per-file limits and long texts (issue 14, items 2 and 4): size on disk, uncompressed DOCX
size, characters of text, spaCy pieces under max_length, report truncation, children that die
with their parent. Small generated inputs; limits monkeypatched or passed small."""

from __future__ import annotations

import io
import os
import signal
import time
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import nlp as nlp_mod
from pipeline.ingest import ingest_file
from pipeline.limits import Limits

DECL = ("Déclaration de politique sociale 2025-2030\nCPAS de Testville\n\n"
        "AXE 1 : Le logement\n- Créer deux logements de transit pour les familles.\n"
        "- Prévenir les expulsions avec les propriétaires.\n")


def _docx(member_bytes: int) -> bytes:
    """A tiny DOCX whose extra part decompresses to ``member_bytes`` of zeros."""
    body = ('<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxml'
            'formats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>AXE 1 : Le logement'
            '</w:t></w:r></w:p></w:body></w:document>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.'
                   'openxmlformats.org/package/2006/content-types"/>')
        z.writestr("word/document.xml", body)
        z.writestr("word/media/big.bin", b"\0" * member_bytes)
    return buf.getvalue()


def test_file_over_size_limit_is_an_error_without_reading(tmp_path):
    f = tmp_path / "gros.txt"
    f.write_text(DECL * 200, encoding="utf-8")
    doc = ingest_file(f, "gros", Limits(max_file_mb=0.001))
    assert doc.status == "error"
    assert "--max-file-mb" in doc.error and "Mo" in doc.error
    assert ingest_file(f, "gros").status == "ok"


def test_docx_zip_bomb_refused_from_the_directory(tmp_path):
    f = tmp_path / "bombe.docx"
    f.write_bytes(_docx(5 * 1024 * 1024))  # 5 MB of zeros compress to a few KB
    assert f.stat().st_size < 100_000
    doc = ingest_file(f, "bombe", Limits(max_unzipped_mb=1))
    assert doc.status == "error"
    assert "décompressé" in doc.error and "word/media/big.bin" in doc.error
    assert "--max-unzipped-mb" in doc.error


def test_text_over_char_limit_refused(tmp_path):
    f = tmp_path / "long.txt"
    f.write_text(DECL * 50, encoding="utf-8")
    doc = ingest_file(f, "long", Limits(max_chars=1000))
    assert doc.status == "error" and "--max-chars" in doc.error
    assert ingest_file(f, "long", Limits(max_chars=10_000_000)).status == "ok"


def test_limits_must_be_positive():
    with pytest.raises(ValueError, match="max-chars"):
        Limits(max_chars=0)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab .\n;é")), max_size=400),
       st.integers(min_value=1, max_value=60))
def test_pieces_cover_the_text_exactly(text, size):
    spans = nlp_mod.pieces(text, size)
    assert "".join(text[s:e] for s, e in spans) == text
    assert all(e - s <= size for s, e in spans)
    assert all(spans[k][1] == spans[k + 1][0] for k in range(len(spans) - 1))


@pytest.mark.slow
def test_long_text_annotated_in_pieces_same_words(monkeypatch):
    text = " ".join(["Le CPAS créera des logements de transit pour les familles expulsées."] * 60)
    whole = nlp_mod.annotate([text], ner=False)[0]
    monkeypatch.setattr(nlp_mod, "PIECE_CHARS", 500)
    cut = nlp_mod.annotate([text], ner=False)[0]
    assert cut["lemmas"] == whole["lemmas"] and cut["tokens"] == whole["tokens"]
    assert len(text) > 500


@pytest.mark.slow
def test_report_summarises_past_max_units(tmp_path):
    from pipeline import analyze

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    items = "".join(f"- Objectif numéro {k} : créer un service d'aide au logement {k}.\n"
                    for k in range(1, 30))
    (corpus / "a.txt").write_text(DECL + items, encoding="utf-8")
    analyze(corpus, tmp_path / "out", n_process=1, quiet=True, limits=Limits(report_max_units=5))
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "unités de plus, non affichées" in html
    units = (tmp_path / "out" / "units.csv").read_text(encoding="utf-8")
    assert "Objectif numéro 29" in units  # every unit is still analysed


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
def test_forked_child_dies_with_its_parent(tmp_path):
    """A grandchild forked after ``procs.install`` dies when its parent is killed -9."""
    from pipeline import procs

    pid_file = tmp_path / "grandchild.pid"
    child = os.fork()
    if child == 0:  # the "run": installs the hooks, forks a worker, then waits
        try:
            procs.install()
            worker = os.fork()
            if worker == 0:
                time.sleep(60)
                os._exit(0)
            pid_file.write_text(str(worker))
            time.sleep(60)
        finally:
            os._exit(0)
    for _ in range(100):
        if pid_file.exists() and pid_file.read_text():
            break
        time.sleep(0.05)
    worker = int(pid_file.read_text())
    os.kill(child, signal.SIGKILL)
    os.waitpid(child, 0)
    for _ in range(100):  # the worker is re-parented, then killed by the kernel
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        os.kill(worker, signal.SIGKILL)
        pytest.fail("the worker outlived its parent")
