"""Classify with the real spaCy model (one load per session via pipeline.nlp.get_nlp)."""

import pandas as pd
import pytest

from pipeline.classify import classify, load_codebook
from pipeline.classify.model import annotation_frame, default_model, predict_labels
from pipeline.classify.vocabulary import build_matcher

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def codebook():
    return load_codebook()


@pytest.fixture(scope="module")
def matcher(codebook):
    return build_matcher(codebook)


def test_real_lemmas_match_codebook_terms(matcher):
    frame = annotation_frame(pd.DataFrame({"doc_id": ["x"] * 3, "text": [
        "Nous développerons des logements de transit pour les familles.",
        "Le service des repas à domicile sera étendu aux aînés.",
        "Les bénéficiaires du RIS seront accompagnés vers l'emploi (article 60).",
    ]}))
    hits = [matcher.match(r.lemmas, r.tokens, r.text) for r in frame.itertuples()]
    assert "logement" in hits[0]
    assert {"maintien_domicile"} <= set(hits[1])
    assert {"RIS", "article 60"} <= {h.text for h in hits[2]["insertion"]}
    # with the real lemmas, a conjugated verb finds its infinitive term
    conj = annotation_frame(pd.DataFrame({"doc_id": ["x"], "text": [
        "Nous accueillons chaque personne sans rendez-vous."]})).iloc[0]
    got = matcher.match(conj.lemmas, conj.tokens, conj.text)
    assert [h.text for h in got["accueil_information"]] == ["accueillons"]


def test_default_model_on_seed_annotations(codebook, tmp_path):
    ann = tmp_path / "annotations.csv"
    ann.write_text(
        "doc_id,unit_id,kind,text,themes,context\n"
        "a,,objective,Créer des logements de transit,logement,\n"
        "a,,objective,Rénover les logements sociaux vides,logement,\n"
        "b,,objective,Accompagner les bénéficiaires vers l'emploi,insertion,\n"
        "b,,objective,Développer les contrats article 60,insertion,\n"
        "c,,statement,Le conseil s'est réuni en séance publique,,\n",
        encoding="utf-8")
    model = default_model(codebook, ann)
    frame = annotation_frame(pd.DataFrame({
        "doc_id": ["z", "z"], "unit_id": ["u1", "u2"], "kind": ["objective", "objective"],
        "text": ["Acheter deux logements pour les sans-abri",
                 "Organiser un goûter pour les aînés isolés"]}))
    pred = predict_labels(model, frame)
    assert "logement" in pred[0]
    assert "maintien_domicile" in pred[1]
    ut, themes = classify(frame, model, codebook, None)
    assert set(ut["theme"]) >= {"logement", "maintien_domicile"}
    assert ut["evidence"].str.len().gt(0).all()


def test_training_on_the_seed_annotations_is_calibrated(codebook, matcher):
    from pathlib import Path

    from pipeline.classify import split_themes, train
    from pipeline.classify.annotations import load_annotations
    from pipeline.models import NON_CONTENT_KINDS

    ann = load_annotations(Path(__file__).parents[2] / "corpus" / "annotations.csv")
    ann = ann[~ann["kind"].isin(NON_CONTENT_KINDS)].reset_index(drop=True)
    frame = annotation_frame(ann)
    labels = [split_themes(t) for t in ann["themes"]]
    model = train(frame, labels, codebook, matcher=matcher)  # time: see `make evaluate`
    assert model.settings["n_documents"] == 5
    a, b = model.calibration
    assert a > 0  # a higher probability never gives a lower score
    assert 0.2 <= model.threshold <= 0.7
    assert 0.5 <= model.decisive_precision <= 1.0
