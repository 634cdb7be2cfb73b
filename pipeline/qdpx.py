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
    "navigation": "navigation", "section": "section", "axis": "axe", "group": "groupe",
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
    object ``kind`` named by ``parts``."""
    return str(uuid.uuid5(GUID_NAMESPACE, "\x1f".join((kind, *map(str, parts))))).upper()


def _s(value) -> str:
    """Cell value → clean string ("" for None/NaN; 3.0 → "3")."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer():
            return str(int(value))
    return io.cell_text(value).strip()


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
    content can be found at the end of the span; otherwise the span without its surrounding
    whitespace.  Code-point offsets, end exclusive.
    """
    seg = text[start:end]
    stripped = seg.rstrip()
    fallback_s = start + (len(seg) - len(seg.lstrip()))
    fallback = (fallback_s, start + len(stripped)) if stripped.strip() else (start, end)
    tokens = unit_text.split()
    if not tokens:
        return fallback
    # the label may stand before ("O.O.1.") or after ("(Objectif stratégique n°1)") the content
    found = seg.find(" ".join(tokens))  # the usual case: the content as written, one line
    if found >= 0:
        return start + found, start + found + len(" ".join(tokens))
    match = re.search(r"\s+".join(map(re.escape, tokens)), seg)
    if match:
        return start + match.start(), start + match.end()
    return fallback
    for e in dict.fromkeys((len(stripped), len(stripped.rstrip(":").rstrip()))):
        j = e
        ok = True
        for tok in reversed(tokens):
            while j > 0 and seg[j - 1].isspace():
                j -= 1
            if j >= len(tok) and seg[j - len(tok):j] == tok:
                j -= len(tok)
            else:
                ok = False
                break
        if ok and j < e:
            return start + j, start + e
    return fallback


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

def _sub(parent: ET.Element, tag: str, attrib: dict[str, str] | None = None,
         text: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, tag, {k: _xml(v) for k, v in (attrib or {}).items()})
    if text is not None:
        el.text = _xml(text)
    return el


def _selection_name(label: str, text: str) -> str:
    name = " ".join(f"{label} {text}".split())
    if len(name) > SELECTION_NAME_CHARS:
        name = name[:SELECTION_NAME_CHARS - 1].rstrip() + "…"
    return name


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
    stamp = {"creatingUser": user, "creationDateTime": when}

    # ---- documents kept
    docs = documents.copy() if documents is not None else pd.DataFrame()
    if "doc_id" not in docs.columns:
        docs["doc_id"] = pd.Series(dtype=str)
    docs["doc_id"] = docs["doc_id"].map(_s)
    if "status" in docs.columns:
        docs = docs[docs["status"].map(_s) != "error"]
    docs = docs[docs["doc_id"].isin([k for k, v in texts.items() if v])]
    docs = docs.drop_duplicates("doc_id").sort_values("doc_id", kind="stable")
    doc_ids = list(docs["doc_id"])

    # ---- codes: codebook order, then unknown themes met in unit_themes (sorted)
    ut = unit_themes.copy() if unit_themes is not None else pd.DataFrame()
    for col in ("doc_id", "unit_id", "theme", "score", "sources", "evidence"):
        if col not in ut.columns:
            ut[col] = pd.Series(dtype=object)
    for col in ("doc_id", "unit_id", "theme", "sources", "evidence"):
        ut[col] = ut[col].map(_s)
    ut = ut[ut["doc_id"].isin(doc_ids) & (ut["theme"] != "")]
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
    for tid in sorted(set(ut["theme"]) - known):
        log.warning("qdpx : thème %r absent du codebook, exporté comme code sans définition", tid)
        codes.append((tid, tid, None, f"Thème absent du codebook (identifiant : {tid})"))
    code_guid = {tid: make_guid("code", tid) for tid, *_ in codes}
    code_name = {tid: name for tid, name, *_ in codes}

    root = ET.Element("Project", {
        "xmlns": NS,
        "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
        "xsi:schemaLocation": SCHEMA_LOCATION,
        "name": PROJECT_NAME,
        "origin": f"cpas-compare {_version()}",
        "creatingUserGUID": user,
        "creationDateTime": when,
        "modifyingUserGUID": user,
        "modifiedDateTime": when,
    })
    users = _sub(root, "Users")
    _sub(users, "User", {"guid": user, "name": USER_NAME, "id": USER_NAME})

    if codes:
        book = _sub(_sub(root, "CodeBook"), "Codes")
        for tid, name, color, desc in codes:
            attrib = {"guid": code_guid[tid], "name": name, "isCodable": "true"}
            if color:
                attrib["color"] = color.upper()
            _sub(_sub(book, "Code", attrib), "Description", text=desc)

    # ---- variables
    var_cols = [c for c in docs.columns if c not in EXCLUDED_COLUMNS]
    var_cols = [c for c in var_cols if any(_s(v) for v in docs[c])]
    var_types = {c: _variable_type(_s(v) for v in docs[c]) for c in var_cols}
    var_guid = {c: make_guid("variable", c) for c in var_cols}
    if var_cols:
        variables = _sub(root, "Variables")
        for c in var_cols:
            var = _sub(variables, "Variable", {"guid": var_guid[c],
                                               "name": VARIABLE_LABELS.get(c, c),
                                               "typeOfVariable": var_types[c]})
            _sub(var, "Description", text=f"Colonne « {c} » de documents.csv (cpas-compare).")

    def add_values(parent: ET.Element, row) -> None:
        for c in var_cols:
            value = _s(row[c])
            if not value:
                continue
            vv = _sub(parent, "VariableValue")
            _sub(vv, "VariableRef", {"targetGUID": var_guid[c]})
            _sub(vv, _VALUE_ELEMENT[var_types[c]], text=value)

    source_guid = {d: make_guid("source", d) for d in doc_ids}
    names = {}
    for _, row in docs.iterrows():
        base = " ".join(x for x in (_s(row.get("commune")), _s(row.get("legislature"))) if x)
        names[row["doc_id"]] = base or row["doc_id"]
    dup = {n for n, k in Counter(names.values()).items() if k > 1}
    names = {d: (f"{n} [{d}]" if n in dup else n) for d, n in names.items()}

    if doc_ids:
        cases = _sub(root, "Cases")
        for _, row in docs.iterrows():
            d = row["doc_id"]
            case = _sub(cases, "Case", {"guid": make_guid("case", d), "name": names[d]})
            _sub(case, "Description", text=f"Déclaration de politique sociale « {d} ».")
            add_values(case, row)
            _sub(case, "SourceRef", {"targetGUID": source_guid[d]})

    # ---- units and selections
    un = units.copy() if units is not None else pd.DataFrame()
    for col in ("doc_id", "unit_id", "kind", "label", "text", "start", "end"):
        if col not in un.columns:
            un[col] = pd.Series(dtype=object)
    un["doc_id"] = un["doc_id"].map(_s)
    un["unit_id"] = un["unit_id"].map(_s)
    unit_rows = {(r.doc_id, r.unit_id): r for r in un.itertuples(index=False)}

    # doc_id → unit_id → theme → (score, theme, raw score, sources, evidence); a theme repeated
    # for a unit keeps its highest score
    themed: dict[str, dict[str, dict[str, tuple]]] = {}
    for d, uid, theme, score, sources_, evidence in zip(
            ut["doc_id"], ut["unit_id"], ut["theme"], ut["score"], ut["sources"], ut["evidence"],
            strict=True):
        try:
            value = float(score)
        except (TypeError, ValueError):
            value = 0.0
        if math.isnan(value):
            value = 0.0
        per_unit = themed.setdefault(d, {}).setdefault(uid, {})
        if theme not in per_unit or value > per_unit[theme][0]:
            per_unit[theme] = (value, theme, score, sources_, evidence)

    files: dict[str, bytes] = {}
    n_selections = 0
    if doc_ids:
        sources = _sub(root, "Sources")
        for _, row in docs.iterrows():
            d = row["doc_id"]
            text = texts[d]
            sg = source_guid[d]
            data = text.encode("utf-8")
            if len(data) > MAX_INTERNAL_FILE:
                raise ValueError(f"qdpx : le texte de « {d} » dépasse 2 Go, limite REFI-QDA")
            files[f"sources/{sg}.txt"] = data
            src = _sub(sources, "TextSource", {"guid": sg, "name": names[d],
                                               "plainTextPath": f"internal://{sg}.txt", **stamp})
            origin = _s(row.get("source_file"))
            _sub(src, "Description", text=(
                "Texte normalisé par cpas-compare"
                + (f" à partir de « {origin} »" if origin else "")
                + f" (identifiant : {d}). Les positions des passages codés renvoient à ce texte."))
            selections = []
            for uid in sorted(themed.get(d, {})):
                unit = unit_rows.get((d, uid))
                if unit is None:
                    log.warning("qdpx : unité %s/%s absente de units, ignorée", d, uid)
                    continue
                try:
                    start, end = int(unit.start), int(unit.end)
                except (TypeError, ValueError):
                    start, end = -1, -1
                if not 0 <= start < end <= len(text):
                    log.warning("qdpx : positions %s-%s hors du texte pour %s/%s, unité ignorée",
                                unit.start, unit.end, d, uid)
                    continue
                s, e = content_span(text, start, end, _s(unit.text))
                selections.append((s, e, uid, unit))
            selections.sort(key=lambda x: (x[0], x[1], x[2]))
            for s, e, uid, unit in selections:
                rows = sorted(themed[d][uid].values(), key=lambda r: (-r[0], r[1]))
                sel = _sub(src, "PlainTextSelection", {
                    "guid": make_guid("selection", d, uid),
                    "name": _selection_name(_s(unit.label), text[s:e]),
                    "startPosition": str(s), "endPosition": str(e), **stamp})
                kind = _s(unit.kind)
                lines = [f"Unité {uid} ({KIND_LABELS.get(kind, kind) or 'unité'}) de « {d} »."]
                for _, theme, score, sources_, evidence in rows:
                    line = f"{code_name[theme]} : score {_fmt_score(score)}"
                    srcs = ", ".join(SOURCE_LABELS.get(x, x) for x in sources_.split(";") if x)
                    if srcs:
                        line += f" ; sources : {srcs}"
                    ev = ", ".join(x for x in evidence.split(";") if x)
                    if ev:
                        line += f" ; indices : {ev}"
                    lines.append(line)
                _sub(sel, "Description", text="\n".join(lines))
                for _, theme, *_rest in rows:
                    coding = _sub(sel, "Coding", {"guid": make_guid("coding", d, uid, theme),
                                                  **stamp})
                    _sub(coding, "CodeRef", {"targetGUID": code_guid[theme]})
                n_selections += 1
            add_values(src, row)

    _sub(root, "Description", text=(
        f"Projet exporté par cpas-compare : {len(doc_ids)} déclaration(s), {len(codes)} thème(s), "
        f"{n_selections} passage(s) codé(s). Les codes sont les thèmes du codebook ; le score, "
        "les sources et les indices de chaque codage figurent dans la description du passage."))
    ET.indent(root, space="  ")
    qde = ('<?xml version="1.0" encoding="utf-8"?>\n'
           + ET.tostring(root, encoding="unicode") + "\n").encode("utf-8")
    return qde, files


def _version() -> str:
    try:
        from pipeline import __version__
    except ImportError:  # pragma: no cover
        return "?"
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
