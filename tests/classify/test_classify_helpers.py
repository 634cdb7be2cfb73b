"""Shared helpers for the classify tests: a spaCy-free lemmatiser and frame builder."""

from pathlib import Path

import pandas as pd

from pipeline.classify.model import FRAME_COLUMNS

FIXTURES = Path(__file__).parents[1] / "fixtures" / "classify"
STOP = {"le", "la", "les", "de", "des", "du", "d", "l", "à", "a", "au", "aux", "un", "une",
        "et", "en", "pour", "avec", "sur", "par"}


def fake_lemmatise(texts):
    """Lower-case, split on non-letters, drop a few stop words, strip a plural -s."""
    import re

    out = []
    for t in texts:
        words = [w for w in re.findall(r"[^\W\d_]+", t.lower()) if w not in STOP and len(w) > 1]
        lem = [w[:-1] if w.endswith("s") and len(w) > 3 else w for w in words]
        out.append((" ".join(lem), " ".join(words)))
    return out


def make_frame(rows):
    """rows: (doc_id, unit_id, kind, text[, context_text]) → classify frame (fake lemmas)."""
    recs = []
    for r in rows:
        doc, uid, kind, text = r[:4]
        ctx = r[4] if len(r) > 4 else ""
        (lem, tok), (clem, ctok) = fake_lemmatise([text, ctx])
        recs.append({"doc_id": doc, "unit_id": uid, "kind": kind, "text": text, "lemmas": lem,
                     "tokens": tok, "context": clem, "context_tokens": ctok,
                     "context_text": ctx})
    return pd.DataFrame(recs, columns=FRAME_COLUMNS)


def test_character_feature_evidence_is_a_word_of_the_text():
    from pipeline.classify.model import _word_with

    text = "Créer des Logements d'urgence"
    assert _word_with(text, " log") == "Logements"
    assert _word_with(text, "ence") == "d'urgence"
    assert _word_with(text, " zz") is None and _word_with(text, " ") is None
