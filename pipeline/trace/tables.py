"""The tables of the tracing stage (see :mod:`pipeline.trace` for their columns)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pipeline.models import NON_CONTENT_KINDS
from pipeline.trace.link import (
    Model,
    Side,
    build_side,
    concept_labels,
    fmt,
    load_anchor,
    load_settings,
    model,
    score_pairs,
    select_links,
    shared_lemmas,
    strs,
    text_signals,
    unit_concepts,
)
from pipeline.trace.pairs import PLAN_KIND, Pairs, find_pairs
from pipeline.trace.review import ADDED, REVIEWED, ReviewMatch, apply_review

#: the plan's table columns kept per unit (units.csv), in this order
DETAIL_FIELDS = ("service", "deadline", "budget", "indicator")
TRACE_COLUMNS = ["commune", "mandate", "dps_doc", "dps_unit", "dps_kind", "dps_text",
                 "pst_doc", "pst_unit", "pst_kind", "pst_objective", "pst_text",
                 *DETAIL_FIELDS, "status", "review", "score", "tfidf", "vector",
                 "shared_lemmas", "shared_themes", "evidence"]
SUMMARY_COLUMNS = ["commune", "mandate", "dps_doc", "pst_doc", "theme", "n_promises",
                   "n_carried", "share_carried", "n_not_carried", "n_reviewed", "n_plan_units",
                   "n_unanchored", "share_unanchored"]
BY_COLUMNS = ["theme", "n_cpas", "n_promises", "n_carried", "share_carried", "n_not_carried",
              "n_reviewed", "n_plan_units", "n_unanchored", "share_unanchored"]
VERSION_COLUMNS = ["commune", "old_doc", "new_doc", "old_mandate", "new_mandate", "old_unit",
                   "old_text", "new_unit", "new_text", "status", "score", "tfidf",
                   "shared_lemmas", "evidence"]
VERSION_THEME_COLUMNS = ["commune", "old_doc", "new_doc", "theme", "share_old", "share_new",
                         "change"]
#: values of trace.status
LINKED, NOT_CARRIED, UNANCHORED = "dans le PST", "pas dans le PST", "sans ancrage dans la DPS"
#: values of versions.status
VERSION_STATUSES = ("kept", "reworded", "dropped", "new")


class _Columns:
    """One document's rows of a table as column name → numpy array of Python objects: what
    the lookups read (``rows["col"]``, ``rows.columns``, ``len(rows)``), without building a
    DataFrame per document."""

    def __init__(self, columns: dict[str, np.ndarray]):
        self._columns = columns
        self.columns = list(columns)

    def __getitem__(self, column: str) -> np.ndarray:
        return self._columns[column]

    def __len__(self) -> int:
        return len(next(iter(self._columns.values()))) if self._columns else 0


class _DocRows:
    """The rows of one document of a table, taken when asked for (the columns read, as arrays
    of Python objects, and the positions of each document's rows)."""

    def __init__(self, df: pd.DataFrame | None, columns: Sequence[str]):
        self.arrays: dict[str, np.ndarray] = {}
        self.at: dict = {}
        if df is not None and len(df):
            self.arrays = {c: df[c].to_numpy(dtype=object) for c in columns if c in df.columns}
            self.at = df.groupby(df["doc_id"].astype(str), sort=False).indices

    def get(self, doc_id: str) -> _Columns | None:
        pos = self.at.get(doc_id)
        if pos is None:
            return None
        return _Columns({c: a[pos] for c, a in self.arrays.items()})


class _Corpus:
    """Per-document lookups (units, lemmas, tokens, themes), each built when first asked for:
    a run whose pairs all come from the memo never reads the rows of their documents."""

    def __init__(self, units: pd.DataFrame, nlp: pd.DataFrame | None,
                 unit_themes: pd.DataFrame | None):
        self.units = _DocRows(units, ("doc_id", "unit_id", "parent_id", "kind", "text",
                                      *DETAIL_FIELDS))
        self._nlp = _DocRows(nlp, ("doc_id", "unit_id", "lemmas", "tokens"))
        self._themes = _DocRows(unit_themes, ("doc_id", "unit_id", "theme"))
        self._words: dict[str, tuple[dict, dict]] = {}
        self._theme_sets: dict[str, dict[str, set]] = {}

    def words(self, doc_id: str) -> tuple[dict[str, str], dict[str, str]]:
        """(unit_id → lemmas, unit_id → tokens) of one document."""
        if doc_id not in self._words:
            g = self._nlp.get(doc_id)
            lem: dict[str, str] = {}
            tok: dict[str, str] = {}
            if g is not None:
                uids = strs(g["unit_id"])
                for col, target in (("lemmas", lem), ("tokens", tok)):
                    if col in g.columns:
                        target.update(zip(uids, strs(g[col]),
                                          strict=True))
            self._words[doc_id] = (lem, tok)
        return self._words[doc_id]

    def theme_sets(self, doc_id: str) -> dict[str, set]:
        """unit_id → its themes, for one document."""
        if doc_id not in self._theme_sets:
            out: dict[str, set] = {}
            g = self._themes.get(doc_id)
            if g is not None:
                for u, t in zip(strs(g["unit_id"]), strs(g["theme"]),
                                strict=True):
                    out.setdefault(u, set()).add(t)
            self._theme_sets[doc_id] = out
        return self._theme_sets[doc_id]

    def side(self, doc_id: str, kinds, leaves_only: bool) -> Side:
        g = self.units.get(doc_id)
        if g is None:
            return Side(doc_id=doc_id)
        lem, tok = self.words(doc_id)
        return build_side(doc_id, g, lem, tok, self.theme_sets(doc_id), tuple(kinds), leaves_only)

    def details(self, doc_id: str) -> dict[str, dict[str, str]]:
        g = self.units.get(doc_id)
        if g is None:
            return {}
        cols = [c for c in DETAIL_FIELDS if c in g.columns]
        out: dict[str, dict[str, str]] = {}
        values = {c: g[c].tolist() for c in cols}
        for k, uid in enumerate(strs(g["unit_id"])):
            vals = {c: values[c][k] for c in cols
                    if isinstance(values[c][k], str) and values[c][k]}
            if vals:
                out[uid] = vals
        return out

    def content_shares(self, doc_id: str) -> dict[str, float]:
        g = self.units.get(doc_id)
        if g is None:
            return {}
        content = [u for u, k in zip(strs(g["unit_id"]), strs(g["kind"]), strict=True)
                   if k not in NON_CONTENT_KINDS]
        if not content:
            return {}
        th = self.theme_sets(doc_id)
        counts: dict[str, int] = {}
        for u in content:
            for t in th.get(u, ()):
                counts[t] = counts.get(t, 0) + 1
        return {t: c / len(content) for t, c in counts.items()}


def _evidence(src: Side, i: int, dst: Side, j: int, sig: dict, limit: int,
              labels: dict[str, str] | None = None) -> tuple[str, str, str]:
    """(shared lemmas, shared themes, one French sentence saying why; themes named by their
    French ``labels`` in the sentence when given)."""
    lem = shared_lemmas(src.lemmas[i], dst.lemmas[j], limit)
    via = shared_lemmas(src.lemmas[i], dst.parent_lemmas[j], limit) if dst.parent_lemmas[j] else []
    via = [w for w in via if w not in lem]
    themes = sorted(src.themes[i] & dst.themes[j])
    mine = unit_concepts(src.texts[i], src.lemmas[i], src.words[i])
    concepts = mine & unit_concepts(dst.texts[j], dst.lemmas[j], dst.words[j])
    above = (mine & unit_concepts(dst.parent_texts[j], dst.parent_lemmas[j],
                                  dst.parent_words[j])) - concepts
    names = concept_labels()
    parts = []
    if lem:
        parts.append("mots communs : " + ", ".join(lem))
    if via:
        parts.append("par l'objectif au-dessus : " + ", ".join(via))
    if concepts:
        parts.append("concepts communs : " + ", ".join(sorted(names.get(c, c) for c in concepts)))
    if above:
        parts.append("concepts de l'objectif au-dessus : "
                     + ", ".join(sorted(names.get(c, c) for c in above)))
    if themes:
        parts.append("thèmes communs : " + ", ".join((labels or {}).get(t, t) for t in themes))
    parts.append(f"proximité des vecteurs de mots {fmt(float(sig['vector'][i, j]))}")
    return ", ".join(lem), ", ".join(themes), " ; ".join(parts)


def _meta(documents: pd.DataFrame) -> dict[str, dict[str, str]]:
    cols = [c for c in ("commune", "mandate", "adopted_on") if c in documents.columns]
    out = {}
    for rec in documents[["doc_id", *cols]].to_dict("records"):
        out[str(rec["doc_id"])] = {c: (rec[c] if isinstance(rec[c], str) else "") for c in cols}
    return out


def _plan_rows(c: _Corpus, dps: str, pst: str, meta: dict, mdl: Model, kinds: dict,
               limit: int, labels: dict[str, str] | None = None, memo=None,
               decisions: list[tuple[str, str, str]] = ()) -> tuple[list[dict], list[dict]]:
    """The trace rows and the summary rows of one (declaration, plan) pair; ``decisions``:
    the pair's decisions of a review file (:mod:`pipeline.trace.review`)."""
    src = c.side(dps, kinds["source_kinds"], leaves_only=False)
    dst = c.side(pst, kinds["target_kinds"], leaves_only=True)
    ps = score_pairs(src, dst, mdl, _text_signals(memo, "plan", src, dst), load_anchor())
    links = select_links(ps.score, mdl) if len(src) and len(dst) else [[] for _ in range(len(src))]
    applied = apply_review(links, src.unit_ids, dst.unit_ids, list(decisions))
    links, flags = applied.links, applied.flags
    details = c.details(pst)
    base = {"commune": meta.get(dps, {}).get("commune", ""),
            "mandate": meta.get(dps, {}).get("mandate", ""), "dps_doc": dps, "pst_doc": pst}
    rows: list[dict] = []

    def plan_side(j: int) -> dict:
        d = details.get(dst.unit_ids[j], {})
        return {"pst_unit": dst.unit_ids[j], "pst_kind": dst.kinds[j],
                "pst_objective": dst.parent_texts[j], "pst_text": dst.texts[j],
                **{f: d.get(f, "") for f in ("service", "deadline", "budget", "indicator")}}

    anchored: set[int] = set()
    for i in range(len(src)):
        promise = {"dps_unit": src.unit_ids[i], "dps_kind": src.kinds[i],
                   "dps_text": src.texts[i]}
        for j in links[i]:
            anchored.add(j)
            lem, th, ev = _evidence(src, i, dst, j, ps.signals, limit, labels)
            if flags.get((i, j)) == ADDED:
                ev = f"lien ajouté à la relecture ; {ev}"
            rows.append({**base, **promise, **plan_side(j), "status": "dans le PST",
                         "review": flags.get((i, j), ""),
                         "score": round(float(ps.score[i, j]), 3),
                         "tfidf": round(float(ps.signals["tfidf"][i, j]), 3),
                         "vector": round(float(ps.signals["vector"][i, j]), 3),
                         "shared_lemmas": lem, "shared_themes": th, "evidence": ev})
        if not links[i]:
            ev = ""
            # the best candidate a person did not reject
            cands = [j for j in range(len(dst)) if (i, j) not in applied.rejected]
            if cands:
                j = max(cands, key=lambda c: (ps.score[i, c], -c))
                below = (f", sous le seuil {fmt(mdl.threshold)}"
                         if ps.score[i, j] < mdl.threshold else "")
                ev = (f"meilleur candidat {dst.unit_ids[j]} « {dst.texts[j][:80]} » "
                      f"(score {fmt(float(ps.score[i, j]))}{below})")
            said = applied.rows.get(i, "")
            if said:
                gone = sorted(j for a, j in applied.rejected if a == i)
                head = ("relu : pas dans le PST" if said == REVIEWED else
                        "lien retiré à la relecture : " + ", ".join(dst.unit_ids[j] for j in gone))
                ev = f"{head} ; {ev}" if ev else head
            rows.append({**base, **promise, "status": "pas dans le PST", "review": said,
                         "evidence": ev})
    for j in range(len(dst)):
        if j not in anchored:
            rows.append({**base, **plan_side(j), "status": "sans ancrage dans la DPS"})
    return rows, _summary_rows(base, src, dst, links, applied.touched)


def _summary_rows(base: dict, src: Side, dst: Side, links: list[list[int]],
                  touched: set[int] = frozenset()) -> list[dict]:
    anchored = {j for js in links for j in js}
    themes = sorted(set().union(*src.themes, *dst.themes)) if (len(src) or len(dst)) else []
    rows = []
    for theme in ["", *themes]:
        si = [i for i in range(len(src)) if not theme or theme in src.themes[i]]
        dj = [j for j in range(len(dst)) if not theme or theme in dst.themes[j]]
        carried = sum(1 for i in si if links[i])
        unanch = sum(1 for j in dj if j not in anchored)
        rows.append({**base, "theme": theme, "n_promises": len(si), "n_carried": carried,
                     "share_carried": round(carried / len(si), 4) if si else float("nan"),
                     "n_not_carried": len(si) - carried,
                     "n_reviewed": sum(1 for i in si if i in touched), "n_plan_units": len(dj),
                     "n_unanchored": unanch,
                     "share_unanchored": round(unanch / len(dj), 4) if dj else float("nan")})
    return rows


def _text_signals(memo, kind: str, src: Side, dst: Side) -> dict[str, np.ndarray]:
    """The theme-free signals of a pair, from ``memo.get_signals`` when it has them (a theme
    model retrained, the same documents: only the themes signal is computed again)."""
    get = getattr(memo, "get_signals", None)
    got = get(kind, src.doc_id, dst.doc_id) if get is not None else None
    if got is None:
        got = text_signals(src, dst)
        if get is not None:
            memo.put_signals(kind, src.doc_id, dst.doc_id, got)
    return got


def _version_rows(c: _Corpus, old: str, new: str, meta: dict, mdl: Model, kinds,
                  limit: int, labels: dict[str, str] | None = None, memo=None) -> list[dict]:
    src = c.side(old, kinds, leaves_only=False)
    dst = c.side(new, kinds, leaves_only=False)
    ps = score_pairs(src, dst, mdl, _text_signals(memo, "versions", src, dst))
    base = {"commune": meta.get(new, {}).get("commune", "") or meta.get(old, {}).get("commune", ""),
            "old_doc": old, "new_doc": new, "old_mandate": meta.get(old, {}).get("mandate", ""),
            "new_mandate": meta.get(new, {}).get("mandate", "")}
    rows, reached = [], set()
    for i in range(len(src)):
        row = {**base, "old_unit": src.unit_ids[i], "old_text": src.texts[i]}
        if len(dst):
            j = int(np.argmax(ps.score[i]))  # the first of equal best scores
            s = float(ps.score[i, j])
        else:
            j, s = -1, float("nan")
        if j >= 0 and s >= mdl.threshold:
            reached.add(j)
            tf = float(ps.signals["tfidf"][i, j])
            lem, _, ev = _evidence(src, i, dst, j, ps.signals, limit, labels)
            row.update({"new_unit": dst.unit_ids[j], "new_text": dst.texts[j],
                        "status": "kept" if tf >= mdl.kept_min else "reworded",
                        "score": round(s, 3), "tfidf": round(tf, 3), "shared_lemmas": lem,
                        "evidence": ev})
        else:
            row.update({"status": "dropped", "score": round(s, 3) if j >= 0 else float("nan"),
                        "evidence": (f"plus proche : « {dst.texts[j][:80]} » (score {fmt(s)})"
                                     if j >= 0 else "")})
        rows.append(row)
    for j in range(len(dst)):
        if j not in reached:
            rows.append({**base, "new_unit": dst.unit_ids[j], "new_text": dst.texts[j],
                         "status": "new"})
    return rows


def _frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=columns)
    for col in columns:
        if not pd.api.types.is_numeric_dtype(df[col]):
            df[col] = df[col].fillna("").astype(str)
    return df


def build_trace(documents: pd.DataFrame, units: pd.DataFrame, nlp: pd.DataFrame | None,
                unit_themes: pd.DataFrame | None, *, by: Sequence[str] = (),
                pairs: Pairs | None = None, theme_labels: dict[str, str] | None = None,
                memo=None, review: ReviewMatch | None = None) -> dict[str, pd.DataFrame]:
    """Documents, units, unit_nlp and unit_themes → ``{"trace", "trace_summary", "versions",
    "versions_themes", "trace_by_<col>"…}`` (columns: :mod:`pipeline.trace`). Tables are
    empty (with their columns) when the corpus holds no plan / no two declarations of one
    CPAS. ``pairs`` defaults to :func:`find_pairs` of ``documents``; ``theme_labels`` (theme
    id → French label) names the themes in the evidence sentences. ``memo``: an object with
    ``get(kind, a, b, extra="")`` → rows or None and ``put(kind, a, b, rows, extra="")``
    (``extra``: a key of the pair's review decisions, "" when none; kind "plan" or
    "versions"): the rows of a pair whose inputs did not change are taken from it (the caller
    keys it on the two documents' contents and themes); when it also has
    ``get_signals(kind, a, b)``/``put_signals(kind, a, b, signals)``, the theme-free signals of a pair are
    kept there too (keyed on the contents only: new themes do not recompute them).
    ``review``: the decisions of a person's review file (:func:`pipeline.trace.review.
    match_review`): a link they marked is kept or added, one they rejected removed (column
    ``review`` of ``trace``, ``n_reviewed`` of the summary)."""
    settings = load_settings()
    kinds = settings["units"]
    limit = int(settings["evidence"]["max_lemmas"])
    pairs = find_pairs(documents) if pairs is None else pairs
    meta = _meta(documents)
    c = _Corpus(units, nlp, unit_themes)
    link_model, version_model = model("link"), model("versions")
    trace_rows: list[dict] = []
    summary_rows: list[dict] = []
    review = review or ReviewMatch()
    for dps, pst in pairs.plans:
        extra = review.digest(dps, pst)
        got = memo.get("plan", dps, pst, extra) if memo is not None else None
        if got is None:
            got = _plan_rows(c, dps, pst, meta, link_model, kinds, limit, theme_labels, memo,
                             review.for_pair(dps, pst))
            if memo is not None:
                memo.put("plan", dps, pst, got, extra)
        trace_rows += got[0]
        summary_rows += got[1]
    version_rows: list[dict] = []
    theme_rows: list[dict] = []
    for old, new in pairs.versions:
        got = memo.get("versions", old, new) if memo is not None else None
        if got is None:
            vrows = _version_rows(c, old, new, meta, version_model,
                                  tuple(kinds["source_kinds"]), limit, theme_labels, memo)
            so, sn = c.content_shares(old), c.content_shares(new)
            commune = meta.get(new, {}).get("commune", "") or meta.get(old, {}).get("commune", "")
            trows = [{"commune": commune, "old_doc": old, "new_doc": new, "theme": t,
                      "share_old": round(so.get(t, 0.0), 4), "share_new": round(sn.get(t, 0.0), 4),
                      "change": round(sn.get(t, 0.0) - so.get(t, 0.0), 4)}
                     for t in sorted(set(so) | set(sn))]
            got = (vrows, trows)
            if memo is not None:
                memo.put("versions", old, new, got)
        version_rows += got[0]
        theme_rows += got[1]
    summary = _frame(summary_rows, SUMMARY_COLUMNS)
    out = {"trace": _frame(trace_rows, TRACE_COLUMNS), "trace_summary": summary,
           "versions": _frame(version_rows, VERSION_COLUMNS),
           "versions_themes": _frame(theme_rows, VERSION_THEME_COLUMNS)}
    for col in by:
        out[f"trace_by_{col}"] = summary_by(summary, documents, col)
    return out


def summary_by(summary: pd.DataFrame, documents: pd.DataFrame, col: str) -> pd.DataFrame:
    """``trace_summary`` summed per value of the documents column ``col`` (of the
    declaration): one row per (value, theme)."""
    columns = [col, *BY_COLUMNS]
    if not len(summary) or col not in documents.columns:
        return pd.DataFrame(columns=columns)
    values = dict(zip(documents["doc_id"].astype(str), documents[col].fillna("").astype(str),
                      strict=True))
    s = summary.copy()
    if "n_reviewed" not in s.columns:  # a summary written before links could be reviewed
        s["n_reviewed"] = 0
    s[col] = [values.get(d, "") for d in s["dps_doc"].astype(str)]
    g = s.groupby([col, "theme"], sort=True, dropna=False).agg(
        n_cpas=("dps_doc", "nunique"), n_promises=("n_promises", "sum"),
        n_carried=("n_carried", "sum"), n_not_carried=("n_not_carried", "sum"),
        n_reviewed=("n_reviewed", "sum"), n_plan_units=("n_plan_units", "sum"), n_unanchored=("n_unanchored", "sum")).reset_index()
    g["share_carried"] = (g["n_carried"] / g["n_promises"].where(g["n_promises"] > 0)).round(4)
    g["share_unanchored"] = (g["n_unanchored"]
                             / g["n_plan_units"].where(g["n_plan_units"] > 0)).round(4)
    return g[columns]


def trace_note(documents: pd.DataFrame, pairs: Pairs) -> list[str]:
    """What a run says about tracing, in French, one line each (the first line says how many
    declarations were traced against a plan, or that the corpus holds no plan; a file named
    as a plan that is not read as one is named, with the fix)."""
    kinds = documents["doc_kind"].astype(str).tolist() if "doc_kind" in documents.columns else []
    n_plans = sum(k == PLAN_KIND for k in kinds)
    if not n_plans:
        lines = ["Suivi des engagements : aucun plan stratégique (PST) dans le corpus, "
                 "trace.csv est vide (ajoutez le PST d'un CPAS pour suivre ses engagements)."]
    else:
        lines = [f"Suivi des engagements : {len(pairs.plans)} déclaration(s) reliée(s) à "
                 f"{n_plans} plan(s) stratégique(s) ; {len(pairs.versions)} paire(s) de "
                 "déclarations d'un même CPAS comparées."]
    lines += [f"suivi : {n}" for n in pairs.notes]
    if "source_file" in documents.columns and kinds:
        from pipeline.ingest.doc_kind import named_as_plan, plan_name_warning

        for name, kind in zip(documents["source_file"].astype(str), kinds, strict=True):
            if kind not in (PLAN_KIND, "") and named_as_plan(name):
                lines.append(f"attention : {name} : {plan_name_warning()}")
    return lines
