"""The tracing stage: which promises of a declaration (DPS) reached the CPAS's strategic plan
(PST), and what changed from one declaration of a CPAS to the next.

Stage order: ingest → segment → nlp → classify → **trace** → compare → export → report.

:func:`build_trace` (documents, units, unit_nlp, unit_themes) → dict of tables:

``trace``
    one row per (promise, plan unit) link, one row per promise no plan unit carries out
    (``status`` "pas dans le PST") and one row per plan unit no promise reaches (``status``
    "sans ancrage dans la DPS"): ``commune, mandate, dps_doc, dps_unit, dps_kind, dps_text,
    pst_doc, pst_unit, pst_kind, pst_objective, pst_text, service, deadline, budget,
    indicator, status, review, score, tfidf, vector, shared_lemmas, shared_themes, evidence``
    (``review``: what a person's review file, :mod:`pipeline.trace.review`, did to the row).
``trace_summary``
    per (declaration, plan) and per theme (``theme`` "" = all themes): promises, promises
    carried out (count, share), promises with no plan, promises reviewed by hand, plan units,
    plan units with no anchor in the declaration (count, share).
``versions``
    per pair of declarations of one CPAS: each promise ``kept`` / ``reworded`` / ``dropped``
    (old side) or ``new`` (new side), with its counterpart and score.
``versions_themes``
    the share of content units per theme in the old and the new declaration, and the change.
``trace_by_<col>``
    ``trace_summary`` summed per value of a documents column (``by``), for federations.

Settings (units kept, weights, thresholds): ``pipeline/data/trace.toml``.
"""

from __future__ import annotations

from pipeline.trace.pairs import DECLARATION_KIND, PLAN_KIND, Pairs, find_pairs, without_plans
from pipeline.trace.tables import TRACE_COLUMNS, build_trace, trace_note

__all__ = ["build_trace", "find_pairs", "Pairs", "PLAN_KIND", "DECLARATION_KIND",
           "TRACE_COLUMNS", "trace_note", "without_plans"]
