"""Headings that name a part of the document rather than a policy area ("Nos priorités pour
2025-2030", "Le programme en détail", "Volet interne", "Tableau 1 – …") are ``title`` units:
they structure the page, what they hold stays content, but they are never counted as policy
content themselves. A bare "Nos priorités" above the axes stays a section (its earlier
behaviour). The line scorer matches a short annotated line ("Le CPAS", a menu entry) as a
whole line of the text only, never inside a sentence.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import tomllib

from pipeline.ingest import ingest_file
from pipeline.models import NON_CONTENT_KINDS
from pipeline.segment import segment
from pipeline.segment.content import _find_line, score_document
from pipeline.segment.patterns import load_patterns

RAW = tomllib.loads((Path(__file__).parents[2] / "pipeline" / "data" / "patterns.toml")
                    .read_text(encoding="utf-8"))


def test_generic_heading_examples_and_counter_examples():
    rx = load_patterns().generic_heads
    assert all(rx.match(ex) for ex in RAW["heading"]["generic_examples"])
    assert not any(rx.match(ex) for ex in RAW["heading"]["generic_counter"])


def _units(tmp_path: Path, text: str, name: str = "dps-valmorel-2025.txt"):
    """(document, units) of ``text`` written to ``name`` (a page, a text export) and read."""
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    doc = ingest_file(p, p.stem)
    return doc, segment(doc)


def _kind(doc, units, start: str) -> str:
    hits = [u.kind for u in units if doc.text[u.start:u.end].lstrip("- ").startswith(start)]
    assert hits, start
    return hits[0]


AXES = ("AXE 1 : Le logement\n\n- Ouvrir deux logements de transit.\n"
        "- Créer une agence immobilière sociale avec les communes voisines.\n\n"
        "AXE 2 : L'emploi\n\n- Augmenter le nombre de contrats article 60.\n")


@pytest.mark.parametrize("head", ["Nos priorités pour 2025-2030", "Nos engagements pour la "
                                  "législature", "Le programme en détail", "Volet externe"])
def test_a_generic_section_is_a_title_and_its_axes_stay_content(tmp_path, head):
    text = f"Déclaration de politique sociale 2025-2030\n\n{head}\n\n{AXES}"
    doc, units = _units(tmp_path, text)
    assert _kind(doc, units, head) == "title"
    assert _kind(doc, units, "AXE 1") == "axis"
    for item in ("Ouvrir deux logements", "Créer une agence", "Augmenter le nombre"):
        assert _kind(doc, units, item) not in NON_CONTENT_KINDS


def test_a_bare_section_above_the_axes_stays_a_section(tmp_path):
    doc, units = _units(tmp_path, f"Déclaration de politique sociale 2025-2030\n\n"
                                  f"Nos priorités\n\n{AXES}")
    assert _kind(doc, units, "Nos priorités") == "section"


def test_a_short_line_is_found_as_a_whole_line_only():
    text = "Le CPAS\nLe CPAS ouvrira une épicerie sociale.\nLogement"
    assert _find_line(text, "Le CPAS", 0) == [(0, 7)]
    # not inside the sentence below it, once the menu line is gone
    text2 = "Accueil social\nLe CPAS ouvrira une épicerie sociale.\n- Logement\n"
    assert _find_line(text2, "Le CPAS", 0) == []
    at = text2.index("Logement")
    assert _find_line(text2, "Logement", 0) == [(at, at + len("Logement"))]
    # a longer line may still sit inside a paragraph the reader joined
    long_line = "ouvrira une épicerie sociale"
    assert _find_line(text2, long_line, 0) == [(text2.index(long_line),
                                                text2.index(long_line) + len(long_line))]


def test_a_menu_entry_the_reader_dropped_is_not_scored_inside_a_sentence(tmp_path):
    p = tmp_path / "dps-valmorel.txt"
    p.write_text("Déclaration de politique sociale 2025-2030\n\nAXE 1 : Le logement\n\n"
                 "- Le CPAS ouvrira deux logements de transit.\n", encoding="utf-8")
    exp = tmp_path / "dps-valmorel.expected.csv"
    # "Le CPAS" was a menu entry of the page: not in the text the reader kept
    exp.write_text("line,is_policy\nLe CPAS,0\nDéclaration de politique sociale 2025-2030,0\n"
                   "AXE 1 : Le logement,1\nLe CPAS ouvrira deux logements de transit.,1\n",
                   encoding="utf-8")
    c = score_document(p, exp)
    assert (c["tp"], c["fp"], c["fn"], c["tn"], c["missing"]) == (2, 0, 0, 2, 1)


DIAGNOSTIC = """CPAS DE VALMOREL
Déclaration de politique sociale 2025-2030

1. Diagnostic social

1.1 Population

Au 1er janvier 2024, la commune comptait 9 800 habitants, dont 21 % de plus de 65 ans.

1.2 Constats

- Une précarité qui touche de plus en plus de familles monoparentales.
- Une pénurie de logements abordables.

2. Nos axes

Axe 1 : Le logement

- Ouvrir deux logements de transit.
- Le CPAS dispose actuellement de quatre logements d'insertion.

Axe 2 : Les finances

- 2025 : 3 200 000 €
- Créer un fonds de garanties locatives.
"""


def test_the_sub_headings_of_a_numbered_diagnostic_stay_in_it(tmp_path):
    doc, units = _units(tmp_path, DIAGNOSTIC)
    for start in ("1.1 Population", "Au 1er janvier", "1.2 Constats", "Une précarité",
                  "Une pénurie"):
        assert _kind(doc, units, start) in NON_CONTENT_KINDS, start
    for start in ("Axe 1", "Ouvrir deux logements", "Créer un fonds"):
        assert _kind(doc, units, start) not in NON_CONTENT_KINDS, start
    # a list item that says what the CPAS has today, or gives a figure, is context
    assert _kind(doc, units, "Le CPAS dispose actuellement") == "context"
    assert _kind(doc, units, "2025 : 3 200 000") == "context"


PLAN_TABLE = """<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">
<title>Programme stratégique transversal — CPAS de Valmorel</title></head><body><main>
<h1>Programme stratégique transversal 2025-2030</h1>
<p>Le programme stratégique transversal traduit la déclaration de politique sociale.</p>
<table>
<tr><td colspan="4">Volet externe – Développement des politiques</td></tr>
<tr><th>OS / OO</th><th>Action</th><th>Pilote</th><th>Échéance</th></tr>
<tr><td>OS 1 – Garantir l'accès aux droits</td><td>Créer un guichet unique</td>
<td>Service social</td><td>2026</td></tr>
<tr><td>OS 2 – Soutenir les aînés</td><td>Étendre les repas à domicile au samedi</td>
<td>Service des aînés</td><td>2027</td></tr>
</table></main></body></html>
"""


def test_a_title_row_above_the_header_row_of_a_plan_table(tmp_path):
    doc, units = _units(tmp_path, PLAN_TABLE, "valmorel-pst-2025.html")
    kinds = {u.text: u.kind for u in units}
    assert kinds["Volet externe – Développement des politiques"] == "title"
    for head in ("OS / OO", "Action", "Pilote", "Échéance"):
        assert kinds[head] == "title", head
    actions = {u.text: u for u in units if u.kind == "action"}
    assert actions["Créer un guichet unique"].service == "Service social"
    assert actions["Étendre les repas à domicile au samedi"].deadline == "2027"


BUDGET = """Déclaration de politique sociale 2025-2030

Axe 1 : Le logement

- Ouvrir deux logements de transit.

Volet budgétaire

Le CPAS consacrera 40 000 euros par an au fonds de garanties locatives.
"""


def test_the_budget_part_heading_is_a_title_that_closes_the_axis_above(tmp_path):
    doc, units = _units(tmp_path, BUDGET)
    by_text = {doc.text[u.start:u.end].strip(): u for u in units}
    assert by_text["Volet budgétaire"].kind == "title"
    stmt = next(u for u in units if "40 000" in doc.text[u.start:u.end])
    assert stmt.kind == "statement"
    axis = by_text["Axe 1 : Le logement"]
    assert stmt.parent_id != axis.unit_id  # not read as part of the housing axis


def test_the_budget_part_heading_still_gives_has_budget(tmp_path):
    import pandas as pd

    from pipeline.compare import tables

    doc, units = _units(tmp_path, BUDGET.replace("Le CPAS consacrera 40 000 euros par an au "
                                                 "fonds de garanties locatives.",
                                                 "Le CPAS ouvrira une épicerie sociale."))
    frame = pd.DataFrame([{"doc_id": "d", "unit_id": u.unit_id, "parent_id": u.parent_id,
                           "kind": u.kind, "label": u.label, "text": u.text,
                           "start": u.start, "end": u.end} for u in units])
    docs = pd.DataFrame([{"doc_id": "d", "commune": "Valmorel"}])
    st = tables.structure(docs, frame).set_index("doc_id")
    assert st.loc["d", "has_budget"] and "Volet budgétaire" in st.loc["d", "budget_evidence"]


REPORT = """CPAS DE VALMOREL
Rapport annuel d'activités 2025

Sommaire
1. Le mot de la présidente
2. Rappel des axes de la déclaration de politique sociale
3. Réalisations 2025
4. Projets 2026

CPAS de Valmorel – Rapport annuel d'activités 2025 – p. 1

2. Rappel des axes de la déclaration de politique sociale

– Axe 1 : Accueillir chaque personne et l'accompagner dans ses droits
– Axe 2 : Favoriser l'insertion sociale et professionnelle

CPAS de Valmorel – Rapport annuel d'activités 2025 – p. 2

3. Réalisations 2025

Axe 1. Depuis mars, l'accueil social fonctionne sur rendez-vous le matin et sans rendez-vous l'après-midi. 1 146 personnes ont été reçues au cours de l'année.
Axe 2. Le CPAS a conclu 21 contrats article 60 au cours de l'année écoulée avec des partenaires. Trois groupes ont suivi l'atelier collectif d'orientation.

4. Projets 2026

• Créer un groupe de parole pour les proches aidants.
• Lancer une épicerie sociale mobile.

Chantal Ernotte, Présidente du CPAS
"""


def test_an_annual_report_contents_footers_and_achievements_are_not_policy(tmp_path):
    doc, units = _units(tmp_path, REPORT)
    kinds = [(u.kind, doc.text[u.start:u.end].strip()) for u in units]

    def kinds_of(start):
        return {k for k, t in kinds if t.lstrip("–•- ").startswith(start)}

    # the contents list and the running footers are page furniture
    assert kinds_of("3. Réalisations 2025") >= {"navigation"}
    assert kinds_of("CPAS de Valmorel – Rapport annuel") == {"navigation"}
    # the achievements written under "Axe n." labels are read as sentences: past facts
    assert not kinds_of("Axe 1. Depuis mars") - set(NON_CONTENT_KINDS)
    assert not kinds_of("Axe 2. Le CPAS a conclu") - set(NON_CONTENT_KINDS)
    # the recalled axes and next year's projects stay content; the name and function sign
    assert kinds_of("Axe 1 : Accueillir") - set(NON_CONTENT_KINDS)
    assert kinds_of("Créer un groupe de parole") - set(NON_CONTENT_KINDS)
    assert kinds_of("Chantal Ernotte") == {"signature"}


def test_an_accordion_toggle_button_is_the_heading(tmp_path):
    page = ("<!DOCTYPE html><html lang='fr'><head><meta charset='utf-8'><title>DPS</title></head>"
            "<body><main><h1>Déclaration de politique sociale 2025-2030</h1>"
            "<p>Le Conseil de l'action sociale a adopté sa déclaration le 10 février 2025.</p>"
            "<h2>Nos priorités</h2>"
            "<h3><button class='accordion__toggle' aria-expanded='true'>Axe 1 – Se loger "
            "dignement</button></h3><div><ul><li>Ouvrir deux logements de transit.</li>"
            "<li>Créer une agence immobilière sociale.</li></ul></div>"
            "<h3><button class='accordion__toggle'>Axe 2 – Vieillir chez soi</button></h3>"
            "<div><ul><li>Étendre les repas à domicile au samedi.</li></ul></div>"
            "</main></body></html>")
    doc, units = _units(tmp_path, page, "dps-valmorel.html")
    axes = [u.text for u in units if u.kind == "axis"]
    assert any("Se loger dignement" in a for a in axes)
    assert any("Vieillir chez soi" in a for a in axes)


PLAN_WITH_BUDGET = """<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">
<title>Programme stratégique transversal 2025-2030 – CPAS de Valmorel</title></head><body>
<main><h1>Le programme stratégique transversal du CPAS (2025-2030)</h1>
<p>Approuvé par le Conseil de l'action sociale le 25 septembre 2025.</p>
<h2>Le plan d'action</h2>
<table><thead><tr><th>Objectif stratégique</th><th>Objectif opérationnel</th><th>Action</th>
<th>Pilote</th><th>Échéance</th></tr></thead>
<tr><td>OS 1 – Garantir l'accès aux droits</td><td>OO 1.1 – Simplifier les démarches</td>
<td>Créer un formulaire unique</td><td>Service social</td><td>2026</td></tr>
<tr><td>OS 2 – Soutenir les aînés</td><td>OO 2.1 – Maintenir à domicile</td>
<td>Étendre les repas au samedi</td><td>Service des aînés</td><td>2027</td></tr>
</table>
<h2>Budget</h2>
<table><tr><th>Objectif stratégique</th><th>Budget ordinaire</th><th>Budget extraordinaire</th></tr>
<tr><td>OS 1</td><td>38 000 €</td><td>–</td></tr>
<tr><td>OS 2</td><td>12 000 €</td><td>265 000 €</td></tr>
</table></main></body></html>
"""


def test_a_budget_table_per_os_fills_in_the_os_read_above(tmp_path):
    doc, units = _units(tmp_path, PLAN_WITH_BUDGET, "valmorel-pst.html")
    # "Le programme stratégique transversal du CPAS (2025-2030)" as the page's heading: a plan
    assert doc.metadata["doc_kind"] == "pst"
    axes = {u.text: u for u in units if u.kind == "axis"}
    assert sorted(axes) == ["OS 1 – Garantir l'accès aux droits", "OS 2 – Soutenir les aînés"]
    assert "38 000" in axes["OS 1 – Garantir l'accès aux droits"].budget
    assert "265 000" in axes["OS 2 – Soutenir les aînés"].budget
    # the bare codes of the budget table are no new axes
    assert {u.kind for u in units if u.text in ("OS 1", "OS 2")} == {"title"}


def test_a_news_article_quoting_the_president_after_her_words(tmp_path):
    p = tmp_path / "article-valmorel.txt"
    p.write_text("Valmorel : le CPAS adopte sa feuille de route sociale\n\n"
                 "La présidente a présenté lundi la déclaration de politique sociale. "
                 "« Nous voulons un guichet unique pour tous », a assuré la présidente. "
                 "« Où sont les moyens ? », a rétorqué l'opposition.\n", encoding="utf-8")
    assert ingest_file(p, p.stem).metadata["doc_kind"] == "news"


def test_a_standalone_accordion_toggle_is_the_heading_of_its_panel(tmp_path):
    page = ("<!DOCTYPE html><html lang='fr'><head><meta charset='utf-8'><title>DPS</title></head>"
            "<body><main><h1>Déclaration de politique sociale 2025-2030</h1>"
            "<p>Le Conseil de l'action sociale a adopté sa déclaration le 3 février 2025.</p>"
            "<div class='accordion'><button class='accordion-toggle' aria-expanded='true' "
            "aria-controls='axe-1'>Axe 1 – Lutter contre la précarité énergétique</button>"
            "<div id='axe-1'><ul><li>Engager un deuxième tuteur énergie.</li>"
            "<li>Créer un fonds d'urgence pour les factures d'eau.</li></ul></div>"
            "<button class='accordion-toggle' aria-expanded='false' aria-controls='axe-2'>Axe 2 – "
            "L'insertion socioprofessionnelle</button><div id='axe-2'><ul>"
            "<li>Porter à vingt les contrats article 60.</li></ul></div></div>"
            "</main></body></html>")
    _, units = _units(tmp_path, page, "dps-valmorel.html")
    axes = [u.text for u in units if u.kind == "axis"]
    assert any("précarité énergétique" in a for a in axes)
    assert any("insertion socioprofessionnelle" in a for a in axes)


def test_a_magazine_page_number_and_the_mayor_signing_are_not_policy(tmp_path):
    doc, units = _units(tmp_path, "Bulletin communal de Valmorel\n\n— 2 —\n\n"
                                  "LE MOT DU BOURGMESTRE\n\nChères concitoyennes, chers "
                                  "concitoyens, le printemps revient.\n\nPhilippe Gillain, "
                                  "bourgmestre\n\n— 3 —\n\nTRAVAUX EN COURS\n\nCimetière : une "
                                  "parcelle sera aménagée au printemps.\n")
    for start in ("— 2 —", "— 3 —", "Philippe Gillain", "TRAVAUX EN COURS", "Cimetière"):
        assert _kind(doc, units, start) in NON_CONTENT_KINDS, start


def test_a_services_page_describes_what_exists_and_keeps_the_priorities(tmp_path):
    page = ("<!DOCTYPE html><html lang='fr'><head><meta charset='utf-8'><title>Le CPAS en bref"
            "</title></head><body><main><h1>Le CPAS en bref</h1>"
            "<p>Le CPAS de Valmorel a pour mission de garantir à chacun une vie digne.</p>"
            "<h2>Nos services</h2><h3>Logement</h3><p>Le CPAS dispose de six logements de "
            "transit. Nous vous accompagnons aussi en cas de difficulté avec votre propriétaire."
            "</p><h3>Aînés et maintien à domicile</h3><p>Repas chauds livrés du lundi au "
            "vendredi : nous aidons les personnes âgées à rester chez elles.</p>"
            "<h2>Nos priorités pour 2025-2030</h2><h3>Axe 1 – Aller vers ceux qui ne demandent "
            "rien</h3><ul><li>Organiser des permanences mobiles dans les hameaux.</li></ul>"
            "</main></body></html>")
    doc, units = _units(tmp_path, page, "cpas-en-bref-valmorel.html")
    content = [u.text for u in units if u.kind not in NON_CONTENT_KINDS]
    assert not any("Logement" == t or "six logements" in t or "Repas chauds" in t
                   for t in content), content
    assert any("Organiser des permanences mobiles" in t for t in content)


def test_a_fact_box_of_an_article_listing_the_measures_is_read(tmp_path):
    page = ("<!DOCTYPE html><html lang='fr'><head><meta charset='utf-8'><title>Valmorel</title>"
            "</head><body><main><article><h1>Valmorel : le CPAS veut aller chercher les oubliés"
            "</h1><p>Le Conseil de l'action sociale a adopté lundi soir sa déclaration de "
            "politique sociale. L'opposition s'est abstenue.</p>"
            "<p>« Il n'y a pas un euro en face de ces mesures », regrette Julien Moreau, chef de "
            "groupe.</p>"
            "<aside class='factbox'><h2>Ce que prévoit la déclaration</h2><ul>"
            "<li>Un travailleur social de rue engagé dès septembre 2025.</li>"
            "<li>Une épicerie sociale ouverte en 2026.</li></ul></aside>"
            "<h2>Un catalogue de bonnes intentions</h2><p>Les deux conseillers de la minorité "
            "se sont abstenus lundi.</p></article></main></body></html>")
    doc, units = _units(tmp_path, page, "article-valmorel.html")
    assert "Une épicerie sociale ouverte en 2026." in doc.text
    assert doc.metadata["doc_kind"] == "news"
    kinds = {u.text: u.kind for u in units}
    assert kinds["Une épicerie sociale ouverte en 2026."] not in NON_CONTENT_KINDS


def test_a_newsroom_subhead_ends_a_magazine_rubric(tmp_path):
    text = ("BULLETIN COMMUNAL DE VALMOREL\n\nLe mot du Bourgmestre\n\nChers concitoyens, le "
            "Collège rénovera la salle des fêtes.\n\nJean Dupont, bourgmestre\n\n"
            "CPAS : une déclaration pour six ans\n\nLa présidente a présenté lundi la "
            "déclaration. « Nous irons vers les familles », a assuré la présidente.\n\n"
            "Le logement en première ligne\n\nLe CPAS fera passer de 8 à 12 le nombre de ses "
            "logements d'insertion.\n")
    doc, units = _units(tmp_path, text)
    assert doc.metadata["doc_kind"] == "news"
    assert _kind(doc, units, "Chers concitoyens") in NON_CONTENT_KINDS
    assert _kind(doc, units, "Le CPAS fera passer") == "statement"
