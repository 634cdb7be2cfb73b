"""Shapes of real publications around a declaration (issue 12), one fixture each in
tests/fixtures/shapes/ (txt and, where the shape occurs on the web, html), read end to end
through pipeline.ingest.  Each fixture has its expected tree next to it (``<file>.tree``,
same format as tests/fixtures/segment: ``<2 spaces per depth>kind | label | start of text``),
checked by reading the fixture:

- news-article: region banner and rubric line → navigation; headline said twice → one title
  and a navigation repeat; framing, reporting, history, statistics, opinion, definition and a
  sentence cut off → context; the two commitments stated as such → statements.
- furniture-page: "Sections", "Outils personnels", "Navigation", "Actions sur le document",
  breadcrumb → navigation; page title said twice → title + navigation; "Ohey" alone → title.
- imperative-axes: no numbered axis; "Rapprocher l'action sociale du citoyen." + explanation →
  3 axes, the explanations under them (observation → context, commitment → statement).
- announced-axes: "trois axes majeurs : l'emploi, le logement et la santé" → the paragraph
  "En matière d'emploi, …" and the headings "Le logement" / "Santé" are the 3 axes.
- block-headers: "Nos priorités" above the axes → section; under each axis "Constat :" (its
  paragraph → context), "Nos engagements :", "Nos actions :", "Nos objectifs :" → block
  headers (title units), their items children of the axis.
- engagements-section: "Nos engagements" right above "Axe 1" → section; "Nos priorités :"
  under "Axe 2" → block header.
- ocr-split-title: "DECLARATION DE POLITIQUE" / "SOCIALE 2019-2024" → one title line.
- ocr-title-numbered-list: split title, then "1. … 2. … 3. …" said again below → navigation
  (a table of contents without page numbers); the body's numbered headings → 3 axes.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from test_segment_helpers import check_invariants

from pipeline.ingest import ingest_file
from pipeline.models import NON_CONTENT_KINDS
from pipeline.segment import segment

SHAPES = Path(__file__).resolve().parents[1] / "fixtures" / "shapes"
CASES = sorted(p.name for p in SHAPES.iterdir() if p.suffix in (".txt", ".html"))

#: file → counts of unit kinds (an independent check of the .tree files)
COUNTS = {
    "news-article.txt": {"title": 1, "navigation": 6, "statement": 2, "context": 9, "axis": 0},
    "news-article.html": {"title": 1, "statement": 2, "context": 9, "axis": 0},
    "furniture-page.txt": {"title": 2, "axis": 2, "objective": 4, "statement": 1,
                           "navigation": 14, "signature": 1},
    "furniture-page.html": {"title": 2, "axis": 2, "objective": 4, "statement": 1,
                            "signature": 1},
    "imperative-axes.txt": {"title": 2, "axis": 3, "statement": 3, "context": 2},
    "imperative-axes.html": {"title": 2, "axis": 3, "statement": 3, "context": 2},
    "announced-axes.txt": {"axis": 3, "statement": 4, "context": 1, "group": 0},
    "block-headers.txt": {"section": 1, "axis": 2, "objective": 4, "action": 2, "context": 3},
    "block-headers.html": {"section": 1, "axis": 2, "objective": 4, "action": 2, "context": 3},
    "engagements-section.txt": {"section": 1, "axis": 2, "objective": 3},
    "ocr-split-title.txt": {"title": 2, "axis": 2, "objective": 3},
    "ocr-title-numbered-list.txt": {"title": 1, "navigation": 3, "axis": 3, "objective": 3},
}

#: page furniture, framing and statistics of the fixtures: never in a content unit
NOT_CONTENT = ["Namur - Luxembourg", "Régions", "Sections", "Outils personnels", "Navigation",
               "Actions sur le document", "Se connecter", "a présenté", "a expliqué",
               "Selon elle", "Fondé en 1925", "142 personnes", "96 ménages", "unanimité",
               "Pour l'opposition", "est une aide financière", "la création d'un",
               "DECLARATION DE POLITIQUE", "Constat", "touche de plus en plus"]


def _expected(name: str):
    rows = []
    for raw in (SHAPES / f"{name}.tree").read_text(encoding="utf-8").splitlines():
        if raw.strip():
            depth = (len(raw) - len(raw.lstrip(" "))) // 2
            kind, label, text = (x.strip() for x in raw.strip().split("|"))
            rows.append((depth, kind, label, text))
    return rows


@pytest.fixture(scope="module")
def parsed():
    out = {}
    for name in CASES:
        doc = ingest_file(SHAPES / name, Path(name).stem)
        assert doc.status == "ok", doc.error
        out[name] = (doc, segment(doc))
    return out


def test_every_fixture_has_counts():
    assert sorted(COUNTS) == CASES


@pytest.mark.parametrize("name", CASES)
def test_shape_tree(parsed, name):
    doc, units = parsed[name]
    check_invariants(doc, units)
    got = [(u.depth, u.kind, u.label, u.text) for u in units]
    lines = "\n".join(f"{'  ' * d}{k} | {lb} | {t[:60]}" for d, k, lb, t in got)
    expected = _expected(name)
    assert len(got) == len(expected), lines
    for g, e in zip(got, expected, strict=True):
        assert g[:3] == e[:3] and g[3].startswith(e[3]), f"{g} != {e}\n{lines}"


@pytest.mark.parametrize("name", CASES)
def test_shape_counts(parsed, name):
    _, units = parsed[name]
    got = Counter(u.kind for u in units)
    assert {k: got.get(k, 0) for k in COUNTS[name]} == COUNTS[name]


@pytest.mark.parametrize("name", CASES)
def test_no_furniture_framing_or_statistics_in_content(parsed, name):
    _, units = parsed[name]
    for u in units:
        if u.kind in NON_CONTENT_KINDS:
            continue
        for bad in NOT_CONTENT:
            assert bad not in u.text, (name, u.kind, u.text)
        assert u.text.strip() != "Ohey", (name, u.kind)


@pytest.mark.parametrize("stem", ["news-article", "furniture-page", "imperative-axes",
                                  "block-headers"])
def test_same_content_from_text_and_web_page(parsed, stem):
    def content(name):
        return [(u.kind, u.text) for u in parsed[name][1]
                if u.kind in ("axis", "objective", "action", "statement", "context")]
    assert content(f"{stem}.txt") == content(f"{stem}.html")


def test_block_header_items_are_children_of_the_axis(parsed):
    _, units = parsed["block-headers.txt"]
    by_id = {u.unit_id: u for u in units}
    for u in units:
        if u.kind in ("objective", "action", "context") or (u.kind == "title" and u.depth):
            assert by_id[u.parent_id].kind == "axis", (u.kind, u.text)
    headers = [(u.text, u.parent_id) for u in units if u.kind == "title" and u.parent_id]
    assert [h for h, _ in headers] == ["Constat", "Nos engagements", "Nos actions",
                                       "Nos objectifs"]
    blocks = Counter(u.block for u in units if u.kind in ("objective", "action"))
    assert blocks == {"engagements": 2, "actions": 2, "objectifs": 2}


def test_ocr_titles(parsed):
    _, units = parsed["ocr-split-title.txt"]
    assert units[0].kind == "title" and units[0].text == "DECLARATION DE POLITIQUE SOCIALE 2019-2024"
    _, units = parsed["ocr-title-numbered-list.txt"]
    assert [u.text for u in units if u.kind == "axis"] == [
        "L'accueil et l'information", "Le logement", "L'emploi"]
    assert [u.kind for u in units[:4]] == ["title"] + ["navigation"] * 3


def test_repeated_title_collapses(parsed):
    for name in ("news-article.txt", "furniture-page.txt"):
        _, units = parsed[name]
        titles = [u.text for u in units if u.kind == "title"]
        assert len(set(titles)) == len(titles)
        nav = [u.text for u in units if u.kind == "navigation"]
        assert any(t in nav for t in titles), name


def test_one_word_axis_after_the_title_is_not_a_commune():
    from test_segment_helpers import make_doc

    doc = make_doc("Déclaration de politique sociale 2025-2030\nSanté\n"
                   "- Ouvrir une consultation psychologique.\nLogement\n"
                   "- Rénover les logements d'urgence.")
    units = segment(doc)
    assert [u.text for u in units if u.kind == "axis"] == ["Santé", "Logement"]
    assert [u.kind for u in units if u.kind == "title"] == ["title"]
