"""Metadata stated in a declaration's text: commune, legislature, mandate, adoption date, president.

Patterns live in ``pipeline/data/metadata_patterns.toml``.  Nothing is guessed: a field the
text does not state stays "".
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import tomllib

PATTERNS_FILE = Path(__file__).resolve().parents[1] / "data" / "metadata_patterns.toml"

MONTHS = {
    "janvier": 1, "janv": 1, "jan": 1, "février": 2, "fevrier": 2, "févr": 2, "fev": 2, "fév": 2,
    "mars": 3, "mar": 3, "avril": 4, "avr": 4, "mai": 5, "juin": 6, "juillet": 7, "juil": 7,
    "août": 8, "aout": 8, "aoû": 8, "septembre": 9, "sept": 9, "sep": 9, "octobre": 10, "oct": 10,
    "novembre": 11, "nov": 11, "décembre": 12, "decembre": 12, "déc": 12, "dec": 12,
}
_PARTICLES = {"sur", "lez", "lès", "en", "la", "le", "les", "aux", "de", "du", "sous", "d", "l"}


@dataclass(frozen=True)
class _Rules:
    commune: tuple[re.Pattern, ...]
    not_names: frozenset[str]
    range_re: re.Pattern
    keywords: re.Pattern
    first_lines: int
    adopted: tuple[re.Pattern, ...]
    adopted_exclude: re.Pattern
    pres_inline: tuple[re.Pattern, ...]
    pres_title: re.Pattern
    person: re.Pattern


@lru_cache(maxsize=2)
def _rules(path: Path = PATTERNS_FILE) -> _Rules:
    with open(path, "rb") as f:
        d = tomllib.load(f)
    parts = d["parts"]

    def sub(p: str) -> str:
        for k, v in parts.items():
            p = p.replace("{" + k + "}", v)
        return p

    return _Rules(
        commune=tuple(re.compile(sub(p)) for p in d["commune"]["patterns"]),
        not_names=frozenset(n.casefold() for n in d["commune"].get("not_names", [])),
        range_re=re.compile(d["legislature"]["range"]),
        keywords=re.compile(d["legislature"]["keywords"]),
        first_lines=int(d["legislature"].get("first_lines", 3)),
        adopted=tuple(re.compile(sub(p)) for p in d["adopted_on"]["patterns"]),
        adopted_exclude=re.compile(d["adopted_on"]["exclude"]),
        pres_inline=tuple(re.compile(sub(p)) for p in d["president"]["inline"]),
        pres_title=re.compile(d["president"]["title_line"]),
        person=re.compile(sub(parts["person"])),
    )


def normalise_name(name: str) -> str:
    """Place name → usual case: "TROOZ" → "Trooz", "BEYNE-HEUSAY" → "Beyne-Heusay".

    Names already in mixed case are kept as written.
    """
    name = " ".join(name.split()).strip(" -'’")
    letters = [c for c in name if c.isalpha()]
    if not letters or not all(c.isupper() for c in letters):
        return name
    out = []
    for k, tok in enumerate(re.split(r"([- '’])", name.lower())):
        if tok and tok not in "- '’" and (k == 0 or tok not in _PARTICLES):
            tok = tok[0].upper() + tok[1:]
        out.append(tok)
    return "".join(out)


def parse_date(text: str) -> str:
    """A French date ("13 février 2019", "05/mars/2019", "1er mars 2019", "13/02/2019") → ISO, or ""."""
    m = re.match(r"\s*(\d{1,2})(?:er)?[ ./-]([A-Za-zÀ-ÿ]+\.?|\d{1,2})[ ./-](\d{4})", text)
    if not m:
        return ""
    day, month, year = int(m.group(1)), m.group(2).rstrip(".").casefold(), int(m.group(3))
    mon = int(month) if month.isdigit() else MONTHS.get(month) or MONTHS.get(
        unicodedata.normalize("NFC", month))
    if not mon:
        return ""
    try:
        return dt.date(year, mon, day).isoformat()
    except ValueError:
        return ""


def mandate_of(legislature: str) -> str:
    """Legislature as stated → the council mandate it belongs to ("2018-2024" → "2019-2024",
    "2024-2030" → "2025-2030"); "" when it is not a plausible range."""
    m = re.match(r"\s*(\d{4})\s*\D+\s*(\d{4})\s*$", legislature or "")
    if not m:
        return ""
    start, end = int(m.group(1)), int(m.group(2))
    if not 4 <= end - start <= 7:
        return ""
    return f"{end - 5}-{end}"


def _commune(lines: list[str], r: _Rules) -> str:
    counts: Counter[str] = Counter()
    shown: dict[str, str] = {}  # casefolded → first spelling, in order of appearance
    for line in lines:
        for pat in r.commune:
            for m in pat.finditer(line):
                name = normalise_name(m.group("name"))
                key = name.casefold()
                if len(name) < 2 or key in r.not_names:
                    continue
                counts[key] += 1
                shown.setdefault(key, name)
    if not counts:
        return ""
    order = list(shown)
    best = max(counts, key=lambda k: (counts[k], -order.index(k)))
    return shown[best]


def _legislature(lines: list[str], r: _Rules) -> str:
    def ok(m: re.Match) -> bool:
        return 1 <= int(m.group(2)) - int(m.group(1)) <= 7

    for line in lines:
        if r.keywords.search(line):
            for m in r.range_re.finditer(line):
                if ok(m):
                    return f"{m.group(1)}-{m.group(2)}"
    for line in lines[: r.first_lines]:
        for m in r.range_re.finditer(line):
            if ok(m):
                return f"{m.group(1)}-{m.group(2)}"
    return ""


def _adopted_on(lines: list[str], r: _Rules) -> str:
    for line in lines:
        if r.adopted_exclude.search(line):
            continue
        for pat in r.adopted:
            m = pat.search(line)
            if m:
                iso = parse_date(m.group("date"))
                if iso:
                    return iso
    return ""


def _person(line: str, r: _Rules) -> str:
    s = line.strip().strip("*_ ").rstrip(",.")
    m = r.person.fullmatch(s)
    return " ".join(m.group(0).split()) if m else ""


def _president(lines: list[str], r: _Rules) -> str:
    for line in lines:
        for pat in r.pres_inline:
            m = pat.search(line.strip())
            if m:
                return " ".join(m.group("person").split())
    for i, line in enumerate(lines):
        s = line.strip().strip("*_ ")
        if not r.pres_title.match(s):
            continue
        before = _person(lines[i - 1], r) if i > 0 else ""
        after = _person(lines[i + 1], r) if i + 1 < len(lines) else ""
        if re.match(r"(?i)(pour )?(le|la) ", s):
            if after or before:
                return after or before
        elif before or after:
            return before or after
    return ""


def extract_metadata(text: str) -> dict[str, str]:
    """Normalised text → {"commune", "legislature", "mandate", "adopted_on", "president"}.

    Every value is what the text states ("" when it does not): commune from "CPAS de X",
    "CPAS d'X", "Commune de X" (most frequent, usual case); legislature as written ("2018-2024");
    mandate normalised ("2019-2024"); adopted_on as ISO date of the council session that
    adopted the text (never a "Publié le" nor a "Considérant" line); president's name.
    """
    r = _rules()
    lines = [ln.strip() for ln in unicodedata.normalize("NFC", text or "").split("\n")
             if ln.strip()]
    legislature = _legislature(lines, r)
    return {
        "commune": _commune(lines, r),
        "legislature": legislature,
        "mandate": mandate_of(legislature),
        "adopted_on": _adopted_on(lines, r),
        "president": _president(lines, r),
    }
