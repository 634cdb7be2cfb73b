"""Which documents are traced against which: a declaration (DPS) and the strategic plan (PST)
of the same CPAS and mandate, and two declarations of one CPAS (two mandates, or a revised
declaration of the same mandate adopted later).

In: the documents table (``doc_id, doc_kind, commune, mandate, adopted_on, status`` and,
optionally, the metadata.csv column ``pair_of``: the doc_id(s) of the counterpart, separated by
``;`` or ``,``). Out: lists of ``(doc_id, doc_id)`` pairs, sorted, and French notes about what
could not be paired. Nothing is guessed: a document with no commune and no ``pair_of`` is
not paired.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from pipeline.results import fold_name

#: doc_kind of a strategic plan (``pipeline/data/doc_kinds.toml``)
PLAN_KIND = "pst"
#: doc_kind of a declaration
DECLARATION_KIND = "declaration"


def without_plans(documents: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``documents`` that are compared with each other: all but the strategic
    plans (``doc_kind`` pst), which are traced against their declaration instead. The frame
    itself when it has no plan."""
    if "doc_kind" not in documents.columns or not (documents["doc_kind"] == PLAN_KIND).any():
        return documents
    return documents[documents["doc_kind"] != PLAN_KIND].reset_index(drop=True)
_SPLIT = re.compile(r"\s*[;,]\s*")


@dataclass
class Pairs:
    """``plans``: (declaration, plan) pairs; ``versions``: (older, newer) declaration pairs;
    ``notes``: one French line per document that could not be paired."""

    plans: list[tuple[str, str]] = field(default_factory=list)
    versions: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _col(documents: pd.DataFrame, name: str) -> list[str]:
    if name not in documents.columns:
        return [""] * len(documents)
    return [str(v) if isinstance(v, str) else "" for v in documents[name].tolist()]


def _mandate_start(mandate: str) -> int:
    m = re.match(r"\s*(\d{4})", mandate or "")
    return int(m.group(1)) if m else 0


def find_pairs(documents: pd.DataFrame) -> Pairs:
    """Documents table → :class:`Pairs`.

    Plans: every declaration with every plan of the same commune (compared as a person would:
    case, accents and dashes ignored) and the same mandate. Versions: within one commune,
    every declaration of one mandate with every declaration of the next mandate present, and,
    within one mandate, consecutive declarations whose ``adopted_on`` dates are both known
    and differ. A ``pair_of`` value replaces the automatic pairing of the documents it names
    (a plan named by a declaration, a declaration named by a plan, or two declarations).
    """
    ok = [s == "ok" for s in _col(documents, "status")] if "status" in documents.columns \
        else [True] * len(documents)
    ids, kinds = _col(documents, "doc_id"), _col(documents, "doc_kind")
    communes = [fold_name(c) if c else "" for c in _col(documents, "commune")]
    mandates, dates = _col(documents, "mandate"), _col(documents, "adopted_on")
    pair_of = _col(documents, "pair_of")
    info = {i: (k, c, m, d) for i, k, c, m, d, good in
            zip(ids, kinds, communes, mandates, dates, ok, strict=True) if good}
    plans_ids = sorted(i for i, v in info.items() if v[0] == PLAN_KIND)
    decl_ids = sorted(i for i, v in info.items() if v[0] == DECLARATION_KIND)
    out = Pairs()

    explicit: set[tuple[str, str]] = set()
    for i, value in zip(ids, pair_of, strict=True):
        if i not in info or not value.strip():
            continue
        for other in _SPLIT.split(value.strip()):
            if not other:
                continue
            if other == i:
                out.notes.append(f"{i} : pair_of se nomme lui-même (ignoré)")
                continue
            if other not in info:
                out.notes.append(f"{i} : pair_of nomme « {other} », absent du corpus ou illisible")
                continue
            explicit.add((i, other))

    # a pair_of replaces the automatic pairing of its kind only: a declaration that names its
    # plan still gets its versions, one that names its previous version still gets its plan
    plans: set[tuple[str, str]] = set()
    versions: set[tuple[str, str]] = set()
    named_plan: set[str] = set()
    named_version: set[str] = set()
    for a, b in explicit:
        ka, kb = info[a][0], info[b][0]
        if ka == DECLARATION_KIND and kb == PLAN_KIND:
            plans.add((a, b))
            named_plan |= {a, b}
        elif ka == PLAN_KIND and kb == DECLARATION_KIND:
            plans.add((b, a))
            named_plan |= {a, b}
        elif ka == kb == DECLARATION_KIND:
            older, newer = sorted((a, b), key=lambda x: (_mandate_start(info[x][2]), info[x][3], x))
            versions.add((older, newer))
            named_version |= {a, b}

    for p in plans_ids:
        if p in named_plan:
            continue
        _, commune, mandate, _ = info[p]
        found = [d for d in decl_ids if d not in named_plan and commune and mandate
                 and info[d][1] == commune and info[d][2] == mandate]
        plans |= {(d, p) for d in found}
        if not found:
            why = ("commune ou mandature inconnue : ajoutez-les (ou pair_of) dans metadata.csv"
                   if not (commune and mandate) else
                   "aucune déclaration de la même commune et de la même mandature")
            out.notes.append(f"{p} : plan non relié ({why})")

    by_commune: dict[str, list[str]] = {}
    for d in decl_ids:
        if d not in named_version and info[d][1]:
            by_commune.setdefault(info[d][1], []).append(d)
    for docs in by_commune.values():
        by_mandate: dict[int, list[str]] = {}
        for d in docs:
            start = _mandate_start(info[d][2])
            if start:
                by_mandate.setdefault(start, []).append(d)
        starts = sorted(by_mandate)
        for s0, s1 in zip(starts, starts[1:], strict=False):
            versions |= {(a, b) for a in by_mandate[s0] for b in by_mandate[s1]}
        for start in starts:
            dated = sorted((info[d][3], d) for d in by_mandate[start] if info[d][3])
            for (d0, a), (d1, b) in zip(dated, dated[1:], strict=False):
                if d0 != d1:
                    versions.add((a, b))
    out.plans = sorted(plans)
    out.versions = sorted(versions)
    return out
