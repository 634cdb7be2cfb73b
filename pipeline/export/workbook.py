"""All comparison tables as the sheets of one Excel workbook, for French-speaking Excel and
LibreOffice users (written with openpyxl).

Sheets: "À lire" (what every sheet holds), "Documents" (every column of the documents
table), one sheet per comparison table, "Unités × thèmes" (one row per unit and theme, with
the document's metadata: ready for pivot tables) and "Dictionnaire des données" (every column
of every sheet: French header, snake_case name of the CSV / Parquet files, description).
Headers and descriptions come from ``pipeline/data/columns.toml``; the DataFrames keep their
snake_case names.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import tomllib

from pipeline import io
from pipeline.escape import INVALID_XML
from pipeline.models import TABLES

#: Table key → (sheet name, French description for the "À lire" sheet), from
#: ``pipeline/data/tables.toml`` (the one list of tables).
SHEETS: dict[str, tuple[str, str]] = {t["key"]: (t["sheet"], t["description"]) for t in TABLES}
README_SHEET = "À lire"
DICTIONARY_SHEET = "Dictionnaire des données"
DICTIONARY_DESCRIPTION = ("Chaque colonne de chaque feuille : son en-tête, son nom dans les "
                          "fichiers CSV / Parquet et ce qu'elle contient.")
COLUMNS_TOML = Path(__file__).resolve().parent.parent / "data" / "columns.toml"
#: Excel number format of each ``format`` of columns.toml ("0.0 %" shows "12,5 %" in French).
NUMBER_FORMATS = {"percent": "0.0 %", "score": "0.00", "decimal": "0.0", "date": "dd/mm/yyyy"}
#: Columns of ``documents`` left out of the "Unités × thèmes" sheet (about the file, not the
#: declaration).
FILE_COLUMNS = ("doc_id", "source_file", "format", "n_pages", "n_words", "sha256", "status",
                "error")
#: Columns of the "Unités × thèmes" sheet before the document's metadata.
UNITS_BY_THEME_COLUMNS = ["doc_id", "commune_label", "unit_id", "kind", "axis", "theme",
                          "theme_label", "score", "sources", "text"]
_AXIS_MAX = 100  # characters of the "axis" cell (number and title of the axis)
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_FIXED_DATE = (2000, 1, 1, 0, 0, 0)  # every zip entry; the document properties likewise
_FIXED_DATETIME = dt.datetime(2000, 1, 1)
# what XML 1.0 cannot hold (control characters, U+FFFE/U+FFFF, lone surrogates)
_MAX_CELL = 32_767  # Excel's limit on the characters of one cell
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_WIDTH_SAMPLE = 500  # rows read to fit the column widths
_LINE_HEIGHT = 15.0  # points, one line of Calibri 11
_HEADER_WIDTH = 20  # characters: the widest column a header alone may ask for


# --------------------------------------------------------------------------- columns.toml


@dataclass(frozen=True)
class Column:
    """How the workbook shows one column: French header, description, number format key."""

    name: str
    header: str
    description: str = ""
    format: str = ""


@cache
def load_columns(path: Path = COLUMNS_TOML) -> tuple[dict[str, dict], dict[str, dict[str, dict]]]:
    """``columns.toml`` → (column name → entry, table → column name → entry); an entry has
    ``header``, ``description`` and optionally ``format`` (a key of NUMBER_FORMATS). Raises
    ValueError naming the file for a malformed entry."""
    with open(path, "rb") as f:
        data = tomllib.load(f)
    columns, tables = data.get("columns", {}), data.get("tables", {})

    def check(where: str, entry, complete: bool) -> None:
        if not isinstance(entry, dict):
            raise ValueError(f"{path} : [{where}] doit être une table")
        unknown = set(entry) - {"header", "description", "format"}
        missing = {"header", "description"} - set(entry) if complete else set()
        if unknown or missing:
            raise ValueError(f"{path} : [{where}] clé(s) {sorted(unknown | missing)} "
                             "(attendu : header, description, format)")
        if entry.get("format", "") not in ("", *NUMBER_FORMATS):
            raise ValueError(f"{path} : [{where}] format {entry['format']!r} inconnu "
                             f"(attendu : {', '.join(NUMBER_FORMATS)})")

    for name, entry in columns.items():
        check(f"columns.{name}", entry, complete=True)
    for table, entries in tables.items():
        for name, entry in entries.items():
            check(f"tables.{table}.{name}", entry, complete=False)
    return columns, tables


def column_info(key: str, name: str) -> Column:
    """How table ``key`` shows its column ``name``: the entry of ``[tables.<key>]`` (``by``
    for every ``by_<col>`` table) over that of ``[columns]``, else ``[tables.<key>."*"]``;
    a column found nowhere keeps its name as header, with no description."""
    columns, tables = load_columns()
    table = tables.get("by" if key.startswith("by_") else key, {})
    base = columns.get(name)
    entry = {**(base or {}), **table.get(name, {})}
    if base is None and name not in table:
        entry = dict(table.get("*", {}))
    by = key[3:] if key.startswith("by_") else ""
    fields = {"column": name, "by": by,
              "by_header": columns.get(by, {}).get("header", by) if by else ""}
    text = {k: str(entry[k]).format(**fields) if "{" in str(entry.get(k, "")) else entry.get(k, "")
            for k in ("header", "description")}
    return Column(name, text["header"] or name, text["description"], entry.get("format", ""))


def sheet_name(key: str) -> str:
    """French sheet name of table ``key`` (``by_<col>`` → "Par <French header of col>"),
    ≤ 31 characters, without the characters Excel refuses."""
    if key in SHEETS:
        name = SHEETS[key][0]
    elif key.startswith("by_"):
        header = column_info("documents", key[3:]).header
        name = f"Par {header[:1].lower()}{header[1:]}"
    elif key.startswith("trace_by_"):
        header = column_info("documents", key[9:]).header
        name = f"Suivi par {header[:1].lower()}{header[1:]}"
    else:
        name = key
    return _BAD_SHEET_CHARS.sub("-", name)[:31]


def _description(key: str) -> str:
    if key in SHEETS:
        return SHEETS[key][1]
    if key.startswith("by_"):
        return (f"Parts des thèmes comparées entre les groupes de la colonne « {key[3:]} » des "
                "documents : nombre de déclarations, part moyenne des unités, part des "
                "déclarations où le thème est présent.")
    if key.startswith("trace_by_"):
        return (f"Suivi des engagements additionné par groupe de la colonne « {key[9:]} » des "
                "documents : CPAS, promesses, promesses reprises dans le PST (part), actions "
                "sans ancrage dans la déclaration (part), par thème (vide = tous).")
    return ""


# --------------------------------------------------------------------------- tables


def workbook_tables(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The tables to put in the workbook, in sheet order: the known tables (plus the wide
    theme matrix derived from theme_matrix), then ``by_*`` and any other key, sorted."""
    from pipeline.compare.tables import theme_wide

    tables = dict(tables)
    if "theme_matrix" in tables and "theme_wide" not in tables:
        tables["theme_wide"] = theme_wide(tables["theme_matrix"])
    keys = [k for k in SHEETS if k in tables] + sorted(k for k in tables if k not in SHEETS)
    return {k: tables[k] for k in keys}


def _axes(units: pd.DataFrame) -> list[str]:
    """For each row of ``units``: number and title of the axis above it (itself for an axis),
    shortened to _AXIS_MAX characters; "" outside any axis."""
    from pipeline.compare.common import texts

    def column(name: str) -> list[str]:
        return texts(units[name]) if name in units.columns else [""] * len(units)

    docs, uids, parents = column("doc_id"), column("unit_id"), column("parent_id")
    kinds, label, text = column("kind"), column("label"), column("text")
    pos = {(d, u): i for i, (d, u) in enumerate(zip(docs, uids, strict=True))}
    memo: dict[int, str] = {}

    def axis_of(i: int) -> str:
        seen = []
        while i not in memo:
            if kinds[i] == "axis":
                full = " ".join(f"{label[i]} {text[i]}".split())
                memo[i] = full if len(full) <= _AXIS_MAX else full[:_AXIS_MAX - 1] + "…"
                break
            seen.append(i)
            parent = pos.get((docs[i], parents[i])) if parents[i] else None
            if parent is None or parent in seen:
                memo[i] = ""
                break
            i = parent
        for s in seen:
            memo[s] = memo[i]
        return memo[i]

    return [axis_of(i) for i in range(len(units))]


def units_by_theme(units: pd.DataFrame, unit_themes: pd.DataFrame,
                   documents: pd.DataFrame | None = None,
                   theme_labels: dict[str, str] | None = None) -> pd.DataFrame:
    """The long table of the "Unités × thèmes" sheet: one row per row of ``unit_themes`` (in
    its order) with ``UNITS_BY_THEME_COLUMNS`` — the unit's kind, axis (``_axes``) and text
    from ``units``, ``theme_label`` from ``theme_labels`` (else the theme id),
    ``commune_label`` of the documents read — then every metadata column of ``documents``
    (all but FILE_COLUMNS)."""
    from pipeline.compare.common import commune_label, ok_documents

    ut = unit_themes.reset_index(drop=True)
    keys = ["doc_id", "unit_id"]
    u = units[[c for c in units.columns if c in keys + ["kind", "text"]]].copy()
    u["axis"] = _axes(units) if len(units) else pd.Series(dtype=str)
    u = u.drop_duplicates(keys)
    out = ut[[c for c in ("doc_id", "unit_id", "theme", "score", "sources") if c in ut.columns]]
    out = out.merge(u, on=keys, how="left", sort=False, validate="many_to_one")
    labels: dict[str, str] = {}
    meta: list[str] = []
    if documents is not None and len(documents):
        labels = commune_label(ok_documents(documents)).to_dict()
        meta = [c for c in documents.columns
                if c not in FILE_COLUMNS and c not in UNITS_BY_THEME_COLUMNS]
        docs = documents.drop_duplicates("doc_id")[["doc_id", *meta]]
        out = out.merge(docs, on="doc_id", how="left", sort=False, validate="many_to_one")
    out["commune_label"] = out["doc_id"].map(labels).fillna(out["doc_id"])
    out["theme_label"] = out["theme"].map(theme_labels or {}).fillna(out["theme"])
    return out.reindex(columns=[*UNITS_BY_THEME_COLUMNS, *meta])


def _dictionary(sheets: list[tuple[str, str, pd.DataFrame, list[Column]]]) -> pd.DataFrame:
    rows = [(name, c.header, c.name, c.description)
            for name, _, _, cols in sheets for c in cols]
    return pd.DataFrame(rows, columns=["Feuille", "En-tête", "Colonne (CSV / Parquet)",
                                       "Description"])


def _columns(key: str, df: pd.DataFrame) -> list[Column]:
    """``column_info`` of each column of ``df``, headers made unique within the sheet."""
    out, seen = [], set()
    for name in df.columns:
        c = column_info(key, str(name))
        header = c.header
        if header in seen:
            header = f"{header} ({name})"
        seen.add(header)
        out.append(Column(c.name, header, c.description, c.format))
    return out


# --------------------------------------------------------------------------- cells


def _text(v: str):
    """A text cell: without the characters XML cannot hold, cut at Excel's limit; None when
    empty (no cell is written)."""
    if INVALID_XML.search(v):
        v = INVALID_XML.sub("", v)
    return v[:_MAX_CELL] or None


def _value(v):
    """A table value as openpyxl writes it: None (empty cell) for None / NaN / NA / "",
    "oui" / "non" for booleans, Python int / float, "∞" for an infinite float, text
    otherwise."""
    if v is None:
        return None
    if isinstance(v, str):
        return _text(v)
    if isinstance(v, (bool, np.bool_)):
        return "oui" if v else "non"
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if math.isnan(v):
            return None
        return ("∞" if v > 0 else "-∞") if math.isinf(v) else v
    if isinstance(v, pd.Timestamp):
        return None if pd.isna(v) else v.to_pydatetime().replace(tzinfo=None)
    if isinstance(v, (dt.date, dt.datetime)):
        return v.replace(tzinfo=None) if isinstance(v, dt.datetime) else v
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):  # lists, arrays: not a missing scalar
        pass
    return _text(str(v))


def _values(column: pd.Series) -> list:
    """``_value`` of every cell of ``column`` (each distinct value converted once)."""
    dtype = column.dtype
    if pd.api.types.is_float_dtype(dtype):
        values = column.to_numpy(dtype=float, na_value=np.nan)
        if np.isfinite(values).all():
            return values.tolist()
        return [_value(v) for v in values.tolist()]
    try:
        codes, distinct = pd.factorize(column, use_na_sentinel=True)
    except TypeError:  # unhashable cells (lists)
        return [_value(v) for v in column.tolist()]
    table = np.empty(len(distinct) + 1, dtype=object)
    table[:-1] = [_value(v) for v in distinct.tolist()]
    table[-1] = None  # missing values: code -1
    return table[codes].tolist()


class _CellMaker:
    """Cells of one write-only sheet: a value that needs a style (a number with a number
    format, a wrapped text) or must not be read as a formula or an error code
    ("=SOMME(A1)", "#N/A": forced to text) becomes a WriteOnlyCell, made once per distinct
    value; other values are given to openpyxl as they are."""

    def __init__(self, ws):
        from openpyxl.styles import Alignment

        self.ws = ws
        self.wrap = Alignment(wrap_text=True, vertical="top")

    def cells(self, values: list, number_format: str = "", wrap: bool = False) -> list:
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.cell.cell import ERROR_CODES

        made: dict = {}
        out = []
        is_date = number_format == NUMBER_FORMATS["date"]
        for v in values:
            if v is None:
                out.append(None)
                continue
            key = (v.__class__, v)
            cell = made.get(key)
            if cell is not None:
                out.append(cell)
                continue
            text = isinstance(v, str)
            if is_date and text and _ISO_DATE.fullmatch(v):
                try:
                    v = dt.date.fromisoformat(v)
                    text = False
                except ValueError:
                    pass
            formula = text and ((len(v) > 1 and v.startswith("=")) or v in ERROR_CODES)
            styled = wrap or (number_format and not text)
            if not (styled or formula):
                made[key] = v
                out.append(v)
                continue
            cell = WriteOnlyCell(self.ws, v)
            if formula:
                cell.data_type = "s"
            if number_format and not text:
                cell.number_format = number_format
            if wrap:
                cell.alignment = self.wrap
            made[key] = cell
            out.append(cell)
        return out


def _width(header: str, values: list) -> float:
    """Column width in characters, 8 to 60: the first values, and the header up to
    _HEADER_WIDTH (a longer header wraps: a column of percentages under a long theme name
    stays narrow)."""
    longest = min(len(header), _HEADER_WIDTH - 2)
    for v in values[:_WIDTH_SAMPLE]:
        if v is not None:
            text = v if isinstance(v, str) else str(getattr(v, "value", v))
            longest = max(longest, len(text))
    return float(min(max(longest + 2, 8), 60))


def _lines(cell, width: float) -> int:
    """Lines a wrapped text cell takes in a column ``width`` characters wide (an estimate
    that errs on the high side: the characters of a proportional font are narrower)."""
    text = getattr(cell, "value", cell)
    if not isinstance(text, str):
        return 1
    per_line = max(int(width) - 2, 1)
    return sum(max(math.ceil(len(part) / per_line), 1) for part in text.split("\n"))


def _write_sheet(wb, name: str, df: pd.DataFrame, columns: list[Column],
                 wrap: tuple[str, ...] = ()) -> None:
    """One write-only sheet: bold frozen header row with autofilter, fitted column widths,
    numbers in the format of their column, landscape A4 printing fitted to the page width
    with the header row on every page."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.properties import PageSetupProperties
    from openpyxl.worksheet.worksheet import Worksheet

    ws = wb.create_sheet(name)
    maker = _CellMaker(ws)
    cols = [maker.cells(_values(df.iloc[:, i]), NUMBER_FORMATS.get(c.format, ""),
                        wrap=c.name in wrap)
            for i, c in enumerate(columns)]
    widths = [_width(c.header, values) for c, values in zip(columns, cols, strict=True)]
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
    # wrapped text: rows as high as their lines (LibreOffice keeps the default height)
    lines = max([_lines(c.header, w) for c, w in zip(columns, widths, strict=True)], default=1)
    if lines > 1:
        ws.row_dimensions[1].height = _LINE_HEIGHT * lines
    wrapped = [(values, widths[i]) for i, (c, values) in enumerate(zip(columns, cols, strict=True))
               if c.name in wrap]
    for k in range(len(df) if wrapped else 0):
        lines = max([_lines(values[k], w) for values, w in wrapped], default=1)
        if lines > 1:
            ws.row_dimensions[k + 2].height = _LINE_HEIGHT * lines
    ws.freeze_panes = "A2"
    ws.print_title_rows = "1:1"
    if columns:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(df) + 1}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_options.gridLines = True
    ws.oddFooter.center.text = "&A — page &P / &N"
    bold = Font(name="Calibri", size=11, bold=True)
    fill = PatternFill("solid", fgColor="DDE4EE")
    align = Alignment(wrap_text=True, vertical="top")
    header = []
    for c in columns:
        cell = WriteOnlyCell(ws, c.header)
        cell.data_type = "s"  # a header is never a formula
        cell.font, cell.fill, cell.alignment = bold, fill, align
        header.append(cell)
    ws.append(header)
    for row in zip(*cols, strict=True):
        ws.append(row)


class _StableZip(zipfile.ZipFile):
    """A ZipFile whose entries all carry the same date and permissions (openpyxl stamps the
    current time): the same workbook gives the same bytes."""

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):
        if not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
            zinfo_or_arcname = zipfile.ZipInfo(zinfo_or_arcname, date_time=_FIXED_DATE)
            zinfo_or_arcname.external_attr = 0o600 << 16
        super().writestr(zinfo_or_arcname, data,
                         compress_type=self.compression if compress_type is None else compress_type,
                         compresslevel=self.compresslevel if compresslevel is None else compresslevel)

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None):
        with open(filename, "rb") as f:
            self.writestr(arcname or Path(filename).name, f.read(), compress_type, compresslevel)


def _save(wb, path: Path) -> None:
    from openpyxl.writer.excel import ExcelWriter

    # ExcelWriter, not wb.save: save() stamps the current time in the document properties
    wb.properties.created = wb.properties.modified = _FIXED_DATETIME
    wb.properties.creator = "cpas-compare"
    wb.properties.title = "Comparaison des déclarations de politique sociale des CPAS"
    wb.properties.language = "fr-BE"
    # level 1: a third of the time of the default level for a slightly larger file
    with _StableZip(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1,
                    allowZip64=True) as archive:
        ExcelWriter(wb, archive).write_data()


# --------------------------------------------------------------------------- workbook


def write_workbook(tables: dict[str, pd.DataFrame], path: Path, *,
                   documents: pd.DataFrame | None = None, units: pd.DataFrame | None = None,
                   unit_themes: pd.DataFrame | None = None) -> Path:
    """Write ``tables`` (and, when given, ``documents`` and the long "Unités × thèmes" sheet
    of ``units`` × ``unit_themes``) as ``path`` (.xlsx, atomically). Tables keyed
    "documents", "units" or "unit_themes" in ``tables`` are taken as these arguments.

    Sheets: "À lire" describing every sheet, "Documents", one sheet per table with a French
    name, "Unités × thèmes", "Dictionnaire des données". Every sheet: French headers
    (``pipeline/data/columns.toml``), bold frozen header row with filter buttons, fitted
    column widths (8–60 characters), shares as percentages, scores with two decimals,
    booleans as oui / non, text never read as a formula, landscape printing fitted to the
    page width with the header on every page. Identical inputs give identical bytes.
    Returns ``path``."""
    from openpyxl import Workbook

    tables = dict(tables)
    documents = tables.pop("documents", None) if documents is None else documents
    units = tables.pop("units", None) if units is None else units
    unit_themes = tables.pop("unit_themes", None) if unit_themes is None else unit_themes
    for k in ("documents", "units", "unit_themes"):
        tables.pop(k, None)
    ordered = workbook_tables(tables)
    if documents is not None:
        ordered = {"documents": documents, **ordered}
    if units is not None and unit_themes is not None:
        tm = ordered.get("theme_matrix")
        theme_labels = (dict(zip(tm["theme"].astype(str), tm["theme_label"].astype(str),
                                 strict=True))
                        if tm is not None and {"theme", "theme_label"} <= set(tm.columns)
                        else None)
        ordered["units_by_theme"] = units_by_theme(units, unit_themes, documents, theme_labels)

    names: dict[str, str] = {}
    used: set[str] = {README_SHEET, DICTIONARY_SHEET}
    for k in ordered:
        name = sheet_name(k)
        base, n = name, 2
        while name in used:
            suffix = f" ({n})"
            name = base[:31 - len(suffix)] + suffix
            n += 1
        used.add(name)
        names[k] = name
    sheets = [(names[k], k, df, _columns(k, df)) for k, df in ordered.items()]
    readme = pd.DataFrame(
        [(names[k], k, len(df), _description(k)) for k, df in ordered.items()]
        + [(DICTIONARY_SHEET, "", None, DICTIONARY_DESCRIPTION)],
        columns=["Feuille", "Table", "Lignes", "Contenu"])
    dictionary = _dictionary(sheets)

    def write(tmp: Path) -> None:
        wb = Workbook(write_only=True)
        _write_sheet(wb, README_SHEET, readme, _columns("", readme), wrap=tuple(readme.columns))
        for name, _, df, columns in sheets:
            _write_sheet(wb, name, df, columns)
        _write_sheet(wb, DICTIONARY_SHEET, dictionary, _columns("", dictionary),
                     wrap=tuple(dictionary.columns))
        _save(wb, tmp)

    return io.atomic_write(Path(path), write)
