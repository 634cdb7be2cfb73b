"""Theme matrix, axes with their dominant themes, document structure, comparison by group."""

from __future__ import annotations

from collections import defaultdict

import pandas as pd

from pipeline.compare.common import (
    UNKNOWN_GROUP,
    _text,
    commune_label,
    compile_patterns,
    content_units,
    load_config,
    n_words,
    ok_documents,
    round_floats,
    texts,
    theme_catalogue,
    unit_theme_pairs,
)

THEME_MATRIX_COLUMNS = ["doc_id", "commune_label", "theme", "theme_label", "n_units",
                        "share_units", "share_words", "present"]
AXIS_COLUMNS = ["doc_id", "commune_label", "unit_id", "axis_label", "axis_text", "n_units",
                "top_theme", "dominant_themes"]
STRUCTURE_COLUMNS = ["doc_id", "commune_label", "n_axes", "n_groups", "n_objectives",
                     "n_actions", "n_statements", "n_units", "n_words", "preamble_share",
                     "has_budget", "budget_evidence", "mentions_pst"]
BY_COLUMNS = ["group", "theme", "theme_label", "n_docs", "mean_share_units",
              "share_docs_present"]


def _doc_ids(documents: pd.DataFrame) -> list[str]:
    return sorted(ok_documents(documents)["doc_id"].astype(str))


def theme_matrix(documents: pd.DataFrame, units: pd.DataFrame, codebook,
                 unit_themes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Document × theme long table.

    In: documents, units (with ``themes``; else ``unit_themes`` is read), the codebook.
    Out: one row per (document read, theme) — codebook themes in codebook order, then ids
    unknown to the codebook — with ``n_units`` (content units carrying the theme),
    ``share_units`` = n_units / content units of the document, ``share_words`` = words of
    those units / content words of the document (a unit with two themes counts for both),
    ``present`` = n_units > 0. Rows sorted by doc_id then theme order; floats rounded.
    """
    docs = ok_documents(documents)
    labels = commune_label(docs)
    ids = _doc_ids(documents)
    cu = content_units(units)
    cu = cu[cu["doc_id"].isin(ids)][["doc_id", "unit_id", "text"]].copy()
    cu["n_words"] = n_words(cu["text"])
    totals = cu.groupby("doc_id").agg(n_content=("unit_id", "size"), w_content=("n_words", "sum"))
    pairs = unit_theme_pairs(units, unit_themes)
    pairs = pairs[pairs["doc_id"].isin(ids)].merge(cu[["doc_id", "unit_id", "n_words"]],
                                                   on=["doc_id", "unit_id"], how="inner")
    counts = pairs.groupby(["doc_id", "theme"]).agg(n_units=("unit_id", "nunique"),
                                                   words=("n_words", "sum"))
    cat = theme_catalogue(codebook, pairs["theme"].unique())
    grid = pd.MultiIndex.from_product([ids, cat["theme"]], names=["doc_id", "theme"])
    out = counts.reindex(grid, fill_value=0).reset_index()
    out = out.merge(totals, left_on="doc_id", right_index=True, how="left").fillna(
        {"n_content": 0, "w_content": 0})
    out = out.merge(cat, on="theme", how="left")
    n_content = out["n_content"].where(out["n_content"] > 0)
    w_content = out["w_content"].where(out["w_content"] > 0)
    out["share_units"] = (out["n_units"] / n_content).fillna(0.0).astype(float)
    out["share_words"] = (out["words"] / w_content).fillna(0.0).astype(float)
    out["n_units"] = out["n_units"].astype(int)
    out["present"] = out["n_units"] > 0
    out["commune_label"] = out["doc_id"].map(labels)
    out = out.sort_values(["doc_id", "order"], kind="stable")
    return round_floats(out[THEME_MATRIX_COLUMNS].reset_index(drop=True))


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


def _children(units: pd.DataFrame) -> dict[tuple[str, str], list[str]]:
    kids: dict[tuple[str, str], list[str]] = defaultdict(list)
    for doc, uid, parent in zip(units["doc_id"].tolist(), units["unit_id"].tolist(),
                                texts(units["parent_id"]), strict=True):
        if parent:
            kids[(doc, parent)].append(uid)
    return kids


def _descendants(doc: str, uid: str, kids) -> list[str]:
    out, stack = [], list(reversed(kids.get((doc, uid), [])))
    while stack:
        u = stack.pop()
        out.append(u)
        stack.extend(reversed(kids.get((doc, u), [])))
    return out


def axis_themes(documents: pd.DataFrame, units: pd.DataFrame, codebook,
                unit_themes: pd.DataFrame | None = None, top: int = 3) -> pd.DataFrame:
    """Each axis (unit of kind "axis") of each document with its dominant themes.

    Out: ``doc_id, commune_label, unit_id, axis_label, axis_text, n_units`` (content units
    below the axis, at any depth), ``top_theme`` (id of the first dominant theme) and
    ``dominant_themes``: the ``top`` themes by share of those units carrying them, as
    "logement (0.67); synergies (0.33)" (ties: codebook order). An axis with no unit below it
    is described by its own themes. Rows in document then text order.
    """
    ids = set(_doc_ids(documents))
    labels = commune_label(ok_documents(documents))
    units = units[units["doc_id"].isin(ids)]
    if "start" in units.columns:
        units = units.sort_values(["doc_id", "start"], kind="stable")
    else:
        units = units.sort_values("doc_id", kind="stable")
    pairs = unit_theme_pairs(units, unit_themes)
    cat = theme_catalogue(codebook, pairs["theme"].unique())
    order = dict(zip(cat["theme"], cat["order"], strict=False))
    themes_of: dict[tuple[str, str], list[str]] = defaultdict(list)
    for doc, uid, theme in zip(pairs["doc_id"].tolist(), pairs["unit_id"].tolist(),
                               pairs["theme"].tolist(), strict=True):
        themes_of[(doc, uid)].append(theme)
    cu = content_units(units)
    content = set(zip(cu["doc_id"].tolist(), cu["unit_id"].tolist(), strict=True))
    kids = _children(units)
    rows = []
    axes = units[units["kind"] == "axis"]
    for doc, uid, label, text in zip(axes["doc_id"].tolist(), axes["unit_id"].tolist(),
                                     texts(axes["label"]), texts(axes["text"]), strict=True):
        below = [u for u in _descendants(doc, uid, kids) if (doc, u) in content]
        base = below or [uid]
        counts: dict[str, int] = defaultdict(int)
        for u in base:
            for t in set(themes_of.get((doc, u), ())):
                counts[t] += 1
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], order.get(kv[0], 1 << 30), kv[0]))
        ranked = ranked[:top]
        dominant = "; ".join(f"{t} ({c / len(base):.2f})" for t, c in ranked)
        rows.append({"doc_id": doc, "commune_label": labels.get(doc, doc), "unit_id": uid,
                     "axis_label": _text(label), "axis_text": _text(text), "n_units": len(below),
                     "top_theme": ranked[0][0] if ranked else "", "dominant_themes": dominant})
    return pd.DataFrame(rows, columns=AXIS_COLUMNS)


def _matches_any(values: pd.Series, patterns) -> pd.Series:
    """Boolean Series: the text matches one of the compiled ``patterns``."""
    return pd.Series([any(p.search(t) for p in patterns) for t in values.tolist()],
                     index=values.index, dtype=bool)


def _first_hits(doc_ids: list[str], kinds: list[str], fulls: list[str], cfg: dict
                ) -> tuple[dict[str, str], set[str]]:
    """Budget evidence and PST mentions, units in reading order.

    Out: (doc_id → text of its first unit of a ``budget_kinds`` kind matching a budget
    pattern, doc_ids with a unit matching a PST pattern). Each document's units are searched
    only until the first hit (the regexes are most of the cost of ``structure``).
    """
    budget = compile_patterns(cfg["budget_patterns"])
    pst = compile_patterns(cfg["pst_patterns"])
    budget_kinds = set(cfg["budget_kinds"])
    evidence: dict[str, str] = {}
    pst_docs: set[str] = set()
    for doc, kind, full in zip(doc_ids, kinds, fulls, strict=True):
        if doc not in evidence and kind in budget_kinds and any(p.search(full) for p in budget):
            evidence[doc] = full
        if doc not in pst_docs and any(p.search(full) for p in pst):
            pst_docs.add(doc)
    return evidence, pst_docs


def structure(documents: pd.DataFrame, units: pd.DataFrame, config: dict | None = None
              ) -> pd.DataFrame:
    """Shape of each declaration read.

    Out: ``doc_id, commune_label``, counts of units by kind (``n_axes, n_groups,
    n_objectives, n_actions, n_statements``) and in all (``n_units``), ``n_words`` (words of
    all units), ``preamble_share`` (share of those words in preamble units), ``has_budget``
    (a content unit of the kinds listed in ``compare.toml`` [structure] has a label or text
    matching a budget pattern; ``budget_evidence`` = the first such unit's label + text,
    shortened), ``mentions_pst`` (any unit matches a PST pattern).
    """
    cfg = (config or load_config())["structure"]
    docs = ok_documents(documents)
    ids = _doc_ids(documents)
    labels = commune_label(docs)
    u = units[units["doc_id"].isin(ids)].copy()
    if "start" in u.columns:
        u = u.sort_values(["doc_id", "start"], kind="stable")
    u["n_words"] = n_words(u["text"])
    u["full"] = [f"{a} {b}".strip() for a, b in zip(texts(u["label"]), texts(u["text"]),
                                                    strict=True)]
    kinds = pd.crosstab(u["doc_id"], u["kind"]) if len(u) else pd.DataFrame()
    words = u.groupby("doc_id")["n_words"].sum()
    sizes = u.groupby("doc_id").size()
    pre_words = u[u["kind"] == "preamble"].groupby("doc_id")["n_words"].sum()
    evidence, pst_docs = _first_hits(u["doc_id"].tolist(), u["kind"].tolist(),
                                     u["full"].tolist(), cfg)
    rows = []
    for d in ids:
        def k(kind, d=d):
            return int(kinds.at[d, kind]) if kind in kinds.columns and d in kinds.index else 0
        w = int(words.get(d, 0))
        ev = _text(evidence.get(d, ""))
        rows.append({
            "doc_id": d, "commune_label": labels.get(d, d),
            "n_axes": k("axis"), "n_groups": k("group"), "n_objectives": k("objective"),
            "n_actions": k("action"), "n_statements": k("statement"),
            "n_units": int(sizes.get(d, 0)),
            "n_words": w,
            "preamble_share": float(pre_words.get(d, 0)) / w if w else 0.0,
            "has_budget": bool(ev), "budget_evidence": ev if len(ev) <= 160 else ev[:157] + "…",
            "mentions_pst": d in pst_docs,
        })
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
