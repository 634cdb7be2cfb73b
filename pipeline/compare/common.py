"""Helpers shared by the compare tables: labels, content units, theme lists, rounding."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import tomllib

from pipeline.io import cell_text
from pipeline.models import NON_CONTENT_KINDS

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
DECIMALS = 4
#: Group label of documents whose metadata value is empty (compare_by).
UNKNOWN_GROUP = "(non renseigné)"
#: Content kinds that head other units. One with no content below it other than such headings
#: (an "empty axis": a heading followed directly by another heading, page furniture read as an
#: axis) counts in no theme share, similarity or distinctive term (``compared_mask``).
HEADING_KINDS = ("section", "axis", "group")


@lru_cache(maxsize=4)
def load_config(path: Path | None = None) -> dict:
    """``pipeline/data/compare.toml`` (or ``path``) → dict of patterns and word lists."""
    with open(path or DATA_DIR / "compare.toml", "rb") as f:
        return tomllib.load(f)


def _text(value) -> str:
    """A cell as a stripped string ("" for None / NaN / pd.NA)."""
    return cell_text(value).strip()


def texts(series: pd.Series) -> list[str]:
    """A column as a list of stripped strings ("" for missing values); fast on Arrow strings."""
    return [x.strip() if isinstance(x, str) else _text(x) for x in series.tolist()]


def single_spaced(text: str) -> bool:
    """``text`` has no whitespace but single " " characters (every other whitespace
    character is unprintable): ``text.split()`` then splits at each " ", and collapsing
    whitespace runs changes nothing. A quick test that spares building the words."""
    return text.isprintable() and "  " not in text


def word_count(text: str) -> int:
    """``len(text.split())`` of a stripped ``text``, without building the words when it is
    ``single_spaced``."""
    if text.isprintable() and "  " not in text:  # single_spaced, inlined: called per unit
        return text.count(" ") + 1 if text else 0
    return len(text.split())


def text_series(series: pd.Series) -> pd.Series:
    """``texts`` as a Series with the same index."""
    return pd.Series(texts(series), index=series.index, dtype=object)


def ok_documents(documents: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``documents`` that were read (``status`` == "ok", or all if no status column)."""
    if "status" in documents.columns:
        documents = documents[documents["status"].map(_text).isin(["ok", ""])]
    return documents


def commune_label(documents: pd.DataFrame) -> pd.Series:
    """Display label of each document: its commune, disambiguated, else its doc_id.

    In: documents DataFrame (``doc_id``, optional ``commune``, ``legislature``).
    Out: Series indexed by ``doc_id`` (name "commune_label"), one unique label per document:
    the commune ("Trooz"); when several documents share a commune, the legislature is added
    ("Trooz (2019-2024)"), and if that is still ambiguous, the doc_id ("Trooz (trooz-b)");
    the doc_id itself when the commune is unknown.
    """
    ids = documents["doc_id"].astype(str).tolist()
    communes = [_text(c) for c in documents.get("commune", pd.Series([""] * len(ids)))]
    legs = [_text(x) for x in documents.get("legislature", pd.Series([""] * len(ids)))]
    labels = [c or d for c, d in zip(communes, ids, strict=False)]
    counts = pd.Series(labels).value_counts()
    labels = [f"{lab} ({leg})" if c and leg and counts[lab] > 1 else lab
              for lab, c, leg in zip(labels, communes, legs, strict=False)]
    counts = pd.Series(labels).value_counts()
    labels = [f"{c} ({d})" if c and counts[lab] > 1 else lab
              for lab, c, d in zip(labels, communes, ids, strict=False)]
    return pd.Series(labels, index=pd.Index(ids, name="doc_id"), name="commune_label")


def content_units(units: pd.DataFrame) -> pd.DataFrame:
    """Units whose ``kind`` carries policy content (not in NON_CONTENT_KINDS)."""
    return units[~units["kind"].isin(NON_CONTENT_KINDS)]


def compared_mask(units: pd.DataFrame, content=None) -> np.ndarray:
    """Per unit (row of ``units``): it counts in theme shares, similarity and distinctive
    terms. That is a content unit (kind not in NON_CONTENT_KINDS), except a heading
    (HEADING_KINDS) with no content unit below it but other empty headings: a heading counts
    when some unit of another content kind lies below it, at any depth, through
    ``parent_id`` (within its document). Without a ``parent_id`` column headings count.
    ``content``: the content mask when already computed."""
    if content is None:
        content = ~units["kind"].isin(NON_CONTENT_KINDS).to_numpy(dtype=bool)
    content = np.asarray(content, dtype=bool)
    heading = units["kind"].isin(HEADING_KINDS).to_numpy(dtype=bool) & content
    if not heading.any() or "parent_id" not in units.columns:
        return content.copy()
    docs = units["doc_id"].tolist()
    where = {(d, u): i for i, (d, u) in enumerate(zip(docs, units["unit_id"].tolist(),
                                                     strict=True))}
    parent = [where.get((d, p), -1) if p else -1
              for d, p in zip(docs, texts(units["parent_id"]), strict=True)]
    filled = np.zeros(len(units), dtype=bool)  # a heading with content below it
    for i in np.flatnonzero(content & ~heading).tolist():
        j, seen = parent[i], 0
        while j >= 0 and not filled[j] and seen <= len(parent):  # (seen: no endless cycle)
            filled[j] = True
            j, seen = parent[j], seen + 1
    return content & (~heading | filled)


def compared_units(units: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``units`` that count in theme shares and similarity (``compared_mask``)."""
    return units[compared_mask(units)]


def theme_field(theme, name: str, default=""):
    """Field ``name`` of a codebook theme given as an object (``Theme``) or a mapping."""
    if isinstance(theme, dict):
        return theme.get(name, default)
    return getattr(theme, name, default)


def theme_catalogue(codebook, extra_ids=()) -> pd.DataFrame:
    """Ordered themes: codebook order, then ids met in the data but unknown to the codebook.

    Out: DataFrame ``theme, theme_label, order`` (label = id when the codebook has none).
    """
    rows = []
    seen = set()
    for t in codebook or ():
        tid = str(theme_field(t, "id"))
        if tid and tid not in seen:
            seen.add(tid)
            rows.append((tid, str(theme_field(t, "label") or tid)))
    for tid in sorted(set(extra_ids) - seen - {""}):
        rows.append((tid, tid))
    df = pd.DataFrame(rows, columns=["theme", "theme_label"])
    df["order"] = range(len(df))
    return df


def round_floats(df: pd.DataFrame, decimals: int = DECIMALS) -> pd.DataFrame:
    """``df`` with every float column rounded to ``decimals`` (new frame)."""
    df = df.copy()
    for col in df.columns:
        if pd.api.types.is_float_dtype(df[col]):
            df[col] = df[col].round(decimals)
    return df


def compile_patterns(patterns) -> list[re.Pattern]:
    """One compiled alternation of ``patterns`` (a leading "(?i)" stays local to its
    pattern), in a list."""
    parts = [f"(?i:{p[4:]})" if p.startswith("(?i)") else f"(?:{p})" for p in patterns]
    return [re.compile("|".join(parts))] if parts else []
