import pickle

import pandas as pd
import pytest
from test_classify_helpers import FIXTURES, fake_lemmatise, make_frame

from pipeline.classify import classify, review_table, train, unit_frame
from pipeline.classify.codebook import load_codebook
from pipeline.classify.model import annotation_frame, default_model, predict_labels
from pipeline.classify.vocabulary import build_matcher

TRAIN = [
    ("d1", "u1", "objective", "Construire des logements sociaux pour les familles"),
    ("d1", "u2", "objective", "Rénover les logements de transit"),
    ("d1", "u3", "objective", "Accompagner les bénéficiaires vers un emploi durable"),
    ("d1", "u4", "objective", "Former les bénéficiaires à la recherche d'emploi"),
    ("d2", "u1", "objective", "Acheter des logements pour les sans-abri"),
    ("d2", "u2", "objective", "Trouver un emploi aux jeunes chômeurs"),
    ("d2", "u3", "statement", "Le conseil se réunit le mardi"),
    ("d2", "u4", "statement", "Le conseil a adopté la déclaration"),
]
TRAIN_LABELS = [["logement"], ["logement"], ["insertion"], ["insertion"], ["logement"],
                ["insertion"], [], []]


@pytest.fixture(scope="module")
def codebook():
    return load_codebook(FIXTURES / "mini_codebook.toml")


@pytest.fixture(scope="module")
def model(codebook):
    m = build_matcher(codebook, fake_lemmatise)
    return train(make_frame(TRAIN), TRAIN_LABELS, codebook, matcher=m, min_positives=2)


def test_model_learns_words_beyond_the_vocabulary(model):
    # "rénover" / "transit" are not codebook terms: only the model can know them
    test = make_frame([("d3", "u1", "objective", "Rénover des logements"),
                       ("d3", "u2", "objective", "Le conseil se réunit")])
    pred = predict_labels(model, test)
    assert pred[0] == ["logement"]
    assert pred[1] == []
    assert model.classifiers["logement"] is not None
    assert model.classifiers["finances"] is None  # no training example


def test_classify_outputs_and_sources(model, codebook):
    frame = make_frame([("d3", "u1", "objective", "Trouver un emploi et gérer le budget"),
                        ("d3", "u2", "statement", "Le conseil a adopté la déclaration")])
    ut, themes = classify(frame, model, codebook, None)
    assert list(ut.columns) == ["doc_id", "unit_id", "theme", "score", "sources", "evidence",
                                "evidence_spans"]
    u1 = ut[ut["unit_id"] == "u1"].set_index("theme")
    assert set(u1.index) == {"insertion", "finances"}
    # finances has no classifier: its decisive term alone gives it, scored with the
    # out-of-fold precision of decisive terms
    assert u1.loc["finances", "sources"] == "vocabulary"
    assert u1.loc["finances", "score"] == pytest.approx(model.decisive_precision, abs=1e-4)
    assert "budget" in u1.loc["finances", "evidence"].split(";")
    assert "vocabulary" in u1.loc["insertion", "sources"].split(";")
    assert ((ut["score"] >= 0) & (ut["score"] <= 1)).all()
    t = dict(zip(themes["unit_id"], themes["themes"], strict=True))
    assert set(t["u1"].split(";")) == {"insertion", "finances"}
    assert t["u2"] == ""
    # themes are sorted by descending score
    assert t["u1"].split(";")[0] == u1["score"].idxmax()


def test_human_labels_override_the_model(model, codebook):
    frame = make_frame([("d3", "u1", "objective", "Trouver un emploi et gérer le budget"),
                        ("d3", "u2", "objective", "Rénover des logements")])
    ann = pd.DataFrame({"doc_id": ["d3", "d3"], "unit_id": ["", ""],
                        "text": ["- trouver un emploi et gérer le budget ;",
                                 "Rénover des logements"],
                        "themes": ["logement", ""]})
    ut, themes = classify(frame, model, codebook, ann)
    assert ut[ut["unit_id"] == "u1"][["theme", "score", "sources"]].values.tolist() == [
        ["logement", 1.0, "human"]]
    assert ut[ut["unit_id"] == "u2"].empty
    assert dict(zip(themes["unit_id"], themes["themes"], strict=True)) == {
        "u1": "logement", "u2": ""}


def test_non_content_kinds_get_no_theme(model, codebook):
    units = pd.DataFrame({
        "doc_id": ["d"] * 4, "unit_id": ["u1", "u2", "u3", "u4"], "parent_id": [""] * 4,
        "kind": ["title", "preamble", "signature", "objective"],
        "text": ["Logement et emploi", "Logement", "Budget", "Logement et emploi"],
    })
    nlp = pd.DataFrame({"doc_id": ["d"] * 4, "unit_id": ["u1", "u2", "u3", "u4"],
                        "lemmas": ["logement emploi", "logement", "budget", "logement emploi"],
                        "tokens": ["logement emploi", "logement", "budget", "logement emploi"]})
    frame = unit_frame(units, nlp)
    assert list(frame["unit_id"]) == ["u4"]
    ut, themes = classify(frame, model, codebook, None)
    assert set(ut["unit_id"]) == {"u4"}
    # even if a caller passes non-content rows, they are dropped
    full = make_frame([("d", "u1", "title", "Logement et emploi")])
    ut2, themes2 = classify(full, model, codebook, None)
    assert ut2.empty and themes2.empty


def test_prepare_builds_context_from_ancestor_titles():
    units = pd.DataFrame({
        "doc_id": ["d"] * 4, "unit_id": ["u1", "u2", "u3", "u4"],
        "parent_id": ["", "u1", "u2", ""],
        "kind": ["axis", "objective", "action", "statement"],
        "text": ["Le logement", "Créer des logements", "Acheter une maison", "Autre"],
    })
    nlp = pd.DataFrame({"doc_id": ["d"] * 4, "unit_id": ["u1", "u2", "u3", "u4"],
                        "lemmas": ["logement", "créer logement", "acheter maison", "autre"],
                        "tokens": ["logement", "créer logements", "acheter maison", "autre"]})
    f = unit_frame(units, nlp).set_index("unit_id")
    assert f.loc["u1", "context"] == ""
    assert f.loc["u2", "context"] == "logement"
    assert f.loc["u3", "context"] == "logement créer logement"
    assert f.loc["u3", "context_text"] == "Le logement | Créer des logements"
    assert f.loc["u4", "context"] == ""


def test_review_table_least_certain_first(codebook):
    ut = pd.DataFrame({"doc_id": ["d", "d", "d"], "unit_id": ["u1", "u2", "u3"],
                       "theme": ["logement", "insertion", "finances"],
                       "score": [0.95, 0.52, 1.0], "sources": ["model", "model", "human"],
                       "evidence": ["", "", "annotation"]})
    ut.attrs["threshold"] = 0.5
    ut.attrs["candidates"] = [("d", "u4", "logement", 0.4)]
    units = pd.DataFrame({"doc_id": ["d"] * 5, "unit_id": ["u0", "u1", "u2", "u3", "u4"],
                          "kind": ["title", "objective", "objective", "objective", "objective"],
                          "text": ["T", "a", "b", "c", "d"]})
    r = review_table(units, ut)
    # u0 is a title, u3 was reviewed by a human
    assert list(r["unit_id"]) == ["u2", "u4", "u1"]
    assert r["uncertainty"].tolist() == pytest.approx([0.96, 0.8, 0.1])
    assert (r["themes_reviewed"] == "").all() and (r["comment"] == "").all()
    assert r.loc[r["unit_id"] == "u4", "themes_predicted"].item() == ""
    assert r.loc[r["unit_id"] == "u4", "scores"].item() == "logement:0.40"


def test_unit_themes_can_be_concatenated(model, codebook):
    frame = make_frame([("d3", "u1", "objective", "Trouver un emploi"),
                        ("d3", "u2", "objective", "Payer un loyer trop haut")])
    a, _ = classify(frame.iloc[:1], model, codebook, None)
    b, _ = classify(frame.iloc[1:], model, codebook, None)
    assert len(pd.concat([a, b])) == len(a) + len(b)


def test_model_pickles(model):
    m2 = pickle.loads(pickle.dumps(model))
    test = make_frame([("d3", "u1", "objective", "Rénover des logements")])
    assert predict_labels(m2, test) == predict_labels(model, test)


def test_default_model_from_annotations_file(codebook):
    m = default_model(codebook, FIXTURES / "annotations_small.csv", lemmatise=fake_lemmatise,
                      shipped=False)
    assert m.n_train == 5
    assert m.training["n_annotations"] == 5 and len(m.training["sha256"]) == 12
    # two documents: no tuning; fewer than MIN_POSITIVES (3) positives → no classifier
    assert all(c is None for c in m.classifiers.values())
    frame = annotation_frame(pd.DataFrame({"doc_id": ["x"], "text": ["Un budget"]}),
                             fake_lemmatise)
    assert predict_labels(m, frame) == [["finances"]]


def test_min_positives_decides_which_themes_get_a_classifier(codebook):
    m = build_matcher(codebook, fake_lemmatise)
    # logement has 3 positives, insertion 3, finances 0
    m3 = train(make_frame(TRAIN), TRAIN_LABELS, codebook, matcher=m, min_positives=3)
    m4 = train(make_frame(TRAIN), TRAIN_LABELS, codebook, matcher=m, min_positives=4)
    assert m3.classifiers["logement"] is not None and m3.classifiers["insertion"] is not None
    assert m4.classifiers["logement"] is None and m4.classifiers["finances"] is None


def test_default_model_without_annotations(codebook, tmp_path):
    m = default_model(codebook, tmp_path / "absent.csv", lemmatise=fake_lemmatise,
                      shipped=False)
    frame = make_frame([("x", "u1", "objective", "Payer le loyer")])
    assert predict_labels(m, frame) == [["logement"]]


def test_threads_fit_the_same_model(codebook):
    # three documents: the tuning grid runs (inner folds), then the final fit; with two
    # threads every per-theme fit must give the same coefficients, settings and themes order
    m = build_matcher(codebook, fake_lemmatise)
    rows = TRAIN + [("d3", "u1", "objective", "Loger les familles sans abri"),
                    ("d3", "u2", "objective", "Aider les jeunes à trouver un emploi"),
                    ("d3", "u3", "objective", "Payer le loyer et gérer le budget")]
    labels = TRAIN_LABELS + [["logement"], ["insertion"], ["logement", "finances"]]
    one = train(make_frame(rows), labels, codebook, matcher=m, min_positives=2)
    two = train(make_frame(rows), labels, codebook, matcher=m, min_positives=2, threads=2)
    assert one.settings == two.settings and one.inner_scores == two.inner_scores
    assert list(one.classifiers) == list(two.classifiers) == [t.id for t in codebook]
    fitted = [t for t, c in one.classifiers.items() if c is not None]
    assert len(fitted) >= 2  # the threads had at least two fits to share
    for tid, clf in one.classifiers.items():
        other = two.classifiers[tid]
        assert (clf is None) == (other is None), tid
        if clf is not None:
            assert (clf.coef_ == other.coef_).all() and (clf.intercept_ == other.intercept_).all()
