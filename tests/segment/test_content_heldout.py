"""Policy content on held-out text: sentences and mixed documents written apart from the
rules (tests/data/content/heldout_sentences.csv, tests/data/content/mixed/), never read while
choosing the cues. The bounds are regression guards a little under the figures measured when
the sets were scored (docs/evaluation-log.md).
"""

from pathlib import Path

import pytest

from pipeline.segment.content import score_csv, score_document, score_folder

DATA = Path(__file__).parents[1] / "data" / "content"
MIXED = sorted(p.name for p in (DATA / "mixed").glob("*") if not p.name.endswith(".csv"))


def test_heldout_sentences_policy_content():
    s = score_csv(DATA / "heldout_sentences.csv")
    print(f"held-out sentences: P {s['precision']:.3f} R {s['recall']:.3f} n={s['n']}")
    assert s["n"] >= 200
    assert s["precision"] >= 0.95 and s["recall"] >= 0.95


def test_mixed_documents_policy_content():
    s = score_folder(DATA / "mixed")
    for name, c in s["documents"].items():
        print(f"{name}: P {c['precision']:.3f} R {c['recall']:.3f}")
    print(f"mixed documents: P {s['precision']:.3f} R {s['recall']:.3f}")
    assert sorted(s["documents"]) == MIXED and len(MIXED) >= 4
    assert s["precision"] >= 0.80 and s["recall"] >= 0.95


@pytest.mark.parametrize("name", MIXED)
def test_every_mixed_document_keeps_its_policy(name):
    c = score_document(DATA / "mixed" / name)
    assert c["recall"] >= 0.75


def test_heldout_plan_pages_policy_content():
    """Five plan and declaration web pages opening on framing about the tool (FAQ, principles,
    dated calendar, figures, a president's word), written by a helper session from a brief and
    scored once before anyone read them: P .738 → .849 with the framing cues, R 1.000 both;
    .901 with the shipped rules (a later scoring, one page partly seen: docs/evaluation-log.md,
    2026-12-05 (night)). Bounds a little under the first clean figure."""
    s = score_folder(DATA / "heldout_pst_pages")
    print(f"held-out plan pages: P {s['precision']:.3f} R {s['recall']:.3f}")
    assert len(s["documents"]) >= 5
    assert s["precision"] >= 0.82 and s["recall"] >= 0.97


def test_heldout_web_pages_policy_content():
    """Six web pages (news article on an adopted DPS, DPS with a figures section and a budget
    part, a 2019 DPS in prose under "Introduction", PST with "OO 1.1" codes, HTML DPS with a
    cookie banner and an FAQ, HTML PST whose policy is a table), annotated line by line by a
    helper session that could not read the rules, committed before any tool ran on them.
    Scored once with the rules of 418f92f: P .901, R .827 (the prose DPS read as preamble from
    end to end); with the preamble release: P .894, R 1.000; with the cues written on a
    development set that evening (a third scoring, errors still unread): P .902, R 1.000
    (docs/evaluation-log.md, 2026-12-05, second night). Bounds a little under the second
    figure. Its errors were read on 2026-12-06: it is development data since (1.000 / 1.000
    after the rules of that day)."""
    s = score_folder(DATA / "heldout_web_pages")
    print(f"held-out web pages: P {s['precision']:.3f} R {s['recall']:.3f}")
    assert len(s["documents"]) == 6
    assert s["precision"] >= 0.86 and s["recall"] >= 0.97
    assert all(c["recall"] >= 0.9 for c in s["documents"].values())


#: Four sets written by four more blind helper sessions on 2026-12-06, each committed before
#: any tool ran on it, scored once with the rules of 91d134d and once with the rules of that
#: moment (before any of its errors was read), then read to write the next rules: development
#: data since. (first figures: previous rules → rules of the moment; docs/evaluation-log.md,
#: 2026-12-06). The bounds sit a little under the figures after all the rules of that day.
DEV_SETS_2026_12_06 = {
    # municipal magazine, council minutes, HTML accordions, diagnostic + budget, PST table
    # with a title row, DPS after the president's word: .687 → .692 at first scoring
    "heldout_web_pages_2": 0.92,
    # magazine, minutes, accordions of <button>s, Word export with running headers and
    # contents, PST with two tables, annual report: .583 / R .931 → .626 / R .931
    "heldout_web_pages_3": 0.85,
    # accordions, PST with a budget table per OS, newspaper article, PDF export, minutes,
    # annual report: .664 → .748
    "heldout_web_pages_4": 0.92,
    # magazine with "— 2 —" pages, minutes, stand-alone accordion buttons, PST table, PDF
    # export, newspaper article: .723 / R .925 → .827 / R .925
    "heldout_web_pages_5": 0.94,
    # magazine, minutes, PDF export, PST table with spanning OS rows, newspaper article with
    # a fact box, "Le CPAS en bref" page: .588 / R .882 → .703 / R .934
    "heldout_web_pages_6": 0.88,
    # minutes, accordion, PST table, annual report, newspaper article, DPS with a signed
    # foreword: .738 / R .938 → .842 / R .988 (read, not written for)
    "heldout_web_pages_7": 0.81,
}


@pytest.mark.parametrize("folder", sorted(DEV_SETS_2026_12_06))
def test_development_web_pages_of_2026_12_06(folder):
    s = score_folder(DATA / folder)
    print(f"{folder}: P {s['precision']:.3f} R {s['recall']:.3f}")
    assert len(s["documents"]) == 6
    assert s["precision"] >= DEV_SETS_2026_12_06[folder] and s["recall"] >= 0.97


def test_heldout_web_pages_8_policy_content():
    """Six pages (regional newspaper article, HTML DPS with its axes in accordions, HTML PST
    with four tables under OS headings, council minutes with the DPS annexed, Word/PDF export
    with running headers, contents, diagnostic and budget table, municipal magazine), written
    and annotated line by line by a helper session blind to the rules, committed before any
    tool ran on it, scored once with the rules of 91d134d (P .701, R .872) and once with the
    rules of 2026-12-06 (P .905, R 1.000); its errors have not been read
    (docs/evaluation-log.md, 2026-12-06). Bounds a little under the second figure."""
    s = score_folder(DATA / "heldout_web_pages_8")
    print(f"held-out web pages 8: P {s['precision']:.3f} R {s['recall']:.3f}")
    assert len(s["documents"]) == 6
    assert s["precision"] >= 0.87 and s["recall"] >= 0.97
