"""Every metadata pattern of pipeline/data/metadata_patterns.toml comes with examples, and every
example is read as the file says (issue 12: each form has an example that a test checks)."""

from __future__ import annotations

import re

import pytest

from pipeline.ingest import ingest_file
from pipeline.ingest.metadata import expand, extract_metadata, load_patterns

PATTERNS = load_patterns()
#: section of the TOML → field of extract_metadata
FIELDS = {"commune": "commune", "legislature": "legislature", "adopted_on": "adopted_on",
          "president": "president"}
#: sections' pattern lists (each entry a table {regex, examples})
PATTERN_LISTS = [("commune", "patterns"), ("adopted_on", "patterns"), ("president", "inline"),
                 ("president", "prose")]


def _pattern_examples():
    for section, key in PATTERN_LISTS:
        for k, entry in enumerate(PATTERNS[section][key]):
            for ex in entry.get("examples", []):
                yield pytest.param(section, entry["regex"], ex, id=f"{section}.{key}[{k}]:{ex['text'][:40]}")


def _rule_examples():
    for section in FIELDS:
        for ex in PATTERNS[section].get("examples", []):
            yield pytest.param(section, ex, id=f"{section}:{ex['text'][:40]}")


@pytest.mark.parametrize("section, key", PATTERN_LISTS)
def test_every_pattern_has_an_example(section, key):
    entries = PATTERNS[section][key]
    assert entries, f"{section}.{key} is empty"
    for entry in entries:
        assert entry.get("examples"), f"pattern without example in [{section}]: {entry['regex']}"
        assert any(ex["expect"] for ex in entry["examples"]), "at least one positive example"


@pytest.mark.parametrize("section", sorted(FIELDS))
def test_every_section_has_rule_examples(section):
    # exclusions, names cut over two lines, "not a person"… are shown by examples too
    assert PATTERNS[section].get("examples"), f"[{section}] has no examples"


@pytest.mark.parametrize("section, regex, example", list(_pattern_examples()))
def test_pattern_example(section, regex, example):
    got = extract_metadata(example["text"])[FIELDS[section]]
    assert got == example["expect"], example["text"]
    if example["expect"]:
        # the example is really a form of this pattern (not read by another one)
        pat = re.compile(expand(regex, PATTERNS["parts"]), re.MULTILINE)
        assert pat.search(example["text"]), f"the pattern does not match its example: {example['text']}"


@pytest.mark.parametrize("section, example", list(_rule_examples()))
def test_rule_example(section, example):
    assert extract_metadata(example["text"])[FIELDS[section]] == example["expect"], example["text"]


# --------------------------------------------------------------------------- issue 12 forms

def test_forms_of_issue_12():
    """The forms listed in issue 12, each read on its own and inside a small document."""
    assert extract_metadata("SEANCE DU 25 FEVRIER 2019")["adopted_on"] == "2019-02-25"
    assert extract_metadata("En date du 04/03/2019, le Conseil de l'action sociale a adopté "
                            "la présente déclaration.")["adopted_on"] == "2019-03-04"
    assert extract_metadata("Approuvée par le Conseil de l'action sociale le 12 mars "
                            "2025")["adopted_on"] == "2025-03-12"
    assert extract_metadata("CPAS DE TROOZ")["commune"] == "Trooz"
    assert extract_metadata("Le président du CPAS, Jean Dupont, a présenté la "
                            "déclaration.")["president"] == "Jean Dupont"
    assert extract_metadata("Par le Conseil,\nLe Président,")["president"] == ""


def test_installation_and_concertation_dates_are_never_adoption():
    text = ("Vu l'installation du Conseil de l'action sociale le 3 décembre 2018 ;\n"
            "Le Conseil de l'action sociale installé en séance du 3 décembre 2018,\n"
            "Le Comité de concertation, réuni en séance du 12 février 2019, a rendu un avis "
            "favorable.\n"
            "Publié le 28/02/2019 à 14h32")
    assert extract_metadata(text)["adopted_on"] == ""
    assert extract_metadata(text + "\nSEANCE DU 25 FEVRIER 2019")["adopted_on"] == "2019-02-25"


def test_fixture_ocr_split_and_capitals(tmp_path):
    """A tiny scanned-looking .txt: commune cut over two lines, capitals, prose president."""
    p = tmp_path / "saint-georges.txt"
    p.write_text("CPAS de Saint-\nGeorges-sur-Meuse\n"
                 "DECLARATION DE POLITIQUE SOCIALE 2019-2024\n"
                 "SEANCE DU 25 FEVRIER 2019\n"
                 "Le Comité de concertation, réuni en séance du 12 février 2019, a rendu un avis.\n"
                 "La présidente, Marie Lambert, a présenté le texte au Conseil.\n"
                 "AXE 1 : LOGEMENT\n- Créer deux logements d'urgence.\n"
                 "Pour le Conseil,\nLa Présidente,\n", encoding="utf-8")
    md = ingest_file(p, "saint-georges").metadata
    assert md["commune"] == "Saint-Georges-sur-Meuse"
    assert md["legislature"] == "2019-2024" and md["mandate"] == "2019-2024"
    assert md["adopted_on"] == "2019-02-25"
    assert md["president"] == "Marie Lambert"

    q = tmp_path / "fernelmont.txt"
    q.write_text("CPAS de\nFernelmont\nCPAS DE FERNELMONT\n"
                 "Déclaration de politique sociale\n"
                 "En date du 04/03/2019, le Conseil de l'action sociale a adopté la déclaration.\n"
                 "Par le Conseil,\nLe Président,\nLe Conseil\n", encoding="utf-8")
    md = ingest_file(q, "fernelmont").metadata
    assert md["commune"] == "Fernelmont"
    assert md["adopted_on"] == "2019-03-04"
    assert md["president"] == ""
