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


TEXTS = ["Les familles monoparentales reçoivent des colis alimentaires.",
         "Une convention avec la Banque alimentaire de Liège.",
         "Renforcer le Taxi Social pour les aînés de Trooz."]


@pytest.mark.slow
def test_background_model_gives_what_annotate_gives_here():
    from pipeline.nlp import BackgroundModel, annotate

    with BackgroundModel() as bg:
        bg.submit(TEXTS[:2])
        bg.submit(TEXTS[2:])  # queued while the first batch is annotated
        first, second = bg.result(), bg.result()
    assert first + second == annotate(TEXTS)
    assert not bg._proc.is_alive()


def test_background_model_closed_while_loading_stops_its_process():
    from pipeline.nlp import BackgroundModel

    bg = BackgroundModel()
    bg.close()  # long before the ≈4 s load is over
    assert not bg._proc.is_alive()
    bg.close()  # idempotent


def test_background_model_missing_model_is_a_clear_error(monkeypatch):
    import pipeline.nlp as nlp

    monkeypatch.setattr(nlp, "MODEL", "fr_core_news_absent")  # inherited by the forked child
    monkeypatch.setattr(nlp, "_LOADED", {})  # (as is a model this process already loaded)
    with nlp.BackgroundModel() as bg:
        bg.submit(["Un texte."])
        with pytest.raises(nlp.ModelMissingError, match="make install"):
            bg.result()


def test_background_model_with_spawn_where_fork_is_unsafe(monkeypatch):
    """On macOS / Windows the child is spawned (it re-imports the modules it needs)."""
    import pipeline.nlp as nlp

    monkeypatch.setattr(nlp, "can_fork", lambda: False)
    with nlp.BackgroundModel() as bg:
        bg.submit(["Un texte."])
        out = bg.result()
    assert out[0]["lemmas"] == "texte"
