"""PDF reader: text layer with pdfplumber (one pass per page), OCR when no page has text.

Bad PDFs are recognised first with pypdfium2 (fast): encrypted, truncated/corrupt, not a PDF.
"""

from __future__ import annotations

import io
import logging
import statistics

from pipeline.ingest import errors
from pipeline.ingest.errors import IngestError
from pipeline.ingest.layout import Line, PageContent, Table, lines_to_blocks, remove_running_lines
from pipeline.ingest.normalize import ReadResult

_BOLD_MARKS = ("bold", "black", "heavy", "semibold", "demibold", ",b")


def _check_pdf(data: bytes) -> int:
    """Open ``data`` with pypdfium2 → page count; IngestError for encrypted / corrupt / non-PDF."""
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
    try:
        n = len(doc)
    finally:
        doc.close()
    if n == 0:
        raise IngestError(errors.CORRUPT_PDF)
    return n


def _is_bold(chars: list[dict]) -> bool:
    names = [c.get("fontname", "").lower() for c in chars if c.get("text", "").strip()]
    return bool(names) and all(any(m in n for m in _BOLD_MARKS) for n in names)


def _page_content(page, number: int) -> PageContent:
    """One pdfplumber page → its positioned lines and tables (lines inside tables are left out)."""
    pc = PageContent(number=number, width=float(page.width), height=float(page.height))
    tables = []
    if page.rects or page.lines:  # ruled tables only: skip the costly search on plain pages
        try:
            tables = [t for t in page.find_tables() if len(t.rows) >= 2 and len(t.rows[0].cells) >= 2]
        except Exception:  # noqa: BLE001 - a table-finder failure must not lose the page text
            tables = []
    boxes = [t.bbox for t in tables]
    for t in tables:
        pc.tables.append(Table(top=float(t.bbox[1]), page=number,
                               rows=[[c for c in row] for row in t.extract()]))
    for tl in page.extract_text_lines(return_chars=True, strip=True):
        text = tl.get("text", "")
        if not text.strip():
            continue
        cy = (tl["top"] + tl["bottom"]) / 2
        cx = (tl["x0"] + tl["x1"]) / 2
        if any(b[0] - 1 <= cx <= b[2] + 1 and b[1] - 1 <= cy <= b[3] + 1 for b in boxes):
            continue
        chars = tl.get("chars", [])
        sizes = [c.get("size", 0) for c in chars if c.get("text", "").strip()]
        size = statistics.median(sizes) if sizes else float(tl["bottom"] - tl["top"])
        pc.lines.append(Line(text=text, x0=float(tl["x0"]), x1=float(tl["x1"]),
                             top=float(tl["top"]), bottom=float(tl["bottom"]), size=float(size),
                             bold=_is_bold(chars), page=number))
    return pc


def read_pdf(data: bytes) -> ReadResult:
    """Bytes of a PDF → ReadResult (format "pdf", or "pdf-ocr" when every page was OCRed).

    Raises IngestError for encrypted, truncated, corrupt or non-PDF data, and for a scanned PDF
    when OCR is unavailable.
    """
    import pdfplumber

    n_pages = _check_pdf(data)
    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    pages: list[PageContent] = []
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            for i, page in enumerate(pdf.pages, start=1):
                pages.append(_page_content(page, i))
                page.close()  # frees the page's cached layout (200-page PDFs)
    except IngestError:
        raise
    except Exception as exc:  # noqa: BLE001 - pdfminer raises many kinds of errors on bad files
        msg = str(exc).lower()
        if "password" in msg or "encrypt" in msg:
            raise IngestError(errors.ENCRYPTED) from exc
        raise IngestError(errors.CORRUPT_PDF) from exc
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
