"""Human annotations (``corpus/annotations.csv``) and their matching to segmented units."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pandas as pd
from rapidfuzz import fuzz

ANNOTATION_COLUMNS = ["doc_id", "unit_id", "kind", "text", "themes", "context"]
FUZZY_MIN = 90.0

_LEADING = re.compile(
    r"^\s*(?:[-*•·‣▪◦\uf0b7\uf0a7\uf02d>]+\s*"          # bullets
    r"|(?:o\.\s*o\.\s*)?\d+(?:\.\d+)*[.)]?\s+"          # 1. / 1.1. / O.O.1.
    r"|axe\s+\d+\s*[:.\-]\s*"                           # AXE 1 :
    r"|#+\s*)+",
    re.IGNORECASE,
)
_QUOTES = str.maketrans({"’": "'", "‘": "'", "`": "'", "«": '"', "»": '"', "“": '"', "”": '"',
                         "–": "-", "—": "-", "\u00a0": " ", "\u202f": " "})


def normalise_text(text: str) -> str:
    """Matching key of a unit text: NFKC, lower case, plain quotes/apostrophes, no markdown
    emphasis, no leading bullet or label, no trailing punctuation, single spaces."""
    s = unicodedata.normalize("NFKC", str(text)).translate(_QUOTES).lower()
    s = s.replace("**", "").replace("__", "")
    s = _LEADING.sub("", s)
    s = re.sub(r"\s+", " ", s).strip()
    s = re.sub(r"[\s;:.,*…!?\"']+$", "", s)
    s = re.sub(r"^[\s\"']+", "", s)
    return s


def load_annotations(path: Path | str | None) -> pd.DataFrame | None:
    """Read annotations.csv (all columns as text, missing cells = ""); None if no file."""
    if path is None or not Path(path).is_file():
        return None
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        import sys

        print(f"attention : {path} est vide : aucune annotation lue (en-tête attendu : "
              f"{','.join(ANNOTATION_COLUMNS)})", file=sys.stderr)
        return None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} illisible ({' '.join(str(exc).split())[:200]}) : enregistrez-le "
                         f"en CSV UTF-8, séparé par des virgules, avec l'en-tête "
                         f"{','.join(ANNOTATION_COLUMNS)}") from exc
    for col in ANNOTATION_COLUMNS:
        if col not in df.columns:
            df[col] = ""
    return df


def split_themes(value) -> list[str]:
    """``"a; b;;c"`` → ``["a", "b", "c"]`` (empty or NaN → [])."""
    if value is None or (isinstance(value, float) and value != value):
        return []
    return [t.strip() for t in str(value).split(";") if t.strip()]


def match_annotations(units_df: pd.DataFrame, ann_df: pd.DataFrame | None) -> pd.DataFrame:
    """Attach human labels to units.

    ``units_df``: rows with ``doc_id, unit_id, text`` (e.g. the classify frame);
    ``ann_df``: annotation rows ``doc_id, unit_id (may be empty), text, themes``.
    A row is matched, within its doc_id, by unit_id when given and present, else by identical
    normalised text, else by the best rapidfuzz ratio ≥ 90 (one unit per annotation row and
    vice versa). Returns the matched units only: ``units_df`` columns + ``themes_human``
    (";"-joined, may be "" = "no theme"), ``match`` (unit_id/exact/fuzzy) and
    ``match_score``. ``.attrs["unmatched"]`` lists the indexes of annotation rows not matched
    and ``.attrs["n_annotations"]`` their number.
    """
    cols = list(units_df.columns) + ["themes_human", "match", "match_score"]
    if ann_df is None or len(ann_df) == 0 or len(units_df) == 0:
        out = pd.DataFrame(columns=cols)
        out.attrs["unmatched"] = [] if ann_df is None else list(ann_df.index)
        out.attrs["n_annotations"] = 0 if ann_df is None else len(ann_df)
        return out
    units = units_df.reset_index(drop=True)
    keys = units["text"].map(normalise_text)
    taken: dict[int, tuple[str, str, float]] = {}  # unit row → (themes, how, score)
    unmatched: list = []
    pending: list[tuple[object, str, str, list[int]]] = []
    for idx, row in ann_df.iterrows():
        doc = str(row.get("doc_id", ""))
        cand = [i for i in units.index[units["doc_id"] == doc] if i not in taken]
        uid = str(row.get("unit_id", "") or "")
        themes = ";".join(split_themes(row.get("themes", "")))
        text_key = normalise_text(row.get("text", ""))
        # a unit_id counts only when the texts still agree: ids shift when a document changes
        hit = [i for i in cand if uid and units.at[i, "unit_id"] == uid
               and (not text_key or keys[i] == text_key
                    or fuzz.ratio(keys[i], text_key) >= FUZZY_MIN)]
        if not hit:
            key = normalise_text(row.get("text", ""))
            hit = [i for i in cand if keys[i] == key]
            how = "exact"
        else:
            how = "unit_id"
        if hit:
            taken[hit[0]] = (themes, how, 100.0)
        else:
            pending.append((idx, doc, themes, []))
    # fuzzy pass, best pairs first
    pairs = []
    for idx, doc, themes, _ in pending:
        key = normalise_text(ann_df.at[idx, "text"])
        for i in units.index[units["doc_id"] == doc]:
            if i in taken:
                continue
            score = fuzz.ratio(key, keys[i])
            if score >= FUZZY_MIN:
                pairs.append((score, idx, i, themes))
    done: set = set()
    for score, idx, i, themes in sorted(pairs, key=lambda p: -p[0]):
        if idx in done or i in taken:
            continue
        taken[i] = (themes, "fuzzy", float(score))
        done.add(idx)
    unmatched = [idx for idx, *_ in pending if idx not in done]
    rows = sorted(taken)
    out = units.loc[rows].copy()
    out["themes_human"] = [taken[i][0] for i in rows]
    out["match"] = [taken[i][1] for i in rows]
    out["match_score"] = [taken[i][2] for i in rows]
    out = out.reset_index(drop=True)
    out.attrs["unmatched"] = unmatched
    out.attrs["n_annotations"] = len(ann_df)
    return out
