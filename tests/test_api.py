"""Public API helpers used by the notebook (pure functions on small hand-made frames)."""

import pandas as pd
import pytest

import pipeline


@pytest.fixture
def tm():
    rows = []
    for doc, label, shares in [("a", "Alpha", {"logement": 0.5, "energie": 0.5}),
                               ("b", "b", {"logement": 0.2, "energie": 0.0, "sante": 0.8})]:
        for theme, s in shares.items():
            rows.append({"doc_id": doc, "commune_label": label, "theme": theme,
                         "theme_label": theme.capitalize(), "share_units": s})
    return pd.DataFrame(rows)


def test_import_is_light():
    import subprocess
    import sys

    code = "import sys, pipeline; print('spacy' in sys.modules, 'pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_theme_pivot_fills_missing_with_zero(tm):
    p = pipeline.theme_pivot(tm)
    assert p.loc["Alpha", "Sante"] == 0
    assert p.loc["b", "Sante"] == pytest.approx(0.8)


def test_compare_communes_by_doc_id_or_label(tm):
    c = pipeline.compare_communes(tm, "a", "b")
    assert c.index[0] == "Sante"  # largest absolute gap first (0.8)
    assert c.loc["Energie", "écart"] == pytest.approx(0.5)
    assert pipeline.compare_communes(tm, "Alpha", "b").equals(c)


def test_compare_communes_unknown(tm):
    with pytest.raises(ValueError, match="connus"):
        pipeline.compare_communes(tm, "a", "zzz")


def test_all_names_exist():
    for name in pipeline.__all__:
        assert callable(getattr(pipeline, name))
