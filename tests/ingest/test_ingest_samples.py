"""PDF / DOCX / scan renderings of three seeds: the text version's sentences must be found in the
ingested text, and no running header, footer or page number may remain."""

from __future__ import annotations

import re
import shutil
import unicodedata
from pathlib import Path

import pytest

from pipeline.ingest import ingest_file

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "tests" / "fixtures" / "samples"
SEEDS = ROOT / "tests" / "fixtures" / "seeds"

# The running header of each rendering (read from the PDFs), and the footer pattern.
HEADERS = {
    "trooz-dps-2019": "CPAS de Trooz – Déclaration de politique sociale 2019-2024",
    "ittre-dps-2019": "CPAS d'Ittre – Déclaration de politique sociale",
    "dps-2018-2024-brabant": "Déclaration de politique sociale – Conseil de l'action sociale",
}
FOOTER_RE = re.compile(r"(?im)^\s*(page\s*)?\d+\s*(/|sur)\s*\d+\s*$|^\s*\d{1,3}\s*$")


def _norm(s: str, sep: str) -> str:
    s = unicodedata.normalize("NFC", s)
    for a, b in (("’", "'"), ("‘", "'"), ("«", '"'), ("»", '"'), ("“", '"'), ("”", '"'),
                 ("…", "...")):
        s = s.replace(a, b)
    s = re.sub(r"\^\{([^}]*)\}", r"\1", s).replace("**", "")
    s = re.sub(r"(?m)^\s*#+\s*", "", s)
    s = re.sub(r"(?m)^\s*[-*•–°]\s*", "", s)
    return re.sub(r"\s+", sep, s).strip().casefold()


def sentences(text: str) -> list[str]:
    """Sentences of the text version: split on . ; ! ? and newlines, at least 20 characters."""
    text = re.sub(r"(?m)^\s*#+\s*", "", text).replace("**", "")
    out = []
    for s in re.split(r"[.;!?\n]", text):
        s = re.sub(r"^\s*[-*•–°]\s*", "", s.strip())
        if len(s) >= 20:
            out.append(s)
    return out


def coverage(reference: str, ingested: str, sep: str = " ") -> tuple[float, list[str]]:
    hay = _norm(ingested, sep)
    sents = sentences(reference)
    missing = [s for s in sents if _norm(s, sep) not in hay]
    return 1 - len(missing) / len(sents), missing


CASES = [(f"{stem}.{ext}", stem) for stem in HEADERS for ext in ("pdf", "docx")]


@pytest.fixture(scope="module")
def ingested():
    cache: dict[str, object] = {}

    def get(name: str):
        if name not in cache:
            cache[name] = ingest_file(SAMPLES / name, Path(name).stem)
        return cache[name]

    return get


def test_sentence_helper_is_strict():
    ref = "Première phrase assez longue ici. Deuxième phrase assez longue là ;\n- Item de liste assez long"
    assert len(sentences(ref)) == 3
    assert coverage(ref, "Première phrase assez longue ici.\nDeuxième phrase assez\nlongue là ;")[0] \
        == pytest.approx(2 / 3)


@pytest.mark.parametrize("name, stem", CASES)
def test_sample_sentences_found(ingested, name, stem):
    doc = ingested(name)
    assert doc.status == "ok", doc.error
    ratio, missing = coverage((SEEDS / f"{stem}.txt").read_text(encoding="utf-8"), doc.text)
    assert ratio >= 0.98, missing[:5]


@pytest.mark.parametrize("name, stem", CASES)
def test_no_header_footer_or_page_number(ingested, name, stem):
    doc = ingested(name)
    assert HEADERS[stem] not in doc.text
    assert not FOOTER_RE.search(doc.text)
    if name.endswith(".pdf"):
        assert doc.n_pages == len(doc.pages) >= 2
        assert [b.page for b in doc.blocks] == sorted(b.page for b in doc.blocks)


def test_trooz_pdf_header_year_does_not_leak(ingested):
    doc = ingested("trooz-dps-2019.pdf")
    assert "2019-2024" not in doc.text  # only the running header says 2019-2024
    assert doc.metadata["legislature"] == "2018-2024"


def test_pdf_bullets_become_bullet_character(ingested):
    doc = ingested("trooz-dps-2019.pdf")
    assert "\uf0b7" not in doc.text
    items = [doc.text[b.start:b.end] for b in doc.blocks if b.kind == "list_item"]
    assert "• Les délais annoncés doivent être respectés." in items
    axes = [doc.text[b.start:b.end] for b in doc.blocks if doc.text[b.start:b.end].startswith("AXE")]
    assert len(axes) == 4


def test_brabant_pdf_and_docx_same_structure(ingested):
    pdf, docx = ingested("dps-2018-2024-brabant.pdf"), ingested("dps-2018-2024-brabant.docx")
    assert [pdf.text[b.start:b.end] for b in pdf.blocks] == \
        [docx.text[b.start:b.end] for b in docx.blocks]
    levels = [b.level for b in docx.blocks if b.kind == "list_item"]
    assert levels.count(2) == 5  # three "*" items under section 4, two under section 5


@pytest.mark.ocr
def test_scan_is_ocred_in_french():
    if shutil.which("tesseract") is None:
        pytest.skip("tesseract absent : apt-get install tesseract-ocr tesseract-ocr-fra")
    doc = ingest_file(SAMPLES / "dps-2018-2024-brabant-scan.pdf", "scan")
    assert doc.status == "ok", doc.error
    assert doc.format == "pdf-ocr" and doc.n_pages == 2
    ratio, missing = coverage((SEEDS / "dps-2018-2024-brabant.txt").read_text(encoding="utf-8"),
                              doc.text)
    assert ratio >= 0.90, missing[:5]
    assert HEADERS["dps-2018-2024-brabant"] not in doc.text
    assert not FOOTER_RE.search(doc.text)
    assert {b.page for b in doc.blocks} == {1, 2}
