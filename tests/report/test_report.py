"""Tests of pipeline.report on the hand-made fixture of tests/fixtures/report/.

The fixture: three analysed declarations (Ittre, Trooz, Saint-Léger) and one file in error;
6 themes (energie covered by nobody); every expected number below was counted by hand from the
CSV files (see the comments).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tomllib

from pipeline.report import build_report
from pipeline.report.figures import (
    FIGURE_FILES,
    coverage_counts,
    positions,
    render_figures,
    share_pivot,
    similarity_matrix,
)
from pipeline.report.html import (
    doc_labels,
    figure_docs,
    fmt_date,
    fmt_int,
    fmt_pct,
    fold,
    prepare_html,
    render_html,
    report_figures,
    text_color,
    write_figures,
)

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "report"
TABLES = ("theme_matrix", "similarity", "axis_themes", "distinctive_terms", "structure",
          "partners", "shared_passages", "shared_passages_summary")
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists()
                                        else None)


def load_fixture() -> dict:
    """The fixture as the report's inputs (tables, documents, units, unit_themes, codebook,
    benchmarks as dicts of DataFrames)."""
    tables = {n: pd.read_csv(FIX / f"{n}.csv", keep_default_na=False) for n in TABLES}
    documents = pd.read_csv(FIX / "documents.csv", dtype=str, keep_default_na=False)
    units = pd.read_csv(FIX / "units.csv", dtype=str, keep_default_na=False)
    unit_themes = pd.read_csv(FIX / "unit_themes.csv", keep_default_na=False)
    codebook = tomllib.loads((FIX / "codebook.toml").read_text(encoding="utf-8"))["theme"]
    raw = json.loads((FIX / "benchmark.json").read_text(encoding="utf-8"))
    benchmarks = {d: {k: pd.DataFrame(v) if isinstance(v, list) else v for k, v in b.items()}
                  for d, b in raw.items()}
    return {"tables": tables, "documents": documents, "units": units,
            "unit_themes": unit_themes, "codebook": codebook, "benchmarks": benchmarks}


@pytest.fixture(scope="module")
def fx() -> dict:
    return load_fixture()


@pytest.fixture(scope="module")
def built(fx, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report")
    path = build_report(fx["tables"], fx["documents"], fx["units"], fx["unit_themes"],
                        fx["codebook"], out, fx["benchmarks"])
    assert path == out / "report.html"
    return out


@pytest.fixture(scope="module")
def page(built) -> str:
    return (built / "report.html").read_text(encoding="utf-8")


def embedded_data(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
    assert m, "data block missing"
    return json.loads(m.group(1))


def article(page: str, doc_id: str) -> str:
    m = re.search(rf'<article class="decl" id="doc-\d+" data-doc="{re.escape(doc_id)}">(.*?)'
                  r"</article>", page, re.S)
    assert m, doc_id
    return m.group(1)


# --------------------------------------------------------------------------- helpers


def test_french_number_and_date_formats():
    assert fmt_pct(0.5714) == "57\u00a0%"
    assert fmt_pct(0.1667, 1) == "16,7\u00a0%"
    assert fmt_int(1150) == "1\u202f150"
    assert fmt_int("820") == "820"
    assert fmt_int("") == ""
    assert fmt_date("2019-05-27") == "27/05/2019"
    assert fmt_date("") == "—"
    assert fmt_date("mai 2019") == "mai 2019"


def test_chip_text_colour_contrasts_with_background():
    assert text_color("#111111") == "#ffffff"
    assert text_color("#0072B2") == "#ffffff"   # dark blue
    assert text_color("#E69F00") == "#111111"   # orange
    assert text_color("#ffffff") == "#111111"
    assert text_color("not a colour") == "#111111"


def test_fold_removes_case_and_accents():
    assert fold("Énergie ÉQUITÉ «santé»") == "energie equite «sante»"


def test_doc_labels_disambiguate_same_commune():
    docs = pd.DataFrame({"doc_id": ["a", "b", "c"], "commune": ["Ittre", "Ittre", ""],
                         "legislature": ["2019-2024", "2025-2030", ""],
                         "status": ["ok", "ok", "ok"]})
    assert doc_labels(docs, {}) == {"a": "Ittre (2019-2024)", "b": "Ittre (2025-2030)", "c": "c"}


# --------------------------------------------------------------------------- figure data


def test_coverage_counts_per_theme(fx):
    # present=True rows in theme_matrix.csv: acces_droits Ittre+Trooz, emploi Ittre+SL,
    # logement Trooz+SL, sante Trooz, numerique Ittre+SL, energie nobody
    themes = ["acces_droits", "emploi", "logement", "sante", "numerique", "energie"]
    assert coverage_counts(fx["tables"]["theme_matrix"], themes) == [2, 2, 2, 1, 2, 0]


def test_share_pivot_places_values(fx):
    m = share_pivot(fx["tables"]["theme_matrix"], ["trooz-2019", "ittre-2019"],
                    ["logement", "numerique", "inconnu"])
    assert m.tolist() == [[0.5714, 0.0, 0.0], [0.0, 0.1667, 0.0]]


def test_similarity_matrix_is_symmetric_from_one_direction():
    sim = pd.DataFrame({"doc_a": ["a", "a"], "doc_b": ["b", "c"],
                        "cosine_lemmas": [0.3, 0.6], "cosine_themes": [0.1, 0.2]})
    m = similarity_matrix(sim, ["c", "b", "a", "z"], "cosine_lemmas")
    assert m[0, 2] == m[2, 0] == 0.6
    assert m[1, 2] == m[2, 1] == 0.3
    assert np.isnan(m[0, 1]) and np.isnan(m[3, 0])
    assert m[3, 3] == 1.0


def test_similarity_matrix_later_row_wins_and_unknown_docs_ignored():
    # (a, b) given twice with different values, then (b, a): the last row sets both cells;
    # a row naming a document outside ``docs`` and a NaN value are ignored
    sim = pd.DataFrame({"doc_a": ["a", "a", "b", "a", "a"], "doc_b": ["b", "b", "a", "x", "c"],
                        "cosine_lemmas": [0.1, 0.2, 0.3, 0.9, np.nan]})
    m = similarity_matrix(sim, ["a", "b", "c"], "cosine_lemmas")
    assert m[0, 1] == m[1, 0] == 0.3
    assert np.isnan(m[0, 2]) and np.isnan(m[2, 0])


def test_positions_of_values_in_labels():
    values = pd.Series(["b", None, "a", "z", "b", "c"], dtype="str")
    assert positions(values, ["a", "b", "c"]).tolist() == [1, -1, 0, -1, 1, 2]
    assert positions(pd.Series([3, 1], dtype="int64"), [1, 2, 3]).tolist() == [2, 0]
    assert positions(pd.Series([], dtype="str"), ["a"]).tolist() == []


def test_texts_are_cell_texts_of_any_column():
    from pipeline.io import cell_text
    from pipeline.report.html import _texts

    columns = [pd.Series([1, None, 3], dtype="Int64"), pd.Series(["a", None], dtype="str"),
               pd.Series([1.5, np.nan, 0.1 + 0.2]), pd.Series([True, False]),
               pd.Series(["a", None, np.nan, 1, [1, 2]], dtype=object),
               pd.Series(pd.to_datetime(["2020-01-01", None]))]
    for col in columns:
        assert _texts(col) == [cell_text(v) for v in col.tolist()], col.dtype
    assert _texts(columns[0]) == ["1", "", "3"]
    assert _texts(columns[2]) == ["1.5", "", "0.30000000000000004"]


def test_fill_replaces_known_placeholders_only():
    from pipeline.report.html import _fill

    pieces = _fill("<a>{{x}}</a>{{y}}{{unknown}}{{x}}", {"x": "1", "y": ["2", "3"]})
    assert "".join(pieces) == "<a>1</a>23{{unknown}}1"


def test_units_in_reading_order_then_unit_id():
    from pipeline.report.html import _UnitTable

    units = pd.DataFrame({
        "doc_id": ["d", "d", "e", "d", "d", "d"],
        "unit_id": ["u5", "u1", "u1", "u3", "u2", "u4"],
        "kind": ["action"] * 6,
        "start": ["30", "10", "0", "abc", "10.9", None],  # unreadable or missing: 0
        "themes": ["b;a", "", "a", "a;;", "", "b;a"],
    })
    table = _UnitTable(units)
    assert {d: [table.unit_id[i] for i in rows] for d, rows in table.rows.items()} == {
        "d": ["u3", "u4", "u1", "u2", "u5"], "e": ["u1"]}
    assert table.themes == [("b", "a"), (), ("a",), ("a",), (), ("b", "a")]
    assert table.label == [""] * 6 and table.page == [""] * 6  # columns that are missing


def test_tooltips_are_escaped_and_skip_missing_parts():
    from pipeline.report.html import _tooltips

    ut = pd.DataFrame({"doc_id": ["d", "d", "d"], "unit_id": ["u1", "u1", "u2"],
                       "theme": ["a", "b", "a"], "score": [0.805, np.nan, 1.0],
                       "sources": ["vocabulary;model", "human", ""],
                       "evidence": ["x<y ; ; l'aide", "", ""]})
    assert _tooltips(ut) == {
        ("d", "u1", "a"): "score 0,81 · vocabulaire, modèle · indices : x&lt;y, l&#x27;aide",
        ("d", "u1", "b"): "annotation humaine",
        ("d", "u2", "a"): "score 1,00",
    }
    assert _tooltips(ut.iloc[0:0]) == {} and _tooltips(None) == {}


def test_axis_of_nearest_axis_else_section():
    from pipeline.report.html import _axis_of

    ids = ["s", "a", "g", "o", "x", "loop"]
    parents = ["", "s", "a", "g", "s", "loop"]
    kinds = ["section", "axis", "group", "objective", "action", "objective"]
    assert _axis_of(ids, parents, kinds) == {"s": "", "a": "s", "g": "a", "o": "a", "x": "s",
                                             "loop": ""}


def test_plain_drops_attrs_without_copying():
    from pipeline.report.html import _plain, _records

    df = pd.DataFrame({"a": [1, 2], "b": ["x", None]})
    df.attrs["big"] = list(range(10))
    plain = _plain(df)
    assert plain.attrs == {} and df.attrs["big"] == list(range(10))
    assert plain["a"].tolist() == [1, 2]
    recs = _records(df)
    assert recs[0] == {"a": 1, "b": "x"}
    assert recs[1]["a"] == 2 and pd.isna(recs[1]["b"])  # missing text stays missing


def test_report_same_with_batch_benchmarks_as_with_dicts(fx, tmp_path):
    """Benchmarks of compare.benchmark_all (lazy tables, rendered from records) give the same
    page as the same benchmarks turned into plain dicts of DataFrames."""
    from pipeline import compare

    batch = compare.benchmark_all(fx["tables"])
    assert set(batch) == {"ittre-2019", "saint-leger-2025", "trooz-2019"}
    as_dicts = {d: {f.name: getattr(b, f.name) for f in dataclasses.fields(b)}
                for d, b in compare.benchmark_all(fx["tables"]).items()}
    args = (fx["tables"], fx["documents"], fx["units"], fx["unit_themes"], fx["codebook"])
    page = render_html(*args, batch, {})
    assert page == render_html(*args, as_dicts, {})
    trooz = article(page, "trooz-2019")
    # trooz's peers are Ittre and Saint-Léger (theme_matrix.csv)
    assert "Comparée à 2 autres déclarations." in trooz


def test_figures_are_png_and_deterministic(fx):
    a = render_figures(fx["tables"], fx["codebook"])
    b = render_figures(fx["tables"], fx["codebook"])
    assert set(a) == set(FIGURE_FILES)
    for name in FIGURE_FILES:
        assert a[name].startswith(b"\x89PNG\r\n\x1a\n"), name
        assert a[name] == b[name], name
        assert b"Software" not in a[name] and b"matplotlib" not in a[name]


def test_figures_rendered_apart_are_those_of_build_report(fx, built, tmp_path):
    assert [d for d, _ in figure_docs(fx["documents"], fx["tables"])] == [
        "ittre-2019", "saint-leger-2025", "trooz-2019"]  # by label; the file in error left out
    figures = report_figures(fx["tables"], fx["documents"], fx["codebook"])
    assert set(figures) == set(FIGURE_FILES)
    for name in FIGURE_FILES:
        assert figures[name] == (built / "figures" / name).read_bytes(), name
    paths = write_figures(tmp_path, figures)
    assert sorted(p.name for p in paths) == sorted(FIGURE_FILES)
    assert all(p.read_bytes() == figures[p.name] for p in paths)


def test_strategic_plans_are_no_row_of_the_figures(fx):
    """A plan (doc_kind pst) is traced against its declaration, never compared: the figures
    (theme heatmap, similarity) have no row for it, as similarity.csv has none."""
    docs = fx["documents"].copy()
    docs["doc_kind"] = "declaration"
    first = str(docs.loc[docs["status"].astype(str) == "ok", "doc_id"].iloc[0])
    docs.loc[docs["doc_id"].astype(str) == first, "doc_kind"] = "pst"
    rows = [d for d, _ in figure_docs(docs, fx["tables"])]
    assert first not in rows
    assert rows == [d for d, _ in figure_docs(fx["documents"], fx["tables"]) if d != first]


def test_prepare_html_then_finish_is_render_html(fx, built, page):
    args = (fx["tables"], fx["documents"], fx["units"], fx["unit_themes"], fx["codebook"],
            fx["benchmarks"])
    finish = prepare_html(*args)
    figures = {n: (built / "figures" / n).read_bytes() for n in FIGURE_FILES}
    assert finish(figures) == page
    assert finish({}) == render_html(*args, {}) != page
    assert "data:image/png" not in finish({})


def test_figures_survive_empty_tables():
    figs = render_figures({}, [])
    assert all(figs[n].startswith(b"\x89PNG") for n in FIGURE_FILES)


# --------------------------------------------------------------------------- the page


def test_files_written_and_figures_embedded(built, page):
    assert sorted(p.name for p in (built / "figures").iterdir()) == sorted(FIGURE_FILES)
    srcs = re.findall(r'<img src="data:image/png;base64,([^"]+)"', page)
    assert len(srcs) == 3
    files = {(built / "figures" / n).read_bytes() for n in FIGURE_FILES}
    assert {base64.b64decode(s) for s in srcs} == files
    assert not list(built.glob(".*.tmp"))


def test_self_contained_no_external_resource(page):
    assert "<link" not in page
    assert "@import" not in page
    for attr in re.findall(r'\b(?:src|href)="([^"]*)"', page):
        # inline data, anchors, or the profile pages written beside the report
        assert attr.startswith(("data:", "#")) or re.fullmatch(r"profiles/[\w.%-]+\.html",
                                                               attr), attr
    assert "http://" not in page and "https://" not in page
    assert re.search(r"<style>.*\.chip.*</style>", page, re.S)
    assert "<script>" in page and "addEventListener" in page


def test_report_is_deterministic(fx, built, tmp_path):
    build_report(fx["tables"], fx["documents"], fx["units"], fx["unit_themes"], fx["codebook"],
                 tmp_path, fx["benchmarks"])
    assert (tmp_path / "report.html").read_bytes() == (built / "report.html").read_bytes()
    for n in FIGURE_FILES:
        assert (tmp_path / "figures" / n).read_bytes() == (built / "figures" / n).read_bytes()


def test_text_is_escaped(page):
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page   # Trooz u0005, in the tree
    # error message of scan-illisible: «fra» kept, double quotes escaped
    assert "OCR «fra» indisponible : installez &quot;tesseract-ocr-fra&quot;" in page
    # the JSON block cannot be closed by a declaration's text
    block = re.search(r'id="report-data">(.*?)</script>', page, re.S).group(1)
    assert "<" not in block and ">" not in block


def test_page_is_french_with_summary(page):
    assert '<html lang="fr">' in page
    summary = re.search(r'<p class="summary" id="summary">(.*?)</p>', page, re.S).group(1)
    # 3 documents with status ok, 1 error; content units: Ittre 6, Trooz 7, Saint-Léger 4
    assert "<b>3</b> déclarations analysées" in summary
    assert "1 fichier en erreur" in summary
    assert "<b>17</b> unités de contenu" in summary
    assert "<b>5</b> axes" in summary            # 2 + 2 + 1
    assert "<b>7</b> objectifs" in summary       # 3 + 2 + 2
    assert "<b>2</b> actions" in summary         # Ittre u0008, Trooz u0006
    assert "<b>2</b> énoncés" in summary         # Trooz u0009, Saint-Léger u0005
    assert "<b>6</b> thèmes" in summary


def test_documents_table(page):
    table = re.search(r'<table class="docs" id="documents-table">(.*?)</table>', page, re.S).group(1)
    rows = re.findall(r"<tr[ >].*?</tr>", table.split("<tbody>")[1], re.S)
    assert len(rows) == 4
    # sorted by commune, the document in error last
    assert [re.search(r"<td>(?:<a [^>]*>)?([^<]+)", r).group(1) for r in rows] == [
        "Ittre", "Saint-Léger", "Trooz", "scan-illisible"]
    assert "27/05/2019" in rows[0] and "analysée" in rows[0]
    assert "1\u202f150" in rows[2]
    assert 'class="row-error"' in rows[3] and "erreur" in rows[3]
    assert "PDF scanné (OCR)" in rows[3]


def test_one_section_per_analysed_declaration(page):
    ids = re.findall(r'<article class="decl" id="(doc-\d+)" data-doc="([^"]+)"', page)
    assert ids == [("doc-1", "ittre-2019"), ("doc-2", "saint-leger-2025"),
                   ("doc-3", "trooz-2019")]
    assert 'data-doc="scan-illisible"' not in page
    toc = re.search(r'<nav class="toc".*?</nav>', page, re.S).group(0)
    assert toc.count('href="#doc-') == 3 and "(1 en erreur)" in toc


def test_tree_kinds_indentation_and_collapsed_noncontent(page):
    trooz = article(page, "trooz-2019")
    # title + navigation collapsed together, not shown as content lines
    assert re.search(r'<li class="noncontent"><details><summary>titre, navigation — 2 éléments '
                     r"non analysés</summary>.*?Accueil &gt; Vie sociale &gt; CPAS", trooz, re.S)
    line = re.search(r'<li class="u k-action d3" id="u-3-u0006">(.*?)</li>', trooz).group(1)
    assert '<span class="label">a)</span>' in line
    # themes in the order of units.themes: logement then acces_droits
    assert re.findall(r'data-theme="(\w+)"', line) == ["logement", "acces_droits"]
    assert '<li class="u k-group d1" id="u-3-u0004">' in trooz
    assert '<li class="u k-axis" id="u-3-u0003">' in trooz  # depth 0: no indent class
    ittre = article(page, "ittre-2019")
    assert re.search(r"signature — 1 élément non analysé</summary>.*?Le Président, J. Dupont",
                     ittre, re.S)
    assert '<span class="page">p.\u00a03</span>' in ittre  # u0008


def test_chip_tooltip_has_score_sources_and_evidence(page):
    trooz = article(page, "trooz-2019")
    line = re.search(r'id="u-3-u0005".*?</li>', trooz).group(0)
    # unit_themes: trooz u0005 logement 0.93 vocabulary;model expulsion
    assert ('<span class="chip" data-theme="logement" title="score 0,93 · vocabulaire, modèle · '
            'indices : expulsion">Logement</span>') in line
    # chip colours: one CSS rule per theme, codebook colour, readable text colour
    assert '.chip[data-theme="logement"]{--c:#009E73;--fg:#111111}' in page
    assert '.chip[data-theme="acces_droits"]{--c:#0072B2;--fg:#ffffff}' in page


def test_theme_profile_of_a_declaration(page):
    trooz = article(page, "trooz-2019")
    profile = re.search(r'<div class="profile">(.*?)</div>', trooz, re.S).group(1)
    # present themes by descending share: logement 0.5714, sante 0.4286, acces_droits 0.1429
    assert re.findall(r'data-theme="(\w+)"', profile) == ["logement", "sante", "acces_droits"]
    assert "<b>57\u00a0%</b>" in profile
    assert "Absents : Emploi et insertion, Inclusion numérique, Énergie" in profile


def test_benchmark_box(page):
    trooz = article(page, "trooz-2019")
    bench = re.search(r'<aside class="bench">(.*?)</aside>', trooz, re.S).group(1)
    assert "Comparée à 2 autres déclarations." in bench
    uniq = re.search(r"rares ailleurs</h5>(.*?)</div>", bench, re.S).group(1)
    assert re.findall(r'data-theme="(\w+)"', uniq) == ["sante"]
    assert "présent chez 0\u00a0% des autres déclarations" in uniq
    missing = re.search(r"absents ici</h5>(.*?)</div>", bench, re.S).group(1)
    assert re.findall(r'data-theme="(\w+)"', missing) == ["emploi", "numerique"]
    emph = re.search(r'<table class="small emph">(.*?)</table>', bench, re.S).group(1)
    # energie (0 here, 0 elsewhere) is left out; 2 peers: median and rank, never z or centile
    assert "energie" not in emph
    assert ">Médiane</th>" in emph and ">Rang</th>" in emph and ">z</th>" not in emph
    assert "3,6" not in emph and "-5,0" not in emph
    assert re.search(r'<tr class="up"><td><span class="chip" data-theme="logement".*?'
                     r"57\u00a0%.*?12\u00a0%.*?▲ ", emph)
    assert re.search(r'<tr class="down"><td><span class="chip" data-theme="numerique".*?▼ ',
                     emph)
    near = re.search(r'<ul class="near">(.*?)</ul>', bench, re.S).group(1)
    assert '<b>vocabulaire</b> : <a href="#doc-1">Ittre</a> (0,21), <a href="#doc-2">Saint-Léger</a> (0,18)' in near
    assert '<b>thèmes</b> : <a href="#doc-2">Saint-Léger</a> (0,25), <a href="#doc-1">Ittre</a> (0,10)' in near
    assert re.findall(r'<span class="term"[^>]*>([^<]+)</span>', bench) == ["expulsion",
                                                                             "santé mentale"]
    ittre = article(page, "ittre-2019")
    assert re.search(r"rares ailleurs</h5><p class=\"muted\">aucun</p>", ittre)
    assert "Profil comparé indisponible" in article(page, "saint-leger-2025")


def test_benchmark_box_statistics_from_ten_peers(fx):
    b = dict(fx["benchmarks"]["trooz-2019"], n_peers=12)
    page = render_html(fx["tables"], fx["documents"], fx["units"], fx["unit_themes"],
                       fx["codebook"], {"trooz-2019": b}, {})
    emph = re.search(r'<table class="small emph">(.*?)</table>', article(page, "trooz-2019"),
                     re.S).group(1)
    assert ">z</th>" in emph and ">Médiane</th>" not in emph
    assert re.search(r'<tr class="up"><td><span class="chip" data-theme="logement".*?'
                     r"57\u00a0%.*?12\u00a0%.*?▲ \+3,6", emph)
    assert re.search(r'<tr class="down"><td><span class="chip" data-theme="numerique".*?▼ -5,0',
                     emph)


def test_benchmark_dataclass_and_unknown_shape(fx):
    @dataclasses.dataclass
    class Bench:  # same field names as pipeline.compare.Benchmark
        doc_id: str
        commune_label: str
        n_peers: int
        unique_themes: pd.DataFrame
        missing_themes: pd.DataFrame
        emphasis: pd.DataFrame
        nearest: pd.DataFrame
        terms: pd.DataFrame

    b = fx["benchmarks"]["trooz-2019"]
    bench = Bench(**{f.name: b[f.name] for f in dataclasses.fields(Bench)})
    other = {"mystery_table": pd.DataFrame({"theme": ["emploi"], "share_units": [0.25]})}
    page = render_html(fx["tables"], fx["documents"], fx["units"], fx["unit_themes"],
                       fx["codebook"], {"trooz-2019": bench, "ittre-2019": other}, {})
    trooz = article(page, "trooz-2019")
    assert "Comparée à 2 autres déclarations." in trooz and "santé mentale" in trooz
    ittre = article(page, "ittre-2019")
    assert "<h5>Mystery table</h5>" in ittre
    assert re.search(r'data-theme="emploi".*?25\u00a0%', ittre, re.S)
    single = dict(b, n_peers=0)
    page = render_html(fx["tables"], fx["documents"], fx["units"], fx["unit_themes"],
                       fx["codebook"], {"trooz-2019": single}, {})
    assert "pas de comparaison possible" in article(page, "trooz-2019")


def test_extras_partners_and_shared_sentences(page):
    ittre = article(page, "ittre-2019")
    assert "phrases reprises dans d'autres déclarations : 10\u00a0% (1 sur 10)" in ittre
    assert "partenaires cités : Forem" in ittre
    assert "volet budgétaire : non" in ittre and "PST cité : oui" in ittre


def test_interactive_table_data(page):
    data = embedded_data(page)
    assert [d[0] for d in data["docs"]] == ["ittre-2019", "saint-leger-2025", "trooz-2019"]
    rows = data["rows"]
    assert len(rows) == 17                      # content units only
    assert sum(r[2] == "objective" for r in rows) == 7
    by_key = {(data["docs"][r[0]][0], r[1]): r for r in rows}
    assert ("trooz-2019", "u0002") not in by_key  # navigation
    assert [t[0] for t in data["themes"]] == ["acces_droits", "emploi", "logement", "sante",
                                              "numerique", "energie"]
    # [doc index, unit_id, kind, axis unit_id, theme indexes]; texts are read from the tree
    assert by_key[("trooz-2019", "u0006")][2:] == ["action", "u0003", [2, 0]]
    assert by_key[("trooz-2019", "u0005")][3] == "u0003"   # objective under a group
    assert by_key[("saint-leger-2025", "u0005")][4] == []
    assert by_key[("ittre-2019", "u0003")][3] == ""        # an axis has no axis above it
    assert "Accompagner les locataires" not in json.dumps(data, ensure_ascii=False)


def test_no_ok_document_still_builds(fx, tmp_path):
    docs = fx["documents"].assign(status="error", error="fichier illisible")
    empty = {"theme_matrix": fx["tables"]["theme_matrix"].iloc[0:0]}
    path = build_report(empty, docs, fx["units"].iloc[0:0], fx["unit_themes"].iloc[0:0],
                        fx["codebook"], tmp_path, {})
    page = path.read_text(encoding="utf-8")
    assert "<b>0</b> déclaration analysée" in page
    assert "Aucune déclaration analysée." in page
    assert page.count("fichier illisible") == 4
    assert embedded_data(page)["rows"] == []


def test_units_without_themes_column(fx, tmp_path):
    units = fx["units"].drop(columns=["themes"])
    path = build_report(fx["tables"], fx["documents"], units, fx["unit_themes"].iloc[0:0],
                        fx["codebook"], tmp_path, None)
    data = embedded_data(path.read_text(encoding="utf-8"))
    assert len(data["rows"]) == 17 and all(r[4] == [] for r in data["rows"])


# --------------------------------------------------------------------------- in a browser


def _chromium(args: list[str], timeout: int = 90) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--no-first-run", f"--user-data-dir={profile}", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def _dom(report: Path, fragment: str = ""):
    import lxml.html

    proc = _chromium(["--virtual-time-budget=5000", "--dump-dom", report.as_uri() + fragment])
    assert proc.returncode == 0, proc.stderr[-2000:]
    return lxml.html.fromstring(proc.stdout)


browser = pytest.mark.skipif(CHROMIUM is None, reason="chromium absent (Debian package chromium)")


@pytest.mark.browser
@browser
def test_browser_renders_table_with_default_filter(built):
    dom = _dom(built / "report.html")
    assert dom.body.get("data-report-ready") == "1"
    table = dom.get_element_by_id("units-table")
    # default kind filter = objective: 7 objectives of 17 content units
    assert (table.get("data-shown"), table.get("data-total")) == ("7", "17")
    rows = table.xpath("./tbody/tr")
    assert len(rows) == 7 and {r.get("data-kind") for r in rows} == {"objective"}
    assert dom.get_element_by_id("f-count").text_content() == "7 unités sur 17"
    # select options built by the script: all + 6 themes + (sans thème)
    assert len(dom.get_element_by_id("f-theme").xpath("./option")) == 8
    # the figures are there, as data URIs
    assert len(dom.xpath('//img[starts-with(@src, "data:image/png;base64,")]')) == 3


@pytest.mark.browser
@browser
@pytest.mark.parametrize("fragment, expected", [
    # "expulsion": Trooz u0004 (group) and u0005 (objective)
    ("#objectifs?q=expulsion&kind=all", 2),
    # accents and case ignored: "équité" in Ittre u0004
    ("#objectifs?q=EQUITE", 1),
    # logement: Trooz u0003 u0004 u0005 u0006, Saint-Léger u0004
    ("#objectifs?theme=logement&kind=all", 5),
    ("#objectifs?commune=ittre-2019&kind=action", 1),
    # units without theme: Saint-Léger u0005 only
    ("#objectifs?theme=__none&kind=all", 1),
    ("#objectifs?q=rien-de-tel", 0),
    # metadata columns are filters too: Trooz is the one declaration of Liège (7 content units)
    ("#objectifs?province=Li%C3%A8ge&kind=all", 7),
    ("#objectifs?province=Li%C3%A8ge&theme=logement&kind=all", 4),
])
def test_browser_filters_from_url(built, fragment, expected):
    table = _dom(built / "report.html", fragment).get_element_by_id("units-table")
    assert table.get("data-matched") == str(expected)
    if expected:
        assert len(table.xpath("./tbody/tr")) == expected


@pytest.mark.browser
@browser
def test_browser_highlights_and_escapes(built):
    dom = _dom(built / "report.html", "#objectifs?q=expulsion&kind=objective")
    row = dom.get_element_by_id("units-table").xpath("./tbody/tr")[0]
    assert [m.text for m in row.xpath(".//mark")] == ["expulsion"]
    text = row.xpath('./td[@class="t-text"]')[0].text_content()
    assert text == "Créer une cellule de prévention des expulsions <script>alert(1)</script>"
    assert not dom.xpath('//td[@class="t-text"]//script')


@pytest.mark.browser
@browser
def test_browser_sorts_by_text_descending(built):
    table = _dom(built / "report.html", "#objectifs?sort=text&dir=desc").get_element_by_id(
        "units-table")
    texts = [td.text_content() for td in table.xpath('./tbody/tr/td[@class="t-text"]')]
    assert texts[0].startswith("Soutenir") and texts[1].startswith("Renforcer")
    assert texts[-1] == "Créer un logement de transit"
    th = table.xpath('.//th[@data-key="text"]')[0]
    assert th.get("aria-sort") == "descending"


@pytest.mark.browser
@browser
def test_browser_screenshot(built, tmp_path):
    shot = tmp_path / "shot.png"
    proc = _chromium([f"--screenshot={shot}", "--window-size=1400,2400",
                      (built / "report.html").as_uri()])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 50_000


@pytest.mark.browser
@browser
def test_browser_row_texts_come_from_the_tree(built):
    dom = _dom(built / "report.html", "#objectifs?commune=trooz-2019&kind=action")
    rows = dom.get_element_by_id("units-table").xpath("./tbody/tr")
    assert len(rows) == 1
    cells = [td.text_content() for td in rows[0].xpath("./td")]
    assert cells == ["Trooz", "action", "a)", "Accompagner les locataires en difficulté de paiement",
                     "AXE 1 : Logement digne", "LogementAccès aux droits"]
    assert rows[0].xpath("./td/a/@href") == ["#u-3-u0006"]


def test_matrix_cells_link_to_their_units(page):
    matrix = re.search(r'<table class="matrix" id="matrix">(.*?)</table>', page, re.S).group(1)
    # one row per declaration read (3), one column per theme of the codebook
    assert len(re.findall(r"<tr data-doc=", matrix)) == 3
    cell = re.search(r'<tr data-doc="trooz-2019">.*?</tr>', matrix, re.S).group(0)
    # logement: 4 of Trooz's 7 content units (57 %)
    assert ('href="#objectifs?commune=trooz-2019&amp;theme=logement&amp;kind=all"' in cell
            and ">57</a>" in cell)
    assert "cliquer pour les voir" in cell


def test_metadata_columns_become_filters(page):
    block = re.search(r'id="report-data">(.*?)</script>', page, re.S).group(1)
    data = json.loads(block.replace("\\u003c", "<").replace("\\u003e", ">").replace(
        "\\u0026", "&"))
    meta = {m[0]: m[2] for m in data["meta"]}
    names = [d[0] for d in data["docs"]]
    assert meta["province"][names.index("trooz-2019")] == "Liège"
    assert "sha256" not in meta and "doc_id" not in meta
    assert '<section id="cote-a-cote">' in page


def test_human_labels_shown_next_to_the_machine(fx):
    units = fx["units"].copy()
    units["labelled_by"] = ""
    units["themes_machine"] = ""
    i = units.index[(units["doc_id"] == "trooz-2019") & (units["unit_id"] == "u0005")][0]
    units.loc[i, ["labelled_by", "themes"]] = ["human", "logement;sante"]
    units.loc[i, "themes_machine"] = "logement;acces_droits"
    page = render_html(fx["tables"], fx["documents"], units, fx["unit_themes"], fx["codebook"],
                       fx["benchmarks"], {})
    li = re.search(r'<li[^>]*id="u-\d+-u0005"[^>]*>.*?</li>', article(page, "trooz-2019"),
                   re.S).group(0)
    assert "annotation :" in li and "automatique :" in li
    machine = li.split("automatique :")[1]
    assert re.search(r'agree-yes">=</span><span class="chip" data-theme="logement"', machine)
    assert re.search(r'agree-no">≠</span><span class="chip" data-theme="acces_droits"', machine)
    assert "manque : 1" in machine  # sante, given by the human only
    # the overview gives the agreement on the one annotated unit: 1 of 2 themes in common
    assert "1 unités de contenu portent une annotation humaine" in page
    assert "F1 50" in page


@pytest.mark.browser
@browser
def test_browser_side_by_side_table(built):
    dom = _dom(built / "report.html")
    # the first two declarations in report order by default; one row per theme either treats
    heads = [dom.get_element_by_id(h).text_content() for h in ("cmp-ha", "cmp-hb")]
    assert heads == ["Ittre", "Saint-Léger"]
    rows = dom.get_element_by_id("cmp-table").xpath("./tbody/tr")
    themes = [r.xpath(".//span[@data-theme]")[0].get("data-theme") for r in rows]
    assert "acces_droits" in themes and len(themes) == len(set(themes))
    # Ittre's acces_droits share (50 %) links to its units
    cells = rows[themes.index("acces_droits")].xpath("./td")
    assert cells[1].text_content().startswith("50")
    assert "commune=ittre-2019" in cells[1].xpath(".//a")[0].get("href")
