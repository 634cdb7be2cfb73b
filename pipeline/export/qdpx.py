"""Export to qualitative-analysis software: a REFI-QDA 1.5 project (``.qdpx``).

A ``.qdpx`` file is a ZIP holding ``project.qde`` (XML, namespace ``urn:QDA-XML:project:1.0``)
and ``sources/`` (the embedded source files).  MAXQDA, NVivo, ATLAS.ti and QualCoder import it.
What cpas-compare writes:

- the codebook as codes (one ``Code`` per theme, colour, definition/includes/excludes/terms in
  ``Description``);
- each declaration as a ``TextSource`` whose plain text is the normalised text
  (``sources/<guid>.txt``, UTF-8 without BOM, ``plainTextPath="internal://<guid>.txt"``);
- each themed unit as a ``PlainTextSelection`` over its content (the unit span without its
  label), with one ``Coding`` per theme and the scores / sources / evidence (and the titles of
  its parents, "Contexte : …") in its ``Description``;
- two ``User``s: the human annotator ("annotation humaine", codings whose sources hold
  ``human``, i.e. annotations.csv) and the machine ("cpas-compare (automatique)", every other
  coding, the sources and the project).  For units a human labelled, the machine's own
  labels (``machine_themes``) are a second selection over the same span, created by the
  machine user, so that a QDA tool shows the agreement coder by coder.  A second selection,
  not a second coding on the same one: the XSD would allow two codings of one code on one
  selection, but QualCoder takes the coder of every coding from the selection's
  ``creatingUser`` (and keeps one coding per code, span and coder);
- the document metadata (commune, législature, date d'adoption, any extra column) as
  ``Variables``, one ``Case`` per declaration holding the ``VariableValue``s and a ``SourceRef``
  (the same values are also attached to the ``TextSource`` for tools that read source
  variables).  QualCoder reads a named ``Case``'s variables but ignores its ``SourceRef``: it
  links a case to a text only through a code that has the case's GUID (NVivo's convention).
  So (``case_links``, default) each case also has such a code, under the non-codable code
  "Déclarations (cas)", coding the whole text of its declaration; QualCoder turns it into
  the case–document link and drops the code;
- creation dates: ``created`` (the runner passes the newest modification time of the analysed
  files, see ``export_date``).

``import_qdpx`` reads a reviewed project back into annotations.csv rows (the codings of every
user but the machine).

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
from pipeline.escape import INVALID_XML, xml_attr, xml_text

log = logging.getLogger(__name__)

NS = "urn:QDA-XML:project:1.0"
SCHEMA_LOCATION = f"{NS} http://schema.qdasoftware.org/versions/Project/v1.0/Project.xsd"
PROJECT_NAME = "cpas-compare"
#: The machine: every automatic coding, the sources, the project.  Its GUID is still
#: make_guid("user", "cpas-compare") (the single user of earlier exports).
MACHINE_USER_NAME = "cpas-compare (automatique)"
MACHINE_USER_GUID_NAME = "cpas-compare"
#: The human annotator: codings whose sources hold "human" (annotations.csv).
HUMAN_USER_NAME = "annotation humaine"
HUMAN_USER_GUID_NAME = "annotation humaine"
#: User names read as the machine on import (the earlier single user included).
MACHINE_USER_NAMES = (MACHINE_USER_NAME, "cpas-compare")
#: Name of the non-codable code holding one code per case (see ``case_links``).
CASE_GROUP_NAME = "Déclarations (cas)"
#: Titles whose texts form a unit's context (= pipeline.classify.model.CONTEXT_KINDS).
CONTEXT_KINDS = ("section", "axis", "group", "objective")
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
    "detail": "détail du plan",
}
SOURCE_LABELS = {
    "vocabulary": "vocabulaire",
    "model": "modèle",
    "context": "contexte",
    "human": "annotation humaine",
}

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
    return INVALID_XML.sub("", text)


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


def export_date(paths: Iterable[str | os.PathLike]) -> datetime | None:
    """The date to write in an export of the files ``paths`` (what the runner passes as
    ``created``): $SOURCE_DATE_EPOCH when set (reproducible builds), else the newest
    modification time among the files that exist (UTC, whole seconds), else None.  A real
    date, and the same for every export of the same files."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return max(datetime.fromtimestamp(int(epoch), tz=timezone.utc), DEFAULT_CREATED)
    newest = None
    for path in paths:
        try:
            mtime = int(os.stat(path).st_mtime)
        except (OSError, ValueError, TypeError):
            continue
        newest = mtime if newest is None else max(newest, mtime)
    if newest is None:
        return None
    return max(datetime.fromtimestamp(newest, tz=timezone.utc), DEFAULT_CREATED)


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


def _attrs(attrib: dict[str, str]) -> str:
    """``' name="value"'`` for each attribute, in the dict's order."""
    return "".join(f' {k}="{xml_attr(v)}"' for k, v in attrib.items())


def _leaf(level: int, tag: str, attrs: str = "", text: str | None = None) -> str:
    """An element without children at nesting ``level``; ``attrs`` as made by ``_attrs``."""
    text = xml_text(text) if text is not None else ""
    if text:
        return f"{_INDENT[level]}<{tag}{attrs}>{text}</{tag}>"
    return f"{_INDENT[level]}<{tag}{attrs} />"


def _selection_name(label: str, text: str, suffix: str = "") -> str:
    name = " ".join(f"{label} {text}".split())
    limit = SELECTION_NAME_CHARS - len(suffix)
    if len(name) > limit:
        name = name[:limit - 1].rstrip() + "…"
    return name + suffix


def _column_lists(df: pd.DataFrame | None, columns: Iterable[str]) -> dict[str, list]:
    """``{column: list of its values}`` (NaN for a missing column).  ``Series.tolist()`` once is
    much faster than iterating a pandas 3 Arrow-backed Series element by element."""
    if df is None:
        df = pd.DataFrame()
    n = len(df)
    return {c: df[c].tolist() if c in df.columns else [math.nan] * n for c in columns}


def _themed(unit_themes: pd.DataFrame | None,
            kept_docs: set[str]) -> dict[str, dict[str, dict[str, tuple]]]:
    """unit_themes rows of the kept documents: doc_id → unit_id → theme → (score, theme, raw
    score, sources, evidence); a theme repeated for a unit keeps its highest score."""
    ut = _column_lists(unit_themes, ("doc_id", "unit_id", "theme", "score", "sources",
                                     "evidence"))
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
    return themed


def _is_human(sources: str) -> bool:
    """Whether a unit_themes ``sources`` cell ("human", "vocabulary;model"…) holds ``human``."""
    return "human" in sources and "human" in (x.strip() for x in sources.split(";"))


# One pass that writes the project's XML in document order (≈230 lines): split up, each piece
# would need the GUID maps and the indentation state of the others.
def build_project(documents: pd.DataFrame, texts: dict[str, str], units: pd.DataFrame,
                  unit_themes: pd.DataFrame, codebook: list, *,
                  created: datetime | None = None,
                  machine_themes: pd.DataFrame | None = None,
                  case_links: bool = True) -> tuple[bytes, dict[str, bytes]]:
    """Build the REFI-QDA project in memory (pure).

    Inputs follow docs/architecture.md: ``documents`` (one row per file; only rows whose
    ``doc_id`` has a text in ``texts`` and whose status is not "error" are exported), ``texts``
    (doc_id → normalised text), ``units`` (offsets into those texts; ``parent_id`` gives the
    context line), ``unit_themes`` (long table doc_id, unit_id, theme, score, sources,
    evidence: the final labels; a row whose sources hold ``human`` is coded by the human
    user, any other by the machine user), ``codebook`` (list of Theme).

    ``machine_themes`` (same columns as ``unit_themes``, optional): what the machine predicted
    for units a human labelled.  Each such unit gets a second selection over the same span,
    created by the machine user, whose codings are the machine's labels ("étiquette
    automatique, score …" and the agreement with the human labels in its description).  Rows
    for units whose final labels are the machine's already are ignored (same codings twice).

    ``case_links``: also write one code per case (same GUID as the case, under the
    non-codable code "Déclarations (cas)") coding the whole text of its declaration, which is
    how QualCoder links a case to its document (it ignores the case's ``SourceRef``).

    ``created``: the date written (see ``export_date``; default $SOURCE_DATE_EPOCH, else
    1980-01-01).  Returns ``(project_qde_bytes, {"sources/<guid>.txt": utf8_bytes})``.  Units
    whose offsets fall outside their text are skipped (logged); themes absent from the
    codebook get a code of their own so that no coding is lost.
    """
    when = _iso(_created(created))
    machine = make_guid("user", MACHINE_USER_GUID_NAME)
    human = make_guid("user", HUMAN_USER_GUID_NAME)
    # GUID and date: nothing to escape
    stamp = {u: f' creatingUser="{u}" creationDateTime="{when}"' for u in (machine, human)}
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

    # ---- final labels and the machine's labels of human-labelled units
    themed = _themed(unit_themes, kept_docs)
    machined = _themed(machine_themes, kept_docs) if machine_themes is not None else {}

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
    used = {theme for table in (themed, machined) for per_doc in table.values()
            for per_unit in per_doc.values() for theme in per_unit}
    for tid in sorted(used - known):
        log.warning("qdpx : thème %r absent du codebook, exporté comme code sans définition", tid)
        codes.append((tid, tid, None, f"Thème absent du codebook.\nIdentifiant cpas-compare : {tid}"))
    code_guid = {tid: make_guid("code", tid) for tid, *_ in codes}
    code_name = {tid: name for tid, name, *_ in codes}

    # ---- document columns (variables) and names (sources, cases)
    columns = {c: _strings(docs[c].tolist()) for c in docs.columns}
    source_guid = {d: make_guid("source", d) for d in doc_ids}
    case_guid = {d: make_guid("case", d) for d in doc_ids}
    sep = _GUID_SEP
    empty = [""] * len(doc_ids)
    names = {}
    for d, commune, legislature in zip(doc_ids, columns.get("commune", empty),
                                       columns.get("legislature", empty), strict=True):
        names[d] = " ".join(x for x in (commune, legislature) if x) or d
    dup = {n for n, k in Counter(names.values()).items() if k > 1}
    names = {d: (f"{n} [{d}]" if n in dup else n) for d, n in names.items()}
    case_links = case_links and bool(doc_ids)

    out = ['<?xml version="1.0" encoding="utf-8"?>\n<Project', _attrs({
        "xmlns": NS,
        "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
        "xsi:schemaLocation": SCHEMA_LOCATION,
        "name": PROJECT_NAME,
        "origin": f"cpas-compare {_version()}",
        "creatingUserGUID": machine,
        "creationDateTime": when,
        "modifyingUserGUID": machine,
        "modifiedDateTime": when,
    }), ">"]
    write = out.append
    # the human first: QualCoder makes the first user the coder of what is coded after import
    write(f"{ind[1]}<Users>")
    write(_leaf(2, "User", _attrs({"guid": human, "name": HUMAN_USER_NAME, "id": "humain"})))
    write(_leaf(2, "User", _attrs({"guid": machine, "name": MACHINE_USER_NAME,
                                   "id": MACHINE_USER_GUID_NAME})))
    write(f"{ind[1]}</Users>")

    if codes or case_links:
        write(f"{ind[1]}<CodeBook>{ind[2]}<Codes>")
        for tid, name, color, desc in codes:
            attrib = {"guid": code_guid[tid], "name": name, "isCodable": "true"}
            if color:
                attrib["color"] = color.upper()
            write(f"{ind[3]}<Code{_attrs(attrib)}>")
            write(_leaf(4, "Description", text=desc))
            write(f"{ind[3]}</Code>")
        if case_links:
            write(f"{ind[3]}<Code" + _attrs({"guid": make_guid("code-group", "cas"),
                                              "name": CASE_GROUP_NAME, "isCodable": "false"})
                  + ">")
            write(_leaf(4, "Description", text=(
                "Un code par déclaration, du même GUID que son cas, qui code son texte entier : "
                "c'est ainsi que QualCoder (comme NVivo) relie un cas à son document. Ce ne sont "
                "pas des thèmes.")))
            for d in doc_ids:
                write(f"{ind[4]}<Code" + _attrs({"guid": case_guid[d], "name": names[d],
                                                  "isCodable": "true"}) + ">")
                write(_leaf(5, "Description", text=f"Cas de la déclaration « {d} » (texte "
                                                    "entier)."))
                write(f"{ind[4]}</Code>")
            write(f"{ind[3]}</Code>")
        write(f"{ind[2]}</Codes>{ind[1]}</CodeBook>")

    # ---- variables: the clean string values of each column, in the order of doc_ids
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

    if doc_ids:
        write(f"{ind[1]}<Cases>")
        for d, values in zip(doc_ids, values_xml, strict=True):
            write(f"{ind[2]}<Case" + _attrs({"guid": case_guid[d], "name": names[d]}) + ">")
            write(_leaf(3, "Description", text=f"Déclaration de politique sociale « {d} »."))
            write(values)
            write(f'{ind[3]}<SourceRef targetGUID="{source_guid[d]}" />{ind[2]}</Case>')
        write(f"{ind[1]}</Cases>")

    # ---- units and selections: row of each unit (the last one of a duplicated unit)
    un = _column_lists(units, ("doc_id", "unit_id", "parent_id", "kind", "label", "text",
                               "start", "end"))
    unit_row = {key: i for i, key in enumerate(zip(_strings(un["doc_id"]),
                                                    _strings(un["unit_id"]), strict=True))}

    contexts: dict[tuple[str, str], list[str]] = {}  # (doc_id, unit_id) → its context titles

    def context_of(d: str, uid: str, seen: frozenset = frozenset()) -> list[str]:
        """Texts of the section / axis / group / objective ancestors of unit ``uid`` and the
        unit's own when it is one of those kinds (nearest last); memoised."""
        key = (d, uid)
        got = contexts.get(key)
        if got is None:
            p = unit_row.get(key)
            got = []
            if p is not None:
                parent = _s(un["parent_id"][p])
                if parent and parent not in seen and parent != uid:
                    got = list(context_of(d, parent, seen | {uid}))
                title = " ".join(_s(un["text"][p]).split())
                if title and _s(un["kind"][p]) in CONTEXT_KINDS:
                    got.append(title)
            contexts[key] = got
        return got

    def context(d: str, i: int) -> str:
        """Texts of the unit's section / axis / group / objective ancestors, nearest last, as
        annotations.csv's context column (" | ")."""
        parent = _s(un["parent_id"][i])
        return " | ".join(context_of(d, parent)) if parent else ""

    # one <Coding ...> ... </Coding> per user and theme, waiting for its GUID
    coding_tail = {u: {tid: f'{stamp[u]}>{ind[5]}<CodeRef targetGUID="{g}" />{ind[4]}</Coding>'
                       for tid, g in code_guid.items()} for u in (machine, human)}
    if case_links:  # the case codes, keyed by doc_id (never a theme id's key: other table)
        case_tail = {d: f'{stamp[machine]}>{ind[5]}<CodeRef targetGUID="{g}" />{ind[4]}</Coding>'
                     for d, g in case_guid.items()}
    sources_part: dict[str, str] = {}  # sources → " ; sources : <French labels>" (or "")

    def theme_line(theme: str, score, sources_: str, evidence: str, prefix: str) -> str:
        srcs = sources_part.get(sources_)
        if srcs is None:
            srcs = ", ".join(SOURCE_LABELS.get(x, x) for x in sources_.split(";") if x)
            srcs = sources_part[sources_] = f" ; sources : {srcs}" if srcs else ""
        line = f"{code_name[theme]} : {prefix}score {_fmt_score(score)}{srcs}"
        ev = ", ".join(filter(None, evidence.split(";")))
        return f"{line} ; indices : {ev}" if ev else line

    def selection(guid: str, s: int, e: int, name: str, user: str, lines: list[str],
                  codings: list[tuple[str, str]]) -> None:
        """A PlainTextSelection of ``user`` with its description and ``codings`` (coding GUID,
        the rest of its element: ``coding_tail[user][theme]``)."""
        write(f'{ind[3]}<PlainTextSelection guid="{guid}" name="{xml_attr(name)}" '
              f'startPosition="{s}" endPosition="{e}"{stamp[user]}>')
        write(_leaf(4, "Description", text="\n".join(lines)))
        for cguid, tail in codings:
            write(f'{ind[4]}<Coding guid="{cguid}"{tail}')
        write(f"{ind[3]}</PlainTextSelection>")

    files: dict[str, bytes] = {}
    n_selections = n_machine = 0
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
                  + f"{stamp[machine]}>")
            write(_leaf(3, "Description", text=(
                "Texte normalisé par cpas-compare"
                + (f" à partir de « {origin} »" if origin else "")
                + f" (identifiant : {d}). Les positions des passages codés renvoient à ce texte.")))
            selections = []
            per_doc = themed.get(d, {})
            per_doc_machine = machined.get(d, {})
            for uid in sorted(per_doc.keys() | per_doc_machine.keys()):
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
                kind = _s(un["kind"][i])
                head = f"Unité {uid} ({KIND_LABELS.get(kind, kind) or 'unité'}) de « {d} »"
                ctx = context(d, i)
                name = _selection_name(_s(un["label"][i]), text[s:e])
                rows = sorted(per_doc[uid].values(), key=lambda r: (-r[0], r[1])) \
                    if uid in per_doc else []
                humans = [_is_human(r[3]) for r in rows]
                if rows:
                    lines = [f"{head}."]
                    lines += [theme_line(theme, score, sources_, evidence, "")
                              for _, theme, score, sources_, evidence in rows]
                    if ctx:
                        lines.append(f"Contexte : {ctx}")
                    # the human's selection when any label is the human's (each coding still
                    # names its own user; QualCoder reads the selection's)
                    selection(_guid(f"selection{sep}{d}{sep}{uid}"),  # make_guid("selection", …)
                              s, e, name, human if any(humans) else machine, lines,
                              [(_guid(f"coding{sep}{d}{sep}{uid}{sep}{r[1]}"),  # make_guid(…)
                                coding_tail[human if h else machine][r[1]])
                               for r, h in zip(rows, humans, strict=True)])
                    n_selections += 1
                mrows = per_doc_machine.get(uid)
                if not mrows:
                    continue
                if rows and not any(humans):
                    log.debug("qdpx : %s/%s : étiquettes finales automatiques, machine_themes "
                              "ignoré", d, uid)
                    continue
                mrows = sorted(mrows.values(), key=lambda r: (-r[0], r[1]))
                lines = [f"{head} : étiquette automatique."]
                lines += [theme_line(theme, score, sources_, evidence, "étiquette automatique, ")
                          for _, theme, score, sources_, evidence in mrows]
                mine = {r[1] for r in mrows}
                theirs = {r[1] for r, h in zip(rows, humans, strict=True) if h}
                agreement = ("complet" if mine == theirs
                             else "partiel" if mine & theirs else "aucun")
                lines.append("Annotation humaine : "
                              + (", ".join(code_name[r[1]] for r, h in
                                           zip(rows, humans, strict=True) if h)
                                 or "aucun thème")
                              + f" (accord : {agreement})")
                if ctx:
                    lines.append(f"Contexte : {ctx}")
                selection(make_guid("machine-selection", d, uid), s, e,
                          _selection_name(_s(un["label"][i]), text[s:e], " [automatique]"),
                          machine, lines,
                          [(make_guid("machine-coding", d, uid, r[1]),
                            coding_tail[machine][r[1]]) for r in mrows])
                n_machine += 1
            if case_links:
                selection(make_guid("case-selection", d), 0, len(text),
                          _selection_name("Déclaration entière :", names[d]), machine,
                          [f"Texte entier de « {d} », codé par le code de son cas "
                           f"(« {CASE_GROUP_NAME} ») : lien cas–document pour QualCoder."],
                          [(make_guid("case-coding", d), case_tail[d])])
            write(values)
            write(f"{ind[2]}</TextSource>")
        write(f"{ind[1]}</Sources>")

    write(_leaf(1, "Description", text=(
        f"Projet exporté par cpas-compare : {len(doc_ids)} déclaration(s), {len(codes)} thème(s), "
        f"{n_selections} passage(s) codé(s)"
        + (f", et pour {n_machine} passage(s) annoté(s) l'étiquette automatique à côté de "
           "l'annotation humaine" if n_machine else "")
        + f". Codeurs : « {HUMAN_USER_NAME} » = annotations.csv, "
        f"« {MACHINE_USER_NAME} » = thèmes attribués automatiquement. Les codes sont les thèmes "
        "du codebook ; le score, les sources et les indices de chaque codage figurent dans la "
        "description du passage."
        + (f" Les codes de « {CASE_GROUP_NAME} » relient chaque cas à son document (pour "
           "QualCoder) ; ce ne sont pas des thèmes." if case_links else ""))))
    write(f"{ind[0]}</Project>\n")
    # encoding the parts one by one is faster than encoding their (33 MB) concatenation
    return b"".join([part.encode("utf-8") for part in out]), files


def _version() -> str:
    from pipeline.version import __version__

    return __version__


def qdpx_bytes(documents: pd.DataFrame, texts: dict[str, str], units: pd.DataFrame,
               unit_themes: pd.DataFrame, codebook: list, *,
               created: datetime | None = None,
               machine_themes: pd.DataFrame | None = None,
               case_links: bool = True) -> bytes:
    """The whole ``.qdpx`` archive as bytes (pure): ``project.qde`` then ``sources/*.txt``,
    entries sorted, timestamps ``created`` (fixed), fixed permissions, deflate-compressed.
    Arguments: see ``build_project``."""
    qde, files = build_project(documents, texts, units, unit_themes, codebook, created=created,
                               machine_themes=machine_themes, case_links=case_links)
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
                created: datetime | None = None,
                machine_themes: pd.DataFrame | None = None,
                case_links: bool = True) -> Path:
    """Write the REFI-QDA 1.5 project to ``path`` (atomically) and return ``path``.

    See ``build_project`` for the inputs (``machine_themes``: the machine's labels of the
    units a human labelled, shown beside the human codings).  ``created`` is the date written
    in the project and its ZIP entries: a caller should pass a real date that does not change
    from one export of the same inputs to the next — the runner passes
    ``export_date(<the analysed source files>)``, i.e. $SOURCE_DATE_EPOCH when set, else the
    newest modification time of those files.  Without it: $SOURCE_DATE_EPOCH, else
    1980-01-01T00:00:00Z.  Either way re-exports of the same inputs are byte-identical.
    """
    data = qdpx_bytes(documents, texts, units, unit_themes, codebook, created=created,
                      machine_themes=machine_themes, case_links=case_links)
    return io.write_bytes(Path(path), data)


# --------------------------------------------------------------------------------------------
# reading back
# --------------------------------------------------------------------------------------------

def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def _desc(el: ET.Element) -> str:
    d = el.find(_q("Description"))
    return (d.text or "") if d is not None else ""


def _norm_guid(guid: str | None) -> str:
    """A GUID as we write them: upper case, no braces (other tools write {…} or lower case)."""
    return (guid or "").strip().strip("{}").upper()


_REEXPORT = ("exportez à nouveau le projet depuis le logiciel d'analyse qualitative au format "
             "REFI-QDA (.qdpx ; QualCoder : Projet > Exporter le projet REFI-QDA)")


def _open_archive(path: Path) -> tuple[ET.Element, dict[str, bytes]]:
    """(root element of the project, {lower-case name of each ``sources/`` entry: bytes}) of a
    ``.qdpx``; ValueError in French naming the file and what to do when it cannot be read."""
    path = Path(path)
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError as exc:
        raise ValueError(f"{path} introuvable : donnez le chemin du fichier .qdpx exporté par "
                         "le logiciel d'analyse qualitative") from exc
    except (zipfile.BadZipFile, OSError) as exc:
        raise ValueError(f"{path} n'est pas un projet QDPX (ce n'est pas une archive ZIP "
                         f"lisible) : {_REEXPORT}") from exc
    try:
        with zf:
            names = sorted(zf.namelist())
            qde = next((n for n in names if n.lower() == "project.qde"), None)
            if qde is None:  # QualCoder accepts another name for a single project file
                others = [n for n in names if n.lower().endswith(".qde") and "/" not in n]
                qde = others[0] if len(others) == 1 else None
            if qde is None:
                raise ValueError(f"{path} : pas de project.qde dans l'archive, ce n'est pas un "
                                 f"projet REFI-QDA : {_REEXPORT}")
            raw = zf.read(qde)
            files = {n.lower(): zf.read(n) for n in names
                     if n.lower().startswith("sources/") and not n.endswith("/")}
    except (zipfile.BadZipFile, OSError, RuntimeError, EOFError) as exc:
        raise ValueError(f"{path} : archive endommagée ({exc}) : {_REEXPORT}") from exc
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise ValueError(f"{path} : project.qde n'est pas du XML valide ({exc}) : "
                         f"{_REEXPORT}") from exc
    if root.tag != _q("Project"):
        raise ValueError(f"{path} : project.qde n'est pas un projet REFI-QDA 1.0 (élément "
                         f"racine {root.tag!r}, attendu Project de l'espace {NS}) : "
                         f"{_REEXPORT}")
    return root, files


def read_qdpx(path: Path) -> dict:
    """Read a ``.qdpx`` (ours or another tool's text project) into plain Python data.

    Returns ``{"project": {name, origin, creationDateTime, description},
    "users": [{guid, name, id}], "codes": [{guid, name, color, description, parent}],
    "variables": [{guid, name, type, description}],
    "cases": [{guid, name, values: {variable name: str}, sources: [source guid]}],
    "sources": [{guid, name, path, description, text, values: {variable name: str},
    "selections": [{guid, name, start, end, text, description, user, codes: [code guid],
    codings: [{guid, code, user}]}]}]}``.
    ``text`` is the embedded plain text (None when the file is missing or external), selection
    ``text`` its slice ``text[start:end]``; a selection's ``user`` is its ``creatingUser``, a
    coding's its own or else its selection's (None when neither says).  A selection without
    integer positions is skipped (logged).  Raises ValueError (French, naming the file and
    what to do) when the file is not a ZIP, has no ``project.qde`` or invalid XML.
    """
    root, files = _open_archive(Path(path))

    def load(internal: str) -> str | None:
        if not internal.startswith("internal://"):
            return None
        data = files.get(("sources/" + internal[len("internal://"):]).lower())
        if data is None:
            return None
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            log.warning("qdpx : %s n'est pas en UTF-8, caractères illisibles remplacés", internal)
            return data.decode("utf-8-sig", errors="replace")

    out: dict = {"project": {"name": root.get("name", ""), "origin": root.get("origin", ""),
                             "creationDateTime": root.get("creationDateTime", ""),
                             "description": _desc(root)}}
    out["users"] = [{"guid": u.get("guid"), "name": u.get("name", ""), "id": u.get("id", "")}
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
            if ref is None:
                continue
            var = variables.get(ref.get("targetGUID"))
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
            try:
                s, e = int(sel.get("startPosition")), int(sel.get("endPosition"))
            except (TypeError, ValueError):
                log.warning("qdpx : sélection %s de « %s » sans positions entières, ignorée",
                            sel.get("guid"), src.get("name", ""))
                continue
            user = sel.get("creatingUser")
            codings = []
            for c in sel.findall(_q("Coding")):
                ref = c.find(_q("CodeRef"))
                if ref is not None:
                    codings.append({"guid": c.get("guid"), "code": ref.get("targetGUID"),
                                    "user": c.get("creatingUser") or user})
            sels.append({"guid": sel.get("guid"), "name": sel.get("name", ""),
                         "start": s, "end": e,
                         "text": text[s:e] if text is not None else None,
                         "description": _desc(sel), "user": user,
                         "codes": [c["code"] for c in codings], "codings": codings})
        sources.append({"guid": src.get("guid"), "name": src.get("name", ""),
                        "path": path_attr, "description": _desc(src), "text": text,
                        "values": values(src), "selections": sels})
    out["sources"] = sources
    return out


# --------------------------------------------------------------------------------------------
# import: a reviewed project → annotations.csv rows
# --------------------------------------------------------------------------------------------

#: First line of a unit selection's description (see build_project).
_UNIT_LINE = re.compile(r"Unité (\S+) \(([^)]*)\) de « (.*) »(?: : étiquette automatique)?\.$")
_CODE_ID = re.compile(r"Identifiant cpas-compare : (\S+)\s*$")
_SOURCE_ID = re.compile(r"\(identifiant : (.+?)\)\.")
_KIND_OF_LABEL = {label: kind for kind, label in KIND_LABELS.items()}


def _theme_key(text: str) -> str:
    return " ".join(str(text).casefold().split())


def import_qdpx(path: Path, *, include_machine: bool = False,
                codebook: list | None = None) -> pd.DataFrame:
    """The codings of a reviewed ``.qdpx`` as annotations.csv rows.

    Returns a DataFrame with exactly the columns of annotations.csv (``doc_id, unit_id, kind,
    text, themes, context``, all text), one row per coded passage, in document order:

    - which codings count: those of every user but the machine ("cpas-compare
      (automatique)", or "cpas-compare" in earlier exports; recognised by GUID or by name, as
      QualCoder gives users new GUIDs), i.e. the human annotations exported from
      annotations.csv, a second coder's, a reviewer's.  A coding's user is its
      ``creatingUser``, else its selection's.  When a passage has codings of a non-machine
      user, those alone give its themes (a machine coding the reviewer left beside them does
      not count: to confirm a machine label, code it yourself).  A passage coded by the machine
      only is not imported, unless ``include_machine`` (then its machine themes are);
    - ``doc_id``: the source's variable "identifiant" (or the one of its case), else the
      identifier in its description, else its name;
    - ``unit_id``, ``kind``, ``context``: from the description our export gives each
      selection (QualCoder keeps it as the coding's memo), or from another selection over the
      same span; a passage selected in the QDA tool has ``unit_id`` "" (annotations.csv then
      matches it to a unit by its text), ``kind`` and ``context`` "";
    - ``text``: the source text ``[start:end]``, whitespace collapsed;
    - ``themes``: the theme ids, ";"-joined in codebook order: a code is mapped back by its
      GUID, else by the "Identifiant cpas-compare : <id>" of its description, else by its name
      (a theme's French label or id in ``codebook``, default the shipped codebook).  Codes that
      are no theme (the case codes, a code created in the QDA tool) are left out and named in
      ``.attrs["unknown_codes"]``.

    Passages of one document with the same text (after annotations.csv's normalisation) are
    one row.  ``.attrs``: ``warnings`` (French lines), ``unknown_codes``, ``n_machine_only``
    (passages left out because only the machine coded them).  Raises ValueError (French,
    naming the file and what to do) when the file is not a ZIP, has no ``project.qde`` or
    invalid XML.
    """
    from pipeline.classify.annotations import ANNOTATION_COLUMNS, normalise_text

    data = read_qdpx(Path(path))
    warnings: list[str] = []
    if codebook is None:
        try:
            from pipeline.classify.codebook import load_codebook

            codebook = load_codebook()
        except (ValueError, OSError) as exc:
            warnings.append(f"codebook illisible ({exc}) : codes reconnus par leur GUID ou leur "
                            "description seulement")
            codebook = []
    theme_ids = []
    for theme in codebook:
        tid = _s(_attr(theme, "id", ""))
        if tid and tid not in theme_ids:
            theme_ids.append(tid)
    order = {tid: k for k, tid in enumerate(theme_ids)}
    by_guid = {make_guid("code", tid): tid for tid in theme_ids}
    by_name = {_theme_key(tid): tid for tid in theme_ids}
    for theme in codebook:
        label, tid = _s(_attr(theme, "label", "")), _s(_attr(theme, "id", ""))
        if label and tid:
            by_name.setdefault(_theme_key(label), tid)

    # ---- codes → theme ids (the case codes and their group are no theme)
    case_guids = {_norm_guid(c["guid"]) for c in data["cases"]}
    groups = {make_guid("code-group", "cas")} | {_norm_guid(c["guid"]) for c in data["codes"]
                                                 if c["name"] == CASE_GROUP_NAME}
    theme_of: dict[str, str] = {}
    unknown: dict[str, str] = {}  # code GUID → name
    for c in data["codes"]:
        g, parent = _norm_guid(c["guid"]), _norm_guid(c["parent"])
        if g in case_guids or g in groups or parent in groups:
            continue
        tid = by_guid.get(g)
        if tid is None:
            m = _CODE_ID.search(c["description"] or "")
            tid = m.group(1) if m else by_name.get(_theme_key(c["name"]))
        if tid:
            theme_of[g] = tid
        else:
            unknown[g] = c["name"]

    # ---- users: the machine's GUIDs
    machine = {make_guid("user", MACHINE_USER_GUID_NAME)}
    machine |= {_norm_guid(u["guid"]) for u in data["users"]
                if (u["name"] or "").strip() in MACHINE_USER_NAMES}

    # ---- doc_id of each source
    id_names = (VARIABLE_LABELS["doc_id"], "doc_id")
    case_values = {}
    for case in data["cases"]:
        for g in case["sources"]:
            case_values.setdefault(_norm_guid(g), case["values"])

    def doc_id_of(src: dict) -> str:
        for values in (src["values"], case_values.get(_norm_guid(src["guid"]), {})):
            for name in id_names:
                if _s(values.get(name)):
                    return _s(values[name])
        m = _SOURCE_ID.search(src["description"] or "")
        if m:
            return m.group(1).strip()
        for sel in src["selections"]:
            m = _UNIT_LINE.match((sel["description"] or "").split("\n", 1)[0])
            if m:
                return m.group(3)
        warnings.append(f"source « {src['name']} » sans identifiant cpas-compare : doc_id = son "
                        "nom (corrigez la colonne doc_id)")
        return _s(src["name"])

    rows: list[dict] = []
    n_machine_only = 0
    unknown_used: set[str] = set()
    for k, src in enumerate(data["sources"]):
        text = src["text"]
        if text is None:
            warnings.append(f"source « {src['name']} » : texte absent de l'archive, ses passages "
                            "ne sont pas importés")
            continue
        doc = doc_id_of(src)
        # what the descriptions say of each span: (unit_id, kind, context)
        described: dict[tuple[int, int], tuple[str, str, str]] = {}
        for sel in src["selections"]:
            lines = (sel["description"] or "").split("\n")
            m = _UNIT_LINE.match(lines[0])
            if m:
                ctx = next((x[len("Contexte : "):] for x in lines[1:]
                            if x.startswith("Contexte : ")), "")
                described.setdefault((sel["start"], sel["end"]),
                                     (m.group(1), _KIND_OF_LABEL.get(m.group(2), ""), ctx))
        # passages: a unit (by its id) or a span never described
        passages: dict[tuple, dict] = {}
        for sel in src["selections"]:
            s, e = sel["start"], sel["end"]
            if not 0 <= s < e <= len(text):
                warnings.append(f"« {src['name']} » : passage {s}-{e} hors du texte, ignoré")
                continue
            human, auto = [], []
            for coding in sel["codings"]:
                g = _norm_guid(coding["code"])
                tid = theme_of.get(g)
                if tid is None:
                    if g in unknown:
                        unknown_used.add(unknown[g])
                    continue
                (auto if _norm_guid(coding["user"]) in machine else human).append(tid)
            if not human and not auto:
                continue
            unit = described.get((s, e))
            key = ("unit", unit[0]) if unit else ("span", s, e)
            p = passages.setdefault(key, {"start": s, "end": e, "unit": unit,
                                          "human": [], "auto": []})
            p["human"] += human
            p["auto"] += auto
        for p in passages.values():
            themes = p["human"] or (p["auto"] if include_machine else [])
            if not themes:
                n_machine_only += 1
                continue
            uid, kind, ctx = p["unit"] or ("", "", "")
            themes = sorted(set(themes), key=lambda t: (order.get(t, len(order)), t))
            rows.append({"doc_id": doc, "unit_id": uid, "kind": kind,
                         "text": " ".join(text[p["start"]:p["end"]].split()),
                         "themes": ";".join(themes), "context": ctx,
                         "_order": (k, p["start"], p["end"], uid)})

    # one row per document and text: a second coder's new selection over a unit's text joins it
    rows.sort(key=lambda r: r["_order"])
    merged: dict[tuple[str, str], dict] = {}
    for r in rows:
        key = (r["doc_id"], normalise_text(r["text"]))
        first = merged.get(key)
        if first is None:
            merged[key] = r
            continue
        themes = set(first["themes"].split(";")) | set(r["themes"].split(";"))
        first["themes"] = ";".join(sorted(themes, key=lambda t: (order.get(t, len(order)), t)))
        for col in ("unit_id", "kind", "context"):
            first[col] = first[col] or r[col]
    df = pd.DataFrame([{c: r[c] for c in ANNOTATION_COLUMNS} for r in merged.values()],
                      columns=ANNOTATION_COLUMNS, dtype=str)
    if unknown_used:
        warnings.append("code(s) qui ne sont pas des thèmes du codebook, ignorés : "
                        + ", ".join(f"« {n} »" for n in sorted(unknown_used)))
    for w in warnings:
        log.warning("qdpx : %s", w)
    df.attrs["warnings"] = warnings
    df.attrs["unknown_codes"] = sorted(unknown_used)
    df.attrs["n_machine_only"] = n_machine_only
    return df


def write_annotations(df: pd.DataFrame, path: Path) -> Path:
    """Write annotation rows (e.g. ``import_qdpx``'s) as an annotations.csv: UTF-8, comma,
    the header ``doc_id,unit_id,kind,text,themes,context``, atomically (``pipeline.io``).
    Cells are written as they are (no spreadsheet "'" prefix: texts must still match the
    units'); missing columns are empty.  Returns ``path``."""
    from pipeline.classify.annotations import ANNOTATION_COLUMNS

    out = pd.DataFrame({c: [io.cell_text(v) for v in df[c]] if c in df.columns
                        else [""] * len(df) for c in ANNOTATION_COLUMNS},
                       columns=ANNOTATION_COLUMNS)
    return io.atomic_write(Path(path), lambda p: out.to_csv(p, index=False, lineterminator="\n",
                                                            encoding="utf-8"))
