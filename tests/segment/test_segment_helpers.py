"""Helpers for the segment tests (imported by the other test_segment_* modules) and their tests.

``make_doc(text)`` turns a text into a Document with one Block per non-blank line, without
needing ``pipeline.ingest``.  Lines may start with a hint prefix (removed from the text):
``@h1 `` … ``@h6 `` heading level, ``@b `` bold paragraph, ``@li1 `` / ``@li2 `` list item level,
``@nav `` navigation, ``@cell T,R,C `` table cell (table, row, col), ``@p3 `` page number.
``seed_doc(path)`` applies the minimum markdown cleaning of the seeds (``#`` → heading hint,
``**…**`` → bold hint, emphasis removed, hard-wrapped lines rejoined).
"""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.models import Block, Document

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SEG_FIXTURES = FIXTURES / "segment"
SEEDS = FIXTURES / "seeds"

_PREFIX_RE = re.compile(r"^@(h[1-6]|b|li[1-6]|nav|cell (\d+),(\d+),(\d+)|p(\d+))\s")


def make_doc(text: str, doc_id: str = "doc", with_hints: bool = True) -> Document:
    """Text (one block per non-blank line, optional hint prefixes) → Document."""
    out_lines: list[str] = []
    blocks: list[Block] = []
    pos = 0
    pages: dict[int, list[int]] = {}
    for raw in text.split("\n"):
        line = raw.strip()
        kw: dict = {}
        while True:
            m = _PREFIX_RE.match(line)
            if not m:
                break
            tag = m.group(1)
            if tag.startswith("h"):
                kw.update(kind="heading", level=int(tag[1]))
            elif tag == "b":
                kw["bold"] = True
            elif tag.startswith("li"):
                kw.update(kind="list_item", level=int(tag[2]))
            elif tag == "nav":
                kw["kind"] = "navigation"
            elif tag.startswith("cell"):
                kw.update(kind="table_cell", table=int(m.group(2)), row=int(m.group(3)),
                          col=int(m.group(4)))
            elif tag.startswith("p"):
                kw["page"] = int(m.group(5))
            line = line[m.end():].strip()
        if not line:
            continue
        if out_lines:
            pos += 1
        if with_hints:
            blocks.append(Block(start=pos, end=pos + len(line), **kw))
        else:
            blocks.append(Block(start=pos, end=pos + len(line)))
        if kw.get("page"):
            pages.setdefault(kw["page"], []).extend([pos, pos + len(line)])
        out_lines.append(line)
        pos += len(line)
    page_spans = [(min(v), max(v)) for _, v in sorted(pages.items())]
    return Document(doc_id=doc_id, source_file=f"{doc_id}.txt", format="txt",
                    text="\n".join(out_lines), blocks=blocks, pages=page_spans)


def clean_markdown(text: str) -> str:
    """Seed text → hint-prefixed lines: ``#`` → @hN, whole-line ``**x**`` → @b, emphasis and
    stray ``*`` after punctuation removed, ``^{er}`` → er, wrapped lines (next starts in lower
    case, or previous has an unclosed bracket; never before an item) rejoined."""
    lines: list[str] = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        s = raw.strip()
        if not s:
            continue
        prefix = ""
        m = re.match(r"^(#{1,6})\s+(.*)$", s)
        if m:
            prefix, s = f"@h{len(m.group(1))} ", m.group(2).strip()
        s = re.sub(r"([;.,:!?])\*$", r"\1", s)
        if re.fullmatch(r"\*\*(.+)\*\*\s*", s):
            prefix += "@b "
        s = re.sub(r"\*\*(.+?)\*\*", r"\1", s)
        s = re.sub(r"(?<![\w*])\*(?=\S)([^*]+?)(?<=\S)\*(?![\w*])", r"\1", s)
        s = re.sub(r"\^\{([^}]*)\}", r"\1", s)
        s = " ".join(s.split())
        if not s:
            continue
        is_item = bool(re.match(r"^([-–•*°]|\d{1,2}[.)]|[A-Z]\.[A-Z]\.)", s))
        if lines and not prefix and not is_item and not lines[-1].startswith("@h"):
            prev = lines[-1]
            if s[0].islower() or prev.count("(") > prev.count(")"):
                lines[-1] = prev + " " + s
                continue
        lines.append(prefix + s)
    return "\n".join(lines)


def seed_doc(name: str) -> Document:
    """A seed of tests/fixtures/seeds → Document via the minimal cleaning above."""
    raw = (SEEDS / f"{name}.txt").read_text(encoding="utf-8")
    return make_doc(clean_markdown(raw), doc_id=name)


# ------------------------------------------------------------------------- tests of the helper


def test_make_doc_offsets_and_hints():
    doc = make_doc("@h2 Logement\n\n- item un\n@cell 0,1,2 texte")
    assert doc.text == "Logement\n- item un\ntexte"
    assert [(b.start, b.end, b.kind) for b in doc.blocks] == [
        (0, 8, "heading"), (9, 18, "paragraph"), (19, 24, "table_cell")]
    assert doc.blocks[0].level == 2 and doc.blocks[2].row == 1 and doc.blocks[2].col == 2


def test_clean_markdown_rejoins_and_marks():
    text = ("# Titre\n\nLe CPAS se doit de \n\nvivre ensemble. \n\n**Gras**\n\n- un ;*\n"
            "- deux (St\nNicolas)\nFin")
    assert clean_markdown(text) == ("@h1 Titre\nLe CPAS se doit de vivre ensemble.\n@b Gras\n"
                                    "- un ;\n- deux (St Nicolas)\nFin")


def check_invariants(doc: Document, units) -> None:
    """Assert the guarantees of segment(): coverage, ids, parents, depths, spans vs texts."""
    from pipeline.models import UNIT_KINDS

    text = doc.text
    if text.strip():
        assert units, "no unit for a non-empty text"
    owner = [0] * len(text)
    for u in units:
        assert 0 <= u.start < u.end <= len(text), (u.unit_id, u.start, u.end)
        for k in range(u.start, u.end):
            owner[k] += 1
    for k, ch in enumerate(text):
        if not ch.isspace():
            assert owner[k] == 1, f"char {k} {ch!r} in {owner[k]} units: {text[max(0, k - 30):k + 30]!r}"
    assert [u.unit_id for u in units] == [f"u{i + 1:04d}" for i in range(len(units))]
    assert [u.start for u in units] == sorted(u.start for u in units)
    by_id = {u.unit_id: u for u in units}
    for u in units:
        assert u.kind in UNIT_KINDS
        assert u.doc_id == doc.doc_id
        if u.parent_id:
            p = by_id[u.parent_id]
            assert p.unit_id < u.unit_id and u.depth == p.depth + 1
        else:
            assert u.depth == 0
        span = " ".join(text[u.start:u.end].split())
        rest = span
        if u.label and span.startswith(u.label):
            rest = span[len(u.label):]
        elif u.label:  # a label printed at the end ("… (Objectif stratégique n°1)")
            assert u.label in span, (u.unit_id, u.label, span)
            rest = span[:span.rfind(u.label)]
        assert u.text in rest, (u.unit_id, u.text, rest)
        left = rest.replace(u.text, "", 1) if u.text else rest
        assert len(re.sub(r"[\s:.()\-–—;,]", "", left)) == 0 or not u.text, (u.unit_id, left)
