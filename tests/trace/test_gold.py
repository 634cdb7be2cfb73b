"""Gold links of the tracing stage (``pipeline.trace.gold``): quotes normalised and found in
units, links scored, the TF-IDF baseline, on tiny tables and matrices written by hand.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from pipeline.trace.gold import (
    PairData,
    QuoteIndex,
    Scores,
    baseline,
    cross_validate,
    features,
    fit_anchor,
    gold_links,
    gold_sets,
    normalise,
    out_of_fold_anchor,
    pair_data,
    predict,
    read_gold,
    score_links,
)
from pipeline.trace.link import SIGNALS, Anchor, Model

# --------------------------------------------------------------------------- normalise


@pytest.mark.parametrize("raw, expected", [
    ("L’aide sociale", "l'aide sociale"),
    ("des toutes- boîtes", "des toutes-boîtes"),
    ("des toutes-\nboîtes", "des toutes-boîtes"),
    ("des toutes-boîtes", "des toutes-boîtes"),
    ("  Créer\tdes   logements\n de\u00a0transit ", "créer des logements de transit"),
    ("ÉCOLE DE DEVOIRS", "école de devoirs"),
    ("e\u0301cole", "école"),  # decomposed accent → composed
    ("rue - Haute", "rue - haute"),  # a dash between spaces is not a hyphen break
    ("Straße", "strasse"),  # casefold, not lower
])
def test_normalise(raw, expected):
    assert normalise(raw) == expected


def test_normalise_is_idempotent_on_examples():
    for s in ("L’aide  des toutes- boîtes", "ÉCOLE\u00a0 x", "a -  b"):
        assert normalise(normalise(s)) == normalise(s)


# --------------------------------------------------------------------------- QuoteIndex

DOCS = pd.DataFrame({"doc_id": ["fl-dps", "fl-pst"],
                     "source_file": ["corpus/fl-dps.txt", "corpus/fl-pst.docx"]})
UNITS = pd.DataFrame([
    ("fl-dps", "u1", "axis", "Logement et accueil"),
    ("fl-dps", "u2", "objective", "Créer des logements de transit pour l’accueil des familles"),
    ("fl-dps", "u3", "objective", "Distribuer un toutes-\nboîtes sur les aides"),
    ("fl-pst", "u1", "axis", "Garantir un logement digne"),
    ("fl-pst", "u2", "objective", "Disposer de logements de transit"),
    ("fl-pst", "u3", "action", "Rénover la maison en logements de transit"),
], columns=["doc_id", "unit_id", "kind", "text"])


def test_quote_index_finds_the_unit_by_file_name_or_stem():
    idx = QuoteIndex(UNITS, DOCS)
    assert idx.doc("corpus/fl-dps.txt") == "fl-dps"
    assert idx.doc("fl-dps.txt") == "fl-dps"
    assert idx.doc("fl-pst.pdf") == "fl-pst"  # stem only
    assert idx.doc("absent.txt") == ""
    assert idx.unit("fl-dps.txt", "logements de transit", ("objective",)) == "u2"
    assert idx.missing == []


def test_quote_index_normalises_the_quote_and_the_text():
    idx = QuoteIndex(UNITS, DOCS)
    assert idx.unit("fl-dps.txt", "pour l'accueil  des FAMILLES", ("objective",)) == "u2"
    assert idx.unit("fl-dps.txt", "un toutes-boîtes", ("objective",)) == "u3"
    assert idx.missing == []


def test_quote_index_prefers_the_kinds_given():
    idx = QuoteIndex(UNITS, DOCS)
    # in u2 (objective) and u3 (action) of the plan
    assert idx.unit("fl-pst.docx", "logements de transit", ("action",)) == "u3"
    assert idx.unit("fl-pst.docx", "logements de transit", ("objective", "action")) == "u2"
    # none of the kinds preferred: the first in text order
    assert idx.unit("fl-pst.docx", "logement", ("statement",)) == "u1"


def test_quote_index_records_a_missing_quote():
    idx = QuoteIndex(UNITS, DOCS)
    assert idx.unit("fl-dps.txt", "Ouvrir un potager", ("objective",)) == ""
    assert idx.unit("absent.txt", "logements", ("objective",)) == ""
    assert idx.unit("fl-dps.txt", "   ", ("objective",)) == ""
    assert idx.missing == ["fl-dps.txt : « Ouvrir un potager » introuvable",
                           "absent.txt : « logements » introuvable",
                           "fl-dps.txt : «     » introuvable"]


def test_gold_links_finds_both_sides():
    links = pd.DataFrame([
        {"commune": "Florival", "dps_file": "fl-dps.txt", "dps_quote": "logements de transit",
         "pst_file": "fl-pst.docx", "pst_quote": "Rénover la maison", "kind": "same",
         "note": ""},
        {"commune": "Florival", "dps_file": "fl-dps.txt", "dps_quote": "toutes- boîtes",
         "pst_file": "", "pst_quote": "", "kind": "none", "note": ""},
    ])
    idx = QuoteIndex(UNITS, DOCS)
    g = gold_links(links, idx)
    assert list(g.columns) == ["commune", "dps_doc", "dps_unit", "pst_doc", "pst_unit", "kind"]
    assert g.to_dict("records") == [
        {"commune": "Florival", "dps_doc": "fl-dps", "dps_unit": "u2", "pst_doc": "fl-pst",
         "pst_unit": "u3", "kind": "same"},
        {"commune": "Florival", "dps_doc": "fl-dps", "dps_unit": "u3", "pst_doc": "",
         "pst_unit": "", "kind": "none"}]
    assert idx.missing == []


def test_read_gold(tmp_path):
    (tmp_path / "gold_links.csv").write_text(
        "commune,dps_file,dps_quote,pst_file,pst_quote,kind,note\n"
        "X,a.txt,Créer,,,none,\n", encoding="utf-8")
    links, versions = read_gold(tmp_path)
    assert links.to_dict("records") == [{"commune": "X", "dps_file": "a.txt",
                                         "dps_quote": "Créer", "pst_file": "",
                                         "pst_quote": "", "kind": "none", "note": ""}]
    assert len(versions) == 0


# --------------------------------------------------------------------------- scores


def test_score_links_counts_only_the_promises_of_the_gold_file():
    gold = {("D", "u1", "P", "a1"), ("D", "u2", "P", "a2")}
    promises = {("D", "u1"), ("D", "u2"), ("D", "u3")}
    pred = {("D", "u1", "P", "a1"),  # right
            ("D", "u1", "P", "a3"),  # wrong
            ("D", "u3", "P", "a2"),  # wrong (u3 is a promise with no link)
            ("D", "u9", "P", "a1")}  # u9 not annotated: not counted
    s = score_links(pred, gold, promises)
    assert (s.tp, s.n_pred, s.n_gold) == (1, 3, 2)
    assert s.precision == pytest.approx(1 / 3)
    assert s.recall == pytest.approx(1 / 2)
    assert s.f1 == pytest.approx(0.4)


def test_scores_without_predictions_or_gold():
    s = Scores(0, 0, 3)
    assert math.isnan(s.precision) and s.recall == 0.0 and s.f1 == 0.0
    s = Scores(0, 2, 0)
    assert s.precision == 0.0 and math.isnan(s.recall) and s.f1 == 0.0
    assert Scores(2, 2, 2).f1 == 1.0


def _data(tfidf, labels, dps="D", pst="P", src=None, dst=None, dst_lemmas=None) -> PairData:
    t = np.array(tfidf, dtype=float)
    n, m = t.shape
    sig = {s: np.zeros((n, m)) for s in SIGNALS}
    sig["tfidf"] = t
    lab = np.array(labels)
    return PairData(dps, pst, src or [f"u{i}" for i in range(n)],
                    dst or [f"a{j}" for j in range(m)], sig, lab, (lab >= 0).any(axis=1),
                    dst_lemmas or [])


def test_baseline_takes_the_argmax_at_or_above_the_cosine():
    d = _data([[0.1, 0.5, 0.3],
               [0.15, 0.1, 0.05],  # best 0.15 < 0.2: no link
               [0.4, 0.4, 0.0],  # tie: the first column
               [0.0, 0.0, 0.2]],  # exactly the cosine: kept
              np.zeros((4, 3), dtype=int))
    assert baseline([d], 0.2) == {("D", "u0", "P", "a1"), ("D", "u2", "P", "a0"),
                                  ("D", "u3", "P", "a2")}
    assert baseline([d], 0.6) == set()


def test_baseline_and_predict_skip_empty_pairs():
    empty = _data(np.zeros((0, 2)), np.zeros((0, 2), dtype=int))
    assert baseline([empty], 0.0) == set()
    assert predict([empty], Model(0.0, {}, 0.0)) == set()


def test_predict_uses_the_model_threshold_and_max_links():
    d = _data([[1.0, 0.9, 0.0]], [[1, 0, 0]])
    # score = sigmoid(-5 + 10 × tfidf): 0.993, 0.982, 0.0067
    m = Model(intercept=-5.0, weights={"tfidf": 10.0}, threshold=0.5, max_links=4)
    assert predict([d], m) == {("D", "u0", "P", "a0"), ("D", "u0", "P", "a1")}
    m1 = Model(intercept=-5.0, weights={"tfidf": 10.0}, threshold=0.5, max_links=1)
    assert predict([d], m1) == {("D", "u0", "P", "a0")}


def test_gold_sets_and_features():
    d = _data([[0.9, 0.1], [0.2, 0.3], [0.5, 0.5]],
              [[1, 0], [0, 0], [-1, -1]])  # u2 is not in the gold file
    links, promises = gold_sets([d])
    assert links == {("D", "u0", "P", "a0")}
    assert promises == {("D", "u0"), ("D", "u1")}
    X, y, g = features([d])
    assert X.shape == (4, len(SIGNALS))
    assert y.tolist() == [1, 0, 0, 0]
    assert X[:, SIGNALS.index("tfidf")].tolist() == [0.9, 0.1, 0.2, 0.3]
    assert g.tolist() == [0, 0, 0, 0]
    X0, y0, _ = features([_data([[0.5]], [[-1]])])
    assert X0.shape == (0, len(SIGNALS)) and len(y0) == 0


def test_cross_validation_pools_every_gold_link_of_the_held_pairs():
    pairs = [_data([[1.0, 0.0], [0.0, 1.0]], [[1, 0], [0, 1]], dps=f"D{k}", pst=f"P{k}")
             for k in range(3)]
    cv = cross_validate(pairs, [0.3, 0.5], max_links=1)
    for t in (0.3, 0.5):
        assert cv[t].n_gold == 6  # 2 gold links × 3 held pairs, whatever the model
        assert cv[t].tp <= cv[t].n_pred <= 6  # max_links 1 × 2 promises × 3 pairs


# --------------------------------------------------------------------------- pair_data

KINDS = {"source_kinds": ["group", "objective", "action", "statement"],
         "target_kinds": ["objective", "group", "action"]}


def test_pair_data_labels_the_pairs_of_the_gold_file():
    units = pd.DataFrame([
        ("d", "u1", "", "objective", "créer logement transit"),
        ("d", "u2", "", "objective", "isoler toiture"),
        ("d", "u3", "", "objective", "ouvrir potager"),
        ("p", "o1", "", "objective", "disposer logement"),
        ("p", "a1", "o1", "action", "rénover maison logement transit"),
        ("p", "a2", "o1", "action", "acheter véhicule"),
    ], columns=["doc_id", "unit_id", "parent_id", "kind", "text"])
    gold = pd.DataFrame([("d", "u1", "p", "a1", True), ("d", "u2", "p", "", False)],
                        columns=["src_doc", "src_unit", "dst_doc", "dst_unit", "is_link"])
    (pd_,) = pair_data(units, None, None, [("d", "p")], gold, KINDS)
    assert pd_.src_ids == ["u1", "u2", "u3"]
    assert pd_.dst_ids == ["a1", "a2"]  # o1 has actions: not a target
    assert pd_.labels.tolist() == [[1, 0], [0, 0], [-1, -1]]
    assert pd_.promises.tolist() == [True, True, False]
    assert pd_.signals["tfidf"].shape == (3, 2)


# --------------------------------------------------------------------------- anchor fits


def _plan(k: int, lemmas: list[str], linked: list[int], annotated: bool = True) -> PairData:
    """One promise; the plan units of ``linked`` carry it out."""
    m = len(lemmas)
    labels = [[1 if j in linked else 0 for j in range(m)]] if annotated else [[-1] * m]
    return _data(np.zeros((1, m)), labels, dps=f"D{k}", pst=f"P{k}", dst_lemmas=lemmas)


def test_fit_anchor_learns_which_words_carry_promises_and_skips_rare_ones():
    plans = [_plan(k, ["ouvrir permanence ménage", "adopter règlement travail",
                       f"rue{k} visiter ménage", "règlement commun"], linked=[0, 2])
             for k in range(4)]
    plans.append(_plan(4, ["rénover siège toiture", "aider ménage"], linked=[1]))
    a = fit_anchor(plans, min_plans=3, C=1.0)
    assert a is not None
    assert a.weights["ménage"] > 0 > a.weights["règlement"]
    assert "toiture" not in a.weights  # one plan only
    assert not any(w.startswith("rue") for w in a.weights)  # a street per plan
    assert fit_anchor(plans, min_plans=6) is None  # no word in six plans


def test_fit_anchor_ignores_unannotated_pairs_and_needs_both_labels():
    annotated = [_plan(k, ["aider ménage", "adopter règlement"], linked=[0]) for k in range(3)]
    revised = _plan(9, ["aider ménage", "adopter règlement"], linked=[], annotated=False)
    a = fit_anchor(annotated + [revised], min_plans=3)
    b = fit_anchor(annotated, min_plans=3)
    assert a == b
    assert fit_anchor([revised]) is None
    everything = [_plan(k, ["aider ménage", "ouvrir permanence"], linked=[0, 1]) for k in range(3)]
    assert fit_anchor(everything) is None  # every unit linked: nothing to tell apart


def test_out_of_fold_anchor_never_reads_the_pairs_own_gold():
    """A pair's anchor signal is the same whatever its own gold links say."""
    plans = [_plan(k, ["aider ménage", "adopter règlement", "ouvrir permanence"], linked=[0, 2])
             for k in range(4)]
    flipped = list(plans)
    flipped[1] = _plan(1, ["aider ménage", "adopter règlement", "ouvrir permanence"], linked=[1])
    a, b = out_of_fold_anchor(plans), out_of_fold_anchor(flipped)
    assert a[1].signals["anchor"].tolist() == b[1].signals["anchor"].tolist()
    assert a[0].signals["anchor"].tolist() != b[0].signals["anchor"].tolist()
    assert a[1].labels.tolist() == plans[1].labels.tolist()  # only the signal changes


def test_cross_validation_with_anchor_folds():
    plans = [_plan(k, ["aider ménage", "adopter règlement", "ouvrir permanence"], linked=[0, 2])
             for k in range(4)]
    cv = cross_validate(plans, [0.5], max_links=4, anchor=True)
    assert cv[0.5].n_gold == 8
    assert cv[0.5].tp <= cv[0.5].n_pred <= 12


def test_with_anchor_on_an_empty_pair():
    d = _data(np.zeros((0, 2)), np.zeros((0, 2), dtype=int), dst_lemmas=["a", "b"])
    assert d.with_anchor(Anchor(1.0, {})).signals["anchor"].shape == (0, 2)


def test_out_of_fold_anchor_leaves_out_every_pair_of_the_same_plan():
    """Two annotated declarations of one CPAS traced to the same plan: neither pair's gold
    reaches the other's anchor signal."""
    lemmas = ["aider ménage", "adopter règlement", "ouvrir permanence"]
    plans = [_plan(k, lemmas, linked=[0, 2]) for k in range(4)]
    twin = _data(np.zeros((1, 3)), [[1, 0, 1]], dps="D0bis", pst="P0", dst_lemmas=lemmas)
    flipped_twin = _data(np.zeros((1, 3)), [[0, 1, 0]], dps="D0bis", pst="P0",
                         dst_lemmas=lemmas)
    a = out_of_fold_anchor(plans + [twin])
    b = out_of_fold_anchor(plans + [flipped_twin])
    assert a[0].signals["anchor"].tolist() == b[0].signals["anchor"].tolist()


def test_cross_validation_without_anchor_ignores_the_shipped_anchor_signal():
    """anchor=False: whatever the anchor signal holds (here the gold itself), it is not read."""
    lemmas = ["aider ménage", "adopter règlement", "ouvrir permanence"]
    plans = [_plan(k, lemmas, linked=[0, 2]) for k in range(4)]
    for d in plans:
        d.signals["tfidf"] = np.array([[0.2, 0.3, 0.1]])
    leaky = [replace(d, signals={**d.signals, "anchor": (d.labels == 1) * 1.0}) for d in plans]
    a = cross_validate(plans, [0.5], max_links=4)
    b = cross_validate(leaky, [0.5], max_links=4)
    assert a == b
