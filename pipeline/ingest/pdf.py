"""PDF reader: text layer with pypdfium2 (one pass over each page's text objects), pdfplumber's
table finder only on pages whose vector paths may form a ruled grid, OCR when no page has text.

Bad PDFs are recognised first with pypdfium2: encrypted, truncated/corrupt, not a PDF.

Lines are built the way pdfplumber's ``extract_text_lines`` builds them (pieces clustered on
their top within 3 pt, sorted left to right, a space where pieces are more than 3 pt apart),
from text objects rather than characters: a text object is one run of glyphs on one baseline
with one font, so its text, box, font size and font name are read with a handful of calls
instead of a few calls per character (≈ 5–7 ms a page instead of ≈ 100 ms with pdfplumber).
Line texts, sizes, boldness and x0 equal pdfplumber's; x1 is the last glyph's advance end
(pdfium's "loose" box) as in pdfminer; tops use one descent for every font (pdfminer reads it
from each font dictionary), so they may sit up to a quarter of the font size apart from
pdfplumber's, by the same amount for every line of a font.  Rotated pages (/Rotate) are read
as displayed; turned text (a margin note) makes lines of its own.
"""

from __future__ import annotations

import ctypes
import io
import logging
import math
from dataclasses import dataclass

from pipeline.ingest import errors
from pipeline.ingest.errors import IngestError
from pipeline.ingest.layout import Line, PageContent, Table, lines_to_blocks, remove_running_lines
from pipeline.ingest.normalize import ReadResult

_BOLD_MARKS = ("bold", "black", "heavy", "semibold", "demibold", ",b")
#: Ligature glyphs expanded as pdfplumber does (``expand_ligatures=True``).
_LIGATURES = str.maketrans({"ﬀ": "ff", "ﬃ": "ffi", "ﬄ": "ffl", "ﬁ": "fi", "ﬂ": "fl",
                            "ﬆ": "st", "ﬅ": "st"})
#: Characters pdfium may hand back that are not text (NUL, generated line breaks, the
#: "hyphen at line end" marker \x02 is a real hyphen).
_CONTROL = str.maketrans({"\x00": "", "\r": " ", "\n": " ", "\t": " ", "\x02": "-",
                          "\xa0": " "})
#: pdfplumber's default tolerances (points): pieces farther apart than X_TOLERANCE are separate
#: words; tops within Y_TOLERANCE of each other (chained) make one line.
X_TOLERANCE = 3.0
Y_TOLERANCE = 3.0
#: Descent below the baseline, as a fraction of the font size, used for every font.
DESCENT = -0.22

_TEXT, _PATH, _FORM = 1, 2, 5  # FPDF_PAGEOBJ_TEXT / _PATH / _FORM


@dataclass
class Piece:
    """One text object of a page: its text and box (points, origin top-left), font size, bold."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    bold: bool = False
    upright: bool = True


# --------------------------------------------------------------------------- bad files


def _check_pdf(data: bytes):
    """Open ``data`` with pypdfium2 → the open PdfDocument; IngestError for encrypted / corrupt /
    non-PDF data or a PDF without pages."""
    import pypdfium2 as pdfium

    head = data[:1024].lstrip()
    if b"%PDF" not in head:
        raise IngestError(errors.NOT_A_PDF)
    try:
        doc = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        msg = str(exc).lower()
        if "password" in msg or "security" in msg:
            raise IngestError(errors.ENCRYPTED) from exc
        raise IngestError(errors.CORRUPT_PDF) from exc
    if len(doc) == 0:
        doc.close()
        raise IngestError(errors.CORRUPT_PDF)
    return doc


# --------------------------------------------------------------------------- pieces → lines


def is_bold_font(name: str) -> bool:
    """Whether a PDF font name (``ABCDEF+Arial-BoldMT``, ``Calibri,Bold``) names a bold face."""
    low = name.lower()
    return any(m in low for m in _BOLD_MARKS)


def _weighted_median(values: list[tuple[float, int]]) -> float:
    """Median of ``values`` given as (value, count) pairs, as ``statistics.median`` of the
    expanded list (mean of the two middle values for an even total)."""
    values = sorted(v for v in values if v[1] > 0)
    total = sum(n for _, n in values)
    if not total:
        return 0.0

    def nth(k: int) -> float:
        seen = 0
        for v, n in values:
            seen += n
            if k < seen:
                return v
        return values[-1][0]

    if total % 2:
        return nth(total // 2)
    return (nth(total // 2 - 1) + nth(total // 2)) / 2


def pieces_to_lines(pieces: list[Piece], page: int = 1) -> list[Line]:
    """Text pieces of one page → its lines, top to bottom (pdfplumber's line building).

    Pieces whose tops lie within ``Y_TOLERANCE`` of the previous one (sorted by top, chained)
    form a line; its pieces are read left to right, joined with one space when they are more
    than ``X_TOLERANCE`` apart, go backwards, or a side is blank; runs of spaces become one.
    A piece drawn twice at (nearly) the same place (fake bold) is kept once.  Turned pieces
    (``upright`` False) are lines of their own, placed by their top.  The line's size
    is the median font size of its non-blank characters; it is bold when every piece is.
    """
    live = [p for p in pieces if p.text.strip() and p.upright]
    live.sort(key=lambda p: p.top)
    clusters: list[list[Piece]] = []
    last = None
    for p in live:
        if last is not None and p.top <= last + Y_TOLERANCE:
            clusters[-1].append(p)
        else:
            clusters.append([p])
        last = p.top
    lines: list[Line] = []
    for group in clusters:
        group.sort(key=lambda p: p.x0)
        kept: list[Piece] = []
        for p in group:
            if any(q.text == p.text and abs(q.x0 - p.x0) < 2 and abs(q.top - p.top) < 2
                   for q in kept):
                continue
            kept.append(p)
        parts: list[str] = []
        prev: Piece | None = None
        for p in kept:
            if prev is not None and (p.x0 > prev.x1 + X_TOLERANCE or p.x0 < prev.x0):
                parts.append(" ")
            parts.append(p.text)
            prev = p
        text = " ".join("".join(parts).split())
        sizes = [(p.size, len("".join(p.text.split()))) for p in kept]
        lines.append(Line(text=text, x0=min(p.x0 for p in kept), x1=max(p.x1 for p in kept),
                          top=min(p.top for p in kept), bottom=max(p.bottom for p in kept),
                          size=float(_weighted_median(sizes)),
                          bold=all(p.bold for p in kept), page=page))
    # turned text (a margin note, a stamp) is never merged with the upright lines
    turned = [Line(text=" ".join(p.text.split()), x0=p.x0, x1=p.x1, top=p.top,
                   bottom=p.bottom, size=p.size, bold=p.bold, page=page)
              for p in pieces if p.text.strip() and not p.upright]
    if turned:
        lines = sorted(lines + turned, key=lambda ln: ln.top)
    return lines


# --------------------------------------------------------------------------- tables


def may_hold_table(boxes: list[tuple[float, float, float, float]], segments: int = 0) -> bool:
    """Whether vector paths with these bounds (left, bottom, right, top) may draw a ruled table
    of at least 2 × 2 cells: three distinct horizontal and three distinct vertical edges
    (from thin lines or rectangle sides), or one path of many segments (a grid drawn at once).
    """
    if segments >= 24:
        return True
    hs: set[int] = set()
    vs: set[int] = set()
    for left, bottom, right, top in boxes:
        w, h = right - left, top - bottom
        if w >= 4:  # a horizontal rule, or a box's top and bottom sides
            hs.add(round(bottom))
            if h >= 2:
                hs.add(round(top))
        if h >= 4:
            vs.add(round(left))
            if w >= 2:
                vs.add(round(right))
    return len(hs) >= 3 and len(vs) >= 3


def _open_plumber(data: bytes):
    """pdfplumber's view of the PDF (for its table finder), or False when pdfminer cannot
    parse a file pdfium could read."""
    import pdfplumber

    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    try:
        return pdfplumber.open(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - pdfminer raises many kinds of errors on odd files
        return False


def _plumber_tables(plumber_pdf, index: int, number: int) -> list:
    """pdfplumber's ruled tables (≥ 2 rows, ≥ 2 columns) of page ``index`` → list of
    (bbox, Table); [] when there is no pdfplumber view or the finder fails."""
    if not plumber_pdf:
        return []
    try:
        page = plumber_pdf.pages[index]
    except Exception:  # noqa: BLE001
        return []
    try:
        found = [t for t in page.find_tables() if len(t.rows) >= 2 and len(t.rows[0].cells) >= 2]
        out = [(t.bbox, Table(top=float(t.bbox[1]), page=number,
                              rows=[list(row) for row in t.extract()])) for t in found]
    except Exception:  # noqa: BLE001 - a table-finder failure must not lose the page text
        out = []
    finally:
        page.close()
    return out


# --------------------------------------------------------------------------- pdfium pages


class _PageReader:
    """Reads the text objects of pdfium pages into Pieces (fonts cached across pages)."""

    def __init__(self):
        import pypdfium2.raw as raw

        self.raw = raw
        self.fonts: dict[int, bool] = {}
        self.buf_len = 4096
        self.buf = (ctypes.c_ushort * self.buf_len)()
        self.name_buf = ctypes.create_string_buffer(256)
        self.matrix = raw.FS_MATRIX()
        self.rect = raw.FS_RECTF()
        self.size = ctypes.c_float()
        self.l, self.b, self.r, self.t = (ctypes.c_float() for _ in range(4))

    def bold(self, obj) -> bool:
        """Whether a text object's font is a bold face (by its name, as pdfplumber's callers
        read ``fontname``)."""
        raw = self.raw
        font = raw.FPDFTextObj_GetFont(obj)
        key = ctypes.cast(font, ctypes.c_void_p).value or 0
        hit = self.fonts.get(key)
        if hit is None:
            name = ""
            if key:
                n = raw.FPDFFont_GetBaseFontName(font, self.name_buf, 256)
                if 0 < n <= 256:
                    name = self.name_buf.value.decode("latin-1", "replace")
            hit = self.fonts[key] = is_bold_font(name)
        return hit

    def _utf16(self, n: int) -> str:
        return ctypes.string_at(self.buf, n).decode("utf-16-le", "replace") if n > 0 else ""

    def _grow(self, n_units: int) -> None:
        if n_units > self.buf_len:
            self.buf_len = n_units
            self.buf = (ctypes.c_ushort * n_units)()

    def text(self, obj, textpage) -> str:
        """A text object's text as pdfium reads it (raw: before control-character and
        ligature clean-up)."""
        raw = self.raw
        n = raw.FPDFTextObj_GetText(obj, textpage, self.buf, self.buf_len * 2)
        if n > self.buf_len * 2:
            self._grow(n // 2 + 1)
            n = raw.FPDFTextObj_GetText(obj, textpage, self.buf, self.buf_len * 2)
        return self._utf16(n - 2)

    def page(self, page, textpage) -> tuple[list[Piece], list, int]:
        """pdfium page → (pieces, path boxes (l, b, r, t), most segments in one table-sized path),
        coordinates in points from the top-left corner of the page's visible box."""
        raw = self.raw
        left, bottom, right, top = page.get_bbox()
        rotation = _page_rotation(page.get_rotation(), (left, bottom, right, top))
        if rotation is not None:  # positions as displayed, as pdfminer gives them
            left, top = 0.0, (right - left if page.get_rotation() % 180 else top - bottom)
        self.rotated = rotation is not None
        # the page's character stream, to find each object's last character (its x1)
        n = raw.FPDFText_CountChars(textpage)
        self._grow(n + 1)
        got = raw.FPDFText_GetText(textpage, 0, n, self.buf) if n > 0 else 0
        self.page_text = self._utf16(2 * (got - 1))
        self.stream_ok = len(self.page_text) == n
        self.cursor = 0
        pieces: list[Piece] = []
        paths: list[tuple[float, float, float, float]] = []
        max_segments = 0
        stack = [(page.raw, raw.FPDFPage_CountObjects(page.raw), raw.FPDFPage_GetObject,
                  rotation)]
        while stack:
            parent, count, get, outer = stack.pop()
            for i in range(count):
                obj = get(parent, i)
                kind = raw.FPDFPageObj_GetType(obj)
                if kind == _TEXT:
                    piece = self.piece(obj, textpage, outer, left, top)
                    if piece is not None:
                        pieces.append(piece)
                elif kind == _PATH:
                    if raw.FPDFPageObj_GetBounds(obj, self.l, self.b, self.r, self.t):
                        box = _transform_box((self.l.value, self.b.value, self.r.value,
                                              self.t.value), outer)
                        paths.append(box)
                        if box[2] - box[0] >= 40 and box[3] - box[1] >= 20:  # table-sized
                            max_segments = max(max_segments, raw.FPDFPath_CountSegments(obj))
                elif kind == _FORM:
                    raw.FPDFPageObj_GetMatrix(obj, self.matrix)
                    m = _matrix(self.matrix)
                    stack.append((obj, raw.FPDFFormObj_CountObjects(obj),
                                  raw.FPDFFormObj_GetObject,
                                  m if outer is None else _mul(m, outer)))
        return pieces, paths, max_segments

    def piece(self, obj, textpage, outer, left: float, top: float) -> Piece | None:
        """One text object → Piece (None when blank)."""
        raw = self.raw
        raw_text = self.text(obj, textpage)
        text = raw_text.translate(_CONTROL).translate(_LIGATURES)
        if not text.strip():
            return None
        raw.FPDFPageObj_GetMatrix(obj, self.matrix)
        m = _matrix(self.matrix)
        if outer is not None:
            m = _mul(m, outer)
        a, b, c, d, e, f = m
        raw.FPDFTextObj_GetFontSize(obj, ctypes.byref(self.size))
        size = self.size.value * math.hypot(c, d)
        bold = self.bold(obj)
        raw.FPDFPageObj_GetBounds(obj, self.l, self.b, self.r, self.t)
        bl, bb, br, bt = _transform_box((self.l.value, self.b.value, self.r.value, self.t.value),
                                        outer)
        if abs(b) < 1e-3 and abs(c) < 1e-3 and a > 0 and d > 0 and size > 0:
            # upright text: pdfminer's box (one font size high, from the descent below the
            # baseline), with one descent for every font so that runs sharing a baseline
            # share a top (pdfminer's per-font descents come from font dictionaries)
            low = f + DESCENT * size
            x0 = e if not text[:1].isspace() else bl
            x1 = br if self.rotated else self.right_edge(obj, textpage, raw_text, br, f + 0.5,
                                                          0.25 * size)
            return Piece(text, x0 - left, max(x1, x0) - left, top - (low + size), top - low,
                         size, bold)
        return Piece(text, bl - left, br - left, top - bt, top - bb, size or (bt - bb), bold,
                     upright=abs(b) < 1e-3 and abs(c) < 1e-3)

    def _last_char(self, obj, textpage, raw_text: str, ink_right: float, y: float,
                   tol: float) -> int:
        """Index of a text object's last non-blank character in the page's character stream
        (found in the stream text after the previous object's, else probed at its ink's right
        end); -1 when not found."""
        raw = self.raw
        core = raw_text.rstrip()
        if self.stream_ok and core:
            pos = self.page_text.find(core, self.cursor)
            if pos < 0:
                pos = self.page_text.find(core)
            if pos >= 0:
                self.cursor = pos + len(core)
                return pos + len(core) - 1
        idx = raw.FPDFText_GetCharIndexAtPos(textpage, ink_right - 0.3, y, 1.5, tol)
        for _ in range(3):  # the probe may land on a space after the last glyph
            if idx > 0 and chr(raw.FPDFText_GetUnicode(textpage, idx) or 32).isspace():
                idx -= 1
        return idx

    def right_edge(self, obj, textpage, raw_text: str, ink_right: float, y: float,
                   tol: float) -> float:
        """Right edge of a text object's last glyph as pdfminer measures it (origin + advance
        width: pdfium's "loose" box), else the right side of its ink (``ink_right``)."""
        raw = self.raw
        idx = self._last_char(obj, textpage, raw_text, ink_right, y, tol)
        if idx < 0:
            return ink_right
        owner = raw.FPDFText_GetTextObject(textpage, idx)
        if (ctypes.cast(owner, ctypes.c_void_p).value != ctypes.cast(obj, ctypes.c_void_p).value
                or not raw.FPDFText_GetLooseCharBox(textpage, idx, self.rect)):
            return ink_right
        right = self.rect.right
        if ink_right - 1 <= right <= ink_right + 0.5 * (self.rect.top - self.rect.bottom):
            return right
        return ink_right


def _page_rotation(rotate: int, box: tuple[float, float, float, float]):
    """Matrix taking a page's user space to its displayed orientation (pdfminer's, for
    /Rotate 90, 180, 270 clockwise), None when the page is not rotated."""
    x0, y0, x1, y1 = box
    return {90: (0.0, -1.0, 1.0, 0.0, -y0, x1), 180: (-1.0, 0.0, 0.0, -1.0, x1, y1),
            270: (0.0, 1.0, -1.0, 0.0, y1, -x0)}.get(rotate % 360)


def _matrix(m) -> tuple[float, float, float, float, float, float]:
    return (m.a, m.b, m.c, m.d, m.e, m.f)


def _mul(m, n) -> tuple[float, float, float, float, float, float]:
    """Matrix product m × n (PDF row-vector convention: apply m, then n)."""
    a, b, c, d, e, f = m
    A, B, C, D, E, F = n
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D,
            e * A + f * C + E, e * B + f * D + F)


def _transform_box(box, m) -> tuple[float, float, float, float]:
    if m is None:
        return box
    x_lo, y_lo, x_hi, y_hi = box
    a, bb, c, d, e, f = m
    xs, ys = [], []
    for x, y in ((x_lo, y_lo), (x_lo, y_hi), (x_hi, y_lo), (x_hi, y_hi)):
        xs.append(a * x + c * y + e)
        ys.append(bb * x + d * y + f)
    return (min(xs), min(ys), max(xs), max(ys))


def _read_pages(doc, data: bytes) -> list[PageContent]:
    """Open pdfium document (and the file's bytes, opened with pdfplumber only for a page that
    may hold a ruled table) → positioned lines and tables of every page."""
    reader = _PageReader()
    plumber = None
    pages: list[PageContent] = []
    try:
        for i in range(len(doc)):
            page = doc[i]
            textpage = page.get_textpage()
            try:
                width, height = page.get_size()
                pieces, paths, segments = reader.page(page, textpage.raw)
            finally:
                textpage.close()
                page.close()
            pc = PageContent(number=i + 1, width=float(width), height=float(height))
            lines = pieces_to_lines(pieces, i + 1)
            boxes = []
            if paths and may_hold_table(paths, segments):
                if plumber is None:
                    plumber = _open_plumber(data)
                for bbox, table in _plumber_tables(plumber, i, i + 1):
                    boxes.append(bbox)
                    pc.tables.append(table)
            for ln in lines:
                cy, cx = (ln.top + ln.bottom) / 2, (ln.x0 + ln.x1) / 2
                if any(b[0] - 1 <= cx <= b[2] + 1 and b[1] - 1 <= cy <= b[3] + 1 for b in boxes):
                    continue
                pc.lines.append(ln)
            pages.append(pc)
    finally:
        if plumber:
            plumber.close()
    return pages


def read_pdf(data: bytes) -> ReadResult:
    """Bytes of a PDF → ReadResult (format "pdf", or "pdf-ocr" when every page was OCRed).

    Raises IngestError for encrypted, truncated, corrupt or non-PDF data, and for a scanned PDF
    when OCR is unavailable.
    """
    import pypdfium2 as pdfium

    doc = _check_pdf(data)
    try:
        n_pages = len(doc)
        pages = _read_pages(doc, data)
    except IngestError:
        raise
    except (pdfium.PdfiumError, OSError, ValueError) as exc:
        msg = str(exc).lower()
        if "password" in msg or "encrypt" in msg:
            raise IngestError(errors.ENCRYPTED) from exc
        raise IngestError(errors.CORRUPT_PDF) from exc
    finally:
        doc.close()
    n_pages = len(pages) or n_pages
    warnings: list[str] = []
    if not any(pc.lines or pc.tables for pc in pages):
        from pipeline.ingest.ocr import ocr_pdf

        ocr_pages = ocr_pdf(data)
        remove_running_lines(ocr_pages)
        blocks = lines_to_blocks(ocr_pages, heading_ratio=1.5)
        if not blocks:
            raise IngestError(errors.OCR_EMPTY)
        return ReadResult(blocks, n_pages=len(ocr_pages), format="pdf-ocr",
                          warnings=["texte obtenu par OCR : relisez les passages importants"])
    empty = [pc.number for pc in pages if not (pc.lines or pc.tables)]
    if empty and len(empty) < len(pages):
        warnings.append("pages sans texte (images ?) ignorées : " + ", ".join(map(str, empty)))
    remove_running_lines(pages)
    return ReadResult(lines_to_blocks(pages), n_pages=n_pages, format="pdf", warnings=warnings)


__all__ = ["Piece", "is_bold_font", "may_hold_table", "pieces_to_lines", "read_pdf"]
