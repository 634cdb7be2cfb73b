"""The tables of the tracing stage (``pipeline.trace.build_trace``) on a tiny corpus written by
hand below: one declaration (DPS) and the strategic plan (PST) of the same CPAS and mandate.

The DPS makes three promises: d2 (housing) and d5 (training) are written word for word as a
plan unit (p3, an action; p7, an operational objective with no action under it), d3 (roofs)
has no counterpart at all. The plan has one action no promise reaches (p5, a car), and one
operational objective with actions under it (p2), which is never a target itself.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.trace import TRACE_COLUMNS, Pairs, build_trace, find_pairs, trace_note
from pipeline.trace.link import fmt, model
from pipeline.trace.tables import (
    BY_COLUMNS,
    SUMMARY_COLUMNS,
    VERSION_COLUMNS,
    VERSION_THEME_COLUMNS,
    summary_by,
)

LINKED, NOT_CARRIED, UNANCHORED = "dans le PST", "pas dans le PST", "sans ancrage dans la DPS"
DOC_COLS = ["doc_id", "doc_kind", "commune", "mandate", "adopted_on", "status", "province"]
UNIT_COLS = ["doc_id", "unit_id", "parent_id", "kind", "text", "service", "deadline"]

DOCUMENTS = pd.DataFrame([
    ("fl-dps", "declaration", "Florival", "2025-2030", "2025-02-20", "ok", "Namur"),
    ("fl-pst", "pst", "florival", "2025-2030", "2025-09-01", "ok", "Namur"),
], columns=DOC_COLS)

HOUSING = "Créer des logements de transit pour les familles sans abri"
TRAINING = "Organiser des formations qualifiantes pour les bénéficiaires"
DPS_UNITS = [
    ("fl-dps", "d0", "", "title", "Déclaration de politique sociale 2025-2030", "", ""),
    ("fl-dps", "d1", "", "axis", "Logement", "", ""),
    ("fl-dps", "d2", "d1", "objective", HOUSING, "", ""),
    ("fl-dps", "d3", "d1", "objective", "Isoler les toitures des bâtiments du CPAS", "", ""),
    ("fl-dps", "d4", "", "axis", "Insertion", "", ""),
    ("fl-dps", "d5", "d4", "objective", TRAINING, "", ""),
    ("fl-dps", "d6", "d4", "context", "Le chômage a augmenté de dix pour cent", "", ""),
]
PST_UNITS = [
    ("fl-pst", "p0", "", "title", "Programme stratégique transversal", "", ""),
    ("fl-pst", "p1", "", "axis", "Garantir un logement digne", "", ""),
    ("fl-pst", "p2", "p1", "objective", "Disposer de logements de transit", "", ""),
    ("fl-pst", "p3", "p2", "action", HOUSING, "Service logement", "2026"),
    ("fl-pst", "p4", "p3", "detail", "Pilote : Service logement", "", ""),
    ("fl-pst", "p5", "p2", "action", "Acheter un véhicule électrique pour le service technique",
     "Directrice générale", "2027"),
    ("fl-pst", "p6", "", "axis", "Favoriser l'insertion", "", ""),
    ("fl-pst", "p7", "p6", "objective", TRAINING, "", ""),
]
UNITS = pd.DataFrame(DPS_UNITS + PST_UNITS, columns=UNIT_COLS)
LEMMAS = {
    "fl-dps": {"d1": "logement", "d2": "créer logement transit famille abri",
               "d3": "isoler toiture bâtiment cpas", "d4": "insertion",
               "d5": "organiser formation qualifiant bénéficiaire",
               "d6": "chômage augmenter dix cent"},
    "fl-pst": {"p1": "garantir logement digne", "p2": "disposer logement transit",
               "p3": "créer logement transit famille abri",
               "p5": "acheter véhicule électrique service technique",
               "p6": "favoriser insertion", "p7": "organiser formation qualifiant bénéficiaire"},
}
NLP = pd.DataFrame([(d, u, lem, lem) for d, m in LEMMAS.items() for u, lem in m.items()],
                   columns=["doc_id", "unit_id", "lemmas", "tokens"])
UNIT_THEMES = pd.DataFrame([
    ("fl-dps", "d2", "logement"), ("fl-dps", "d3", "energie"), ("fl-dps", "d5", "insertion"),
    ("fl-pst", "p3", "logement"), ("fl-pst", "p7", "insertion"),
], columns=["doc_id", "unit_id", "theme"])

PROMISES = {"d2", "d3", "d5"}  # source kinds with text; d1/d4 axes, d0 title, d6 context
PLAN_LEAVES = {"p3", "p5", "p7"}  # p2 has actions under it, p1/p6 are OS


def _blank(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or x == ""


def _filled(x) -> bool:
    return not _blank(x)


@pytest.fixture(scope="module")
def out():
    return build_trace(DOCUMENTS, UNITS, NLP, UNIT_THEMES, by=("province",),
                       theme_labels={"logement": "Logement", "insertion": "Insertion"})


def _row(df, **where):
    rows = df
    for k, v in where.items():
        rows = rows[rows[k] == v]
    assert len(rows) == 1, where
    return rows.iloc[0]


# --------------------------------------------------------------------------- trace


def test_trace_columns(out):
    assert list(out["trace"].columns) == TRACE_COLUMNS
    assert set(out) == {"trace", "trace_summary", "versions", "versions_themes",
                        "trace_by_province"}


def test_every_promise_appears_once_linked_or_not_carried(out):
    t = out["trace"]
    promises = t[t["dps_unit"].map(_filled)]
    assert set(promises["dps_unit"]) == PROMISES
    for uid, g in promises.groupby("dps_unit"):
        statuses = set(g["status"])
        assert statuses in ({LINKED}, {NOT_CARRIED}), uid
        if statuses == {NOT_CARRIED}:
            assert len(g) == 1


def test_every_plan_leaf_appears_linked_or_unanchored(out):
    t = out["trace"]
    plan = t[t["pst_unit"].map(_filled)]
    assert set(plan["pst_unit"]) == PLAN_LEAVES
    for uid, g in plan.groupby("pst_unit"):
        statuses = set(g["status"])
        assert statuses in ({LINKED}, {UNANCHORED}), uid
        if statuses == {UNANCHORED}:
            assert len(g) == 1


def test_an_objective_with_actions_and_the_os_are_never_targets(out):
    assert not set(out["trace"]["pst_unit"]) & {"p0", "p1", "p2", "p4", "p6"}
    assert not set(out["trace"]["dps_unit"]) & {"d0", "d1", "d4", "d6"}


def test_the_word_for_word_promises_are_linked(out):
    t = out["trace"]
    r = _row(t, dps_unit="d2", pst_unit="p3")
    assert r["status"] == LINKED
    assert (r["commune"], r["mandate"], r["dps_doc"], r["pst_doc"]) == (
        "Florival", "2025-2030", "fl-dps", "fl-pst")
    assert (r["dps_kind"], r["dps_text"]) == ("objective", HOUSING)
    assert (r["pst_kind"], r["pst_text"]) == ("action", HOUSING)
    assert r["pst_objective"] == "Disposer de logements de transit"
    assert (r["service"], r["deadline"]) == ("Service logement", "2026")
    assert r["tfidf"] == pytest.approx(1.0)
    assert model("link").threshold <= r["score"] <= 1.0
    assert r["shared_lemmas"] == "créer, logement, transit, famille, abri"
    assert r["shared_themes"] == "logement"
    assert "mots communs : créer, logement, transit, famille, abri" in r["evidence"]
    assert "thèmes communs : Logement" in r["evidence"]  # the French label
    # concepts of trace_concepts.toml, by their French names
    assert "concepts communs : logement, logements de transit et d'insertion, sans-abrisme" \
        in r["evidence"]
    assert "concepts de l'objectif au-dessus" not in r["evidence"]  # all already shared
    r = _row(t, dps_unit="d5", pst_unit="p7")
    assert r["status"] == LINKED and r["pst_kind"] == "objective"
    assert _row(t, dps_unit="d5")["pst_unit"] == "p7"  # and nothing else


def test_the_promise_with_no_counterpart_is_not_carried(out):
    r = _row(out["trace"], dps_unit="d3")
    assert r["status"] == NOT_CARRIED
    assert _blank(r["pst_unit"]) and _blank(r["pst_doc"]) is False
    assert r["evidence"].startswith("meilleur candidat ")
    assert f"sous le seuil {fmt(model('link').threshold)}" in r["evidence"]


def test_the_car_is_unanchored_with_its_details(out):
    r = _row(out["trace"], pst_unit="p5")
    assert r["status"] == UNANCHORED
    assert _blank(r["dps_unit"])
    assert (r["service"], r["deadline"]) == ("Directrice générale", "2027")
    assert r["pst_objective"] == "Disposer de logements de transit"


def test_links_per_promise_at_most_max_links(out):
    t = out["trace"]
    counts = t[t["status"] == LINKED].groupby("dps_unit").size()
    assert (counts <= model("link").max_links).all()


def test_empty_side_of_a_row_is_an_empty_string(out):
    t = out["trace"]
    assert _row(t, pst_unit="p5")["dps_unit"] == ""
    assert _row(t, dps_unit="d3")["pst_unit"] == ""


# --------------------------------------------------------------------------- summary


def test_summary_by_hand(out):
    s = out["trace_summary"]
    assert list(s.columns) == SUMMARY_COLUMNS
    r = _row(s, theme="")
    assert (r["n_promises"], r["n_carried"], r["n_not_carried"]) == (3, 2, 1)
    assert (r["n_plan_units"], r["n_unanchored"]) == (3, 1)
    assert r["share_carried"] == pytest.approx(0.6667)
    assert r["share_unanchored"] == pytest.approx(0.3333)
    r = _row(s, theme="logement")  # d2 carried; p3 anchored
    assert (r["n_promises"], r["n_carried"], r["n_plan_units"], r["n_unanchored"]) == (1, 1, 1, 0)
    r = _row(s, theme="energie")  # d3 not carried; no plan unit of that theme
    assert (r["n_promises"], r["n_carried"], r["n_plan_units"]) == (1, 0, 0)
    assert math.isnan(r["share_unanchored"])
    assert sorted(s["theme"]) == ["", "energie", "insertion", "logement"]


def _check_summary_agrees(trace: pd.DataFrame, summary: pd.DataFrame) -> None:
    for r in summary[summary["theme"] == ""].to_dict("records"):
        t = trace[(trace["dps_doc"] == r["dps_doc"]) & (trace["pst_doc"] == r["pst_doc"])]
        promises = set(t.loc[t["dps_unit"].map(_filled), "dps_unit"])
        carried = set(t.loc[t["status"] == LINKED, "dps_unit"])
        plan = set(t.loc[t["pst_unit"].map(_filled), "pst_unit"])
        unanchored = set(t.loc[t["status"] == UNANCHORED, "pst_unit"])
        assert r["n_promises"] == len(promises)
        assert r["n_carried"] == len(carried)
        assert r["n_not_carried"] == len(promises) - len(carried)
        assert r["n_plan_units"] == len(plan)
        assert r["n_unanchored"] == len(unanchored)
    for col in ("share_carried", "share_unanchored"):
        shares = summary[col].dropna()
        assert ((shares >= 0) & (shares <= 1)).all()
    per_theme = summary[summary["theme"] != ""]
    assert (per_theme["n_carried"] <= per_theme["n_promises"]).all()


def test_summary_counts_agree_with_the_trace(out):
    _check_summary_agrees(out["trace"], out["trace_summary"])


def test_trace_by_province_sums_the_summary(out):
    by = out["trace_by_province"]
    assert list(by.columns) == ["province", *BY_COLUMNS]
    r = _row(by, province="Namur", theme="")
    assert (r["n_cpas"], r["n_promises"], r["n_carried"], r["n_unanchored"]) == (1, 3, 2, 1)


# --------------------------------------------------------------------------- summary_by

SUMMARY = pd.DataFrame([
    # two CPAS of Liège, one of Namur, by hand
    ("a-dps", "a-pst", "", 4, 3, 1, 5, 2),
    ("a-dps", "a-pst", "logement", 2, 2, 0, 1, 0),
    ("b-dps", "b-pst", "", 6, 1, 5, 3, 3),
    ("c-dps", "c-pst", "", 2, 2, 0, 0, 0),
], columns=["dps_doc", "pst_doc", "theme", "n_promises", "n_carried", "n_not_carried",
            "n_plan_units", "n_unanchored"])
BY_DOCS = pd.DataFrame({"doc_id": ["a-dps", "b-dps", "c-dps", "a-pst"],
                        "province": ["Liège", "Liège", "Namur", "Namur"]})


def test_summary_by_sums_per_value_by_hand():
    by = summary_by(SUMMARY, BY_DOCS, "province")
    assert list(by.columns) == ["province", *BY_COLUMNS]
    r = _row(by, province="Liège", theme="")
    assert (r["n_cpas"], r["n_promises"], r["n_carried"], r["n_not_carried"]) == (2, 10, 4, 6)
    assert (r["n_plan_units"], r["n_unanchored"]) == (8, 5)
    assert r["share_carried"] == pytest.approx(0.4)
    assert r["share_unanchored"] == pytest.approx(0.625)
    r = _row(by, province="Liège", theme="logement")
    assert (r["n_cpas"], r["n_promises"], r["n_carried"]) == (1, 2, 2)
    r = _row(by, province="Namur", theme="")  # the province of the declaration, not the plan
    assert (r["n_cpas"], r["n_promises"], r["n_plan_units"]) == (1, 2, 0)
    assert r["share_carried"] == 1.0 and math.isnan(r["share_unanchored"])
    assert len(by) == 3


def test_summary_by_unknown_column_or_empty_summary_is_empty_with_columns():
    assert list(summary_by(SUMMARY, BY_DOCS, "couleur").columns) == ["couleur", *BY_COLUMNS]
    assert len(summary_by(SUMMARY, BY_DOCS, "couleur")) == 0
    assert len(summary_by(SUMMARY.iloc[0:0], BY_DOCS, "province")) == 0


# --------------------------------------------------------------------------- no plan


def test_no_plan_gives_empty_tables_with_their_columns():
    docs = DOCUMENTS[DOCUMENTS["doc_kind"] == "declaration"]
    res = build_trace(docs, UNITS[UNITS["doc_id"] == "fl-dps"], NLP, UNIT_THEMES,
                      by=("province",))
    for name, cols in (("trace", TRACE_COLUMNS), ("trace_summary", SUMMARY_COLUMNS),
                       ("versions", VERSION_COLUMNS), ("versions_themes", VERSION_THEME_COLUMNS),
                       ("trace_by_province", ["province", *BY_COLUMNS])):
        assert len(res[name]) == 0, name
        assert list(res[name].columns) == cols, name


def test_trace_note_without_plan_says_so_first():
    docs = DOCUMENTS[DOCUMENTS["doc_kind"] == "declaration"]
    lines = trace_note(docs, find_pairs(docs))
    assert "aucun plan stratégique" in lines[0]
    assert len(lines) == 1


def test_trace_note_with_a_plan_counts_the_pairs():
    lines = trace_note(DOCUMENTS, find_pairs(DOCUMENTS))
    assert lines[0].startswith("Suivi des engagements : 1 déclaration(s) reliée(s) à 1 plan(s)")
    assert "0 paire(s)" in lines[0]


def test_trace_note_lists_the_notes_of_the_pairing():
    docs = DOCUMENTS.assign(commune=["Florival", ""])
    lines = trace_note(docs, find_pairs(docs))
    assert lines[0].startswith("Suivi des engagements : 0 déclaration(s)")
    assert lines[1].startswith("suivi : fl-pst : plan non relié")


def test_trace_note_names_a_file_named_as_a_plan_but_read_as_a_declaration():
    docs = DOCUMENTS.assign(doc_kind=["declaration", "declaration"],
                            source_file=["fl-dps-2025.txt", "fl-pst-2025.docx"])
    lines = trace_note(docs, find_pairs(docs))
    assert "aucun plan stratégique" in lines[0]
    warned = [ln for ln in lines if ln.startswith("attention : ")]
    assert len(warned) == 1 and warned[0].startswith("attention : fl-pst-2025.docx : ")
    assert "doc_kind = pst dans metadata.csv" in warned[0]
    # read as a plan (by its text or by metadata.csv): nothing to say
    fixed = docs.assign(doc_kind=["declaration", "pst"])
    assert not [ln for ln in trace_note(fixed, find_pairs(fixed)) if ln.startswith("attention")]


def test_pairs_argument_replaces_the_pairing():
    res = build_trace(DOCUMENTS, UNITS, NLP, UNIT_THEMES, pairs=Pairs())
    assert len(res["trace"]) == 0 and len(res["trace_summary"]) == 0


def test_plan_without_units_leaves_every_promise_not_carried():
    res = build_trace(DOCUMENTS, UNITS[UNITS["doc_id"] == "fl-dps"], NLP, UNIT_THEMES)
    t = res["trace"]
    assert set(t["status"]) == {NOT_CARRIED}
    assert sorted(t["dps_unit"]) == sorted(PROMISES)
    assert set(t["evidence"]) == {""}


def test_without_nlp_and_themes_the_word_for_word_promises_still_link():
    res = build_trace(DOCUMENTS, UNITS, None, None)
    t = res["trace"]
    assert _row(t, dps_unit="d2")["pst_unit"] == "p3"
    assert _row(t, dps_unit="d5")["pst_unit"] == "p7"
    assert _row(t, pst_unit="p5")["status"] == UNANCHORED


# --------------------------------------------------------------------------- versions

VERSION_DOCS = pd.DataFrame([
    ("fl-2019", "declaration", "Florival", "2019-2024", "2019-02-21", "ok", "Namur"),
    ("fl-2025", "declaration", "FLORIVAL", "2025-2030", "2025-02-20", "ok", "Namur"),
], columns=DOC_COLS)


def _copy(doc_id: str, extra: list[tuple] = ()) -> tuple[pd.DataFrame, pd.DataFrame,
                                                         pd.DataFrame]:
    u = pd.DataFrame([(doc_id, *r[1:]) for r in DPS_UNITS] + [(doc_id, *r) for r in extra],
                     columns=UNIT_COLS)
    nlp = NLP[NLP["doc_id"] == "fl-dps"].assign(doc_id=doc_id)
    th = UNIT_THEMES[UNIT_THEMES["doc_id"] == "fl-dps"].assign(doc_id=doc_id)
    return u, nlp, th


def _versions(old_extra=(), new_extra=()):
    parts = [_copy("fl-2019", old_extra), _copy("fl-2025", new_extra)]
    return build_trace(VERSION_DOCS, *[pd.concat([p[k] for p in parts], ignore_index=True)
                                       for k in range(3)])


def test_unchanged_declaration_keeps_every_promise():
    res = _versions()
    v = res["versions"]
    assert list(v.columns) == VERSION_COLUMNS
    assert sorted(v["old_unit"]) == sorted(PROMISES)
    assert set(v["status"]) == {"kept"}
    assert (v["old_unit"] == v["new_unit"]).all()
    assert (v["old_doc"] == "fl-2019").all() and (v["new_doc"] == "fl-2025").all()
    assert (v["old_mandate"] == "2019-2024").all() and (v["new_mandate"] == "2025-2030").all()
    assert (v["commune"] == "FLORIVAL").all()  # the newer declaration's spelling
    assert (v["tfidf"] >= model("versions").kept_min).all()
    assert (v["score"] >= model("versions").threshold).all()
    assert len(res["trace"]) == 0  # no plan


def test_unchanged_declaration_has_the_same_theme_shares():
    vt = _versions()["versions_themes"]
    assert list(vt.columns) == VERSION_THEME_COLUMNS
    # content units: d1 d2 d3 d4 d5 (axes count, the title and the context do not)
    assert sorted(vt["theme"]) == ["energie", "insertion", "logement"]
    assert (vt["share_old"] == 0.2).all() and (vt["share_new"] == 0.2).all()
    assert (vt["change"] == 0).all()


def test_dropped_and_new_promises():
    res = _versions(old_extra=[("d7", "d4", "objective", "Ouvrir un potager collectif", "", "")],
                    new_extra=[("d8", "d1", "objective", "Financer une épicerie sociale", "",
                                "")])
    v = res["versions"]
    assert _row(v, old_unit="d7")["status"] == "dropped"
    assert _blank(_row(v, old_unit="d7")["new_unit"])
    assert _row(v, new_unit="d8")["status"] == "new"
    assert set(v.loc[v["old_unit"].isin(PROMISES), "status"]) == {"kept"}
    vt = res["versions_themes"]
    # 6 content units on each side now; the theme shares are 1/6
    assert _row(vt, theme="logement")["share_old"] == pytest.approx(round(1 / 6, 4))


# --------------------------------------------------------------------------- property

VOCAB = ["logement", "transit", "famille", "isoler", "toiture", "formation", "emploi",
         "énergie", "aide", "numérique", "véhicule", "crèche"]
_TEXT = st.lists(st.sampled_from(VOCAB), min_size=1, max_size=4).map(" ".join)
_THEME = st.sampled_from(["", "logement", "energie"])


@st.composite
def _corpus(draw):
    rows, themes = [], []
    for a in range(draw(st.integers(1, 2))):
        rows.append(("d", f"da{a}", "", "axis", draw(_TEXT), "", ""))
        for k in range(draw(st.integers(0, 3))):
            rows.append(("d", f"d{a}{k}", f"da{a}", draw(st.sampled_from(
                ["objective", "action", "statement", "context"])), draw(_TEXT), "", ""))
            themes.append(("d", f"d{a}{k}", draw(_THEME)))
    for o in range(draw(st.integers(1, 2))):
        rows.append(("p", f"os{o}", "", "axis", draw(_TEXT), "", ""))
        for k in range(draw(st.integers(1, 2))):
            oo = f"oo{o}{k}"
            rows.append(("p", oo, f"os{o}", "objective", draw(_TEXT), "", ""))
            for a in range(draw(st.integers(0, 2))):
                rows.append(("p", f"{oo}a{a}", oo, "action", draw(_TEXT), "Service", "2026"))
                themes.append(("p", f"{oo}a{a}", draw(_THEME)))
    units = pd.DataFrame(rows, columns=UNIT_COLS)
    ut = pd.DataFrame([t for t in themes if t[2]], columns=["doc_id", "unit_id", "theme"])
    return units, ut


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_corpus())
def test_every_promise_and_leaf_appears_and_the_summary_agrees(corpus):
    units, ut = corpus
    docs = pd.DataFrame([("d", "declaration", "X", "2025-2030", "", "ok", "N"),
                         ("p", "pst", "x", "2025-2030", "", "ok", "N")], columns=DOC_COLS)
    res = build_trace(docs, units, None, ut)
    t = res["trace"]
    u = units
    promises = set(u.loc[(u["doc_id"] == "d") & u["kind"].isin(
        ["objective", "action", "statement"]), "unit_id"])
    parents_of_actions = set(u.loc[(u["doc_id"] == "p") & (u["kind"] == "action"), "parent_id"])
    leaves = set(u.loc[(u["doc_id"] == "p") & (u["kind"] == "action"), "unit_id"]) | (
        set(u.loc[(u["doc_id"] == "p") & (u["kind"] == "objective"), "unit_id"])
        - parents_of_actions)
    assert set(t.loc[t["dps_unit"].map(_filled), "dps_unit"]) == promises
    assert set(t.loc[t["pst_unit"].map(_filled), "pst_unit"]) == leaves
    for uid in promises:
        g = t[t["dps_unit"] == uid]
        assert set(g["status"]) in ({LINKED}, {NOT_CARRIED})
        assert len(g) <= model("link").max_links
    for uid in leaves:
        g = t[t["pst_unit"] == uid]
        assert set(g["status"]) in ({LINKED}, {UNANCHORED})
        if set(g["status"]) == {UNANCHORED}:
            assert len(g) == 1
    _check_summary_agrees(t, res["trace_summary"])


def _doc_keys(units: pd.DataFrame) -> dict[str, str]:
    """A content key per document, as the runner gives (here: a hash of its unit rows)."""
    return {d: str(int(pd.util.hash_pandas_object(g.astype(str), index=False).sum()))
            for d, g in units.groupby("doc_id")}


def test_pair_memo_reuses_the_signals_when_only_the_themes_change(tmp_path):
    """A retrained theme model changes the themes, not the words: the cached theme-free
    signals are read again (none recomputed), the rows are those of a run with no cache."""
    from pipeline.steps.trace import PairMemo
    from pipeline.trace import tables

    keys = _doc_keys(UNITS)
    memo = PairMemo(tmp_path, keys, DOCUMENTS, UNIT_THEMES, None)
    build_trace(DOCUMENTS, UNITS, NLP, UNIT_THEMES, memo=memo)
    assert len(list((tmp_path / "trace").glob("signals-*.pkl"))) == 1
    new_themes = pd.concat([UNIT_THEMES, pd.DataFrame(
        [("fl-dps", "d3", "logement"), ("fl-pst", "p5", "energie")],
        columns=UNIT_THEMES.columns)], ignore_index=True)
    calls = []
    real = tables.text_signals

    def counting(src, dst):
        calls.append((src.doc_id, dst.doc_id))
        return real(src, dst)

    memo2 = PairMemo(tmp_path, keys, DOCUMENTS, new_themes, None)
    tables.text_signals = counting
    try:
        cached = build_trace(DOCUMENTS, UNITS, NLP, new_themes, memo=memo2)
    finally:
        tables.text_signals = real
    assert calls == []  # rows recomputed (themes changed), signals read from the memo
    fresh = build_trace(DOCUMENTS, UNITS, NLP, new_themes)
    for name, df in fresh.items():
        pd.testing.assert_frame_equal(cached[name], df)
    # the rows were not taken from the first run: the new themes show in the summary
    assert _row(cached["trace_summary"], theme="logement")["n_promises"] == 2


def test_pair_memo_recomputes_the_signals_when_a_document_changes(tmp_path):
    from pipeline.steps.trace import PairMemo

    memo = PairMemo(tmp_path, _doc_keys(UNITS), DOCUMENTS, UNIT_THEMES, None)
    build_trace(DOCUMENTS, UNITS, NLP, UNIT_THEMES, memo=memo)
    changed = UNITS.copy()
    changed.loc[changed["unit_id"] == "p5", "text"] = "Créer des logements de transit"
    memo2 = PairMemo(tmp_path, _doc_keys(changed), DOCUMENTS, UNIT_THEMES, None)
    out = build_trace(DOCUMENTS, changed, NLP, UNIT_THEMES, memo=memo2)
    assert len(list((tmp_path / "trace").glob("signals-*.pkl"))) == 2
    fresh = build_trace(DOCUMENTS, changed, NLP, UNIT_THEMES)
    pd.testing.assert_frame_equal(out["trace"], fresh["trace"])


def test_pair_memo_prune_keeps_only_what_the_run_used(tmp_path):
    """Entries of an earlier run (a document since changed) are deleted; the entries this run
    read or wrote, temporaries and other files are kept; the tables do not depend on it."""
    from pipeline.steps.trace import PairMemo

    memo = PairMemo(tmp_path, _doc_keys(UNITS), DOCUMENTS, UNIT_THEMES, None)
    build_trace(DOCUMENTS, UNITS, NLP, UNIT_THEMES, memo=memo)
    first = {f.name for f in (tmp_path / "trace").glob("*.pkl")}
    assert first and first == memo.used
    changed = UNITS.copy()
    changed.loc[changed["unit_id"] == "p5", "text"] = "Créer des logements de transit"
    memo2 = PairMemo(tmp_path, _doc_keys(changed), DOCUMENTS, UNIT_THEMES, None)
    out = build_trace(DOCUMENTS, changed, NLP, UNIT_THEMES, memo=memo2)
    (tmp_path / "trace" / ".cpas-tmp-0123456789ab.x.tmp").write_bytes(b"")
    (tmp_path / "trace" / "notes.txt").write_text("à garder", encoding="utf-8")
    assert memo2.prune() == len(first - memo2.used) > 0
    left = {f.name for f in (tmp_path / "trace").iterdir()}
    assert left == memo2.used | {".cpas-tmp-0123456789ab.x.tmp", "notes.txt"}
    again = PairMemo(tmp_path, _doc_keys(changed), DOCUMENTS, UNIT_THEMES, None)
    pd.testing.assert_frame_equal(build_trace(DOCUMENTS, changed, NLP, UNIT_THEMES,
                                              memo=again)["trace"], out["trace"])
    assert again.prune() == 0


def test_trace_cached_prunes_only_when_asked(tmp_path):
    from pipeline.steps.trace import trace_cached

    keys = _doc_keys(UNITS)
    trace_cached(DOCUMENTS, UNITS, NLP, UNIT_THEMES, cache_dir=tmp_path, doc_keys=keys,
                 quiet=True)
    stale = tmp_path / "trace" / "0000stale.pkl"
    stale.write_bytes(b"x")
    trace_cached(DOCUMENTS, UNITS, NLP, UNIT_THEMES, cache_dir=tmp_path, doc_keys=keys,
                 quiet=True)
    assert stale.exists()  # a cache given by the user may be shared: nothing deleted
    trace_cached(DOCUMENTS, UNITS, NLP, UNIT_THEMES, cache_dir=tmp_path, doc_keys=keys,
                 quiet=True, prune=True)
    assert not stale.exists() and list((tmp_path / "trace").glob("*.pkl"))
    # no plan left in the corpus: every entry is stale
    dps_only = DOCUMENTS[DOCUMENTS["doc_id"] == "fl-dps"]
    trace_cached(dps_only, UNITS[UNITS["doc_id"] == "fl-dps"], NLP, UNIT_THEMES,
                 cache_dir=tmp_path, doc_keys=keys, quiet=True, prune=True)
    assert not list((tmp_path / "trace").glob("*.pkl"))


def _many_cpas(n: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``n`` CPAS made from the fixture's: commune k has a declaration and a plan (in odd
    communes the plan's car becomes a second housing action: other links), and the first
    three also a 2019 declaration without the roofs promise (pairs of declarations)."""
    docs, units, nlp, themes = [], [], [], []
    for k in range(n):
        ren = {"fl-dps": f"c{k}-dps", "fl-pst": f"c{k}-pst", "old": f"c{k}-dps19"}
        u = UNITS.copy()
        lem = NLP.copy()
        if k % 2:
            u.loc[u["unit_id"] == "p5", "text"] = HOUSING
            lem.loc[lem["unit_id"] == "p5", ["lemmas", "tokens"]] = LEMMAS["fl-pst"]["p3"]
        d = DOCUMENTS.assign(commune=f"Commune {k}")
        if k < 3:
            old = u[(u["doc_id"] == "fl-dps") & (u["unit_id"] != "d3")].assign(doc_id="old")
            u = pd.concat([u, old], ignore_index=True)
            lem = pd.concat([lem, lem[lem["doc_id"] == "fl-dps"].assign(doc_id="old")],
                            ignore_index=True)
            d = pd.concat([d, d.iloc[[0]].assign(doc_id="old", mandate="2019-2024",
                                                 adopted_on="2019-02-20")], ignore_index=True)
        for frame, out in ((d, docs), (u, units), (lem, nlp), (UNIT_THEMES, themes)):
            out.append(frame.assign(doc_id=frame["doc_id"].map(ren)))
    return tuple(pd.concat(x, ignore_index=True) for x in (docs, units, nlp, themes))


def test_trace_cached_in_two_processes_gives_the_same_tables(tmp_path, monkeypatch):
    import pipeline.engine.parallel as parallel
    import pipeline.steps.trace as step

    docs, units, nlp, themes = _many_cpas(6)
    keys = _doc_keys(units)
    monkeypatch.setattr(step, "PARALLEL_MIN_PAIRS", 2)
    forks = []
    real = parallel.in_background
    monkeypatch.setattr(parallel, "in_background",
                        lambda *a, **k: forks.append(1) or real(*a, **k))
    import pipeline.trace.tables as tables

    scored = []  # pairs scored in this process (the child's are not seen here)
    for name in ("_plan_rows", "_version_rows"):
        fn = getattr(tables, name)
        monkeypatch.setattr(tables, name, lambda *a, fn=fn, **k: scored.append(1) or fn(*a, **k))
    kw = dict(doc_keys=keys, quiet=True, by=("province",))
    one = step.trace_cached(docs, units, nlp, themes, cache_dir=None, n_process=1, **kw)
    assert not forks and len(scored) == 6 + 3
    assert len(one["trace"]) and len(one["versions"])
    assert one["trace"]["dps_doc"].nunique() == 6 and one["versions"]["old_doc"].nunique() == 3
    # no cache, then an empty cache that the two processes fill
    del scored[:]
    two = step.trace_cached(docs, units, nlp, themes, cache_dir=None, n_process=2, **kw)
    assert len(scored) == 4  # 9 pairs: every other one (5) in the child, none scored twice
    cached = step.trace_cached(docs, units, nlp, themes, cache_dir=tmp_path, n_process=2,
                               prune=True, **kw)
    assert len(forks) == 2
    for name in one:
        pd.testing.assert_frame_equal(two[name], one[name])
        pd.testing.assert_frame_equal(cached[name], one[name])
    # the child's entries are kept by the prune, and read back: nothing left to score
    files = sorted(p.name for p in (tmp_path / "trace").glob("*.pkl"))
    assert len(files) == 2 * (6 + 3)  # rows and signals of every pair
    again = step.trace_cached(docs, units, nlp, themes, cache_dir=tmp_path, n_process=2,
                              prune=True, **kw)
    assert len(forks) == 2 and len(scored) == 8
    assert sorted(p.name for p in (tmp_path / "trace").glob("*.pkl")) == files
    for name in one:
        pd.testing.assert_frame_equal(again[name], one[name])
