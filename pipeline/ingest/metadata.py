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
    commune_split: re.Pattern
    not_names: frozenset[str]
    range_re: re.Pattern
    keywords: re.Pattern
    first_lines: int
    adopted: tuple[re.Pattern, ...]
    adopted_exclude: re.Pattern
    adopted_near_exclude: re.Pattern
    adopted_anchor: re.Pattern
    pres_inline: tuple[re.Pattern, ...]
    pres_prose: tuple[re.Pattern, ...]
    pres_title: re.Pattern
    not_person: re.Pattern
    person: re.Pattern


def load_patterns(path: Path = PATTERNS_FILE) -> dict:
    """The raw content of ``metadata_patterns.toml`` (patterns with their examples)."""
    with open(path, "rb") as f:
        return tomllib.load(f)


def expand(pattern: str, parts: dict[str, str]) -> str:
    """Replace ``{name}``, ``{date}``… in ``pattern`` by the sub-patterns of ``[parts]``."""
    for k, v in parts.items():
        pattern = pattern.replace("{" + k + "}", v)
    return pattern


@lru_cache(maxsize=2)
def _rules(path: Path = PATTERNS_FILE) -> _Rules:
    d = load_patterns(path)
    parts = d["parts"]

    def compiled(entries: list) -> tuple[re.Pattern, ...]:
        # entries are tables {regex, examples} (or bare strings)
        return tuple(re.compile(expand(e["regex"] if isinstance(e, dict) else e, parts))
                     for e in entries)

    return _Rules(
        commune=compiled(d["commune"]["patterns"]),
        commune_split=re.compile(d["commune"]["split"]),
        not_names=frozenset(n.casefold() for n in d["commune"].get("not_names", [])),
        range_re=re.compile(d["legislature"]["range"]),
        keywords=re.compile(d["legislature"]["keywords"]),
        first_lines=int(d["legislature"].get("first_lines", 3)),
        adopted=compiled(d["adopted_on"]["patterns"]),
        adopted_exclude=re.compile(d["adopted_on"]["exclude"]),
        adopted_near_exclude=re.compile(d["adopted_on"]["near_exclude"]),
        adopted_anchor=re.compile(d["adopted_on"]["anchor"]),
        pres_inline=compiled(d["president"]["inline"]),
        pres_prose=compiled(d["president"].get("prose", [])),
        pres_title=re.compile(d["president"]["title_line"]),
        not_person=re.compile(d["president"]["not_person"]),
        person=re.compile(expand(parts["person"], parts)),
    )


def normalise_name(name: str) -> str:
    """Place name → usual case: "TROOZ" → "Trooz", "BEYNE-HEUSAY" → "Beyne-Heusay".

    Names already in mixed case are kept as written.
    """
    name = re.sub(r"-\s+", "-", " ".join(name.split())).strip(" -'’")
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


def _join_split_names(lines: list[str], r: _Rules) -> list[str]:
    """Lines where a line ending in "CPAS de" / "CPAS de Saint-" is read with the next one."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if (i + 1 < len(lines) and r.commune_split.search(line)
                and lines[i + 1][:1].isupper()):
            sep = "" if line.endswith(("-", "'", "’")) else " "
            out.append(line + sep + lines[i + 1])
            i += 2
            continue
        out.append(line)
        i += 1
    return out


def _commune(lines: list[str], r: _Rules) -> str:
    counts: Counter[str] = Counter()
    shown: dict[str, str] = {}  # casefolded → first spelling, in order of appearance
    for line in _join_split_names(lines, r):
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


_SENTENCE_END = re.compile(r"[.;!?](?=\s|$)")


def _near_excluded(line: str, pos: int, r: _Rules) -> bool:
    """True when, in the sentence before ``pos``, a word of ``near_exclude`` ("Comité de
    concertation", "installé", "publié"…) comes after the last ``anchor`` ("conseil", "adopté")."""
    before = line[:pos]
    ends = list(_SENTENCE_END.finditer(before))
    sentence = before[ends[-1].end():] if ends else before
    last_bad = max((m.end() for m in r.adopted_near_exclude.finditer(sentence)), default=-1)
    if last_bad < 0:
        return False
    last_anchor = max((m.start() for m in r.adopted_anchor.finditer(sentence)), default=-1)
    return last_anchor < last_bad


def _adopted_on(lines: list[str], r: _Rules) -> str:
    for line in lines:
        if r.adopted_exclude.search(line):
            continue
        for pat in r.adopted:
            for m in pat.finditer(line):
                if _near_excluded(line, m.start("date"), r):
                    continue
                iso = parse_date(m.group("date"))
                if iso:
                    return iso
    return ""


def _is_person(name: str, r: _Rules) -> bool:
    return bool(name) and not r.not_person.search(name)


def _person(line: str, r: _Rules) -> str:
    s = line.strip().strip("*_ ").rstrip(",.")
    m = r.person.fullmatch(s)
    name = " ".join(m.group(0).split()) if m else ""
    return name if _is_person(name, r) else ""


def _president(lines: list[str], r: _Rules) -> str:
    for line in lines:
        for pat in r.pres_inline:
            m = pat.search(line.strip())
            if m:
                name = " ".join(m.group("person").split())
                if _is_person(name, r):
                    return name
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
    for line in lines:  # named in a sentence: "Le président du CPAS, Jean Dupont, a présenté…"
        for pat in r.pres_prose:
            for m in pat.finditer(line):
                name = " ".join(m.group("person").split())
                if _is_person(name, r):
                    return name
    return ""


def extract_metadata(text: str) -> dict[str, str]:
    """Normalised text → {"commune", "legislature", "mandate", "adopted_on", "president"}.

    Every value is what the text states ("" when it does not): commune from "CPAS de X",
    "CPAS d'X", "Commune de X" (most frequent, usual case, also from
    "CPAS DE X" in capitals, a name cut over two lines); legislature as written ("2018-2024");
    mandate normalised ("2019-2024"); adopted_on as ISO date of the council session that
    adopted the text (never a "Publié le" nor a "Considérant" line, nor a date said of the
    Comité de concertation or of the council's installation); president's name (signature,
    "Le Président : X", or named in a sentence; never "Pour le Conseil").
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
