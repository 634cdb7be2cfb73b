"""Compare stage: documents, units, nlp, unit_themes, codebook → comparison tables.

``build_tables`` returns every table as a DataFrame (the runner writes them as CSV +
Parquet; ``pipeline.export.workbook`` writes them as the sheets of ``cpas-compare.xlsx``);
``benchmark`` profiles one declaration against its peers.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from pipeline.compare.benchmark import Benchmark, benchmark, benchmark_all
from pipeline.compare.common import commune_label, content_units
from pipeline.compare.inputs import CompareInputs
from pipeline.compare.keyness import distinctive_terms, distinctive_terms_of, log_likelihood
from pipeline.compare.partners import load_gazetteer, partner_summary, partners, partners_of
from pipeline.compare.passages import find_shared, find_shared_of, split_sentences
from pipeline.compare.similarity import nearest, similarity, similarity_matrix, similarity_of
from pipeline.compare.tables import (
    axis_themes,
    axis_themes_of,
    compare_by,
    structure,
    structure_of,
    theme_matrix,
    theme_matrix_of,
    theme_wide,
)
from pipeline.models import COMPARISON_TABLES

__all__ = [
    "Benchmark", "benchmark", "benchmark_all", "build_tables", "commune_label",
    "content_units", "theme_matrix", "theme_wide", "axis_themes", "structure", "compare_by",
    "similarity", "similarity_matrix", "nearest", "distinctive_terms", "log_likelihood",
    "partners", "partner_summary", "load_gazetteer", "find_shared", "split_sentences",
    "TABLE_KEYS",
]

#: Keys of ``build_tables`` (plus one ``by_<column>`` per grouping column).
TABLE_KEYS = COMPARISON_TABLES  # pipeline/data/tables.toml


def build_tables(documents: pd.DataFrame, units: pd.DataFrame, nlp: pd.DataFrame | None,
                 unit_themes: pd.DataFrame | None, codebook, by: Sequence[str] = (),
                 timings: dict[str, float] | None = None,
                 shared: tuple[pd.DataFrame, pd.DataFrame] | None = None
                 ) -> dict[str, pd.DataFrame]:
    """Every comparison table of the corpus.

    In: the documents, units (with ``themes``), nlp and unit_themes DataFrames of
    docs/architecture.md and the codebook (list of Theme). Only documents with status "ok"
    are compared. ``by``: metadata columns of ``documents`` to compare groups on.
    Out: dict with keys TABLE_KEYS (theme_matrix, axis_themes, similarity,
    distinctive_terms, partners, partners_summary, shared_passages,
    shared_passages_summary, structure) and ``by_<column>`` per ``by`` column; rows sorted,
    floats rounded to 4 decimals. ``timings``, when given, receives seconds per table.
    ``shared``: the result of ``find_shared(documents, units)`` when already computed (it needs
    the texts only, so the runner builds it while the spaCy model loads).
    """
    import time

    def timed(name, fn, *args, **kw):
        t = time.perf_counter()
        out = fn(*args, **kw)
        if timings is not None:
            timings[name] = round(time.perf_counter() - t, 3)
        return out

    # the inputs are read once (columns as lists, units in reading order, word and lemma
    # counts) and shared by the tables
    inputs = CompareInputs(documents, units, nlp, unit_themes)
    tables: dict[str, pd.DataFrame] = {}
    tm = timed("theme_matrix", theme_matrix_of, inputs, codebook)
    tables["theme_matrix"] = tm
    tables["axis_themes"] = timed("axis_themes", axis_themes_of, inputs, codebook)
    tables["similarity"] = timed("similarity", similarity_of, inputs, tm)
    tables["distinctive_terms"] = timed("distinctive_terms", distinctive_terms_of, inputs)
    pt = timed("partners", partners_of, inputs)
    tables["partners"] = pt
    tables["partners_summary"] = partner_summary(pt)
    passages, summary = (shared if shared is not None
                         else timed("shared_passages", find_shared_of, inputs))
    tables["shared_passages"] = passages
    tables["shared_passages_summary"] = summary
    tables["structure"] = timed("structure", structure_of, inputs)
    for col in by:
        tables[f"by_{col}"] = compare_by(documents, tm, col)
    return tables
