"""One CPAS's trace in the terminal (``pipeline.trace.render``) on a trace table written by
hand, and the ``trace`` command end to end on a tiny corpus written below.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.cli import EXIT_USAGE, main
from pipeline.trace import TRACE_COLUMNS
from pipeline.trace.render import render_trace, trace_docs

_BASE = {"commune": "Sart-Bérinne", "mandate": "2025-2030", "dps_doc": "sb-dps",
         "pst_doc": "sb-pst"}
HOUSING = "Créer trois logements de transit."
ROOFS = "Isoler les toitures des logements sociaux."
TRANSIT_ACTION = "Rénover la maison de la rue Haute en logements de transit"
CAR = "Acheter un véhicule électrique"
TRACE = pd.DataFrame([
    {**_BASE, "dps_unit": "u2", "dps_kind": "objective", "dps_text": HOUSING,
     "pst_unit": "p4", "pst_kind": "action", "pst_objective": "OO 1.1 – Disposer de logements",
     "pst_text": TRANSIT_ACTION, "service": "Service logement", "deadline": "2026",
     "budget": "120.000 €", "indicator": "", "status": "dans le PST", "score": 0.823,
     "tfidf": 0.5, "vector": 0.7, "shared_lemmas": "logement, transit", "shared_themes": "",
     "evidence": "mots communs : logement, transit"},
    {**_BASE, "dps_unit": "u3", "dps_kind": "objective", "dps_text": ROOFS, "pst_unit": "",
     "pst_kind": "", "pst_objective": "", "pst_text": "", "service": "", "deadline": "",
     "budget": "", "indicator": "", "status": "pas dans le PST", "score": np.nan,
     "tfidf": np.nan, "vector": np.nan, "shared_lemmas": "", "shared_themes": "",
     "evidence": "meilleur candidat p9 « Acheter » (score 0,12, sous le seuil 0,40)"},
    {**_BASE, "dps_unit": "", "dps_kind": "", "dps_text": "", "pst_unit": "p9",
     "pst_kind": "action", "pst_objective": "OO 3.1 – Moderniser", "pst_text": CAR,
     "service": "DG", "deadline": "2027", "budget": "", "indicator": "",
     "status": "sans ancrage dans la DPS", "score": np.nan, "tfidf": np.nan, "vector": np.nan,
     "shared_lemmas": "", "shared_themes": "", "evidence": ""},
], columns=TRACE_COLUMNS)
DOCUMENTS = pd.DataFrame({"doc_id": ["sb-dps", "sb-pst", "sb-2019", "autre-dps"],
                          "commune": ["Sart-Bérinne", "sart berinne", "Sart-Bérinne", "Autre"],
                          "doc_kind": ["declaration", "pst", "declaration", "declaration"]})
VERSIONS = pd.DataFrame([
    {"commune": "Sart-Bérinne", "old_doc": "sb-2019", "new_doc": "sb-dps", "old_unit": "u1",
     "new_unit": "u2", "status": "kept"},
    {"commune": "Sart-Bérinne", "old_doc": "sb-2019", "new_doc": "sb-dps", "old_unit": "u5",
     "new_unit": "", "status": "dropped"},
    {"commune": "Sart-Bérinne", "old_doc": "sb-2019", "new_doc": "sb-dps", "old_unit": "u6",
     "new_unit": "", "status": "dropped"},
    {"commune": "Sart-Bérinne", "old_doc": "sb-2019", "new_doc": "sb-dps", "old_unit": "",
     "new_unit": "u3", "status": "new"},
])


# --------------------------------------------------------------------------- render_trace


def test_render_shows_links_missing_promises_and_unanchored_actions():
    text = render_trace("sb-dps", TRACE, width=200)
    lines = text.splitlines()
    assert lines[0] == "sb-dps → sb-pst — Sart-Bérinne — mandature 2025-2030"
    assert lines[1] == ("Promesses reprises dans le plan : 1 / 2 (50 %) ; actions du plan sans "
                        "ancrage dans la déclaration : 1 / 2")
    assert f"✓ u2 {HOUSING}" in lines
    assert (f"    → p4 {TRANSIT_ACTION} [OO 1.1 – Disposer de logements] (Service logement ; "
            "2026 ; 120.000 €)  score 0,82") in lines
    assert "      mots communs : logement, transit" in lines
    assert f"✗ u3 {ROOFS} — pas dans le PST" in lines
    assert "      meilleur candidat p9 « Acheter » (score 0,12, sous le seuil 0,40)" in lines
    k = lines.index("Actions du plan sans ancrage dans la déclaration (1) :")
    assert lines[k + 1] == f"  · p9 {CAR}"
    assert "\033[" not in text


def test_render_promises_before_the_unanchored_block():
    text = render_trace("sb-dps", TRACE, width=200)
    assert text.index("✓ u2") < text.index("✗ u3") < text.index("sans ancrage dans la "
                                                                  "déclaration (1)")


def test_render_with_missing_sides_as_parquet_gives_them():
    nan_sides = TRACE.astype(object).where(TRACE != "", np.nan)
    assert render_trace("sb-dps", nan_sides, width=200) == render_trace("sb-dps", TRACE,
                                                                        width=200)


def test_render_color_wraps_the_marks():
    text = render_trace("sb-dps", TRACE, width=200, color=True)
    assert "\033[32m✓\033[0m u2" in text
    assert "\033[31m✗\033[0m u3" in text


def test_render_versions_counts():
    text = render_trace("sb-dps", TRACE, VERSIONS, width=200)
    assert "D'une législature à l'autre : sb-2019 → sb-dps" in text
    assert "  gardées 1 ; reformulées 0 ; abandonnées 2 ; nouvelles 1" in text.splitlines()


def test_render_wraps_promises_links_and_actions_to_the_width():
    # the header, the counts and the block titles are not wrapped; every item is
    lines = render_trace("sb-dps", TRACE, width=40).splitlines()
    items = [x for x in lines if x.startswith(("✓", "✗", "  ", "·"))]
    assert len(items) >= 8
    assert all(len(x) <= 40 for x in items)
    wide = render_trace("sb-dps", TRACE, width=200).splitlines()
    assert len(lines) > len(wide)


def test_render_of_a_declaration_with_nothing():
    assert render_trace("autre-dps", TRACE) == ("autre-dps : aucun plan stratégique relié (ni "
                                                "déclaration précédente)")


# --------------------------------------------------------------------------- trace_docs


@pytest.mark.parametrize("name", ["sb-dps", "SB-DPS", "sb-pst", "Sart-Bérinne", "sart berinne",
                                  "SART BERINNE"])
def test_trace_docs_resolves_ids_plans_and_communes(name):
    assert trace_docs(name, DOCUMENTS, TRACE) == ["sb-dps"]


def test_trace_docs_unknown_name_is_a_french_value_error():
    with pytest.raises(ValueError, match="« Nulle-part » : aucune déclaration suivie sous ce "
                                         "nom ; déclarations reliées à un plan : sb-dps"):
        trace_docs("Nulle-part", DOCUMENTS, TRACE)


def test_trace_docs_declaration_without_plan_is_unknown():
    with pytest.raises(ValueError, match="aucune déclaration suivie"):
        trace_docs("Autre", DOCUMENTS, TRACE)


def test_trace_docs_empty_trace_says_there_is_no_plan():
    with pytest.raises(ValueError, match="aucune \\(le corpus n'a pas de plan stratégique\\)"):
        trace_docs("sb-dps", DOCUMENTS, TRACE.iloc[0:0])


def test_trace_docs_finds_a_commune_through_its_versions():
    other = TRACE.assign(dps_doc="x-dps", pst_doc="x-pst")
    assert trace_docs("sart-berinne", DOCUMENTS, other, VERSIONS) == ["sb-dps"]


# --------------------------------------------------------------------------- CLI


def test_cli_trace_without_analysis_is_a_usage_error(tmp_path, capsys):
    assert main(["trace", "x", "--out", str(tmp_path)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "erreur : aucune analyse dans" in err


def test_cli_trace_of_an_analysis_without_plan_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "documents.csv").write_text(
        "doc_id,source_file,status,error,commune\nd,d.txt,ok,,Florival\n", encoding="utf-8")
    (tmp_path / "units.csv").write_text("doc_id,unit_id,kind,text\nd,u1,objective,Créer\n",
                                        encoding="utf-8")
    assert main(["trace", "florival", "--out", str(tmp_path)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "aucun plan stratégique (PST) relié à une déclaration" in err
    assert "metadata.csv" in err


DPS_TEXT = """CPAS DE FLORIVAL
Déclaration de politique sociale 2025-2030
Adoptée par le Conseil de l'action sociale en séance du 20 février 2025

AXE 1 : Logement

- Créer trois logements de transit pour les familles sans abri.
- Isoler les toitures des bâtiments sociaux du CPAS.

AXE 2 : Insertion

- Organiser des formations qualifiantes pour les bénéficiaires du revenu d'intégration.
"""
PST_TEXT = """PROGRAMME STRATÉGIQUE TRANSVERSAL 2025-2030
CPAS de Florival

OS 1 – Garantir un logement digne

  OO 1.1 – Disposer de logements de transit
    Action 1.1.1 : Créer trois logements de transit pour les familles sans abri
        Pilote : Service logement
        Échéance : 2026
        Budget : 120.000 €
    Action 1.1.2 : Acheter un véhicule électrique pour le service technique
        Pilote : Directrice générale
        Échéance : 2027
        Budget : 28.000 €

OS 2 – Favoriser l'insertion

  OO 2.1 – Former les bénéficiaires
    Action 2.1.1 : Organiser des formations qualifiantes pour les bénéficiaires du revenu d'intégration
        Pilote : Service insertion
        Échéance : 2025
        Budget : 5.000 €
"""
METADATA = """doc_id,commune,legislature,adopted_on
florival-dps-2025,Florival,2025-2030,2025-02-20
florival-pst-2025,Florival,2025-2030,2025-08-28
"""


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    from pipeline.runner import analyze

    corpus = tmp_path_factory.mktemp("trace-corpus")
    (corpus / "florival-dps-2025.txt").write_text(DPS_TEXT, encoding="utf-8")
    (corpus / "florival-pst-2025.txt").write_text(PST_TEXT, encoding="utf-8")
    (corpus / "metadata.csv").write_text(METADATA, encoding="utf-8")
    out = tmp_path_factory.mktemp("trace-out")
    result = analyze(corpus, out, n_process=1, quiet=True, report=False)
    assert result.exit_code == 0
    return out


@pytest.mark.slow
def test_cli_trace_end_to_end(analysed, capsys):
    assert main(["trace", "Florival", "--out", str(analysed), "--no-color",
                 "--width", "250"]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert lines[0] == ("florival-dps-2025 → florival-pst-2025 — Florival — mandature "
                        "2025-2030")
    assert lines[1].startswith("Promesses reprises dans le plan : 2 / 3 (67 %) ; actions du "
                               "plan sans ancrage dans la déclaration : 1 / 3")
    linked = [x for x in lines if x.startswith("✓ ")]
    assert len(linked) == 2
    assert any("Créer trois logements de transit pour les familles sans abri." in x
               for x in linked)
    assert any(x.startswith("    → ") and "Créer trois logements de transit pour les familles "
               "sans abri [Disposer de logements de transit] (Service logement ; 2026 ; "
               "120.000 €)" in x for x in lines)
    missing = [x for x in lines if x.startswith("✗ ")]
    assert len(missing) == 1
    assert "Isoler les toitures des bâtiments sociaux du CPAS." in missing[0]
    assert missing[0].endswith(" — pas dans le PST")
    k = lines.index("Actions du plan sans ancrage dans la déclaration (1) :")
    assert lines[k + 1].endswith(" Acheter un véhicule électrique pour le service technique")


@pytest.mark.slow
def test_cli_trace_unknown_name_end_to_end(analysed, capsys):
    assert main(["trace", "Nulle-part", "--out", str(analysed)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "« Nulle-part » : aucune déclaration suivie sous ce nom" in err
    assert "florival-dps-2025" in err
