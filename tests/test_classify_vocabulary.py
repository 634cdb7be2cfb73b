from test_classify_helpers import fake_lemmatise

from pipeline.classify.vocabulary import _in_order, compile_terms, is_acronym, vocabulary_score


def matcher(*pairs):
    return compile_terms(pairs, lemmatise=fake_lemmatise)


def test_acronym_is_case_sensitive_whole_word():
    m = matcher(("insertion", "RIS"))
    assert m.match("", "", "les bénéficiaires du RIS") == {"insertion": ["RIS"]}
    assert m.match("", "", "le ris de veau") == {}
    assert m.match("", "", "PRISE de contact") == {}


def test_literal_with_digit_matches_raw_text_only_as_whole_words():
    m = matcher(("insertion", "article 60"))
    assert m.match("", "", "des contrats Article  60 en 2019") == {"insertion": ["article 60"]}
    assert m.match("", "", "l'article 600 du code") == {}
    # lemmas alone never carry the number
    assert m.match("article", "article", "") == {}


def test_lemma_phrase_in_order_with_small_gaps():
    m = matcher(("maintien_domicile", "maintien à domicile"))
    # term lemmatises to "maintien domicile"; one word between is allowed
    assert m.match("maintien personne domicile") == {"maintien_domicile": ["maintien à domicile"]}
    assert m.match("maintien personne âgé isolé domicile") == {}
    assert m.match("domicile maintien") == {}


def test_surface_tokens_rescue_a_lemmatiser_slip():
    m = matcher(("logement", "logements"))  # fake lemma "logement", token "logements"
    assert m.match("logemenz", "logements") == {"logement": ["logements"]}


def test_each_term_reported_once_per_theme_in_codebook_order():
    m = matcher(("logement", "loyer"), ("logement", "logement"), ("finances", "budget"))
    got = m.match("logement loyer logement budget")
    assert got == {"logement": ["loyer", "logement"], "finances": ["budget"]}


def test_term_of_stop_words_only_is_matched_literally():
    m = matcher(("x", "à la"))
    assert m.match("", "", "Retour à la maison") == {"x": ["à la"]}


def test_helpers():
    assert is_acronym("CISP") and is_acronym("FEAD") and not is_acronym("Cisp")
    assert not is_acronym("taxi social")
    assert _in_order(("a", "b"), ["a", "x", "x", "b"])
    assert not _in_order(("a", "b"), ["a", "x", "x", "x", "b"])
    assert vocabulary_score(0) == 0 and vocabulary_score(1) == 0.5 and vocabulary_score(2) == 0.75


def test_word_index_finds_what_a_full_scan_finds():
    """The matcher only tries the terms whose first word is in the unit: same hits, same order
    as trying every term, for every kind of term."""
    from pipeline.classify.vocabulary import VocabularyMatcher, compile_terms

    def lem(texts):
        return [(" ".join(w for w in t.lower().split() if len(w) > 2),) * 2 for t in texts]

    pairs = [("logement", "logement de transit"), ("emploi", "article 60"),
             ("emploi", "CISP"), ("aide", "aide alimentaire"), ("logement", "transit"),
             ("aide", "colis")]
    m = compile_terms(pairs, lem)
    units = ["Créer des logements de transit et un logement de transit",
             "Contrats article 60 avec le CISP", "Distribuer une aide alimentaire en colis",
             "Rien à voir", "transit de colis article 60"]
    for text in units:
        lemmas = lem([text])[0][0]
        got = m.match(lemmas, lemmas, text)
        full = VocabularyMatcher(terms=m.terms)
        full._candidates = lambda *a, _m=full: _m.terms  # every term tried
        assert got == full.match(lemmas, lemmas, text), text
    assert m.match(*lem(["Contrats article 60 avec le CISP"])[0], "Contrats article 60 avec le CISP") \
        == {"emploi": ["article 60", "CISP"]}
