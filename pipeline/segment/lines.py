"""Lines of a normalised text and what they look like (first half of the segmenter).

``read_lines(doc, patterns)`` → list of :class:`Line`: one per non-blank line (hard-wrapped
continuation lines merged into the line they continue), each with a ``role`` decided from its
own text (labels, headers, signature…) and then from its neighbours (title block, council
decision, tables of contents, lost bullets, numbered headings vs numbered items).

Roles: ``nav`` navigation, ``title``, ``SIG`` signature, ``PRE`` preamble line, ``PH`` preamble
heading, ``HDR`` block header ("Intentions :"), ``S`` section, ``A`` axis, ``H`` heading,
``N`` numbered line (undecided, becomes H or I), ``I`` item, ``P`` prose, ``cell`` table cell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from pipeline.models import Block, Document
from pipeline.segment.patterns import Patterns, word_list

_LINE_RE = re.compile(r"[^\n]+")
_FINAL_PUNCT = tuple(".;!?…,")
_UPPER_START_RE = re.compile(r"^[\W_]*[A-ZÀ-ÖØ-Þ0-9]")
_LOWER_START_RE = re.compile(r"^[a-zà-öø-ÿ]")
_NAME_PARTICLES = word_list("name_particles")
#: a heading opening on an infinitive ("Accompagner vers l'emploi"): an axis a news article
#: lists, not a subhead of the newsroom
_NEWS_AXIS_HEAD_RE = re.compile(
    r"^[A-ZÀ-Ý][a-zà-ÿ]+(?:er|ir|re)\s+(?:le|la|les|l['’]|un|une|des|du|de|d['’]|à|au|aux|en|"
    r"leur|leurs|son|sa|ses|notre|nos|chaque|tous|toutes|vers|contre|avec|pour|sur)\b")
_NOT_INFINITIVE = word_list("not_infinitive")


class Role(StrEnum):
    """What a line is, decided by :func:`classify_lines` before the tree is built (the value is
    the short code the rules were first written with; ``Role.X == "code"`` holds)."""

    PARAGRAPH = "P"  # prose
    SECTION = "S"  # heading that gathers axes ("Nos priorités", "2. Nos axes")
    AXIS = "A"  # "AXE 1 :", "Objectif stratégique n°2", an axis heading
    HEADING = "H"  # heading decided from its neighbours
    HEADING_CANDIDATE = "HC"  # heading-shaped line, not yet decided
    PREAMBLE_HEADING = "PH"  # "Préambule", "Introduction", "Contexte"
    ITEM = "I"  # bullet, letter or labelled objective / action
    NUMBERED = "N"  # "1.", "1.2", "II." (heading or item, decided later)
    BLOCK_HEADER = "HDR"  # "Nos engagements :", "Constat :", "Intentions"
    SIGNATURE = "SIG"  # signature block ("Le Président", "Pour le Conseil")
    PREAMBLE = "PRE"  # council decision wrapping the declaration
    NAVIGATION = "nav"  # page furniture, menus, table of contents
    TITLE = "title"  # document title
    CELL = "cell"  # table cell


@dataclass
class Line:
    """One non-blank line (or several merged) of Document.text with its role.

    ``start``/``end`` span the line without surrounding blanks; ``body``/``body_end`` span the
    text without its label; ``lab_start``/``lab_end`` span the label (equal when none).
    """

    start: int
    end: int
    text: str
    hint: Block | None = None
    role: Role = Role.PARAGRAPH
    style: str = ""
    label: str = ""
    lab_start: int = 0
    lab_end: int = 0
    body: int = 0
    body_end: int = 0
    fixed: str = ""
    numdepth: int = 0
    block: str = ""
    page: int | None = None
    generic: bool = False  # a heading that names no policy area ("Nos projets pour 2025")

    @property
    def words(self) -> int:
        return len(self.text.split())

    @property
    def bold(self) -> bool:
        return bool(self.hint and self.hint.bold)

    @property
    def heading_hint(self) -> int:
        """Heading level given by the reader (0 when none)."""
        if self.hint and self.hint.kind == "heading":
            return max(1, self.hint.level or 1)
        return 0

    @property
    def body_text(self) -> str:
        return self.text[self.body - self.start:self.body_end - self.start]


def _hint_at(blocks_by_start: dict[int, Block], blocks: list[Block], s: int, e: int) -> Block | None:
    b = blocks_by_start.get(s)
    if b is not None:
        return b
    for b in blocks:  # fall back to any block overlapping the line
        if b.start < e and b.end > s:
            return b
    return None


def _label_match(text: str, patterns: Patterns):
    for lp in patterns.labels:
        m = lp.regex.match(text)
        if m and m.group("label"):
            return lp, m
    return None, None


def _heading_shaped(line: Line, patterns: Patterns, body: str | None = None) -> bool:
    """Short, no final sentence punctuation, starts with a capital (":" only with a hint)."""
    t = (body if body is not None else line.text).strip()
    if not t:
        return False
    hinted = line.heading_hint or line.bold
    max_words = patterns.bold_max_words if hinted else patterns.heading_max_words
    if len(t.split()) > max_words or len(t) > (patterns.heading_max_chars * (2 if hinted else 1)):
        return False
    if t.endswith(_FINAL_PUNCT) and not (hinted and t.endswith(".") and t[:-1].isupper()):
        if not (t.endswith(".") and t[:-1].strip().isupper()):  # "PREAMBULE."
            return False
    if t.endswith(":") and not hinted:
        return False
    return bool(_UPPER_START_RE.match(t))


def is_name_like(text: str, patterns: Patterns) -> bool:
    """A short line made of capitalised words only (a person's name), e.g. "Jean-Louis FREDERICK"."""
    t = text.strip().strip(",;")
    words = t.split()
    if not words or len(words) > patterns.name_max_words or re.search(r"\d|[.!?:;]$", t):
        return False
    caps = 0
    for w in words:
        w2 = w.strip("(),")
        if w2.lower() in _NAME_PARTICLES:
            continue
        if not w2 or not w2[0].isupper():
            return False
        caps += 1
    return caps >= 1 and len(words) >= 1 and (len(words) >= 2 or t.isupper())


def _split_raw_lines(text: str) -> list[tuple[int, int]]:
    out = []
    for m in _LINE_RE.finditer(text):
        seg = m.group(0)
        if not seg.strip():
            continue
        s = m.start() + (len(seg) - len(seg.lstrip()))
        e = m.end() - (len(seg) - len(seg.rstrip()))
        out.append((s, e))
    return out


def read_lines(doc: Document, patterns: Patterns) -> list[Line]:
    """Document → classified lines (see the module docstring)."""
    text = doc.text
    blocks = sorted(doc.blocks or [], key=lambda b: b.start)
    by_start = {b.start: b for b in blocks}
    lines: list[Line] = []
    for s, e in _split_raw_lines(text):
        hint = _hint_at(by_start, blocks, s, e) if blocks else None
        ln = Line(s, e, text[s:e], hint)
        ln.page = hint.page if hint and hint.page else (doc.page_at(s) if doc.pages else None)
        prev = lines[-1] if lines else None
        if prev is not None and _continues(prev, ln, patterns):
            prev.end = e
            prev.text = text[prev.start:e]
            continue
        lines.append(ln)
    _merge_split_title(lines, text, patterns)
    for ln in lines:
        _classify(ln, patterns)
    _context(lines, patterns, doc)
    return lines


def _titled(t: str, patterns: Patterns) -> bool:
    return any(p.search(t) for p in patterns.title)


def _merge_split_title(lines: list[Line], text: str, patterns: Patterns) -> None:
    """A document title cut over two lines by OCR ("DECLARATION DE POLITIQUE" / "SOCIALE
    2019-2024") near the top → one line (mutates ``lines``)."""
    limit = patterns.title_split_max_words
    seen = 0
    i = 0
    while i + 1 < len(lines) and seen < 8:
        a, b = lines[i], lines[i + 1]
        seen += 1
        if a.hint is not None and a.hint.kind == "navigation":
            i += 1
            continue
        ta, tb = a.text.strip(), b.text.strip()
        plain = all(x.hint is None or x.hint.kind in ("paragraph", "heading") for x in (a, b))
        if (plain and a.words <= limit and b.words <= limit
                and a.words + b.words <= patterns.title_max_words
                and not ta.endswith((".", ";", ":", "!", "?")) and not _titled(ta, patterns)
                and not _titled(tb, patterns) and _titled(ta + " " + tb, patterns)
                and _label_match(tb, patterns)[0] is None):
            a.end = b.end
            a.text = text[a.start:b.end]
            del lines[i + 1]
            continue
        i += 1


def _continues(prev: Line, cur: Line, patterns: Patterns) -> bool:
    """Whether ``cur`` is a hard-wrapped continuation of ``prev`` (starts in lower case)."""
    if cur.hint is not None and cur.hint.kind in ("heading", "list_item", "table_cell", "navigation"):
        return False
    if prev.hint is not None and prev.hint.kind in ("heading", "table_cell", "navigation"):
        return False
    if cur.hint is not None and prev.hint is not None and cur.hint.bold != prev.hint.bold:
        return False
    if not _LOWER_START_RE.match(cur.text) or prev.text.rstrip().endswith(":"):
        return False
    lp, _ = _label_match(cur.text, patterns)
    if lp is not None:
        return False
    return not any(p.search(cur.text) for p in patterns.footer)


def _set_label(ln: Line, m: re.Match) -> None:
    ln.label = m.group("label")
    ln.lab_start = ln.start + m.start("label")
    ln.lab_end = ln.start + m.end("label")
    ln.body = ln.start + m.end()
    ln.body_end = ln.end


def _classify(ln: Line, patterns: Patterns) -> None:
    """Role of one line from its own text and hints."""
    ln.body, ln.body_end, ln.lab_start, ln.lab_end = ln.start, ln.end, ln.start, ln.start
    t = ln.text
    h = ln.hint
    if h is not None and h.kind == "navigation":
        ln.role = Role.NAVIGATION
        return
    if h is not None and h.kind == "table_cell":
        ln.role = Role.CELL
        return
    if any(p.search(t) for p in patterns.footer) or patterns.toc_entry.search(t):
        ln.role = Role.NAVIGATION
        return
    lp, m = _label_match(t, patterns)
    if patterns.generic_heads is not None and ln.words <= patterns.heading_max_words:
        head = t[m.end():] if lp is not None and lp.role in ("numbered", "roman") else t
        ln.generic = bool(patterns.generic_heads.match(head.strip()))
    if lp is None:
        tm = patterns.trailing_axis.search(t)
        if tm and tm.start() > 0 and t[:tm.start()].strip():
            ln.role, ln.fixed = Role.AXIS, "axis"
            ln.label = tm.group("label")
            ln.lab_start, ln.lab_end = ln.start + tm.start("label"), ln.start + tm.end("label")
            ln.body, ln.body_end = ln.start, ln.start + tm.start()
            ln.style = "axis:trailing"
            return
    if lp is not None:
        _set_label(ln, m)
        body = ln.body_text
        if lp.role in ("numbered", "roman") and patterns.preamble_heads.match(body.strip()):
            ln.role = Role.PREAMBLE_HEADING
            return
        if lp.role in ("numbered", "roman") and ln.words <= patterns.heading_max_words and any(
                p.search(body.strip()) for p in patterns.section):
            ln.role = Role.SECTION  # "2. Nos priorités": a numbered heading gathering the axes
            return
        if lp.role == "axis":
            ln.role, ln.fixed, ln.style = Role.AXIS, "axis", "axis:" + lp.name
        elif lp.role in ("objective", "action"):
            ln.role, ln.fixed, ln.style = Role.ITEM, lp.role, "lab:" + lp.name
        elif lp.role in ("numbered", "roman"):
            ln.role = Role.NUMBERED
            if lp.role == "numbered":
                ln.numdepth = len(re.findall(r"\d+", ln.label))
                ln.style = f"num{ln.numdepth}"
            else:
                ln.numdepth, ln.style = 1, lp.name
        elif lp.role == "letter":
            ln.role, ln.style = Role.ITEM, "letter"
        else:  # bullet
            char = ln.label.strip()[:1]
            level = h.level if (h is not None and h.kind == "list_item" and h.level) else 0
            ln.role, ln.style = Role.ITEM, f"b:{char}@{level}"
        return
    stripped = t.strip()
    for block, rx in patterns.headers:
        if rx.match(stripped):
            ln.role, ln.block = Role.BLOCK_HEADER, block
            return
    if patterns.preamble_heads.match(stripped):
        ln.role = Role.PREAMBLE_HEADING
        return
    short = ln.words <= patterns.heading_max_words + 4
    if short and any(p.search(stripped) for p in patterns.section) and not stripped.endswith("."):
        ln.role = Role.SECTION
        return
    if len(stripped) <= 110 and any(p.search(stripped) for p in patterns.signature):
        ln.role = Role.SIGNATURE
        return
    if short and any(p.match(stripped) for p in patterns.axis_heading):
        ln.role, ln.fixed, ln.style = Role.AXIS, "axis", "axis:heading"
        return
    if _heading_shaped(ln, patterns):
        ln.role = Role.HEADING_CANDIDATE
        lvl = ln.heading_hint
        ln.style = f"h{lvl}" if lvl else ("bold" if ln.bold else "plain")
        return
    ln.role = Role.PARAGRAPH


def _context(lines: list[Line], patterns: Patterns, doc: Document | None = None) -> None:
    """Roles that depend on neighbouring lines (mutates ``lines``)."""
    n = len(lines)
    # -- tables of contents
    i = 0
    while i < n:
        ln = lines[i]
        if ln.role != Role.CELL and patterns.toc_head.match(ln.text.strip()):
            ln.role = Role.NAVIGATION
            j = i + 1
            while j < n and lines[j].role != Role.CELL and (
                    patterns.toc_entry.search(lines[j].text)
                    or (patterns.toc_entry_loose.search(lines[j].text) and lines[j].words <= 15)):
                lines[j].role = Role.NAVIGATION
                j += 1
            i = j
        else:
            i += 1
    _related_links(lines, patterns)
    # -- title block at the top (the commune's name alone next to it is part of it)
    _commune_lines(lines, patterns, doc)
    end = _title_block(lines, 0, patterns)
    _repeated_titles(lines, end)
    _running_lines(lines, end)
    _numbered_title_list(lines, end, patterns)
    # -- council decision wrapping the declaration
    _decision(lines, patterns)
    # -- signature lines and the names / dates next to them
    for i, ln in enumerate(lines):
        if ln.role != Role.SIGNATURE:
            continue
        for step in (-1, 1):
            j = i + step
            k = 0
            while 0 <= j < n and k < 3:
                o = lines[j]
                if o.role == Role.SIGNATURE:
                    break
                if o.role in (Role.HEADING_CANDIDATE, Role.PARAGRAPH, Role.NUMBERED, Role.PREAMBLE) and not o.label and (
                        is_name_like(o.text, patterns) or patterns.signature_date.match(o.text.strip())):
                    o.role = Role.SIGNATURE
                    j += step
                    k += 1
                    continue
                break
    # -- lost bullets: an unlabelled line between two items of the same list
    sig_idx = [i for i, ln in enumerate(lines) if ln.role not in (Role.NAVIGATION,)]
    for pos, i in enumerate(sig_idx):
        ln = lines[i]
        if ln.role != Role.PARAGRAPH or ln.heading_hint:
            continue
        prev = lines[sig_idx[pos - 1]] if pos > 0 else None
        nxt = lines[sig_idx[pos + 1]] if pos + 1 < len(sig_idx) else None
        if (prev is not None and nxt is not None and prev.role == Role.ITEM and nxt.role == Role.ITEM
                and prev.style == nxt.style and prev.style.startswith(("b:", "letter"))):
            ln.role, ln.style = Role.ITEM, prev.style
            ln.label = ""
    # -- headings that gather explicit axes are sections; other heading candidates confirmed
    for pos, i in enumerate(sig_idx):
        ln = lines[i]
        if ln.role not in (Role.HEADING_CANDIDATE, Role.NUMBERED):
            continue
        nxt = _next_content(lines, sig_idx, pos)
        if ln.role == Role.HEADING_CANDIDATE:
            if nxt is None or nxt.role in (Role.SIGNATURE, Role.TITLE):
                ln.role = Role.PARAGRAPH
            elif nxt.role == Role.AXIS and nxt.fixed == "axis" and nxt.style != "axis:heading":
                ln.role = Role.SECTION
            else:
                ln.role = Role.HEADING
        else:
            ln.role = _numbered_role(ln, nxt, patterns)
    _headers_or_sections(lines, sig_idx, patterns)
    _lone_top_heading(lines, sig_idx)
    _imperative_headings(lines, sig_idx, patterns)
    _announced_axes(lines, sig_idx, patterns)
    _news_subheads(lines, doc)
    _axis_paragraphs(lines, sig_idx)
    _preamble_subheadings(lines, sig_idx)
    # a numbered "heading" followed by prose, right after numbered items of its list, is an item
    prev_num = None
    for i in sig_idx:
        ln = lines[i]
        if ln.style.startswith(("num", "roman", "letter-upper")):
            if (ln.role == Role.HEADING and prev_num is not None and prev_num.role == Role.ITEM
                    and prev_num.style == ln.style and getattr(ln, "_by_prose", False)):
                ln.role = Role.ITEM
            prev_num = ln
        elif ln.role not in (Role.ITEM,):
            prev_num = None if ln.role in (Role.HEADING, Role.AXIS, Role.SECTION, Role.BLOCK_HEADER, Role.PREAMBLE_HEADING) else prev_num


_TOP_NUMBER_RE = re.compile(r"^(\d{1,2})[.)]?$")
_SUB_NUMBER_RE = re.compile(r"^(\d{1,2})\.\d{1,2}(?:\.\d{1,2})*\.?$")
_HTML_LEVEL_RE = re.compile(r"h([1-6])")


def _heading_level(ln: Line) -> int | None:
    """The heading level a reader gave the line (``<h3>`` → 3, a DOCX "Heading 2" → 2),
    None when it gave none."""
    h = _HTML_LEVEL_RE.fullmatch(ln.style or "")
    if h:
        return int(h.group(1))
    hint = ln.hint
    if hint is not None and hint.kind == "heading" and hint.level:
        return int(hint.level)
    return None


def _axis_paragraphs(lines: list[Line], idx: list[int]) -> None:
    """"Axe 1. Depuis mars, l'accueil social fonctionne… 1 146 personnes ont été reçues." (a
    report on the axis, several long sentences on the label's line) is a paragraph labelled
    with its axis, not an axis heading: its sentences are read one by one."""
    for i in idx:
        ln = lines[i]
        if ln.role != Role.AXIS or not ln.label or ln.words < 25 \
                or not ln.text.lstrip().startswith(ln.label):  # not "… (Objectif stratégique n°3)"
            continue
        rest = ln.text.strip()[len(ln.label):].lstrip(" .:–-")
        sentences = [x for x in re.split(r"(?<=[.!?])\s+(?=[A-ZÀ-Ý0-9«])", rest) if x.strip()]
        if len(sentences) >= 2 and len(sentences[0].split()) > 12:
            ln.role = Role.PARAGRAPH


def _preamble_subheadings(lines: list[Line], idx: list[int]) -> None:
    """The sub-headings of a preamble heading are parts of that preamble, not headings that
    close it: the decimal ones of a numbered heading ("1. Diagnostic social", then "1.1
    Population", "1.4 Constats"), the deeper levels of a web page's heading ("<h2>Nos
    services</h2>" then "<h3>Logement</h3>"). They become preamble headings too, up to the
    next heading of another number or of the same level or above."""
    top = level = None
    for i in idx:
        ln = lines[i]
        m = _TOP_NUMBER_RE.match(ln.label or "")
        h = _heading_level(ln)
        if ln.role == Role.PREAMBLE_HEADING:
            top = m.group(1) if m else None
            level = h
            continue
        if ln.role not in (Role.HEADING, Role.HEADING_CANDIDATE, Role.NUMBERED, Role.AXIS,
                           Role.SECTION, Role.PREAMBLE_HEADING):
            continue
        sub = _SUB_NUMBER_RE.match(ln.label or "")
        deeper = level is not None and h is not None and h > level and not ln.label
        if ((top is not None and sub and sub.group(1) == top) or deeper) and not ln.fixed:
            ln.role = Role.PREAMBLE_HEADING
        else:
            top = level = None


def _related_links(lines: list[Line], patterns: Patterns) -> None:
    """A box of links ("Voir aussi", "Sur le même sujet", "Documents"): the line and the
    heading-shaped lines right after it (linked headlines, file names) → navigation."""
    if patterns.related is None:
        return
    i = 0
    n = len(lines)
    while i < n:
        ln = lines[i]
        if ln.role not in (Role.NAVIGATION, Role.HEADING_CANDIDATE, Role.PARAGRAPH, Role.SECTION, Role.BLOCK_HEADER) or ln.label \
                or not patterns.related.match(ln.text.strip()):
            i += 1
            continue
        ln.role = Role.NAVIGATION
        j = i + 1
        while j < n and (lines[j].role == Role.NAVIGATION or (
                lines[j].role == Role.HEADING_CANDIDATE and not lines[j].label and lines[j].heading_hint == 0)):
            lines[j].role = Role.NAVIGATION
            j += 1
        i = j


def _news_subheads(lines: list[Line], doc: Document | None) -> None:
    """In a news article, an unlabelled heading is the headline or a subhead written by the
    newsroom, never an axis of the declaration: it becomes a title line. A heading that opens
    on an infinitive ("Soutenir les familles") is an axis the article lists: it stays."""
    if doc is None or (doc.metadata or {}).get("doc_kind") != "news":
        return
    for ln in lines:
        if ln.role in (Role.HEADING, Role.HEADING_CANDIDATE) and not ln.label and not ln.fixed and ln.style != "imperative":
            m = _NEWS_AXIS_HEAD_RE.match(ln.text.strip())
            if m and m.group(0).split()[0].lower() not in _NOT_INFINITIVE:
                continue
            ln.role = Role.TITLE
            ln.subhead = True  # type: ignore[attr-defined]  # it still ends a preamble part


def _next_content(lines: list[Line], idx: list[int], pos: int) -> Line | None:
    for j in idx[pos + 1:]:
        if lines[j].role not in (Role.NAVIGATION,):
            return lines[j]
    return None


def _numbered_role(ln: Line, nxt: Line | None, patterns: Patterns) -> str:
    """A numbered line is a heading when heading-shaped and followed by deeper lines."""
    body = ln.body_text.strip()
    hinted = ln.heading_hint or ln.bold
    shaped = (hinted and len(body.split()) <= patterns.bold_max_words) or (
        len(body.split()) <= patterns.numbered_max_words and not body.endswith((".", ";", ","))
        and bool(_UPPER_START_RE.match(body or "x")))
    if not shaped or nxt is None:
        return Role.ITEM
    if nxt.role == Role.NUMBERED:
        mixed = nxt.style != ln.style and not (
            ln.style.startswith("num") and nxt.style.startswith("num"))
        return Role.HEADING if nxt.numdepth > ln.numdepth or mixed else Role.ITEM
    if nxt.role in (Role.ITEM, Role.BLOCK_HEADER):
        return Role.HEADING
    if nxt.role in (Role.PARAGRAPH, Role.HEADING_CANDIDATE, Role.HEADING):
        ln._by_prose = True  # type: ignore[attr-defined]
        return Role.HEADING if (hinted or nxt.role == Role.PARAGRAPH) else Role.ITEM
    return Role.ITEM


def _title_block(lines: list[Line], i: int, patterns: Patterns) -> int:
    """Mark the title lines starting at index ``i`` (skipping navigation); → index after them."""
    n = len(lines)
    while i < n and lines[i].role == Role.NAVIGATION:
        i += 1
    count = 0
    while i < n and count < 6:
        ln = lines[i]
        t = ln.text.strip()
        if ln.role == Role.NAVIGATION:
            i += 1
            continue
        titled = ln.words <= patterns.title_max_words and any(p.search(t) for p in patterns.title)
        nxt = lines[i + 1] if i + 1 < n else None
        loose = (count > 0 and ln.role in (Role.HEADING_CANDIDATE, Role.PARAGRAPH, Role.SIGNATURE) and ln.words <= 12
                 and not t.endswith((".", ";", ":")) and not ln.label
                 and not patterns.decision_start.match(t)
                 and (re.search(r"\d|\bcpas\b|pr[ée]sident", t, re.IGNORECASE)
                      or is_name_like(t, patterns))
                 and not (nxt is not None and nxt.role in (Role.ITEM, Role.NUMBERED)))
        if titled and patterns.decision_start.match(t):
            titled = False
        if ln.role == Role.TITLE or (ln.role in (Role.HEADING_CANDIDATE, Role.PARAGRAPH, Role.SECTION, Role.HEADING, Role.SIGNATURE) and (titled or loose)):
            ln.role = Role.TITLE
            count += 1
            i += 1
            continue
        break
    return i


def _decision(lines: list[Line], patterns: Patterns) -> None:
    """Mark a council decision (and what it wraps up to the annex) as preamble."""
    n = len(lines)
    start = None
    for i, ln in enumerate(lines):
        if ln.role in (Role.AXIS, Role.ITEM):
            break
        if ln.role in (Role.PARAGRAPH, Role.HEADING_CANDIDATE, Role.NUMBERED, Role.SECTION, Role.HEADING) and patterns.decision_start.match(ln.text.strip()):
            start = i
            break
        if i > 12:
            break
    if start is None:
        return
    saved = [(ln.role) for ln in lines]
    j = start
    found_end = False
    seen_decide = False
    while j < n:
        ln = lines[j]
        t = ln.text.strip()
        if j > start and patterns.annex.match(t) and ln.words <= patterns.title_max_words:
            found_end = True
            break
        if ln.role == Role.AXIS and seen_decide:
            found_end = True
            break
        if ln.role not in (Role.SIGNATURE, Role.NAVIGATION, Role.TITLE):
            ln.role = Role.PREAMBLE
        if re.match(r"^d[ée]cide\b|^arr[êe]te\b", t, re.IGNORECASE):
            seen_decide = True
        j += 1
    if not found_end:
        if j - start > 0.8 * n or not seen_decide:
            for ln, role in zip(lines, saved, strict=True):
                ln.role = role
            for ln in lines[start:]:
                if ln.role in (Role.PARAGRAPH, Role.HEADING_CANDIDATE, Role.HEADING, Role.NUMBERED) and patterns.decision_lines.match(ln.text.strip()):
                    ln.role = Role.PREAMBLE
        return
    _title_block(lines, j, patterns)


# ----------------------------------------------------------------------------- page headings

_PUNCT_RE = re.compile(r"[\W_]+")


def _key(text: str) -> str:
    """Comparison key of a heading: case-folded words only."""
    return _PUNCT_RE.sub(" ", text.casefold()).strip()


def _commune_like(text: str, patterns: Patterns) -> bool:
    """1-4 capitalised words, no digit or final punctuation ("Ohey", "FOSSES-LA-VILLE")."""
    t = text.strip()
    words = t.replace("-", " ").split()
    if not words or len(t.split()) > 4 or re.search(r"[\d.;:!?,()>/|]", t):
        return False
    caps = 0
    for w in words:
        if w.casefold() in patterns.commune_particles or w.casefold().startswith(("d'", "d’")):
            continue
        if not w[:1].isupper():
            return False
        caps += 1
    return caps >= 1


def _commune_lines(lines: list[Line], patterns: Patterns, doc: Document | None) -> None:
    """The commune's name alone on a line, right before or after a title line near the top
    (or equal to the commune read from the text), is a title line."""
    commune = _key((doc.metadata or {}).get("commune", "")) if doc is not None else ""
    top = [i for i, ln in enumerate(lines[:12]) if ln.role != Role.NAVIGATION]

    def titled_at(k: int) -> bool:
        if not 0 <= k < len(top):
            return False
        o = lines[top[k]]
        return (o.role in (Role.HEADING_CANDIDATE, Role.PARAGRAPH, Role.SECTION, Role.HEADING, Role.TITLE) and not o.label
                and o.words <= patterns.title_max_words and _titled(o.text.strip(), patterns))

    for pos, i in enumerate(top):
        ln = lines[i]
        if ln.role not in (Role.HEADING_CANDIDATE, Role.PARAGRAPH, Role.SIGNATURE) or ln.label or not _commune_like(ln.text, patterns):
            continue
        # before a title line, or between a title line and another one / the end of the top
        # ("Santé" right after the title and followed by its items is an axis, not a commune)
        after = titled_at(pos - 1) and (pos + 1 >= len(top) or titled_at(pos + 1))
        if (commune and _key(ln.text) == commune) or titled_at(pos + 1) or after:
            ln.role = Role.TITLE


def _repeated_titles(lines: list[Line], end: int) -> None:
    """The page title said again (title, breadcrumb, h1) near the top → navigation; a
    heading said twice at the very top (a page title and its h1) is the title."""
    top = [ln for ln in lines[:12] if ln.role != Role.NAVIGATION]
    if top and top[0].role in (Role.HEADING_CANDIDATE, Role.HEADING) and not top[0].label and not any(
            ln.role == Role.TITLE for ln in top):
        k0 = _key(top[0].text)
        reps = [ln for ln in top[1:4] if _key(ln.text) == k0 and not ln.label]
        if reps:
            top[0].role = Role.TITLE
    titles: list[str] = []
    for ln in lines[:max(end, 0) + 6]:
        k = _key(ln.text)
        if not k:
            continue
        if ln.role == Role.TITLE:
            if any(k == t for t in titles):
                ln.role = Role.NAVIGATION
            else:
                titles.append(k)
        elif ln.role in (Role.HEADING_CANDIDATE, Role.PARAGRAPH, Role.HEADING, Role.SECTION) and not ln.label and titles and any(
                k == t or (len(k) > 20 and (t.startswith(k) or k.startswith(t))) for t in titles):
            ln.role = Role.NAVIGATION


_HEAD_ROLES = (Role.HEADING_CANDIDATE, Role.HEADING, Role.SECTION, Role.AXIS, Role.NUMBERED,
               Role.PARAGRAPH, Role.ITEM, Role.TITLE, Role.PREAMBLE_HEADING)


def _running_lines(lines: list[Line], end: int) -> None:
    """What a text export repeats on its pages: the document's title said again below the
    title block (a running header), or a short line naming the CPAS or the document said three
    times or more ("CPAS de X – Déclaration de politique sociale") → navigation."""
    keys = [_key(ln.text) for ln in lines]
    count: dict[str, int] = {}
    for k in keys:
        if k:
            count[k] = count.get(k, 0) + 1
    titles = {keys[i] for i, ln in enumerate(lines) if ln.role == Role.TITLE and keys[i]}
    for i, ln in enumerate(lines):
        k = keys[i]
        if not k or ln.role == Role.NAVIGATION or ln.words > 20:
            continue
        if (i > end and k in titles and ln.role in _HEAD_ROLES and not ln.label) \
                or (count[k] >= 3 and ln.role in _HEAD_ROLES and not ln.label
                    and ":" not in ln.text and _RUNNING_WORDS_RE.search(ln.text)
                    and not ln.text.rstrip().endswith((".", "!", "?"))):
            ln.role = Role.NAVIGATION


_TOC_NUMBER_RE = re.compile(r"^(?:\d{1,2}|[IVX]{1,4})[.)]?$")
#: what a running header names: the CPAS or the document
_RUNNING_WORDS_RE = re.compile(r"\b(?:cpas|d[ée]claration|dps|pst|programme|plan|rapport)\b",
                               re.IGNORECASE)


def _numbered_title_list(lines: list[Line], end: int, patterns: Patterns) -> None:
    """A table of contents without dots or page numbers → navigation: right after the title,
    a list of numbered headings said again further down; anywhere, a run of at least three
    numbered lines ("1. Le mot de la présidente", "2. Rappel des axes…") right under
    "Sommaire" or all said again further down (the headings they list)."""
    i = end
    while i < len(lines) and lines[i].role == Role.NAVIGATION:
        i += 1
    run = []
    while i < len(lines) and lines[i].role == Role.NUMBERED and lines[i].words <= patterns.numbered_max_words:
        if run and lines[i].label == lines[run[0]].label:
            break  # the numbering starts again: the body
        run.append(i)
        i += 1
    if len(run) >= 2:
        later = {_key(ln.text) for ln in lines[i:]} | {_key(ln.body_text) for ln in lines[i:]}
        if all(_key(lines[k].text) in later for k in run):
            for k in run:
                lines[k].role = Role.NAVIGATION
    # anywhere: a run of at least three short numbered lines right under "Sommaire" (its
    # heading, patterns.toml [navigation] toc_head), or all said again further down
    keys = [_key(ln.text) for ln in lines]
    i, n = 0, len(lines)
    while i < n:
        j = i
        while j < n and lines[j].label and _TOC_NUMBER_RE.match(lines[j].label) \
                and lines[j].words <= 12 and lines[j].role != Role.NAVIGATION:
            j += 1
        after_toc = i > 0 and lines[i - 1].role == Role.NAVIGATION and bool(
            patterns.toc_head.match(lines[i - 1].text.strip()))
        if j - i >= 3 and (after_toc or all(keys[k] in keys[j:] for k in range(i, j))):
            for k in range(i, j):
                lines[k].role = Role.NAVIGATION
        i = max(j, i + 1)


def _headers_or_sections(lines: list[Line], idx: list[int], patterns: Patterns) -> None:
    """"Nos engagements" / "Nos priorités": a section when it gathers the axes that follow
    (no axis open yet), a block header when it stands under an axis."""
    seen_axis = False
    for pos, i in enumerate(idx):
        ln = lines[i]
        if ln.role in (Role.AXIS, Role.HEADING):
            seen_axis = True
            continue
        if ln.label or ln.role not in (Role.BLOCK_HEADER, Role.SECTION):
            continue
        t = ln.text.strip()
        is_section = any(p.search(t) for p in patterns.section)
        is_header = any(rx.match(t) for _, rx in patterns.headers)
        if not (is_section and is_header):
            continue
        nxt = _next_content(lines, idx, pos)
        if ln.role == Role.BLOCK_HEADER and not seen_axis and nxt is not None and nxt.role in (Role.AXIS, Role.HEADING_CANDIDATE, Role.HEADING, Role.NUMBERED):
            ln.role = Role.SECTION
        elif ln.role == Role.SECTION and seen_axis and nxt is not None and nxt.role in (Role.ITEM, Role.PARAGRAPH):
            ln.role = Role.BLOCK_HEADER
            ln.block = next(b for b, rx in patterns.headers if rx.match(t))


def _lone_top_heading(lines: list[Line], idx: list[int]) -> None:
    """A page whose only heading is its first line (a news headline): that line is the title."""
    if not idx:
        return
    first = lines[idx[0]]
    if first.role not in (Role.HEADING, Role.HEADING_CANDIDATE) or first.label:
        return
    others = [lines[i] for i in idx[1:] if lines[i].role in (Role.HEADING, Role.AXIS, Role.SECTION, Role.NUMBERED, Role.HEADING_CANDIDATE)]
    if not others and any(lines[i].role == Role.PARAGRAPH for i in idx[1:]):
        first.role = Role.TITLE


def _sentence_count(text: str) -> int:
    return len(re.findall(r"[.!?…](?:\s|$)", text.strip())) or 1


def _imperative_headings(lines: list[Line], idx: list[int], patterns: Patterns) -> None:
    """Without numbered axes, a short one-sentence line opening on an infinitive and followed
    by an explanatory paragraph is an axis heading ("Rapprocher l'action sociale du citoyen.")."""
    if any(lines[i].role in (Role.AXIS, Role.SECTION) or (lines[i].role == Role.HEADING and lines[i].label) for i in idx):
        return
    cands = []
    for pos, i in enumerate(idx):
        ln = lines[i]
        if ln.role != Role.PARAGRAPH or ln.label or ln.words > patterns.heading_max_words:
            continue
        t = ln.text.strip()
        if _sentence_count(t) != 1 or not _INFINITIVE_HEAD_RE.match(t):
            continue
        nxt = _next_content(lines, idx, pos)
        if nxt is not None and nxt.role == Role.PARAGRAPH and nxt.words > ln.words and not (
                _INFINITIVE_HEAD_RE.match(nxt.text.strip()) and nxt.words <= patterns.heading_max_words):
            cands.append(ln)
    if len(cands) >= 2:
        for ln in cands:
            ln.role, ln.style = Role.HEADING, "imperative"


_INFINITIVE_HEAD_RE = re.compile(
    r"^(?!(?:notre|votre|leur|entre|outre|contre|autre|lettre|ordre|titre|cadre|centre|membre|"
    r"nombre|offre|chiffre|premier|dernier|hier|encore|comme|pour|par|sur)\b)"
    r"[A-ZÀ-Ý][a-zà-ÿ]{2,}(?:er|ir|re|oir)\b(?!['’])")


def _announced_axes(lines: list[Line], idx: list[int], patterns: Patterns) -> None:
    """Axes announced in prose ("trois axes majeurs : l'emploi, le logement et la santé"): a
    later heading or paragraph opening that names one of them is that axis."""
    if patterns.announced is None or any(lines[i].role == Role.AXIS for i in idx):
        return
    names: list[str] = []
    start = None
    for pos, i in enumerate(idx):
        ln = lines[i]
        if ln.role != Role.PARAGRAPH:
            continue
        m = patterns.announced.search(ln.text)
        if m:
            for part in patterns.announced_split.split(m.group("list")):
                part = part.strip().rstrip(".")
                if patterns.announced_strip is not None:
                    part = patterns.announced_strip.sub("", part, count=1)
                if part and len(part.split()) <= 6:
                    names.append(_key(part))
            start = pos
            break
    if start is None or len(names) < 2:
        return
    strip = patterns.announced_strip
    lead = re.compile(patterns.announced_lead, re.IGNORECASE)
    found = 0
    for i in idx[start + 1:]:
        ln = lines[i]
        t = ln.text.strip()
        if ln.role in (Role.HEADING, Role.HEADING_CANDIDATE) and not ln.label:
            body = strip.sub("", t, count=1) if strip is not None else t
            if _key(body) in names or any(_key(body).startswith(nm + " ") for nm in names):
                ln.role, ln.fixed, ln.style = Role.AXIS, "axis", "axis:heading"
                found += 1
        elif ln.role == Role.PARAGRAPH and not ln.label:
            m = lead.match(t)
            rest = t[m.end():] if m and m.end() else ""
            if not rest:
                continue
            rest = strip.sub("", rest, count=1) if strip is not None else rest
            if any(_key(rest[:len(nm) + 2]).startswith(nm) and re.match(
                    r"^" + re.escape(nm) + r"\b", _key(rest)) for nm in names):
                ln.role, ln.fixed, ln.style = Role.AXIS, "axis", "axis:announced"
                found += 1
