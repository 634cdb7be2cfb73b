"""Policy content on whole real-world documents (issue 12): the dev set
tests/data/content/dev_mixed/ — 3 local news articles, a party post, a general-policy note, 2
commune web pages copied into .txt and a saved .html page, written in the register of Belgian
publications and annotated line by line (``<name>.expected.csv``: ``line,is_policy``) before
the segmenter was tuned on them.

A line is predicted as policy content when a content unit (section, axis, group, objective,
action, statement) overlaps it (``pipeline.segment.content.score_document``).  Figures when
the set was written: precision 0.574, recall 0.964 (tp 54, fp 40, fn 2); after tuning: 1.000 /
1.000.  The thresholds below leave room for harmless drift, not for the old failure (short
lines read as axes, framing kept as statements).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.ingest import ingest_file
from pipeline.segment import segment
from pipeline.segment.content import score_document, score_folder

DEV = Path(__file__).parents[1] / "data" / "content" / "dev_mixed"
DOCS = sorted(p for p in DEV.iterdir() if p.suffix in (".txt", ".html"))


def test_dev_set_shape():
    kinds = [p.stem.split("-")[0] for p in DOCS]
    assert len(DOCS) >= 8
    assert kinds.count("news") >= 3 and kinds.count("web") >= 3
    assert any(p.suffix == ".html" for p in DOCS)
    for p in DOCS:
        assert p.with_name(p.stem + ".expected.csv").exists()


@pytest.fixture(scope="module")
def scores():
    return {p.name: score_document(p) for p in DOCS}


def test_every_expected_line_is_found(scores):
    # a saved .html page loses its furniture (menus, aside, footer): those lines are absent
    for name, c in scores.items():
        if not name.endswith(".html"):
            assert c["missing"] == 0, name


def test_overall_precision_and_recall(scores):
    tp = sum(c["tp"] for c in scores.values())
    fp = sum(c["fp"] for c in scores.values())
    fn = sum(c["fn"] for c in scores.values())
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert precision >= 0.95, (precision, {n: c["errors"] for n, c in scores.items()})
    assert recall >= 0.95, (recall, {n: c["errors"] for n, c in scores.items()})


@pytest.mark.parametrize("name", [p.name for p in DOCS])
def test_each_document(scores, name):
    c = scores[name]
    assert c["precision"] >= 0.85 and c["recall"] >= 0.85, c["errors"]


# Plan and declaration web pages that open on framing about the tool itself (what a PST or a
# DPS is, its advantages, its volets, the calendar of its drafting, figures): two sets written
# by helper sessions as held-out sets (tests/data/content/dev_pst_pages_1/, _2/), scored once
# each (P .816 and .665, R 1.000), then read to write the cues of the "instrument" override,
# the framing headings of patterns.toml [preamble] and the content test of list items. Since
# then they are development data; the bounds sit a little under the tuned figures (.949 and
# .898, R 1.000). The held-out set is tests/data/content/heldout_pst_pages/.
PST_DEV = [Path(__file__).parents[1] / "data" / "content" / f"dev_pst_pages_{k}" for k in (1, 2)]


@pytest.mark.parametrize("folder", PST_DEV, ids=lambda p: p.name)
def test_framing_of_plan_pages_stays_out_of_policy_content(folder):
    s = score_folder(folder)
    print(f"{folder.name}: P {s['precision']:.3f} R {s['recall']:.3f}")
    assert len(s["documents"]) >= 4
    assert s["recall"] >= 0.99 and s["precision"] >= 0.87


# Seven web pages and Word exports of declarations (council composition and a budget part, a
# prose declaration under one "Introduction" heading, a president's word with value bullets, a
# council decision with the declaration annexed, a news article with quotes, an HTML page with a
# figures box, an HTML plan table), written by a helper session blind to the rules, scored once
# (P .811, R .851 with the rules of 418f92f; P .812, R 1.000 with the preamble release), then
# read to write the cues of 2026-12-05 (second night): development data since. Bounds a little
# under the tuned figure (P .917, R 1.000, after a review that narrowed the cues).
WEB_DEV = Path(__file__).parents[1] / "data" / "content" / "dev_web_pages_3"


def test_framing_of_declaration_pages_stays_out_of_policy_content():
    s = score_folder(WEB_DEV)
    print(f"dev_web_pages_3: P {s['precision']:.3f} R {s['recall']:.3f}")
    assert len(s["documents"]) == 7
    assert s["recall"] >= 0.99 and s["precision"] >= 0.90


def test_a_list_of_values_is_a_motto_and_commitments_beside_it_stay(tmp_path):
    p = tmp_path / "dps-valmerane-2025.txt"
    p.write_text("Déclaration de politique sociale 2025-2030\n\nAxe 1 : Nos valeurs et nos "
                 "engagements\n- Respect\n- Écoute et bienveillance\n- Dignité, équité\n"
                 "- Respect des délais de réponse aux demandes\n- Ouvrir une permanence le "
                 "samedi matin\n\nLe CPAS s'engage à :\n- l'accueil inconditionnel ;\n"
                 "- la confidentialité ;\n", encoding="utf-8")
    doc = ingest_file(p, p.stem)
    kinds = {doc.text[u.start:u.end].lstrip("- "): u.kind for u in segment(doc)}
    assert kinds["Respect"] == kinds["Écoute et bienveillance"] == "context"
    assert kinds["Dignité, équité"] == "context"
    # what the CPAS commits to, even in a value's words, stays a commitment
    assert kinds["l'accueil inconditionnel ;"] == kinds["la confidentialité ;"] == "objective"
    assert kinds["Respect des délais de réponse aux demandes"] == "objective"
    assert kinds["Ouvrir une permanence le samedi matin"] == "objective"
