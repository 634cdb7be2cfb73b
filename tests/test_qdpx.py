"""Tests of pipeline.qdpx (REFI-QDA 1.5 export).

Fixture (tests/fixtures/qdpx/): two declarations (ville-a-2019, ville-b-2025) and a third in
error (no text), their units, unit_themes and a stand-in codebook of 8 themes.  Expected values
below are read off those files by hand: 7 themed units (A: u02 u03 u04 u05 u06, B: u03 u04),
9 (unit, theme) rows for the two readable documents, 1 row for the document in error.
"""

from __future__ import annotations

import math
import re
import uuid
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
import tomllib

from pipeline import qdpx
from pipeline.qdpx import content_span, export_qdpx, read_qdpx

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures" / "qdpx"
XSD = ROOT / ".." / "shared" / "refi-qda" / "Project-mrt2019.xsd"
NS = "urn:QDA-XML:project:1.0"
Q = f"{{{NS}}}"
GUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
                     r"|\{[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}")


@dataclass
class Theme:
    """Stand-in for pipeline.classify.codebook.Theme (same fields)."""

    id: str
    label: str
    definition: str = ""
    includes: str = ""
    excludes: str = ""
    color: str = "#000000"
    terms: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------ fixtures

def _inputs():
    docs = pd.read_csv(FIX / "documents.csv", dtype=str, keep_default_na=False)
    units = pd.read_csv(FIX / "units.csv", keep_default_na=False,
                        dtype={"doc_id": str, "unit_id": str, "text": str, "label": str})
    unit_themes = pd.read_csv(FIX / "unit_themes.csv", keep_default_na=False,
                              dtype={"sources": str, "evidence": str})
    codebook = [Theme(**t) for t in tomllib.loads((FIX / "codebook.toml").read_text("utf-8"))["theme"]]
    texts = {d: (FIX / f"{d}.txt").read_text(encoding="utf-8")
             for d in ("ville-a-2019", "ville-b-2025")}
    return docs, texts, units, unit_themes, codebook


@pytest.fixture(scope="module")
def inputs():
    return _inputs()


@pytest.fixture(scope="module")
def exported(inputs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("qdpx") / "outputs" / "cpas-compare.qdpx"
    return export_qdpx(*inputs, out)


@pytest.fixture(scope="module")
def project(exported):
    """(root element, {zip name: bytes}) of the exported archive."""
    with zipfile.ZipFile(exported) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    return ET.fromstring(files["project.qde"]), files


def _texts_by_source(root, files) -> dict[str, str]:
    out = {}
    for src in root.iter(Q + "TextSource"):
        name = "sources/" + src.get("plainTextPath").removeprefix("internal://")
        out[src.get("guid")] = files[name].decode("utf-8")
    return out


def check_essentials(path: Path, n_codes: int) -> tuple[ET.Element, dict[str, bytes]]:
    """Assert the REFI-QDA essentials on an exported archive, independently of read_qdpx."""
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        files = {n: zf.read(n) for n in zf.namelist()}
    assert "project.qde" in files
    assert all(n == "project.qde" or n.startswith("sources/") for n in files)
    root = ET.fromstring(files["project.qde"])
    # namespace
    assert root.tag == Q + "Project"
    assert all(el.tag.startswith(Q) for el in root.iter())
    # GUIDs well formed and unique; every reference points at an existing GUID
    guids = [el.get("guid") for el in root.iter() if el.get("guid") is not None]
    assert guids and all(GUID_RE.fullmatch(g) for g in guids)
    assert len(guids) == len(set(guids))
    refs = [el.get("targetGUID") for el in root.iter() if el.get("targetGUID") is not None]
    refs += [root.get("creatingUserGUID")]
    refs += [el.get("creatingUser") for el in root.iter() if el.get("creatingUser")]
    assert set(refs) <= set(guids)
    # codes: one per theme
    codes = list(root.iter(Q + "Code"))
    assert len(codes) == n_codes
    # sources: every referenced file is in the ZIP, UTF-8 without BOM, and nothing else is
    referenced = set()
    for src in root.iter(Q + "TextSource"):
        p = src.get("plainTextPath")
        assert p.startswith("internal://")
        name = "sources/" + p.removeprefix("internal://")
        assert name in files, name
        assert not files[name].startswith(b"\xef\xbb\xbf")
        files[name].decode("utf-8")
        referenced.add(name)
    assert referenced == {n for n in files if n.startswith("sources/")}
    # selections inside their source text
    texts = _texts_by_source(root, files)
    for src in root.iter(Q + "TextSource"):
        n = len(texts[src.get("guid")])
        for sel in src.iter(Q + "PlainTextSelection"):
            s, e = int(sel.get("startPosition")), int(sel.get("endPosition"))
            assert 0 <= s < e <= n
            assert sel.findall(Q + "Coding")
    return root, files


# ------------------------------------------------------------------------------ tests

def test_essentials(exported):
    check_essentials(exported, n_codes=8)


def test_zip_layout_and_fixed_timestamps(exported):
    with zipfile.ZipFile(exported) as zf:
        infos = zf.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert names[0] == "project.qde"
    assert len(names) == 3  # project.qde + two readable declarations (not the one in error)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}


def test_codes_are_the_codebook(project, inputs):
    root, _ = project
    codebook = inputs[4]
    codes = list(root.iter(Q + "Code"))
    assert [c.get("name") for c in codes] == [t.label for t in codebook]
    assert [c.get("color").lower() for c in codes] == [t.color.lower() for t in codebook]
    assert all(c.get("isCodable") == "true" for c in codes)
    emploi = codes[0].find(Q + "Description").text
    assert "Mise à l'emploi" in emploi and "Exclut : emploi du personnel du CPAS" in emploi


def test_sources_are_the_normalised_texts(project, inputs):
    root, files = project
    texts = inputs[1]
    got = _texts_by_source(root, files)
    assert sorted(got.values()) == sorted(texts.values())
    names = sorted(s.get("name") for s in root.iter(Q + "TextSource"))
    assert names == ["Saint-Gérard 2019-2024", "Ébly-sur-Meuse 2025-2030"]


def test_selections_and_codings(project, inputs):
    root, _ = project
    code_ids = {c.get("guid"): c.find(Q + "Description").text.rsplit(": ", 1)[1]
                for c in root.iter(Q + "Code")}
    got = {}
    for src in root.iter(Q + "TextSource"):
        for sel in src.iter(Q + "PlainTextSelection"):
            got[(src.get("name"), sel.get("startPosition"))] = sorted(
                code_ids[c.find(Q + "CodeRef").get("targetGUID")] for c in sel.iter(Q + "Coding"))
    assert len(got) == 7
    assert sum(len(v) for v in got.values()) == 9
    assert sorted(map(tuple, got.values())) == sorted([
        ("cohesion",), ("emploi",), ("emploi", "partenariats"), ("logement",),
        ("energie", "logement"), ("famille",), ("sante",)])


def test_selection_text_is_the_unit_text(inputs, exported):
    _, texts, units, unit_themes, _ = inputs
    data = read_qdpx(exported)
    themed = set(zip(unit_themes["doc_id"], unit_themes["unit_id"], strict=True))
    by_text = {}
    for r in units.itertuples():
        if (r.doc_id, r.unit_id) in themed:
            by_text[r.text] = r
    seen = 0
    for src in data["sources"]:
        for sel in src["selections"]:
            collapsed = " ".join(sel["text"].split())
            assert collapsed in by_text, collapsed
            unit = by_text[collapsed]
            assert unit.start <= sel["start"] < sel["end"] <= unit.end
            assert src["text"] == texts[unit.doc_id]
            seen += 1
    assert seen == 7


def test_unicode_offsets_are_code_points(exported):
    data = read_qdpx(exported)
    src = {s["name"]: s for s in data["sources"]}
    a = src["Saint-Gérard 2019-2024"]
    # line 1 and 2 of ville-a-2019.txt, then the label "Axe 1 : "
    line1 = "Déclaration de politique sociale du CPAS de Saint-Gérard"
    line2 = "Législature 2019-2024"
    axe1 = "« Été solidaire » 🎉 pour tous"
    start = len(line1) + 1 + len(line2) + 1 + len("Axe 1 : ")
    sel = next(s for s in a["selections"] if s["start"] == start)
    assert sel["end"] == start + len(axe1)
    assert sel["text"] == axe1
    b = src["Ébly-sur-Meuse 2025-2030"]
    family = "\U0001F468\u200d\U0001F469\u200d\U0001F467"  # 5 code points, 18 UTF-8 bytes
    soins = "Garantir l'accès aux soins de santé : médecine générale et santé mentale"
    sel_b = {s["text"]: s for s in b["selections"]}
    last = sel_b[soins]
    assert last["end"] == len(b["text"]) and b["text"].endswith(soins)
    assert last["start"] == len(b["text"]) - len(soins)
    # 232 code points in ville-b-2025.txt; its UTF-8 form is longer, so byte offsets would differ
    assert len(b["text"]) == 232 and len(b["text"].encode("utf-8")) > 232
    family_sel = next(t for t in sel_b if t.startswith("Soutenir les familles"))
    assert family_sel.endswith("« Maison des parents » " + family)


def test_multiline_unit_with_trailing_colon(exported):
    data = read_qdpx(exported)
    a = next(s for s in data["sources"] if s["name"].startswith("Saint-Gérard"))
    sel = next(s for s in a["selections"] if s["text"].startswith("Lutter"))
    assert sel["text"] == ("Lutter contre la précarité énergétique\n"
                           "des ménages les plus fragiles")


def test_scores_in_selection_description(project):
    root, _ = project
    descs = [s.find(Q + "Description").text for s in root.iter(Q + "PlainTextSelection")]
    d = next(x for x in descs if "Unité u04" in x and "ville-a-2019" in x)
    assert "Emploi et insertion : score 0,85 ; sources : vocabulaire, modèle" in d
    assert "Partenariats : score 0,40 ; sources : contexte ; indices : entreprises" in d
    # highest score first
    assert d.index("Emploi et insertion") < d.index("Partenariats")
    assert any(x.startswith("Unité u02 (axe) de « ville-a-2019 »") for x in descs)
    assert any(x.startswith("Unité u06 (objectif) de « ville-a-2019 »") for x in descs)
    fam = next(x for x in descs if "Unité u03" in x and "ville-b-2025" in x)
    assert "annotation humaine" in fam


def test_case_variables(exported):
    data = read_qdpx(exported)
    types = {v["name"]: v["type"] for v in data["variables"]}
    assert types["commune"] == "Text"
    assert types["législature"] == "Text"
    assert types["date d'adoption"] == "Date"
    assert types["nombre de mots"] == "Integer"
    assert types["province"] == "Text"
    assert not {"sha256", "status", "error"} & set(types)
    cases = {c["name"]: c for c in data["cases"]}
    assert set(cases) == {"Saint-Gérard 2019-2024", "Ébly-sur-Meuse 2025-2030"}
    a = cases["Saint-Gérard 2019-2024"]["values"]
    assert a["commune"] == "Saint-Gérard"
    assert a["législature"] == "2019-2024"
    assert a["mandat"] == "2018-2024"
    assert a["date d'adoption"] == "2019-05-27"
    assert a["province"] == "Namur"
    b = cases["Ébly-sur-Meuse 2025-2030"]["values"]
    assert "date d'adoption" not in b  # empty in documents.csv: no value
    assert b["province"] == "Liège"
    src_by_guid = {s["guid"]: s for s in data["sources"]}
    for name, case in cases.items():
        assert [src_by_guid[g]["name"] for g in case["sources"]] == [name]
        assert src_by_guid[case["sources"][0]]["values"] == case["values"]


def test_date_value_element(project):
    root, _ = project
    dates = [el.text for el in root.iter(Q + "DateValue")]
    # one per declaration with a date, on the Case and on the TextSource
    assert dates == ["2019-05-27", "2019-05-27"]


def test_reexport_is_byte_identical(inputs, exported, tmp_path):
    again = export_qdpx(*inputs, tmp_path / "again.qdpx")
    assert again.read_bytes() == exported.read_bytes()
    docs, texts, units, unit_themes, codebook = inputs
    shuffled = export_qdpx(docs.iloc[::-1], dict(reversed(texts.items())),
                           units.sample(frac=1, random_state=1),
                           unit_themes.sample(frac=1, random_state=2), codebook,
                           tmp_path / "shuffled.qdpx")
    assert shuffled.read_bytes() == exported.read_bytes()


def test_guids_are_stable_names(inputs, project, tmp_path):
    root, _ = project
    docs, texts, units, unit_themes, codebook = inputs
    only_a = export_qdpx(docs[docs["doc_id"] == "ville-a-2019"],
                         {"ville-a-2019": texts["ville-a-2019"]}, units, unit_themes, codebook,
                         tmp_path / "a.qdpx")
    with zipfile.ZipFile(only_a) as zf:
        root_a = ET.fromstring(zf.read("project.qde"))
    all_guids = {el.get("guid") for el in root.iter() if el.get("guid")}
    a_guids = {el.get("guid") for el in root_a.iter() if el.get("guid")}
    assert a_guids <= all_guids  # same names → same GUIDs, whatever else is exported
    assert len(a_guids) < len(all_guids)


def test_created_date(inputs, tmp_path):
    from datetime import datetime, timezone

    when = datetime(2024, 3, 5, 14, 30, 8, tzinfo=timezone.utc)
    path = export_qdpx(*inputs, tmp_path / "dated.qdpx", created=when)
    with zipfile.ZipFile(path) as zf:
        root = ET.fromstring(zf.read("project.qde"))
        assert {i.date_time for i in zf.infolist()} == {(2024, 3, 5, 14, 30, 8)}
    assert root.get("creationDateTime") == "2024-03-05T14:30:08Z"
    assert {s.get("creationDateTime") for s in root.iter(Q + "PlainTextSelection")} == {
        "2024-03-05T14:30:08Z"}


def test_atomic_overwrite_leaves_no_temp(inputs, tmp_path):
    path = tmp_path / "cpas-compare.qdpx"
    path.write_bytes(b"old")
    export_qdpx(*inputs, path)
    assert zipfile.is_zipfile(path)
    assert [p.name for p in tmp_path.iterdir()] == ["cpas-compare.qdpx"]


def test_read_qdpx_roundtrip(exported, inputs):
    data = read_qdpx(exported)
    assert data["project"]["name"] == "cpas-compare"
    assert [u["name"] for u in data["users"]] == ["cpas-compare"]
    assert [c["name"] for c in data["codes"]] == [t.label for t in inputs[4]]
    code_names = {c["guid"]: c["name"] for c in data["codes"]}
    b = next(s for s in data["sources"] if s["name"].startswith("Ébly"))
    sante = next(s for s in b["selections"] if s["text"].startswith("Garantir"))
    assert [code_names[g] for g in sante["codes"]] == ["Santé"]


def test_xsd_validation(exported):
    if not XSD.exists():
        pytest.skip(f"schéma REFI-QDA absent ({XSD}) : présent seulement à côté du projet en CI")
    xmlschema = pytest.importorskip("xmlschema")
    schema = xmlschema.XMLSchema(str(XSD))
    with zipfile.ZipFile(exported) as zf:
        qde = zf.read("project.qde").decode("utf-8")
    errors = list(schema.iter_errors(qde))
    assert not errors, errors[:3]


def test_degenerate_inputs(inputs, tmp_path):
    docs, texts, units, unit_themes, codebook = inputs
    bad_units = units.copy()
    # u03 of ville-a points past the end of the text: skipped, not crashing
    mask = (bad_units["doc_id"] == "ville-a-2019") & (bad_units["unit_id"] == "u03")
    bad_units.loc[mask, ["start", "end"]] = [400, 9999]
    # a control character (form feed from a PDF) in a label must not break the XML
    mask4 = (bad_units["doc_id"] == "ville-a-2019") & (bad_units["unit_id"] == "u04")
    bad_units.loc[mask4, "label"] = "Action\x0c"
    extra = pd.DataFrame([{"doc_id": "ville-b-2025", "unit_id": "u04", "theme": "inconnu",
                           "score": 0.3, "sources": "model", "evidence": ""}])
    ut = pd.concat([unit_themes, extra], ignore_index=True)
    path = export_qdpx(docs, texts, bad_units, ut, codebook, tmp_path / "bad.qdpx")
    root, _ = check_essentials(path, n_codes=9)  # 8 themes + the unknown one
    assert len(list(root.iter(Q + "PlainTextSelection"))) == 6
    assert "inconnu" in [c.get("name") for c in root.iter(Q + "Code")]
    # no themes at all: codes and sources, no selection
    empty = export_qdpx(docs, texts, units, unit_themes.iloc[0:0], codebook,
                        tmp_path / "empty.qdpx")
    root, _ = check_essentials(empty, n_codes=8)
    assert not list(root.iter(Q + "PlainTextSelection"))
    assert len(list(root.iter(Q + "TextSource"))) == 2
    if XSD.exists():
        xmlschema = pytest.importorskip("xmlschema")
        schema = xmlschema.XMLSchema(str(XSD))
        for p in (path, empty):
            with zipfile.ZipFile(p) as zf:
                schema.validate(zf.read("project.qde").decode("utf-8"))


@pytest.mark.parametrize("text, start, end, unit_text, expected", [
    ("Axe 1 : Logement", 0, 16, "Logement", "Logement"),
    ("xx\nObjectif 2 : Lutter contre\n  la pauvreté :", 3, 45, "Lutter contre la pauvreté",
     "Lutter contre\n  la pauvreté"),
    ("- Santé mentale", 0, 15, "Santé mentale", "Santé mentale"),
    # text that cannot be found: the whole span without surrounding blanks
    ("  Bloc  ", 0, 8, "autre chose", "Bloc"),
    ("Titre seul", 0, 10, "", "Titre seul"),
    # a blank span: kept whole
    ("a   b", 1, 4, "autre chose", "   "),
])
def test_content_span(text, start, end, unit_text, expected):
    s, e = content_span(text, start, end, unit_text)
    assert text[s:e] == expected


def test_make_guid_is_uuid5():
    """make_guid is uuid5 of the parts joined by U+001F in the export's namespace, upper-case
    (checked against the uuid module, whose objects the export no longer builds)."""
    cases = [("code", "emploi"), ("source", "cpas-ébly-2025"), ("coding", "d", "u0001", "santé"),
             ("selection", "🎉", ""), ("variable", 3), ("user",)]
    for kind, *parts in cases:
        name = "\x1f".join([kind, *map(str, parts)])
        assert qdpx.make_guid(kind, *parts) == str(uuid.uuid5(qdpx.GUID_NAMESPACE, name)).upper()
    # the namespace itself must never change (GUIDs shared with earlier exports)
    assert qdpx.GUID_NAMESPACE == uuid.uuid5(uuid.NAMESPACE_URL,
                                             "https://github.com/cpas-compare/qdpx")


def test_selection_and_coding_guids_are_make_guid(project):
    """The GUIDs written for selections and codings are make_guid of their stable names."""
    root, _ = project
    theme_of = {c.get("guid"): c.find(Q + "Description").text.rsplit(": ", 1)[1]
                for c in root.iter(Q + "Code")}
    n = 0
    for sel in root.iter(Q + "PlainTextSelection"):
        m = re.match(r"Unité (\S+) \(.*\) de « (.+) »\.", sel.find(Q + "Description").text)
        uid, doc = m.groups()
        assert sel.get("guid") == str(uuid.uuid5(
            qdpx.GUID_NAMESPACE, f"selection\x1f{doc}\x1f{uid}")).upper()
        for coding in sel.iter(Q + "Coding"):
            theme = theme_of[coding.find(Q + "CodeRef").get("targetGUID")]
            assert coding.get("guid") == str(uuid.uuid5(
                qdpx.GUID_NAMESPACE, f"coding\x1f{doc}\x1f{uid}\x1f{theme}")).upper()
            n += 1
    assert n == 9


def test_project_xml_is_elementtree_serialisation(project):
    """project.qde is written as text: it must be exactly what ElementTree writes for the same
    tree (ET.indent with two spaces, then ET.tostring), namespace declarations included."""
    _, files = project
    qde = files["project.qde"].decode("utf-8")
    root = ET.fromstring(qde)
    xsi = "http://www.w3.org/2001/XMLSchema-instance"
    for el in root.iter():
        el.tag = el.tag.removeprefix(Q)
    attrs = dict(root.attrib)
    root.attrib.clear()
    root.attrib.update({"xmlns": NS, "xmlns:xsi": xsi,
                        "xsi:schemaLocation": attrs.pop(f"{{{xsi}}}schemaLocation"), **attrs})
    ET.indent(root, space="  ")
    expected = ('<?xml version="1.0" encoding="utf-8"?>\n'
                + ET.tostring(root, encoding="unicode") + "\n")
    assert qde == expected


NASTY = ["", "plain", "a & b", "<tag>", 'say "hi"', "tab\there", "cr\rlf\n", "form\x0cfeed",
         "\x00\x01", "lone \ud800 surrogate", "\ufffe\uffff", "é « » … 🎉", "  spaces  ",
         "&amp; already", "\x0c"]


@pytest.mark.parametrize("value", NASTY)
def test_escaping_matches_elementtree(value):
    # ElementTree after _xml (the export drops the characters XML cannot carry)
    el = ET.Element("a", {"v": qdpx._xml(value)})
    assert ET.tostring(el, encoding="unicode") == f'<a v="{qdpx._escape_attr(value)}" />'
    el = ET.Element("a")
    el.text = qdpx._xml(value)
    assert qdpx._leaf(0, "a", text=value) == "\n" + ET.tostring(el, encoding="unicode")
    assert qdpx._leaf(2, "a", ' k="1"') == '\n    <a k="1" />'


def test_strings_and_column_lists():
    values = ["  a ", "b", None, math.nan, 3.0, 2.5, 7, pd.NA, "", "\u00a0x\t"]
    assert qdpx._strings(values) == [qdpx._s(v) for v in values] == [
        "a", "b", "", "", "3", "2.5", "7", "", "", "x"]
    df = pd.DataFrame({"s": pd.Series(["x", None], dtype="str"), "n": [1, 2]})
    cols = qdpx._column_lists(df, ("s", "n", "absent"))
    assert cols["s"][0] == "x" and qdpx._s(cols["s"][1]) == ""
    assert cols["n"] == [1, 2]
    assert len(cols["absent"]) == 2 and all(math.isnan(v) for v in cols["absent"])
    assert qdpx._column_lists(None, ("a",)) == {"a": []}


def test_make_guid_deterministic():
    g = qdpx.make_guid("code", "emploi")
    assert g == qdpx.make_guid("code", "emploi")
    assert g != qdpx.make_guid("code", "logement")
    assert g != qdpx.make_guid("source", "emploi")
    assert GUID_RE.fullmatch(g)


def test_real_codebook_if_available(inputs, tmp_path):
    from pipeline.classify.codebook import load_codebook

    themes = load_codebook()
    docs, texts, units, _, _ = inputs
    ut = pd.DataFrame([{"doc_id": "ville-a-2019", "unit_id": "u03", "theme": themes[0].id,
                        "score": 0.9, "sources": "model", "evidence": ""}])
    path = export_qdpx(docs, texts, units, ut, themes, tmp_path / "real.qdpx")
    root, _ = check_essentials(path, n_codes=len({t.id for t in themes}))
    assert [c.get("name") for c in root.iter(Q + "Code")][0] == themes[0].label


@pytest.mark.slow
def test_seed_run_export(seed_run):
    """The whole pipeline on the seed corpus writes a valid project (analyze(report=True))."""
    path = Path(seed_run.out) / "cpas-compare.qdpx"
    assert path.exists()
    codebook_mod = pytest.importorskip("pipeline.classify.codebook")
    n = len({t.id for t in codebook_mod.load_codebook()})
    root, files = check_essentials(path, n_codes=n)
    texts = _texts_by_source(root, files)
    unit_texts = set(seed_run.units["text"])
    n_sel = 0
    for src in root.iter(Q + "TextSource"):
        for sel in src.iter(Q + "PlainTextSelection"):
            s, e = int(sel.get("startPosition")), int(sel.get("endPosition"))
            assert " ".join(texts[src.get("guid")][s:e].split()) in unit_texts
            n_sel += 1
    ok = set(seed_run.documents.loc[seed_run.documents["status"] == "ok", "doc_id"])
    ut = seed_run.unit_themes[seed_run.unit_themes["doc_id"].isin(ok)]
    assert n_sel == len(set(zip(ut["doc_id"], ut["unit_id"], strict=True)))
    assert n_sel > 0
    assert len(list(root.iter(Q + "TextSource"))) == len(ok)
    if XSD.exists():
        xmlschema = pytest.importorskip("xmlschema")
        xmlschema.XMLSchema(str(XSD)).validate(files["project.qde"].decode("utf-8"))
