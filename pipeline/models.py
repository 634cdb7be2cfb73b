"""Typed records passed between stages (ingest → segment → classify → compare → report).

Every stage is a function from these records (or DataFrames built from them) to new records;
no stage imports a later one.  Character offsets are always offsets into ``Document.text``,
the normalised text written to ``outputs/texts/<doc_id>.txt``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

#: Kinds of structural hint a reader can attach to a block of the normalised text.
BLOCK_KINDS = ("paragraph", "heading", "list_item", "table_cell", "navigation")

#: Unit kinds produced by the segmenter, and nothing else.
UNIT_KINDS = (
    "title",
    "preamble",
    "signature",
    "navigation",
    "section",
    "axis",
    "group",
    "objective",
    "action",
    "statement",
    "context",
    "detail",
)

#: Unit kinds that carry no policy content: kept in units.csv, never themed or compared.
NON_CONTENT_KINDS = ("title", "preamble", "signature", "navigation", "context", "detail")
#: What a strategic plan says of an action besides the action (a ``detail`` unit: its table
#: column or its "Pilote : …" line), copied to the action's columns of units.csv.
DETAIL_FIELDS = ("service", "deadline", "budget", "indicator")


@dataclass
class Block:
    """One line of the normalised text with what the reader knew about it.

    ``start``/``end`` are offsets into ``Document.text`` (end exclusive, no trailing newline).
    ``kind`` is one of BLOCK_KINDS; ``level`` is the heading level (1 = top) or the list
    nesting level (1 = top) and 0 otherwise; ``bold`` says the whole block was bold;
    ``page`` is the 1-based page (PDF, OCR) or None; ``row``/``col`` locate a table cell
    (0-based) and ``table`` numbers the tables of the document (0-based).
    """

    start: int
    end: int
    kind: str = "paragraph"
    level: int = 0
    bold: bool = False
    page: int | None = None
    table: int | None = None
    row: int | None = None
    col: int | None = None


@dataclass
class Document:
    """One ingested input file.

    ``text`` is the normalised text (UTF-8, NFC): one block per line, lines joined by "\\n";
    blank lines carry no meaning.  ``blocks`` covers every non-blank line, in order.
    ``pages`` lists, per page, the (start, end) offsets of its text (empty for non-paged
    formats).  ``metadata`` holds what the text states (commune, legislature, adopted_on,
    president, …) before metadata.csv is merged.  ``status`` is "ok" or "error"; on error
    ``error`` is a one-line message saying what is wrong and what to do, and ``text`` is "".
    """

    doc_id: str
    source_file: str
    format: str
    text: str = ""
    blocks: list[Block] = field(default_factory=list)
    pages: list[tuple[int, int]] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    sha256: str = ""
    n_pages: int = 0
    status: str = "ok"
    error: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def n_words(self) -> int:
        return len(self.text.split())

    def page_at(self, offset: int) -> int | None:
        """1-based page holding character ``offset``, or None for non-paged formats."""
        for i, (s, e) in enumerate(self.pages):
            if s <= offset < e or (offset == e and i == len(self.pages) - 1):
                return i + 1
        return None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Document:
        d = dict(d)
        d["blocks"] = [Block(**b) for b in d.get("blocks", [])]
        d["pages"] = [tuple(p) for p in d.get("pages", [])]
        return cls(**d)


@dataclass
class Unit:
    """One node of a declaration's tree (see README, "units.csv").

    ``start``/``end`` span the whole unit in ``Document.text`` *including* its label;
    ``text`` is that span without the label (and without a trailing ":"), whitespace-collapsed.
    Units never overlap and every non-blank character of the text belongs to exactly one.
    ``parent_id`` is "" at top level; ``depth`` is 0 at top level.  ``block`` is
    "intentions" / "objectifs" / "actions" / "engagements" / "priorites" / "constat" when the
    item stood under such a header, else "".  In a strategic plan, ``service``,
    ``deadline``, ``budget`` and ``indicator`` hold what its ``detail`` units say of this
    unit (its table columns, its "Pilote : …" lines); "" elsewhere.
    """

    doc_id: str
    unit_id: str
    parent_id: str
    kind: str
    label: str
    text: str
    start: int
    end: int
    page: int | None
    depth: int
    block: str = ""
    service: str = ""
    deadline: str = ""
    budget: str = ""
    indicator: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


UNIT_COLUMNS = [
    "doc_id",
    "unit_id",
    "parent_id",
    "kind",
    "label",
    "text",
    "start",
    "end",
    "page",
    "depth",
    "block",
    "service",
    "deadline",
    "budget",
    "indicator",
]


#: The bullet characters the readers recognise at the start of a line (one set for
#: ``ingest.text`` and ``ingest.layout``; the segmenter's item labels in
#: ``pipeline/data/patterns.toml`` accept these and a few more: ✓ ✔ ➔ ■ □ ◦ · ‣ ⁃ o).
BULLETS = "-–—*•°+▪►➢→"
#: ``BULLETS`` as the inside of a regex character class.
BULLET_CLASS = "".join("\\" + c if c in "-]\\^" else c for c in BULLETS)


def _load_tables() -> list[dict]:
    import tomllib

    path = Path(__file__).resolve().parent / "data" / "tables.toml"
    return tomllib.loads(path.read_text(encoding="utf-8"))["table"]


#: The tables of a run (``pipeline/data/tables.toml``): key, comparison, sheet, description.
TABLES: list[dict] = _load_tables()
#: Keys of the comparison tables (``compare.build_tables``; read back by ``load_results``).
COMPARISON_TABLES: tuple[str, ...] = tuple(t["key"] for t in TABLES if t["comparison"])
#: Keys of the tracing tables (``trace.build_trace``, plus one ``trace_by_<column>`` per
#: grouping column; read back by ``load_results``).
TRACE_TABLES: tuple[str, ...] = tuple(t["key"] for t in TABLES if t.get("trace"))
