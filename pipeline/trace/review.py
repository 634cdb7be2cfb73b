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
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from rapidfuzz import fuzz

from pipeline.classify.annotations import FUZZY_MIN, normalise_text
from pipeline.models import NON_CONTENT_KINDS
from pipeline.results import fold_name

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
CONFIRMED, ADDED, REVIEWED, REMOVED = "confirmé", "ajouté", "relu", "lien retiré"


def _column_key(name: str) -> str:
    """A column name as people write it ("Décision", " DPS_Doc ") → its canonical form."""
    return fold_name(name).replace(" ", "_")


def load_review(path: Path | str | None) -> pd.DataFrame | None:
    """Read ``trace_review.csv`` (comma, semicolon or tab; UTF-8 or Windows-1252; column names
    in any case, with or without accents) → text cells, ``.attrs["line"]`` each row's line;
    None for ``path`` None or an empty file (one French line). Raises FileNotFoundError when
    ``path`` names no file, ValueError naming the file and the fix when a required column is
    missing."""
    import sys

    from pipeline.io import read_user_csv

    if path is None:
        return None
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} introuvable : indiquez le fichier des liens relus "
                                f"(les lignes de trace.csv vérifiées, avec une colonne decision)")
    header = ",".join(REVIEW_COLUMNS)
    if not path.read_bytes().strip():
        print(f"attention : {path} est vide : ignoré (une ligne d'en-tête {header} puis une "
              "ligne par lien relu)", file=sys.stderr)
        return None
    df = read_user_csv(path, header)
    if df is None:
        return None
    df = df.rename(columns={c: _column_key(c) for c in df.columns})
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
    df.attrs["name"] = path.name
    return df


@dataclass
class ReviewMatch:
    """The decisions of a review file on unit ids.

    ``decisions``: (dps_doc, pst_doc) → list of (dps_unit, pst_unit, decision) with decision
    ``link`` / ``not`` (a pair of units) or ``none`` (pst_unit "": the promise is in no plan;
    pst_doc "" when the row names no plan: it holds for every plan of the declaration).
    ``notes``: French lines on the rows not applied (which line, why, what to do)."""

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

    def unused(self, plans: list[tuple[str, str]]) -> list[str]:
        """French lines on the decisions no traced (declaration, plan) pair reads: a
        declaration and a plan of two different CPAS or mandates, a declaration with no plan."""
        paired = set(plans)
        with_plan = {d for d, _ in plans}
        out = []
        for dps, pst in sorted(self.decisions):
            if (pst and (dps, pst) not in paired) or (not pst and dps not in with_plan):
                what, why = ((f"{dps} → {pst}", "cette déclaration n'est pas reliée à ce plan")
                             if pst else (f"{dps} (sans plan nommé)",
                                          "cette déclaration n'est reliée à aucun plan"))
                out.append(f"attention : {REVIEW_FILE} : {len(self.decisions[(dps, pst)])} "
                           f"décision(s) sur {what} ignorée(s) : {why} (même commune et même "
                           "mandature, ou colonne pair_of de metadata.csv)")
        return out


class _Units:
    """Per document of ``docs``, the ids and normalised texts of its units: every content unit,
    and the ones the tracing reads (promises of a declaration, actions and objectives without action
    of a plan: :func:`pipeline.trace.link.build_side`)."""

    def __init__(self, units: pd.DataFrame, docs: set[str]):
        from pipeline.trace.link import build_side, load_settings

        kinds = load_settings()["units"]
        self.all: dict[str, list[tuple[str, str]]] = {}
        self.linkable: dict[tuple[str, str], list[tuple[str, str]]] = {}
        doc_ids = units["doc_id"].astype(str)
        mine = units[doc_ids.isin(docs)]
        for doc, g in mine.groupby(doc_ids[mine.index], sort=False):
            self.all[doc] = [(str(u), normalise_text(t)) for u, k, t in
                             zip(g["unit_id"], g["kind"].astype(str), g["text"].fillna("").astype(str),
                                 strict=True)
                             if k not in NON_CONTENT_KINDS and str(t).strip()]
            for role, kept, leaves in (("dps", kinds["source_kinds"], False),
                                       ("pst", kinds["target_kinds"], True)):
                side = build_side(doc, g, {}, {}, {}, tuple(kept), leaves)
                self.linkable[(doc, role)] = [(u, normalise_text(t))
                                              for u, t in zip(side.unit_ids, side.texts, strict=True)]

    @staticmethod
    def _find(cands: list[tuple[str, str]], uid: str, text: str) -> str | None:
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

    def find(self, doc: str, role: str, uid: str, text: str) -> tuple[str | None, str | None]:
        """(the traced unit the row names, or None; else a unit of the document it names that
        the tracing does not read, or None)."""
        got = self._find(self.linkable.get((doc, role), []), uid, text)
        if got is not None:
            return got, None
        return None, self._find(self.all.get(doc, []), uid, text)


def _cell(row: dict, col: str) -> str:
    return str(row.get(col, "") or "")


#: per side of a row: the document's name, what a unit the tracing does not read is, what a
#: unit not found is, what to copy
_SIDES = {
    "dps": ("déclaration", "n'est pas une promesse (titre d'axe ou de section)",
            "promesse introuvable", "copiez dps_unit et dps_text d'une ligne de trace.csv"),
    "pst": ("plan", "est un objectif avec des actions ou un objectif stratégique (choisissez "
            "l'une de ses actions)", "action introuvable",
            "copiez pst_unit et pst_text d'une ligne de trace.csv (pour un meilleur candidat, "
            "son identifiant est dans la colonne evidence)"),
}


def _unit_of(index: _Units, row: dict, side: str, where: str) -> tuple[str | None, str]:
    """(the unit one side of a review row names, "") or (None, the French note saying why
    not)."""
    doc = _cell(row, f"{side}_doc")
    what, not_read, not_found, fix = _SIDES[side]
    if doc not in index.all:
        return None, (f"attention : {where} : {what} « {doc} » absent{'e' if side == 'dps' else ''} "
                      f"du corpus, ligne ignorée ({side}_doc : l'identifiant de trace.csv)")
    unit, other = index.find(doc, side, _cell(row, f"{side}_unit"), _cell(row, f"{side}_text"))
    if unit is not None:
        return unit, ""
    why = (f"l'unité {other} {not_read}" if other
           else f"{not_found} (« {_cell(row, f'{side}_text')[:60]} »)")
    return None, f"attention : {where} : {doc} : {why}, ligne ignorée : {fix}"


def match_review(review: pd.DataFrame | None, units: pd.DataFrame) -> ReviewMatch:
    """The rows of a review file (:func:`load_review`) → :class:`ReviewMatch` on the unit
    ids of ``units`` (units.csv rows: doc_id, unit_id, parent_id, kind, text). A row without
    decision is skipped (one line counts them); two rows that say opposite things of one link
    are both left out (the tool's link stands), with a note naming both lines."""
    out = ReviewMatch()
    if review is None or not len(review):
        return out
    name = review.attrs.get("name", REVIEW_FILE)
    lines = review.attrs.get("line", list(range(2, len(review) + 2)))
    index = _Units(units, {_cell(r, c) for r in review.to_dict("records")
                           for c in ("dps_doc", "pst_doc")})
    blank = 0
    said: dict[tuple[str, str, str, str], list[tuple[str, int]]] = {}
    for k, row in enumerate(review.to_dict("records")):
        line = lines[k] if k < len(lines) else k + 2
        where = f"{name} ligne {line}"
        raw = _cell(row, "decision").strip()
        dps, pst = _cell(row, "dps_doc"), _cell(row, "pst_doc")
        if not raw:
            blank += 1
            continue
        decision = DECISIONS.get(fold_name(raw))
        if decision is None:
            out.notes.append(f"attention : {where} : décision « {raw} » inconnue, ligne ignorée "
                             f"(écrivez {SHOWN})")
            continue
        d_unit, note = _unit_of(index, row, "dps", where)
        if d_unit is None:
            out.notes.append(note)
            continue
        if decision == "none":
            said.setdefault((dps, pst, d_unit, ""), []).append((decision, line))
            continue
        p_unit, note = _unit_of(index, row, "pst", where)
        if p_unit is None:
            out.notes.append(note)
            continue
        said.setdefault((dps, pst, d_unit, p_unit), []).append((decision, line))
    for (dps, pst, d_unit, p_unit), got in said.items():
        kinds = {d for d, _ in got}
        if len(kinds) > 1:
            both = ", ".join(str(n) for _, n in got)
            out.notes.append(f"attention : {name} lignes {both} : décisions contraires sur "
                             f"{d_unit} → {p_unit} ({dps}), ignorées : gardez-en une")
            continue
        out.decisions.setdefault((dps, pst), []).append((d_unit, p_unit, got[0][0]))
    if blank:
        out.notes.append(f"note : {name} : {blank} ligne(s) sans décision, ignorée(s) (remplissez "
                         f"la colonne decision : {SHOWN})")
    return out


@dataclass
class Applied:
    """A pair's links once its review decisions are applied.

    ``links``: per source row, the target columns (the model's order, then the added ones);
    ``flags``: (row, column) → ``confirmé`` / ``ajouté`` for the links a person marked;
    ``rows``: source row → ``relu`` (declared in no plan) or ``lien retiré`` (its links
    rejected) for the promises the review left with no link; ``touched``: the source rows a
    decision names; ``rejected``: the (row, column) links a person rejected, explicitly or by
    "pas dans le PST" (never shown as a promise's best candidate)."""

    links: list[list[int]]
    flags: dict[tuple[int, int], str] = field(default_factory=dict)
    rows: dict[int, str] = field(default_factory=dict)
    touched: set[int] = field(default_factory=set)
    rejected: set[tuple[int, int]] = field(default_factory=set)


def apply_review(links: list[list[int]], src_ids: list[str], dst_ids: list[str],
                 decisions: list[tuple[str, str, str]]) -> Applied:
    """The model's links (per source row, target columns) set right by a pair's decisions
    (:meth:`ReviewMatch.for_pair`). A decision on a unit that is not a promise / plan target
    of this pair is left out (:func:`match_review` already named it)."""
    at_s = {u: i for i, u in enumerate(src_ids)}
    at_d = {u: j for j, u in enumerate(dst_ids)}
    add: dict[int, list[int]] = {}
    out = Applied(links=[])
    nothing: set[int] = set()
    for s, d, decision in decisions:
        i = at_s.get(s)
        if i is None:
            continue
        if decision == "none":
            nothing.add(i)
            out.touched.add(i)
            continue
        j = at_d.get(d)
        if j is None:
            continue
        out.touched.add(i)
        if decision == "link":
            add.setdefault(i, []).append(j)
        else:
            out.rejected.add((i, j))
    for i, js in enumerate(links):
        keep = [] if i in nothing else [j for j in js if (i, j) not in out.rejected]
        if i in nothing:
            out.rejected |= {(i, j) for j in js}
        for j in add.get(i, []):
            out.flags[(i, j)] = CONFIRMED if j in js else ADDED
            if j not in keep:
                keep.append(j)
        out.links.append(keep)
        if not keep and i in out.touched:
            out.rows[i] = REVIEWED if i in nothing else REMOVED
    return out
