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
    """Read annotations.csv (all columns as text, missing cells = ""); None if no file or an
    empty one (a French warning). Comma, semicolon or tab; UTF-8, BOM or Windows-1252
    (:func:`pipeline.io.read_user_csv`). Unknown columns and duplicate rows (same doc_id and
    text) are reported on stderr, one line each with the line number; ``.attrs["line"]`` keeps
    each row's line. A malformed file raises ValueError naming the file and the fix."""
    import sys

    from pipeline.io import read_user_csv

    if path is None or not Path(path).is_file():
        return None
    df = read_user_csv(Path(path), ",".join(ANNOTATION_COLUMNS))
    if df is None:
        return None
    lines = df.attrs.get("line", [])
    name = Path(path).name
    extra = [c for c in df.columns if c not in ANNOTATION_COLUMNS]
    if extra:
        print(f"attention : {name} : colonne(s) inconnue(s) ignorée(s) : {', '.join(extra)} "
              f"(colonnes lues : {', '.join(ANNOTATION_COLUMNS)})", file=sys.stderr)
    for col in ANNOTATION_COLUMNS:
        if col not in df.columns:
            df[col] = ""
    seen: dict[tuple[str, str], int] = {}
    for k, (doc, text) in enumerate(zip(df["doc_id"], df["text"], strict=True)):
        n = lines[k] if k < len(lines) else k + 2
        key = (doc, normalise_text(text))
        if key[1] and key in seen:
            print(f"attention : {name} lignes {seen[key]} et {n} : même unité annotée deux fois "
                  f"({doc} : « {text[:60]} ») : la ligne {seen[key]} seule est appariée",
                  file=sys.stderr)
        else:
            seen[key] = n
    df.attrs["line"] = lines
    return df


def annotation_notes(ann: pd.DataFrame | None, doc_ids: list[str], name: str) -> list[str]:
    """One French line per doc_id of the annotations that names no analysed document (with
    the lines of its rows)."""
    if ann is None or len(ann) == 0:
        return []
    lines = ann.attrs.get("line") or list(range(2, len(ann) + 2))
    known = set(doc_ids)
    bad: dict[str, list[int]] = {}
    for k, doc in enumerate(ann["doc_id"]):
        if doc not in known:
            bad.setdefault(doc, []).append(lines[k] if k < len(lines) else k + 2)
    out = []
    for doc, ns in bad.items():
        where = ", ".join(map(str, ns[:5])) + (" …" if len(ns) > 5 else "")
        out.append(f"{name} ligne(s) {where} : doc_id « {doc} » ne correspond à aucun document "
                   "analysé : annotations non utilisées (nom du fichier sans extension)")
    return out


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
