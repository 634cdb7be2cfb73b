"""DOCX reader (python-docx): paragraphs and tables in body order → raw blocks.

Heading level from the style (Title, Heading n / Titre n, outline level), list level and the
rendered list marker from Word numbering (numbering.xml numFmt / lvlText), bold when every
run with text is bold, tables row by row as table_cell blocks.  Headers and footers are
separate parts of the file and never reach the text.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from pipeline.ingest import errors
from pipeline.ingest.errors import IngestError
from pipeline.ingest.normalize import RawBlock

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_HEADING_RE = re.compile(r"^(?:heading|titre|überschrift|kop)\s*(\d)$", re.IGNORECASE)
_LIST_STYLE_RE = re.compile(r"^(?:list|liste)\b.*?(\d)?$", re.IGNORECASE)


# --------------------------------------------------------------------------- numbering


def _roman(n: int) -> str:
    vals = [(1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
            (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")]
    out = ""
    for v, s in vals:
        while n >= v:
            out, n = out + s, n - v
    return out


def _letter(n: int) -> str:
    return chr(ord("a") + (n - 1) % 26) * (1 + (n - 1) // 26)


def format_number(n: int, fmt: str) -> str:
    """A list counter in Word's ``numFmt`` ("decimal", "lowerLetter", "upperRoman"…)."""
    if fmt == "lowerLetter":
        return _letter(n)
    if fmt == "upperLetter":
        return _letter(n).upper()
    if fmt == "lowerRoman":
        return _roman(n)
    if fmt == "upperRoman":
        return _roman(n).upper()
    if fmt == "decimalZero":
        return f"{n:02d}"
    return str(n)


class Numbering:
    """Word numbering definitions and running counters → the marker a reader sees."""

    def __init__(self, doc):
        self.levels: dict[str, dict[int, tuple[str, str, int]]] = {}  # numId → ilvl → (fmt, text, start)
        self.counters: dict[str, dict[int, int]] = {}
        try:
            root = doc.part.numbering_part.element
        except (NotImplementedError, KeyError, AttributeError):
            return
        abstract: dict[str, dict[int, tuple[str, str, int]]] = {}
        for an in root.findall(f"{W}abstractNum"):
            lv: dict[int, tuple[str, str, int]] = {}
            for lvl in an.findall(f"{W}lvl"):
                ilvl = int(lvl.get(f"{W}ilvl", "0"))
                fmt = _val(lvl.find(f"{W}numFmt")) or "decimal"
                text = _val(lvl.find(f"{W}lvlText"))
                start = int(_val(lvl.find(f"{W}start")) or 1)
                lv[ilvl] = (fmt, text if text is not None else "", start)
            abstract[an.get(f"{W}abstractNumId")] = lv
        for num in root.findall(f"{W}num"):
            aid = _val(num.find(f"{W}abstractNumId"))
            levels = dict(abstract.get(aid, {}))
            for ov in num.findall(f"{W}lvlOverride"):
                ilvl = int(ov.get(f"{W}ilvl", "0"))
                so = ov.find(f"{W}startOverride")
                if so is not None and ilvl in levels:
                    fmt, text, _ = levels[ilvl]
                    levels[ilvl] = (fmt, text, int(_val(so) or 1))
            self.levels[num.get(f"{W}numId")] = levels

    def marker(self, num_id: str, ilvl: int) -> str | None:
        """Advance the counter of (num_id, ilvl) → its rendered marker ("•", "1.", "a)"),
        "" for numFmt none, None when the numbering is unknown."""
        levels = self.levels.get(num_id)
        if not levels or ilvl not in levels:
            return None
        fmt, text, _start = levels[ilvl]
        if fmt == "bullet":
            return "•"
        if fmt == "none":
            return ""
        counters = self.counters.setdefault(num_id, {})
        counters[ilvl] = counters.get(ilvl, levels[ilvl][2] - 1) + 1
        for deeper in [k for k in counters if k > ilvl]:
            del counters[deeper]

        def sub(m: re.Match) -> str:
            k = int(m.group(1)) - 1
            lf = levels.get(k, ("decimal", "", 1))
            return format_number(counters.get(k, lf[2]), lf[0] if k != ilvl else fmt)

        return re.sub(r"%(\d)", sub, text).strip()


def _val(el) -> str | None:
    return None if el is None else el.get(f"{W}val")


# --------------------------------------------------------------------------- paragraphs


def _style_chain(style):
    seen = 0
    while style is not None and seen < 10:
        yield style
        style, seen = style.base_style, seen + 1


def _num_pr(paragraph) -> tuple[str | None, int | None]:
    """(numId, ilvl) from the paragraph, else from its style chain."""
    ppr = paragraph._p.pPr
    num_id = ilvl = None
    if ppr is not None and ppr.numPr is not None:
        if ppr.numPr.numId is not None:
            num_id = str(ppr.numPr.numId.val)
        if ppr.numPr.ilvl is not None:
            ilvl = int(ppr.numPr.ilvl.val)
    if num_id is None:
        for st in _style_chain(paragraph.style):
            spp = st.element.pPr
            if spp is not None and spp.numPr is not None and spp.numPr.numId is not None:
                num_id = str(spp.numPr.numId.val)
                if ilvl is None and spp.numPr.ilvl is not None:
                    ilvl = int(spp.numPr.ilvl.val)
                break
    return num_id, ilvl


def _heading_level(paragraph) -> int:
    for st in _style_chain(paragraph.style):
        name = (st.name or "").strip()
        if name.lower() in ("title", "titre"):
            return 1
        m = _HEADING_RE.match(name)
        if m:
            return max(1, int(m.group(1)))
    ppr = paragraph._p.pPr
    if ppr is not None:
        ol = ppr.find(f"{W}outlineLvl")
        if ol is not None and _val(ol) is not None and int(_val(ol)) < 9:
            return int(_val(ol)) + 1
    return 0


def _is_bold(paragraph) -> bool:
    style_bold = any(st.font.bold for st in _style_chain(paragraph.style)
                     if st.font is not None and st.font.bold is not None)
    runs = [r for r in paragraph.runs if r.text.strip()]
    if not runs:
        return False
    return all(r.bold if r.bold is not None else style_bold for r in runs)


def _paragraph_block(paragraph, numbering: Numbering) -> RawBlock | None:
    text = paragraph.text
    if not text.strip():
        return None
    level = _heading_level(paragraph)
    bold = _is_bold(paragraph)
    num_id, ilvl = _num_pr(paragraph)
    if level:
        if num_id and num_id != "0":
            marker = numbering.marker(num_id, ilvl or 0)
            if marker:
                text = f"{marker} {text.strip()}"
        return RawBlock(text, kind="heading", level=level, bold=bold)
    style_name = paragraph.style.name if paragraph.style is not None else ""
    list_style = _LIST_STYLE_RE.match(style_name or "")
    if num_id and num_id != "0" or list_style:
        marker = numbering.marker(num_id, ilvl or 0) if num_id and num_id != "0" else None
        depth = (ilvl or 0) + 1
        if list_style and list_style.group(1) and not ilvl:
            depth = int(list_style.group(1))
        if marker is None and list_style:
            marker = "•" if "bullet" in style_name.lower() or "puce" in style_name.lower() else ""
        if marker:
            text = f"{marker} {text.strip()}"
        return RawBlock(text, kind="list_item", level=depth, bold=bold)
    return RawBlock(text, kind="paragraph", bold=bold)


def check_unzipped_size(data, max_bytes: int) -> None:
    """Raise IngestError when the parts of the zip ``data`` (bytes, or a path) add up to more than ``max_bytes``
    once decompressed. Read from the zip directory: nothing is decompressed (and ``zipfile``
    never inflates a part past the size the directory gives, so a part that lies about its
    size fails its CRC check instead of filling the memory)."""
    from pipeline.limits import mb

    try:
        with zipfile.ZipFile(data if isinstance(data, (str, Path)) else io.BytesIO(data)) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise IngestError(errors.CORRUPT_DOCX) from exc
    total = sum(max(0, i.file_size) for i in infos)
    if total > max_bytes:
        largest = max(infos, key=lambda i: i.file_size)
        raise IngestError(errors.unzipped_too_big(mb(total), max_bytes / 2**20,
                                                  largest.filename, mb(largest.file_size)))


def read_docx(data: bytes, max_unzipped_bytes: int | None = None) -> list[RawBlock]:
    """Bytes of a .docx → raw blocks in body order (IngestError when not a readable DOCX, or
    when its parts would take more than ``max_unzipped_bytes`` decompressed)."""
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise IngestError(errors.CORRUPT_DOCX)
    if max_unzipped_bytes is not None:
        check_unzipped_size(data, max_unzipped_bytes)
    try:
        doc = docx.Document(io.BytesIO(data))
        body = doc.element.body
    except Exception as exc:  # noqa: BLE001 - python-docx/lxml raise many kinds of errors
        raise IngestError(errors.CORRUPT_DOCX) from exc
    numbering = Numbering(doc)
    blocks: list[RawBlock] = []
    table_no = 0
    for child in body.iterchildren():
        if child.tag == f"{W}p":
            b = _paragraph_block(Paragraph(child, doc), numbering)
            if b:
                blocks.append(b)
        elif child.tag == f"{W}tbl":
            table = Table(child, doc)
            for r, row in enumerate(table.rows):
                seen: list = []  # cell elements already read (a merged cell repeats itself)
                for c, cell in enumerate(row.cells):
                    if any(cell._tc is tc for tc in seen):
                        continue
                    seen.append(cell._tc)
                    text = " ".join(p.text.strip() for p in cell.paragraphs if p.text.strip())
                    if text:
                        blocks.append(RawBlock(text, kind="table_cell", table=table_no,
                                               row=r, col=c))
            table_no += 1
    return blocks
