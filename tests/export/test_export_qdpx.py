"""Tests of pipeline.export.qdpx (REFI-QDA 1.5 export).

Fixture (tests/fixtures/qdpx/): two declarations (ville-a-2019, ville-b-2025) and a third in
error (no text), their units, unit_themes and a stand-in codebook of 8 themes.  Expected values
below are read off those files by hand: 7 themed units (A: u02 u03 u04 u05 u06, B: u03 u04),
9 (unit, theme) rows for the two readable documents, 1 row for the document in error.
"""

from __future__ import annotations

import math
import os
import re
import uuid
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
import tomllib

from pipeline.escape import xml_attr
from pipeline.export import qdpx
from pipeline.export.qdpx import content_span, export_qdpx, read_qdpx

ROOT = Path(__file__).resolve().parents[2]
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


UNIT_LINE = re.compile(r"Unité (\S+) \(.*\) de « (.+) »\.$")


def _theme_codes(root) -> dict[str, str]:
    """GUID → theme id of the theme codes (not the case codes nor their group)."""
    out = {}
    for c in root.iter(Q + "Code"):
        m = re.search(r"Identifiant cpas-compare : (\S+)$", c.findtext(Q + "Description") or "")
        if m:
            out[c.get("guid")] = m.group(1)
    return out


def _unit_selections(root, source=None) -> list:
    """The selections of the final labels (not the machine's second ones nor the case links)."""
    return [s for s in (source if source is not None else root).iter(Q + "PlainTextSelection")
            if UNIT_LINE.match(s.findtext(Q + "Description").split("\n")[0])]


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
    # GUIDs well formed and unique (but for each case and its code, which share one: that is
    # how QualCoder links a case to its text); every reference points at an existing GUID
    guids = [el.get("guid") for el in root.iter() if el.get("guid") is not None]
    assert guids and all(GUID_RE.fullmatch(g) for g in guids)
    cases = {c.get("guid") for c in root.iter(Q + "Case")}
    shared = {g for g, n in Counter(guids).items() if n > 1}
    assert shared <= cases
    kinds = {g: sorted(el.tag for el in root.iter() if el.get("guid") == g) for g in shared}
    assert all(k == [Q + "Case", Q + "Code"] for k in kinds.values()), kinds
    refs = [el.get("targetGUID") for el in root.iter() if el.get("targetGUID") is not None]
    refs += [root.get("creatingUserGUID")]
    refs += [el.get("creatingUser") for el in root.iter() if el.get("creatingUser")]
    assert set(refs) <= set(guids)
    # codes: one per theme, then (when cases are linked) the group of case codes
    codes = root.find(f"{Q}CodeBook/{Q}Codes").findall(Q + "Code")
    group = [c for c in codes if c.get("name") == qdpx.CASE_GROUP_NAME]
    assert len(codes) - len(group) == n_codes == len(_theme_codes(root))
    # users: the human annotator and the machine; every creatingUser is one of them
    users = {u.get("name"): u.get("guid") for u in root.iter(Q + "User")}
    assert list(users) == ["annotation humaine", "cpas-compare (automatique)"]
    assert root.get("creatingUserGUID") == users["cpas-compare (automatique)"]
    assert {el.get("creatingUser") for el in root.iter() if el.get("creatingUser")} <= set(
        users.values())
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
    # each case: a SourceRef to its text and, when linked, a code of its GUID under the group
    # coding that whole text
    by_guid = {s.get("guid"): s for s in root.iter(Q + "TextSource")}
    case_codes = {c.get("guid") for g in group for c in g.findall(Q + "Code")}
    for case in root.iter(Q + "Case"):
        refs = [r.get("targetGUID") for r in case.findall(Q + "SourceRef")]
        assert len(refs) == 1 and refs[0] in by_guid
        if group:
            assert case.get("guid") in case_codes
            whole = [sel for sel in by_guid[refs[0]].iter(Q + "PlainTextSelection")
                     if [c.find(Q + "CodeRef").get("targetGUID")
                         for c in sel.iter(Q + "Coding")] == [case.get("guid")]]
            assert len(whole) == 1
            assert (int(whole[0].get("startPosition")), int(whole[0].get("endPosition"))) == (
                0, len(texts[refs[0]]))
    if group:
        assert len(case_codes) == len(list(root.iter(Q + "Case")))
        assert group[0].get("isCodable") == "false"
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
    codes = [c for c in root.iter(Q + "Code") if c.get("guid") in _theme_codes(root)]
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
    code_ids = _theme_codes(root)
    got = {}
    for src in root.iter(Q + "TextSource"):
        for sel in _unit_selections(root, src):
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
            if not UNIT_LINE.match(sel["description"].split("\n")[0]):
                assert (sel["start"], sel["end"]) == (0, len(src["text"]))  # the case link
                continue
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
    assert [u["name"] for u in data["users"]] == ["annotation humaine",
                                                  "cpas-compare (automatique)"]
    assert [c["name"] for c in data["codes"] if c["parent"] is None][:-1] == [
        t.label for t in inputs[4]]
    assert data["codes"][len(inputs[4])]["name"] == "Déclarations (cas)"
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
    assert len(_unit_selections(root)) == 6
    assert "inconnu" in [c.get("name") for c in root.iter(Q + "Code")]
    # no themes at all: codes and sources, no selection
    empty = export_qdpx(docs, texts, units, unit_themes.iloc[0:0], codebook,
                        tmp_path / "empty.qdpx")
    root, _ = check_essentials(empty, n_codes=8)
    assert not _unit_selections(root)
    assert len(list(root.iter(Q + "PlainTextSelection"))) == 2  # the case links only
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
    theme_of = _theme_codes(root)
    n = 0
    for sel in _unit_selections(root):
        m = UNIT_LINE.match(sel.find(Q + "Description").text.split("\n")[0])
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
    assert ET.tostring(el, encoding="unicode") == f'<a v="{xml_attr(value)}" />'
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


def test_context_kinds_are_the_classifier_s():
    from pipeline.classify.model import CONTEXT_KINDS

    assert qdpx.CONTEXT_KINDS == CONTEXT_KINDS


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
        for sel in _unit_selections(root, src):
            s, e = int(sel.get("startPosition")), int(sel.get("endPosition"))
            assert " ".join(texts[src.get("guid")][s:e].split()) in unit_texts
            n_sel += 1
    ok = set(seed_run.documents.loc[seed_run.documents["status"] == "ok", "doc_id"])
    ut = seed_run.unit_themes[seed_run.unit_themes["doc_id"].isin(ok)]
    assert n_sel == len(set(zip(ut["doc_id"], ut["unit_id"], strict=True)))
    assert n_sel > 0
    assert len(list(root.iter(Q + "TextSource"))) == len(ok)
    # a real date (the newest source file's), never the 1980 fallback
    assert not root.get("creationDateTime").startswith("1980")
    # the machine's labels of the human-labelled units beside them, when the run made them
    machine = getattr(seed_run, "machine_themes", None)
    if machine is not None and len(machine):
        auto = [sel for sel in root.iter(Q + "PlainTextSelection")
                if ": étiquette automatique." in sel.findtext(Q + "Description")]
        assert auto
    if XSD.exists():
        xmlschema = pytest.importorskip("xmlschema")
        xmlschema.XMLSchema(str(XSD)).validate(files["project.qde"].decode("utf-8"))


# ------------------------------------------------------------------------------ users, machine
# labels beside human ones, dates

def _users(root) -> dict[str, str]:
    return {u.get("name"): u.get("guid") for u in root.iter(Q + "User")}


def test_two_users_human_codings_carry_the_human_user(project):
    root, _ = project
    users = _users(root)
    human, machine = users["annotation humaine"], users["cpas-compare (automatique)"]
    assert human != machine
    # the machine keeps the GUID of the single user of earlier exports
    assert machine == qdpx.make_guid("user", "cpas-compare")
    by_unit = {UNIT_LINE.match(s.findtext(Q + "Description").split("\n")[0]).groups(): s
               for s in _unit_selections(root)}
    fam = by_unit[("u03", "ville-b-2025")]  # sources "vocabulary;human"
    assert fam.get("creatingUser") == human
    assert {c.get("creatingUser") for c in fam.iter(Q + "Coding")} == {human}
    others = [s for k, s in by_unit.items() if k != ("u03", "ville-b-2025")]
    assert len(others) == 6
    for sel in others:
        assert sel.get("creatingUser") == machine
        assert {c.get("creatingUser") for c in sel.iter(Q + "Coding")} == {machine}
    assert {s.get("creatingUser") for s in root.iter(Q + "TextSource")} == {machine}


def test_context_line_in_descriptions(project):
    root, _ = project
    descs = {UNIT_LINE.match(d.split("\n")[0]).groups(): d for d in
             (s.findtext(Q + "Description") for s in _unit_selections(root))}
    assert descs[("u04", "ville-a-2019")].endswith(
        "\nContexte : « Été solidaire » 🎉 pour tous | Renforcer l’insertion "
        "socio-professionnelle des bénéficiaires du RIS")
    assert descs[("u03", "ville-b-2025")].endswith("\nContexte : Nos priorités")
    assert "Contexte" not in descs[("u02", "ville-a-2019")]  # an axis: no parent


def _machine_themes() -> pd.DataFrame:
    return pd.DataFrame([
        # the human said "famille": the machine agrees and adds "sante"
        {"doc_id": "ville-b-2025", "unit_id": "u03", "theme": "famille", "score": 0.81,
         "sources": "model", "evidence": "familles"},
        {"doc_id": "ville-b-2025", "unit_id": "u03", "theme": "sante", "score": 0.42,
         "sources": "model", "evidence": ""},
        # final labels already the machine's: ignored (the same codings twice)
        {"doc_id": "ville-a-2019", "unit_id": "u05", "theme": "logement", "score": 0.95,
         "sources": "vocabulary", "evidence": "logement"},
        # a unit the human read and left without theme (so absent from unit_themes)
        {"doc_id": "ville-b-2025", "unit_id": "u02", "theme": "cohesion", "score": 0.5,
         "sources": "model", "evidence": ""},
    ])


@pytest.fixture(scope="module")
def with_machine(inputs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("qdpx-machine") / "cpas-compare.qdpx"
    return export_qdpx(*inputs, out, machine_themes=_machine_themes())


def test_machine_labels_beside_human_ones(with_machine, exported):
    root, files = check_essentials(with_machine, n_codes=8)
    users = _users(root)
    human, machine = users["annotation humaine"], users["cpas-compare (automatique)"]
    themes = _theme_codes(root)
    b = next(s for s in root.iter(Q + "TextSource") if s.get("name").startswith("Ébly"))
    text = _texts_by_source(root, files)[b.get("guid")]
    sels = list(b.iter(Q + "PlainTextSelection"))
    # u03: the human selection and, over the same span, the machine's
    fam = [s for s in sels if "Unité u03 " in s.findtext(Q + "Description")]
    assert [s.get("creatingUser") for s in fam] == [human, machine]
    assert fam[0].get("startPosition") == fam[1].get("startPosition")
    assert fam[0].get("endPosition") == fam[1].get("endPosition")
    assert [[themes[c.find(Q + "CodeRef").get("targetGUID")] for c in s.iter(Q + "Coding")]
            for s in fam] == [["famille"], ["famille", "sante"]]
    assert {c.get("creatingUser") for c in fam[1].iter(Q + "Coding")} == {machine}
    auto = fam[1].findtext(Q + "Description")
    assert auto.startswith("Unité u03 (action) de « ville-b-2025 » : étiquette automatique.\n")
    assert "Familles & enfance : étiquette automatique, score 0,81 ; sources : modèle" in auto
    assert "Santé : étiquette automatique, score 0,42" in auto
    assert "Annotation humaine : Familles & enfance (accord : partiel)" in auto
    assert fam[1].get("name").endswith(" [automatique]")
    assert fam[1].get("guid") == qdpx.make_guid("machine-selection", "ville-b-2025", "u03")
    # u02, read by the human and given no theme: the machine's selection alone
    sec = [s for s in sels if "Unité u02 " in s.findtext(Q + "Description")]
    assert [s.get("creatingUser") for s in sec] == [machine]
    assert "Annotation humaine : aucun thème (accord : aucun)" in sec[0].findtext(
        Q + "Description")
    s, e = int(sec[0].get("startPosition")), int(sec[0].get("endPosition"))
    assert text[s:e] == "Nos priorités"
    # ville-a u05, whose final labels are the machine's: no second selection
    assert sum("Unité u05 " in x.findtext(Q + "Description")
               for x in root.iter(Q + "PlainTextSelection")) == 1
    # everything else as without machine_themes
    plain, _ = check_essentials(exported, n_codes=8)
    assert len(list(root.iter(Q + "PlainTextSelection"))) == len(
        list(plain.iter(Q + "PlainTextSelection"))) + 2
    assert "2 passage(s) annoté(s)" in root.findtext(Q + "Description")


def test_machine_export_validates_against_the_xsd(with_machine):
    if not XSD.exists():
        pytest.skip(f"schéma REFI-QDA absent ({XSD})")
    xmlschema = pytest.importorskip("xmlschema")
    with zipfile.ZipFile(with_machine) as zf:
        xmlschema.XMLSchema(str(XSD)).validate(zf.read("project.qde").decode("utf-8"))


def test_without_case_links(inputs, tmp_path):
    path = export_qdpx(*inputs, tmp_path / "nocase.qdpx", case_links=False)
    root, _ = check_essentials(path, n_codes=8)
    assert len(list(root.iter(Q + "Code"))) == 8
    assert len(list(root.iter(Q + "PlainTextSelection"))) == 7
    assert len(list(root.iter(Q + "SourceRef"))) == 2  # the cases still name their source


def test_dates_are_the_given_date(inputs, tmp_path, monkeypatch):
    from datetime import datetime, timezone

    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    when = datetime(2025, 2, 3, 4, 5, 6, tzinfo=timezone.utc)
    path = export_qdpx(*inputs, tmp_path / "dated.qdpx", created=when,
                       machine_themes=_machine_themes())
    with zipfile.ZipFile(path) as zf:
        root = ET.fromstring(zf.read("project.qde"))
        assert {i.date_time for i in zf.infolist()} == {(2025, 2, 3, 4, 5, 6)}
    dates = {el.get(a) for el in root.iter() for a in ("creationDateTime", "modifiedDateTime")
             if el.get(a)}
    assert dates == {"2025-02-03T04:05:06Z"}


def test_export_date(tmp_path, monkeypatch):
    from datetime import datetime, timezone

    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    a, b = tmp_path / "a.pdf", tmp_path / "b.docx"
    a.write_text("a")
    b.write_text("b")
    os.utime(a, (1_700_000_000, 1_700_000_000.7))
    os.utime(b, (1_600_000_000, 1_600_000_000))
    newest = datetime.fromtimestamp(1_700_000_000, tz=timezone.utc)
    assert qdpx.export_date([str(b), a, tmp_path / "missing.txt"]) == newest
    assert qdpx.export_date([tmp_path / "missing.txt"]) is None
    assert qdpx.export_date([]) is None
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1234567890")
    assert qdpx.export_date([a]) == datetime.fromtimestamp(1234567890, tz=timezone.utc)


# ------------------------------------------------------------------------------ import (the
# round trip of issue 15)

RT_TEXT = ("CPAS de Xhos\n"
           "Axe 1 : Emploi\n"
           "- Créer une cellule emploi avec le Forem\n"
           "- Ouvrir une épicerie sociale\n"
           "- Rénover dix logements de transit\n")
RT_UNITS = [("u01", "", "title", "", "CPAS de Xhos"),
            ("u02", "", "axis", "Axe 1", "Emploi"),
            ("u03", "u02", "action", "-", "Créer une cellule emploi avec le Forem"),
            ("u04", "u02", "action", "-", "Ouvrir une épicerie sociale"),
            ("u05", "u02", "action", "-", "Rénover dix logements de transit")]
RT_OTHER = "Déclaration de Yves\nGarantir l'accès aux soins de santé\n"


def _rt_inputs():
    """A tiny project: two declarations, machine labels everywhere but u05 (a human's)."""
    rows = []
    for uid, parent, kind, label, text in RT_UNITS:
        start = RT_TEXT.index(f"{label} : {text}" if kind == "axis" else
                              f"{label} {text}" if label else text)
        end = RT_TEXT.index(text, start) + len(text)
        rows.append({"doc_id": "cpas-xhos-2025", "unit_id": uid, "parent_id": parent,
                     "kind": kind, "label": label, "text": text, "start": start, "end": end})
    s = RT_OTHER.index("Garantir")
    rows.append({"doc_id": "cpas-yves-2019", "unit_id": "u02", "parent_id": "",
                 "kind": "objective", "label": "", "text": RT_OTHER[s:].strip(), "start": s,
                 "end": len(RT_OTHER) - 1})
    units = pd.DataFrame(rows)
    docs = pd.DataFrame([{"doc_id": "cpas-xhos-2025", "commune": "Xhos",
                          "legislature": "2025-2030", "status": "ok"},
                         {"doc_id": "cpas-yves-2019", "commune": "Yves",
                          "legislature": "2019-2024", "status": "ok"}])
    texts = {"cpas-xhos-2025": RT_TEXT, "cpas-yves-2019": RT_OTHER}

    def ut(doc, uid, theme, score, sources):
        return {"doc_id": doc, "unit_id": uid, "theme": theme, "score": score,
                "sources": sources, "evidence": ""}

    unit_themes = pd.DataFrame([
        ut("cpas-xhos-2025", "u02", "emploi", 0.9, "model"),
        ut("cpas-xhos-2025", "u03", "emploi", 0.8, "vocabulary;model"),
        ut("cpas-xhos-2025", "u03", "partenariats", 0.4, "context"),
        ut("cpas-xhos-2025", "u04", "cohesion", 0.6, "model"),
        ut("cpas-xhos-2025", "u05", "logement", 1.0, "human"),
        ut("cpas-yves-2019", "u02", "sante", 0.93, "vocabulary;model")])
    machine = pd.DataFrame([ut("cpas-xhos-2025", "u05", "logement", 0.7, "model"),
                            ut("cpas-xhos-2025", "u05", "energie", 0.45, "model")])
    codebook = [Theme(**t) for t in
                tomllib.loads((FIX / "codebook.toml").read_text("utf-8"))["theme"]]
    return docs, texts, units, unit_themes, codebook, machine


def _edit_qde(path: Path, out: Path, edit) -> Path:
    """Copy the archive ``path`` to ``out`` with project.qde changed by ``edit(root)``."""
    with zipfile.ZipFile(path) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    ET.register_namespace("", NS)
    root = ET.fromstring(files["project.qde"])
    edit(root)
    files["project.qde"] = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return out


def _second_coder(root) -> str:
    """Add a "second codeur" User (as QualCoder does for a new coder name); its GUID."""
    guid = str(uuid.uuid4()).upper()
    ET.SubElement(root.find(Q + "Users"), Q + "User", {"guid": guid, "name": "second codeur"})
    return guid


def test_round_trip_edit_a_coding_then_import(tmp_path):
    """Export → a second coder changes one machine coding in the QDA tool → import: that unit's
    row carries the new theme; the human label comes back; machine-only units do not."""
    docs, texts, units, unit_themes, codebook, machine = _rt_inputs()
    path = export_qdpx(docs, texts, units, unit_themes, codebook, tmp_path / "p.qdpx",
                       machine_themes=machine)
    code = {t.id: qdpx.make_guid("code", t.id) for t in codebook}

    def edit(root):
        coder = _second_coder(root)
        sel = next(s for s in root.iter(Q + "PlainTextSelection")
                   if s.findtext(Q + "Description").startswith("Unité u04 "))
        coding = sel.find(Q + "Coding")
        assert coding.find(Q + "CodeRef").get("targetGUID") == code["cohesion"]
        coding.find(Q + "CodeRef").set("targetGUID", code["famille"])
        coding.set("creatingUser", coder)

    reviewed = _edit_qde(path, tmp_path / "reviewed.qdpx", edit)
    ann = qdpx.import_qdpx(reviewed, codebook=codebook)
    assert list(ann.columns) == ["doc_id", "unit_id", "kind", "text", "themes", "context"]
    assert ann.to_dict("records") == [
        {"doc_id": "cpas-xhos-2025", "unit_id": "u04", "kind": "action",
         "text": "Ouvrir une épicerie sociale", "themes": "famille", "context": "Emploi"},
        {"doc_id": "cpas-xhos-2025", "unit_id": "u05", "kind": "action",
         "text": "Rénover dix logements de transit", "themes": "logement",
         "context": "Emploi"}]
    # u02, u03 and the other declaration were coded by the machine only
    assert ann.attrs["n_machine_only"] == 3
    # the unreviewed export gives the human label alone
    assert qdpx.import_qdpx(path, codebook=codebook)[["unit_id", "themes"]].to_dict(
        "records") == [{"unit_id": "u05", "themes": "logement"}]
    # include_machine: the machine-only units too (the machine's final labels)
    every = qdpx.import_qdpx(reviewed, include_machine=True, codebook=codebook)
    assert dict(zip(every["doc_id"] + "/" + every["unit_id"], every["themes"], strict=True)) == {
        "cpas-xhos-2025/u02": "emploi", "cpas-xhos-2025/u03": "emploi;partenariats",
        "cpas-xhos-2025/u04": "famille", "cpas-xhos-2025/u05": "logement",
        "cpas-yves-2019/u02": "sante"}


def test_imported_rows_are_an_annotations_file(tmp_path):
    from pipeline.classify.annotations import load_annotations, match_annotations

    docs, texts, units, unit_themes, codebook, machine = _rt_inputs()
    path = export_qdpx(docs, texts, units, unit_themes, codebook, tmp_path / "p.qdpx",
                       machine_themes=machine)
    ann = qdpx.import_qdpx(path, include_machine=True, codebook=codebook)
    out = qdpx.write_annotations(ann, tmp_path / "annotations.csv")
    assert [p.name for p in tmp_path.iterdir()] == sorted(["p.qdpx", "annotations.csv"])
    back = load_annotations(out)
    assert back.to_dict("records") == ann.to_dict("records")
    assert out.read_text("utf-8").startswith("doc_id,unit_id,kind,text,themes,context\n")
    matched = match_annotations(units, back)
    assert len(matched) == len(ann) == 5
    assert set(matched["match"]) == {"unit_id"}


def _qualcoder_reexport(path: Path, out: Path, extra) -> Path:
    """What QualCoder's REFI-QDA export of our imported project looks like: every GUID new,
    one selection per coding (the selection's memo = our description), users named as ours,
    code memos kept, sources written with a BOM; ``extra(source name) → [(start, end, code
    name)]``: selections a second coder made in QualCoder (no memo)."""
    from html import escape as esc

    data = read_qdpx(path)
    new = {}

    def g(old=None):
        guid = str(uuid.uuid4())
        if old:
            new[old] = guid
        return guid

    users = {u["guid"]: u["name"] for u in data["users"]}
    xml = ['<?xml version="1.0" encoding="utf-8"?>\n<Project xmlns="urn:QDA-XML:project:1.0" '
           'name="revue.qda" origin="QualCoder 3.6">\n<Users>\n']
    for old, name in users.items():
        xml.append(f'<User guid="{g(old)}" name="{esc(name)}" />\n')
    coder = g()
    xml.append(f'<User guid="{coder}" name="second codeur" />\n</Users>\n<CodeBook><Codes>\n')
    case_codes = {c["guid"] for c in data["cases"]}
    by_name = {}
    for c in data["codes"]:
        if c["guid"] in case_codes or c["parent"] is not None or not c["description"].strip() \
                or c["name"] == "Déclarations (cas)":
            continue  # QualCoder made the case codes case links and left an empty category
        by_name[c["name"]] = g(c["guid"])
        xml.append(f'<Code guid="{by_name[c["name"]]}" name="{esc(c["name"])}" isCodable="true">'
                   f'<Description>{esc(c["description"])}</Description></Code>\n')
    xml.append("</Codes></CodeBook>\n<Sources>\n")
    files = {}
    for src in data["sources"]:
        sg = g(src["guid"])
        files[f"sources/{sg}.txt"] = src["text"].encode("utf-8-sig")
        xml.append(f'<TextSource plainTextPath="internal://{sg}.txt" guid="{sg}" '
                   f'name="{esc(src["name"])}">\n<Description>{esc(src["description"])}'
                   "</Description>\n")
        for sel in src["selections"]:
            for coding in sel["codings"]:
                if coding["code"] not in new:
                    continue
                user = new[coding["user"]]
                xml.append(f'<PlainTextSelection guid="{g()}" startPosition="{sel["start"]}" '
                           f'endPosition="{sel["end"]}" name="x" creatingUser="{user}">\n'
                           f'<Description>{esc(sel["description"])}</Description>\n'
                           f'<Coding guid="{g()}" creatingUser="{user}">'
                           f'<CodeRef targetGUID="{new[coding["code"]]}" /></Coding>\n'
                           "</PlainTextSelection>\n")
        for s, e, name in extra(src["name"]):
            xml.append(f'<PlainTextSelection guid="{g()}" startPosition="{s}" endPosition="{e}" '
                       f'name="y" creatingUser="{coder}"><Coding guid="{g()}" '
                       f'creatingUser="{coder}"><CodeRef targetGUID="{by_name[name]}" />'
                       "</Coding></PlainTextSelection>\n")
        xml.append("</TextSource>\n")
    xml.append("</Sources>\n</Project>\n")
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("project.qde", "".join(xml).encode("utf-8"))
        for name, data_ in files.items():
            zf.writestr(name, data_)
    return out


def test_import_after_a_qualcoder_round_trip(tmp_path):
    """New GUIDs everywhere, one selection per coding, the second coder's own selections:
    units come back from the descriptions (or the span), doc_ids from the source
    descriptions, themes from the code descriptions."""
    docs, texts, units, unit_themes, codebook, machine = _rt_inputs()
    path = export_qdpx(docs, texts, units, unit_themes, codebook, tmp_path / "p.qdpx",
                       machine_themes=machine)
    s02 = RT_TEXT.index("Emploi")  # u02, the axis title
    dix = RT_TEXT.index("dix logements")

    def extra(name):
        if name != "Xhos 2025-2030":
            return []
        return [(s02, s02 + len("Emploi"), "Cohésion sociale"),  # u02's exact span
                (dix, dix + len("dix logements"), "Énergie")]  # a span of its own

    qc = _qualcoder_reexport(path, tmp_path / "qc.qdpx", extra)
    ann = qdpx.import_qdpx(qc, codebook=codebook)
    assert ann[["doc_id", "unit_id", "kind", "text", "themes", "context"]].to_dict(
        "records") == [
        {"doc_id": "cpas-xhos-2025", "unit_id": "u02", "kind": "axis", "text": "Emploi",
         "themes": "cohesion", "context": ""},
        {"doc_id": "cpas-xhos-2025", "unit_id": "u05", "kind": "action",
         "text": "Rénover dix logements de transit", "themes": "logement",
         "context": "Emploi"},
        {"doc_id": "cpas-xhos-2025", "unit_id": "", "kind": "", "text": "dix logements",
         "themes": "energie", "context": ""}]


def test_import_maps_codes_by_label_and_sources_by_variable(tmp_path):
    """A tool that drops descriptions: codes by their French label, the doc_id from the
    "identifiant" variable of the source."""
    docs, texts, units, unit_themes, codebook, machine = _rt_inputs()
    path = export_qdpx(docs, texts, units, unit_themes, codebook, tmp_path / "p.qdpx")

    def edit(root):
        for el in list(root.iter()):
            for d in el.findall(Q + "Description"):
                el.remove(d)
        for c in root.iter(Q + "Code"):  # new GUIDs for the codes
            old, guid = c.get("guid"), str(uuid.uuid4())
            c.set("guid", guid)
            for ref in root.iter(Q + "CodeRef"):
                if ref.get("targetGUID") == old:
                    ref.set("targetGUID", guid)

    bare = _edit_qde(path, tmp_path / "bare.qdpx", edit)
    ann = qdpx.import_qdpx(bare, codebook=codebook)
    # no description: the unit is unknown, its text is the selected text
    assert ann.to_dict("records") == [
        {"doc_id": "cpas-xhos-2025", "unit_id": "", "kind": "",
         "text": "Rénover dix logements de transit", "themes": "logement", "context": ""}]
    assert ann.attrs["warnings"] == []


@pytest.mark.parametrize("content, message", [
    (b"doc_id,unit_id\n", "n'est pas un projet QDPX"),
    ({"sources/a.txt": b"x"}, "pas de project.qde"),
    ({"project.qde": b"<Project><oops></Project>"}, "n'est pas du XML valide"),
    ({"project.qde": b"<Projet />"}, "n'est pas un projet REFI-QDA"),
])
def test_import_errors_are_french_and_name_the_file(tmp_path, content, message):
    path = tmp_path / "revue.qdpx"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        with zipfile.ZipFile(path, "w") as zf:
            for name, data in content.items():
                zf.writestr(name, data)
    with pytest.raises(ValueError, match=re.escape(message)) as err:
        qdpx.import_qdpx(path)
    assert str(path) in str(err.value)
    assert "exportez" in str(err.value)
    with pytest.raises(ValueError, match="introuvable"):
        qdpx.import_qdpx(tmp_path / "absent.qdpx")


def test_import_reports_codes_that_are_no_theme(tmp_path):
    docs, texts, units, unit_themes, codebook, _ = _rt_inputs()
    path = export_qdpx(docs, texts, units, unit_themes, codebook, tmp_path / "p.qdpx")

    def edit(root):
        coder = _second_coder(root)
        ET.SubElement(root.find(f"{Q}CodeBook/{Q}Codes"), Q + "Code",
                      {"guid": "11111111-2222-4333-8444-555555555555", "name": "à revoir",
                       "isCodable": "true"})
        sel = next(s for s in root.iter(Q + "PlainTextSelection")
                   if s.findtext(Q + "Description").startswith("Unité u03 "))
        ET.SubElement(ET.SubElement(sel, Q + "Coding", {
            "guid": str(uuid.uuid4()), "creatingUser": coder}), Q + "CodeRef",
            {"targetGUID": "11111111-2222-4333-8444-555555555555"})

    ann = qdpx.import_qdpx(_edit_qde(path, tmp_path / "r.qdpx", edit), codebook=codebook)
    assert list(ann["unit_id"]) == ["u05"]  # u03 has no theme of the second coder
    assert ann.attrs["unknown_codes"] == ["à revoir"]
    assert "« à revoir »" in ann.attrs["warnings"][0]
