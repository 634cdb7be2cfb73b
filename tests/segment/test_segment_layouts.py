"""Real-world layouts (issue 8): each fixture of tests/fixtures/segment/*.txt has its expected
tree in the *.tree file next to it, written by hand from the fixture text.

A .tree line is ``<2 spaces per depth>kind | label | start of the unit's text``.
"""

from __future__ import annotations

import pytest
from test_segment_helpers import SEG_FIXTURES, check_invariants, make_doc

from pipeline.segment import segment

CASES = sorted(p.stem for p in SEG_FIXTURES.glob("*.tree"))


def _expected(name: str):
    rows = []
    for raw in (SEG_FIXTURES / f"{name}.tree").read_text(encoding="utf-8").splitlines():
        if not raw.strip():
            continue
        depth = (len(raw) - len(raw.lstrip(" "))) // 2
        kind, label, text = (x.strip() for x in raw.strip().split("|"))
        rows.append((depth, kind, label, text))
    return rows


def _compare(units, expected):
    got = [(u.depth, u.kind, u.label, u.text) for u in units]
    lines = [f"{'  ' * d}{k} | {lb} | {t[:60]}" for d, k, lb, t in got]
    assert len(got) == len(expected), "\n".join(lines)
    for (d, k, lb, t), (ed, ek, elb, et) in zip(got, expected, strict=True):
        assert (d, k, lb) == (ed, ek, elb) and t.startswith(et), (
            f"got {(d, k, lb, t)} expected {(ed, ek, elb, et)}\n" + "\n".join(lines))


@pytest.mark.parametrize("name", CASES)
def test_layout_tree(name):
    doc = make_doc((SEG_FIXTURES / f"{name}.txt").read_text(encoding="utf-8"), doc_id=name)
    units = segment(doc)
    check_invariants(doc, units)
    _compare(units, _expected(name))


@pytest.mark.parametrize("name", [n for n in CASES if n not in ("pst_table", "headings_web")])
def test_layout_same_tree_without_hints(name):
    """The text lines alone (no reader hints) give the same tree."""
    doc = make_doc((SEG_FIXTURES / f"{name}.txt").read_text(encoding="utf-8"), doc_id=name,
                   with_hints=False)
    units = segment(doc)
    check_invariants(doc, units)
    _compare(units, _expected(name))


def test_web_and_text_give_same_axes():
    """Headings without numbers: same axes and objectives from plain text and a web page."""
    def shape(name):
        doc = make_doc((SEG_FIXTURES / f"{name}.txt").read_text(encoding="utf-8"))
        return [(u.kind, u.text) for u in segment(doc) if u.kind in ("axis", "objective")]
    assert shape("headings_without_numbers") == shape("headings_web")


def test_parents_of_table_units():
    doc = make_doc((SEG_FIXTURES / "pst_table.txt").read_text(encoding="utf-8"))
    units = segment(doc)
    by_id = {u.unit_id: u for u in units}
    for u in units:
        if u.kind == "action":
            assert by_id[u.parent_id].kind == "objective"
        if u.kind == "objective":
            assert by_id[u.parent_id].kind == "axis"


def test_list_items_of_figures_stay_objectives_past_facts_and_the_tool_do_not():
    """A list item is kept by its layout unless the content test rejects it on a cue that holds
    for a list item: a past fact or the tool described is context; a figure or a target ("20
    places supplémentaires", "Un budget de 50 000 €") and a bullet opening on "Selon" stay
    objectives (a list of figures is framed by its heading, "Quelques chiffres")."""
    text = ("Déclaration de politique sociale 2025-2030 du CPAS de Testville\n\n"
            "Axe 1 : Logement et énergie\n\n"
            "- 20 places supplémentaires en crèche\n"
            "- Un budget de 50 000 € pour les aides énergie\n"
            "- 50 ménages accompagnés chaque année en guidance énergétique\n"
            "- Selon les besoins, renforcer l'accompagnement des jeunes\n"
            "- 42 logements ont été rénovés entre 2019 et 2024.\n"
            "- Il fixe le cap pour six ans et évite la dispersion des moyens.\n")
    units = segment(make_doc(text, "testville-dps-2025"))
    kinds = {u.text: u.kind for u in units}
    for target in ("20 places supplémentaires en crèche",
                   "Un budget de 50 000 € pour les aides énergie",
                   "50 ménages accompagnés chaque année en guidance énergétique",
                   "Selon les besoins, renforcer l'accompagnement des jeunes"):
        assert kinds[target] == "objective", (target, kinds)
    assert kinds["42 logements ont été rénovés entre 2019 et 2024."] == "context"
    assert kinds["Il fixe le cap pour six ans et évite la dispersion des moyens."] == "context"


def test_a_list_announced_by_a_sentence_about_the_document_is_context(tmp_path):
    """ "Il a été élaboré selon le calendrier suivant :" announces the document's own steps
    (context); "Le conseil a arrêté les priorités suivantes :" announces commitments (kept)."""
    text = ("Programme stratégique transversal du CPAS de Testville\n\n"
            "Il a été élaboré selon le calendrier suivant :\n"
            "- Septembre 2025 : diagnostic partagé avec les équipes\n"
            "- Octobre 2025 : ateliers avec les partenaires du réseau social\n\n"
            "Le conseil a arrêté les priorités suivantes :\n"
            "- Ouvrir une épicerie sociale en 2026\n"
            "- Renforcer le service de médiation de dettes\n")
    from pipeline.ingest import ingest_file

    path = tmp_path / "testville-pst-2025.txt"
    path.write_text(text, encoding="utf-8")
    units = segment(ingest_file(path, "testville-pst-2025"))
    kinds = {u.text: u.kind for u in units}
    assert kinds["Septembre 2025 : diagnostic partagé avec les équipes"] == "context", kinds
    assert kinds["Octobre 2025 : ateliers avec les partenaires du réseau social"] == "context"
    assert kinds["Ouvrir une épicerie sociale en 2026"] == "objective", kinds
    assert kinds["Renforcer le service de médiation de dettes"] == "objective"
