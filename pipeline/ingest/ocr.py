"""OCR of scanned PDFs: pages rendered with pypdfium2 (~300 dpi), read by tesseract in French.

The result is positioned lines (in PDF points) for the shared layout code, so scans get the
same header/footer removal and paragraph rebuilding as text PDFs.
"""

from __future__ import annotations

import re
import statistics

from pipeline.ingest import errors
from pipeline.ingest.errors import IngestError
from pipeline.ingest.layout import Line, PageContent

DPI = 300
LANG = "fra"


def tesseract_problem() -> str:
    """"" when tesseract and its French data are usable, else the French error message."""
    try:
        import pytesseract

        pytesseract.get_tesseract_version()
        langs = pytesseract.get_languages(config="")
    except Exception:  # noqa: BLE001 - missing binary, broken install, no permission…
        return errors.NO_OCR
    if LANG not in langs:
        return errors.NO_OCR
    return ""


def _page_lines(image, number: int, scale: float) -> list[Line]:
    """tesseract word boxes of one page image → lines in PDF points (``scale`` = pt per px)."""
    import pytesseract

    data = pytesseract.image_to_data(image, lang=LANG, config="--psm 3",
                                     output_type=pytesseract.Output.DICT)
    groups: dict[tuple[int, int, int], list[int]] = {}
    for i, word in enumerate(data["text"]):
        if not str(word).strip():
            continue
        try:
            if float(data["conf"][i]) < 0:
                continue
        except (TypeError, ValueError):
            pass
        key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        groups.setdefault(key, []).append(i)
    lines = []
    for idx in groups.values():
        idx.sort(key=lambda i: data["left"][i])
        text = " ".join(str(data["text"][i]).strip() for i in idx)
        x0 = min(data["left"][i] for i in idx)
        x1 = max(data["left"][i] + data["width"][i] for i in idx)
        top = min(data["top"][i] for i in idx)
        bottom = max(data["top"][i] + data["height"][i] for i in idx)
        height = statistics.median(data["height"][i] for i in idx)
        lines.append(Line(text=text, x0=x0 * scale, x1=x1 * scale, top=top * scale,
                          bottom=bottom * scale, size=height * scale * 0.9, page=number))
    lines.sort(key=lambda ln: (round(ln.top / 4), ln.x0))
    return lines


#: What tesseract makes of a round bullet at a line start ("e", "o", "°", "«", "©"…).
_OCR_BULLET_RE = re.compile(r"^(?:[eoc°«»*©®@¢•·]|\(?e\)?)\s+_*(?=\w)")


def _tidy(pages: list[PageContent]) -> None:
    """Make OCR lines look like a text layer: one font size for body lines (heights within 25 %
    of the median), bullet artefacts turned back into "•"."""
    heights = [ln.size for pc in pages for ln in pc.lines]
    if not heights:
        return
    body = statistics.median(heights)
    for pc in pages:
        for ln in pc.lines:
            if 0.75 * body <= ln.size <= 1.3 * body:
                ln.size = body
            m = _OCR_BULLET_RE.match(ln.text)
            if m and ln.text[m.end():m.end() + 1].isalpha():
                ln.text = "• " + ln.text[m.end():]


def ocr_pdf(data: bytes) -> list[PageContent]:
    """Bytes of an image-only PDF → positioned lines per page, via French tesseract OCR.

    Raises IngestError (``errors.NO_OCR``) when tesseract or its French data is missing.
    """
    problem = tesseract_problem()
    if problem:
        raise IngestError(problem)
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(data)
    pages: list[PageContent] = []
    try:
        for i in range(len(doc)):
            page = doc[i]
            width, height = page.get_size()
            image = page.render(scale=DPI / 72, grayscale=True).to_pil()
            pages.append(PageContent(number=i + 1, width=width, height=height,
                                     lines=_page_lines(image, i + 1, 72 / DPI)))
            page.close()
    finally:
        doc.close()
    _tidy(pages)
    return pages
