"""Content test of prose sentences (issue 12): policy statement or context?

tests/data/content/dev_sentences.csv (``sentence,is_policy,shape``) was written and annotated
by hand before the cues of pipeline/data/content_cues.toml were tuned on it: commitments in
every grammatical form (future, passive future, conditional of intent, "s'engage",
"veillera", "souhaite", "entend", "devra", objective nouns, infinitives, action nouns, first
person plural) and every non-policy shape (news framing, reporting, statistics, history,
context, definitions, legal reminders, method, opinions, questions, fragments).

tests/data/content/dev_sentences_2.csv is a second development set, also annotated before the
cues were changed for it, and harder: commitments in the present tense, nominal objectives
("Objectif : zéro expulsion…"), "il est prévu de", "à terme", "dès 2026", conditional of
intent, reported speech ("…, a annoncé la présidente"), targets with numbers; against past
achievements, descriptive statistics, futures and duties of other actors (Région, Forem,
mutualités…), trends, events, values without an action.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from pipeline.models import NON_CONTENT_KINDS, UNIT_KINDS
from pipeline.segment.content import (
    is_policy_sentence,
    parse_cues,
    read_csv,
    score_csv,
    score_rows,
)

DEV = Path(__file__).resolve().parents[1] / "data" / "content" / "dev_sentences.csv"
DEV2 = Path(__file__).resolve().parents[1] / "data" / "content" / "dev_sentences_2.csv"


def test_dev_set_shape():
    rows = read_csv(DEV)
    assert len(rows) >= 150
    shapes = Counter()
    import csv
    with open(DEV, encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            shapes[r["shape"]] += 1
    for shape in ("future", "passive_future", "conditional", "engage", "veillera", "souhaite",
                  "entend", "devra", "infinitive", "nominal", "nous", "news", "reporting",
                  "statistics", "history", "context", "definition", "legal", "method",
                  "opinion", "question", "fragment"):
        assert shapes[shape] >= 1, shape


def test_dev_set_2_shape():
    import csv
    with open(DEV2, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) >= 150
    assert not {r["sentence"] for r in rows} & {s for s, _ in read_csv(DEV)}
    shapes = Counter(r["shape"] for r in rows)
    for shape in ("commitment", "framing", "reporting", "history", "statistics", "definition",
                  "legal", "method", "fragment", "opinion", "question", "value"):
        assert shapes[shape] >= 1, shape
    assert all((r["shape"] == "commitment") == (r["is_policy"] == "1") for r in rows)


@pytest.mark.parametrize("path", [DEV, DEV2], ids=["dev", "dev2"])
def test_dev_set_precision_and_recall(path):
    res = score_csv(path)
    assert res["precision"] >= 0.97 and res["recall"] >= 0.97, res["errors"]


@pytest.mark.parametrize(("sentence", "policy", "cue"), [
    ("Le CPAS ouvrira une antenne sociale à Mozet.", True, "policy:future"),
    ("Une permanence sera organisée chaque mardi.", True, "policy:future"),
    ("Le CPAS s'engage à répondre à chaque demande.", True, "policy:engage"),
    ("Nous veillerons à l'accessibilité des bâtiments.", True, "policy:veillera"),
    ("Le CPAS souhaite développer le logement d'insertion.", True, "policy:intent"),
    ("Favoriser l'accès aux soins.", True, "policy:infinitive_start"),
    ("Création d'une halte-garderie.", True, "policy:nominal_start"),
    ("Le président du CPAS a présenté mardi la déclaration.", False, "override:reporting"),
    ("42 personnes ont bénéficié du RIS en 2022.", False, "context:past"),
    ("L'épicerie sociale est un service de proximité.", False, "context:definition"),
    ("Le PST est un outil de gouvernance pluriannuel.", False, "context:instrument"),
    ("Il fixe le cadre : le PST est donc un outil de gouvernance.", False,
     "context:instrument"),
    ("Il change la gestion : développer un PST suppose de revoir ses pratiques.", False,
     "context:instrument"),
    ("Il fixe le cap pour six ans et évite la dispersion des moyens.", False,
     "context:instrument"),
    # a policy cue of the sentence wins over the tool named in it
    ("Ce PST doit permettre de réduire le non-recours d'ici 2030.", True, "policy:horizon"),
    ("Son élaboration sera confiée au service d'insertion en 2026.", True, "policy:future"),
    ("2026 : évaluation du dispositif d'insertion et extension aux moins de 25 ans", False,
     "no-commitment-cue"),
    ("Mars 2025 : adoption de la déclaration de politique sociale", False,
     "context:instrument"),
    ("Forfait énergie de 150 € pour les ménages précaires", False, "context:statistics"),
    ("Allocation de chauffage pour tous les ménages qui y ont droit", False,
     "no-commitment-cue"),
    ("Le PST sera évalué chaque année par le conseil.", True, "policy:future"),
    ("Évaluer chaque année les actions du PST avec le personnel.", True,
     "policy:infinitive_start"),
    ("Structure", False, "no-commitment-cue"),
    ("Le CPAS développera également un service de", False, "override:fragment"),
    ("Comment faire mieux avec moins ?", False, "override:question"),
    ("La pauvreté progresse.", False, "no-commitment-cue"),
    # dev set 2: present tense, nominal, dated, reported, conditional; other actors
    ("Le CPAS accompagne chaque famille dans sa recherche de logement.", True,
     "weak_policy:cpas_action"),
    ("Chaque bénéficiaire reçoit un plan d'accompagnement.", True, "weak_policy:universal"),
    ("Une permanence juridique est organisée chaque lundi.", True,
     "weak_policy:passive_present"),
    ("Objectif : zéro expulsion sans relogement.", True, "policy:objective_noun"),
    ("Il est également prévu d'ouvrir une antenne.", True, "policy:intent"),
    ("Dès 2026, chaque bénéficiaire dispose d'un référent.", True, "policy:horizon"),
    ("Si le budget le permet, le CPAS engagerait un éducateur.", True,
     "policy:if_conditional"),
    ("Cet hiver, le CPAS ouvre un abri de nuit de 20 places.", True, "policy:cpas_present"),
    ("Le CPAS ouvrira un abri de nuit, a annoncé la présidente.", True, "policy:reported"),
    ("La présidente a annoncé que le CPAS renforcerait son service.", True, "policy:reported"),
    ("« Ce budget ne tiendra pas », a estimé l'opposition.", False, "override:reporting"),
    ("La présidente a expliqué que les demandes avaient augmenté.", False, "override:reporting"),
    ("La Région wallonne lancera un appel à projets.", False, "override:other_actor"),
    ("La commune et le CPAS créeront un guichet unique.", True, "policy:future"),
    ("La réforme entrera en vigueur le 1er janvier.", False, "override:news"),
    ("Le prix de l'énergie devrait encore augmenter.", False, "override:trend"),
    ("Personne ne doit être laissé au bord du chemin.", False, "override:value"),
    ("Le CPAS a ouvert une épicerie sociale en 2020.", False, "context:past"),
    # present forms in -rons are not futures; a relative clause "que nous …" is no commitment
    ("Le logement reste la préoccupation des familles que nous rencontrons.", False,
     "no-commitment-cue"),
    ("Nous rencontrerons chaque famille concernée.", True, "policy:future"),
    ("Nous assurons un accueil sans rendez-vous chaque matin.", True, "weak_policy:nous"),
    ("Les familles que nous accompagnons recevront une aide renforcée.", True, "policy:future"),
    # the plan that follows the declaration, who writes it and reports on it
    ("Cette déclaration sera complétée par un programme stratégique transversal.", False,
     "override:method"),
    ("Elle fixe les orientations que le programme stratégique transversal traduira en "
     "actions.", False, "override:method"),
    ("Le personnel sera associé à chaque étape de la rédaction du PST.", False,
     "override:method"),
    ("Le CPAS associera les usagers à l'élaboration du PST.", True, "policy:future"),
    ("Le suivi est assuré par la directrice générale.", False, "override:method"),
    ("Le suivi du PST sera assuré par un comité de pilotage.", True, "policy:future"),
    ("Le suivi des bénéficiaires sera assuré par un assistant social référent.", True,
     "policy:future"),
    ("Le rapport d'évaluation à mi-parcours sera présenté au Conseil en 2027.", False,
     "override:method"),
    # what an infinitive "has become" is a fact, not an aim
    ("Maîtriser les outils numériques est devenu une condition de l'insertion.", False,
     "override:definition"),
    ("Renforcer l'accompagnement des jeunes est devenu notre priorité.", True,
     "policy:infinitive_start"),
    # the commune's college is another actor; the plan revised or reviewed is method
    ("D'ici 2026, le Collège rénovera la salle des fêtes du village.", False,
     "override:other_actor"),
    ("Le CPAS et le Collège communal créeront un guichet social unique.", True,
     "policy:future"),
    ("Le PST pourra être actualisé en cours de législature.", False, "override:method"),
    ("Le comité de direction examinera l'état d'avancement des actions chaque trimestre.",
     False, "override:method"),
    ("Le CPAS examinera chaque demande dans un délai de 30 jours.", True, "policy:future"),
    ("Les projets d'investissement seront financés en priorité par des subsides régionaux.",
     False, "override:method"),
    ("Les repas seront financés par le fonds social et distribués chaque jour.", True,
     "policy:future"),
    # what the CPAS has today, a label and a figure
    ("Le CPAS dispose actuellement de six logements de transit.", False, "context:current"),
    ("Le CPAS disposera dès 2026 de six logements de transit supplémentaires.", True,
     "policy:future"),
    ("2025 : 5 200 000 €", False, "context:figures"),
    ("Objectif : 20 places en crèche", True, "policy:objective_noun"),
    # a noun in -ière is no infinitive
    ("Derrière chaque dossier se cache une histoire.", False, "no-commitment-cue"),
    ("Entretenir les logements de transit.", True, "policy:infinitive_start"),
    # the plan shaped, revised, reported on; the declaration described
    ("Le Conseil a retenu cinq axes, qui structureront le futur programme stratégique "
     "transversal.", False, "override:method"),
    ("Il pourra être actualisé en cours de législature.", False, "override:method"),
    ("Un état d'avancement sera présenté chaque année au Conseil de l'action sociale.", False,
     "override:method"),
    ("Un tableau de bord sera tenu par la directrice générale.", False, "override:method"),
    ("La déclaration rassemble les principaux projets que le Conseil souhaite porter.", False,
     "override:method"),
    ("Une évaluation à mi-législature sera présentée au Conseil en 2028.", False,
     "override:method"),
    ("Rappelons que la maison de repos a obtenu un label en 2023.", False, "context:past"),
    ("La trajectoire budgétaire tiendra compte de la hausse des demandes.", False,
     "override:trend"),
    ("2025 aura été une année charnière pour le CPAS.", False, "no-commitment-cue"),
    ("La déclaration sera traduite dans les prochains mois en un programme stratégique "
     "transversal.", False, "override:method"),
    ("Les perspectives restent incertaines et le nombre de demandes pourrait doubler.", False,
     "override:trend"),
    ("Dépenses de fonctionnement : 1,4 million d'euros (12 %)", False, "context:figures"),
])
def test_deciding_cue(sentence, policy, cue):
    assert is_policy_sentence(sentence) == (policy, cue)


def test_context_kind_is_non_content():
    assert "context" in UNIT_KINDS and "context" in NON_CONTENT_KINDS


def test_custom_cues_and_scoring():
    cues = parse_cues({"policy": {"future": ["\\bouvrira\\b"]}})
    assert is_policy_sentence("Le CPAS ouvrira une épicerie.", cues) == (True, "policy:future")
    assert is_policy_sentence("Le CPAS a ouvert une épicerie.", cues) == (False,
                                                                            "no-commitment-cue")
    res = score_rows([("Le CPAS ouvrira une épicerie.", 1), ("Le CPAS a ouvert.", 1),
                      ("Il pleut.", 0)], cues)
    assert (res["tp"], res["fn"], res["tn"], res["fp"]) == (1, 1, 1, 0)
    assert res["precision"] == 1.0 and res["recall"] == 0.5


def test_cli(capsys):
    from pipeline.segment.content import main

    assert main([str(DEV)]) == 0
    assert "precision" in capsys.readouterr().out
