"""patterns.toml: every example matches its pattern, every counter-example does not; the
sentence splitter; render_tree."""

from __future__ import annotations

import re

import pytest
import tomllib

from pipeline.models import Unit
from pipeline.segment import load_patterns, render_tree
from pipeline.segment.patterns import DEFAULT_PATH
from pipeline.segment.sentences import split_sentences

PATS = load_patterns()
RAW = tomllib.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
LABELS = [(lp.name, lp) for lp in PATS.labels]


@pytest.mark.parametrize(("name", "lp"), LABELS, ids=[n for n, _ in LABELS])
def test_label_examples(name, lp):
    assert lp.examples, f"{name} has no example"
    for ex in lp.examples:
        # the first pattern that matches must be this one (order matters in the file)
        first = next((p for p in PATS.labels if p.regex.match(ex) and p.regex.match(ex).group("label")), None)
        assert first is lp, f"{ex!r} matched {first.name if first else None}, not {name}"
    for ex in lp.counter:
        m = lp.regex.match(ex)
        assert not (m and m.group("label")), f"{name} must not match {ex!r}"


def test_label_text_split():
    m = next(p for p in PATS.labels if p.name == "axe").regex.match("AXE 1 : L'information")
    assert m.group("label") == "AXE 1" and "AXE 1 : L'information"[m.end():] == "L'information"
    m = next(p for p in PATS.labels if p.name == "decimal").regex.match("2.1.1.Offrir")
    assert m.group("label") == "2.1.1." and "2.1.1.Offrir"[m.end():] == "Offrir"


def test_other_examples():
    for ex in RAW["trailing_axis"]["examples"]:
        assert PATS.trailing_axis.search(ex)
    for h in RAW["header"]:
        rx = re.compile(h["regex"], re.IGNORECASE)
        assert all(rx.match(ex) for ex in h["examples"])
    assert all(PATS.preamble_heads.match(ex) for ex in RAW["preamble"]["head_examples"])
    assert not any(PATS.preamble_heads.match(ex) for ex in RAW["preamble"]["head_counter"])
    assert all(PATS.framing_lead.search(ex) for ex in RAW["framing_lead"]["examples"])
    assert not any(PATS.framing_lead.search(ex) for ex in RAW["framing_lead"]["counter"])
    assert all(any(p.search(ex) for p in PATS.preamble_cues) for ex in RAW["preamble"]["cue_examples"])
    assert not any(any(p.search(ex) for p in PATS.preamble_cues) for ex in RAW["preamble"]["cue_counter"])
    assert all(PATS.decision_lines.match(ex) for ex in RAW["decision"]["examples"])
    assert all(any(p.search(ex) for p in PATS.title) for ex in RAW["title"]["examples"])
    assert all(any(p.search(ex) for p in PATS.signature) for ex in RAW["signature"]["examples"])
    assert not any(any(p.search(ex) for p in PATS.signature) for ex in RAW["signature"]["counter"])
    assert all(any(p.search(ex) for p in PATS.section) for ex in RAW["section"]["examples"])
    assert all(any(p.match(ex) for p in PATS.axis_heading) for ex in RAW["axis_heading"]["examples"])
    nav = RAW["navigation"]["examples"]
    assert PATS.toc_head.match(nav[0]) and PATS.toc_head.match(nav[1])
    assert PATS.toc_entry.search(nav[2])
    assert any(p.search(nav[3]) for p in PATS.footer) and any(p.search(nav[4]) for p in PATS.footer)


def test_custom_patterns_file(tmp_path):
    """A new numbering style is a pattern added to the data file, not new code."""
    from test_segment_helpers import make_doc

    from pipeline.segment import segment

    text = DEFAULT_PATH.read_text(encoding="utf-8")
    extra = ('[[label]]\nname = "pilier"\nrole = "axis"\n'
             "regex = '^(?P<label>pilier\\s+\\d+)\\s*[:.–-]?\\s*'\nexamples = [\"Pilier 1 : x\"]\n\n")
    path = tmp_path / "patterns.toml"
    path.write_text(text.replace("\n[[label]]\n", "\n" + extra + "[[label]]\n", 1), encoding="utf-8")
    doc = make_doc("Pilier 1 : Solidarité\n- Créer une épicerie sociale.\nPilier 2 : Santé\n- Ouvrir un relais santé.")
    default = segment(doc)
    custom = segment(doc, load_patterns(path))
    assert all(u.label == "" for u in default if u.kind == "axis")
    assert [(u.kind, u.label) for u in custom if u.kind == "axis"] == [("axis", "Pilier 1"), ("axis", "Pilier 2")]


# ----------------------------------------------------------------------------- sentences


def _sents(text):
    return [text[s:e] for s, e in split_sentences(text, abbreviations=PATS.abbreviations)]


def test_sentences_basic():
    t = "Le CPAS aide. Il forme les agents ! Et ensuite ? Oui."
    assert _sents(t) == ["Le CPAS aide.", "Il forme les agents !", "Et ensuite ?", "Oui."]


def test_sentences_abbreviations_and_initials():
    t = "M. Dupont et Mme. Martin, cf. art. 27. Le C.P.A.S. Ittre agit. J. Leroy signe."
    assert _sents(t) == ["M. Dupont et Mme. Martin, cf. art. 27.", "Le C.P.A.S. Ittre agit.",
                         "J. Leroy signe."]


def test_sentences_no_split_before_lowercase_or_inside_word():
    t = "travaux...) mais aussi les services. interne) .Collaborer avec eux."
    assert _sents(t) == [t]


def test_sentence_offsets_exact():
    t = "  Une phrase.   Deux phrases.  "
    spans = split_sentences(t, 0, len(t))
    assert spans == [(2, 13), (16, 29)]
    assert split_sentences("   ", 0, 3) == []


# ----------------------------------------------------------------------------- render


def _u(uid, kind, label, text, depth, parent=""):
    return Unit("d", uid, parent, kind, label, text, 0, 1, None, depth)


def test_render_tree_plain_and_color():
    units = [_u("u0001", "navigation", "", "Accueil > CPAS", 0),
             _u("u0002", "axis", "AXE 1", "Logement", 0),
             _u("u0003", "objective", "-", "Créer " + "x" * 200, 1, "u0002")]
    plain = render_tree(units, width=60)
    lines = plain.splitlines()
    assert lines[0].startswith("[nav] navigation")
    assert lines[1].startswith("axe") and "AXE 1 Logement" in lines[1]
    assert lines[2].startswith("  objectif") and lines[2].endswith("…") and len(lines[2]) == 60
    assert "\x1b[" not in plain
    colored = render_tree(units, width=60, color=True).splitlines()
    assert colored[0].startswith("\x1b[2m") and "[nav]" not in colored[0]
    assert render_tree([]) == "(aucune unité)"


def test_detail_examples():
    from pipeline.segment.patterns import detail_fields

    for ex in RAW["details"]["examples"]:
        assert detail_fields(ex, PATS), ex
    for ex in RAW["details"]["counter"]:
        assert detail_fields(ex, PATS) is None, ex
    assert detail_fields("Pilote : service énergie – Échéance : 2026 – Budget : 5.000 €", PATS) == {
        "service": "service énergie", "deadline": "2026", "budget": "5.000 €"}
    # a ";" inside a value is not a separator; before another label it is
    assert detail_fields("Indicateur : date d'ouverture ; nombre de ménages inscrits", PATS) == {
        "indicator": "date d'ouverture ; nombre de ménages inscrits"}
    assert detail_fields("Pilote : service social ; Échéance : 2027", PATS) == {
        "service": "service social", "deadline": "2027"}
