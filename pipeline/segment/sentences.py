"""Rule-based French sentence splitter with exact character offsets (no spaCy here)."""

from __future__ import annotations

import re

# End of sentence: terminal punctuation (with closing quotes/brackets) then whitespace, then a
# character that can open a sentence (upper-case letter, digit, quote, bracket, bullet).
_BOUNDARY_RE = re.compile(r"[.!?…]+[\"»”’)\]]*(?=\s+[\"«“(\[\dA-ZÀ-ÖØ-Þ•–—-])")
_TOKEN_BEFORE_RE = re.compile(r"(\S+)$")


def _is_abbreviation(token: str, abbreviations: frozenset[str]) -> bool:
    """Whether ``token`` (the word ending at a period, period excluded) is an abbreviation."""
    core = token.lstrip("(«\"'“")
    if not core:
        return False
    if core in abbreviations or core.lower() in abbreviations:
        return True
    if len(core) == 1 and core.isalpha():  # an initial: "J. Dupont"
        return True
    return bool(re.fullmatch(r"(?:[A-Za-zÀ-ÿ]{1,3}\.)+[A-Za-zÀ-ÿ]{0,3}", core))  # "C.P.A.S", "p.ex"


def split_sentences(text: str, start: int = 0, end: int | None = None,
                    abbreviations: frozenset[str] = frozenset()) -> list[tuple[int, int]]:
    """Sentence spans of ``text[start:end]`` → list of (s, e) offsets into ``text``.

    Spans are stripped of surrounding whitespace, never overlap, are in order and together
    cover every non-blank character of the range.  An empty/blank range gives [].
    """
    end = len(text) if end is None else end
    chunk = text[start:end]
    spans: list[tuple[int, int]] = []
    cut = 0
    for m in _BOUNDARY_RE.finditer(chunk):
        if m.group(0).startswith(".") and len(m.group(0).rstrip("\"»”’)]")) == 1:
            before = _TOKEN_BEFORE_RE.search(chunk[cut:m.start()])
            if before and _is_abbreviation(before.group(1), abbreviations):
                continue
        spans.append((cut, m.end()))
        cut = m.end()
    spans.append((cut, len(chunk)))
    out = []
    for s, e in spans:
        piece = chunk[s:e]
        if not piece.strip():
            continue
        s2 = s + (len(piece) - len(piece.lstrip()))
        e2 = e - (len(piece) - len(piece.rstrip()))
        out.append((start + s2, start + e2))
    return out
