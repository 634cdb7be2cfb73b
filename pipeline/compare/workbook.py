"""All comparison tables as the sheets of one Excel workbook (French sheet names)."""

from __future__ import annotations

import math
import re
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import chain, repeat
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import io

#: Table key → (sheet name, French description for the "À lire" sheet).
SHEETS: dict[str, tuple[str, str]] = {
    "theme_matrix": ("Thèmes par déclaration",
                     "Pour chaque déclaration et chaque thème : nombre d'unités de contenu classées "
                     "dans le thème (n_units), part des unités (share_units) et des mots "
                     "(share_words) de la déclaration, présence du thème (present)."),
    "theme_wide": ("Matrice des thèmes",
                   "La même chose en tableau croisé : une ligne par déclaration, une colonne par "
                   "thème, la part des unités de contenu."),
    "axis_themes": ("Axes et thèmes",
                    "Chaque axe de chaque déclaration, le nombre d'unités qu'il contient et ses "
                    "thèmes dominants avec leur part des unités de l'axe."),
    "similarity": ("Similarité",
                   "Chaque paire de déclarations : similarité cosinus du vocabulaire (lemmes "
                   "pondérés TF-IDF) et des profils thématiques (0 = rien en commun, 1 = identique)."),
    "distinctive_terms": ("Termes distinctifs",
                          "Les 20 termes (lemmes, paires de lemmes) les plus sur-représentés dans "
                          "chaque déclaration par rapport aux autres (log-vraisemblance G², "
                          "fréquences pour 10 000 mots)."),
    "partners": ("Partenaires",
                 "Organisations citées, unité par unité : liste de référence "
                 "(source « gazetteer ») ou repérage automatique des organisations (« ner »)."),
    "partners_summary": ("Partenaires (synthèse)",
                         "Chaque partenaire cité et le nombre de déclarations qui le citent."),
    "shared_passages": ("Passages communs",
                        "Phrases reprises, à l'identique ou presque, dans plusieurs déclarations "
                        "(modèles, textes recopiés) ; similarity = proximité avec la première "
                        "occurrence (1 = identique)."),
    "shared_passages_summary": ("Reprises par déclaration",
                                "Par déclaration : part de ses phrases que l'on retrouve dans "
                                "d'autres déclarations (reprise de modèles ou écriture propre)."),
    "structure": ("Structure",
                  "Forme de chaque déclaration : nombre d'axes, de groupes, d'objectifs, "
                  "d'actions, de mots, part du préambule, présence d'un volet budgétaire et "
                  "mention du PST."),
}
README_SHEET = "À lire"
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_FIXED_DATE = (2000, 1, 1, 0, 0, 0)


def sheet_name(key: str) -> str:
    """French sheet name of table ``key`` (``by_<col>`` → "Par <col>"), ≤ 31 characters."""
    if key in SHEETS:
        name = SHEETS[key][0]
    elif key.startswith("by_"):
        name = f"Par {key[3:]}"
    else:
        name = key
    return _BAD_SHEET_CHARS.sub("-", name)[:31]


def _description(key: str) -> str:
    if key in SHEETS:
        return SHEETS[key][1]
    if key.startswith("by_"):
        return (f"Parts des thèmes comparées entre les groupes de la colonne « {key[3:]} » : "
                "nombre de déclarations, part moyenne des unités, part des déclarations où le "
                "thème est présent.")
    return ""


_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_MAX_CELL = 32_767  # Excel's limit on the characters of one cell
_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_STYLES = (
    f'<styleSheet xmlns="{_NS}">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    '</styleSheet>')


def _col_letter(i: int) -> str:
    """1 → "A", 27 → "AA"."""
    out = ""
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out


def _esc(s: str) -> str:
    s = _ILLEGAL_XML.sub("", s)[:_MAX_CELL]
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _cell_xml(ref: str, v, style: str = "") -> str:
    """One <c> element (with reference ``ref`` unless it is ""), or "" for an empty value
    (None, NaN, NA)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return ""
    ref = f' r="{ref}"' if ref else ""
    if hasattr(v, "item") and not isinstance(v, str):  # numpy scalar
        v = v.item()
    if isinstance(v, bool):
        return f'<c{ref}{style} t="b"><v>{int(v)}</v></c>'
    if isinstance(v, int):
        return f"<c{ref}{style}><v>{v}</v></c>"
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        if math.isinf(v):
            v = "∞" if v > 0 else "-∞"
        else:
            return f"<c{ref}{style}><v>{v!r}</v></c>"
    text = _esc(str(v))
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f'<c{ref}{style} t="inlineStr"><is><t{space}>{text}</t></is></c>'


def _by_value(column: pd.Series) -> bool:
    """The values of ``column`` can be grouped by equality without merging two values
    written differently: texts, integers, booleans, floats without -0.0 (== 0.0)."""
    dtype = column.dtype
    if pd.api.types.is_float_dtype(dtype):
        values = column.to_numpy(dtype=float, na_value=np.nan)
        return not np.signbit(values[values == 0]).any()
    return (pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_integer_dtype(dtype)
            or (pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype)))


def _column_cells(column: pd.Series) -> list[bytes]:
    """The <c> elements (UTF-8, without reference) of the values of one column
    (``_cell_xml``; b"" for an empty value). The values of a table repeat (ids, labels,
    rounded floats): when ``_by_value``, each distinct value is written once and the
    elements are picked by its code, with no Python work per cell."""
    if _by_value(column):
        codes, distinct = pd.factorize(column)  # missing values: code -1
        xml = [_cell_xml("", v).encode() for v in distinct.tolist()] + [b""]
        return np.asarray(xml, dtype=object)[codes].tolist()
    cache: dict[str, bytes] = {}
    out = []
    for v in column.tolist():
        if v.__class__ is str:
            cell = cache.get(v)
            if cell is None:
                cell = cache[v] = _cell_xml("", v).encode()
            out.append(cell)
        else:
            out.append(_cell_xml("", v).encode())
    return out


def _widths(df: pd.DataFrame, sample: int = 300) -> list[float]:
    out = []
    head = df.head(sample)
    for col in df.columns:
        lens = head[col].map(lambda v: len(str(v)) if v is not None else 0)
        longest = max([len(str(col))] + lens.tolist())
        out.append(float(min(max(longest + 2, 8), 60)))
    return out


def _sheet_xml(df: pd.DataFrame) -> bytes:
    """SpreadsheetML (UTF-8) of one sheet: bold frozen header row, fitted column widths,
    values as numbers / booleans / inline strings (text is never read as a formula)."""
    letters = [_col_letter(i) for i in range(1, len(df.columns) + 1)]
    cols = "".join(f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>'
                   for i, w in enumerate(_widths(df), start=1))
    header = "".join(_cell_xml(f"{c}1", str(name), ' s="1"')
                     for c, name in zip(letters, df.columns, strict=True))
    head = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_NS}">'
            '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
            'activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
            '<sheetFormatPr defaultRowHeight="15"/>'
            + (f"<cols>{cols}</cols>" if cols else "")
            + f'<sheetData><row r="1">{header}</row>')
    # every cell carries its reference (r="B7"): optional in the standard, but what Excel and
    # LibreOffice write and expect; empty cells are left out
    columns = [_column_cells(df.iloc[:, i]) for i in range(len(letters))]
    for c, col in zip(letters, columns, strict=True):
        prefix = f'<c r="{c}'.encode()
        for k, cell in enumerate(col):
            if cell:
                col[k] = b'%s%d"%s' % (prefix, k + 2, cell[2:])
    row_tags = [b'<row r="%d">' % r for r in range(2, len(df) + 2)]
    # row tag, the row's cells, "</row>" for each row: joined in one go with the rest
    rows = chain.from_iterable(zip(row_tags, *columns, repeat(b"</row>", len(df)), strict=True))
    return b"".join(chain([head.encode()], rows, [b"</sheetData></worksheet>"]))


def _xlsx_parts(sheets: list[tuple[str, pd.DataFrame]]) -> Iterator[tuple[str, bytes]]:
    """(name, UTF-8 XML) of each part of the .xlsx, the sheets made one at a time."""
    n = len(sheets)
    ct = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
          '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
          '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
          '<Default Extension="xml" ContentType="application/xml"/>'
          f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
          f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.styles+xml"/>']
    ct += [f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{_CT}.worksheet+xml"/>'
           for i in range(1, n + 1)]
    ct.append("</Types>")
    rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
            '</Relationships>')
    wb = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
          f'<workbook xmlns="{_NS}" xmlns:r="{_REL_NS}"><bookViews><workbookView/></bookViews><sheets>'
          + "".join(f'<sheet name="{_esc(name)}" sheetId="{i}" r:id="rId{i}"/>'
                    for i, (name, _) in enumerate(sheets, start=1))
          + "</sheets></workbook>")
    wb_rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
               '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
               + "".join(f'<Relationship Id="rId{i}" Type="{_REL_NS}/worksheet" '
                         f'Target="worksheets/sheet{i}.xml"/>' for i in range(1, n + 1))
               + f'<Relationship Id="rId{n + 1}" Type="{_REL_NS}/styles" Target="styles.xml"/>'
               "</Relationships>")
    parts = [("[Content_Types].xml", "".join(ct)), ("_rels/.rels", rels),
             ("xl/workbook.xml", wb), ("xl/_rels/workbook.xml.rels", wb_rels),
             ("xl/styles.xml", '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + _STYLES)]
    for name, xml in parts:
        yield name, xml.encode("utf-8")
    for i, (_, df) in enumerate(sheets, start=1):
        yield f"xl/worksheets/sheet{i}.xml", _sheet_xml(df)


def _write_xlsx(path: Path, sheets: list[tuple[str, pd.DataFrame]]) -> None:
    """Write a minimal .xlsx (fixed zip timestamps: same tables → same bytes).

    The parts are compressed and written by one worker thread, in order, while the next
    sheet is made: zlib works without holding the GIL, so the two overlap."""

    def write(name: str, data: bytes) -> None:
        info = zipfile.ZipInfo(name, date_time=_FIXED_DATE)
        info.compress_type = zipfile.ZIP_DEFLATED
        # level 1: a third of the time of the default level, ~20 % larger file
        z.writestr(info, data, compresslevel=1)

    with (zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z,
          ThreadPoolExecutor(max_workers=1) as writer):
        written = [writer.submit(write, name, xml) for name, xml in _xlsx_parts(sheets)]
        for done in written:
            done.result()  # re-raises a failed write


def workbook_tables(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The tables to put in the workbook, in sheet order: the known tables (plus the wide
    theme matrix derived from theme_matrix), then ``by_*`` and any other key, sorted."""
    from pipeline.compare.tables import theme_wide

    tables = dict(tables)
    if "theme_matrix" in tables and "theme_wide" not in tables:
        tables["theme_wide"] = theme_wide(tables["theme_matrix"])
    keys = [k for k in SHEETS if k in tables] + sorted(k for k in tables if k not in SHEETS)
    return {k: tables[k] for k in keys}


def write_workbook(tables: dict[str, pd.DataFrame], path: Path) -> Path:
    """Write ``tables`` as ``path`` (.xlsx, atomically): a first sheet "À lire" describing
    every sheet, then one sheet per table with a French name, bold frozen header row and
    column widths fitted to the content (8–60 characters). Identical tables give identical
    bytes. Written directly as SpreadsheetML (≈ 10× faster than openpyxl on 300 documents).
    Returns ``path``."""
    ordered = workbook_tables(tables)
    names: dict[str, str] = {}
    used: set[str] = {README_SHEET}
    for k in ordered:
        name = sheet_name(k)
        base, n = name, 2
        while name in used:
            suffix = f" ({n})"
            name = base[:31 - len(suffix)] + suffix
            n += 1
        used.add(name)
        names[k] = name

    readme = pd.DataFrame({"feuille": [names[k] for k in ordered],
                           "table": list(ordered),
                           "lignes": [len(df) for df in ordered.values()],
                           "contenu": [_description(k) for k in ordered]})
    sheets = [(README_SHEET, readme)] + [(names[k], df) for k, df in ordered.items()]
    return io.atomic_write(Path(path), lambda tmp: _write_xlsx(tmp, sheets))
