"""The report stage: comparison tables → ``report.html`` (self-contained) + ``figures/*.png``.

``build_report(tables, documents, units, unit_themes, codebook, out_dir, benchmarks)`` is the
entry point (see ``pipeline.report.html``); figure builders live in ``pipeline.report.figures``.
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
from pipeline.report.html import build_report, render_html

__all__ = [
    "FIGURE_FILES",
    "build_report",
    "coverage_figure",
    "heatmap_figure",
    "png_bytes",
    "render_figures",
    "render_html",
    "similarity_figure",
]
