"""The report stage: comparison tables → ``report.html`` (self-contained) + ``figures/*.png``.

``build_report(tables, documents, units, unit_themes, codebook, out_dir, benchmarks)`` is the
entry point (see ``pipeline.report.html``); figure builders live in ``pipeline.report.figures``.
To render the figures apart (another thread or process) with the same output:
``figures = report_figures(tables, documents, codebook)`` there, ``finish = prepare_html(tables,
documents, units, unit_themes, codebook, benchmarks)`` here, then ``write_figures(out_dir,
figures)`` and ``io.write_text(out_dir / "report.html", finish(figures))``.
"""

from __future__ import annotations

from pipeline.report.figures import (
    FIGURE_FILES,
    coverage_figure,
    heatmap_figure,
    png_bytes,
    render_figures,
    similarity_figure,
)
from pipeline.report.html import (
    build_report,
    figure_docs,
    prepare_html,
    render_html,
    report_figures,
    write_figures,
)

__all__ = [
    "FIGURE_FILES",
    "build_report",
    "coverage_figure",
    "figure_docs",
    "heatmap_figure",
    "png_bytes",
    "prepare_html",
    "render_figures",
    "render_html",
    "report_figures",
    "similarity_figure",
    "write_figures",
]
