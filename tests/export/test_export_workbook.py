"""The workbook cpas-compare.xlsx as an Excel / LibreOffice user gets it: French headers and a
data dictionary (pipeline/data/columns.toml), number formats, filters, printing, the Documents
and "Unités × thèmes" sheets, identical bytes for identical tables."""

from __future__ import annotations

import zipfile
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from openpyxl import load_workbook

from pipeline import compare
from pipeline.compare import tables
from pipeline.compare.keyness import KEYNESS_COLUMNS
from pipeline.compare.partners import PARTNER_COLUMNS
from pipeline.compare.partners import SUMMARY_COLUMNS as PARTNER_SUMMARY_COLUMNS
from pipeline.compare.passages import PASSAGE_COLUMNS
from pipeline.compare.passages import SUMMARY_COLUMNS as PASSAGE_SUMMARY_COLUMNS
from pipeline.compare.similarity import SIMILARITY_COLUMNS
from pipeline.export import workbook
from pipeline.export.workbook import column_info, load_columns, sheet_name, write_workbook

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "compare"
CODEBOOK = [SimpleNamespace(id=i, label=lab) for i, lab in [
    ("insertion", "Insertion"), ("logement", "Logement"), ("synergies", "Synergies"),
    ("finances", "Finances"), ("sante", "Santé"), ("energie", "Énergie")]]
#: column lists of every table the runner puts in the workbook
TABLE_COLUMNS = {
    "theme_matrix": tables.THEME_MATRIX_COLUMNS, "axis_themes": tables.AXIS_COLUMNS,
    "structure": tables.STRUCTURE_COLUMNS, "by_province": tables.BY_COLUMNS,
    "similarity": SIMILARITY_COLUMNS, "distinctive_terms": KEYNESS_COLUMNS,
    "partners": PARTNER_COLUMNS, "partners_summary": PARTNER_SUMMARY_COLUMNS,
    "shared_passages": PASSAGE_COLUMNS, "shared_passages_summary": PASSAGE_SUMMARY_COLUMNS,
    "documents": None,  # filled below: DOCUMENT_COLUMNS
    "units_by_theme": workbook.UNITS_BY_THEME_COLUMNS,
}


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(FIX / name, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def inputs():
    """documents (with two metadata columns of metadata.csv), units, unit_themes, tables."""
    documents = _read("documents.csv")
    documents["arrondissement_judiciaire"] = ["Liège"] + [""] * (len(documents) - 1)
    units = _read("units.csv")
    for col in ("start", "end", "depth"):
        units[col] = units[col].astype(int)
    nlp = _read("nlp.csv")
    ut = [(d, u, t) for d, u, ts in zip(units["doc_id"], units["unit_id"], units["themes"],
                                         strict=True)
          for t in ts.split(";") if t]
    unit_themes = pd.DataFrame(ut, columns=["doc_id", "unit_id", "theme"])
    unit_themes["score"] = [0.5 + 0.01 * i for i in range(len(unit_themes))]
    unit_themes["sources"] = "vocabulary"
    built = compare.build_tables(documents, units, nlp, None, CODEBOOK, by=["province"])
    return SimpleNamespace(documents=documents, units=units, unit_themes=unit_themes,
                           tables=built)


@pytest.fixture(scope="module")
def book(inputs, tmp_path_factory):
    path = tmp_path_factory.mktemp("wb") / "cpas-compare.xlsx"
    write_workbook(inputs.tables, path, documents=inputs.documents, units=inputs.units,
                   unit_themes=inputs.unit_themes)
    return SimpleNamespace(path=path, wb=load_workbook(path))


def _rows(ws) -> list[tuple]:
    return list(ws.iter_rows(values_only=True))


def _header(ws) -> list[str]:
    return [c.value for c in ws[1]]


def _data_sheets(wb):
    return [ws for ws in wb.worksheets
            if ws.title not in (workbook.README_SHEET, workbook.DICTIONARY_SHEET)]


# --------------------------------------------------------------------------- columns.toml


def test_every_column_the_runner_writes_has_a_french_header(inputs):
    """A column added to a table without its line in pipeline/data/columns.toml fails here."""
    from pipeline.ingest import DOCUMENT_COLUMNS

    columns, by_table = load_columns()
    lists = {**TABLE_COLUMNS, "documents": DOCUMENT_COLUMNS}
    actual = {k: list(df.columns) for k, df in inputs.tables.items()}
    missing = []
    for key, cols in [*lists.items(), *actual.items()]:
        table = by_table.get("by" if key.startswith("by_") else key, {})
        for c in cols:
            if c not in columns and c not in table:
                missing.append(f"{key}.{c}")
            info = column_info(key, c)
            if not info.description or info.header == c:
                missing.append(f"{key}.{c} (no description / header)")
    assert not missing, f"columns missing from pipeline/data/columns.toml: {missing}"
    # the tables' own column lists are the ones the workbook gets (by_* aside)
    for key, df in inputs.tables.items():
        if key in lists:
            assert list(df.columns) == lists[key], key


def test_headers_are_unique_within_every_table():
    from pipeline.ingest import DOCUMENT_COLUMNS

    for key, cols in {**TABLE_COLUMNS, "documents": DOCUMENT_COLUMNS}.items():
        headers = [column_info(key, c).header for c in cols]
        assert len(set(headers)) == len(headers), (key, headers)


def test_columns_toml_entries_are_checked(tmp_path):
    bad = tmp_path / "columns.toml"
    bad.write_text('[columns.x]\nheader = "X"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="description"):
        load_columns(bad)
    bad.write_text('[columns.x]\nheader = "X"\ndescription = "d"\nformat = "pourcent"\n',
                   encoding="utf-8")
    with pytest.raises(ValueError, match="pourcent"):
        load_columns(bad)


def test_a_column_in_no_mapping_keeps_its_name():
    assert column_info("structure", "colonne_inconnue").header == "colonne_inconnue"
    assert column_info("theme_matrix", "share_units").header == "Part des unités"
    # one table's meaning wins over the general one
    assert column_info("partners", "source").header == "Repérage"
    assert column_info("documents", "source").header == "Source"
    assert column_info("by_mandate", "group").header == "Mandature"


# --------------------------------------------------------------------------- sheets


def test_sheets_in_order_with_french_names(book, inputs):
    assert book.wb.sheetnames == [
        "À lire", "Documents", "Thèmes par déclaration", "Matrice des thèmes", "Axes et thèmes",
        "Similarité", "Termes distinctifs", "Partenaires", "Partenaires (synthèse)",
        "Passages communs", "Reprises par déclaration", "Structure", "Par province",
        "Unités × thèmes", "Dictionnaire des données"]
    readme = _rows(book.wb["À lire"])
    assert readme[0] == ("Feuille", "Table", "Lignes", "Contenu")
    described = {r[0]: r for r in readme[1:]}
    assert set(described) == set(book.wb.sheetnames) - {"À lire"}
    assert all(r[3] for r in readme[1:])  # every sheet described
    assert described["Thèmes par déclaration"][2] == len(inputs.tables["theme_matrix"])
    assert sheet_name("by_mandate") == "Par mandature"
    assert sheet_name("by_zone_de_police") == "Par zone_de_police"


def test_headers_are_french_and_tables_keep_snake_case(book, inputs):
    ws = book.wb["Thèmes par déclaration"]
    assert _header(ws) == ["Identifiant", "Déclaration", "Code du thème", "Thème",
                           "Unités du thème", "Part des unités", "Part des mots", "Thème présent"]
    assert _header(book.wb["Similarité"]) == ["Déclaration A", "Déclaration B",
                                             "Similarité du vocabulaire",
                                             "Similarité des thèmes"]
    assert _header(book.wb["Par province"])[0] == "Province"
    for ws in _data_sheets(book.wb):
        for h in _header(ws):
            assert "_" not in h or h == "arrondissement_judiciaire", (ws.title, h)
    # the DataFrames (written as CSV / Parquet by the runner) are left as they were
    assert list(inputs.tables["theme_matrix"].columns) == tables.THEME_MATRIX_COLUMNS
    assert "theme_wide" not in inputs.tables


def test_dictionary_sheet_lists_every_column_of_every_sheet(book):
    rows = _rows(book.wb["Dictionnaire des données"])
    assert rows[0] == ("Feuille", "En-tête", "Colonne (CSV / Parquet)", "Description")
    listed = {(r[0], r[1]): (r[2], r[3]) for r in rows[1:]}
    seen = set()
    for ws in _data_sheets(book.wb):
        for h in _header(ws):
            assert (ws.title, h) in listed, (ws.title, h)
            seen.add((ws.title, h))
    assert seen == set(listed)  # and nothing else
    assert listed[("Thèmes par déclaration", "Part des unités")][0] == "share_units"
    assert listed[("Documents", "Province")] == ("province",
                                                 "Province du CPAS (colonne de metadata.csv).")
    # a column in no mapping is listed under its own name, without description
    assert listed[("Documents", "arrondissement_judiciaire")] == ("arrondissement_judiciaire",
                                                                  None)
    by = listed[("Par province", "Province")]
    assert by[0] == "group" and "« province »" in by[1]
    wide = listed[("Matrice des thèmes", "Logement")]
    assert wide == ("Logement", "Part des unités de contenu de la déclaration classées dans le "
                                "thème « Logement ».")


def test_number_formats_by_column(book, inputs):
    ws = book.wb["Thèmes par déclaration"]
    col = {h: i for i, h in enumerate(_header(ws))}
    row = next(r for r in ws.iter_rows(min_row=2) if r[col["Part des unités"]].value)
    for h in ("Part des unités", "Part des mots"):
        cell = row[col[h]]
        assert cell.number_format == "0.0 %" and isinstance(cell.value, float)
        assert 0 < cell.value <= 1
    n = row[col["Unités du thème"]]
    assert n.data_type == "n" and isinstance(n.value, int)
    assert row[col["Thème présent"]].value == "oui"
    assert {r[col["Thème présent"]] for r in _rows(ws)[1:]} == {"oui", "non"}
    sim = book.wb["Similarité"]
    assert {c.number_format for c in sim["C"][1:]} == {"0.00"}
    assert {c.number_format for c in sim["D"][1:]} == {"0.00"}
    structure = book.wb["Structure"]
    k = _header(structure).index("Part du préambule") + 1
    assert {structure.cell(r, k).number_format for r in range(2, structure.max_row + 1)} == {
        "0.0 %"}
    wide = book.wb["Matrice des thèmes"]
    assert wide["C2"].number_format == "0.0 %"
    by = book.wb["Par province"]
    for h in ("Part moyenne des unités", "Part des déclarations"):
        k = _header(by).index(h) + 1
        assert by.cell(2, k).number_format == "0.0 %"
    # every share column of every table is shown as a percentage
    for key, df in inputs.tables.items():
        for c in df.columns:
            if c.startswith(("share_", "mean_share_")) or c.endswith("_share"):
                assert column_info(key, c).format == "percent", (key, c)
    # adoption dates are dates
    docs = book.wb["Documents"]
    k = _header(docs).index("Date d'adoption") + 1
    dated = docs.cell(2, k)  # document "a": 2019-02-13
    assert dated.is_date and dated.value.date().isoformat() == "2019-02-13"
    assert dated.number_format == "dd/mm/yyyy"


def test_filters_frozen_bold_header_widths_and_printing(book):
    for ws in book.wb.worksheets:
        last = ws.cell(1, ws.max_column).column_letter
        assert ws.auto_filter.ref == f"A1:{last}{ws.max_row}", ws.title
        assert ws.freeze_panes == "A2"
        assert all(c.font.b for c in ws[1])
        assert ws.page_setup.orientation == "landscape"
        assert ws.page_setup.paperSize == 9  # A4
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0
        assert ws.print_title_rows == "$1:$1"
        for k in range(1, ws.max_column + 1):
            width = ws.column_dimensions[ws.cell(1, k).column_letter].width
            assert 8 <= width <= 60, (ws.title, k, width)
    ws = book.wb["Unités × thèmes"]
    k = _header(ws).index("Texte") + 1
    assert ws.column_dimensions[ws.cell(1, k).column_letter].width > 20  # fitted to the text


def test_documents_sheet_has_every_metadata_column(book, inputs):
    ws = book.wb["Documents"]
    docs = inputs.documents
    assert _header(ws) == [column_info("documents", c).header for c in docs.columns]
    rows = _rows(ws)[1:]
    assert len(rows) == len(docs)
    k = list(docs.columns).index("province")
    assert [r[k] or "" for r in rows] == docs["province"].tolist()
    k = list(docs.columns).index("arrondissement_judiciaire")
    assert rows[0][k] == "Liège"


def test_units_by_theme_sheet_has_one_row_per_unit_theme(book, inputs):
    ws = book.wb["Unités × thèmes"]
    header = _header(ws)
    rows = [dict(zip(header, r, strict=True)) for r in _rows(ws)[1:]]
    ut = inputs.unit_themes
    assert len(rows) == len(ut) > 0
    assert [(r["Identifiant"], r["Unité"], r["Code du thème"]) for r in rows] == list(
        zip(ut["doc_id"], ut["unit_id"], ut["theme"], strict=True))
    # metadata of the documents joined in (not the file columns)
    assert {"Commune", "Province", "Mandature", "arrondissement_judiciaire"} <= set(header)
    assert not {"Empreinte SHA-256", "Fichier", "Lecture"} & set(header)
    units = inputs.units.set_index(["doc_id", "unit_id"])
    docs = inputs.documents.set_index("doc_id")
    labels = dict(zip(inputs.tables["theme_matrix"]["theme"],
                      inputs.tables["theme_matrix"]["theme_label"], strict=False))
    for r in rows:
        u = units.loc[(r["Identifiant"], r["Unité"])]
        assert r["Texte"] == (u["text"] or None) and r["Type d'unité"] == u["kind"]
        assert (r["Province"] or "") == docs.loc[r["Identifiant"], "province"]
        assert r["Thème"] == labels[r["Code du thème"]]
    k = header.index("Score") + 1
    assert {c.number_format for (c,) in ws.iter_rows(min_row=2, min_col=k, max_col=k)} == {"0.00"}
    axes = {r["Axe"] for r in rows if r["Identifiant"] == "a" and r["Type d'unité"] != "axis"}
    assert axes and all(a for a in axes)  # document a's units sit under its axes


def test_axis_of_each_unit():
    units = pd.DataFrame({
        "doc_id": ["x"] * 5 + ["y"],
        "unit_id": ["u1", "u2", "u3", "u4", "u5", "u1"],
        "parent_id": ["", "u1", "u2", "", "u4", ""],
        "kind": ["axis", "group", "objective", "preamble", "axis", "objective"],
        "label": ["AXE 1", "", "1.1", "", "AXE 2", ""],
        "text": ["Le logement", "Logement social", "Construire", "Texte", "L'emploi " * 20, "x"],
    })
    axes = workbook._axes(units)
    assert axes[:4] == ["AXE 1 Le logement", "AXE 1 Le logement", "AXE 1 Le logement", ""]
    assert axes[4].startswith("AXE 2 L'emploi") and len(axes[4]) == 100 and axes[4][-1] == "…"
    assert axes[5] == ""  # same unit_id in another document: not under x's axis


def test_same_tables_give_the_same_bytes(book, inputs, tmp_path):
    again = tmp_path / "again.xlsx"
    write_workbook(inputs.tables, again, documents=inputs.documents, units=inputs.units,
                   unit_themes=inputs.unit_themes)
    assert again.read_bytes() == book.path.read_bytes()
    with zipfile.ZipFile(again) as z:
        assert {i.date_time for i in z.infolist()} == {(2000, 1, 1, 0, 0, 0)}
        core = z.read("docProps/core.xml").decode()
    assert "2000-01-01T00:00:00Z" in core
    assert not list(tmp_path.glob(".*.tmp"))  # atomic: no temporary file left
    changed = inputs.tables["structure"].copy()
    changed.loc[0, "n_words"] += 1
    other = tmp_path / "other.xlsx"
    write_workbook({**inputs.tables, "structure": changed}, other, documents=inputs.documents,
                   units=inputs.units, unit_themes=inputs.unit_themes)
    assert other.read_bytes() != again.read_bytes()


def test_positional_call_and_tables_passed_in_the_dict(inputs, tmp_path):
    plain = write_workbook(inputs.tables, tmp_path / "plain.xlsx")
    names = load_workbook(plain).sheetnames
    assert "Documents" not in names and "Unités × thèmes" not in names
    both = write_workbook({**inputs.tables, "documents": inputs.documents, "units": inputs.units,
                           "unit_themes": inputs.unit_themes}, tmp_path / "both.xlsx")
    names = load_workbook(both).sheetnames
    assert "Documents" in names and "Unités × thèmes" in names
    assert not any(n in names for n in ("units", "unit_themes", "documents"))


def test_values_are_written_as_excel_users_expect(tmp_path):
    df = pd.DataFrame({
        "text": ["=SOMME(A1:A2)", "ok\x07", "#N/A", "-2", "@x", " x "],
        "n": [1, float("nan"), float("inf"), -0.0, 2.5, None],
        "flag": [True, False, None, True, False, True],
        "when": pd.array([1, 2, None, 4, 5, 6], dtype="Int64"),
    })
    path = write_workbook({"partners": df}, tmp_path / "w.xlsx")
    ws = load_workbook(path)["Partenaires"]
    assert [c.value for c in ws["A"][1:]] == ["=SOMME(A1:A2)", "ok", "#N/A", "-2", "@x", " x "]
    assert {c.data_type for c in ws["A"][1:]} == {"s"}  # never a formula or an error code
    assert [c.value for c in ws["B"][1:]] == [1, None, "∞", 0, 2.5, None]
    assert [c.value for c in ws["C"][1:]] == ["oui", "non", None, "oui", "non", "oui"]
    assert [c.value for c in ws["D"][1:]] == [1, 2, None, 4, 5, 6]
    assert ws["D2"].data_type == "n"


def test_empty_tables_still_make_a_workbook(tmp_path):
    empty = {"theme_matrix": pd.DataFrame(columns=tables.THEME_MATRIX_COLUMNS),
             "similarity": pd.DataFrame(columns=SIMILARITY_COLUMNS)}
    path = write_workbook(empty, tmp_path / "e.xlsx",
                          documents=pd.DataFrame(columns=["doc_id", "commune"]),
                          units=pd.DataFrame(columns=["doc_id", "unit_id", "parent_id", "kind",
                                                      "label", "text"]),
                          unit_themes=pd.DataFrame(columns=["doc_id", "unit_id", "theme",
                                                            "score", "sources"]))
    wb = load_workbook(path)
    assert wb["Similarité"].max_row == 1
    assert _header(wb["Unités × thèmes"])[:3] == ["Identifiant", "Déclaration", "Unité"]


# --------------------------------------------------------------------------- the runner's


@pytest.mark.slow
def test_the_runner_workbook_has_documents_and_units_by_theme(seed_run):
    out = seed_run.out
    wb = load_workbook(out / "cpas-compare.xlsx", read_only=True)
    documents = pd.read_csv(out / "documents.csv", keep_default_na=False)
    header = [c.value for c in next(wb["Documents"].iter_rows(max_row=1))]
    assert header == [column_info("documents", c).header for c in documents.columns]
    ut = pd.read_csv(out / "unit_themes.csv", keep_default_na=False)
    assert sum(1 for _ in wb["Unités × thèmes"].iter_rows()) == len(ut) + 1
    # every column of every table the runner wrote has a French header and a description
    columns, by_table = load_columns()
    for key, df in seed_run.tables.items():
        for c in df.columns:
            info = column_info(key, c)
            assert info.header != c and info.description, (key, c)
    wb.close()
