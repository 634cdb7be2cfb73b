"""Classify stage: content units → policy themes (see docs/architecture.md).

Public API used by the runner: :func:`unit_frame`, :func:`train`, :func:`classify`,
:func:`review_table`, :func:`default_model`, :func:`match_annotations`, and
``pipeline.classify.codebook.load_codebook`` / ``pipeline.classify.evaluate``.
"""

from pipeline.classify.annotations import match_annotations, normalise_text, split_themes
from pipeline.classify.codebook import Theme, load_codebook
from pipeline.classify.model import (
    ThemeModel,
    classify,
    default_model,
    review_table,
    train,
    unit_frame,
)

__all__ = [
    "Theme",
    "ThemeModel",
    "classify",
    "default_model",
    "load_codebook",
    "match_annotations",
    "normalise_text",
    "unit_frame",
    "review_table",
    "split_themes",
    "train",
]
