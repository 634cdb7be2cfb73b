"""Decisive and supporting terms, negative cues, calibration and the shipped model."""

import json

import numpy as np
import pandas as pd
import pytest
from test_classify_helpers import fake_lemmatise, make_frame

from pipeline.classify import classify
from pipeline.classify.codebook import load_codebook
from pipeline.classify.model import (
    _platt,
    annotations_fingerprint,
    calibrate,
    default_model,
    predict_labels,
    training_annotations,
)

CODEBOOK_TOML = """
[[theme]]
id = "insertion"
label = "Insertion"
color = "#0072b2"
definition = "Insertion."
terms = ["article 60"]
supporting = ["formation", "emploi"]
negative = ["formation du personnel"]
examples = ["Un contrat article 60."]

[[theme]]
id = "organisation_interne"
label = "Organisation"
color = "#777777"
definition = "Organisation."
terms = ["formation du personnel"]
supporting = ["agent"]
examples = ["Former les agents."]
"""


@pytest.fixture(scope="module")
def codebook(tmp_path_factory):
    p = tmp_path_factory.mktemp("cb") / "cb.toml"
    p.write_text(CODEBOOK_TOML, encoding="utf-8")
    return load_codebook(p)


@pytest.fixture(scope="module")
def vocab_model(codebook):
    # no annotation at all: no classifier, the decisive vocabulary decides alone
    return default_model(codebook, None, lemmatise=fake_lemmatise, shipped=False)


def labels_of(model, texts):
    return predict_labels(model, make_frame([("d", f"u{i}", "objective", t)
                                             for i, t in enumerate(texts)]))


def test_decisive_term_suffices_supporting_term_never_alone(vocab_model):
    got = labels_of(vocab_model, ["Signer dix contrats article 60",
                                  "Une formation pour tous",
                                  "Une formation vers l'emploi"])
    assert got[0] == ["insertion"]
    assert got[1] == []           # one supporting term alone: nothing
    assert got[2] == []           # supporting terms never decide without the model


def test_negative_cue_cancels_the_theme_vocabulary(vocab_model):
    got = labels_of(vocab_model, ["La formation du personnel et un article 60"])
    # the negative cue of insertion cancels its vocabulary; organisation keeps its term
    assert got[0] == ["organisation_interne"]


def test_evidence_is_the_matched_text(vocab_model, codebook):
    frame = make_frame([("d", "u1", "objective", "Signer dix contrats Article 60 cette année")])
    ut, _ = classify(frame, vocab_model, codebook)
    assert ut.loc[0, "evidence"] == "Article 60"
    assert ut.loc[0, "evidence_spans"] == "20-30"
    assert frame.loc[0, "text"][20:30] == "Article 60"
    assert ut.loc[0, "sources"] == "vocabulary"


def test_platt_calibration_recovers_a_known_distortion():
    rng = np.random.default_rng(0)
    true_p = rng.uniform(0.02, 0.98, size=(4000, 1))
    y = rng.uniform(size=true_p.shape) < true_p
    # an over-confident model: logit doubled
    logit = np.log(true_p / (1 - true_p))
    p_model = 1 / (1 + np.exp(-2 * logit))
    cal = _platt(p_model, y, np.array([True]))
    assert cal[0] == pytest.approx(0.5, abs=0.08)
    fixed = calibrate(p_model, cal)
    for lo in (0.1, 0.3, 0.5, 0.7):
        m = (fixed >= lo) & (fixed < lo + 0.2)
        assert abs(fixed[m].mean() - y[m].mean()) < 0.06


def test_training_rows_are_shipped_and_folder_rows_win(tmp_path):
    shipped = training_annotations(None)
    assert len(shipped) >= 600 and shipped["doc_id"].nunique() >= 15
    folder = tmp_path / "annotations.csv"
    row = shipped.iloc[[0]].copy()
    row["themes"] = "finances"
    row.to_csv(folder, index=False)
    both = training_annotations(folder)
    assert len(both) == len(shipped)
    assert both[both["text"] == row.iloc[0]["text"]]["themes"].tolist() == ["finances"]
    assert annotations_fingerprint(both)["sha256"] != annotations_fingerprint(shipped)["sha256"]
    only = training_annotations(folder, shipped=False)
    assert len(only) == 1


@pytest.mark.slow
def test_a_folder_without_annotations_uses_the_shipped_model(tmp_path):
    from pathlib import Path

    from pipeline.runner import analyze

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    seeds = Path(__file__).parents[1] / "fixtures" / "seeds"
    for name in ("trooz-dps-2019.txt", "ittre-dps-2019.txt"):
        (corpus / name).write_bytes((seeds / name).read_bytes())
    out = tmp_path / "out"
    res = analyze(corpus, out, n_process=1, quiet=True, report=False)
    assert res.exit_code == 0
    ut = pd.read_csv(out / "unit_themes.csv", dtype=str, keep_default_na=False)
    units = pd.read_csv(out / "units.csv", dtype=str, keep_default_na=False)
    assert (ut["sources"].str.contains("model")).any()
    assert not (ut["sources"].str.contains("human")).any()
    text = {(r.doc_id, r.unit_id): r.text for r in units.itertuples()}
    for r in ut.itertuples():
        for ev in r.evidence.split(";"):
            if ev and not ev.startswith("contexte: "):
                assert ev in text[(r.doc_id, r.unit_id)], (ev, text[(r.doc_id, r.unit_id)])
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["theme_model"]["n_annotations"] >= 600
    assert 0 < run["theme_model"]["threshold"] < 1
