"""Links checked by a person (``corpus/trace_review.csv``): what the tracing stage found, set
right where a reader disagreed.

The file is the reader's copy of the rows of ``trace.csv`` they checked, with a
``decision`` column (the other columns of ``trace.csv`` may stay; they are ignored):

``dps_doc, dps_text``
    the declaration and the promise (its text as in ``trace.csv``; ``dps_unit`` may be given
    too, it counts only while the texts still agree);
``pst_doc, pst_text``
    the plan and its action (empty with ``pas dans le PST``; ``pst_unit`` as above);
``decision``
    ``lien`` (this action carries the promise out: the link is kept, or added when the tool
    missed it), ``pas un lien`` (removed), ``pas dans le PST`` (no action of the plan carries
    the promise out: every link of the promise is removed, except the ones the file itself
    marks ``lien``). The gold-file words ``same``/``reworded`` (= lien), ``decoy``
    (= pas un lien) and ``none`` (= pas dans le PST) are read too.

In: the file as a DataFrame (:func:`load_review`), the units table. Out
(:func:`match_review`): per (declaration, plan) the decisions on unit ids, and one French
line per row that could not be applied (which line, why, what to do). Texts are matched like
the theme annotations: identical once normalised, else the closest text (rapidfuzz ratio ≥ 90),
else the one unit holding the passage (four words or more).
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from rapidfuzz import fuzz

from pipeline.classify.annotations import FUZZY_MIN, normalise_text
from pipeline.models import NON_CONTENT_KINDS

REVIEW_FILE = "trace_review.csv"
REVIEW_COLUMNS = ["dps_doc", "dps_unit", "dps_text", "pst_doc", "pst_unit", "pst_text",
                  "decision"]
REQUIRED = ("dps_doc", "dps_text", "decision")
#: decision as written (accents and case folded) → link / not / none
DECISIONS = {"lien": "link", "oui": "link", "same": "link", "reworded": "link",
             "pas un lien": "not", "non": "not", "decoy": "not",
             "pas dans le pst": "none", "none": "none", "aucun": "none"}
SHOWN = "« lien », « pas un lien » ou « pas dans le PST »"
#: values of trace.review
CONFIRMED, ADDED, REVIEWED = "confirmé", "ajouté", "relu"


def _fold(text: str) -> str:
    s = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return " ".join(s.lower().replace("-", " ").split())


def load_review(path: Path | str | None) -> pd.DataFrame | None:
    """Read ``trace_review.csv`` (comma, semicolon or tab; UTF-8 or Windows-1252) → text
    cells, ``.attrs["line"]`` each row's line; None when there is no file or it is empty.
    Raises ValueError naming the file and the fix when a required column is missing."""
    from pipeline.io import read_user_csv

    if path is None or not Path(path).is_file():
        return None
    df = read_user_csv(Path(path), ",".join(REVIEW_COLUMNS))
    if df is None:
        return None
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise ValueError(
            f"{path} : colonne(s) manquante(s) {', '.join(missing)} : gardez les colonnes de "
            f"trace.csv (dps_doc, dps_text, pst_doc, pst_text) et ajoutez une colonne decision "
            f"({SHOWN})")
    lines = df.attrs.get("line", list(range(2, len(df) + 2)))
    for col in REVIEW_COLUMNS:
        if col not in df.columns:
            df[col] = ""
    df.attrs["line"] = lines
    df.attrs["name"] = Path(path).name
    return df


@dataclass
class ReviewMatch:
    """The decisions of a review file on unit ids.

    ``decisions``: (dps_doc, pst_doc) → list of (dps_unit, pst_unit, decision) with decision
    ``link`` / ``not`` (a pair of units) or ``none`` (pst_unit "": the promise is in no plan;
    pst_doc "" when the row names no plan: it holds for every plan of the declaration).
    ``notes``: French lines on the rows not applied."""

    decisions: dict[tuple[str, str], list[tuple[str, str, str]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def for_pair(self, dps: str, pst: str) -> list[tuple[str, str, str]]:
        """The decisions on one (declaration, plan) pair, sorted (rows naming no plan
        included)."""
        return sorted(set(self.decisions.get((dps, pst), []) + self.decisions.get((dps, ""), [])))

    def digest(self, dps: str, pst: str) -> str:
        """A short key of the pair's decisions (part of the cache key of its rows)."""
        got = self.for_pair(dps, pst)
        return hashlib.sha256(repr(got).encode()).hexdigest()[:16] if got else ""


class _Units:
    """Per document, its units' ids and normalised texts (content units only)."""

    def __init__(self, units: pd.DataFrame):
        keep = units[~units["kind"].astype(str).isin(NON_CONTENT_KINDS)]
        self.by_doc: dict[str, list[tuple[str, str]]] = {}
        for doc, uid, text in zip(keep["doc_id"].astype(str), keep["unit_id"].astype(str),
                                  keep["text"].fillna("").astype(str), strict=True):
            if text.strip():
                self.by_doc.setdefault(doc, []).append((uid, normalise_text(text)))

    def find(self, doc: str, uid: str, text: str) -> str | None:
        cands = self.by_doc.get(doc, [])
        key = normalise_text(text)
        for u, k in cands:  # the id from trace.csv, while its text still agrees
            if uid and u == uid and (not key or k == key or fuzz.ratio(k, key) >= FUZZY_MIN):
                return u
        if not key:
            return None
        for u, k in cands:
            if k == key:
                return u
        best = max(((fuzz.ratio(k, key), u) for u, k in cands), default=(0.0, ""))
        if best[0] >= FUZZY_MIN:
            return best[1]
        # a passage of four words or more, found in one unit only
        inside = [u for u, k in cands if key in k] if len(key.split()) >= 4 else []
        return inside[0] if len(inside) == 1 else None


def match_review(review: pd.DataFrame | None, units: pd.DataFrame) -> ReviewMatch:
    """The rows of a review file (:func:`load_review`) → :class:`ReviewMatch` on the unit
    ids of ``units`` (units.csv rows: doc_id, unit_id, kind, text)."""
    out = ReviewMatch()
    if review is None or not len(review):
        return out
    name = review.attrs.get("name", REVIEW_FILE)
    lines = review.attrs.get("line", list(range(2, len(review) + 2)))
    index = _Units(units)
    for k, row in enumerate(review.to_dict("records")):
        where = f"{name} ligne {lines[k] if k < len(lines) else k + 2}"
        raw = str(row.get("decision", "") or "")
        decision = DECISIONS.get(_fold(raw))
        dps, pst = str(row.get("dps_doc", "") or ""), str(row.get("pst_doc", "") or "")
        if decision is None:
            out.notes.append(f"attention : {where} : décision « {raw} » inconnue, ligne ignorée "
                             f"(écrivez {SHOWN})")
            continue
        if dps not in index.by_doc:
            out.notes.append(f"attention : {where} : déclaration « {dps} » absente du corpus, "
                             "ligne ignorée (dps_doc : l'identifiant de trace.csv)")
            continue
        d_unit = index.find(dps, str(row.get("dps_unit", "") or ""),
                            str(row.get("dps_text", "") or ""))
        if d_unit is None:
            out.notes.append(f"attention : {where} : promesse introuvable dans {dps} "
                             f"(« {str(row.get('dps_text', ''))[:60]} »), ligne ignorée : "
                             "copiez dps_text depuis trace.csv")
            continue
        if decision == "none":
            out.decisions.setdefault((dps, pst), []).append((d_unit, "", "none"))
            continue
        if pst not in index.by_doc:
            out.notes.append(f"attention : {where} : plan « {pst} » absent du corpus, ligne "
                             "ignorée (pst_doc : l'identifiant de trace.csv)")
            continue
        p_unit = index.find(pst, str(row.get("pst_unit", "") or ""),
                            str(row.get("pst_text", "") or ""))
        if p_unit is None:
            out.notes.append(f"attention : {where} : action introuvable dans {pst} "
                             f"(« {str(row.get('pst_text', ''))[:60]} »), ligne ignorée : "
                             "copiez pst_text depuis trace.csv")
            continue
        out.decisions.setdefault((dps, pst), []).append((d_unit, p_unit, decision))
    return out


def apply_review(links: list[list[int]], src_ids: list[str], dst_ids: list[str],
                 decisions: list[tuple[str, str, str]]
                 ) -> tuple[list[list[int]], dict[tuple[int, int], str], set[int]]:
    """The model's links (per source row, target columns) set right by a pair's decisions.

    Out: the links (the model's order, then the added ones), a flag per reviewed link
    (``confirmé`` / ``ajouté``), and the source rows the review touched. A decision on a
    unit that is not a promise / plan target of this pair is left out."""
    at_s = {u: i for i, u in enumerate(src_ids)}
    at_d = {u: j for j, u in enumerate(dst_ids)}
    add: dict[int, list[int]] = {}
    drop: set[tuple[int, int]] = set()
    nothing: set[int] = set()
    touched: set[int] = set()
    for s, d, decision in decisions:
        i = at_s.get(s)
        if i is None:
            continue
        if decision == "none":
            nothing.add(i)
            touched.add(i)
            continue
        j = at_d.get(d)
        if j is None:
            continue
        touched.add(i)
        if decision == "link":
            add.setdefault(i, []).append(j)
        else:
            drop.add((i, j))
    out, flags = [], {}
    for i, js in enumerate(links):
        keep = [] if i in nothing else [j for j in js if (i, j) not in drop]
        for j in add.get(i, []):
            flags[(i, j)] = CONFIRMED if j in js else ADDED
            if j not in keep:
                keep.append(j)
        out.append(keep)
    return out, flags, touched
