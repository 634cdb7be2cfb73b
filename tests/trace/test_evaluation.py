"""The evaluation of tracing against gold links (``pipeline.steps.trace_evaluation``): gold
links between documents the tool does not pair count as missed, and say so."""

from __future__ import annotations

import pandas as pd

from pipeline.steps.trace_evaluation import _unpaired, _write_anchor
from pipeline.trace import link
from pipeline.trace.link import Anchor

GOLD = pd.DataFrame([
    # a pair the tool traced
    ("A", "a-dps", "u1", "a-pst", "p1", "same"),
    ("A", "a-dps", "u2", "", "", "none"),
    # a plan the tool read as a declaration: no pair
    ("B", "b-dps", "u1", "b-pst", "p4", "reworded"),
    ("B", "b-dps", "u2", "b-pst", "p5", "same"),
    ("B", "b-dps", "u2", "b-pst", "p6", "decoy"),
    ("B", "b-dps", "u3", "", "", "none"),
    ("B", "b-dps", "", "b-pst", "p7", "same"),  # a quote not found: no unit
], columns=["commune", "dps_doc", "dps_unit", "pst_doc", "pst_unit", "kind"])
DOCS = pd.DataFrame({"doc_id": ["a-dps", "a-pst", "b-dps", "b-pst"],
                     "doc_kind": ["declaration", "pst", "declaration", "declaration"]})


def test_links_of_an_unpaired_plan_count_as_missed_and_are_named():
    links, promises, lines = _unpaired(GOLD, [("a-dps", "a-pst")], DOCS)
    assert links == {("b-dps", "u1", "b-pst", "p4"), ("b-dps", "u2", "b-pst", "p5")}
    assert promises == {("b-dps", "u1"), ("b-dps", "u2"), ("b-dps", "u3")}
    assert len(lines) == 1
    assert "b-dps → b-pst" in lines[0] and "2 lien(s)" in lines[0]
    assert "b-pst « declaration »" in lines[0]


def test_nothing_extra_when_every_pair_is_traced():
    links, promises, lines = _unpaired(GOLD, [("a-dps", "a-pst"), ("b-dps", "b-pst")], DOCS)
    assert links == set() and promises == set() and lines == []


def test_written_anchor_file_reads_back_the_same_model(tmp_path, monkeypatch):
    target = tmp_path / "trace_anchor.toml"
    monkeypatch.setattr(link, "ANCHOR_FILE", target)
    a = Anchor(0.731, {"énergie": 0.25, "règlement": -1.5, "art": 0.002, "l'aide": 0.1,
                       'a"b\\c': 0.5, "a\x7fb": -0.2, "true": 0.3, "12": 0.1})
    _write_anchor(a, ["tune-a", "tune-b"])
    text = target.read_text(encoding="utf-8")
    assert "tune-a, tune-b" in text and "fit-trace" in text
    assert all(len(line) <= 100 for line in text.splitlines())
    assert link.load_anchor(target) == a
