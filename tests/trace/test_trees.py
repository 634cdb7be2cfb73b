"""The boosted trees of the declaration → plan links (``pipeline.trace.link.Trees``, fitted by
``pipeline.trace.gold.fit_trees``): read with numpy only, they must give scikit-learn's own
decision function; they survive a JSON round trip; a broken file is named; the ``Model``
cascade re-scores only the candidates above ``floor``.

The data are small random matrices drawn here (seeded), never outputs of the code under test.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from pipeline.trace.gold import TREE_PARAMS, fit_trees
from pipeline.trace.link import (
    SETTINGS_FILE,
    SIGNALS,
    Model,
    Trees,
    load_settings,
    load_trees,
    model,
)


def _data(seed: int = 0, n: int = 600) -> tuple[np.ndarray, np.ndarray]:
    """Rows of random signals in [0, 1] whose label depends on a few of them (with noise)."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, len(SIGNALS)))
    z = 4 * X[:, 0] + 3 * X[:, 2] * X[:, 9] - 2 * X[:, 5] - 2 + rng.normal(0, 0.5, n)
    return X, (z > 0).astype(int)


@pytest.fixture(scope="module")
def fitted():
    X, y = _data()
    return X, y, fit_trees(X, y)


@pytest.fixture(scope="module")
def ref(fitted):
    """scikit-learn's own classifier fitted on the same rows with the same parameters."""
    X, y, _ = fitted
    return HistGradientBoostingClassifier(**TREE_PARAMS).fit(X, y)


def test_log_odds_equal_scikit_learns_decision_function(fitted, ref):
    X, y, trees = fitted
    Xn, _ = _data(seed=1, n=300)  # rows the trees never saw
    for rows in (X, Xn):
        assert trees.log_odds(rows) == pytest.approx(ref.decision_function(rows), abs=1e-9)
    # and the probabilities through the logistic function
    p = 1 / (1 + np.exp(-trees.log_odds(Xn)))
    assert p == pytest.approx(ref.predict_proba(Xn)[:, 1], abs=1e-9)


def test_log_odds_on_thresholds_exactly(fitted, ref):
    """A value equal to a node's threshold goes left, as in scikit-learn."""
    X, y, trees = fitted
    inner = trees.left != np.arange(len(trees.left))
    rows = np.tile(X[:1], (int(inner.sum()), 1))
    rows[np.arange(len(rows)), trees.feature[inner]] = trees.threshold[inner]
    assert trees.log_odds(rows) == pytest.approx(ref.decision_function(rows), abs=1e-9)


def test_log_odds_of_no_row_is_empty(fitted):
    assert fitted[2].log_odds(np.zeros((0, len(SIGNALS)))).shape == (0,)


def test_trees_separate_the_classes_they_were_fitted_on(fitted):
    X, y, trees = fitted
    assert ((trees.log_odds(X) > 0) == (y == 1)).mean() > 0.85


def test_json_round_trip_is_exact(fitted, tmp_path):
    trees = fitted[2]
    p = tmp_path / "t.json"
    p.write_text(json.dumps(trees.to_json()), encoding="utf-8")
    back = load_trees(p)
    for k in ("feature", "threshold", "left", "right", "value", "roots"):
        assert np.array_equal(getattr(back, k), getattr(trees, k)), k
    assert (back.baseline, back.depth) == (trees.baseline, trees.depth)
    X, _ = _data(seed=2, n=50)
    assert np.array_equal(back.log_odds(X), trees.log_odds(X))


def test_a_leaf_only_tree_by_hand():
    """One tree: root splits on tfidf at 0.5, leaves +1 (left) and -2 (right); baseline 0.25."""
    t = Trees(0.25, np.array([0, 0, 0]), np.array([0.5, 0.0, 0.0]), np.array([1, 1, 2]),
              np.array([2, 1, 2]), np.array([0.0, 1.0, -2.0]), np.array([0]), 1)
    X = np.zeros((3, len(SIGNALS)))
    X[:, 0] = [0.2, 0.5, 0.9]
    assert t.log_odds(X) == pytest.approx([1.25, 1.25, -1.75])


@pytest.mark.parametrize("breakage, match", [
    (lambda d: d.update(signals=["tfidf"]), "autres signaux"),
    (lambda d: d.update(value=d["value"][:-1]), "longueurs différentes"),
    (lambda d: d.update(left=[len(d["left"])] + d["left"][1:]), "hors limites"),
    (lambda d: d.update(feature=[len(SIGNALS)] + d["feature"][1:]), "hors limites"),
    (lambda d: d.pop("baseline"), "baseline"),
])
def test_a_malformed_file_is_named(fitted, tmp_path, breakage, match):
    raw = fitted[2].to_json()
    breakage(raw)
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ValueError, match=match) as e:
        load_trees(p)
    assert str(p) in str(e.value) and "make fit-trace" in str(e.value)


def test_a_missing_or_broken_file_is_named(tmp_path):
    with pytest.raises(ValueError, match="absent.json"):
        load_trees(tmp_path / "absent.json")
    p = tmp_path / "cut.json"
    p.write_text('{"signals": [', encoding="utf-8")
    with pytest.raises(ValueError, match="cut.json.*illisibles"):
        load_trees(p)


def test_cascade_rescores_only_the_candidates(fitted):
    trees = fitted[2]
    logistic = Model(intercept=-3.0, weights={"tfidf": 6.0}, threshold=0.5)
    cascade = Model(intercept=-3.0, weights={"tfidf": 6.0}, threshold=0.5, trees=trees,
                    floor=0.2)
    rng = np.random.default_rng(3)
    sig = {s: rng.random((4, 5)) for s in SIGNALS}
    p0, p1 = logistic.score(sig), cascade.score(sig)
    below = p0 < 0.2
    assert below.any() and (~below).any()
    assert np.array_equal(p1[below], p0[below])
    X = np.column_stack([sig[s][~below] for s in SIGNALS])
    assert p1[~below] == pytest.approx(1 / (1 + np.exp(-trees.log_odds(X))))


def test_cascade_with_floor_zero_is_the_trees_everywhere(fitted):
    trees = fitted[2]
    m = Model(intercept=0.0, weights={}, threshold=0.5, trees=trees, floor=0.0)
    sig = {s: np.full((2, 3), 0.3) for s in SIGNALS}
    X = np.full((1, len(SIGNALS)), 0.3)
    expect = 1 / (1 + math.exp(-trees.log_odds(X)[0]))
    assert m.score(sig) == pytest.approx(np.full((2, 3), expect))


def test_shipped_link_model_carries_trees_that_load():
    s = load_settings()["link"]
    m = model("link")
    assert s.get("trees"), "trace.toml [link] names no trees file"
    assert m.trees is not None and 0.0 < m.floor < m.threshold
    raw = json.loads((SETTINGS_FILE.parent / s["trees"]).read_text(encoding="utf-8"))
    assert raw["signals"] == list(SIGNALS)
    # every tree reaches a leaf within depth steps, from every node
    t = m.trees
    node = np.arange(len(t.feature))
    for _ in range(t.depth):
        node = np.where(t.left[node] == node, node, t.left[node])
    assert np.array_equal(t.left[node], node)
    p = 1 / (1 + np.exp(-t.log_odds(np.zeros((1, len(SIGNALS))))))
    q = 1 / (1 + np.exp(-t.log_odds(np.ones((1, len(SIGNALS))))))
    assert p[0] < 0.5 < q[0]  # nothing in common is no link; everything in common is one


def test_shipped_versions_model_has_no_trees():
    assert model("versions").trees is None
