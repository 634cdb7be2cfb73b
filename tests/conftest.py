"""Shared fixtures: paths and one analysed copy of the seed corpus per test session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
SEEDS = FIXTURES / "seeds"
SAMPLES = FIXTURES / "samples"


@pytest.fixture(scope="session")
def seed_corpus(tmp_path_factory) -> Path:
    """A fresh copy of corpus/ (the five seeds, metadata.csv, annotations.csv)."""
    dest = tmp_path_factory.mktemp("corpus")
    for p in (ROOT / "corpus").iterdir():
        if p.is_file():
            shutil.copy(p, dest / p.name)
    return dest


@pytest.fixture(scope="session")
def seed_run(seed_corpus, tmp_path_factory):
    """The seed corpus analysed end to end once (RunResult; outputs in ``result.out``)."""
    from pipeline.runner import analyze

    out = tmp_path_factory.mktemp("outputs")
    return analyze(seed_corpus, out, n_process=1, quiet=True)
