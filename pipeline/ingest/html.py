"""HTML reader: trafilatura keeps the main content (menus, breadcrumbs, cookie banners, asides
and footers go); its XML output gives headings (h1–h6), list items (with nesting), tables and
bold.  Lines matching the web-noise patterns that survive ("Publié le…", "Imprimer") are dropped.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

from pipeline.ingest import errors
from pipeline.ingest.errors import IngestError
from pipeline.ingest.normalize import RawBlock, clean_line, is_noise_line

_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


_HEADING_BUTTON_RE = re.compile(r"(<h[1-6]\b[^>]*>)\s*<button\b[^>]*>(.*?)</button>",
                                re.IGNORECASE | re.DOTALL)
_FACT_BOX_RE = re.compile(
    r"<aside\b([^>]*>\s*<h[2-6][^>]*>[^<]*(?:pr[ée]voit|mesures|engagements|priorit[ée]s|axes|"
    r"en\s+bref|principales|retenir)[^<]*</h[2-6]>)((?:(?!</?aside\b).)*)</aside>",
    re.IGNORECASE | re.DOTALL)
#: an accordion's toggle standing alone (``aria-controls`` / ``aria-expanded``): its text is
#: the heading of the panel it opens
_TOGGLE_BUTTON_RE = re.compile(r"<button\b[^>]*\baria-(?:controls|expanded)\b[^>]*>(.*?)</button>",
                               re.IGNORECASE | re.DOTALL)


def decode_html(data: bytes) -> str:
    """HTML bytes → str using the BOM, then ``<meta charset>``, then UTF-8, then Windows-1252."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="replace")
    m = _CHARSET_RE.search(data[:8192])
    if m:
        enc = m.group(1).decode("ascii", "ignore").lower()
        if enc in ("iso-8859-1", "latin-1", "latin1", "us-ascii", "ascii"):
            enc = "cp1252"  # what browsers do
        try:
            return data.decode(enc, errors="replace")
        except LookupError:
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _title(html: str) -> str:
    m = re.search(r"<title[^>]*>(.*?)</title>", html, re.I | re.S)
    if not m:
        return ""
    import html as htmllib

    return clean_line(htmllib.unescape(re.sub(r"<[^>]+>", " ", m.group(1))))


def _text(el) -> str:
    """Text of an XML element without the text of nested lists."""
    parts = [el.text or ""]
    for child in el:
        if child.tag != "list":
            parts.append(_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _all_bold(el) -> bool:
    his = [h for h in el.iter("hi") if (h.get("rend") or "") in ("#b", "#strong")]
    own = clean_line(_text(el))
    return bool(his) and clean_line(" ".join(_text(h) for h in his)) == own


def _list(el, out: list[RawBlock], level: int) -> None:
    """A <list> → list_item blocks ("•" or "1." marker), nested lists one level deeper."""
    ordered = (el.get("rend") or "") == "ol"
    for k, item in enumerate(el.findall("item"), start=1):
        marker = f"{k}." if ordered else "•"
        out.append(RawBlock(f"{marker} {_text(item)}", kind="list_item", level=level,
                            bold=_all_bold(item)))
        for sub in item.findall("list"):
            _list(sub, out, level + 1)


@dataclass
class _Tables:
    """Tables met while walking a page: how many (their numbers), which have a header row."""

    n: int = 0
    headed: set[int] = field(default_factory=set)


def _drop_noise(blocks: list[RawBlock], headed: set[int]) -> list[RawBlock]:
    """``blocks`` without empty ones and page furniture (``is_noise_line``). A cell of a
    table with a header row (``headed``: table numbers) stays, whatever its words ("Accueil"
    as a plan's pilot service), when two other cells of its row are text: the row is data,
    not a menu or a footer laid out in a table."""
    lines = [clean_line(b.text) for b in blocks]
    noise = [not s or is_noise_line(s) for s in lines]
    text_cells: dict[tuple, int] = {}
    for b, n in zip(blocks, noise, strict=True):
        if b.kind == "table_cell" and not n:
            text_cells[(b.table, b.row)] = text_cells.get((b.table, b.row), 0) + 1
    return [b for b, s, n in zip(blocks, lines, noise, strict=True)
            if not n or (s and b.kind == "table_cell" and b.table in headed
                         and text_cells.get((b.table, b.row), 0) >= 2)]


def _caption_row(rows: list) -> bool:
    """Whether the first of a table's ``rows`` is its caption: one non-empty header cell, the
    others empty, above a row of two or more non-empty header cells."""
    if len(rows) < 2:
        return False

    def filled(row):
        return [c for c in row.findall("cell") if clean_line(_text(c))]

    first, second = filled(rows[0]), filled(rows[1])
    return (len(first) == 1 and first[0].get("role") == "head"
            and len(rows[0].findall("cell")) >= 2 and len(second) >= 2
            and all(c.get("role") == "head" for c in second))


def _walk(el, out: list[RawBlock], depth: int, tables: _Tables) -> None:
    for child in el:
        tag = child.tag
        if tag == "head":
            rend = child.get("rend") or "h2"
            level = int(rend[1]) if re.fullmatch(r"h[1-6]", rend) else 2
            out.append(RawBlock(_text(child), kind="heading", level=level))
        elif tag == "p" or tag == "quote":
            if len(child) and all(c.tag in ("p", "list", "table") for c in child):
                _walk(child, out, depth, tables)
            else:
                out.append(RawBlock(_text(child), bold=_all_bold(child)))
        elif tag == "list":
            _list(child, out, depth + 1)
        elif tag == "table":
            t = tables.n
            tables.n += 1
            rows = list(child.iter("row"))
            if _caption_row(rows):
                # a <caption> (trafilatura writes it as a first row of one header cell): the
                # table's title, said before it, not a cell of its first row
                out.append(RawBlock(clean_line(_text(rows[0].find("cell")))))
                rows = rows[1:]
            if len(rows) >= 2 and any(c.get("role") == "head" for c in rows[0].findall("cell")):
                tables.headed.add(t)  # a data table: a header row above its rows
            for r, row in enumerate(rows):
                for c, cell in enumerate(row.findall("cell")):
                    text = " ".join(clean_line(_text(x)) for x in [cell])
                    if text.strip():
                        out.append(RawBlock(text, kind="table_cell", table=t, row=r, col=c))
        elif tag in ("div", "main", "section", "article"):
            _walk(child, out, depth, tables)
        elif tag not in ("comments", "graphic", "ref"):
            text = _text(child)
            if text.strip():
                out.append(RawBlock(text))


#: nesting above which wrapper tags are dropped before parsing (libxml2 stops at 2,048 levels
#: even with ``huge_tree``, 256 without it; wrappers carry no text of their own)
MAX_NESTING = 1000
_WRAPPER_TAG_RE = re.compile(r"</?(?:div|span|section|article|font|center|aside)\b[^>]*>", re.I)
_VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
              "param", "source", "track", "wbr"}


def nesting_depth(html: str) -> int:
    """Deepest element nesting of ``html`` (stdlib parser, no depth limit; void tags ignored)."""
    from html.parser import HTMLParser

    class _Depth(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.depth = self.max = 0

        def handle_starttag(self, tag, attrs):
            if tag not in _VOID_TAGS:
                self.depth += 1
                self.max = max(self.max, self.depth)

        def handle_endtag(self, tag):
            if tag not in _VOID_TAGS:
                self.depth = max(0, self.depth - 1)

    p = _Depth()
    p.feed(html)
    p.close()
    return p.max


def read_html(data: bytes, warnings: list[str] | None = None) -> tuple[list[RawBlock], str]:
    """HTML bytes → (raw blocks of the main content, page title for metadata).

    Parsed without libxml2's default depth limit; a page nested deeper than MAX_NESTING
    levels is first flattened (wrapper tags such as ``div`` / ``span`` dropped, text kept),
    with a note appended to ``warnings``. Raises IngestError when the page holds no readable
    main content.
    """
    import lxml.html
    import trafilatura
    from lxml import etree

    html = decode_html(data)
    if not html.strip():
        raise IngestError(errors.EMPTY)
    title = _title(html)
    # an accordion's toggle button holds the heading's text ("<h3><button>Axe 1 – …</button>
    # </h3>", or the button alone): the extractor drops buttons, so the button's text becomes
    # the heading
    html = _HEADING_BUTTON_RE.sub(r"\1\2", html)
    html = _TOGGLE_BUTTON_RE.sub(r"<h3>\1</h3>", html)
    # a fact box of an article listing what the declaration provides ("<aside><h2>Ce que prévoit
    # la déclaration</h2><ul>…"): content, which the extractor would drop with the asides
    html = _FACT_BOX_RE.sub(r"<section\1\2</section>", html)
    depth = nesting_depth(html)
    if depth > MAX_NESTING:
        html = _WRAPPER_TAG_RE.sub(" ", html)
        left = nesting_depth(html)
        if warnings is not None:
            note = (f"page HTML imbriquée sur {depth} niveaux : balises d'habillage (div, span…) "
                    "retirées pour tout lire")
            if left > MAX_NESTING:
                note += (f" ; il reste {left} niveaux, le texte au-delà d'environ 2 000 niveaux "
                         "peut manquer : enregistrez la page en texte ou en PDF")
            warnings.append(note)
    xml = None
    for recall in (False, True):
        # past libxml2's default 256 levels, a parser without that limit (a fresh tree each
        # time: the extractor prunes the tree it is given)
        page = html if depth < 250 else lxml.html.fromstring(
            html, parser=lxml.html.HTMLParser(huge_tree=True, remove_comments=True))
        xml = trafilatura.extract(page, output_format="xml", include_formatting=True,
                                  include_comments=False, include_tables=True,
                                  include_links=False, include_images=False,
                                  favor_recall=recall)
        if xml:
            break
    if not xml:
        raise IngestError(errors.NO_TEXT)
    root = etree.fromstring(xml.encode("utf-8"))
    main = root.find("main")
    blocks: list[RawBlock] = []
    tables = _Tables()
    _walk(main if main is not None else root, blocks, 0, tables)
    blocks = _drop_noise(blocks, tables.headed)
    if not blocks:
        raise IngestError(errors.NO_TEXT)
    return blocks, title
