"""Shared text cleaning and assembly: raw blocks from any reader → normalised text + Block offsets.

Every reader produces a list of :class:`RawBlock` (one per paragraph, heading, list item or
table cell, in reading order); :func:`assemble` cleans them, drops the empty ones and joins them
with "\\n" into ``Document.text``, computing every offset.  No reader computes offsets itself.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import tomllib

from pipeline.models import Block

DATA_DIR = Path(__file__).resolve().parents[1] / "data"


@dataclass
class RawBlock:
    """One block as a reader saw it, before cleaning (``text`` may hold newlines or tabs)."""

    text: str
    kind: str = "paragraph"
    level: int = 0
    bold: bool = False
    page: int | None = None
    table: int | None = None
    row: int | None = None
    col: int | None = None


@dataclass
class ReadResult:
    """What a reader returns: raw blocks in reading order, page count (0 if not paged), format,
    warnings for the user, and extra text only used to read metadata (e.g. an HTML <title>)."""

    blocks: list[RawBlock]
    n_pages: int = 0
    format: str = ""
    warnings: list[str] = field(default_factory=list)
    metadata_text: str = ""


# Private-use glyphs that Symbol / Wingdings / OpenSymbol fonts use for list bullets.
PUA_BULLETS = "\uf0b7\uf0a7\uf076\uf0d8\uf0fc\uf06e\uf0a8\uf0e0\uf0d9\uf0f0\uf071\uf075\uf077\uf0a1"
_PUA_RE = re.compile(f"[{PUA_BULLETS}]")
_OTHER_PUA_RE = re.compile("[\ue000-\uf8ff]")
_INVISIBLE_RE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES_RE = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
#: Unicode bullet-like characters rendered as "•" (text bullets "-", "–", "*", "°" stay as written).
_UNICODE_BULLETS_RE = re.compile("^[\u25cf\u25aa\u25a0\u2023\u2043\u25e6\u2219\u27a2\u2794\u25ba\u27a4]")


def clean_line(text: str) -> str:
    """One block's text → NFC, one line, single spaces, private-use bullet glyphs as "•".

    Newlines and tabs inside a block become spaces; soft hyphens, zero-width and control
    characters are removed; a leading symbol bullet becomes "• ".
    """
    text = unicodedata.normalize("NFC", text)
    text = _INVISIBLE_RE.sub("", text)
    text = text.replace("\r", " ").replace("\n", " ")
    text = _CONTROL_RE.sub("", text)
    text = _PUA_RE.sub("•", text)
    text = _OTHER_PUA_RE.sub("", text)
    text = _SPACES_RE.sub(" ", text).strip()
    text = _UNICODE_BULLETS_RE.sub("•", text)
    if text.startswith("•") and len(text) > 1 and text[1] != " ":
        text = "• " + text[1:].lstrip()
    return text


def assemble(raw: list[RawBlock], n_pages: int = 0
             ) -> tuple[str, list[Block], list[tuple[int, int]]]:
    """Clean and join raw blocks → (text, blocks, pages).

    ``text`` has one cleaned non-empty block per line; each :class:`Block` gets its offsets;
    ``pages`` (only when ``n_pages`` > 0) lists per page the (start, end) span of its blocks,
    an empty page getting an empty span at the current position.
    """
    parts: list[str] = []
    blocks: list[Block] = []
    pos = 0
    for rb in raw:
        line = clean_line(rb.text)
        if not line:
            continue
        if parts:
            pos += 1  # the "\n"
        blocks.append(Block(start=pos, end=pos + len(line), kind=rb.kind, level=rb.level,
                            bold=rb.bold, page=rb.page, table=rb.table, row=rb.row, col=rb.col))
        parts.append(line)
        pos += len(line)
    text = "\n".join(parts)
    pages: list[tuple[int, int]] = []
    if n_pages:
        cursor = 0
        for p in range(1, n_pages + 1):
            on_page = [b for b in blocks if b.page == p]
            if on_page:
                start, end = on_page[0].start, on_page[-1].end
                start = max(start, cursor)
                pages.append((start, max(end, start)))
                cursor = max(end, start)
            else:
                pages.append((cursor, cursor))
    return text, blocks, pages


# --------------------------------------------------------------------------- web-copy noise


@dataclass(frozen=True)
class NoiseRules:
    """Compiled patterns of ``pipeline/data/web_noise.toml``."""

    lines: tuple[re.Pattern, ...]
    menu_words: frozenset[str]
    menu_run_min: int
    menu_word_max_words: int


@lru_cache(maxsize=4)
def load_noise_rules(path: Path | None = None) -> NoiseRules:
    """Read the web-noise patterns (``path`` defaults to ``pipeline/data/web_noise.toml``)."""
    path = Path(path) if path else DATA_DIR / "web_noise.toml"
    with open(path, "rb") as f:
        data = tomllib.load(f)
    pats = tuple(re.compile(p, re.IGNORECASE) for p in data["lines"]["patterns"])
    menu = data.get("menu", {})
    words = frozenset(w.casefold() for w in menu.get("words", []))
    return NoiseRules(lines=pats, menu_words=words,
                      menu_run_min=int(menu.get("run_min", 3)),
                      menu_word_max_words=int(menu.get("max_words", 4)))


#: Separators of a row of page tools ("Partager sur Facebook | Imprimer").
_TOOL_SEPARATORS = re.compile(r"\s+[|·•/]\s+")


def is_noise_line(line: str, rules: NoiseRules | None = None) -> bool:
    """True when one cleaned line is web-page furniture (menu, breadcrumb, share, cookies…),
    also when it is a row of such items joined by " | ", " · ", " • " or " / " (at least one of
    them a page tool, the others tools or menu words)."""
    rules = rules or load_noise_rules()
    s = line.strip()
    if not s:
        return False
    if any(p.search(s) for p in rules.lines):
        return True
    parts = [x.strip() for x in _TOOL_SEPARATORS.split(s) if x.strip()]
    if len(parts) < 2:
        return False
    tools = [any(p.search(x) for p in rules.lines) for x in parts]
    # every item a page tool or a menu word, and at least one a page tool ("Logement | Santé"
    # alone stays text)
    return any(tools) and all(t or x.casefold() in rules.menu_words
                              for t, x in zip(tools, parts, strict=True))


def _menu_like(line: str, rules: NoiseRules) -> bool:
    s = line.strip().rstrip(">|›»·").strip()
    if not s or len(s.split()) > rules.menu_word_max_words or len(s) > 40:
        return False
    return not re.search(r"[.;:!?,\d]$", s) and not re.match(r"^[-–*•°]|\d", s)


def mark_navigation(lines: list[str], rules: NoiseRules | None = None) -> list[bool]:
    """Per line, whether it is web navigation noise.

    A line is noise when it matches a pattern of ``web_noise.toml``.  In a run of consecutive
    short menu-like lines (blank lines ignored), the stretch from the first to the last known
    menu word (or noise line) is noise too when it holds at least ``run_min`` lines, two known
    menu words and at least half known words: a lone "Logement" heading stays content.
    """
    rules = rules or load_noise_rules()
    flags = [is_noise_line(s, rules) for s in lines]
    idx = [i for i, s in enumerate(lines) if s.strip()]
    run: list[int] = []

    def known(i: int) -> bool:
        return flags[i] or lines[i].strip().rstrip(">|›»·").strip().casefold() in rules.menu_words

    def close_run() -> None:
        hits = [k for k, i in enumerate(run) if known(i)]
        if len(hits) >= 2:
            stretch = run[hits[0]: hits[-1] + 1]
            if len(stretch) >= rules.menu_run_min and 2 * len(hits) >= len(stretch):
                for i in stretch:
                    flags[i] = True
        run.clear()

    for i in idx:
        if _menu_like(lines[i], rules) or flags[i]:
            run.append(i)
        else:
            close_run()
    close_run()
    return flags
