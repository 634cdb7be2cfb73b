"""Links checked by a person (``pipeline.trace.review``): reading the file, matching its rows
to units, applying the decisions, and a whole analysis that reads ``corpus/trace_review.csv``.

The tiny corpus of ``test_tables`` (one declaration, one plan, written by hand) is reused:
the tool links d2 → p3 (same words) and d5 → p7, leaves d3 (roofs) and p5 (a car) alone.
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.trace import build_trace
from pipeline.trace.review import (
    ADDED,
    CONFIRMED,
    REMOVED,
    REVIEWED,
    apply_review,
    load_review,
    match_review,
)
from tests.trace.test_tables import (
    DOCUMENTS,
    HOUSING,
    NLP,
    TRAINING,
    UNIT_THEMES,
    UNITS,
    _row,
)

LINKED, NOT_CARRIED = "dans le PST", "pas dans le PST"
CAR = "Acheter un véhicule électrique pour le service technique"
ROOFS = "Isoler les toitures des bâtiments du CPAS"


def _review(rows: list[tuple[str, str, str, str, str]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["dps_doc", "dps_text", "pst_doc", "pst_text", "decision"])
    df.attrs["line"] = list(range(2, len(df) + 2))
    df.attrs["name"] = "trace_review.csv"
    return df


# --------------------------------------------------------------------------- reading

def test_load_review_without_decision_column_names_the_fix(tmp_path):
    p = tmp_path / "trace_review.csv"
    p.write_text("dps_doc,dps_text,pst_doc,pst_text\nfl-dps,x,fl-pst,y\n", encoding="utf-8")
    with pytest.raises(ValueError) as err:
        load_review(p)
    assert "decision" in str(err.value) and "trace_review.csv" in str(err.value)


def test_load_review_reads_a_french_excel_file_and_keeps_line_numbers(tmp_path):
    p = tmp_path / "trace_review.csv"
    p.write_bytes("dps_doc;dps_text;pst_doc;pst_text;decision\n"
                  f"fl-dps;{ROOFS};fl-pst;{CAR};Lien\n".encode("cp1252"))
    df = load_review(p)
    assert df.loc[0, "decision"] == "Lien" and df.loc[0, "dps_text"] == ROOFS
    assert df.attrs["line"] == [2]
    assert load_review(None) is None
    with pytest.raises(FileNotFoundError) as err:
        load_review(tmp_path / "absent.csv")
    assert "absent.csv introuvable" in str(err.value)


def test_load_review_reads_column_names_as_people_write_them(tmp_path, capsys):
    p = tmp_path / "trace_review.csv"
    p.write_text("DPS_doc,dps_text,pst_doc,pst_text,Décision\nfl-dps,x,fl-pst,y,lien\n",
                 encoding="utf-8")
    assert load_review(p).loc[0, "decision"] == "lien"
    p.write_text("\n", encoding="utf-8")
    assert load_review(p) is None
    assert "une ligne par lien relu" in capsys.readouterr().err


# --------------------------------------------------------------------------- matching

def test_match_review_exact_and_fuzzy():
    got = match_review(_review([
        ("fl-dps", ROOFS.upper() + ".", "fl-pst", CAR, "lien"),          # case, final dot
        ("fl-dps", HOUSING.replace("familles", "famille"), "fl-pst", HOUSING, "pas un lien"),
        ("fl-dps", TRAINING, "", "", "pas dans le PST"),
    ]), UNITS)
    assert got.notes == []
    assert got.for_pair("fl-dps", "fl-pst") == sorted([
        ("d3", "p5", "link"), ("d2", "p3", "not"), ("d5", "", "none")])
    assert got.digest("fl-dps", "fl-pst") and got.digest("fl-dps", "autre") != \
        got.digest("fl-dps", "fl-pst")


def test_match_review_reports_each_row_it_cannot_apply_and_keeps_the_others():
    got = match_review(_review([
        ("fl-dps", ROOFS, "fl-pst", CAR, "peut-être"),
        ("nulle-part", ROOFS, "fl-pst", CAR, "lien"),
        ("fl-dps", "Construire une piscine olympique", "fl-pst", CAR, "lien"),
        ("fl-dps", ROOFS, "fl-pst", "Repeindre la façade", "lien"),
        ("fl-dps", ROOFS, "fl-pst", CAR, "oui"),
    ]), UNITS)
    assert len(got.notes) == 4
    assert "ligne 2" in got.notes[0] and "peut-être" in got.notes[0] and "lien" in got.notes[0]
    assert "ligne 3" in got.notes[1] and "nulle-part" in got.notes[1]
    assert "ligne 4" in got.notes[2] and "promesse introuvable" in got.notes[2]
    assert "ligne 5" in got.notes[3] and "action introuvable" in got.notes[3]
    assert got.for_pair("fl-dps", "fl-pst") == [("d3", "p5", "link")]


def test_a_passage_of_four_words_finds_the_one_unit_holding_it():
    got = match_review(_review([
        ("fl-dps", "toitures des bâtiments du", "fl-pst", "véhicule électrique pour le", "lien"),
        ("fl-dps", "des toitures", "fl-pst", CAR, "lien"),  # too short to be a passage
    ]), UNITS)
    assert got.for_pair("fl-dps", "fl-pst") == [("d3", "p5", "link")]
    assert len(got.notes) == 1 and "ligne 3" in got.notes[0]


def test_a_unit_id_counts_only_while_its_text_agrees():
    df = _review([("fl-dps", ROOFS, "fl-pst", CAR, "lien")])
    df["dps_unit"], df["pst_unit"] = "d2", "p5"  # d2 is the housing promise, not the roofs
    got = match_review(df, UNITS)
    assert got.for_pair("fl-dps", "fl-pst") == [("d3", "p5", "link")]


def test_a_unit_id_alone_names_the_unit():
    """A close miss copied from trace.csv has no pst_text: the id of its best candidate is
    enough."""
    df = _review([("fl-dps", ROOFS, "fl-pst", "", "lien")])
    df["dps_unit"], df["pst_unit"] = "", "p5"
    assert match_review(df, UNITS).for_pair("fl-dps", "fl-pst") == [("d3", "p5", "link")]


def test_rows_the_tracing_cannot_read_blank_and_contradicting_rows_are_named():
    got = match_review(_review([
        ("fl-dps", ROOFS, "fl-pst", "Disposer de logements de transit", "lien"),  # OO with actions
        ("fl-dps", "Logement", "fl-pst", CAR, "lien"),  # an axis title
        ("fl-dps", ROOFS, "fl-pst", CAR, ""),
        ("fl-dps", HOUSING, "fl-pst", HOUSING, "lien"),
        ("fl-dps", HOUSING, "fl-pst", HOUSING, "pas un lien"),
        ("fl-dps", TRAINING, "fl-pst", TRAINING, "lien"),
    ]), UNITS)
    assert got.for_pair("fl-dps", "fl-pst") == [("d5", "p7", "link")]
    notes = "\n".join(got.notes)
    assert "ligne 2" in notes and "p2 est un objectif avec des actions" in notes
    assert "ligne 3" in notes and "d1 n'est pas une promesse" in notes
    assert "lignes 5, 6 : décisions contraires sur d2 → p3" in notes
    assert "1 ligne(s) sans décision" in notes
    assert len(got.notes) == 4


def test_decisions_on_a_pair_the_tracing_does_not_make_are_named():
    got = match_review(_review([
        ("fl-dps", ROOFS, "fl-pst", CAR, "lien"),
        ("fl-dps", TRAINING, "", "", "pas dans le PST"),
    ]), UNITS)
    assert got.unused([("fl-dps", "fl-pst")]) == []
    lines = got.unused([])
    assert len(lines) == 2 and all("pair_of" in x for x in lines)
    assert any("fl-dps → fl-pst" in x and "pas reliée à ce plan" in x for x in lines)
    assert any("fl-dps (sans plan nommé)" in x and "reliée à aucun plan" in x for x in lines)


# --------------------------------------------------------------------------- applying

def test_apply_review_by_hand():
    links = [[0], [], [1, 2]]
    src, dst = ["a", "b", "c"], ["x", "y", "z"]
    got = apply_review(links, src, dst, [
        ("a", "x", "link"), ("b", "z", "link"), ("c", "y", "not"), ("zz", "x", "link")])
    assert got.links == [[0], [2], [2]]
    assert got.flags == {(0, 0): CONFIRMED, (1, 2): ADDED}
    assert got.touched == {0, 1, 2} and got.rows == {} and got.rejected == {(2, 1)}
    got = apply_review(links, src, dst, [("c", "", "none"), ("c", "x", "link")])
    assert got.links == [[0], [], [0]] and got.touched == {2}
    got = apply_review(links, src, dst, [("c", "", "none")])
    assert got.links == [[0], [], []] and got.rows == {2: REVIEWED}
    assert got.rejected == {(2, 1), (2, 2)}
    got = apply_review(links, src, dst, [("c", "y", "not"), ("c", "z", "not")])
    assert got.rows == {2: REMOVED}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 3), max_size=3, unique=True), min_size=1, max_size=4),
       st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3),
                          st.sampled_from(["link", "not", "none"])), max_size=8))
def test_apply_review_invariants(links, decisions):
    src = [f"s{i}" for i in range(len(links))]
    dst = [f"t{j}" for j in range(4)]
    dec = [(f"s{i}", "" if d == "none" else f"t{j}", d) for i, j, d in decisions]
    got = apply_review(links, src, dst, dec)
    out, flags, touched = got.links, got.flags, got.touched
    for i, js in enumerate(out):
        assert len(js) == len(set(js))
        said = {(dst.index(t), d) for s, t, d in dec if s == src[i] and t}
        for j in range(4):
            if (j, "link") in said:
                assert j in js  # a link a person marked is always there
            elif (j, "not") in said or any(s == src[i] and d == "none" for s, _, d in dec):
                assert j not in js  # and one they removed never is
            else:
                assert (j in js) == (j in links[i])  # the rest is the tool's
    assert set(flags) <= {(i, j) for i, js in enumerate(out) for j in js}
    for (i, j), flag in flags.items():  # confirmed = the tool had it, added = it had not
        assert flag == (CONFIRMED if j in links[i] else ADDED)
        assert (src[i], dst[j], "link") in dec
    for i, said in got.rows.items():
        assert out[i] == [] and i in touched
        assert said == (REVIEWED if (src[i], "", "none") in dec else REMOVED)
    assert touched == {int(s[1:]) for s, _, _ in dec if s in src}  # unknown units: ignored


# --------------------------------------------------------------------------- the tables

def test_build_trace_with_a_review_adds_removes_and_counts():
    plain = build_trace(DOCUMENTS, UNITS, NLP, UNIT_THEMES)
    assert _row(plain["trace"], dps_unit="d2", pst_unit="p3")["status"] == LINKED
    assert _row(plain["trace"], dps_unit="d3")["status"] == NOT_CARRIED
    review = match_review(_review([
        ("fl-dps", ROOFS, "fl-pst", CAR, "lien"),
        ("fl-dps", HOUSING, "fl-pst", HOUSING, "pas un lien"),
        ("fl-dps", TRAINING, "fl-pst", TRAINING, "lien"),
    ]), UNITS)
    res = build_trace(DOCUMENTS, UNITS, NLP, UNIT_THEMES, review=review)
    t = res["trace"]
    added = _row(t, dps_unit="d3", pst_unit="p5")
    assert added["status"] == LINKED and added["review"] == ADDED
    assert added["evidence"].startswith("lien ajouté à la relecture")
    removed = _row(t, dps_unit="d2")
    assert removed["status"] == NOT_CARRIED and removed["review"] == REMOVED
    # the rejected link is never its "best candidate"
    assert removed["evidence"].startswith("lien retiré à la relecture : p3 ; meilleur candidat ")
    assert "p3 «" not in removed["evidence"]
    assert _row(t, dps_unit="d5", pst_unit="p7")["review"] == CONFIRMED
    assert set(t.loc[t["pst_unit"] == "p3", "status"]) == {"sans ancrage dans la DPS"}
    total = _row(res["trace_summary"], theme="")
    before = _row(plain["trace_summary"], theme="")
    assert (total["n_carried"], total["n_reviewed"]) == (before["n_carried"], 3)
    assert before["n_reviewed"] == 0 and set(plain["trace"]["review"]) == {""}


# --------------------------------------------------------------------------- end to end

@pytest.mark.slow
def test_analysis_reads_corpus_trace_review(tmp_path, capsys):
    """A reader copies two rows of trace.csv into corpus/trace_review.csv, marks one link
    wrong and adds one the tool missed, plus a row with a typo: the next analysis applies the
    two, names the typo's line, and its tables follow."""
    from pipeline.runner import analyze
    from tests.trace.test_render_cli import DPS_TEXT, METADATA, PST_TEXT

    corpus, out = tmp_path / "corpus", tmp_path / "out"
    corpus.mkdir()
    (corpus / "florival-dps-2025.txt").write_text(DPS_TEXT, encoding="utf-8")
    (corpus / "florival-pst-2025.txt").write_text(PST_TEXT, encoding="utf-8")
    (corpus / "metadata.csv").write_text(METADATA, encoding="utf-8")
    assert analyze(corpus, out, n_process=1, quiet=True, report=False).exit_code == 0
    trace = pd.read_csv(out / "trace.csv", dtype=str, keep_default_na=False)
    linked = trace[trace["status"] == LINKED]
    housing = linked[linked["dps_text"].str.contains("logements de transit")].iloc[0]
    roofs = trace[trace["dps_text"].str.contains("toitures")].iloc[0]
    car = trace[trace["pst_text"].str.contains("véhicule")].iloc[0]
    rows = pd.DataFrame([
        {**housing.to_dict(), "decision": "pas un lien"},
        {**roofs.to_dict(), "pst_doc": car["pst_doc"], "pst_unit": car["pst_unit"],
         "pst_text": car["pst_text"], "decision": "lien"},
        {**roofs.to_dict(), "decision": "lein"},
    ])
    rows.to_csv(corpus / "trace_review.csv", index=False)
    capsys.readouterr()
    assert analyze(corpus, out, n_process=1, quiet=True, report=False).exit_code == 0
    err = capsys.readouterr().err
    assert "trace_review.csv ligne 4" in err and "« lein » inconnue" in err
    after = pd.read_csv(out / "trace.csv", dtype=str, keep_default_na=False)
    h = after[after["dps_unit"] == housing["dps_unit"]]
    assert list(h["status"]) == [NOT_CARRIED] and list(h["review"]) == [REMOVED]
    r = after[(after["dps_unit"] == roofs["dps_unit"]) & (after["status"] == LINKED)]
    assert list(r["pst_unit"]) == [car["pst_unit"]] and list(r["review"]) == [ADDED]
    docs = pd.read_csv(out / "documents.csv", dtype=str, keep_default_na=False)
    assert "trace_review" not in " ".join(docs["doc_id"])  # never read as a declaration
    summary = pd.read_csv(out / "trace_summary.csv", dtype=str, keep_default_na=False)
    assert summary.loc[summary["theme"] == "", "n_reviewed"].tolist() == ["2"]


def test_an_explicit_review_file_that_does_not_exist_stops_before_any_work(tmp_path):
    from pipeline.runner import analyze

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "x.txt").write_text("Déclaration de politique sociale\n\n- Aider.\n", "utf-8")
    with pytest.raises(FileNotFoundError) as err:
        analyze(corpus, tmp_path / "out", n_process=1, quiet=True,
                trace_review=tmp_path / "relu.csv")
    assert "relu.csv introuvable" in str(err.value) and "--trace-review" in str(err.value)
    assert not (tmp_path / "out" / "trace.csv").exists()


def test_the_memo_keys_the_rows_on_the_review(tmp_path):
    """Rows kept in the pair cache are not reused once the review of the pair changes."""
    from pipeline.steps.trace import PairMemo
    from tests.trace.test_tables import _doc_keys

    memo = PairMemo(tmp_path, _doc_keys(UNITS), DOCUMENTS, UNIT_THEMES, None)
    plain = build_trace(DOCUMENTS, UNITS, NLP, UNIT_THEMES, memo=memo)
    review = match_review(_review([("fl-dps", ROOFS, "fl-pst", CAR, "lien")]), UNITS)
    reviewed = build_trace(DOCUMENTS, UNITS, NLP, UNIT_THEMES, memo=memo, review=review)
    assert _row(reviewed["trace"], dps_unit="d3")["review"] == ADDED
    assert _row(plain["trace"], dps_unit="d3")["status"] == NOT_CARRIED
    again = build_trace(DOCUMENTS, UNITS, NLP, UNIT_THEMES, memo=memo)  # review withdrawn
    pd.testing.assert_frame_equal(again["trace"], plain["trace"])


def test_the_runner_looks_for_the_review_file_by_its_name():
    from pipeline import runner
    from pipeline.trace import review

    assert runner.REVIEW_FILE == review.REVIEW_FILE
