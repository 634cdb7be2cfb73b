"""Figures of the report: matplotlib (Agg backend), deterministic PNG bytes, French labels.

Every ``*_figure`` function takes comparison tables (pandas DataFrames with the column contracts
of ``docs/architecture.md``) and returns a matplotlib ``Figure``; ``png_bytes`` turns a figure into
reproducible PNG bytes (no software/date metadata); ``render_figures`` builds the three overview
figures and returns ``{file name: PNG bytes}``.  Nothing here writes files.
"""

from __future__ import annotations

import io as _io
from collections.abc import Iterable, Sequence

import matplotlib

matplotlib.use("Agg", force=False)

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

#: rcParams applied while drawing and saving, so that output never depends on the user's config.
RC = {
    "svg.hashsalt": "cpas-compare",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "figure.dpi": 100,
    "savefig.dpi": 110,
    "path.simplify": True,
    "axes.spines.top": False,
    "axes.spines.right": False,
}

FIGURE_FILES = ("heatmap_themes.png", "similarity.png", "theme_coverage.png")

# Above this many documents, tick labels of per-document axes are dropped (unreadable anyway).
MAX_LABELLED_DOCS = 80
# Up to this many documents the theme heatmap has themes as rows, documents as columns.
TRANSPOSE_MAX_DOCS = 25


def _attr(obj, name: str, default=""):
    """``obj.name`` for a dataclass/object, ``obj[name]`` for a mapping."""
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def theme_order(codebook: Iterable, theme_matrix: pd.DataFrame | None = None) -> list[tuple[str, str]]:
    """(theme id, French label) in codebook order, then themes only seen in ``theme_matrix``."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for t in codebook or []:
        tid = str(_attr(t, "id"))
        if tid and tid not in seen:
            seen.add(tid)
            out.append((tid, str(_attr(t, "label")) or tid))
    if theme_matrix is not None and len(theme_matrix):
        labels = (theme_matrix[["theme", "theme_label"]].drop_duplicates("theme")
                  .set_index("theme")["theme_label"].to_dict())
        for tid in sorted(set(theme_matrix["theme"].astype(str).tolist()) - seen):
            out.append((tid, str(labels.get(tid) or tid)))
    return out


def theme_colors(codebook: Iterable) -> dict[str, str]:
    """theme id → display colour ``#rrggbb`` (grey when the codebook gives none)."""
    return {str(_attr(t, "id")): (str(_attr(t, "color")) or "#9e9e9e") for t in codebook or []}


def doc_order(theme_matrix: pd.DataFrame, doc_ids: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """(doc_id, commune label) in the order of ``doc_ids`` (default: sorted by label, then id)."""
    labels = {}
    if theme_matrix is not None and len(theme_matrix):
        labels = (theme_matrix[["doc_id", "commune_label"]].drop_duplicates("doc_id")
                  .set_index("doc_id")["commune_label"].astype(str).to_dict())
    if doc_ids is None:
        doc_ids = sorted(labels, key=lambda d: (labels[d].casefold(), d))  # report passes its order
    return [(d, labels.get(d) or d) for d in doc_ids]


def share_pivot(theme_matrix: pd.DataFrame, docs: Sequence[str], themes: Sequence[str],
                value: str = "share_units") -> np.ndarray:
    """Matrix docs × themes of ``value`` (0 where a pair is missing)."""
    mat = np.zeros((len(docs), len(themes)))
    if theme_matrix is None or not len(theme_matrix):
        return mat
    i = positions(theme_matrix["doc_id"], docs)
    j = positions(theme_matrix["theme"], themes)
    v = pd.to_numeric(theme_matrix[value], errors="coerce").to_numpy(dtype=float)
    keep = (i >= 0) & (j >= 0) & ~np.isnan(v)
    mat[i[keep], j[keep]] = v[keep]  # on duplicates, the last row wins
    return mat


def positions(values: pd.Series, labels: Sequence) -> np.ndarray:
    """Position of each of ``values`` in ``labels`` (unique), -1 where it is absent or missing.

    Same as ``pd.Index(labels, dtype=object).get_indexer(values)`` on Python objects, but each
    distinct value is looked up once (much faster on long Arrow string columns).
    """
    codes, uniques = pd.factorize(values)
    found = pd.Index(list(labels), dtype=object).get_indexer(np.asarray(uniques, dtype=object))
    return np.append(found, -1)[codes]  # code -1 (missing value) picks the appended -1


def similarity_matrix(similarity: pd.DataFrame, docs: Sequence[str],
                      column: str = "cosine_lemmas",
                      pairs: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Symmetric docs × docs matrix of ``column``; 1 on the diagonal, NaN for unknown pairs.

    ``similarity`` may hold each pair once (either order) or twice.  ``pairs``: the positions
    in ``docs`` of its ``doc_a`` and ``doc_b`` (``positions``), when already known.
    """
    n = len(docs)
    mat = np.full((n, n), np.nan)
    np.fill_diagonal(mat, 1.0)
    if similarity is None or not len(similarity) or column not in similarity:
        return mat
    if pairs is None:
        pairs = (positions(similarity["doc_a"], docs), positions(similarity["doc_b"], docs))
    i, j = pairs
    v = pd.to_numeric(similarity[column], errors="coerce").to_numpy(dtype=float)
    keep = (i >= 0) & (j >= 0) & ~np.isnan(v)
    i, j, v = i[keep], j[keep], v[keep]
    # both directions of each pair; where a pair is given twice, the later row wins
    both_i, both_j = np.concatenate([i, j]), np.concatenate([j, i])
    pos = np.concatenate([np.arange(len(i))] * 2)
    order = np.argsort(pos, kind="stable")
    mat[both_i[order], both_j[order]] = np.concatenate([v, v])[order]
    return mat


def coverage_counts(theme_matrix: pd.DataFrame, themes: Sequence[str]) -> list[int]:
    """Number of documents where each theme is ``present`` (in the order of ``themes``)."""
    if theme_matrix is None or not len(theme_matrix):
        return [0] * len(themes)
    present = theme_matrix[theme_matrix["present"].astype(bool)]
    counts = present.groupby("theme")["doc_id"].nunique().to_dict()
    return [int(counts.get(t, 0)) for t in themes]


def _short(label: str, n: int = 32) -> str:
    return label if len(label) <= n else label[: n - 1] + "…"


def heatmap_figure(theme_matrix: pd.DataFrame, codebook: Iterable,
                   docs: Sequence[tuple[str, str]] | None = None) -> Figure:
    """Heatmap documents × themes; colour = share of the document's content units.

    Up to TRANSPOSE_MAX_DOCS documents, themes are the rows and documents the columns (theme
    labels stay horizontal and readable); beyond, documents are the rows.
    """
    docs = list(docs) if docs is not None else doc_order(theme_matrix)
    themes = theme_order(codebook, theme_matrix)
    mat = share_pivot(theme_matrix, [d for d, _ in docs], [t for t, _ in themes])
    docs_as_rows = len(docs) > TRANSPOSE_MAX_DOCS
    if not docs_as_rows:
        mat = mat.T
    row_labels = [_short(lab, 38) for _, lab in (docs if docs_as_rows else themes)]
    col_labels = [_short(lab, 38) for _, lab in (themes if docs_as_rows else docs)]
    n_r, n_c = max(mat.shape[0], 1), max(mat.shape[1], 1)
    width = min(3.6 + 0.55 * n_c, 16)
    # unlabelled rows (many documents) need no height of their own: a compact image
    height = min(2.2 + 0.3 * n_r, 40) if n_r <= MAX_LABELLED_DOCS else 12.0
    fig = Figure(figsize=(width, height))
    ax = fig.add_subplot()
    vmax = max(float(np.nanmax(mat)) if mat.size else 0.0, 0.05)
    im = ax.imshow(mat if mat.size else np.zeros((1, 1)), cmap="Blues", aspect="auto",
                   vmin=0, vmax=vmax, interpolation="nearest")
    ax.set_xticks(range(len(col_labels)), col_labels, rotation=55, ha="right",
                  rotation_mode="anchor")
    if len(row_labels) <= MAX_LABELLED_DOCS:
        ax.set_yticks(range(len(row_labels)), row_labels)
    else:
        ax.set_yticks([])
        ax.set_ylabel(f"{len(docs)} déclarations")
    if mat.size and mat.shape[0] * mat.shape[1] <= 600:
        for i in range(mat.shape[0]):
            for j in range(mat.shape[1]):
                v = mat[i, j]
                if v > 0:
                    ax.text(j, i, f"{100 * v:.0f}", ha="center", va="center", fontsize=7,
                            color="white" if v > 0.55 * vmax else "#1f2933")
    ax.spines[:].set_visible(False)
    cb = fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02)
    cb.set_label("part des unités de contenu")
    cb.ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=0))
    ax.set_title("Thèmes par déclaration (% des unités de contenu)")
    fig.tight_layout()
    return fig


def similarity_figure(similarity: pd.DataFrame, docs: Sequence[tuple[str, str]]) -> Figure:
    """Two heatmaps documents × documents: cosine of lemmas (vocabulary) and of theme profiles.

    Side by side for a few documents, one above the other beyond 16 (labels stay legible);
    no labels beyond MAX_LABELLED_DOCS.
    """
    docs = list(docs)
    ids = [d for d, _ in docs]
    n = max(len(docs), 1)
    stacked = n > 16
    side = min(2.6 + 0.34 * n, 6.5) if not stacked else min(3.0 + 0.13 * n, 13.0)
    if n > MAX_LABELLED_DOCS:  # no labels: a smaller image reads as well and draws faster
        side = 7.0
    font = 8 if n <= 16 else max(4.5, 8 - (n - 16) / 12)
    if stacked:
        fig = Figure(figsize=(side + 1.6, 2 * side + 1.4), layout="constrained")
        axes = fig.subplots(2, 1)
    else:
        fig = Figure(figsize=(2 * side + 1.6, side + 0.9), layout="constrained")
        axes = fig.subplots(1, 2)
    titles = {"cosine_lemmas": "Vocabulaire (cosinus des lemmes)",
              "cosine_themes": "Profils de thèmes (cosinus)"}
    im = None
    pairs = None
    if similarity is not None and len(similarity) and {"doc_a", "doc_b"} <= set(similarity):
        pairs = (positions(similarity["doc_a"], ids), positions(similarity["doc_b"], ids))
    for ax, (col, title) in zip(axes, titles.items(), strict=False):
        mat = similarity_matrix(similarity, ids, col, pairs)
        shown = np.ma.masked_invalid(mat) if mat.size else np.ma.zeros((1, 1))
        im = ax.imshow(shown, cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(title)
        ax.spines[:].set_visible(False)
        if len(docs) <= MAX_LABELLED_DOCS:
            labels = [_short(lab, 22) for _, lab in docs]
            ax.set_xticks(range(len(docs)), labels, rotation=60, ha="right",
                          rotation_mode="anchor", fontsize=font)
            ax.set_yticks(range(len(docs)), labels, fontsize=font)
            if len(docs) <= 12:
                for i in range(mat.shape[0]):
                    for j in range(mat.shape[1]):
                        if i != j and not np.isnan(mat[i, j]):
                            ax.text(j, i, f"{mat[i, j]:.2f}", ha="center", va="center",
                                    fontsize=7, color="white" if mat[i, j] < 0.6 else "black")
        else:
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_xlabel(f"{len(docs)} déclarations")
    if im is not None:
        fig.colorbar(im, ax=list(axes), fraction=0.05, shrink=0.8,
                     label="similarité (0 à 1)")
    return fig


def coverage_figure(theme_matrix: pd.DataFrame, codebook: Iterable) -> Figure:
    """Horizontal bars: number of documents covering each theme (codebook colours)."""
    themes = theme_order(codebook, theme_matrix)
    colors = theme_colors(codebook)
    counts = coverage_counts(theme_matrix, [t for t, _ in themes])
    n_docs = int(theme_matrix["doc_id"].nunique()) if theme_matrix is not None and len(theme_matrix) else 0
    fig = Figure(figsize=(7.5, min(1.6 + 0.36 * max(len(themes), 1), 30)))
    ax = fig.add_subplot()
    y = np.arange(len(themes))
    ax.barh(y, counts, color=[colors.get(t, "#9e9e9e") for t, _ in themes],
            edgecolor="#33415580", linewidth=0.5)
    ax.set_yticks(y, [_short(lab, 40) for _, lab in themes])
    ax.invert_yaxis()
    ax.set_xlim(0, max(n_docs, 1) * 1.12)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    for yi, c in zip(y, counts, strict=False):
        ax.text(c + max(n_docs, 1) * 0.01, yi, f"{c}/{n_docs}", va="center", fontsize=8)
    ax.set_xlabel("nombre de déclarations qui couvrent le thème")
    ax.set_title("Couverture des thèmes")
    fig.tight_layout()
    return fig


def png_bytes(fig: Figure) -> bytes:
    """Reproducible PNG bytes of ``fig`` (Agg canvas, no Software/date metadata)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = _io.BytesIO()
    with plt.rc_context(RC):
        fig.savefig(buf, format="png", metadata={"Software": None}, facecolor="white",
                    bbox_inches="tight", pad_inches=0.12)
    return buf.getvalue()


def render_figures(tables: dict[str, pd.DataFrame], codebook: Iterable,
                   docs: Sequence[tuple[str, str]] | None = None) -> dict[str, bytes]:
    """The three overview figures as ``{file name: PNG bytes}`` (see FIGURE_FILES).

    ``docs`` is the (doc_id, label) order of the rows; default: documents of theme_matrix.
    """
    tm = tables.get("theme_matrix", pd.DataFrame(
        columns=["doc_id", "commune_label", "theme", "theme_label", "n_units", "share_units",
                 "share_words", "present"]))
    docs = list(docs) if docs is not None else doc_order(tm)
    out: dict[str, bytes] = {}
    with plt.rc_context(RC):
        builders = {
            "heatmap_themes.png": lambda: heatmap_figure(tm, codebook, docs),
            "similarity.png": lambda: similarity_figure(tables.get("similarity"), docs),
            "theme_coverage.png": lambda: coverage_figure(tm, codebook),
        }
        for name, build in builders.items():
            fig = build()
            out[name] = png_bytes(fig)
    return out
