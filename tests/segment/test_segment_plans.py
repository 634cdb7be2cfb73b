"""Strategic plans (doc_kind pst) read as plans (issue 16): OS → axis, OO → objective, actions,
the plan's columns and "Pilote : …" lines as `detail` units copied to the action's columns.

Fixtures written for this test in the shapes published plans take (tests/fixtures/segment/):
a "N°" column (1 / 1.1 / 1.1.1), OS as a full-width row with "OS 1" repeated on each row,
"Objectif stratégique n°1 :" / "O.O.1.1." / "Action :" lines, "OS.1 / OO.1.1 / A.1.1.1" codes.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.models import NON_CONTENT_KINDS
from pipeline.segment import coverage_gaps, segment
from tests.segment.test_segment_helpers import make_doc

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "segment"


def _plan(name: str, kind: str = "pst"):
    doc = make_doc((FIX / f"{name}.txt").read_text(encoding="utf-8"), name)
    doc.metadata["doc_kind"] = kind
    units = segment(doc)
    assert coverage_gaps(doc.text, units) == []
    return doc, units


def _docx_plan(tmp_path: Path, rows: list[tuple[str, ...]]):
    """A DOCX plan "PST 2025-2030 – CPAS de Hautrive" holding one table of ``rows`` (the
    first one its header), ingested."""
    from docx import Document as Docx

    from pipeline.ingest import ingest_file

    d = Docx()
    d.add_paragraph("PST 2025-2030 – CPAS de Hautrive")
    t = d.add_table(rows=len(rows), cols=len(rows[0]))
    for i, row in enumerate(rows):
        for j, text in enumerate(row):
            t.cell(i, j).text = text
    path = tmp_path / "hautrive-pst-2025.docx"
    d.save(path)
    return ingest_file(path, "hautrive-pst-2025")


def _tree(units) -> list[tuple[str, str, str]]:
    """(kind, parent's text, text) of the content units, in order."""
    by_id = {u.unit_id: u for u in units}
    return [(u.kind, by_id[u.parent_id].text if u.parent_id else "", u.text) for u in units
            if u.kind not in NON_CONTENT_KINDS]


def test_numbered_column_gives_os_oo_actions_and_details():
    _, units = _plan("pst_numbered")
    assert _tree(units) == [
        ("axis", "", "Soutenir les familles fragilisées"),
        ("objective", "Soutenir les familles fragilisées", "Développer l'accueil de la petite enfance"),
        ("action", "Développer l'accueil de la petite enfance", "Ouvrir une halte-garderie de douze places"),
        ("action", "Développer l'accueil de la petite enfance",
         "Réserver des places d'accueil aux parents en formation"),
        ("axis", "", "Moderniser l'administration"),
        ("objective", "Moderniser l'administration", "Dématérialiser les dossiers"),
        ("action", "Dématérialiser les dossiers",
         "Acquérir un logiciel de gestion électronique des documents"),
    ]
    action = next(u for u in units if u.text.startswith("Ouvrir une halte"))
    assert (action.label, action.service, action.deadline) == ("1.1.1", "Service petite enfance", "2027")


def test_full_width_os_rows_and_repeated_short_os():
    _, units = _plan("pst_fullwidth")
    tree = _tree(units)
    assert [t for t in tree if t[0] == "axis"] == [
        ("axis", "", "OS 1 – Garantir l'accès aux droits"), ("axis", "", "OS 2 – Loger dignement")]
    assert ("objective", "OS 1 – Garantir l'accès aux droits", "OO 1.1 – Réduire le non-recours") in tree
    assert sum(1 for t in tree if t[0] == "objective") == 2  # the repeated OO is not a new one
    actions = [u for u in units if u.kind == "action"]
    assert [(a.text, a.service, a.deadline) for a in actions] == [
        ("Organiser des permanences dans les villages", "Service social", "2026"),
        ("Éditer un guide des droits", "Communication", "2025"),
        ("Rénover deux logements d'urgence", "Service logement", "2027")]


def test_action_lines_and_detail_lines():
    _, units = _plan("pst_actionlines")
    actions = [u for u in units if u.kind == "action"]
    assert [a.text for a in actions] == [
        "Organiser des permanences dans les villages", "Éditer un guide des droits sociaux",
        "Réaménager la salle d'attente", "Rénover deux logements d'urgence",
        "Acquérir un logiciel social"]
    first = actions[0]
    assert (first.budget, first.deadline) == ("3.000 €", "2026")
    assert (actions[3].service, actions[3].deadline) == ("service logement", "2027")
    assert actions[4].label == "A.3.1.1" and actions[4].service == "DG"
    details = [u for u in units if u.kind == "detail"]
    assert len(details) == 7 and all(u.parent_id for u in details)


def test_detail_lines_stay_text_in_a_declaration():
    """Only a plan turns "Budget : …" lines into details: a declaration keeps them as text."""
    _, units = _plan("pst_actionlines", kind="declaration")
    assert not any(u.kind == "detail" for u in units)
    assert all(not (u.service or u.deadline or u.budget) for u in units)


PLAN_PAGE = """<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">
<title>Notre plan — CPAS de Hautrive</title></head><body>
<nav><a href="/">Accueil</a> › <a href="/cpas">CPAS</a> › Plan stratégique</nav>
<main><h1>Programme stratégique transversal 2025-2030</h1>
<h2>1. Bases légales</h2>
<p>La loi organique des CPAS impose au conseil d'adopter ce programme dans les six mois.</p>
<h2>2. Qu'est-ce qu'un programme stratégique transversal ?</h2>
<p>Il rassemble les actions que l'administration mènera pour atteindre des objectifs.</p>
<h2>3. Nos objectifs pour la législature 2025-2030</h2>
<h3>Objectif stratégique 1 : Être un CPAS proche des aînés</h3>
<h4>Objectif opérationnel 1.1 : Maintenir les aînés à domicile</h4>
<ul><li>Étendre la livraison des repas chauds au samedi.</li>
<li>Recruter une deuxième aide familiale à mi-temps.</li></ul>
</main><footer>Mentions légales | Plan du site</footer></body></html>
"""


def test_a_plan_web_page_keeps_its_legal_frame_and_concept_out_of_the_plan(tmp_path):
    """A plan published as a web page (the shape of real CPAS sites): legal reminder and "what
    is a PST" come before the objectives; neither is an objective of the plan, and the heading
    that only gathers the objectives is no objective either."""
    from pipeline.ingest import ingest_file

    path = tmp_path / "hautrive-pst-2025.html"
    path.write_text(PLAN_PAGE, encoding="utf-8")
    doc = ingest_file(path, "hautrive-pst-2025")
    assert doc.status == "ok" and doc.metadata["doc_kind"] == "pst"
    units = segment(doc)
    assert _tree(units) == [
        ("axis", "", "Être un CPAS proche des aînés"),
        ("objective", "Être un CPAS proche des aînés", "Maintenir les aînés à domicile"),
        ("action", "Maintenir les aînés à domicile",
         "Étendre la livraison des repas chauds au samedi."),
        ("action", "Maintenir les aînés à domicile",
         "Recruter une deuxième aide familiale à mi-temps."),
    ]
    kinds = {u.text: u.kind for u in units}
    # the heading that gathers the objectives names no policy area: a title
    assert kinds["Nos objectifs pour la législature 2025-2030"] == "title"
    assert kinds["Bases légales"] == "preamble"
    assert kinds["Qu'est-ce qu'un programme stratégique transversal ?"] == "preamble"
    assert kinds["Il rassemble les actions que l'administration mènera pour atteindre des "
                 "objectifs."] == "preamble"


EXPLAINER_PAGE = """Programme stratégique transversal 2025-2030 – CPAS de Valbrise

Cadre légal

Le décret du 19 juillet 2018 a inscrit le programme stratégique transversal dans la loi organique des CPAS.

Quels sont les avantages du PST ?

- Il donne un cap : le PST est donc un instrument qui permet de fixer les priorités que l'on souhaite atteindre.
- Il change la culture de gestion : mettre en place un PST suppose de planifier puis d'évaluer.

Quelques chiffres

- 312 ménages ont été aidés par le service social en 2024.
- Le nombre de bénéficiaires du revenu d'intégration a augmenté de 8 % depuis 2019.

OS 1 – Garantir l'accès de chacun à un logement décent
OO 1.1 – Développer l'offre de logements d'insertion
Action 1.1.1 : Rénover deux logements de transit rue du Moulin
Action 1.1.2 : Conclure une convention avec l'agence immobilière sociale
OS 2 – Favoriser l'insertion socioprofessionnelle
OO 2.1 – Renforcer l'accompagnement vers l'emploi
Action 2.1.1 : Engager un job coach à mi-temps
Action 2.1.2 : Évaluer chaque année les actions du PST avec le personnel
"""


def test_bullets_about_the_plan_itself_or_past_figures_are_not_objectives(tmp_path):
    """The shape of real PST pages: "Quels sont les avantages du PST ?" then bullets that
    describe the tool ("le PST est donc un instrument…", "mettre en place un PST suppose…"),
    and a list of figures about the past, before the plan. Those bullets are context, not
    objectives; the plan's own action that names the PST stays an action."""
    from pipeline.ingest import ingest_file

    path = tmp_path / "valbrise-pst-2025.txt"
    path.write_text(EXPLAINER_PAGE, encoding="utf-8")
    doc = ingest_file(path, "valbrise-pst-2025")
    assert doc.status == "ok" and doc.metadata["doc_kind"] == "pst"
    units = segment(doc)
    content = [u for u in units if u.kind not in NON_CONTENT_KINDS]
    assert [u.kind for u in content] == ["axis", "objective", "action", "action",
                                         "axis", "objective", "action", "action"]
    for words in ("instrument qui permet", "suppose de planifier", "312 ménages",
                  "augmenté de 8 %", "décret du 19 juillet"):
        holders = [u for u in units if words in u.text]
        assert holders and all(u.kind in NON_CONTENT_KINDS for u in holders), (words, holders)
    assert "actions du PST avec le personnel" in content[-1].text


def test_docx_numbered_table_with_merged_os_cells(tmp_path):
    """A DOCX plan table "N° | Objectif stratégique | Objectif opérationnel / Action | …" whose
    OS cell is merged down the rows of its OO and actions: python-docx gives the OS text again
    on each row; it is the OS said again, not the OO or the action of the row."""
    from docx import Document as Docx

    from pipeline.ingest import ingest_file

    d = Docx()
    d.add_paragraph("Programme stratégique transversal 2025-2030 – CPAS de Hautrive")
    rows = [("N°", "Objectif stratégique", "Objectif opérationnel / Action", "Service pilote",
             "Échéance"),
            ("1", "Garantir un toit à chacun", "", "", ""),
            ("1.1", "", "Disposer de logements d'urgence", "", ""),
            ("1.1.1", "", "Aménager un logement d'urgence dans l'ancienne cure", "Logement", "2026"),
            ("1.1.2", "", "Conclure une convention avec le relais social", "Direction", "2025"),
            ("1.2", "", "Mobiliser le parc privé", "", ""),
            ("1.2.1", "", "Confier cinq logements à l'agence immobilière sociale", "Logement",
             "2027")]
    t = d.add_table(rows=len(rows), cols=5)
    for i, row in enumerate(rows):
        for j, text in enumerate(row):
            if text:
                t.cell(i, j).text = text
    t.cell(1, 1).merge(t.cell(len(rows) - 1, 1))  # the OS cell spans its OO and actions
    path = tmp_path / "hautrive-pst-2025.docx"
    d.save(path)
    doc = ingest_file(path, "hautrive-pst-2025")
    assert doc.status == "ok" and doc.metadata["doc_kind"] == "pst"
    units = segment(doc)
    os_, oo, act = "Garantir un toit à chacun", "Disposer de logements d'urgence", "Mobiliser le parc privé"
    assert _tree(units) == [
        ("axis", "", os_),
        ("objective", os_, oo),
        ("action", oo, "Aménager un logement d'urgence dans l'ancienne cure"),
        ("action", oo, "Conclure une convention avec le relais social"),
        ("objective", os_, act),
        ("action", act, "Confier cinq logements à l'agence immobilière sociale"),
    ]
    labels = {u.text: u.label for u in units if u.kind in ("objective", "action")}
    assert labels[oo] == "1.1" and labels[act] == "1.2"


def test_docx_numbered_table_with_os_oo_and_action_columns_repeated_on_every_row(tmp_path):
    """A DOCX plan table "N° | Objectif stratégique | Objectif opérationnel | Action | …" that
    says the OS and the OO again on every row, with the action's number (1.1.1) in the N°
    column: the columns give each cell's role (one OS, one OO, its actions), the number is the
    action's label; before, every cell of every row became an action."""
    os1, oo1 = "OS 1 – Garantir un toit à chacun", "OO 1.1 – Disposer de logements d'urgence"
    oo2 = "OO 1.2 – Mobiliser le parc privé"
    rows = [("N°", "Objectif stratégique", "Objectif opérationnel", "Action", "Pilote"),
            ("1.1.1", os1, oo1, "Aménager un logement d'urgence dans l'ancienne cure", "Logement"),
            ("1.1.2", os1, oo1, "Conclure une convention avec le relais social", "Direction"),
            ("1.2.1", os1, oo2, "Confier cinq logements à l'agence immobilière sociale", "Logement")]
    doc = _docx_plan(tmp_path, rows)
    assert doc.status == "ok" and doc.metadata["doc_kind"] == "pst"
    units = segment(doc)
    assert _tree(units) == [
        ("axis", "", os1),
        ("objective", os1, oo1),
        ("action", oo1, "Aménager un logement d'urgence dans l'ancienne cure"),
        ("action", oo1, "Conclure une convention avec le relais social"),
        ("objective", os1, oo2),
        ("action", oo2, "Confier cinq logements à l'agence immobilière sociale"),
    ]
    labels = {u.text: u.label for u in units if u.kind == "action"}
    assert sorted(labels.values()) == ["1.1.1", "1.1.2", "1.2.1"]
    assert coverage_gaps(doc.text, units) == []


def test_numbered_objective_after_a_sub_list_is_a_sibling_not_a_child():
    """Numbered objectives under roman chapters, one opening a "–" sub-list: the next
    numbered objective is a sibling of that group (it was an action under the last "– …")."""
    doc = make_doc("\n".join([
        "Déclaration de politique sociale 2025-2030",
        "I. Aide sociale",
        "1. Octroyer l'aide urgente dans un délai de 48 heures.",
        "2. Renforcer le service de médiation de dettes :",
        "– créer un groupe d'appui budgétaire ;",
        "– conventionner un avocat pour les règlements collectifs.",
        "3. Ouvrir un guichet unique d'accueil pour tous les publics.",
        "4. Revaloriser les aides complémentaires.",
        "II. Emploi",
        "5. Accompagner 40 personnes vers l'emploi chaque année.",
    ]), "x-dps-2025")
    units = segment(doc)
    tree = _tree(units)
    group = "Renforcer le service de médiation de dettes"
    guichet = "Ouvrir un guichet unique d'accueil pour tous les publics."
    assert ("objective", "Aide sociale", guichet) in tree
    assert ("objective", "Aide sociale", "Revaloriser les aides complémentaires.") in tree
    assert [k for k, p, _ in tree if p == group] == ["objective", "objective"]
    assert not [u for u in units if u.kind == "action"]
    assert coverage_gaps(doc.text, units) == []


def test_numbered_heading_keeps_its_own_numbered_list():
    """A numbered group heading ("1. Logements d'urgence") whose items are numbered in the same
    style ("1.", "2.") keeps them: only a group that opened a sub-list of another style ("–")
    is a sibling of the next numbered line."""
    doc = make_doc("\n".join([
        "Déclaration de politique sociale 2025-2030",
        "Axe 1 : Logement",
        "1. Logements d'urgence",
        "Le CPAS s'engage à :",
        "1. Créer deux logements d'urgence.",
        "2. Rénover le logement de transit.",
    ]), "x-dps-2025")
    tree = _tree(segment(doc))
    group = "Logements d'urgence"
    assert ("group", "Logement", group) in tree
    assert ("objective", group, "Créer deux logements d'urgence.") in tree
    assert ("objective", group, "Rénover le logement de transit.") in tree


def test_n_column_with_the_oo_number_labels_the_oo_not_its_actions(tmp_path):
    """N° column holding the OO number ("1.1") on each action row, OS / OO / Action columns:
    the number is the OO's label, never an action's."""
    os1, oo1, oo2 = "Garantir un toit à chacun", "Disposer de logements d'urgence", "Mobiliser le parc privé"
    rows = [("N°", "Objectif stratégique", "Objectif opérationnel", "Action", "Pilote"),
            ("1.1", os1, oo1, "Aménager un logement d'urgence dans l'ancienne cure", "Logement"),
            ("1.1", os1, oo1, "Conclure une convention avec le relais social", "Direction"),
            ("1.2", os1, oo2, "Confier cinq logements à l'agence immobilière sociale", "Logement")]
    doc = _docx_plan(tmp_path, rows)
    units = segment(doc)
    labels = {u.text: u.label for u in units if u.kind in ("objective", "action")}
    assert labels[oo1] == "1.1" and labels[oo2] == "1.2"
    assert all(labels[u.text] == "" for u in units if u.kind == "action")
    assert [u.kind for u in units if u.kind in ("axis", "objective", "action")] == [
        "axis", "objective", "action", "action", "objective", "action"]
    assert coverage_gaps(doc.text, units) == []
