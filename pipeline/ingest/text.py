"""Plain-text and Markdown reader (also used for the Markdown that trafilatura makes of HTML).

Bytes → decoded text (UTF-8, UTF-8 BOM, Windows-1252/Latin-1) → lines with Markdown markup
removed (headings, emphasis, escapes, ``^{er}``) → hard-wrapped lines rejoined into paragraphs
→ raw blocks (heading / list_item / navigation / paragraph) for the shared assembler.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from pipeline.ingest import errors
from pipeline.ingest.normalize import RawBlock, clean_line, mark_navigation
from pipeline.models import BULLET_CLASS

# --------------------------------------------------------------------------- decoding


def _looks_like_text(text: str, strict_utf8: bool = False) -> bool:
    """Sanity check of decoded text: almost no control characters and, unless the bytes were
    valid UTF-8 (then headings or figures alone are fine), mostly letters."""
    sample = text[:200_000]
    nonspace = [ch for ch in sample if not ch.isspace()]
    if not nonspace:
        return True
    bad = sum(1 for ch in nonspace
              if unicodedata.category(ch) in ("Cc", "Co", "Cn") or ch == "\ufffd")
    if bad > 0.01 * len(nonspace):
        return False
    return strict_utf8 or sum(ch.isalpha() for ch in nonspace) >= 0.5 * len(nonspace)


def decode_bytes(data: bytes) -> str:
    """Bytes of a text file → str: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252
    (Latin-1 for the five bytes cp1252 leaves undefined).

    Raises IngestError (``errors.UNDECODABLE``) when no encoding gives plausible text.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings = ("utf-16",)
    else:
        encodings = ("utf-8-sig", "cp1252", "latin-1")
    for enc in encodings:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if _looks_like_text(text, strict_utf8=enc in ("utf-8-sig", "utf-16")):
            return text
        break  # decodable but not text: another 8-bit encoding will not make it text
    raise errors.IngestError(errors.UNDECODABLE)


# --------------------------------------------------------------------------- markdown cleanup

_HEADING_RE = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_ESCAPE_RE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>|~^\"'])")
_SUP_RE = re.compile(r"\^\{([^}]*)\}|\^([A-Za-zÀ-ÿ]{1,4})\^")
_STRONG_RE = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EM_STAR_RE = re.compile(r"(?<![\*\w])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\*\w])")
_EM_UNDER_RE = re.compile(r"(?<![\w_])_(?=[^\s_])(.+?)(?<=[^\s_])_(?![\w_])")
_TRAILING_STAR_RE = re.compile(r"(?<=[;.,:!?…)])\s*(?<!\*)\*\s*$")
_LINK_RE = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_HRULE_RE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")
_TABLE_SEP_RE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")

#: A line that starts a new block (bullet, numbered item, axis/objective heading).
ITEM_START_RE = re.compile(
    rf"^(?:[{BULLET_CLASS}]\s*(?=\S)|"
    r"\d{1,2}(?:\.\d{1,2})*[.)°]\s|\d{1,2}(?:\.\d{1,2})+\.?(?=[A-ZÀ-Ý])"
    r"|\d{1,2}(?:\.\d{1,2})+\s+(?=[A-ZÀ-Ý])"
    r"|[a-zA-Z][.)]\s|[ivxIVX]{1,4}[.)]\s"
    r"|(?:AXE|Axe|OBJECTIF|Objectif|O\.O\.|O\.S\.|OS|OO|ACTION|Action|Chapitre|CHAPITRE|Titre|TITRE)\b"
    r"|#)")
_BULLET_RE = re.compile(rf"^([{BULLET_CLASS}])\s*(?=\S)")
#: Characters that end a sentence or an item (a line ending so is not a hard wrap).
SENTENCE_END = tuple(".!?:;…»\"”")
_FUNCTION_WORDS = frozenset(
    "de du des la le les l' d' à au aux et ou en un une pour par sur dans avec sans vers que qui "
    "dont ne se son sa ses leur leurs notre nos votre vos ce cette ces afin ainsi mais donc car "
    "entre chez selon dès lors plus très".split())


@dataclass
class _Line:
    text: str
    kind: str = "paragraph"
    level: int = 0
    bold: bool = False
    indent: int = 0


def strip_markdown(line: str) -> tuple[str, int, bool]:
    """One Markdown line → (plain text, heading level or 0, whole line was bold).

    Removes ``#`` heading marks, ``**``/``__``/``*``/``_`` emphasis, backslash escapes, links
    (keeping their text), ``^{er}`` superscripts (→ "er") and a stray ``*`` after final
    punctuation (";*" → ";"). List markers ("- ", "* ", "1. ") are kept.
    """
    level = 0
    m = _HEADING_RE.match(line.strip())
    if m:
        level, line = len(m.group(1)), m.group(2)
    if line.count("*") % 2:  # an unpaired "*" after final punctuation ("…;*") is a stray mark
        line = _TRAILING_STAR_RE.sub("", line.rstrip())
    core = line.strip()
    bullet = ""
    bm = re.match(r"^([-+*]\s+|\d{1,2}[.)]\s+)(?=\S)", core)
    if bm and not core.startswith("**"):
        bullet, core = bm.group(1), core[bm.end():]
    body = core.strip()
    bold = bool(re.fullmatch(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1[\s:.;]*", body)) and "**" not in \
        body[2:-2].replace("****", "")
    body = _ESCAPE_RE.sub(lambda m: chr(0xF5000 + ord(m.group(1))), body)  # protect escapes
    body = _LINK_RE.sub(r"\1", body)
    body = _SUP_RE.sub(lambda m: m.group(1) if m.group(1) is not None else m.group(2), body)
    body = _STRONG_RE.sub(r"\2", body)
    body = _EM_STAR_RE.sub(r"\1", body)
    body = _EM_UNDER_RE.sub(r"\1", body)
    body = re.sub("[\U000F5000-\U000F50FF]", lambda m: chr(ord(m.group(0)) - 0xF5000), body)
    body = body.replace("****", "")
    if body.startswith("**") and body.endswith("**") and len(body) > 4:
        body = body[2:-2]
    return (bullet + body).strip(), level, bold


_EMPTY_VALUE_RE = re.compile(r":\s*[/–—-]\s*$")


def _ends_open(prev: str) -> bool:
    """Whether a line visibly continues on the next one (unclosed bracket, function word, ",")."""
    if prev.count("(") > prev.count(")") or prev.count("«") > prev.count("»"):
        return True
    if _EMPTY_VALUE_RE.search(prev):  # "Budget : /", "Délai : -": a value said to be empty
        return False
    last = prev.rstrip().split(" ")[-1].casefold() if prev.strip() else ""
    return last in _FUNCTION_WORDS or prev.rstrip().endswith((",", "-", "–", "/"))


def _continues(prev: _Line, cur: _Line) -> bool:
    """Whether ``cur`` is a hard-wrapped continuation of ``prev`` (same paragraph or item)."""
    if prev.kind in ("heading", "navigation") or cur.kind in ("heading", "navigation"):
        return False
    if prev.bold != cur.bold:
        return False
    p, c = prev.text.rstrip(), cur.text.lstrip()
    if not p or not c or ITEM_START_RE.match(c):
        return False
    if p.endswith(SENTENCE_END) and not _ends_open(p):
        return False
    first = c[0]
    if first.islower() or first in "(«\"'’,;:)" or first.isdigit():
        return True
    return _ends_open(p)


def _merge_hyphen(prev: str, cur: str) -> str:
    if re.search(r"[a-zà-ÿ]-$", prev) and cur[:1].islower():
        return prev[:-1] + cur
    return prev + " " + cur


def text_to_raw_blocks(text: str, markdown: bool = True, web_noise: bool = True) -> list[RawBlock]:
    """Decoded text of a .txt/.md file → raw blocks (one per paragraph / heading / item).

    Blank lines separate nothing by themselves: wrapped lines are rejoined whenever the previous
    line does not end a sentence and the next does not start a new item or heading.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
    lines: list[_Line] = []
    for raw in text.split("\n"):
        if _HRULE_RE.match(raw) or _TABLE_SEP_RE.match(raw):
            continue
        indent = len(raw) - len(raw.lstrip(" \t"))
        if markdown:
            plain, hlevel, bold = strip_markdown(raw)
        else:
            plain, hlevel, bold = raw.strip(), 0, False
        plain = clean_line(plain)
        if not plain:
            continue
        if plain.startswith("|") and plain.endswith("|"):  # markdown table row → one line
            plain = " | ".join(c.strip() for c in plain.strip("|").split("|") if c.strip())
        ln = _Line(plain, bold=bold, indent=indent)
        if hlevel:
            ln.kind, ln.level = "heading", hlevel
        elif _BULLET_RE.match(plain):
            ln.kind, ln.level = "list_item", 1 + min(indent // 2, 5)
        lines.append(ln)
    if web_noise:
        for ln, nav in zip(lines, mark_navigation([ln.text for ln in lines]), strict=False):
            if nav:
                ln.kind, ln.level = "navigation", 0
    # list levels: relative to the smallest indentation of list items
    items = [ln for ln in lines if ln.kind == "list_item"]
    if items:
        indents = sorted({ln.indent for ln in items})
        for ln in items:
            ln.level = 1 + indents.index(ln.indent) if len(indents) <= 6 else ln.level
    out: list[_Line] = []
    for ln in lines:
        if out and _continues(out[-1], ln):
            out[-1].text = _merge_hyphen(out[-1].text.rstrip(), ln.text.lstrip())
        else:
            out.append(ln)
    return [RawBlock(ln.text, kind=ln.kind, level=ln.level, bold=ln.bold) for ln in out]


def read_text(data: bytes, markdown: bool = True, max_chars: int | None = None) -> list[RawBlock]:
    """Bytes of a .txt / .md file → raw blocks (IngestError when empty or undecodable, or
    longer than ``max_chars`` characters: checked before any other work on the text)."""
    if not data.strip():
        raise errors.IngestError(errors.EMPTY)
    text = decode_bytes(data)
    if not text.strip():
        raise errors.IngestError(errors.EMPTY)
    if max_chars is not None and len(text) > max_chars:
        raise errors.IngestError(errors.too_long(len(text), max_chars))
    return text_to_raw_blocks(text, markdown=markdown)
