"""Compare stage on the tiny hand-made corpus of tests/fixtures/compare/.

Every expected number is worked out by hand from the fixture files (see the comments).
"""

from __future__ import annotations

import importlib
import json
import math
import random
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import compare
from pipeline.compare import keyness, passages, tables
from pipeline.export.workbook import write_workbook

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "compare"
# the module, not the function of the same name re-exported by pipeline.compare
similarity = importlib.import_module("pipeline.compare.similarity")

# Codebook stand-in (same fields as pipeline.classify.codebook.Theme that compare reads).
CODEBOOK = [SimpleNamespace(id=i, label=lab) for i, lab in [
    ("insertion", "Insertion"), ("logement", "Logement"), ("synergies", "Synergies"),
    ("finances", "Finances"), ("sante", "Santé"), ("energie", "Énergie")]]


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(FIX / name, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def corpus():
    documents = _read("documents.csv")
    units = _read("units.csv")
    for col in ("start", "end", "depth"):
        units[col] = units[col].astype(int)
    nlp = _read("nlp.csv")
    return documents, units, nlp


@pytest.fixture(scope="module")
def tm(corpus):
    documents, units, _ = corpus
    return tables.theme_matrix(documents, units, CODEBOOK)


def _cell(df, **where):
    rows = df
    for k, v in where.items():
        rows = rows[rows[k] == v]
    assert len(rows) == 1, where
    return rows.iloc[0]


# --------------------------------------------------------------------------- labels


def test_commune_label_falls_back_to_doc_id(corpus):
    labels = compare.commune_label(corpus[0])
    assert labels["a"] == "Alpha"
    assert labels["b"] == "b"  # commune unknown


def test_commune_label_disambiguates_same_commune():
    docs = pd.DataFrame({"doc_id": ["t1", "t2", "t3", "x"],
                         "commune": ["Trooz", "Trooz", "Trooz", ""],
                         "legislature": ["2019-2024", "2025-2030", "2025-2030", ""]})
    labels = compare.commune_label(docs)
    assert labels["t1"] == "Trooz (2019-2024)"
    assert labels["t2"] == "Trooz (t2)" and labels["t3"] == "Trooz (t3)"
    assert labels["x"] == "x"
    assert labels.is_unique


# --------------------------------------------------------------------------- theme matrix


def test_theme_matrix_shape_and_order(tm):
    assert list(tm.columns) == ["doc_id", "commune_label", "theme", "theme_label", "n_units",
                                "share_units", "share_words", "present"]
    # 3 documents read (d failed) × 6 codebook themes, codebook order inside each document
    assert len(tm) == 18
    assert tm["doc_id"].unique().tolist() == ["a", "b", "c"]
    assert tm[tm["doc_id"] == "a"]["theme"].tolist() == [t.id for t in CODEBOOK]


def test_theme_matrix_shares_by_hand(tm):
    # doc a: content units a3 a4 a5 a8 a6 a7 (6); logement on a3 a4 a8
    r = _cell(tm, doc_id="a", theme="logement")
    assert r["n_units"] == 3 and r["share_units"] == pytest.approx(0.5)
    # words: a3 2 + a4 7 + a8 7 = 16 of 2+7+6+7+2+6 = 30
    assert r["share_words"] == pytest.approx(round(16 / 30, 4))
    assert _cell(tm, doc_id="a", theme="insertion")["share_units"] == pytest.approx(round(1 / 6, 4))
    assert _cell(tm, doc_id="a", theme="finances")["share_words"] == pytest.approx(round(8 / 30, 4))
    # doc b: b2 (11 words, sante) and b3 (12 words, no theme)
    r = _cell(tm, doc_id="b", theme="sante")
    assert (r["n_units"], r["share_units"]) == (1, 0.5)
    assert r["share_words"] == pytest.approx(round(11 / 23, 4))
    assert r["commune_label"] == "b"
    # doc c: c2 (3 words, logement+sante), c3 (11 words, logement)
    assert _cell(tm, doc_id="c", theme="logement")["share_units"] == 1.0
    assert _cell(tm, doc_id="c", theme="sante")["share_words"] == pytest.approx(round(3 / 14, 4))


def test_theme_matrix_presence(tm):
    present = tm[tm["present"]].groupby("doc_id")["theme"].apply(sorted).to_dict()
    assert present == {"a": ["finances", "insertion", "logement", "synergies"],
                       "b": ["sante"], "c": ["logement", "sante"]}
    assert not tm[tm["theme"] == "energie"]["present"].any()


def test_theme_matrix_reads_unit_themes_without_themes_column(corpus):
    documents, units, _ = corpus
    ut = pd.DataFrame({"doc_id": ["c", "c", "c"], "unit_id": ["c2", "c3", "c1"],
                       "theme": ["logement", "logement", "logement"], "score": [1, 1, 1]})
    tm2 = tables.theme_matrix(documents, units.drop(columns="themes"), CODEBOOK, ut)
    # c1 is a preamble: not content, so its label is ignored
    assert _cell(tm2, doc_id="c", theme="logement")["n_units"] == 2


def test_theme_wide(tm):
    wide = tables.theme_wide(tm)
    assert list(wide.columns[:3]) == ["doc_id", "commune_label", "Insertion"]
    assert wide.set_index("doc_id").loc["c", "Logement"] == 1.0


# --------------------------------------------------------------------------- axes


def test_axis_themes(corpus):
    documents, units, _ = corpus
    ax = tables.axis_themes(documents, units, CODEBOOK)
    assert ax["unit_id"].tolist() == ["a3", "a6", "c2"]
    a3 = _cell(ax, unit_id="a3")
    # below AXE 1: a4 (logement), a5 (insertion, synergies), a8 (logement)
    assert a3["n_units"] == 3
    assert a3["dominant_themes"] == "logement (0.67); insertion (0.33); synergies (0.33)"
    assert a3["axis_label"] == "AXE 1" and a3["axis_text"] == "Le logement"
    assert _cell(ax, unit_id="a6")["dominant_themes"] == "finances (1.00)"
    assert _cell(ax, unit_id="c2")["top_theme"] == "logement"


# --------------------------------------------------------------------------- structure


def test_structure(corpus):
    documents, units, _ = corpus
    st = tables.structure(documents, units).set_index("doc_id")
    assert st.index.tolist() == ["a", "b", "c"]
    a = st.loc["a"]
    assert (a["n_axes"], a["n_objectives"], a["n_actions"], a["n_statements"]) == (2, 3, 1, 0)
    # words: title 2 + preamble 27+13 + signature 13 + content 30 = 85
    assert a["n_words"] == 85
    assert a["preamble_share"] == pytest.approx(round(40 / 85, 4))
    assert a["has_budget"] and "budget" in a["budget_evidence"]
    assert not a["mentions_pst"]
    # b: "volet budgétaire" only in the preamble → no budget part
    assert st.loc["b", "n_words"] == 36 + 11 + 12
    assert not st.loc["b", "has_budget"]
    assert st.loc["c", "mentions_pst"]
    assert st.loc["c", "preamble_share"] == pytest.approx(round(27 / 41, 4))


# --------------------------------------------------------------------------- compare_by


def test_compare_by_province(corpus, tm):
    by = tables.compare_by(corpus[0], tm, "province")
    liege = _cell(by, group="Liège", theme="logement")
    assert liege["n_docs"] == 2
    assert liege["mean_share_units"] == pytest.approx(0.25)  # (0.5 + 0) / 2
    assert liege["share_docs_present"] == pytest.approx(0.5)
    namur = _cell(by, group="Namur", theme="sante")
    assert (namur["n_docs"], namur["mean_share_units"], namur["share_docs_present"]) == (1, 0.5, 1.0)
    assert by["group"].unique().tolist() == ["Liège", "Namur"]


def test_compare_by_unknown_column(corpus, tm):
    with pytest.raises(ValueError, match="province"):
        tables.compare_by(corpus[0], tm, "region")


def test_compare_by_empty_values_form_a_group(tm):
    docs = pd.DataFrame({"doc_id": ["a", "b", "c"], "mandate": ["", "x", ""]})
    by = tables.compare_by(docs, tm, "mandate")
    assert _cell(by, group="(non renseigné)", theme="logement")["n_docs"] == 2


# --------------------------------------------------------------------------- similarity


def test_cosine_of_known_vectors():
    m = similarity.cosine_matrix([[1, 0], [1, 1], [0, 0]])
    assert m[0, 1] == pytest.approx(1 / math.sqrt(2))
    assert m[2, 0] == 0 and m[2, 2] == 0  # a zero vector is similar to nothing


def test_lemma_tfidf_cosine_by_hand():
    # idf (smoothed) = ln((1+n)/(1+df)) + 1 with n = 3: x (df 2) → ln(4/3)+1, y/z/w → ln 2 + 1
    ix, iy = math.log(4 / 3) + 1, math.log(2) + 1
    m = similarity.lemma_similarity(["x y", "x z", "w"])
    assert m[0, 1] == pytest.approx(ix * ix / (ix * ix + iy * iy))
    assert m[0, 2] == 0
    assert m[0, 0] == pytest.approx(1)


def test_similarity_table(corpus, tm):
    documents, units, nlp = corpus
    sim = similarity.similarity(documents, units, nlp, tm)
    assert list(sim.columns) == ["doc_a", "doc_b", "cosine_lemmas", "cosine_themes"]
    assert len(sim) == 6  # ordered pairs of 3 documents, no self pairs
    pair = sim.set_index(["doc_a", "doc_b"])
    # theme profiles a = (1/6, 1/2, 1/6, 1/3, 0, 0), c = (0, 1, 0, 0, 1/2, 0):
    # a·c = 1/2, |a| = √15/6, |c| = √5/2 → 6/√75
    assert pair.loc[("a", "c"), "cosine_themes"] == pytest.approx(round(6 / math.sqrt(75), 4))
    assert pair.loc[("b", "c"), "cosine_themes"] == pytest.approx(round(1 / math.sqrt(5), 4))
    assert pair.loc[("a", "b"), "cosine_themes"] == 0
    assert pair.loc[("a", "c"), "cosine_lemmas"] == pair.loc[("c", "a"), "cosine_lemmas"]
    assert pair["cosine_lemmas"].between(0, 1).all()
    # a and c share "logement"; b and c share nothing
    assert pair.loc[("a", "c"), "cosine_lemmas"] > 0 and pair.loc[("b", "c"), "cosine_lemmas"] == 0
    m = similarity.similarity_matrix(sim, "cosine_themes", compare.commune_label(documents))
    assert m.loc["Alpha", "Alpha"] == 1.0 and m.loc["Gamma", "b"] == m.loc["b", "Gamma"]


# --------------------------------------------------------------------------- keyness


def test_log_likelihood_2x2_by_hand():
    # a=10 of c=100 words, b=5 of d=200: E1 = 5, E2 = 10 → 2(10 ln 2 + 5 ln ½) = 10 ln 2
    assert keyness.log_likelihood(10, 5, 100, 200) == pytest.approx(10 * math.log(2))
    assert keyness.log_likelihood(0, 0, 100, 200) == 0
    # same relative frequency → no keyness
    assert keyness.log_likelihood(1, 2, 100, 200) == pytest.approx(0, abs=1e-12)


def _g2(a, b, c, d):
    e1, e2 = c * (a + b) / (c + d), d * (a + b) / (c + d)
    return 2 * (a * math.log(a / e1) + (b * math.log(b / e2) if b else 0))


def test_distinctive_terms_by_hand(corpus):
    documents, units, nlp = corpus
    dt = keyness.distinctive_terms(documents, units, nlp, min_count=2)
    # lemmas: a 17, b 13, c 7 (37 in all); terms seen at least twice in one document:
    # a: logement 3 (rest 2); b: famille 2 (rest 0), cpas 2 (rest 1); c: logement 2 (rest 3)
    got = {(r.doc_id, r.term): r for r in dt.itertuples()}
    assert sorted(got) == [("a", "logement"), ("b", "cpas"), ("b", "famille"), ("c", "logement")]
    r = got[("b", "famille")]
    assert (r.count_doc, r.count_rest, r.rank) == (2, 0, 1)
    assert r.log_likelihood == pytest.approx(round(_g2(2, 0, 13, 24), 4))
    assert r.per_10k_doc == pytest.approx(round(2 / 13 * 10_000, 4))
    assert got[("b", "cpas")].rank == 2
    assert got[("b", "cpas")].log_likelihood == pytest.approx(round(_g2(2, 1, 13, 24), 4))
    assert got[("a", "logement")].log_likelihood == pytest.approx(round(_g2(3, 2, 17, 20), 4))
    assert got[("c", "logement")].per_10k_rest == pytest.approx(round(3 / 30 * 10_000, 4))


def test_distinctive_terms_only_over_use_and_ties_alphabetical():
    docs = pd.DataFrame({"doc_id": ["x", "y"], "status": ["ok", "ok"]})
    units = pd.DataFrame({"doc_id": ["x", "y"], "unit_id": ["x1", "y1"],
                          "kind": ["statement", "statement"]})
    nlp = pd.DataFrame({"doc_id": ["x", "y"], "unit_id": ["x1", "y1"],
                        "lemmas": ["zeta alpha zeta alpha", "beta gamma beta alpha"]})
    dt = keyness.distinctive_terms(docs, units, nlp, min_count=2)
    # x: alpha 2 (rest 1), zeta 2 (rest 0), bigram "zeta alpha" 2 (rest 0): zeta and
    # "zeta alpha" have equal G² and counts → alphabetical; alpha has lower G² (rest 1)
    assert dt[dt["doc_id"] == "x"]["term"].tolist() == ["zeta", "zeta alpha", "alpha"]
    # y: beta 2 (rest 0); alpha 1 is under min_count
    assert dt[dt["doc_id"] == "y"]["term"].tolist() == ["beta"]
    assert (dt["log_likelihood"] > 0).all()


# --------------------------------------------------------------------------- partners


def test_gazetteer_matching_rules():
    gaz = compare.load_gazetteer()
    assert gaz.find("Partenariats MM/Aigs/One et le FOREM") == ["AIGS", "FOREM", "MM", "ONE"]
    assert gaz.find("avec l'ONE et la maison médicale") == ["MM", "ONE"]
    assert gaz.find("l'ONEM et someone, le forem") == ["ONEM"]  # case-sensitive acronyms
    assert gaz.find("MM. Dupont et Durand") == []  # "MM." = Messieurs
    assert gaz.find("la Banque Alimentaire et une agence immobilière sociale") == [
        "AIS", "Banque alimentaire"]
    assert gaz.find("le RGPD et le PST") == []


def test_partners_table(corpus):
    documents, units, nlp = corpus
    pt = compare.partners(documents, units, nlp)
    assert list(pt.columns) == ["doc_id", "unit_id", "partner", "category", "source"]
    got = set(pt[["doc_id", "unit_id", "partner", "source"]].itertuples(index=False, name=None))
    assert got == {("a", "a4", "AIS", "gazetteer"), ("a", "a5", "FOREM", "gazetteer"),
                   ("b", "b2", "MM", "gazetteer"), ("b", "b2", "ONE", "gazetteer"),
                   ("b", "b3", "FOREM", "gazetteer"), ("b", "b2", "Croix Bleue", "ner")}
    # CPAS / "CPAS de Bêta" (the CPAS itself), PST (ignored), FOREM/AIS (gazetteer), LOC: dropped
    assert _cell(pt, partner="AIS")["category"] == "logement"
    summary = compare.partner_summary(pt)
    assert summary.iloc[0]["partner"] == "FOREM" and summary.iloc[0]["n_docs"] == 2
    assert summary.iloc[0]["doc_ids"] == "a;b"
    assert set(summary["n_docs"]) == {1, 2}


# --------------------------------------------------------------------------- shared passages


def test_split_sentences():
    assert passages.split_sentences("Un. Deux trois ! « Quatre » cinq. six") == [
        "Un.", "Deux trois !", "« Quatre » cinq. six"]


def test_shared_passages_across_documents(corpus):
    documents, units, _ = corpus
    # as written, the recurring sentence is in preambles (a2, b1, c1): never compared
    sp, summary = passages.find_shared(documents, units)
    assert sp.empty
    # sentences of ≥ 8 words of content units: a none, b 2 (b2, b3), c 1 (c3)
    assert summary.set_index("doc_id")["n_sentences"].to_dict() == {"a": 0, "b": 2, "c": 1}
    # the same texts as statements (a9, the signature, too)
    kinds = {"a2": "statement", "b1": "statement", "c1": "statement", "a9": "statement"}
    units = units.assign(kind=[kinds.get(u, k) for u, k in zip(units["unit_id"], units["kind"],
                                                                strict=True)])
    sp, summary = passages.find_shared(documents, units)
    # the "nouvelle mandature/législature … 6/six prochaines années" sentence of a2, b1, c1;
    # the "Le conseil évaluera…" sentence recurs in a only (a2, a9): not a shared passage
    assert sp["passage_id"].unique().tolist() == ["P0001"]
    assert sp["doc_id"].tolist() == ["a", "b", "c"]
    assert sp["unit_id"].tolist() == ["a2", "b1", "c1"]
    assert (sp["n_docs"] == 3).all()
    sim = sp.set_index("doc_id")["similarity"]
    assert sim["a"] == 1.0 and sim["c"] == 1.0  # c is identical to the first member (a)
    assert 0.85 <= sim["b"] < 1.0  # mandature → législature, 6 → six
    assert not sp["text"].str.contains("conseil évaluera").any()
    s = summary.set_index("doc_id")
    # sentences of ≥ 8 words: a 3 (a2 ×2, a9), b 4 (b1 ×2, b2, b3), c 2 (c1, c3)
    assert s["n_sentences"].to_dict() == {"a": 3, "b": 4, "c": 2}
    assert s["n_shared"].to_dict() == {"a": 1, "b": 1, "c": 1}
    assert s.loc["b", "share_shared"] == 0.25 and s.loc["c", "share_shared"] == 0.5


def test_shared_passages_not_within_one_document_only():
    docs = pd.DataFrame({"doc_id": ["x", "y"]})
    same = "Le CPAS renforcera son accompagnement des familles monoparentales de la commune."
    units = pd.DataFrame({"doc_id": ["x", "x", "y"], "unit_id": ["x1", "x2", "y1"],
                          "kind": ["statement"] * 3,
                          "text": [same, same, "Une tout autre phrase sans aucun rapport avec la première."]})
    sp, summary = passages.find_shared(docs, units)
    assert sp.empty
    assert summary["n_shared"].tolist() == [0, 0]


def test_near_duplicates_found_through_rare_word_blocking():
    # the two sentences share no exact form; blocking must still bring them together
    docs = pd.DataFrame({"doc_id": ["x", "y", "z"]})
    units = pd.DataFrame({
        "doc_id": ["x", "y", "z"], "unit_id": ["x1", "y1", "z1"], "kind": ["statement"] * 3,
        "text": ["Le CPAS développera une épicerie sociale avec les bénévoles du quartier nord.",
                 "Le CPAS développera une épicerie sociale avec des bénévoles du quartier nord.",
                 "Les aînés isolés bénéficieront d'un service de repas à domicile tous les jours."]})
    sp, _ = passages.find_shared(docs, units)
    assert sp["doc_id"].tolist() == ["x", "y"]


# --------------------------------------------------------------------------- benchmark


@pytest.fixture(scope="module")
def built(corpus):
    documents, units, nlp = corpus
    return compare.build_tables(documents, units, nlp, None, CODEBOOK, by=["province"])


def test_build_tables_keys_and_determinism(corpus, built):
    assert set(built) == {"theme_matrix", "axis_themes", "similarity", "distinctive_terms",
                          "partners", "partners_summary", "shared_passages",
                          "shared_passages_summary", "structure", "by_province"}
    documents, units, nlp = corpus
    again = compare.build_tables(documents, units.sample(frac=1, random_state=1), nlp, None,
                                 CODEBOOK, by=["province"])
    for k, df in built.items():
        pd.testing.assert_frame_equal(df.reset_index(drop=True), again[k].reset_index(drop=True))


def test_benchmark_below_ten_peers_gives_ranks_not_statistics(built):
    b = compare.benchmark("a", built)
    e = b.emphasis.set_index("theme")
    assert e["z_score"].isna().all() and e["percentile"].isna().all()  # 2 peers only
    # logement: a 0.5; peers 0 (b) and 1 (c) → rank 2 of 3; insertion: a alone → rank 1
    assert (e.loc["logement", "rank"], e.loc["insertion", "rank"]) == (2, 1)
    assert e.loc["logement", "peers_median"] == 0.5
    text = b.to_text()
    assert "rang 2/3" in text and "z =" not in text and "centile " not in text


def test_benchmark_logic(built, monkeypatch):
    import importlib

    bm = importlib.import_module("pipeline.compare.benchmark")  # the module, not the function
    monkeypatch.setattr(bm, "MIN_PEERS_FOR_STATS", 1)  # the statistics on a tiny corpus
    b = compare.benchmark("a", built)
    assert b.n_peers == 2 and b.commune_label == "Alpha"
    # peers b, c: insertion/synergies/finances covered by neither; logement by c only (50 %,
    # not "most"); sante by both, absent from a
    assert b.unique_themes["theme"].tolist() == ["insertion", "synergies", "finances"]
    assert b.missing_themes["theme"].tolist() == ["sante"]
    assert b.missing_themes["peers_present"].tolist() == [1.0]
    e = b.emphasis.set_index("theme")
    # logement: a 0.5; peers 0 (b) and 1 (c) → mean 0.5, sd 0.5, z 0, percentile 50
    assert (e.loc["logement", "peers_mean"], e.loc["logement", "z_score"]) == (0.5, 0.0)
    assert e.loc["logement", "percentile"] == 50.0
    assert math.isnan(e.loc["sante", "z_score"])  # peers all at 0.5: no spread
    assert e.loc["insertion", "percentile"] == 100.0
    themes = b.nearest[b.nearest["measure"] == "thèmes"]
    assert themes["doc_id"].tolist() == ["c", "b"]  # 0.6928 then 0
    assert b.terms["term"].tolist() == ["logement"]
    text = b.to_text()
    assert "Alpha" in text and "Santé" in text and "Gamma" in text


def test_benchmark_unknown_doc(built):
    with pytest.raises(ValueError, match="a, b, c"):
        compare.benchmark("zzz", built)


def test_benchmark_from_csv_round_trip(built, tmp_path):
    # load_results may read CSV (keep_default_na=False): booleans come back as text
    loaded = {}
    for k in ("theme_matrix", "similarity", "distinctive_terms"):
        built[k].to_csv(tmp_path / f"{k}.csv", index=False)
        loaded[k] = pd.read_csv(tmp_path / f"{k}.csv", keep_default_na=False, dtype={"present": str})
    b = compare.benchmark("c", loaded)
    assert b.unique_themes.empty
    assert b.missing_themes.empty  # no theme is covered by both a and b
    assert b.nearest[b.nearest["measure"] == "thèmes"]["doc_id"].tolist() == ["a", "b"]


def test_benchmark_single_document(corpus):
    documents, units, nlp = corpus
    one = compare.build_tables(documents[documents["doc_id"] == "c"], units, nlp, None, CODEBOOK)
    b = compare.benchmark("c", one)
    assert b.n_peers == 0 and "pas de comparaison" in b.to_text()



def _same_benchmark(a, b):
    assert (a.doc_id, a.commune_label, a.n_peers) == (b.doc_id, b.commune_label, b.n_peers)
    for part in ("unique_themes", "missing_themes", "emphasis", "nearest", "terms"):
        pd.testing.assert_frame_equal(getattr(a, part).reset_index(drop=True),
                                      getattr(b, part).reset_index(drop=True), obj=part)


def test_benchmark_all_matches_benchmark_per_document(built):
    every = compare.benchmark_all(built)
    assert list(every) == ["a", "b", "c"]
    for d, b in every.items():
        _same_benchmark(b, compare.benchmark(d, built))
    # the hand-checked facts of test_benchmark_logic hold for the batch result too
    a = every["a"]
    assert a.missing_themes["theme"].tolist() == ["sante"]
    assert a.nearest[a.nearest["measure"] == "thèmes"]["doc_id"].tolist() == ["c", "b"]
    assert compare.benchmark_all({}) == {}


def test_benchmark_records_without_dataframes(built):
    import pickle

    b = compare.benchmark_all(built)["a"]
    # rows as plain dicts, read before any DataFrame was built
    near = b.records("nearest")
    assert [(r["measure"], r["rank"], r["doc_id"]) for r in near if r["measure"] == "thèmes"] \
        == [("thèmes", 1, "c"), ("thèmes", 2, "b")]
    assert "emphasis" not in b.__dict__
    emph = b.records("emphasis")
    assert emph == b.emphasis.to_dict("records") or all(  # NaN != NaN: compare field by field
        all(x == y or (x != x and y != y) for x, y in zip(r1.values(), r2.values(), strict=True))
        for r1, r2 in zip(emph, b.emphasis.to_dict("records"), strict=True))
    assert b.records("terms") == b.terms.to_dict("records")
    assert [r["term"] for r in b.records("terms")] == ["logement"]
    again = pickle.loads(pickle.dumps(b))
    _same_benchmark(again, b)
    assert "Alpha" in repr(b) and "Alpha" in again.to_text()
    with pytest.raises(AttributeError):
        b.no_such_field  # noqa: B018


def test_structure_first_hits_stop_per_document():
    cfg = {"budget_patterns": [r"(?i)\bbudget\b"], "pst_patterns": [r"\bPST\b"],
           "budget_kinds": ["objective"]}
    docs = ["x", "x", "x", "y", "y"]
    kinds = ["preamble", "objective", "objective", "objective", "preamble"]
    fulls = ["Le budget du CPAS", "1. Un budget clair", "2. Le budget encore", "Rien",
             "Lien avec le PST"]
    evidence, pst = tables._first_hits(docs, kinds, fulls, cfg)
    # the preamble of x mentions the budget but is not of a budget kind; the first objective is
    assert evidence == {"x": "1. Un budget clair"}
    assert pst == {"y"}


# --------------------------------------------------------------------------- workbook


def test_workbook_has_all_sheets(built, tmp_path):
    """Sheets and headers; the rest of the workbook: tests/export/test_export_workbook.py."""
    from openpyxl import load_workbook

    from pipeline.export.workbook import column_info

    path = write_workbook(built, tmp_path / "cpas-compare.xlsx")
    wb = load_workbook(path)
    assert wb.sheetnames == ["À lire", "Thèmes par déclaration", "Matrice des thèmes",
                             "Axes et thèmes", "Similarité", "Termes distinctifs", "Partenaires",
                             "Partenaires (synthèse)", "Passages communs",
                             "Reprises par déclaration", "Structure", "Par province",
                             "Dictionnaire des données"]
    ws = wb["Thèmes par déclaration"]
    assert ws.freeze_panes == "A2"
    assert [c.value for c in ws[1]] == [column_info("theme_matrix", c).header
                                        for c in built["theme_matrix"].columns]
    assert ws["F1"].value == "Part des unités"  # share_units
    assert ws.max_row == len(built["theme_matrix"]) + 1
    assert ws.column_dimensions["A"].width >= len("Identifiant")
    assert not list(tmp_path.glob(".*.tmp"))  # atomic: no temporary file left
    first = path.read_bytes()
    write_workbook(built, path)
    assert path.read_bytes() == first  # deterministic bytes


def test_workbook_keeps_formula_like_text_as_text(tmp_path):
    from openpyxl import load_workbook

    df = pd.DataFrame({"text": ["=SOMME(A1:A2)", "ok\x07"], "n": [1, float("nan")]})
    path = write_workbook({"partners": df}, tmp_path / "w.xlsx")
    ws = load_workbook(path)["Partenaires"]
    assert ws["A2"].value == "=SOMME(A1:A2)" and ws["A2"].data_type == "s"
    assert ws["A3"].value == "ok" and ws["B3"].value is None


def test_ner_noise_is_filtered():
    docs = pd.DataFrame({"doc_id": ["x"]})
    units = pd.DataFrame({"doc_id": ["x"], "unit_id": ["x1"], "kind": ["statement"],
                          "label": [""], "text": ["Texte sans sigle."]})
    ents = [["Renforcer", "ORG"], ["Commune-CPAS", "ORG"], ["Taxi Social", "ORG"],
            ["Plan de Cohésion Social Communal", "ORG"], ["UNIA", "ORG"],
            ["Un très long fragment de phrase pris pour une organisation", "ORG"]]
    nlp = pd.DataFrame({"doc_id": ["x"], "unit_id": ["x1"], "entities": [json.dumps(ents)]})
    pt = compare.partners(docs, units, nlp)
    # sentence-initial word, the CPAS itself, a gazetteer name (PCS) and a fragment are dropped
    assert pt["partner"].tolist() == ["Taxi Social", "UNIA"]
    assert set(pt["source"]) == {"ner"}


def test_workbook_cells_land_in_their_columns_around_empty_cells(tmp_path):
    """Empty cells are left out: every value must still be read back in its own column, with
    its type (booleans as oui / non)."""
    from openpyxl import load_workbook

    df = pd.DataFrame({"a": ["x", "y", None, "z"], "b": [1.5, float("nan"), 2.0, -0.0],
                       "c": [1, 2, 3, 4], "d": [True, False, True, None]})
    path = write_workbook({"structure": df}, tmp_path / "w.xlsx")
    ws = load_workbook(path)["Structure"]
    assert [tuple(r) for r in ws.iter_rows(values_only=True)] == [
        ("a", "b", "c", "d"), ("x", 1.5, 1, "oui"), ("y", None, 2, "non"),
        (None, 2.0, 3, "oui"), ("z", 0, 4, None)]
    assert ws["C5"].value == 4 and ws["C5"].data_type == "n" and ws["D2"].data_type == "s"
    assert ws.max_row == 5 and ws.max_column == 4


# --------------------------------------------------------------------------- shared inputs


def test_word_count_and_single_spaced_match_split():
    from pipeline.compare.common import single_spaced, word_count

    # the quick paths rest on: every whitespace character but " " is unprintable, and the
    # regex \s is exactly str.isspace
    chars = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    spaces = [c for c in chars if c.isspace()]
    assert all(c == " " or not c.isprintable() for c in spaces)
    assert re.findall(r"\s", chars) == spaces
    rng = random.Random(0)
    alphabet = ["a", "é", "b", " ", " ", "  ", "\t", "\n", "\xa0", "\u2003", "\x1c", "."]
    for _ in range(3000):
        text = "".join(rng.choices(alphabet, k=rng.randint(0, 12))).strip()
        assert word_count(text) == len(text.split())
        if single_spaced(text):
            assert re.sub(r"\s+", " ", text) == text
    assert word_count("") == 0 and word_count("un deux  trois") == 3


def test_split_sentences_quick_path_same_as_collapsing_whitespace():
    from pipeline.segment import load_patterns
    from pipeline.segment.sentences import split_sentences as split

    abbreviations = load_patterns().abbreviations
    for text in ["Un. Deux trois !", "  M. Dupont  arrive.\nLe CPAS\u00a0aide. ", "",
                 "a\tb. C d.", "Le PST. Le C.P.A.S. de Liège."]:
        collapsed = re.sub(r"\s+", " ", text).strip()
        expected = [collapsed[s:e] for s, e in split(collapsed, abbreviations=abbreviations)]
        assert passages.split_sentences(text) == expected


def test_prepared_reads_units_once_in_reading_order():
    from pipeline.compare.inputs import CompareInputs

    docs = pd.DataFrame({"doc_id": ["y", "x", "z"], "status": ["ok", "ok", "error"]})
    units = pd.DataFrame({
        "doc_id": ["y", "x", "z", "x", "y"], "unit_id": ["y2", "x2", "z1", "x1", "y1"],
        "kind": ["statement", "title", "statement", "action", "objective"],
        "text": [" deux mots ", "Titre", "z", "trois mots ici", None],
        "start": [20, 10, 0, 0, 5], "themes": ["b; a ;b", "a", "a", ";", "c"]})
    p = CompareInputs(docs, units)
    assert p.ids == ["x", "y"]
    assert p.doc_code.tolist() == [1, 0, -1, 0, 1]
    assert p.reading_order.tolist() == [3, 1, 4, 0]  # x by start, then y by start
    assert p.n_words.tolist() == [2, 1, 1, 3, 0]
    # themes of content units only ("title" is not content), each once
    assert p.themes_of == [("b", "a"), (), ("a",), (), ("c",)]
    ut = pd.DataFrame({"doc_id": ["y", "y", "x", "x", "q"], "unit_id": ["y2", "y2", "x2", "x1", "q1"],
                       "theme": ["b", "b", "a", "c", "a"]})
    p2 = CompareInputs(docs, units.drop(columns="themes"), unit_themes=ut)
    assert p2.themes_of == [("b",), (), (), ("c",), ()]
    pos, themes = p2.theme_pairs
    assert pos.tolist() == [0, 3] and themes == ["b", "c"]


def test_lemma_counts_by_hand():
    from pipeline.compare.inputs import lemma_counts

    units = pd.DataFrame({"doc_id": ["a", "a", "b", "c"], "unit_id": ["a1", "a2", "b1", "c1"],
                          "kind": ["statement", "title", "action", "statement"]})
    nlp = pd.DataFrame({"doc_id": ["b", "a", "a", "c", "b"], "unit_id": ["b1", "a1", "a2", "c1", "bx"],
                        "lemmas": ["y z", " x  y ", "titre", "x", "absent"]})
    lc = lemma_counts(["a", "b"], units, nlp)  # c is not compared; a2 is a title; bx unknown
    assert lc.terms.tolist() == ["y", "z", "x"]  # first seen in nlp order
    assert lc.words.tolist() == [2.0, 2.0]
    # bigrams within a unit only: "y z" (b1), "x y" (a1)
    assert lc.all_terms().tolist() == ["y", "z", "x", "y z", "x y"]
    assert lc.counts.toarray().tolist() == [[1, 0, 1, 0, 1], [1, 1, 0, 1, 0]]
    assert lc.unigrams.toarray().tolist() == [[1, 0, 1], [1, 1, 0]]
    assert lc.term(np.array([4, 0])).tolist() == ["x y", "y"]
    empty = lemma_counts(["a"], units, nlp.iloc[0:0])
    assert empty.counts.shape == (1, 0) and empty.words.tolist() == [0.0]


def test_count_cells_give_the_canonical_csr():
    from scipy.sparse import coo_matrix

    from pipeline.compare.inputs import count_cells, csr_from_cells

    rng = np.random.default_rng(0)
    rows, cols = rng.integers(0, 7, 500), rng.integers(0, 40, 500)
    expected = coo_matrix((np.ones(500), (rows, cols)), shape=(9, 40)).tocsr()
    got = csr_from_cells(*count_cells(rows, cols, 40), (9, 40))
    for part in ("data", "indices", "indptr"):
        assert np.array_equal(getattr(got, part), getattr(expected, part))
        assert getattr(got, part).dtype == getattr(expected, part).dtype


def test_build_tables_same_as_each_table_function(corpus, built):
    """build_tables shares the read inputs between tables: same tables as computed alone."""
    documents, units, nlp = corpus
    tm = tables.theme_matrix(documents, units, CODEBOOK)
    alone = {
        "theme_matrix": tm, "axis_themes": tables.axis_themes(documents, units, CODEBOOK),
        "similarity": similarity.similarity(documents, units, nlp, tm),
        "distinctive_terms": keyness.distinctive_terms(documents, units, nlp),
        "partners": compare.partners(documents, units, nlp),
        "structure": tables.structure(documents, units)}
    alone["shared_passages"], alone["shared_passages_summary"] = passages.find_shared(
        documents, units)
    for k, df in alone.items():
        pd.testing.assert_frame_equal(built[k], df)


def test_top_candidates_keep_every_row_that_can_rank():
    rng = np.random.default_rng(2)
    doc = rng.integers(0, 4, 300)
    score = rng.integers(0, 6, 300).astype(float)  # many ties
    count = rng.integers(1, 4, 300).astype(float)
    for top in (1, 3, 10):
        keep = keyness.top_candidates(doc, score, count, top)
        for d in range(4):
            rows = np.flatnonzero(doc == d)
            ranked = sorted(rows, key=lambda i: (-score[i], -count[i]))
            cut = ranked[min(top, len(ranked)) - 1]
            # kept: exactly the rows ranking at least as well as the top-th one
            want = {i for i in rows if (score[i], count[i]) >= (score[cut], count[cut])}
            assert set(np.flatnonzero(keep & (doc == d))) == want
    assert keyness.top_candidates(doc, score, count, 0).all()


def test_gazetteer_grouped_alternation_matches_like_the_flat_list():
    from pipeline.compare.partners import _alternation, _distinct_first_chars

    gaz = compare.load_gazetteer()
    exact = sorted(f for f in gaz.by_form if " " not in f)
    folded = sorted(f for f in gaz.by_form if " " in f)

    def flat(forms, guard):  # the regex before grouping: every form, longest first
        parts = [r"\s+".join(re.escape(w) for w in f.split())
                 + (r"(?!\.)" if guard and len(f) == 2 else "")
                 for f in sorted(forms, key=lambda x: (-len(x), x))]
        return r"(?<![\w-])(?:" + "|".join(parts) + r")(?![\w-])"

    pairs = [(re.compile(flat(exact, True)), gaz.exact),
             (re.compile(flat(folded, False).replace("'", "['’]"), re.I), gaz.folded)]
    assert all(a.pattern != b.pattern for a, b in pairs)  # the gazetteer's are grouped
    rng = random.Random(3)
    words = (exact + folded + [f.upper() for f in folded] + [f.title() for f in folded]
             + ["le", "MM.", "-", "One", "l’emploi", "x", "\n", "ONEM", "Forem-", "à"])
    for _ in range(2000):
        text = " ".join(rng.choices(words, k=rng.randint(1, 8)))
        for flat_rx, grouped in pairs:
            assert ([m.span() for m in flat_rx.finditer(text)]
                    == [m.span() for m in grouped.finditer(text)])
        assert gaz.exact_hint.search(text) or not gaz.exact.search(text)
    # no grouping when one character could open two groups ("ſ" is "s" ignoring case)
    assert _distinct_first_chars(["a", "b", "s"], re.I)
    assert not _distinct_first_chars(["a", "s", "ſ"], re.I)
    assert "ſ(?:" not in _alternation(["ſa b", "sa c"], False, flags=re.I)
    assert "s(?:" in _alternation(["sa b", "sb c"], False, flags=re.I)


def test_axis_themes_count_units_at_any_depth_under_nested_axes():
    docs = pd.DataFrame({"doc_id": ["x"]})
    units = pd.DataFrame({
        "doc_id": ["x"] * 6, "unit_id": ["A", "B", "o1", "a1", "a2", "t"],
        "parent_id": ["", "A", "A", "B", "o1", ""],
        "kind": ["axis", "axis", "objective", "action", "action", "title"],
        "label": ["AXE 1", "AXE 1.1", "", "", "", ""], "text": ["Un", "Deux", "o", "a", "b", "T"],
        "start": [0, 10, 20, 30, 40, 50], "themes": ["logement", "", "sante", "logement", "", ""]})
    ax = tables.axis_themes(docs, units, CODEBOOK).set_index("unit_id")
    # A: B, o1, a1, a2 (4 content units, the nested axis included); B: a1 only
    assert ax.loc["A", "n_units"] == 4 and ax.loc["B", "n_units"] == 1
    assert ax.loc["A", "dominant_themes"] == "logement (0.25); sante (0.25)"
    assert ax.loc["B", "dominant_themes"] == "logement (1.00)"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="abcde ", min_size=1, max_size=60),
       st.text(alphabet="abcde ", min_size=1, max_size=60),
       st.sampled_from([60.0, 85.0, 95.0]))
def test_length_bound_never_drops_a_matching_pair(a, b, threshold):
    """Candidate pairs whose lengths cannot reach the threshold are dropped before scoring:
    the bound must hold for every pair that does reach it."""
    from pipeline.compare.passages import _reachable, _score

    short, long_ = np.array([min(len(a), len(b))]), np.array([max(len(a), len(b))])
    if _score(a, b, threshold) >= threshold:
        assert _reachable(short, long_, threshold)[0]
