"""Theme matrix, axes with their dominant themes, document structure, comparison by group."""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
import pandas as pd

from pipeline.compare.common import (
    UNKNOWN_GROUP,
    _text,
    compile_patterns,
    load_config,
    round_floats,
    texts,
    theme_catalogue,
)
from pipeline.compare.inputs import CompareInputs
from pipeline.models import NON_CONTENT_KINDS

THEME_MATRIX_COLUMNS = ["doc_id", "commune_label", "theme", "theme_label", "n_units",
                        "share_units", "share_words", "present"]
AXIS_COLUMNS = ["doc_id", "commune_label", "unit_id", "axis_label", "axis_text", "n_units",
                "top_theme", "dominant_themes"]
STRUCTURE_COLUMNS = ["doc_id", "commune_label", "n_axes", "n_groups", "n_objectives",
                     "n_actions", "n_statements", "n_units", "n_words", "preamble_share",
                     "has_budget", "budget_evidence", "mentions_pst"]
BY_COLUMNS = ["group", "theme", "theme_label", "n_docs", "mean_share_units",
              "share_docs_present"]


def theme_matrix(documents: pd.DataFrame, units: pd.DataFrame, codebook,
                 unit_themes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Document × theme long table.

    In: documents, units (with ``themes``; else ``unit_themes`` is read), the codebook.
    Out: one row per (document read, theme) — codebook themes in codebook order, then ids
    unknown to the codebook — with ``n_units`` (content units carrying the theme),
    ``share_units`` = n_units / content units of the document, ``share_words`` = words of
    those units / content words of the document (a unit with two themes counts for both),
    ``present`` = n_units > 0. Rows sorted by doc_id then theme order; floats rounded.
    Content units here leave out empty headings (``common.compared_mask``: an axis, section
    or group with no content unit below it counts nowhere, neither its themes nor its words).
    """
    return theme_matrix_of(CompareInputs(documents, units, unit_themes=unit_themes), codebook)


def theme_matrix_of(p: CompareInputs, codebook) -> pd.DataFrame:
    """``theme_matrix`` from the shared inputs (:class:`pipeline.compare.inputs.CompareInputs`)."""
    ids = p.ids
    n = len(ids)
    doc = p.doc_code
    unit_sel = (doc >= 0) & p.compared
    n_words_all = p.n_words
    n_content = np.bincount(doc[unit_sel], minlength=n)
    w_content = np.bincount(doc[unit_sel], weights=n_words_all[unit_sel], minlength=n)
    pos, themes = p.theme_pairs
    keep = unit_sel[pos]
    pos = pos[keep]
    themes = [t for t, k in zip(themes, keep.tolist(), strict=True) if k]
    cat = theme_catalogue(codebook, set(themes))
    order = {t: i for i, t in enumerate(cat["theme"].tolist())}
    n_themes = len(order)
    codes = np.fromiter((order.get(t, -1) for t in themes), dtype=np.int64, count=len(themes))
    known = codes >= 0
    cell = doc[pos[known]] * n_themes + codes[known]
    n_units = np.bincount(cell, minlength=n * n_themes)
    words = np.bincount(cell, weights=n_words_all[pos[known]], minlength=n * n_themes)
    n_c = np.repeat(n_content, n_themes)
    w_c = np.repeat(w_content, n_themes)
    with np.errstate(divide="ignore", invalid="ignore"):
        share_units = np.where(n_c > 0, n_units / np.where(n_c > 0, n_c, 1), 0.0)
        share_words = np.where(w_c > 0, words / np.where(w_c > 0, w_c, 1), 0.0)
    # (document, theme) grid, documents in doc_id order, themes in catalogue order
    rows, cols = np.repeat(np.arange(n), n_themes), np.tile(np.arange(n_themes), n)
    out = pd.DataFrame({
        "doc_id": pd.array(ids, dtype="str").take(rows),
        "theme": cat["theme"].array.take(cols),
        "theme_label": cat["theme_label"].array.take(cols),
        "n_units": n_units.astype(int), "share_units": share_units.astype(float),
        "share_words": share_words.astype(float), "present": n_units > 0,
    })
    out["commune_label"] = out["doc_id"].map(p.labels)
    return round_floats(out[THEME_MATRIX_COLUMNS])


def theme_wide(theme_matrix: pd.DataFrame, value: str = "share_units") -> pd.DataFrame:
    """Wide pivot of ``theme_matrix``: one row per document (doc_id, commune_label), one
    column per theme label (in the matrix's theme order), cells = ``value``."""
    if not len(theme_matrix):
        return pd.DataFrame(columns=["doc_id", "commune_label"])
    theme_order = list(dict.fromkeys(theme_matrix["theme_label"]))
    wide = theme_matrix.pivot_table(index=["doc_id", "commune_label"], columns="theme_label",
                                    values=value, aggfunc="sum", fill_value=0, sort=True)
    wide = wide.reindex(columns=theme_order, fill_value=0)
    wide.columns.name = None
    return wide.reset_index()


def axis_themes(documents: pd.DataFrame, units: pd.DataFrame, codebook,
                unit_themes: pd.DataFrame | None = None, top: int = 3) -> pd.DataFrame:
    """Each axis (unit of kind "axis") of each document with its dominant themes.

    Out: ``doc_id, commune_label, unit_id, axis_label, axis_text, n_units`` (content units
    below the axis, at any depth, empty headings left out: ``common.compared_mask``),
    ``top_theme`` (id of the first dominant theme) and ``dominant_themes``: the ``top``
    themes by share of those units carrying them, as "logement (0.67); synergies (0.33)"
    (ties: codebook order). An empty axis (no content unit below it) keeps its row with
    ``n_units`` 0 and no theme: its own themes count nowhere. Rows in document then text
    order.
    """
    return axis_themes_of(CompareInputs(documents, units, unit_themes=unit_themes), codebook, top)


def axis_themes_of(p: CompareInputs, codebook, top: int = 3) -> pd.DataFrame:
    """``axis_themes`` from the shared inputs (:class:`pipeline.compare.inputs.CompareInputs`)."""
    labels = p.labels.to_dict()
    themes_of = p.themes_of
    seq = p.reading_order
    cat = theme_catalogue(codebook, {t for i in seq.tolist() for t in themes_of[i]})
    order = dict(zip(cat["theme"], cat["order"], strict=False))
    docs, uids, kinds = p.column("doc_id"), p.column("unit_id"), p.column("kind")
    parents, axis_label, axis_text = p.stripped("parent_id"), p.stripped("label"), p.stripped("text")
    compared = p.compared.tolist()
    # the units in reading order come document by document: walk each document's tree alone
    doc_code = p.doc_code[seq]
    cuts = np.flatnonzero(doc_code[1:] != doc_code[:-1]) + 1
    rows = []
    for run in np.split(seq, cuts) if len(seq) else []:
        run = run.tolist()
        kids: dict[str, list[int]] = defaultdict(list)  # parent unit_id → child positions
        for i in run:
            if parents[i]:
                kids[parents[i]].append(i)
        doc = docs[run[0]]
        for i in run:
            if kinds[i] != "axis":
                continue
            below = [u for u in _descendants(uids[i], uids, kids) if compared[u]]
            counts: dict[str, int] = defaultdict(int)
            for u in below:
                for t in themes_of[u]:
                    counts[t] += 1
            ranked = sorted(counts.items(),
                            key=lambda kv: (-kv[1], order.get(kv[0], 1 << 30), kv[0]))[:top]
            dominant = "; ".join(f"{t} ({c / len(below):.2f})" for t, c in ranked)
            rows.append((doc, labels.get(doc, doc), uids[i], axis_label[i], axis_text[i],
                         len(below), ranked[0][0] if ranked else "", dominant))
    return pd.DataFrame(rows, columns=AXIS_COLUMNS)


def _descendants(uid: str, uids: list[str], kids: dict[str, list[int]]) -> list[int]:
    """Positions of the units below unit ``uid`` (depth first), from ``kids``: parent
    unit_id → positions of its children; ``uids``: unit_id of each position."""
    out, stack = [], list(reversed(kids.get(uid, [])))
    while stack:
        u = stack.pop()
        out.append(u)
        children = kids.get(uids[u])
        if children:
            stack.extend(reversed(children))
    return out


def _matches_any(values: pd.Series, patterns) -> pd.Series:
    """Boolean Series: the text matches one of the compiled ``patterns``."""
    return pd.Series([any(p.search(t) for p in patterns) for t in values.tolist()],
                     index=values.index, dtype=bool)


def _first_hits(doc_ids: list[str], kinds: list[str], fulls: list[str], cfg: dict
                ) -> tuple[dict[str, str], set[str]]:
    """Budget evidence and PST mentions, units in reading order.

    In: the content units only (the caller leaves out NON_CONTENT_KINDS: a breadcrumb, a
    preamble quoting the law or a page title never counts). Out: (doc_id → text of its
    first unit of a ``budget_kinds`` kind matching a budget pattern, doc_ids with a unit
    matching a PST pattern). Each document's units are searched only until the first hit
    (the regexes are most of the cost of ``structure``).
    """
    budget = compile_patterns(cfg["budget_patterns"])
    pst = compile_patterns(cfg["pst_patterns"])
    budget_kinds = set(cfg["budget_kinds"]) - set(NON_CONTENT_KINDS)
    evidence: dict[str, str] = {}
    pst_docs: set[str] = set()
    # declarations share boilerplate: search each distinct text once per pattern list
    is_budget: dict[str, bool] = {}
    is_pst: dict[str, bool] = {}
    for doc, kind, full in zip(doc_ids, kinds, fulls, strict=True):
        if doc not in evidence and kind in budget_kinds:
            hit = is_budget.get(full)
            if hit is None:
                hit = is_budget[full] = any(p.search(full) for p in budget)
            if hit:
                evidence[doc] = full
        if doc not in pst_docs:
            hit = is_pst.get(full)
            if hit is None:
                hit = is_pst[full] = any(p.search(full) for p in pst)
            if hit:
                pst_docs.add(doc)
    return evidence, pst_docs


def structure(documents: pd.DataFrame, units: pd.DataFrame, config: dict | None = None
              ) -> pd.DataFrame:
    """Shape of each declaration read.

    Out: ``doc_id, commune_label``, counts of units by kind (``n_axes, n_groups,
    n_objectives, n_actions, n_statements``) and in all (``n_units``), ``n_words`` (words of
    all units), ``preamble_share`` (share of those words in preamble units), ``has_budget``
    (a content unit of the kinds listed in ``compare.toml`` [structure] has a label or text
    matching a budget pattern, or a title unit of the body matches ``budget_headings``:
    "Volet budgétaire"; ``budget_evidence`` = the first such unit's label + text,
    shortened), ``mentions_pst`` (a content unit matches a PST pattern). Units of
    NON_CONTENT_KINDS (navigation, preamble, title, signature…) count in the unit and word
    counts and ``preamble_share`` only.
    """
    return structure_of(CompareInputs(documents, units), config)


def structure_of(p: CompareInputs, config: dict | None = None) -> pd.DataFrame:
    """``structure`` from the shared inputs (:class:`pipeline.compare.inputs.CompareInputs`)."""
    cfg = (config or load_config())["structure"]
    ids = p.ids
    labels = p.labels.to_dict()
    seq = p.reading_order.tolist()
    all_docs, all_kinds = p.column("doc_id"), p.column("kind")
    label, text, n_words_all = p.stripped("label"), p.stripped("text"), p.n_words.tolist()
    docs = [all_docs[i] for i in seq]
    kinds = [all_kinds[i] for i in seq]
    by_kind: Counter = Counter()
    words: Counter = Counter()
    sizes: Counter = Counter()
    pre_words: Counter = Counter()
    for doc, kind, i in zip(docs, kinds, seq, strict=True):
        by_kind[(doc, kind)] += 1
        sizes[doc] += 1
        words[doc] += n_words_all[i]
        if kind == "preamble":
            pre_words[doc] += n_words_all[i]
    content = p.content.tolist()
    heads = compile_patterns(cfg.get("budget_headings", []))
    # a body heading naming the budget part ("Volet budgétaire": a title unit) counts as a
    # budget unit
    head_kinds = [("section" if kinds[k] == "title" and heads
                   and any(h.search(text[i]) for h in heads) else kinds[k])
                  for k, i in enumerate(seq)]
    hits = [k for k, i in enumerate(seq) if content[i] or head_kinds[k] != kinds[k]]
    fulls = [f"{label[seq[k]]} {text[seq[k]]}".strip() for k in hits]
    evidence, pst_docs = _first_hits([docs[k] for k in hits], [head_kinds[k] for k in hits],
                                     fulls, cfg)
    rows = []
    for d in ids:
        w = words.get(d, 0)
        ev = _text(evidence.get(d, ""))
        rows.append((
            d, labels.get(d, d), by_kind[(d, "axis")], by_kind[(d, "group")],
            by_kind[(d, "objective")], by_kind[(d, "action")], by_kind[(d, "statement")],
            sizes.get(d, 0), w, float(pre_words.get(d, 0)) / w if w else 0.0,
            bool(ev), ev if len(ev) <= 160 else ev[:157] + "…", d in pst_docs))
    return round_floats(pd.DataFrame(rows, columns=STRUCTURE_COLUMNS))


def compare_by(documents: pd.DataFrame, theme_matrix: pd.DataFrame, column: str) -> pd.DataFrame:
    """Theme shares compared between the groups of a metadata ``column`` of ``documents``.

    Out: ``group, theme, theme_label, n_docs`` (documents of the group),
    ``mean_share_units`` (mean of their share_units) and ``share_docs_present`` (share of
    them where the theme is present). Empty values form the group "(non renseigné)".
    Rows sorted by group then theme order. Raises ValueError for an unknown column.
    """
    if column not in documents.columns:
        raise ValueError(f"colonne inconnue : {column!r} ; colonnes disponibles : "
                         f"{', '.join(map(str, documents.columns))}")
    groups = dict(zip(documents["doc_id"].astype(str),
                      [t or UNKNOWN_GROUP for t in texts(documents[column])], strict=True))
    tm = theme_matrix.copy()
    if not len(tm):
        return pd.DataFrame(columns=BY_COLUMNS)
    tm["group"] = tm["doc_id"].astype(str).map(groups).fillna(UNKNOWN_GROUP)
    tm["present"] = tm["present"].astype(bool).astype(float)
    theme_order = {t: i for i, t in enumerate(dict.fromkeys(tm["theme"]))}
    out = tm.groupby(["group", "theme", "theme_label"], sort=False).agg(
        n_docs=("doc_id", "nunique"), mean_share_units=("share_units", "mean"),
        share_docs_present=("present", "mean")).reset_index()
    out["_o"] = out["theme"].map(theme_order)
    out = out.sort_values(["group", "_o"], kind="stable")
    return round_floats(out[BY_COLUMNS].reset_index(drop=True))
