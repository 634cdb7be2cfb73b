"""A preamble heading ("Introduction", "Contexte", "Préambule") opens a part that runs until
the next heading. A declaration written in prose under such a heading, with no heading after
it, used to be read as preamble from end to end: not one content unit. The preamble now gives
way to the declaration's body at its first paragraph holding a commitment, when it runs to the
end of the document (or its signature) and enough of its sentences are commitments
(``pipeline.segment.tree._preamble_release``). A preamble closed by a heading is left whole.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.ingest import ingest_file
from pipeline.models import NON_CONTENT_KINDS
from pipeline.segment import segment
from pipeline.segment.content import _find_line

LEGAL = ("Conformément à l'article 27ter de la loi organique, le Conseil de l'action sociale "
         "adopte une déclaration de politique sociale couvrant la durée de son mandat.")
FIGURES = ("Notre commune compte 8 200 habitants et le CPAS a accompagné 640 ménages en 2018. "
           "La précarité touche de plus en plus de familles monoparentales.")
BODY = [
    "Durant cette législature, le CPAS renforcera son service logement en ouvrant deux "
    "logements de transit. Nous développerons aussi une agence immobilière sociale avec les "
    "communes voisines.",
    "En matière d'emploi, nous augmenterons le nombre de contrats article 60 et créerons un "
    "atelier de recherche d'emploi. En 2018, 41 personnes ont signé un contrat.",
    "Les aînés pourront compter sur un service de repas à domicile élargi au week-end. Nous "
    "mettrons en place une navette pour les rendez-vous médicaux.",
]
COMMITMENTS = ["le CPAS renforcera son service logement", "agence immobilière sociale",
               "nous augmenterons le nombre de contrats", "repas à domicile élargi",
               "navette pour les rendez-vous"]


def _units(tmp_path: Path, text: str):
    p = tmp_path / "dps-fontanel-2019.txt"
    p.write_text(text, encoding="utf-8")
    doc = ingest_file(p, p.stem)
    return doc, segment(doc)


def _kind_of(doc, units, fragment: str) -> str:
    i = doc.text.find(fragment)
    assert i >= 0, fragment
    kinds = [u.kind for u in units if u.start <= i < u.end and u.kind not in ("section",)]
    assert kinds, fragment
    return kinds[-1]


def _declaration(head: str, body: list[str], tail: str = "Fait à Fontanel, le 25 février "
                 "2019.\nLe Président") -> str:
    parts = ["CPAS de Fontanel-sur-Ourthe", "Déclaration de politique sociale 2019-2024", "",
             head, "", LEGAL, "", FIGURES, ""]
    for para in body:
        parts += [para, ""]
    return "\n".join(parts) + tail + "\n"


@pytest.mark.parametrize("head", ["Introduction", "Contexte", "Préambule"])
def test_prose_declaration_under_a_preamble_heading_keeps_its_commitments(tmp_path, head):
    doc, units = _units(tmp_path, _declaration(head, BODY))
    for c in COMMITMENTS:
        assert _kind_of(doc, units, c) == "statement", c
    # what comes before the first commitment stays the preamble
    assert _kind_of(doc, units, "article 27ter") == "preamble"
    assert _kind_of(doc, units, "Notre commune compte") == "preamble"
    # after it, a past figure is read by the content test: context
    assert _kind_of(doc, units, "41 personnes ont signé") == "context"
    assert _kind_of(doc, units, head) == "preamble"


def test_without_a_signature_the_end_of_the_document_closes_the_part(tmp_path):
    doc, units = _units(tmp_path, _declaration("Introduction", BODY, tail=""))
    assert all(_kind_of(doc, units, c) == "statement" for c in COMMITMENTS)


def test_a_preamble_closed_by_a_heading_is_left_whole(tmp_path):
    text = _declaration("Introduction", BODY, tail="") + (
        "\nAxe 1 : Le logement\n- Créer deux logements d'urgence.\n- Ouvrir une antenne "
        "logement.\n")
    doc, units = _units(tmp_path, text)
    for c in COMMITMENTS:
        assert _kind_of(doc, units, c) == "preamble", c
    assert _kind_of(doc, units, "Créer deux logements") == "objective"


#: introductions with no commitment to release: figures and framing; the document speaking of
#: itself in the future ("La présente déclaration guidera…", "Nous la traduirons…")
FRAMING_ONLY = {
    "figures": ("Contexte", [
        "Le CPAS est un acteur essentiel de la politique sociale locale. En 2017, 19 % des "
        "ménages vivaient sous le seuil de pauvreté.",
        "Le Conseil de l'action sociale a été installé le 7 janvier 2019. Il compte neuf "
        "membres."]),
    "about-itself": ("Introduction", [
        "La présente déclaration guidera l'action du CPAS jusqu'en 2030. Nous la traduirons "
        "ensuite dans un programme stratégique transversal.",
        "Ces orientations serviront de boussole au Conseil. Le PST précisera pour chaque "
        "objectif les moyens et les échéances."]),
}


@pytest.mark.parametrize("case", sorted(FRAMING_ONLY))
def test_an_introduction_of_framing_only_stays_a_preamble(tmp_path, case):
    head, framing = FRAMING_ONLY[case]
    doc, units = _units(tmp_path, _declaration(head, framing))
    assert not [u for u in units if u.kind not in NON_CONTENT_KINDS]


def test_too_few_commitments_leave_the_preamble_whole(tmp_path):
    framing = ["Le CPAS est un acteur essentiel de la politique sociale locale. En 2017, 19 % "
               "des ménages vivaient sous le seuil de pauvreté. Le Conseil a été installé le "
               "7 janvier 2019.",
               "Nous veillerons à informer chaque citoyen de ses droits."]
    doc, units = _units(tmp_path, _declaration("Introduction", framing))
    assert _kind_of(doc, units, "Nous veillerons") == "preamble"


def test_find_line_reads_a_table_row_written_as_its_cells():
    text = "OS\nOO\nActions\nOS 1 : Être proche\nOO 1.1 Ouvrir une antenne\nLouer un local\n2026"
    row = "OS 1 : Être proche | OO 1.1 Ouvrir une antenne | Louer un local | 2026"
    spans = _find_line(text, row, 0)
    assert [text[i:j] for i, j in spans] == ["OS 1 : Être proche", "OO 1.1 Ouvrir une antenne",
                                             "Louer un local", "2026"]
    assert _find_line(text, "Louer un local", 0) == [(text.find("Louer"),
                                                      text.find("Louer") + 14)]
    assert _find_line(text, "Absent | Nulle part", 0) == []
    assert _find_line(text, "", 0) == []


def test_a_conclusion_is_never_released_but_may_close_the_body(tmp_path):
    closing = ("\nConclusion\n\nEnsemble, nous construirons un CPAS plus proche. Nous resterons "
               "à l'écoute de chacun. Nous mettrons tout en œuvre pour que personne ne soit "
               "laissé de côté.\n\nLe Président\n")
    doc, units = _units(tmp_path, _declaration("Introduction", BODY, tail="") + closing)
    for c in COMMITMENTS:
        assert _kind_of(doc, units, c) == "statement", c
    assert _kind_of(doc, units, "nous construirons un CPAS") == "preamble"
    doc, units = _units(tmp_path, _declaration("Conclusion", BODY))
    for c in COMMITMENTS:
        assert _kind_of(doc, units, c) == "preamble", c
