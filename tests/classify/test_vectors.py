"""pipeline.classify.vectors: the batch mean vectors against the per-text reference."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.classify import vectors

WORDS = ["logement", "énergie", "aînés", "épicerie", "sociale", "CPAS", "art", "zzqxw",
         "permanence", "Domicile", "", "l'accueil"]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.sampled_from(WORDS), max_size=8).map(" ".join), max_size=6))
def test_batch_equals_per_text_mean_vectors(texts):
    """Same rows as mean_vectors up to float32 rounding; unknown-only or empty texts give a
    zero row."""
    ref = vectors.mean_vectors(texts)
    got = vectors.mean_vectors_batch(texts)
    assert got.shape == ref.shape == (len(texts), ref.shape[1] if len(texts) else got.shape[1])
    assert np.allclose(got, ref, atol=1e-6, rtol=0)
    for i, t in enumerate(texts):
        if set(t.split()) <= {"zzqxw"}:  # no known word: a zero row
            assert not got[i].any()

def test_batch_rows_are_unit_vectors_or_zero():
    got = vectors.mean_vectors_batch(["logement social", "zzqxw", "", "énergie énergie"])
    norms = np.linalg.norm(got, axis=1)
    assert np.allclose(norms[[0, 3]], 1.0, atol=1e-6)
    assert norms[1] == 0 and norms[2] == 0
    # a repeated word weighs as many times as it appears, like the per-text mean
    assert np.allclose(got[3], vectors.mean_vectors(["énergie"])[0], atol=1e-6)
