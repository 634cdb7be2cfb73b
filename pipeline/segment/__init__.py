"""Segment stage: a Document → the tree of its units (title, preamble, section, axis, group,
objective, action, statement, context, signature, navigation), flat with ``parent_id``.

Public API:

- ``segment(doc, patterns=None) -> list[Unit]``: pure, never raises, never empty for a
  non-empty text; ids "u0001"… in text order; every non-blank character of ``doc.text``
  belongs to exactly one unit.
- ``load_patterns(path=None) -> Patterns`` (default ``pipeline/data/patterns.toml``).
- ``render_tree(units, width=100, color=False) -> str`` (the tree printed by ``show``).
"""

from __future__ import annotations

from pipeline.models import Document, Unit
from pipeline.segment.patterns import Patterns, load_patterns
from pipeline.segment.render import render_tree

__all__ = ["segment", "load_patterns", "render_tree", "Patterns", "fallback_units", "coverage_gaps"]


def segment(doc: Document, patterns: Patterns | None = None) -> list[Unit]:
    """Document → units in text order (see the module docstring for the guarantees).

    Lines are classified from their text (labels of patterns.toml) with the reader's block
    hints as extra evidence, then assembled into a tree.  If anything goes wrong, or a
    character would be left without a unit, the text degrades to paragraphs → sentences
    (statements) rather than failing.
    """
    text = doc.text or ""
    if not text.strip():
        return []
    try:
        pats = patterns or load_patterns()
    except Exception:  # noqa: BLE001 - a broken patterns file must not stop the corpus
        return fallback_units(doc)
    try:
        from pipeline.segment.lines import read_lines
        from pipeline.segment.tree import build_units

        units = build_units(doc, read_lines(doc, pats), pats)
        if not units or coverage_gaps(text, units):
            return _repair(doc, units, pats)
        return units
    except Exception:  # noqa: BLE001 - never raise: degrade to statements
        return fallback_units(doc, pats)


def coverage_gaps(text: str, units: list[Unit]) -> list[tuple[int, int]]:
    """Spans of non-blank characters of ``text`` covered by no unit, or by more than one.

    Returns [] when every non-blank character belongs to exactly one unit.
    """
    cover = bytearray(len(text))
    for u in units:
        s, e = max(0, u.start), min(len(text), u.end)
        for k in range(s, e):
            if cover[k] < 2:
                cover[k] += 1
    bad = []
    k = 0
    n = len(text)
    while k < n:
        if not text[k].isspace() and cover[k] != 1:
            j = k
            while j < n and (text[j].isspace() or cover[j] != 1):
                if not text[j].isspace() and cover[j] == 1:
                    break
                j += 1
            bad.append((k, j))
            k = j
        else:
            k += 1
    return bad


def fallback_units(doc: Document, patterns: Patterns | None = None) -> list[Unit]:
    """No structure: one statement per sentence of each line (ids in text order)."""
    from pipeline.segment.sentences import split_sentences

    abbrev = patterns.abbreviations if patterns is not None else frozenset()
    text = doc.text or ""
    units = []
    pos = 0
    for line in text.split("\n"):
        for s, e in split_sentences(text, pos, pos + len(line), abbrev):
            units.append(Unit(doc_id=doc.doc_id, unit_id=f"u{len(units) + 1:04d}", parent_id="",
                              kind="statement", label="", text=" ".join(text[s:e].split()),
                              start=s, end=e, page=doc.page_at(s) if doc.pages else None,
                              depth=0))
        pos += len(line) + 1
    return units


def _repair(doc: Document, units: list[Unit], patterns: Patterns) -> list[Unit]:
    """Units that overlap or leave characters out → fall back to statements (never lossy)."""
    return fallback_units(doc, patterns)
