"""Export to qualitative-analysis software: a REFI-QDA 1.5 project (``.qdpx``).

A ``.qdpx`` file is a ZIP holding ``project.qde`` (XML, namespace ``urn:QDA-XML:project:1.0``)
and ``sources/`` (the embedded source files).  MAXQDA, NVivo, ATLAS.ti and QualCoder import it.
What cpas-compare writes:

- the codebook as codes (one ``Code`` per theme, colour, definition/includes/excludes/terms in
  ``Description``);
- each declaration as a ``TextSource`` whose plain text is the normalised text
  (``sources/<guid>.txt``, UTF-8 without BOM, ``plainTextPath="internal://<guid>.txt"``);
- each themed unit as a ``PlainTextSelection`` over its content (the unit span without its
  label), with one ``Coding`` per theme and the scores / sources / evidence in its
  ``Description``;
- the document metadata (commune, législature, date d'adoption, any extra column) as
  ``Variables``, one ``Case`` per declaration holding the ``VariableValue``s and a ``SourceRef``
  (the same values are also attached to the ``TextSource`` for tools that read source
  variables);
- one ``User`` ("cpas-compare") and creation dates.

Positions (REFI-QDA 1.5, §10.2): selections count Unicode code points from 0; in the
specification's own example ``endPosition - startPosition`` is the length of the selected text,
i.e. ``endPosition`` is the position *after* the last character.  That is exactly a Python
slice ``text[startPosition:endPosition]`` on a ``str``, so our offsets are written unchanged.

The export is deterministic: every GUID is a uuid5 of a stable name (doc_id, unit_id, theme id,
column name), elements are sorted, the ZIP entries are sorted with fixed timestamps, so two
exports of the same inputs are byte-identical.
"""

from __future__ import annotations

import hashlib
import io as _io
import logging
import math
import os
import re
import uuid
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, timezone
from pathlib import Path

import pandas as pd

from pipeline import io

log = logging.getLogger(__name__)

NS = "urn:QDA-XML:project:1.0"
SCHEMA_LOCATION = f"{NS} http://schema.qdasoftware.org/versions/Project/v1.0/Project.xsd"
PROJECT_NAME = "cpas-compare"
USER_NAME = "cpas-compare"
#: Namespace of every GUID of the export (uuid5 of a fixed URL: never change it, or re-exports
#: of a project would no longer share GUIDs with earlier ones).
GUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/cpas-compare/qdpx")
_GUID_NAMESPACE_BYTES = GUID_NAMESPACE.bytes
_GUID_SEP = "\x1f"  # between the parts of a GUID's name
#: Date written when neither ``created`` nor SOURCE_DATE_EPOCH is given (the ZIP epoch).
DEFAULT_CREATED = datetime(1980, 1, 1, tzinfo=timezone.utc)
#: REFI-QDA 1.5 §8.5: largest internal file.
MAX_INTERNAL_FILE = 2**31 - 1
SELECTION_NAME_CHARS = 100

#: documents columns never exported as variables (technical).
EXCLUDED_COLUMNS = ("sha256", "status", "error")
#: French names shown in the QDA tool for the documents columns (others keep their name).
VARIABLE_LABELS = {
    "doc_id": "identifiant",
    "source_file": "fichier source",
    "format": "format",
    "doc_kind": "type de document",
    "commune": "commune",
    "legislature": "législature",
    "mandate": "mandat",
    "adopted_on": "date d'adoption",
    "president": "président(e)",
    "n_pages": "nombre de pages",
    "n_words": "nombre de mots",
    "province": "province",
    "source": "source",
}
#: French names of the unit kinds (pipeline.models.UNIT_KINDS) in selection descriptions.
KIND_LABELS = {
    "title": "titre", "preamble": "préambule", "signature": "signature",
    "navigation": "navigation", "context": "contexte", "section": "section", "axis": "axe",
    "group": "groupe",
    "objective": "objectif", "action": "action", "statement": "énoncé",
}
SOURCE_LABELS = {
    "vocabulary": "vocabulaire",
    "model": "modèle",
    "context": "contexte",
    "human": "annotation humaine",
}

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_INT = re.compile(r"-?(0|[1-9]\d*)")
_DEC = re.compile(r"-?\d+\.\d+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")


# --------------------------------------------------------------------------------------------
# small pure helpers
# --------------------------------------------------------------------------------------------

def make_guid(kind: str, *parts: str) -> str:
    """Deterministic GUID (upper-case 8-4-4-4-12, as ATLAS.ti and MAXQDA write them) for an
    object ``kind`` named by ``parts``: ``str(uuid.uuid5(GUID_NAMESPACE, name)).upper()``
    computed straight from the SHA-1 (no UUID object: ~85,000 GUIDs for 300 declarations)."""
    return _guid(_GUID_SEP.join((kind, *map(str, parts))))


#: first hex digit of the 4th GUID group once the RFC 4122 variant bits (10xx) are set
_VARIANT_DIGIT = {c: "89AB"[int(c, 16) & 3] for c in "0123456789ABCDEF"}


def _guid(name: str) -> str:
    """``str(uuid.uuid5(GUID_NAMESPACE, name)).upper()`` from the SHA-1 hex digest: its first
    32 digits with the version digit set to 5 and the variant bits to 10."""
    h = hashlib.sha1(_GUID_NAMESPACE_BYTES + name.encode("utf-8")).hexdigest().upper()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT_DIGIT[h[16]]}{h[17:20]}-{h[20:32]}"


def _s(value) -> str:
    """Cell value → clean string ("" for None/NaN; 3.0 → "3")."""
    if type(value) is str:  # the usual case, first
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer():
            return str(int(value))
    return io.cell_text(value).strip()


def _strings(values: list) -> list[str]:
    """``_s`` of each value (a str, the usual case, needs only ``strip()``)."""
    return [v.strip() if type(v) is str else _s(v) for v in values]


def _xml(text: str) -> str:
    """Drop the characters XML 1.0 cannot carry (control characters, lone surrogates)."""
    return _INVALID_XML.sub("", text)


def _fmt_score(score) -> str:
    try:
        return f"{float(score):.2f}".replace(".", ",")
    except (TypeError, ValueError):
        return _s(score)


def _iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _created(created: datetime | None) -> datetime:
    """The export's timestamp: ``created``, else $SOURCE_DATE_EPOCH, else DEFAULT_CREATED."""
    if created is not None:
        return created if created.tzinfo else created.replace(tzinfo=timezone.utc)
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return max(datetime.fromtimestamp(int(epoch), tz=timezone.utc), DEFAULT_CREATED)
    return DEFAULT_CREATED


def _attr(obj, name: str, default=None):
    """Field of a Theme (dataclass) or of a mapping."""
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def content_span(text: str, start: int, end: int, unit_text: str) -> tuple[int, int]:
    """Offsets of a unit's content inside ``text[start:end]``.

    ``start``/``end`` span the whole unit including its label; ``unit_text`` is that span
    without the label (nor a trailing ":"), whitespace-collapsed.  Returns ``(s, e)`` with
    ``start <= s < e <= end`` such that ``" ".join(text[s:e].split()) == unit_text`` when the
    content can be found in the span (as written, or with other whitespace between its words);
    otherwise the span without its surrounding whitespace (the whole span when it is blank).
    Code-point offsets, end exclusive.
    """
    seg = text[start:end]
    tokens = unit_text.split()
    if tokens:
        # the label may stand before ("O.O.1.") or after ("(Objectif stratégique n°1)") the
        # content; the usual case: the content as written, on one line
        content = " ".join(tokens)
        found = seg.find(content)
        if found >= 0:
            return start + found, start + found + len(content)
        match = re.search(r"\s+".join(map(re.escape, tokens)), seg)
        if match:
            return start + match.start(), start + match.end()
    stripped = seg.rstrip()
    if not stripped:
        return start, end
    return start + (len(seg) - len(seg.lstrip())), start + len(stripped)


def _variable_type(values: Iterable[str]) -> str:
    """REFI-QDA typeOfVariable of a column from its non-empty string values."""
    vals = [v for v in values if v]
    if not vals:
        return "Text"
    if all(_INT.fullmatch(v) for v in vals):
        return "Integer"
    if all(_INT.fullmatch(v) or _DEC.fullmatch(v) for v in vals):
        return "Float"

    def is_date(v: str) -> bool:
        if not _DATE.fullmatch(v):
            return False
        try:
            date.fromisoformat(v)
        except ValueError:
            return False
        return True

    if all(is_date(v) for v in vals):
        return "Date"
    return "Text"


_VALUE_ELEMENT = {"Text": "TextValue", "Integer": "IntegerValue", "Float": "FloatValue",
                  "Date": "DateValue", "Boolean": "BooleanValue", "DateTime": "DateTimeValue"}


def _code_description(theme) -> str:
    """French Description of a theme code: definition, includes, excludes, terms, examples."""
    parts = []
    definition = _s(_attr(theme, "definition", ""))
    if definition:
        parts.append(definition)
    for key, title in (("includes", "Inclut"), ("excludes", "Exclut")):
        val = _attr(theme, key, "")
        val = "; ".join(map(str, val)) if isinstance(val, (list, tuple)) else _s(val)
        if val:
            parts.append(f"{title} : {val}")
    terms = _attr(theme, "terms", None) or []
    if terms:
        parts.append("Termes : " + ", ".join(map(str, terms)))
    examples = _attr(theme, "examples", None) or []
    if examples:
        parts.append("Exemples : " + " | ".join(map(str, examples)))
    parts.append(f"Identifiant cpas-compare : {_attr(theme, 'id', '')}")
    return "\n".join(parts)


# --------------------------------------------------------------------------------------------
# building the project
# --------------------------------------------------------------------------------------------
#
# The XML is written as text, exactly as ``ET.indent(root, space="  ")`` followed by
# ``ET.tostring(root, encoding="unicode")`` would write the same tree: every element starts on
# a new line indented by two spaces per level, a leaf is ``<Tag a="v">text</Tag>`` (or
# ``<Tag a="v" />`` without text), a parent closes on a line of its own.  Building ~190,000
# Element objects for 300 declarations then serialising them took most of the export's time.

#: "\n" + the indentation of each nesting level (Project = 0).
_INDENT = ["\n" + "  " * level for level in range(8)]


def _escape_text(text: str) -> str:
    """Character data as ElementTree writes it: invalid characters dropped, then & < > escaped."""
    text = _INVALID_XML.sub("", text)  # _xml(text)
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def _escape_attr(value: str) -> str:
    """Attribute value as ElementTree writes it: also " and the line breaks / tabs escaped."""
    value = _escape_text(value)
    if '"' in value:
        value = value.replace('"', "&quot;")
    if "\r" in value:
        value = value.replace("\r", "&#13;")
    if "\n" in value:
        value = value.replace("\n", "&#10;")
    if "\t" in value:
        value = value.replace("\t", "&#09;")
    return value


def _attrs(attrib: dict[str, str]) -> str:
    """``' name="value"'`` for each attribute, in the dict's order."""
    return "".join(f' {k}="{_escape_attr(v)}"' for k, v in attrib.items())


def _leaf(level: int, tag: str, attrs: str = "", text: str | None = None) -> str:
    """An element without children at nesting ``level``; ``attrs`` as made by ``_attrs``."""
    text = _escape_text(text) if text is not None else ""
    if text:
        return f"{_INDENT[level]}<{tag}{attrs}>{text}</{tag}>"
    return f"{_INDENT[level]}<{tag}{attrs} />"


def _selection_name(label: str, text: str) -> str:
    name = " ".join(f"{label} {text}".split())
    if len(name) > SELECTION_NAME_CHARS:
        name = name[:SELECTION_NAME_CHARS - 1].rstrip() + "…"
    return name


def _column_lists(df: pd.DataFrame | None, columns: Iterable[str]) -> dict[str, list]:
    """``{column: list of its values}`` (NaN for a missing column).  ``Series.tolist()`` once is
    much faster than iterating a pandas 3 Arrow-backed Series element by element."""
    if df is None:
        df = pd.DataFrame()
    n = len(df)
    return {c: df[c].tolist() if c in df.columns else [math.nan] * n for c in columns}


def build_project(documents: pd.DataFrame, texts: dict[str, str], units: pd.DataFrame,
                  unit_themes: pd.DataFrame, codebook: list, *,
                  created: datetime | None = None) -> tuple[bytes, dict[str, bytes]]:
    """Build the REFI-QDA project in memory (pure).

    Inputs follow docs/architecture.md: ``documents`` (one row per file; only rows whose
    ``doc_id`` has a text in ``texts`` and whose status is not "error" are exported), ``texts``
    (doc_id → normalised text), ``units`` (offsets into those texts), ``unit_themes`` (long
    table doc_id, unit_id, theme, score, sources, evidence), ``codebook`` (list of Theme).
    Returns ``(project_qde_bytes, {"sources/<guid>.txt": utf8_bytes})``.  Units whose offsets
    fall outside their text are skipped (logged); themes absent from the codebook get a code
    of their own so that no coding is lost.
    """
    when = _iso(_created(created))
    user = make_guid("user", USER_NAME)
    stamp = f' creatingUser="{user}" creationDateTime="{when}"'  # GUID and date: nothing to escape
    ind = _INDENT

    # ---- documents kept
    docs = documents.copy() if documents is not None else pd.DataFrame()
    if "doc_id" not in docs.columns:
        docs["doc_id"] = pd.Series(dtype=str)
    docs["doc_id"] = docs["doc_id"].map(_s)
    if "status" in docs.columns:
        docs = docs[docs["status"].map(_s) != "error"]
    docs = docs[docs["doc_id"].isin([k for k, v in texts.items() if v])]
    docs = docs.drop_duplicates("doc_id").sort_values("doc_id", kind="stable")
    doc_ids = docs["doc_id"].tolist()
    kept_docs = set(doc_ids)

    # ---- unit_themes rows of the kept documents:
    # doc_id → unit_id → theme → (score, theme, raw score, sources, evidence); a theme repeated
    # for a unit keeps its highest score
    ut = _column_lists(unit_themes, ("doc_id", "unit_id", "theme", "score", "sources", "evidence"))
    themed: dict[str, dict[str, dict[str, tuple]]] = {}
    for d, uid, theme, score, sources_, evidence in zip(
            _strings(ut["doc_id"]), _strings(ut["unit_id"]), _strings(ut["theme"]), ut["score"],
            _strings(ut["sources"]), _strings(ut["evidence"]), strict=True):
        if d not in kept_docs or not theme:
            continue
        value = score
        if type(value) is not float:
            try:
                value = float(value)
            except (TypeError, ValueError):
                value = 0.0
        if math.isnan(value):
            value = 0.0
        per_unit = themed.setdefault(d, {}).setdefault(uid, {})
        if theme not in per_unit or value > per_unit[theme][0]:
            per_unit[theme] = (value, theme, score, sources_, evidence)

    # ---- codes: codebook order, then unknown themes met in unit_themes (sorted)
    codes: list[tuple[str, str, str | None, str]] = []  # (theme id, name, colour, description)
    known = set()
    for theme in codebook or []:
        tid = _s(_attr(theme, "id", ""))
        if not tid or tid in known:
            continue
        known.add(tid)
        color = _s(_attr(theme, "color", ""))
        codes.append((tid, _s(_attr(theme, "label", "")) or tid,
                      color if _COLOR.fullmatch(color) else None, _code_description(theme)))
    used = {theme for per_doc in themed.values() for per_unit in per_doc.values()
            for theme in per_unit}
    for tid in sorted(used - known):
        log.warning("qdpx : thème %r absent du codebook, exporté comme code sans définition", tid)
        codes.append((tid, tid, None, f"Thème absent du codebook (identifiant : {tid})"))
    code_guid = {tid: make_guid("code", tid) for tid, *_ in codes}
    code_name = {tid: name for tid, name, *_ in codes}

    out = ['<?xml version="1.0" encoding="utf-8"?>\n<Project', _attrs({
        "xmlns": NS,
        "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
        "xsi:schemaLocation": SCHEMA_LOCATION,
        "name": PROJECT_NAME,
        "origin": f"cpas-compare {_version()}",
        "creatingUserGUID": user,
        "creationDateTime": when,
        "modifyingUserGUID": user,
        "modifiedDateTime": when,
    }), ">"]
    write = out.append
    write(f"{ind[1]}<Users>")
    write(_leaf(2, "User", _attrs({"guid": user, "name": USER_NAME, "id": USER_NAME})))
    write(f"{ind[1]}</Users>")

    if codes:
        write(f"{ind[1]}<CodeBook>{ind[2]}<Codes>")
        for tid, name, color, desc in codes:
            attrib = {"guid": code_guid[tid], "name": name, "isCodable": "true"}
            if color:
                attrib["color"] = color.upper()
            write(f"{ind[3]}<Code{_attrs(attrib)}>")
            write(_leaf(4, "Description", text=desc))
            write(f"{ind[3]}</Code>")
        write(f"{ind[2]}</Codes>{ind[1]}</CodeBook>")

    # ---- variables: the clean string values of each column, in the order of doc_ids
    columns = {c: _strings(docs[c].tolist()) for c in docs.columns}
    var_cols = [c for c in docs.columns if c not in EXCLUDED_COLUMNS and any(columns[c])]
    var_types = {c: _variable_type(columns[c]) for c in var_cols}
    var_guid = {c: make_guid("variable", c) for c in var_cols}
    if var_cols:
        write(f"{ind[1]}<Variables>")
        for c in var_cols:
            write(f"{ind[2]}<Variable" + _attrs({"guid": var_guid[c],
                                                  "name": VARIABLE_LABELS.get(c, c),
                                                  "typeOfVariable": var_types[c]}) + ">")
            write(_leaf(3, "Description",
                        text=f"Colonne « {c} » de documents.csv (cpas-compare)."))
            write(f"{ind[2]}</Variable>")
        write(f"{ind[1]}</Variables>")

    # the VariableValue elements of each document: the same under its Case and its TextSource
    # (both at nesting level 2)
    values_xml = []
    for i in range(len(doc_ids)):
        parts = []
        for c in var_cols:
            value = columns[c][i]
            if value:
                parts.append(f'{ind[3]}<VariableValue>{ind[4]}<VariableRef targetGUID="'
                             f'{var_guid[c]}" />'
                             + _leaf(4, _VALUE_ELEMENT[var_types[c]], text=value)
                             + f"{ind[3]}</VariableValue>")
        values_xml.append("".join(parts))

    source_guid = {d: make_guid("source", d) for d in doc_ids}
    sep = _GUID_SEP
    empty = [""] * len(doc_ids)
    names = {}
    for d, commune, legislature in zip(doc_ids, columns.get("commune", empty),
                                       columns.get("legislature", empty), strict=True):
        names[d] = " ".join(x for x in (commune, legislature) if x) or d
    dup = {n for n, k in Counter(names.values()).items() if k > 1}
    names = {d: (f"{n} [{d}]" if n in dup else n) for d, n in names.items()}

    if doc_ids:
        write(f"{ind[1]}<Cases>")
        for d, values in zip(doc_ids, values_xml, strict=True):
            write(f"{ind[2]}<Case" + _attrs({"guid": make_guid("case", d), "name": names[d]})
                  + ">")
            write(_leaf(3, "Description", text=f"Déclaration de politique sociale « {d} »."))
            write(values)
            write(f'{ind[3]}<SourceRef targetGUID="{source_guid[d]}" />{ind[2]}</Case>')
        write(f"{ind[1]}</Cases>")

    # ---- units and selections: row of each themed unit (the last one of a duplicated unit)
    un = _column_lists(units, ("doc_id", "unit_id", "kind", "label", "text", "start", "end"))
    unit_row = {}
    for i, key in enumerate(zip(_strings(un["doc_id"]), _strings(un["unit_id"]), strict=True)):
        if key[1] in themed.get(key[0], ()):
            unit_row[key] = i
    # one <Coding> ... </Coding> per theme, waiting for its GUID
    coding_tail = {tid: f'{stamp}>{ind[5]}<CodeRef targetGUID="{g}" />{ind[4]}</Coding>'
                   for tid, g in code_guid.items()}
    sources_part: dict[str, str] = {}  # sources → " ; sources : <French labels>" (or "")

    files: dict[str, bytes] = {}
    n_selections = 0
    if doc_ids:
        write(f"{ind[1]}<Sources>")
        origins = columns.get("source_file", empty)
        for d, values, origin in zip(doc_ids, values_xml, origins, strict=True):
            text = texts[d]
            sg = source_guid[d]
            data = text.encode("utf-8")
            if len(data) > MAX_INTERNAL_FILE:
                raise ValueError(f"qdpx : le texte de « {d} » dépasse 2 Go, limite REFI-QDA")
            files[f"sources/{sg}.txt"] = data
            write(f"{ind[2]}<TextSource" + _attrs({"guid": sg, "name": names[d],
                                                    "plainTextPath": f"internal://{sg}.txt"})
                  + f"{stamp}>")
            write(_leaf(3, "Description", text=(
                "Texte normalisé par cpas-compare"
                + (f" à partir de « {origin} »" if origin else "")
                + f" (identifiant : {d}). Les positions des passages codés renvoient à ce texte.")))
            selections = []
            per_doc = themed.get(d, {})
            for uid in sorted(per_doc):
                i = unit_row.get((d, uid))
                if i is None:
                    log.warning("qdpx : unité %s/%s absente de units, ignorée", d, uid)
                    continue
                raw_start, raw_end = un["start"][i], un["end"][i]
                try:
                    start, end = int(raw_start), int(raw_end)
                except (TypeError, ValueError):
                    start, end = -1, -1
                if not 0 <= start < end <= len(text):
                    log.warning("qdpx : positions %s-%s hors du texte pour %s/%s, unité ignorée",
                                raw_start, raw_end, d, uid)
                    continue
                s, e = content_span(text, start, end, _s(un["text"][i]))
                selections.append((s, e, uid, i))
            selections.sort()  # by (start, end, unit_id): unit ids are unique in a document
            for s, e, uid, i in selections:
                rows = sorted(per_doc[uid].values(), key=lambda r: (-r[0], r[1]))
                name = _selection_name(_s(un["label"][i]), text[s:e])
                guid = _guid(f"selection{sep}{d}{sep}{uid}")  # make_guid("selection", d, uid)
                write(f'{ind[3]}<PlainTextSelection guid="{guid}" name="{_escape_attr(name)}" '
                      f'startPosition="{s}" endPosition="{e}"{stamp}>')
                kind = _s(un["kind"][i])
                lines = [f"Unité {uid} ({KIND_LABELS.get(kind, kind) or 'unité'}) de « {d} »."]
                for _, theme, score, sources_, evidence in rows:
                    srcs = sources_part.get(sources_)
                    if srcs is None:
                        srcs = ", ".join(SOURCE_LABELS.get(x, x) for x in sources_.split(";") if x)
                        srcs = sources_part[sources_] = f" ; sources : {srcs}" if srcs else ""
                    line = f"{code_name[theme]} : score {_fmt_score(score)}{srcs}"
                    ev = ", ".join(filter(None, evidence.split(";")))
                    lines.append(f"{line} ; indices : {ev}" if ev else line)
                write(_leaf(4, "Description", text="\n".join(lines)))
                for _, theme, *_rest in rows:
                    guid = _guid(f"coding{sep}{d}{sep}{uid}{sep}{theme}")  # make_guid("coding", ...)
                    write(f'{ind[4]}<Coding guid="{guid}"{coding_tail[theme]}')
                write(f"{ind[3]}</PlainTextSelection>")
                n_selections += 1
            write(values)
            write(f"{ind[2]}</TextSource>")
        write(f"{ind[1]}</Sources>")

    write(_leaf(1, "Description", text=(
        f"Projet exporté par cpas-compare : {len(doc_ids)} déclaration(s), {len(codes)} thème(s), "
        f"{n_selections} passage(s) codé(s). Les codes sont les thèmes du codebook ; le score, "
        "les sources et les indices de chaque codage figurent dans la description du passage.")))
    write(f"{ind[0]}</Project>\n")
    # encoding the parts one by one is faster than encoding their (33 MB) concatenation
    return b"".join([part.encode("utf-8") for part in out]), files


def _version() -> str:
    from pipeline.version import __version__

    return __version__


def qdpx_bytes(documents: pd.DataFrame, texts: dict[str, str], units: pd.DataFrame,
               unit_themes: pd.DataFrame, codebook: list, *,
               created: datetime | None = None) -> bytes:
    """The whole ``.qdpx`` archive as bytes (pure): ``project.qde`` then ``sources/*.txt``,
    entries sorted, fixed timestamps and permissions, deflate-compressed."""
    qde, files = build_project(documents, texts, units, unit_themes, codebook, created=created)
    stamp = _created(created).astimezone(timezone.utc)
    date_time = (1980, 1, 1, 0, 0, 0)  # ZIP timestamps cannot be earlier
    if stamp.year >= 1980:
        date_time = (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    buf = _io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in sorted({"project.qde": qde, **files}.items()):
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            zf.writestr(info, data, compresslevel=6)
    return buf.getvalue()


def export_qdpx(documents: pd.DataFrame, texts: dict[str, str], units: pd.DataFrame,
                unit_themes: pd.DataFrame, codebook: list, path: Path, *,
                created: datetime | None = None) -> Path:
    """Write the REFI-QDA 1.5 project to ``path`` (atomically) and return ``path``.

    See ``build_project`` for the inputs.  ``created`` is the date written in the project
    (default: $SOURCE_DATE_EPOCH, else 1980-01-01T00:00:00Z, so that re-exports are
    byte-identical).
    """
    data = qdpx_bytes(documents, texts, units, unit_themes, codebook, created=created)
    return io.write_bytes(Path(path), data)


# --------------------------------------------------------------------------------------------
# reading back
# --------------------------------------------------------------------------------------------

def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def _desc(el: ET.Element) -> str:
    d = el.find(_q("Description"))
    return (d.text or "") if d is not None else ""


def read_qdpx(path: Path) -> dict:
    """Read a ``.qdpx`` (ours or another tool's text project) into plain Python data.

    Returns ``{"project": {name, origin, creationDateTime, description},
    "users": [{guid, name}], "codes": [{guid, name, color, description, parent}],
    "variables": [{guid, name, type, description}],
    "cases": [{guid, name, values: {variable name: str}, sources: [source guid]}],
    "sources": [{guid, name, path, description, text, values: {variable name: str},
    "selections": [{guid, name, start, end, text, description, codes: [code guid]}]}]}``.
    ``text`` is the embedded plain text (None when the file is missing or external), selection
    ``text`` its slice ``text[start:end]``.  Raises ValueError when ``project.qde`` is absent.
    """
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        qde_name = next((n for n in sorted(names) if n.lower() == "project.qde"), None)
        if qde_name is None:
            raise ValueError(f"{path} : pas de project.qde dans l'archive")
        root = ET.fromstring(zf.read(qde_name))
        by_lower = {n.lower(): n for n in names}

        def load(internal: str) -> str | None:
            if not internal.startswith("internal://"):
                return None
            name = by_lower.get(("sources/" + internal[len("internal://"):]).lower())
            if name is None:
                return None
            return zf.read(name).decode("utf-8-sig")

        out: dict = {"project": {"name": root.get("name", ""), "origin": root.get("origin", ""),
                                 "creationDateTime": root.get("creationDateTime", ""),
                                 "description": _desc(root)}}
        out["users"] = [{"guid": u.get("guid"), "name": u.get("name", "")}
                        for u in root.iter(_q("User"))]
        codes = []

        def walk(el: ET.Element, parent: str | None) -> None:
            for c in el.findall(_q("Code")):
                codes.append({"guid": c.get("guid"), "name": c.get("name", ""),
                              "color": c.get("color"), "description": _desc(c),
                              "parent": parent})
                walk(c, c.get("guid"))

        book = root.find(f"{_q('CodeBook')}/{_q('Codes')}")
        if book is not None:
            walk(book, None)
        out["codes"] = codes
        variables = {v.get("guid"): v for v in root.iter(_q("Variable"))}
        out["variables"] = [{"guid": g, "name": v.get("name", ""),
                             "type": v.get("typeOfVariable", ""), "description": _desc(v)}
                            for g, v in variables.items()]

        def values(el: ET.Element) -> dict[str, str]:
            res = {}
            for vv in el.findall(_q("VariableValue")):
                ref = vv.find(_q("VariableRef"))
                var = variables.get(ref.get("targetGUID")) if ref is not None else None
                val = next((x.text or "" for x in vv if x.tag != _q("VariableRef")), "")
                res[var.get("name") if var is not None else ref.get("targetGUID")] = val
            return res

        out["cases"] = [{"guid": c.get("guid"), "name": c.get("name", ""), "values": values(c),
                         "sources": [r.get("targetGUID") for r in c.findall(_q("SourceRef"))]}
                        for c in root.iter(_q("Case"))]
        sources = []
        srcs = root.find(_q("Sources"))
        for src in (srcs.findall(_q("TextSource")) if srcs is not None else []):
            path_attr = src.get("plainTextPath", "")
            text = load(path_attr)
            if text is None:
                content = src.find(_q("PlainTextContent"))
                text = content.text if content is not None else None
            sels = []
            for sel in src.findall(_q("PlainTextSelection")):
                s, e = int(sel.get("startPosition")), int(sel.get("endPosition"))
                sels.append({"guid": sel.get("guid"), "name": sel.get("name", ""),
                             "start": s, "end": e,
                             "text": text[s:e] if text is not None else None,
                             "description": _desc(sel),
                             "codes": [c.find(_q("CodeRef")).get("targetGUID")
                                       for c in sel.findall(_q("Coding"))]})
            sources.append({"guid": src.get("guid"), "name": src.get("name", ""),
                            "path": path_attr, "description": _desc(src), "text": text,
                            "values": values(src), "selections": sels})
        out["sources"] = sources
    return out
