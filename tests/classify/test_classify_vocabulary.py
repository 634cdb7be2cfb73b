"""The vocabulary matcher matches what it says: every word of a term, as written."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.classify.codebook import CodebookError, load_codebook
from pipeline.classify.vocabulary import (
    ARTICLES,
    VocabularyError,
    codebook_terms,
    compile_term,
    compile_terms,
    is_acronym,
    stem,
    term_words,
    vocabulary_score,
)

CODEBOOK = load_codebook()
MATCHER = compile_terms(codebook_terms(CODEBOOK))


def themes_of(text, lemmas="", tokens=""):
    return {t: [h.text for h in hits if h.strength != "negative"]
            for t, hits in MATCHER.match(lemmas, tokens, text).items()}


def test_every_codebook_term_compiles_to_its_own_words_and_finds_itself():
    """For every term of the codebook: its compiled form is exactly its words (no word lost,
    none replaced by a lemma), and the matcher finds the term in its own text with the exact
    span as evidence."""
    seen = {}
    for theme, term, strength in codebook_terms(CODEBOOK):
        t = compile_term(theme, term, strength)
        if t.acronym:
            assert t.words == tuple(w for w in term.replace("-", " ").split())
        else:
            folded = [w for w in term_words(term)]
            assert list(t.words) == folded, (term, t.words)
            assert not set(t.words) & ARTICLES
        hits = [h for tt, h in MATCHER.find(term) if tt.term == term and tt.theme == theme]
        assert hits, f"« {term} » ({theme}) ne se trouve pas lui-même"
        assert hits[0].text == term[hits[0].start:hits[0].end]
        key = (theme, t.stems)
        assert key not in seen, f"« {term} » et « {seen[key]} » sont le même terme ({theme})"
        seen[key] = term


@pytest.mark.parametrize("text,theme", [
    ("Permettre aux aînés de rester chez eux", "mobilite"),      # permis ≠ permettre
    ("les familles aidées par le CPAS", "sante"),               # aidant proche needs both words
    ("le CPAS peut les aider", "sante"),
    ("retrouver une place par le travail", "organisation_interne"),  # bien-être au travail
    ("Prendre rendez-vous en ligne", "accueil_information"),    # « première ligne »
])
def test_no_collapse_or_collision(text, theme):
    assert theme not in themes_of(text)


def test_multiword_terms_need_every_word():
    assert "sante" in themes_of("Soutenir les aidants proches épuisés")
    assert themes_of("Soutenir les aidants proches épuisés")["sante"] == ["aidants proches"]
    assert "organisation_interne" in themes_of("Veiller au bien-être au travail des agents")


def test_inflection_articles_and_contractions():
    assert themes_of("Créer trois logements de transit")["logement"][0] in (
        "logements", "logements de transit")
    assert "Accès aux logements" in themes_of("Accès aux logements pour tous")["logement"]
    assert themes_of("Des repas chauds pour les personnes âgées")["maintien_domicile"][0] == (
        "personnes âgées")


def test_verb_forms_through_the_unit_lemmas():
    # "accueillons" is matched to the term "accueillir" only through the unit's lemma
    assert "accueil_information" not in themes_of("Nous accueillons chacun")
    got = themes_of("Nous accueillons chacun", lemmas="accueillir", tokens="accueillons")
    assert got["accueil_information"] == ["accueillons"]


def test_acronyms_are_case_sensitive():
    assert "insertion" in themes_of("Suivi des bénéficiaires du RIS et article 60")
    assert "aide_alimentaire" in themes_of("Distribution des colis FEAD")
    assert "aide_alimentaire" not in themes_of("Le fead est un mot inconnu")


def test_negative_cue_is_reported_as_negative():
    hits = MATCHER.match("", "", "Renforcer la formation du personnel")["insertion"]
    assert any(h.strength == "negative" for h in hits)


@given(st.text(alphabet="abcdéèàç -'’AEIRSU", max_size=80))
def test_evidence_is_always_the_text_itself(text):
    for _, h in MATCHER.find(text):
        assert text[h.start:h.end] == h.text


def test_stem_and_helpers():
    assert stem("logements") == stem("logement")
    assert stem("sociaux") == "social"
    assert stem("âgées") == stem("âgé")
    assert stem("permettre") != stem("permis")
    assert is_acronym("CPAS") and not is_acronym("Forem") and not is_acronym("a b")
    assert vocabulary_score(0) == 0 and vocabulary_score(1) == 0.5


def test_unmatchable_terms_are_refused(tmp_path):
    with pytest.raises(VocabularyError):
        compile_term("x", "la les", "decisive")
    with pytest.raises(VocabularyError):
        compile_term("x", "de à", "decisive")
    with pytest.raises(VocabularyError):
        compile_term("x", "mot", "fort")
    bad = tmp_path / "cb.toml"
    bad.write_text('[[theme]]\nid = "a"\nlabel = "A"\ndefinition = "d"\ncolor = "#000000"\n'
                   'terms = ["le"]\nexamples = ["e"]\n', encoding="utf-8")
    with pytest.raises(CodebookError, match="aucun mot"):
        load_codebook(bad)
