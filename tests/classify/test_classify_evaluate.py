import pandas as pd
import pytest
from test_classify_helpers import FIXTURES, fake_lemmatise, make_frame

from pipeline.classify.codebook import load_codebook
from pipeline.classify.evaluate import _doc_presence, evaluate, format_table, prf, score_table
from pipeline.classify.vocabulary import build_matcher


def row(t, level, system, theme):
    return t[(t.level == level) & (t.system == system) & (t.theme == theme)].iloc[0]


def test_prf_by_hand():
    assert prf(1, 2, 1) == pytest.approx((1 / 3, 1 / 2, 0.4))
    assert prf(0, 0, 0) == (0.0, 0.0, 0.0)


def test_score_table_on_a_hand_made_confusion_case():
    gold = [["a"], ["a", "b"], ["b"], []]
    pred = [["a"], ["b"], ["a", "b"], ["a"]]
    t = score_table(gold, pred, ["a", "b", "c"])
    a = t[t.theme == "a"].iloc[0]
    # a: tp=1 (item 0), fn=1 (item 1), fp=2 (items 2, 3)
    assert (a.precision, a.recall, a.f1, a.support, a.n_predicted) == pytest.approx(
        (1 / 3, 1 / 2, 0.4, 2, 3))
    b = t[t.theme == "b"].iloc[0]
    assert (b.precision, b.recall, b.f1, b.support) == pytest.approx((1, 1, 1, 2))
    c = t[t.theme == "c"].iloc[0]
    assert (c.f1, c.support) == (0, 0)
    micro = t[t.theme == "micro"].iloc[0]
    # TP=3 FP=2 FN=1
    assert (micro.precision, micro.recall, micro.f1) == pytest.approx((0.6, 0.75, 2 / 3))
    # macro over themes with support: (0.4 + 1) / 2; c (no support) is left out
    assert t[t.theme == "macro"].iloc[0].f1 == pytest.approx(0.7)


def test_document_presence_by_hand():
    docs = ["d1", "d1", "d2", "d2"]
    gold = _doc_presence(docs, [["a"], ["a", "b"], ["b"], []])
    pred = _doc_presence(docs, [["a"], ["b"], ["a", "b"], ["a"]])
    assert gold == {"d1": {"a", "b"}, "d2": {"b"}}
    t = score_table([sorted(gold[d]) for d in ("d1", "d2")],
                    [sorted(pred[d]) for d in ("d1", "d2")], ["a", "b"], per_theme=False)
    micro = t[t.theme == "micro"].iloc[0]
    # TP=3 (d1 a, d1 b, d2 b), FP=1 (d2 a), FN=0
    assert (micro.precision, micro.recall, micro.f1) == pytest.approx((0.75, 1.0, 6 / 7))


def test_evaluate_leave_one_document_out():
    codebook = load_codebook(FIXTURES / "mini_codebook.toml")
    rows = [
        ("d1", "u1", "objective", "Des logements pour tous"),
        ("d1", "u2", "objective", "Un emploi pour tous"),
        ("d1", "u3", "objective", "Rénover la maison communale"),
        ("d2", "u1", "objective", "Des logements neufs"),
        ("d2", "u2", "objective", "Un emploi stable"),
        ("d3", "u1", "objective", "Des logements et un budget"),
        ("d3", "u2", "objective", "Le conseil se réunit"),
    ]
    labels = [["logement"], ["insertion"], ["logement"], ["logement"], ["insertion"],
              ["logement"], []]
    t = evaluate(make_frame(rows), labels, codebook,
                 matcher=build_matcher(codebook, fake_lemmatise))
    assert set(t.system) == {"combined", "vocabulary", "dictionary"}
    assert set(t.level) == {"unit", "document"}
    # vocabulary baseline, by hand: logement found in d1u1, d2u1, d3u1 (missed d1u3);
    # insertion in d1u2, d2u2; finances predicted in d3u1 (false positive).
    lg = row(t, "unit", "vocabulary", "logement")
    assert (lg.precision, lg.recall, lg.support) == pytest.approx((1.0, 0.75, 4))
    fi = row(t, "unit", "vocabulary", "finances")
    assert (fi.precision, fi.support, fi.n_predicted) == (0.0, 0, 1)
    micro = row(t, "unit", "vocabulary", "micro")
    assert (micro.precision, micro.recall) == pytest.approx((5 / 6, 5 / 6))
    # documents: gold d1 {logement, insertion}, d2 {logement, insertion}, d3 {logement};
    # vocabulary predicts the same plus finances in d3 → TP 5, FP 1, FN 0
    dm = row(t, "document", "vocabulary", "micro")
    assert (dm.precision, dm.recall) == pytest.approx((5 / 6, 1.0))
    text = format_table(t)
    assert "vocabulaire seul" in text and "Logement" in text
    # every term of the mini codebook is decisive: the dictionary is the vocabulary rule
    dd = row(t, "unit", "dictionary", "micro")
    assert (dd.precision, dd.recall) == pytest.approx((micro.precision, micro.recall))


def test_evaluate_accepts_the_runner_form():
    codebook = load_codebook(FIXTURES / "mini_codebook.toml")
    frame = make_frame([("d1", "u1", "objective", "Des logements"),
                        ("d2", "u1", "objective", "Un budget")])
    frame["themes_human"] = ["logement", "finances"]
    t = evaluate(frame, codebook, matcher=build_matcher(codebook, fake_lemmatise))
    assert row(t, "unit", "vocabulary", "micro").f1 == pytest.approx(1.0)
    assert isinstance(t, pd.DataFrame)


def test_reliability_bins_by_hand():
    import numpy as np

    from pipeline.classify.evaluate import reliability

    scores = np.array([[0.95, 0.05], [0.85, 0.15], [0.35, 0.6], [0.32, 0.0]])
    gold = np.array([[True, False], [False, False], [True, True], [False, False]])
    rel = reliability(scores, gold, threshold=0.5).set_index("bin")
    # 0.3–0.5: 0.35 (right) and 0.32 (wrong); 0.1–0.3: 0.15 (wrong); 0.5–0.7: 0.6 (right);
    # 0.7–0.9: 0.85 (wrong); 0.9–1.0: 0.95 (right); 0.05 and 0.0 are below 0.1
    assert rel.loc["0.3–0.5", "n_pairs"] == 2 and rel.loc["0.3–0.5", "share_right"] == 0.5
    assert rel.loc["0.1–0.3", "share_right"] == 0.0
    assert rel.loc["0.5–0.7", "n_assigned"] == 1 and rel.loc["0.3–0.5", "n_assigned"] == 0
    assert rel["n_pairs"].sum() == 6


def test_heldout_scores_every_system_on_unseen_documents():
    from pipeline.classify.evaluate import SYSTEM_NAMES, format_summary, heldout

    codebook = load_codebook(FIXTURES / "mini_codebook.toml")
    train_rows = [(f"d{i}", "u1", "objective", t) for i, t in enumerate(
        ["Des logements pour tous", "Un emploi pour tous", "Rénover des logements",
         "Un emploi stable", "Des logements et un budget", "Le budget en équilibre"])]
    train_labels = [["logement"], ["insertion"], ["logement"], ["insertion"],
                    ["logement", "finances"], ["finances"]]
    test_rows = [("h1", "u1", "objective", "Rénover des logements anciens"),
                 ("h2", "u1", "objective", "Le conseil se réunit")]
    table, rel = heldout(make_frame(train_rows), train_labels, make_frame(test_rows),
                         [["logement"], []], codebook,
                         matcher=build_matcher(codebook, fake_lemmatise))
    assert set(table["split"]) == {"heldout"}
    assert set(table["system"]) == set(SYSTEM_NAMES)
    assert row(table, "unit", "combined", "micro").f1 == pytest.approx(1.0)
    assert "combiné" in format_summary(table)
    assert rel["n_pairs"].sum() >= 1
