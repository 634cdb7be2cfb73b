"""Issue 12: comparisons read policy content only.

1. Text of a unit whose kind is in ``models.NON_CONTENT_KINDS`` (navigation, preamble, title,
   signature…) reaches no comparison table: one test per table, where the only occurrence of
   the tested thing is in such a unit (parametrised over every non-content kind), with its
   positive twin (the same unit as a ``statement`` is found), so each test can fail.
2. Empty headings (an axis, section or group with no content unit below it) count in no
   theme share (theme_matrix, axis_themes, by_<column>) and no similarity.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pandas as pd
import pytest

from pipeline import compare
from pipeline.compare import passages, tables
from pipeline.compare.common import compared_mask
from pipeline.models import NON_CONTENT_KINDS

CODEBOOK = [SimpleNamespace(id=i, label=lab) for i, lab in [
    ("insertion", "Insertion"), ("logement", "Logement"), ("sante", "Santé"),
    ("finances", "Finances"), ("energie", "Énergie")]]

#: the kinds a probe unit takes: every non-content kind, then its positive twin
NON_CONTENT = list(NON_CONTENT_KINDS)


def _frames(rows: list[tuple]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """documents, units and nlp tables from rows (doc_id, unit_id, parent_id, kind, label,
    text, themes, lemmas, entities); offsets follow the order of the rows."""
    docs = sorted({r[0] for r in rows})
    documents = pd.DataFrame({"doc_id": docs, "commune": [d.upper() for d in docs],
                              "province": ["Liège" if d == "x" else "Namur" for d in docs],
                              "status": "ok"})
    units = pd.DataFrame([(d, u, p, k, lab, t, 10 * i, 10 * i + 9, None, 0, "", th)
                          for i, (d, u, p, k, lab, t, th, _, _) in enumerate(rows)],
                         columns=["doc_id", "unit_id", "parent_id", "kind", "label", "text",
                                  "start", "end", "page", "depth", "block", "themes"])
    nlp = pd.DataFrame([(d, u, lem, lem, json.dumps(ents or []))
                        for d, u, _, _, _, _, _, lem, ents in rows],
                       columns=["doc_id", "unit_id", "lemmas", "tokens", "entities"])
    return documents, units, nlp


#: the content every test starts from: x and y share no lemma, no theme, no sentence
BASE = [
    ("x", "x1", "", "statement", "", "Le CPAS créera une épicerie sociale pour les familles "
     "de la commune.", "logement", "créer épicerie social famille commune", None),
    ("y", "y1", "", "statement", "", "Nous rénoverons deux logements de transit avant la fin "
     "de la législature.", "insertion", "rénover logement transit fin législature", None),
]


def _probe(kind: str, text: str, docs=("x", "y"), themes: str = "", lemmas: str = "",
           entities=None) -> list[tuple]:
    return [(d, f"{d}p", "", kind, "", text, themes, lemmas, entities) for d in docs]


def _tables(probe: list[tuple]) -> dict[str, pd.DataFrame]:
    documents, units, nlp = _frames(BASE + probe)
    return compare.build_tables(documents, units, nlp, None, CODEBOOK, by=["province"])


@pytest.fixture(params=NON_CONTENT + ["statement"])
def kind(request):
    return request.param


def _content(kind: str) -> bool:
    return kind not in NON_CONTENT_KINDS


# --------------------------------------------------------------------------- 1. per table


def test_shared_passages_leave_out_non_content(kind):
    breadcrumb = "Vous êtes ici : Accueil > Vie communale > CPAS > Déclaration de politique sociale"
    t = _tables(_probe(kind, breadcrumb))
    sp, summary = t["shared_passages"], t["shared_passages_summary"].set_index("doc_id")
    if _content(kind):
        assert sp["doc_id"].tolist() == ["x", "y"] and set(sp["text"]) == {breadcrumb}
        assert summary["n_shared"].to_dict() == {"x": 1, "y": 1}
        assert summary["n_sentences"].to_dict() == {"x": 2, "y": 2}
    else:
        assert sp.empty
        assert summary["n_shared"].to_dict() == {"x": 0, "y": 0}
        assert summary["n_sentences"].to_dict() == {"x": 1, "y": 1}  # x1, y1 only
    # find_shared alone (the runner's early call) agrees
    documents, units, _ = _frames(BASE + _probe(kind, breadcrumb))
    alone, _ = passages.find_shared(documents, units)
    assert len(alone) == len(sp)


def test_similarity_lemmas_leave_out_non_content(kind):
    # the menu's lemmas, in both documents, are all they would have in common
    t = _tables(_probe(kind, "Accueil Vie communale CPAS Déclaration de politique sociale",
                       lemmas="accueil vie communal cpas déclaration politique"))
    cos = t["similarity"].set_index(["doc_a", "doc_b"])["cosine_lemmas"]
    if _content(kind):
        assert cos[("x", "y")] > 0
    else:
        assert cos[("x", "y")] == 0.0 and cos[("y", "x")] == 0.0


def test_similarity_themes_leave_out_non_content(kind):
    # a theme left on a non-content unit (by an annotation, an older cache…) is not read
    t = _tables(_probe(kind, "Santé et bien-être", themes="sante"))
    cos = t["similarity"].set_index(["doc_a", "doc_b"])["cosine_themes"]
    tm = t["theme_matrix"].set_index(["doc_id", "theme"])
    if _content(kind):
        assert cos[("x", "y")] > 0 and tm.loc[("x", "sante"), "present"]
    else:
        assert cos[("x", "y")] == 0.0
        assert not tm.loc[("x", "sante"), "present"]
        assert tm.loc[("x", "logement"), "share_units"] == 1.0  # x1 is x's only content unit


def test_distinctive_terms_leave_out_non_content(kind):
    t = _tables(_probe(kind, "Ce site utilise des cookies. Accepter les cookies. Refuser les "
                       "cookies.", docs=("x",), lemmas="site utiliser cookie accepter cookie "
                       "refuser cookie"))
    terms = set(t["distinctive_terms"].query("doc_id == 'x'")["term"])
    if _content(kind):
        assert "cookie" in terms
    else:
        assert not any("cookie" in term for term in t["distinctive_terms"]["term"])
        assert terms <= {"créer", "épicerie", "social", "famille", "commune"} | {
            "créer épicerie", "épicerie social", "social famille", "famille commune"}


def test_partners_leave_out_non_content(kind):
    # gazetteer (FOREM, ONE) in the text, and a spaCy entity on the unit
    t = _tables(_probe(kind, "Partenaires : FOREM · ONE · Croix Bleue", docs=("x",),
                       lemmas="partenaire forem one croix bleu",
                       entities=[["Croix Bleue", "ORG"]]))
    found = set(t["partners"]["partner"])
    if _content(kind):
        assert found == {"FOREM", "ONE", "Croix Bleue"}
        assert set(t["partners_summary"]["partner"]) == found
    else:
        assert t["partners"].empty and t["partners_summary"].empty


def test_mentions_pst_leaves_out_non_content(kind):
    t = _tables(_probe(kind, "Vous êtes ici : Accueil > CPAS > Plan stratégique transversal "
                       "(PST)", docs=("x",)))
    st = t["structure"].set_index("doc_id")
    assert bool(st.loc["x", "mentions_pst"]) == _content(kind)
    assert not st.loc["y", "mentions_pst"]


def test_has_budget_leaves_out_non_content(kind):
    t = _tables(_probe(kind, "Le budget 2025 du CPAS", docs=("x",)))
    st = t["structure"].set_index("doc_id")
    if _content(kind):
        assert st.loc["x", "has_budget"] and st.loc["x", "budget_evidence"] == "Le budget 2025 du CPAS"
    else:
        assert not st.loc["x", "has_budget"] and st.loc["x", "budget_evidence"] == ""
    # whatever compare.toml lists in budget_kinds, a non-content kind never counts
    documents, units, _ = _frames(BASE + _probe(kind, "Le budget 2025 du CPAS", docs=("x",)))
    cfg = {"structure": {"budget_kinds": ["statement", *NON_CONTENT_KINDS],
                         "budget_patterns": [r"(?i)\bbudget\b"], "pst_patterns": [r"\bPST\b"]}}
    st = tables.structure(documents, units, cfg).set_index("doc_id")
    assert bool(st.loc["x", "has_budget"]) == _content(kind)


# --------------------------------------------------------------------------- 2. empty headings


def _headings(filled: bool = False) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """x: AXE 1 (objective below), AXE 2 followed directly by AXE 3 (only a preamble-kind
    "Constat" below it), AXE 3 with an empty group then a group with an objective, a section
    holding only an empty axis. y: an empty axis, then an axis with an action. The two empty
    "santé des aînés" axes are all x and y have in common. ``filled``: those two axes get a
    statement below them."""
    constat = NON_CONTENT_KINDS[1] if len(NON_CONTENT_KINDS) > 1 else NON_CONTENT_KINDS[0]
    rows = [
        ("x", "t", "", "title", "", "DPS X", "", "", None),
        ("x", "A1", "", "axis", "AXE 1", "Le logement", "logement", "logement", None),
        ("x", "o1", "A1", "objective", "-", "Créer deux logements de transit.", "logement",
         "créer logement transit", None),
        ("x", "A2", "", "axis", "AXE 2", "La santé des aînés", "sante", "santé aîné", None),
        ("x", "c", "A2", constat, "", "42 personnes ont bénéficié du RIS en 2022.", "", "", None),
        ("x", "A3", "", "axis", "AXE 3", "L'insertion", "insertion", "insertion", None),
        ("x", "G1", "A3", "group", "3.1", "Énergie", "energie", "énergie", None),
        ("x", "G2", "A3", "group", "3.2", "Emploi", "insertion", "emploi", None),
        ("x", "o2", "G2", "objective", "-", "Accompagner les jeunes vers l'emploi.", "insertion",
         "accompagner jeune emploi", None),
        ("x", "S", "", "section", "", "Nos priorités", "", "priorité", None),
        ("x", "A4", "S", "axis", "AXE 4", "Les finances", "finances", "finance", None),
        ("y", "B1", "", "axis", "AXE 1", "La santé des aînés", "sante", "santé aîné", None),
        ("y", "B2", "", "axis", "AXE 2", "Le budget", "finances", "budget", None),
        ("y", "a1", "B2", "action", "-", "Maintenir la trajectoire budgétaire.", "finances",
         "maintenir trajectoire budgétaire", None),
    ]
    if filled:
        rows.insert(5, ("x", "s2", "A2", "statement", "", "Ouvrir une maison médicale.", "",
                        "ouvrir maison médical", None))
        rows.insert(13, ("y", "s3", "B1", "statement", "", "Visiter les aînés isolés.", "",
                         "visiter isolé", None))
    return _frames(rows)


def test_compared_mask_leaves_out_empty_headings():
    _, units, _ = _headings()
    kept = units.loc[compared_mask(units), "unit_id"].tolist()
    assert kept == ["A1", "o1", "A3", "G2", "o2", "B2", "a1"]
    _, units, _ = _headings(filled=True)
    assert {"A2", "B1"} <= set(units.loc[compared_mask(units), "unit_id"])
    # without parent_id the tree is unknown: every content unit counts
    assert compared_mask(units.drop(columns="parent_id")).tolist() == (
        ~units["kind"].isin(NON_CONTENT_KINDS)).tolist()


def test_empty_headings_count_in_no_theme_share():
    documents, units, nlp = _headings()
    t = compare.build_tables(documents, units, nlp, None, CODEBOOK, by=["province"])
    tm = t["theme_matrix"].set_index(["doc_id", "theme"])
    # x: A1, o1, A3, G2, o2 (5 units; 2 + 5 + 1 + 1 + 5 = 14 words)
    assert tm.loc[("x", "logement"), "n_units"] == 2
    assert tm.loc[("x", "logement"), "share_units"] == pytest.approx(0.4)
    assert tm.loc[("x", "logement"), "share_words"] == pytest.approx(0.5)
    assert tm.loc[("x", "insertion"), "share_units"] == pytest.approx(0.6)
    for theme in ("sante", "energie", "finances"):  # A2, G1, A4: empty
        assert not tm.loc[("x", theme), "present"] and tm.loc[("x", theme), "share_units"] == 0
    # y: B2, a1
    assert tm.loc[("y", "finances"), "share_units"] == 1.0
    assert not tm.loc[("y", "sante"), "present"]
    ax = t["axis_themes"].set_index("unit_id")
    assert ax.loc["A1", "dominant_themes"] == "logement (1.00)"
    # A3: G2 and o2 (the empty group G1 left out)
    assert ax.loc["A3", "n_units"] == 2 and ax.loc["A3", "dominant_themes"] == "insertion (1.00)"
    for uid in ("A2", "A4", "B1"):  # kept, with no theme of their own
        assert (ax.loc[uid, "n_units"], ax.loc[uid, "top_theme"], ax.loc[uid, "dominant_themes"]
                ) == (0, "", "")
    by = t["by_province"].set_index(["group", "theme"])
    assert by.loc[("Liège", "sante"), "mean_share_units"] == 0.0
    assert by.loc[("Liège", "insertion"), "mean_share_units"] == pytest.approx(0.6)
    assert by.loc[("Namur", "sante"), "share_docs_present"] == 0.0


def test_filled_headings_count_in_theme_shares():
    documents, units, nlp = _headings(filled=True)
    t = compare.build_tables(documents, units, nlp, None, CODEBOOK, by=["province"])
    tm = t["theme_matrix"].set_index(["doc_id", "theme"])
    # x: A1, o1, A2, s2, A3, G2, o2 (7 units)
    assert tm.loc[("x", "sante"), "present"]
    assert tm.loc[("x", "sante"), "share_units"] == pytest.approx(round(1 / 7, 4))
    assert t["axis_themes"].set_index("unit_id").loc["A2", "n_units"] == 1
    assert t["by_province"].set_index(["group", "theme"]).loc[("Namur", "sante"),
                                                              "share_docs_present"] == 1.0


def test_empty_headings_count_in_no_similarity():
    documents, units, nlp = _headings()
    t = compare.build_tables(documents, units, nlp, None, CODEBOOK)
    sim = t["similarity"].set_index(["doc_a", "doc_b"])
    # the "santé aîné" axes are empty, and A4 "finances" too: nothing in common
    assert sim.loc[("x", "y"), "cosine_lemmas"] == 0.0
    assert sim.loc[("x", "y"), "cosine_themes"] == 0.0
    assert not t["distinctive_terms"]["term"].str.contains("santé").any()
    # the positive twin: with a statement below them, the two axes are compared
    documents, units, nlp = _headings(filled=True)
    sim = compare.build_tables(documents, units, nlp, None, CODEBOOK)["similarity"].set_index(
        ["doc_a", "doc_b"])
    assert sim.loc[("x", "y"), "cosine_lemmas"] > 0
    assert sim.loc[("x", "y"), "cosine_themes"] > 0
