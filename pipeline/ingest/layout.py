"""Positioned lines (from a PDF text layer or from OCR) → raw blocks.

Shared by the PDF and OCR readers: running headers/footers and page numbers are removed,
wrapped lines are rejoined into paragraphs and list items using line geometry (vertical gaps,
indentation, short last lines), bullet starts, font size (headings) and boldness, and words
hyphenated at line ends are rejoined.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from pipeline.ingest.normalize import RawBlock, clean_line
from pipeline.ingest.text import ITEM_START_RE, SENTENCE_END
from pipeline.models import BULLET_CLASS

#: Page-number lines: "3", "- 3 -", "Page 3", "Page 3 / 12", "3/12", "3 sur 12", "p. 3".
PAGE_NUMBER_RE = re.compile(
    r"^(?:page|p\.|pg\.?)?\s*[-–—(]?\s*\d{1,4}\s*[-–—)]?\s*(?:(?:/|sur|de|of)\s*\d{1,4})?$",
    re.IGNORECASE)
_BULLET_START_RE = re.compile(rf"^(?:[{BULLET_CLASS}]|"
                              r"\d{1,2}(?:\.\d{1,2})*[.)]\s|[a-z][.)]\s)")
_LINE_END_HYPHEN_RE = re.compile(r"(\w+)-$")
#: Prefixes that make real compounds: a line-end hyphen after them is kept ("socio-professionnel").
COMPOUND_PREFIXES = frozenset(
    "socio bien non anti inter intra multi semi auto co ex demi post pré pre sous sur extra "
    "micro macro para néo neo quasi mi contre après avant arrière vice pluri inter-communal "
    "grand grande petit petite bel belle beau porte garde".split())


@dataclass
class Line:
    """One text line with its position on the page (PDF points, origin top-left)."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    bold: bool = False
    page: int = 1


@dataclass
class Table:
    """A table found on a page: its top position and its rows of cell texts (None = merged)."""

    top: float
    rows: list[list[str | None]]
    page: int = 1


@dataclass
class PageContent:
    """Everything read from one page."""

    number: int
    width: float
    height: float
    lines: list[Line] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


_CELL_HYPHEN_BREAK = re.compile(r"(?<=\w)-[ \t]*\n[ \t]*(?=\w)")


def _norm_key(text: str) -> str:
    return " ".join(clean_line(text).casefold().split())


def remove_running_lines(pages: list[PageContent], zone: float = 0.12) -> int:
    """Drop running headers/footers and page numbers from ``pages`` (in place) → lines dropped.

    Candidates are the first two and last two lines of a page lying in the top/bottom ``zone``
    (fraction of page height).  A candidate goes when it is a page number ("3", "Page 3 / 12",
    "- 3 -"), or when the same text (digits included) sits in the zone of at least half the
    pages (two at least), or when its text with the page number blanked out does and that
    number starts or ends the line or follows "page" ("DPS 2019-2024 – page 3").
    """
    def candidates(pc: PageContent) -> list[Line]:
        ls = pc.lines
        picked = ls[:2] + ls[-2:] if len(ls) > 4 else list(ls)
        return [ln for ln in picked
                if ln.top < zone * pc.height or ln.bottom > (1 - zone) * pc.height]

    n = len(pages)
    exact: Counter[str] = Counter()
    numbered: Counter[str] = Counter()
    for pc in pages:
        seen_e, seen_n = set(), set()
        for ln in candidates(pc):
            seen_e.add(_norm_key(ln.text))
            seen_n.add(_blank_page_number(_norm_key(ln.text), pc.number))
        exact.update(seen_e)
        numbered.update(seen_n)
    need = max(2, (n + 1) // 2)
    dropped = 0
    for pc in pages:
        drop = set()
        for ln in candidates(pc):
            key = _norm_key(ln.text)
            nkey = _blank_page_number(key, pc.number)
            numbered_line = nkey != key and re.search(r"^#|#$|(?:page|p\.)\s*#", nkey)
            if (PAGE_NUMBER_RE.match(key) or (n >= 2 and exact[key] >= need)
                    or (n >= 2 and numbered_line and numbered[nkey] >= need)):
                drop.add(id(ln))
        if len(drop) >= len(pc.lines):  # never empty a page: what repeats there is content
            drop = {id(ln) for ln in pc.lines if PAGE_NUMBER_RE.match(_norm_key(ln.text))}
        if drop:
            pc.lines = [ln for ln in pc.lines if id(ln) not in drop]
            dropped += len(drop)
    return dropped


def _blank_page_number(key: str, number: int) -> str:
    return re.sub(rf"(?<!\d){number}(?!\d)", "#", key)


def _pitch_by_size(lines: list[Line]) -> dict[float, float]:
    """Typical line-to-line distance for each (rounded) font size."""
    deltas: dict[float, Counter] = {}
    for a, b in zip(lines, lines[1:], strict=False):
        if a.page == b.page and abs(a.size - b.size) < 0.6:
            d = b.top - a.top
            if 0 < d < 3 * a.size:
                deltas.setdefault(round(a.size), Counter())[round(d * 2) / 2] += 1
    return {s: c.most_common(1)[0][0] for s, c in deltas.items()}


def _heading_levels(lines: list[Line], body: float, ratio: float) -> dict[float, int]:
    """Heading level of each rounded size ≥ ``ratio`` × body size; sizes within 20 % of the
    previous (larger) one share its level (OCR line heights jitter)."""
    sizes = sorted({round(ln.size) for ln in lines if ln.size >= body * ratio}, reverse=True)
    levels: dict[float, int] = {}
    level, ref = 0, None
    for s in sizes:
        if ref is None or s < 0.8 * ref:
            level, ref = min(level + 1, 6), s
        levels[s] = level
    return levels


def _join_hyphen(prev: str, cur: str, vocab: set[str]) -> str:
    """Join two wrapped lines; a word cut by a line-end hyphen is rejoined."""
    # only the tail is searched: blocks grow line by line (a whole-text search is quadratic)
    m = _LINE_END_HYPHEN_RE.search(prev[-200:]) if prev.endswith("-") else None
    if m and cur[:1].islower():
        head = m.group(1)
        tail = re.match(r"\w+", cur)
        tail_word = tail.group(0) if tail else ""
        glued = (head + tail_word).casefold()
        hyphened = f"{head}-{tail_word}".casefold()
        if hyphened in vocab and glued not in vocab:
            return prev + cur
        if glued in vocab or head.casefold() not in COMPOUND_PREFIXES:
            return prev[:-1] + cur
        return prev + cur
    return prev + " " + cur


def lines_to_blocks(pages: list[PageContent], heading_ratio: float = 1.15) -> list[RawBlock]:
    """Positioned lines and tables of every page → raw blocks in reading order.

    A new block starts at: a table, a heading-size change, a bold change, a bullet / numbered /
    "AXE…" start, a vertical gap larger than the usual line pitch, an indented first line, or
    after a short line ending a sentence.  Lines continue across a page break when the previous
    one does not end a sentence and the next starts in lower case.
    """
    all_lines = [ln for pc in pages for ln in pc.lines]
    if not all_lines and not any(pc.tables for pc in pages):
        return []
    weights: Counter[float] = Counter()
    for ln in all_lines:
        weights[round(ln.size * 2) / 2] += len(ln.text)
    body = weights.most_common(1)[0][0] if weights else 11.0
    levels = _heading_levels(all_lines, body, heading_ratio)
    pitch = _pitch_by_size(all_lines)
    vocab = {w.casefold() for ln in all_lines for w in re.findall(r"\w+(?:-\w+)*", ln.text)}
    bullet_x = sorted({round(ln.x0) for ln in all_lines
                       if _BULLET_START_RE.match(clean_line(ln.text))})
    bullet_levels: list[float] = []
    for x in bullet_x:
        if not bullet_levels or x - bullet_levels[-1] > 6:
            bullet_levels.append(x)

    blocks: list[RawBlock] = []
    table_no = 0
    cur: RawBlock | None = None
    prev: Line | None = None
    cur_x_text: float = 0.0  # x0 of the block's continuation lines (list item text indent)

    # the text's right edge per page size: a last page holding only short lines (a list, the
    # signature) must not make its longest line look like a full one
    doc_right: dict[float, float] = {}
    for pc in pages:
        key = round(pc.width)
        doc_right[key] = max([doc_right.get(key, 0.0)] + [ln.x1 for ln in pc.lines])
    for pc in pages:
        right = max((ln.x1 for ln in pc.lines), default=pc.width)
        right = max(right, doc_right.get(round(pc.width), right))
        left = min((ln.x0 for ln in pc.lines), default=0.0)
        width = max(right - left, 1.0)
        items: list[tuple[float, int, object]] = [(ln.top, 1, ln) for ln in pc.lines]
        items += [(t.top, 0, t) for t in pc.tables]
        items.sort(key=lambda it: (it[0], it[1]))
        for _top, _k, obj in items:
            if isinstance(obj, Table):
                for r, row in enumerate(obj.rows):
                    for c, cell in enumerate(row):
                        if cell and cell.strip():
                            # "toutes-\nboîtes", "2025-\n2030": a hyphen that ends a line of
                            # the cell joins the two halves without a space
                            cell = _CELL_HYPHEN_BREAK.sub("-", cell)
                            blocks.append(RawBlock(cell, kind="table_cell", page=pc.number,
                                                   table=table_no, row=r, col=c))
                table_no += 1
                cur, prev = None, None
                continue
            ln: Line = obj
            text = clean_line(ln.text)
            if not text:
                continue
            lvl = levels.get(round(ln.size), 0)
            is_item = bool(_BULLET_START_RE.match(text))
            starts_new = ITEM_START_RE.match(text) is not None
            if cur is not None and prev is not None and _continues(
                    cur, prev, ln, text, lvl, starts_new, pitch, right, width, cur_x_text):
                cur.text = _join_hyphen(cur.text.rstrip(), text, vocab)
                cur.bold = cur.bold and ln.bold
                if cur_x_text == 0.0 or prev.page != ln.page:
                    cur_x_text = ln.x0
                prev = ln
                continue
            kind, level = "paragraph", 0
            if lvl:
                kind, level = "heading", lvl
            elif is_item:
                kind = "list_item"
                level = 1 + max((i for i, x in enumerate(bullet_levels) if ln.x0 >= x - 3),
                                default=0)
            cur = RawBlock(text, kind=kind, level=level, bold=ln.bold, page=ln.page)
            blocks.append(cur)
            cur_x_text = 0.0
            prev = ln
    return blocks


def _continues(cur: RawBlock, prev: Line, ln: Line, text: str, lvl: int, starts_new: bool,
               pitch: dict[float, float], right: float, width: float, cur_x_text: float) -> bool:
    """Whether line ``ln`` continues block ``cur`` whose last line was ``prev``."""
    if starts_new or cur.kind == "table_cell":
        return False
    if (cur.kind == "heading") != bool(lvl) or abs(prev.size - ln.size) > max(0.6, 0.2 * prev.size):
        return False
    if prev.bold != ln.bold:
        return False
    ptext = cur.text.rstrip()
    ends_sentence = ptext.endswith(SENTENCE_END)
    first = text[0]
    lower_start = first.islower() or first in "(«,;:)\"'’" or first.isdigit()
    if prev.page != ln.page:  # page break: only an obviously unfinished sentence continues
        return not ends_sentence and lower_start
    step = ln.top - prev.top
    usual = pitch.get(round(ln.size), 1.2 * ln.size * 1.15)
    if step > 1.3 * usual + 0.5 or step < -1:
        return False
    if cur.kind == "list_item" and cur_x_text and ln.x0 < cur_x_text - 3:
        return False  # back to the margin after an item's continuation lines
    if cur.kind != "list_item" and ln.x0 > prev.x0 + 8:
        return False  # indented first line of a new paragraph
    short_prev = prev.x1 < right - 0.15 * width
    if short_prev and ends_sentence:
        return False
    if short_prev and cur.kind != "heading" and not lower_start:
        return False
    return True
