import re

import pytest

from pipeline.classify.codebook import CodebookError, load_codebook

SPEC_IDS = {
    "insertion", "logement", "maintien_domicile", "synergies", "accueil_information",
    "acces_droits", "energie", "aide_alimentaire", "endettement", "enfance_famille", "mobilite",
    "sante", "participation_sociale", "numerique", "migration", "participation_citoyenne",
    "organisation_interne", "finances", "environnement",
}


def test_codebook_is_complete():
    themes = load_codebook()
    assert {t.id for t in themes} == SPEC_IDS
    assert len(themes) == 19
    for t in themes:
        assert t.label and t.definition and t.includes and t.excludes, t.id
        assert len(t.terms) >= 5, t.id
        assert 2 <= len(t.examples) <= 3, t.id
        assert re.fullmatch(r"#[0-9a-f]{6}", t.color), t.id


def test_colours_are_distinct():
    colours = [t.color for t in load_codebook()]
    assert len(set(colours)) == len(colours)


def test_terms_are_not_repeated_within_a_theme():
    for t in load_codebook():
        assert len(set(t.terms)) == len(t.terms), t.id


def test_missing_field_is_reported_in_french(tmp_path):
    p = tmp_path / "cb.toml"
    p.write_text('[[theme]]\nid = "x"\nlabel = "X"\ncolor = "#000000"\ndefinition = "d"\n'
                 'terms = ["a"]\n', encoding="utf-8")
    with pytest.raises(CodebookError, match="examples"):
        load_codebook(p)


def test_bad_colour_and_duplicate_id(tmp_path):
    entry = ('[[theme]]\nid = "x"\nlabel = "X"\ncolor = "{c}"\ndefinition = "d"\n'
             'terms = ["a"]\nexamples = ["e"]\n')
    p = tmp_path / "cb.toml"
    p.write_text(entry.format(c="red"), encoding="utf-8")
    with pytest.raises(CodebookError, match="couleur"):
        load_codebook(p)
    p.write_text(entry.format(c="#000000") * 2, encoding="utf-8")
    with pytest.raises(CodebookError, match="double"):
        load_codebook(p)
