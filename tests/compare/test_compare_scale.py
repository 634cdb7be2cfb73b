"""build_tables stays fast on a synthetic corpus of 300 declarations × 150 units.

The corpus is generated here (random words with a Zipf-like frequency, a pool of template
sentences reused across declarations, random themes), so the test needs no model.
Run as a script to print the timings: ``python tests/compare/test_compare_scale.py [n_docs]``.
"""

from __future__ import annotations

import random
import sys
import time
from types import SimpleNamespace

import pandas as pd
import pytest

from pipeline import compare
from pipeline.export.workbook import write_workbook

THEMES = [SimpleNamespace(id=f"t{i:02d}", label=f"Thème {i}") for i in range(20)]
KINDS = ["objective", "action", "statement", "group"]


def synthetic_corpus(n_docs: int = 300, n_units: int = 150, seed: int = 0):
    """(documents, units, nlp) DataFrames of ``n_docs`` declarations of ``n_units`` units
    (random pseudo-words, Zipf-like frequencies, 60 template sentences reused)."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyzéè"
    vocab = sorted({"".join(rng.choices(letters, k=rng.randint(2, 11))) for _ in range(4000)})
    rng.shuffle(vocab)
    weights = [1 / (i + 1) for i in range(len(vocab))]

    def sentence(k: int) -> str:
        return " ".join(rng.choices(vocab, weights, k=k)).capitalize() + "."

    templates = [sentence(rng.randint(12, 30)) for _ in range(60)]
    docs, units, nlp = [], [], []
    for d in range(n_docs):
        doc_id = f"doc{d:03d}"
        docs.append({"doc_id": doc_id, "commune": f"Commune {d // 2}",
                     "legislature": ["2019-2024", "2025-2030"][d % 2],
                     "province": ["Liège", "Namur", "Hainaut", ""][d % 4], "status": "ok"})
        pre = " ".join(rng.sample(templates, 4) + [sentence(20)])
        units.append((doc_id, f"{doc_id}-u0", "", "preamble", "", pre, ""))
        axis = ""
        for j in range(1, n_units):
            uid = f"{doc_id}-u{j}"
            if j % 25 == 1:
                kind, parent, axis = "axis", "", uid
                text = sentence(rng.randint(3, 8))
            else:
                kind, parent = rng.choice(KINDS), axis
                text = rng.choice(templates) if rng.random() < 0.05 else sentence(rng.randint(6, 25))
                if rng.random() < 0.1:
                    text += " En partenariat avec le FOREM et le PCS."
            themes = ";".join(t.id for t in rng.sample(THEMES, rng.randint(0, 2)))
            units.append((doc_id, uid, parent, kind, "", text, themes))
            lemmas = text.lower().replace(".", "")
            ents = '[["Maison Verte", "ORG"]]' if rng.random() < 0.02 else "[]"
            nlp.append({"doc_id": doc_id, "unit_id": uid, "lemmas": lemmas, "tokens": lemmas,
                        "entities": ents})
    units_df = pd.DataFrame(units, columns=["doc_id", "unit_id", "parent_id", "kind", "label",
                                            "text", "themes"])
    units_df["start"] = units_df.groupby("doc_id").cumcount() * 100
    return pd.DataFrame(docs), units_df, pd.DataFrame(nlp)


def time_build(n_docs: int = 300, n_units: int = 150) -> tuple[float, dict, dict]:
    documents, units, nlp = synthetic_corpus(n_docs, n_units)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    tables = compare.build_tables(documents, units, nlp, None, THEMES, by=["province"],
                                  timings=timings)
    return time.perf_counter() - t, timings, tables


@pytest.mark.slow
def test_build_tables_300_documents(tmp_path):
    """Scale check (no timing assertion: `python tests/compare/test_compare_scale.py` prints them)."""
    _, _, tables = time_build(300, 150)
    assert tables["theme_matrix"]["doc_id"].nunique() == 300
    assert len(tables["similarity"]) == 300 * 299
    # the template sentences recur in many declarations
    assert tables["shared_passages"]["n_docs"].max() > 10
    write_workbook(tables, tmp_path / "w.xlsx")
    assert (tmp_path / "w.xlsx").stat().st_size > 0


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    elapsed, timings, tables = time_build(n)
    print(f"build_tables, {n} documents × 150 units: {elapsed:.1f} s")
    for k, v in timings.items():
        print(f"  {k}: {v:.2f} s")
    print({k: len(v) for k, v in tables.items()})
