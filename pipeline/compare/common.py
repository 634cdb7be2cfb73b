"""Helpers shared by the compare tables: labels, content units, theme lists, rounding."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import pandas as pd
import tomllib

from pipeline.io import cell_text
from pipeline.models import NON_CONTENT_KINDS

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
DECIMALS = 4
#: Group label of documents whose metadata value is empty (compare_by).
UNKNOWN_GROUP = "(non renseigné)"


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


def n_words(texts: pd.Series) -> pd.Series:
    """Number of whitespace-separated words of each text (0 for empty / missing)."""
    return texts.fillna("").astype(str).str.split().str.len().fillna(0).astype(int)


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


def unit_theme_pairs(units: pd.DataFrame, unit_themes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Long table ``doc_id, unit_id, theme`` of the themes assigned to each content unit.

    Read from the ``themes`` column of ``units`` (";"-joined ids); when ``units`` has no such
    column, from ``unit_themes``. Non-content units are ignored.
    """
    cu = content_units(units)
    if "themes" in cu.columns:
        s = cu[["doc_id", "unit_id", "themes"]].copy()
        s["theme"] = [t.split(";") for t in texts(s["themes"])]
        s = s.explode("theme")
        s["theme"] = s["theme"].fillna("").str.strip()
        s = s[s["theme"] != ""]
        return s[["doc_id", "unit_id", "theme"]].drop_duplicates().reset_index(drop=True)
    if unit_themes is None or not len(unit_themes):
        return pd.DataFrame(columns=["doc_id", "unit_id", "theme"])
    keys = cu[["doc_id", "unit_id"]]
    s = unit_themes[["doc_id", "unit_id", "theme"]].merge(keys, on=["doc_id", "unit_id"])
    return s.drop_duplicates().reset_index(drop=True)


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


def term_counts(doc_ids: list[str], units: pd.DataFrame, nlp: pd.DataFrame | None,
                bigrams: bool = False):
    """Lemma counts of the content units, per document.

    In: ordered ``doc_ids``, units (for the kinds) and the nlp table (``lemmas``).
    Out: (terms, counts, words): ``terms`` an array of term strings (lemmas and, with
    ``bigrams``, "a b" pairs of consecutive lemmas of one unit), ``counts`` a sparse
    len(doc_ids) × len(terms) matrix of occurrences, ``words`` the number of lemmas per
    document. Documents without lemmas get zero rows.
    """
    import numpy as np
    from scipy.sparse import coo_matrix

    n = len(doc_ids)
    empty = (np.array([], dtype=object), coo_matrix((n, 0)).tocsr(), np.zeros(n))
    if nlp is None or not len(nlp) or not n:
        return empty
    keys = content_units(units)[["doc_id", "unit_id"]]
    lem = nlp[["doc_id", "unit_id", "lemmas"]].merge(keys, on=["doc_id", "unit_id"])
    index = {d: i for i, d in enumerate(doc_ids)}
    docs = [index.get(d, -1) for d in lem["doc_id"].tolist()]
    lists = [t.split() for t, d in zip(texts(lem["lemmas"]), docs, strict=True) if d >= 0]
    docs = [d for d in docs if d >= 0]
    lengths = np.array([len(x) for x in lists], dtype=int)
    if not lengths.sum():
        return empty
    from itertools import chain

    tokens = np.array(list(chain.from_iterable(lists)), dtype=object)
    tok_doc = np.repeat(np.array(docs, dtype=int), lengths)
    words = np.bincount(tok_doc, minlength=n).astype(float)
    all_terms, all_docs = [tokens], [tok_doc]
    if bigrams and len(tokens) > 1:
        tok_unit = np.repeat(np.arange(len(lists)), lengths)
        same = tok_unit[:-1] == tok_unit[1:]
        left = pd.Series(tokens[:-1][same], dtype=object)
        right = pd.Series(tokens[1:][same], dtype=object)
        all_terms.append((left + " " + right).to_numpy(dtype=object))
        all_docs.append(tok_doc[:-1][same])
    flat = np.concatenate(all_terms)
    codes, terms = pd.factorize(flat)
    rows = np.concatenate(all_docs)
    counts = coo_matrix((np.ones(len(codes)), (rows, codes)), shape=(n, len(terms))).tocsr()
    return np.asarray(terms, dtype=object), counts, words
