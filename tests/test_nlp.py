import pytest

from pipeline.nlp import needs_ner


@pytest.mark.parametrize("text,expected", [
    ("Collaborer avec la Banque alimentaire de Liège", True),
    ("- Développer le Taxi Social", True),
    ("Renforcer les collaborations avec SPOT et le FOREM.", False),  # acronyms: gazetteer
    ("Créer deux logements. Acheter un local.", False),  # sentence starts only
    ("Maintenir les services rendus aux citoyens", False),
])
def test_needs_ner(text, expected):
    assert needs_ner(text) is expected


@pytest.mark.slow
def test_annotate_lemmas_and_selective_entities():
    from pipeline.nlp import annotate

    out = annotate(["Les familles monoparentales reçoivent des colis alimentaires.",
                    "Une convention avec la Banque alimentaire de Liège."])
    assert "famille" in out[0]["lemmas"].split() and "colis" in out[0]["tokens"].split()
    assert out[0]["entities"] == []  # no capitalised word past the start: no NER pass
    assert any("Liège" in e[0] for e in out[1]["entities"])
