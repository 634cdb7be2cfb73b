"""Score combination, decision rule and the stacked (second-level) combiner."""

import time

import numpy as np
import pandas as pd
import pytest
from test_classify_helpers import FIXTURES, fake_lemmatise, make_frame

from pipeline.classify import classify, train
from pipeline.classify.codebook import load_codebook
from pipeline.classify.model import (
    STACK_FEATURES,
    STACK_MIN_LABELS,
    _fit,
    combine,
    combine_arrays,
    decide,
    decide_matrix,
    feature_names,
    predict_labels,
    score_frame,
    theme_thresholds,
)
from pipeline.classify.vocabulary import build_matcher


@pytest.fixture(scope="module")
def codebook():
    return load_codebook(FIXTURES / "mini_codebook.toml")


@pytest.fixture(scope="module")
def matcher(codebook):
    return build_matcher(codebook, fake_lemmatise)


def test_combine_by_hand():
    # trained: 1 - (1 - .5)(1 - .6·.5)(1 - .35·1) = 1 - .5·.7·.65 = .7725
    assert combine({"p_model": 0.5, "trained": True, "n_terms": 1, "context": 1.0},
                   0.6, 0.35) == pytest.approx(0.7725)
    # untrained, two terms: v' = 1 - .5**3 = .875, no context
    assert combine({"p_model": 0.0, "trained": False, "n_terms": 2, "context": 0.0},
                   0.6, 0.35) == pytest.approx(0.875)
    # untrained, no term, context only: .35
    assert combine({"p_model": 0.0, "trained": False, "n_terms": 0, "context": 1.0},
                   0.6, 0.35) == pytest.approx(0.35)


def test_combine_arrays_agrees_with_combine():
    p = np.array([[0.5, 0.0, 0.0, 0.9]])
    trained = np.array([[True, False, False, True]])
    n = np.array([[1, 2, 0, 0]], dtype=float)
    c = np.array([[1.0, 0.0, 1.0, 0.0]])
    got = combine_arrays(p, trained, n, c, 0.6, 0.35)
    assert got[0] == pytest.approx([0.7725, 0.875, 0.35, 0.9])


def test_decide_threshold_top1_and_per_theme():
    scores = {"a": 0.30, "b": 0.55, "c": 0.45}
    assert decide(scores, 0.5) == ["b"]
    assert decide(scores, 0.4) == ["b", "c"]  # best first
    # top-1 guarantee only adds the best theme, and only above its own bar
    assert decide({"a": 0.30, "c": 0.25}, 0.5, top_threshold=0.2) == ["a"]
    assert decide({"a": 0.15, "c": 0.10}, 0.5, top_threshold=0.2) == []
    # per-theme threshold overrides the global one for that theme only
    assert decide(scores, 0.5, theme_thresholds={"c": 0.4}) == ["b", "c"]
    assert decide(scores, 0.5, theme_thresholds={"b": 0.6}) == []
    assert decide({}, 0.5, 0.1) == []


def test_decide_matrix_matches_decide():
    S = np.array([[0.30, 0.55, 0.45], [0.25, 0.10, 0.0], [0.1, 0.1, 0.05]])
    keep = decide_matrix(S, 0.5, 0.2)
    assert keep.tolist() == [[False, True, False], [True, False, False],
                             [False, False, False]]
    # ties → first theme, as in decide
    assert decide_matrix(np.array([[0.3, 0.3]]), 0.5, 0.2).tolist() == [[True, False]]
    assert decide({"x": 0.3, "y": 0.3}, 0.5, 0.2) == ["x"]


def test_theme_thresholds_shrink_towards_global():
    # theme 0: positives score .9 and .8, negatives .6 and .5 → any threshold in (.6, .8] is
    # perfect; among the grid values with F1 = 1 (.65, .7), the closest to .4 is .65.
    # theme 1: no positive → absent.
    scores = np.array([[0.9, 0.1], [0.8, 0.1], [0.6, 0.1], [0.5, 0.1]])
    gold = np.array([[1, 0], [1, 0], [0, 0], [0, 0]], dtype=bool)
    got = theme_thresholds(scores, gold, ["a", "b"], 0.4, shrink=2.0)
    # w = 2 / (2 + 2) = .5 → .5·.65 + .5·.4 = .525
    assert got == {"a": pytest.approx(0.525)}
    assert theme_thresholds(scores, gold, ["a", "b"], 0.4, shrink=0.0) == {"a": pytest.approx(0.65)}


LOG = ["Construire des logements pour les familles", "Rénover les logements de transit",
       "Payer le loyer des familles", "Acheter des logements pour les sans-abri",
       "Créer un logement de transit"]
INS = ["Trouver un emploi aux jeunes", "Accompagner vers un emploi durable",
       "Développer les contrats article 60", "Suivre les bénéficiaires du RIS vers l'emploi"]
FIN = ["Maîtriser le budget du CPAS", "Présenter un budget en équilibre"]
NONE = ["Le conseil se réunit le mardi", "Le conseil a adopté la déclaration"]


def stacked_training_set():
    """Four documents of 14 units: 5 logement, 4 insertion, 2 finances (+ 2 with no theme),
    one unit per document labelled with two themes → 4·(11 + 2) = 52 labels."""
    rows, labels = [], []
    for d in range(4):
        k = 0
        for texts, lab in ((LOG, ["logement"]), (INS, ["insertion"]), (FIN, ["finances"]),
                           (NONE, [])):
            for t in texts:
                k += 1
                rows.append((f"d{d}", f"u{k}", "objective", t))
                labels.append(list(lab))
        rows.append((f"d{d}", "u99", "objective", "Un emploi et un logement pour chacun"))
        labels.append(["insertion", "logement"])
    return make_frame(rows), labels


@pytest.fixture(scope="module")
def stacked(codebook, matcher):
    frame, labels = stacked_training_set()
    assert sum(len(x) for x in labels) == 52 >= STACK_MIN_LABELS
    t = time.perf_counter()
    model = train(frame, labels, codebook, matcher=matcher)
    return model, time.perf_counter() - t


def test_stacked_model_is_trained_and_fast(stacked):
    model, seconds = stacked
    assert model.stacker is not None
    assert model.stacker.coef_.shape == (1, len(STACK_FEATURES))
    assert model.threshold in {k[1] for k in model.inner_scores}
    assert seconds < 5.0


def test_stacked_model_predicts_unseen_units(stacked):
    model, _ = stacked
    test = make_frame([("z", "u1", "objective", "Rénover des logements pour les familles"),
                       ("z", "u2", "objective", "Accompagner les jeunes vers un emploi"),
                       ("z", "u3", "objective", "Le conseil se réunit le jeudi")])
    pred = predict_labels(model, test)
    assert pred[0] == ["logement"]
    assert pred[1] == ["insertion"]
    assert pred[2] == []


def test_stacked_scores_are_probabilities_with_evidence(stacked, codebook):
    model, _ = stacked
    test = make_frame([("z", "u1", "objective", "Payer le loyer et trouver un emploi")])
    for s in score_frame(model, test)[0].values():
        assert 0.0 <= s["score"] <= 1.0
    ut, _ = classify(test, model, codebook, None)
    assert len(ut) >= 1
    assert ut["sources"].str.len().gt(0).all()
    assert ut["evidence"].str.len().gt(0).all()
    log = ut[ut["theme"] == "logement"]
    assert "loyer" in log["evidence"].item().split(";")


def test_few_labels_keep_the_product_rule(codebook, matcher):
    frame, labels = stacked_training_set()
    keep = [i for i in range(len(frame)) if frame.at[i, "doc_id"] != "d3"][:8]
    small = frame.iloc[keep].reset_index(drop=True)
    model = train(small, [labels[i] for i in keep], codebook, matcher=matcher)
    assert model.stacker is None  # 8 labels < STACK_MIN_LABELS


def test_word_vectors_are_optional_features(codebook, matcher):
    frame, labels = stacked_training_set()
    rng = np.random.default_rng(0)
    frame = frame.copy()
    frame["vector"] = [rng.normal(size=4).astype(np.float32) for _ in range(len(frame))]
    model = _fit(frame, labels, [t.id for t in codebook], matcher, 2, vector_weight=1.0)
    assert model.vector_width == 4
    assert feature_names(model)[-4:] == [f"vecteur:{k}" for k in range(4)]
    test = make_frame([("z", "u1", "objective", "Rénover des logements")])  # no vector column
    scores = score_frame(model, test)[0]
    assert all(not e.startswith("vecteur:") for s in scores.values() for e in s["evidence"])
    # without vectors in the training frame the block is not used
    plain = _fit(pd.DataFrame(frame.drop(columns=["vector"])), labels,
                 [t.id for t in codebook], matcher, 2, vector_weight=1.0)
    assert plain.vector_weight == 0.0
