"""cpas-compare: read, structure, theme and compare Belgian CPAS social-policy declarations.

Public API (what notebooks use)::

    from pipeline import analyze, load_results, benchmark, load_codebook, plot_theme_heatmap
    res = load_results("outputs")          # DataFrames: res.documents, res.units, res.tables[...]
    res.tables["theme_matrix"]             # document × theme shares
    benchmark("trooz-dps-2019", res.tables).to_text()
    res.tables["trace"]                    # each promise → the plan (PST) actions carrying it out
    print(render_trace("corvallon-dps-2025", res.tables["trace"], res.tables["versions"]))

Stages, each importable on its own: ingest → segment → nlp → classify → trace → compare →
export/report.
Imports are lazy so that ``import pipeline`` stays instant.
"""

from __future__ import annotations

from pipeline.version import __version__  # noqa: F401 (public)

__all__ = [
    "analyze",
    "load_results",
    "read_text",
    "benchmark",
    "load_codebook",
    "ingest_file",
    "segment_document",
    "theme_pivot",
    "plot_theme_heatmap",
    "compare_communes",
    "build_trace",
    "render_trace",
]


def analyze(corpus="corpus", out="outputs", **kwargs):
    """Analyse a folder of declarations into ``out`` (see ``pipeline.runner.analyze``)."""
    from pipeline.runner import analyze as _analyze

    return _analyze(corpus, out, **kwargs)


def load_results(out="outputs"):
    """Load a finished analysis: ``.documents``, ``.units``, ``.unit_themes``, ``.tables``."""
    from pipeline.results import load_results as _load

    return _load(out)


def read_text(out, doc_id):
    """The normalised text of one document (the text unit offsets point into)."""
    from pipeline.results import read_text as _read

    return _read(out, doc_id)


def benchmark(doc_id, tables):
    """Profile of one declaration against its peers (``.to_text()`` for a French summary)."""
    from pipeline.compare import benchmark as _benchmark

    return _benchmark(doc_id, tables)


def load_codebook(path=None):
    """The theme codebook: a list of Theme (id, label, definition, includes, excludes, color…)."""
    from pipeline.classify.codebook import load_codebook as _load

    return _load(path)


def ingest_file(path, doc_id=None):
    """Read one declaration file into a Document (normalised text, structure hints, metadata)."""
    from pathlib import Path

    from pipeline.ingest import ingest_file as _ingest

    path = Path(path)
    return _ingest(path, doc_id or path.stem)


def segment_document(doc):
    """Split a Document into its tree of units (list of Unit).

    (Not named ``segment``: that name is the ``pipeline.segment`` sub-package.)
    """
    from pipeline.segment import segment as _segment

    return _segment(doc)


def theme_pivot(theme_matrix, value="share_units"):
    """Wide document × theme table (rows: commune label, columns: theme labels in codebook
    order)."""
    from pipeline.compare.tables import theme_wide

    return theme_wide(theme_matrix, value).drop(columns="doc_id").set_index("commune_label")


def plot_theme_heatmap(theme_matrix, value="share_units", ax=None):
    """Heatmap of ``theme_pivot``; returns the matplotlib Axes."""
    import matplotlib.pyplot as plt

    pivot = theme_pivot(theme_matrix, value)
    if ax is None:
        _, ax = plt.subplots(figsize=(1 + 0.45 * pivot.shape[1], 1 + 0.45 * pivot.shape[0]))
    im = ax.imshow(pivot.to_numpy(), cmap="Blues", aspect="auto", vmin=0)
    ax.set_xticks(range(pivot.shape[1]), pivot.columns, rotation=60, ha="right")
    ax.set_yticks(range(pivot.shape[0]), pivot.index)
    ax.figure.colorbar(im, ax=ax, label="part des unités de contenu")
    ax.set_title("Thèmes par déclaration")
    return ax


def compare_communes(theme_matrix, a, b, value="share_units"):
    """Side-by-side theme shares of two documents (doc_id or commune label), with the gap."""
    pivot = theme_pivot(theme_matrix, value)
    labels = dict(zip(theme_matrix["doc_id"], theme_matrix["commune_label"], strict=True))
    a, b = labels.get(a, a), labels.get(b, b)
    missing = [x for x in (a, b) if x not in pivot.index]
    if missing:
        raise ValueError(f"inconnu(s) : {missing} ; connus : {sorted(pivot.index)}")
    out = pivot.loc[[a, b]].T
    out["écart"] = out[a] - out[b]
    return out.sort_values("écart", key=abs, ascending=False)


def build_trace(documents, units, nlp, unit_themes, review=None, **kwargs):
    """Declarations → strategic plans and declaration → next declaration of one CPAS: the
    tables trace, trace_summary, versions, versions_themes (``pipeline.trace.build_trace``;
    its docstring lists the columns). ``review``: the path of a ``trace_review.csv`` (links
    checked by a person, ``pipeline.trace.review``) or its matched decisions."""
    from pathlib import Path

    from pipeline.trace import build_trace as _build

    if isinstance(review, (str, Path)):
        from pipeline.trace.review import load_review, match_review

        review = match_review(load_review(review), units)
        for line in review.notes:
            print(line)
    return _build(documents, units, nlp, unit_themes, review=review, **kwargs)


def render_trace(doc_id, trace, versions=None, **kwargs):
    """One declaration's trace as text: each promise with its plan actions or "pas dans le
    PST", the plan's actions with no anchor, the changes since the previous declaration."""
    from pipeline.trace.render import render_trace as _render

    return _render(doc_id, trace, versions, **kwargs)
