"""PDF reader on pypdfium2: line building from text pieces, the table-page test, fidelity to
pdfplumber's lines on real renderings, rotated pages, speed."""

from __future__ import annotations

import io
import statistics
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.ingest import pdf as pdfmod
from pipeline.ingest.pdf import (
    Piece,
    _weighted_median,
    is_bold_font,
    may_hold_table,
    pieces_to_lines,
    read_pdf,
)

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures"
FIDELITY_PDFS = sorted((FIX / "samples").glob("*.pdf")) + sorted((FIX / "real_world").glob("*.pdf"))
FIDELITY_PDFS = [p for p in FIDELITY_PDFS if "scan" not in p.name]


def _p(text, x0, top, size=10.0, bold=False, width=None):
    width = len(text) * size * 0.5 if width is None else width
    return Piece(text, x0, x0 + width, top, top + size, size, bold)


# --------------------------------------------------------------------------- pieces → lines


def test_pieces_on_one_baseline_make_one_line_read_left_to_right():
    pieces = [_p("monde", 100, 50, width=30), _p("Bonjour", 40, 50, width=40)]
    (line,) = pieces_to_lines(pieces, page=3)
    assert line.text == "Bonjour monde"  # 100 > 40 + 40 + 3: a word gap
    assert (line.x0, line.x1, line.top, line.bottom, line.page) == (40, 130, 50, 60, 3)


def test_touching_pieces_are_glued_and_spaces_collapse():
    # "l'" ends at 52, "action" starts at 53: less than 3 pt apart, one word
    pieces = [_p("l'", 40, 20, width=12), _p("action  sociale ", 53, 20, width=80)]
    assert [ln.text for ln in pieces_to_lines(pieces)] == ["l'action sociale"]


def test_tops_are_clustered_with_chained_tolerance_and_sorted():
    pieces = [_p("troisième", 10, 80), _p("première", 10, 20), _p("exposant", 60, 22.5),
              _p("deuxième", 10, 40), _p("   ", 10, 60)]
    lines = pieces_to_lines(pieces)
    # 20 and 22.5 are within 3 pt: one line; the blank piece makes no line
    assert [ln.text for ln in lines] == ["première exposant", "deuxième", "troisième"]


def test_piece_drawn_twice_is_kept_once():
    pieces = [_p("Titre", 50, 10, bold=True), _p("Titre", 50.4, 10.2, bold=True)]
    (line,) = pieces_to_lines(pieces)
    assert line.text == "Titre" and line.bold


def test_line_size_is_the_median_of_its_characters_and_bold_needs_every_piece():
    # sizes per non-blank character: 10, 10, 14, 14, 14 → median 14
    (line,) = pieces_to_lines([_p("AB", 10, 10, size=10, bold=True),
                               _p("C D E", 40, 10, size=14, bold=False)])
    assert line.size == 14
    assert line.bold is False
    # 10, 10, 12, 12 → 11 (mean of the two middle values)
    (line,) = pieces_to_lines([_p("AB", 10, 10, size=10, bold=True),
                               _p("CD", 40, 10, size=12, bold=True)])
    assert line.size == 11 and line.bold is True


@given(st.lists(st.tuples(st.floats(1, 40, allow_nan=False), st.integers(0, 6)), min_size=1,
                max_size=12))
def test_weighted_median_equals_median_of_expanded_list(pairs):
    expanded = [v for v, n in pairs for _ in range(n)]
    if expanded:
        assert _weighted_median(pairs) == pytest.approx(statistics.median(expanded))
    else:
        assert _weighted_median(pairs) == 0.0


@pytest.mark.parametrize(("name", "bold"), [
    ("ABCDEF+Arial-BoldMT", True), ("Calibri,Bold", True), ("MPDFAA+DejaVuSansBold", True),
    ("Helvetica-Black", True), ("Montserrat-SemiBold", True),
    ("BAAAAA+LiberationSerif", False), ("Helvetica", False), ("", False),
    ("Arial-ItalicMT", False)])
def test_bold_font_names(name, bold):
    assert is_bold_font(name) is bold


# --------------------------------------------------------------------------- table pages


def _grid(x0, y0, cols, rows, w=100, h=20):
    return [(x0 + c * w, y0 + r * h, x0 + (c + 1) * w, y0 + (r + 1) * h)
            for r in range(rows) for c in range(cols)]


def test_table_grid_of_cell_rectangles_is_a_candidate():
    assert may_hold_table(_grid(50, 500, 3, 3))
    assert may_hold_table(_grid(50, 500, 2, 2))


def test_ruled_lines_forming_a_grid_are_a_candidate():
    hs = [(50, y, 350, y + 0.5) for y in (500, 520, 540)]
    vs = [(x, 500, x + 0.5, 540) for x in (50, 200, 350)]
    assert may_hold_table(hs + vs)


def test_frames_underlines_and_separators_are_not_candidates():
    frame = [(50, 100, 500, 700)]
    underlines = [(60, y, 200, y + 0.6) for y in (300, 320, 340, 360)]
    separator = [(89, 412, 523, 414), (89, 412, 523, 414)]
    assert not may_hold_table(frame)
    assert not may_hold_table(underlines)
    assert not may_hold_table(separator)
    assert not may_hold_table(frame + separator)
    assert not may_hold_table(_grid(50, 500, 1, 3))  # one column: not a 2 × 2 table


def test_one_path_with_many_segments_is_a_candidate():
    assert may_hold_table([(50, 500, 350, 560)], segments=40)


def _fpdf(draw) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(unit="pt", format="A4")
    pdf.set_auto_page_break(False)
    pdf.add_page()
    pdf.set_font("helvetica", size=11)
    draw(pdf)
    return bytes(pdf.output())


def test_text_pages_never_open_pdfplumber(monkeypatch):
    def forbidden(data):
        raise AssertionError("pdfplumber opened for a page without a table")

    monkeypatch.setattr(pdfmod, "_open_plumber", forbidden)

    def draw(pdf):
        pdf.text(60, 100, "Un paragraphe souligné puis un cadre.")
        pdf.line(60, 103, 250, 103)
        pdf.rect(50, 80, 300, 40)
    res = read_pdf(_fpdf(draw))
    assert [b.text for b in res.blocks] == ["Un paragraphe souligné puis un cadre."]


def test_table_page_goes_through_pdfplumber_once(monkeypatch):
    calls = []
    real = pdfmod._open_plumber

    def spy(data):
        calls.append(1)
        return real(data)

    monkeypatch.setattr(pdfmod, "_open_plumber", spy)
    res = read_pdf((FIX / "ingest" / "table-pst.pdf").read_bytes())
    assert calls == [1]
    assert any(b.kind == "table_cell" for b in res.blocks)


def test_unparsable_for_pdfplumber_keeps_the_text(monkeypatch):
    monkeypatch.setattr(pdfmod, "_open_plumber", lambda data: False)
    res = read_pdf((FIX / "ingest" / "table-pst.pdf").read_bytes())
    texts = [b.text for b in res.blocks]
    assert "Programme strategique transversal du CPAS" in texts
    assert not any(b.kind == "table_cell" for b in res.blocks)


# --------------------------------------------------------------------------- geometry


def test_line_geometry_follows_the_drawing():
    from fpdf import FPDF

    probe = FPDF(unit="pt")
    probe.set_font("helvetica", size=11)
    w_body = probe.get_string_width("Texte du CPAS")
    probe.set_font("helvetica", "B", size=11)
    w_bold = probe.get_string_width("Axe 1")

    def draw(pdf):
        pdf.set_font("helvetica", "B", size=16)
        pdf.text(72, 100, "Titre")
        pdf.set_font("helvetica", "B", size=11)
        pdf.text(72, 140, "Axe 1")
        pdf.set_font("helvetica", size=11)
        pdf.text(72 + w_bold + 6, 140, "Texte du CPAS")  # same baseline, 6 pt further
    doc = pdfmod._check_pdf(_fpdf(draw))
    try:
        (page,) = pdfmod._read_pages(doc, b"")
    finally:
        doc.close()
    title, line = page.lines
    assert title.text == "Titre" and title.bold and title.size == pytest.approx(16)
    assert title.x0 == pytest.approx(72, abs=0.01)
    # pdfminer's box: one size high, its bottom DESCENT × size below the baseline
    assert title.bottom == pytest.approx(100 + 0.22 * 16, abs=0.01)
    assert title.top == pytest.approx(100 - 0.78 * 16, abs=0.01)
    assert line.text == "Axe 1 Texte du CPAS"
    assert line.bold is False  # only part of it is bold
    assert line.size == pytest.approx(11)
    assert line.x0 == pytest.approx(72, abs=0.01)
    assert line.x1 == pytest.approx(72 + w_bold + 6 + w_body, abs=0.3)
    assert page.height == pytest.approx(841.89, abs=0.01)


def _plumber_lines(path: Path) -> list[list[tuple]]:
    """pdfplumber's own lines (the reader this module replaced): text, x0, x1, top, size, bold."""
    import pdfplumber

    out = []
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            rows = []
            for tl in page.extract_text_lines(return_chars=True, strip=True):
                chars = [c for c in tl["chars"] if c["text"].strip()]
                if not tl["text"].strip():
                    continue
                size = statistics.median(c["size"] for c in chars)
                bold = all(is_bold_font(c["fontname"]) for c in chars)
                rows.append((tl["text"], tl["x0"], tl["x1"], tl["top"], size, bold))
            out.append(rows)
    return out


@pytest.mark.parametrize("path", FIDELITY_PDFS, ids=lambda p: p.name)
def test_lines_match_pdfplumber(path):
    data = path.read_bytes()
    doc = pdfmod._check_pdf(data)
    try:
        pages = pdfmod._read_pages(doc, data)
    finally:
        doc.close()
    expected = _plumber_lines(path)
    assert len(pages) == len(expected)
    for pc, rows in zip(pages, expected, strict=True):
        got = pc.lines
        assert [ln.text for ln in got] == [r[0] for r in rows]
        for ln, (_text, x0, x1, top, size, bold) in zip(got, rows, strict=True):
            assert ln.size == pytest.approx(size, abs=0.01)
            assert ln.bold == bold
            assert ln.x0 == pytest.approx(x0, abs=0.5)
            assert ln.x1 == pytest.approx(x1, abs=0.5)
            # pdfminer takes each font's descent from its dictionary; one descent here
            assert ln.top == pytest.approx(top, abs=0.25 * size + 0.01)


def _rotated_pdf(angle: int, rotate: int) -> bytes:
    """Text drawn turned by ``angle`` degrees on a page displayed with /Rotate ``rotate``."""
    import pypdfium2 as pdfium

    def draw(pdf):
        with pdf.rotation(angle, x=300, y=420):
            y = 300
            for t in ("AXE 1 : Le logement", "Nous voulons renforcer l'accompagnement",
                      "des familles et des jeunes."):
                pdf.text(120, y, t)
                y += 16
    doc = pdfium.PdfDocument(_fpdf(draw))
    doc[0].set_rotation(rotate)
    buf = io.BytesIO()
    doc.save(buf)
    doc.close()
    return buf.getvalue()


@pytest.mark.parametrize(("angle", "rotate"), [(90, 90), (90, 270), (-90, 90), (180, 180)])
def test_rotated_page_is_read_as_displayed(angle, rotate):
    data = _rotated_pdf(angle, rotate)
    doc = pdfmod._check_pdf(data)
    try:
        (page,) = pdfmod._read_pages(doc, data)
    finally:
        doc.close()
    texts = [ln.text for ln in page.lines]
    assert texts == ["AXE 1 : Le logement", "Nous voulons renforcer l'accompagnement",
                     "des familles et des jeunes."] or texts == [
        "des familles et des jeunes.", "Nous voulons renforcer l'accompagnement",
        "AXE 1 : Le logement"]  # upside-down display: the last drawn line is on top
    assert all(ln.x1 - ln.x0 > 50 and ln.bottom - ln.top < 20 for ln in page.lines)


# --------------------------------------------------------------------------- dense pages
# (speed is measured by `make benchmark`, not asserted here)


def test_dense_pages_keep_every_line_on_its_page():
    """40 pages of 50 lines: every line is read once, on the right page."""
    words = ("accompagnement social des familles logement emploi santé insertion "
             "énergie mobilité aînés jeunesse").split()

    def draw(pdf):
        for k in range(40):
            if k:
                pdf.add_page()
            for i in range(50):
                line = " ".join(words[(i + j + k) % len(words)] for j in range(11))
                pdf.text(50, 60 + i * 14.5, f"{line}.")
    res = read_pdf(_fpdf(draw))
    assert res.n_pages == 40
    text = " ".join(b.text for b in res.blocks)
    assert text.count(".") == 40 * 50
    pages = sorted({b.page for b in res.blocks})
    assert pages == list(range(1, 41))


def test_turned_margin_text_stays_whole_and_apart():
    """A note turned 90° in the margin is one line of its own; the body line at its height is
    left intact (pdfplumber's reader glued the note's words, reversed, onto it)."""
    def draw(pdf):
        y = 100
        for t in ("AXE 1 : Le logement", "Nous voulons renforcer l'accompagnement des familles",
                  "et des jeunes adultes du territoire communal."):
            pdf.text(72, y, t)
            y += 14
        with pdf.rotation(90, x=30, y=400):
            pdf.text(30, 400, "Séance du conseil du 12 mars 2019 - document de travail")
    res = read_pdf(_fpdf(draw))
    texts = [b.text for b in res.blocks]
    assert "AXE 1 : Le logement" in texts
    assert ("Nous voulons renforcer l'accompagnement des familles et des jeunes adultes du "
            "territoire communal.") in texts
    assert "Séance du conseil du 12 mars 2019 - document de travail" in texts
