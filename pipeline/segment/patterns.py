"""Reference patterns of the segment stage, read from ``pipeline/data/patterns.toml``.

``load_patterns(path)`` → :class:`Patterns` (compiled regular expressions).  The TOML file is
the single place where numbering styles, headers, preamble cues, title / signature /
navigation lines are described, each with examples.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

import tomllib

DEFAULT_PATH = Path(__file__).resolve().parents[1] / "data" / "patterns.toml"


@dataclass(frozen=True)
class LabelPattern:
    """One numbering style: ``role`` (axis, objective, action, numbered, roman, letter, bullet)."""

    name: str
    role: str
    regex: re.Pattern
    examples: tuple[str, ...] = ()
    counter: tuple[str, ...] = ()


@dataclass(frozen=True)
class Patterns:
    """Compiled content of patterns.toml (see the comments in that file)."""

    labels: tuple[LabelPattern, ...]
    trailing_axis: re.Pattern
    headers: tuple[tuple[str, re.Pattern], ...]
    preamble_heads: re.Pattern
    preamble_cues: tuple[re.Pattern, ...]
    decision_start: re.Pattern
    decision_lines: re.Pattern
    annex: re.Pattern
    title: tuple[re.Pattern, ...]
    title_max_words: int
    signature: tuple[re.Pattern, ...]
    signature_date: re.Pattern
    name_max_words: int
    section: tuple[re.Pattern, ...]
    axis_heading: tuple[re.Pattern, ...]
    toc_head: re.Pattern
    toc_entry: re.Pattern
    toc_entry_loose: re.Pattern
    footer: tuple[re.Pattern, ...]
    constat_inline: re.Pattern | None = None
    framing_lead: re.Pattern | None = None
    release_heads: re.Pattern | None = None
    self_reference: re.Pattern | None = None
    related: re.Pattern | None = None
    generic_heads: re.Pattern | None = None
    title_split_max_words: int = 10
    commune_particles: frozenset[str] = field(default_factory=frozenset)
    announced: re.Pattern | None = None
    announced_split: re.Pattern | None = None
    announced_lead: str = ""
    announced_strip: re.Pattern | None = None
    heading_max_words: int = 14
    heading_max_chars: int = 120
    bold_max_words: int = 25
    numbered_max_words: int = 20
    abbreviations: frozenset[str] = field(default_factory=frozenset)
    #: (field, regex of its label) of a plan's details: service, deadline, budget, indicator
    details: tuple[tuple[str, re.Pattern], ...] = ()
    raw: dict = field(default_factory=dict, compare=False, hash=False, repr=False)


def _rx(pattern: str, case: bool = False) -> re.Pattern:
    return re.compile(pattern, 0 if case else re.IGNORECASE)


def _rxs(patterns) -> tuple[re.Pattern, ...]:
    if isinstance(patterns, str):
        patterns = [patterns]
    return tuple(_rx(p) for p in patterns)


def parse_patterns(data: dict) -> Patterns:
    """A dict read from patterns.toml → Patterns (raises KeyError/re.error on a bad file)."""
    labels = tuple(
        LabelPattern(name=e["name"], role=e["role"], regex=_rx(e["regex"], e.get("case", False)),
                     examples=tuple(e.get("examples", ())), counter=tuple(e.get("counter", ())))
        for e in data["label"])
    headers = tuple((e["block"], _rx(e["regex"])) for e in data["header"])
    pre, dec, nav, head = data["preamble"], data["decision"], data["navigation"], data["heading"]
    ann = data.get("announced_axes", {})
    inline = data.get("constat_inline", {}).get("regex")
    lead = data.get("framing_lead", {}).get("regex")
    return Patterns(
        labels=labels,
        trailing_axis=_rx(data["trailing_axis"]["regex"]),
        headers=headers,
        preamble_heads=_rx(pre["heads"]),
        preamble_cues=_rxs(pre["cues"]),
        decision_start=_rx(dec["start"]),
        decision_lines=_rx(dec["lines"]),
        annex=_rx(dec["annex"]),
        title=_rxs(data["title"]["regex"]),
        title_max_words=int(data["title"].get("max_words", 16)),
        signature=_rxs(data["signature"]["regex"]),
        signature_date=_rx(data["signature"]["date"]),
        name_max_words=int(data["signature"].get("name_max_words", 5)),
        section=_rxs(data["section"]["regex"]),
        axis_heading=_rxs(data["axis_heading"]["regex"]),
        toc_head=_rx(nav["toc_head"]),
        toc_entry=_rx(nav["toc_entry"]),
        toc_entry_loose=_rx(nav["toc_entry_loose"]),
        footer=_rxs(nav["footer"]),
        constat_inline=_rx(inline) if inline else None,
        framing_lead=_rx(lead) if lead else None,
        release_heads=_rx(pre["release_heads"]) if pre.get("release_heads") else None,
        self_reference=_rx(pre["self_reference"]) if pre.get("self_reference") else None,
        related=_rx(nav["related"]) if nav.get("related") else None,
        generic_heads=_rx(head["generic"]) if head.get("generic") else None,
        title_split_max_words=int(data["title"].get("split_max_words", 10)),
        commune_particles=frozenset(data["title"].get("commune_particles", ())),
        announced=_rx(ann["regex"]) if ann.get("regex") else None,
        announced_split=_rx(ann.get("item_split", r"\s*(?:,|\bet\b)\s*")),
        announced_lead=ann.get("lead", ""),
        announced_strip=_rx(ann["strip"]) if ann.get("strip") else None,
        heading_max_words=int(head.get("max_words", 14)),
        heading_max_chars=int(head.get("max_chars", 120)),
        bold_max_words=int(head.get("bold_max_words", 25)),
        numbered_max_words=int(head.get("numbered_max_words", 20)),
        abbreviations=frozenset(data.get("sentence", {}).get("abbreviations", ())),
        details=tuple((k, _rx(v)) for k, v in data.get("details", {}).items()
                      if k not in ("examples", "counter")),
        raw=data,
    )


@lru_cache(maxsize=8)
def _load_cached(path: str) -> Patterns:
    with open(path, "rb") as f:
        return parse_patterns(tomllib.load(f))


def load_patterns(path: Path | None = None) -> Patterns:
    """Read and compile a patterns file (default ``pipeline/data/patterns.toml``) → Patterns."""
    return _load_cached(str(Path(path) if path else DEFAULT_PATH))


WORDS_PATH = Path(__file__).resolve().parents[1] / "data" / "words.toml"


@cache
def word_list(name: str) -> frozenset[str]:
    """A French word list of ``pipeline/data/words.toml`` (determiners, not_infinitive,
    name_particles)."""
    return frozenset(tomllib.loads(WORDS_PATH.read_text(encoding="utf-8"))[name])


#: longest value of one detail segment (words)
DETAIL_MAX_WORDS = 20
_TWO_SENTENCES = re.compile(r"[.!?]\s+[A-ZÀ-Ý]")
#: the separators of several "Label : value" segments on one line of a plan
#: (a ";" separates two segments only before a label: "Indicateur : ouverture ; ménages inscrits"
#: is one value)
_DETAIL_SPLIT = re.compile(r"\s+[–—|]\s+|\s*;\s*(?=[^\W\d_][^:;]{0,40}:)|\s{2,}"
                           r"|\s+-\s+(?=[^\W\d_][^:]{0,30}:)")
_DETAIL_SEGMENT = re.compile(r"^\s*(?P<label>[^\W\d_][^:]{0,40}?)\s*:\s*(?P<value>.*\S)?\s*$")


def field_of(label: str, patterns: Patterns) -> str:
    """The detail field (service, deadline, budget, indicator) a column header or a line label
    names, or "" (patterns.toml, [details])."""
    label = " ".join(label.split()).strip(" :")
    for name, rx in patterns.details:
        if rx.match(label):
            return name
    return ""


def detail_fields(line: str, patterns: Patterns) -> dict[str, str] | None:
    """A plan's detail line ("Pilote : service social – Échéance : 2027") → {field: value};
    None when the line is not made only of detail segments."""
    segments = [x for x in _DETAIL_SPLIT.split(line.strip()) if x.strip()]
    if not segments or not patterns.details:
        return None
    out: dict[str, str] = {}
    for seg in segments:
        m = _DETAIL_SEGMENT.match(seg)
        if not m:
            return None
        f = field_of(m.group("label"), patterns)
        if not f:
            return None
        value = (m.group("value") or "").strip()
        if len(value.split()) > DETAIL_MAX_WORDS or _TWO_SENTENCES.search(value):
            return None  # prose that happens to start with "Pilote :"
        out[f] = f"{out[f]} ; {value}" if out.get(f) and value else (value or out.get(f, ""))
    return out
