"""Real-world publications end to end (issue 8): each shape of published declaration, in every
format it occurs in, read the way a person reads it.

Fixtures: tests/fixtures/real_world/ (the .txt/.md/.html written by hand, the .pdf/.docx and the
windows-1252 page made by make_fixtures.py from them).  Every expected count and metadata value
below was decided when writing the fixtures, by reading them:

- walhain-decision: council decision (Présents, Objet, Vu, Considérant with the installation
  date 9 janvier 2025 as a trap, DÉCIDE, Article 1er) wrapping the annex; annex = Introduction
  (preamble), 2 decimal axes "1."/"2.", 4 objectives "1.1."…"2.2.", 2 "–" actions under 1.2.
  The PDF adds a running header dated 27 mars 2025 (trap) and a "Page n / N" footer.
- assesse-themes: 3 unnumbered headings ("Logement et sans-abrisme", "Nos aînés", "Santé
  mentale"), 5 "-" objectives, 1 statement, "La Présidente," + name = signature.
- gesves-toc: "Table des matières" + 3 dot-leader entries (4 navigation units), "1.    Préambule"
  (preamble), "2.    Nos priorités" (section), 2 axes "2.1.Lutter…"/"2.2.Soutenir…" (no space),
  4 objectives "2.1.1.Offrir…", "3.    Conclusion" (preamble).
- aiseau-webcopy: a web page copied into .txt: 16 furniture lines (skip link, "Menu", 5 menu
  words, breadcrumb, "Publié le" (trap date), "Version PDF à imprimer", "Imprimer", 2 "Partager
  sur", a cookie sentence, "Accepter", "Mentions légales · Plan du site"); 2 axes "AXE n :",
  3 objectives.
- gerpinnes-web: saved page, windows-1252, with cookie banner, nav menu, breadcrumb, "Publié le"
  (trap), share box, "À lire aussi" aside, footer; 2 axes (h2 "Axe n : …"), 4 objectives (li).
- fosses-export: Markdown export, "**bold**" headings (4 axes), "PREAMBULE." heading, ordered
  items all renumbered "1." (3 objectives), "–" (2 objectives) with "°" sub-items (2 actions),
  "•" (2 objectives), "*" (1 objective).
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from pipeline.ingest import ingest_file
from pipeline.models import NON_CONTENT_KINDS
from pipeline.segment import coverage_gaps, segment

FIX = Path(__file__).parent / "fixtures" / "real_world"

DECISION = {"axis": 2, "objective": 4, "action": 2, "navigation": 0, "section": 0}
HEADINGS = {"axis": 3, "objective": 5, "action": 0, "navigation": 0, "statement": 1,
            "signature": 1}
TOC = {"section": 1, "axis": 2, "objective": 4, "action": 0, "navigation": 4}
WEB_COPY = {"axis": 2, "objective": 3, "action": 0, "navigation": 16}
WEB_PAGE = {"axis": 2, "objective": 4, "action": 0, "navigation": 0}
MARKDOWN = {"axis": 4, "objective": 8, "action": 2, "navigation": 0}

#: file → expected counts of unit kinds (kinds not listed are not checked)
EXPECTED_COUNTS = {
    "walhain-decision.txt": DECISION,
    "walhain-decision.pdf": DECISION,
    "assesse-themes.txt": HEADINGS,
    "assesse-themes.pdf": HEADINGS,
    "assesse-themes.html": HEADINGS,
    "gesves-toc.txt": TOC,
    "gesves-toc.pdf": TOC,
    "gesves-toc.docx": TOC,
    "aiseau-webcopy.txt": WEB_COPY,
    "gerpinnes-web.html": WEB_PAGE,
    "fosses-export.md": MARKDOWN,
}

#: stem → (commune, legislature, mandate, adopted_on)
EXPECTED_META = {
    "walhain-decision": ("Walhain", "2025-2030", "2025-2030", "2025-02-24"),
    "assesse-themes": ("Assesse", "2025-2030", "2025-2030", "2025-02-17"),
    "gesves-toc": ("Gesves", "2025-2030", "2025-2030", "2025-03-10"),
    "aiseau-webcopy": ("Aiseau-Presles", "2025-2030", "2025-2030", "2025-03-20"),
    "gerpinnes-web": ("Gerpinnes", "2025-2030", "2025-2030", "2025-02-27"),
    "fosses-export": ("Fosses-la-Ville", "2025-2030", "2025-2030", "2025-02-20"),
}

#: axes as a reader sees them (texts without labels), per stem
EXPECTED_AXES = {
    "walhain-decision": ["Un accueil digne et proche", "Logement et énergie"],
    "assesse-themes": ["Logement et sans-abrisme", "Nos aînés", "Santé mentale"],
    "gesves-toc": ["Lutter contre la pauvreté infantile", "Soutenir l'emploi local"],
    "aiseau-webcopy": ["Accès aux droits", "L'emploi"],
    "gerpinnes-web": ["Accès aux droits", "Logement"],
    "fosses-export": ["Accueil et information", "Santé", "Mobilité", "Énergie"],
}

#: web furniture, table-of-contents lines, running headers/footers and decision lines of the
#: fixtures: none may reach a content unit (axis, group, objective, action, statement, section)
NOISE = [
    "Aller au contenu", "Vous êtes ici", "Accueil >", "Publié le", "Version PDF", "Imprimer",
    "Partager sur", "Mentions légales", "Plan du site", "cookies", "Accepter", "Tout accepter",
    "Personnaliser", "À lire aussi", "Budget 2025 du CPAS", "Repas à domicile", "Avenue Astrid",
    "Tous droits réservés", "Vie communale", "Table des matières", "....",
    "du 27 mars 2025", "Page 1 / 2", "Page 2 / 2", "– page", "EXTRAIT DU REGISTRE", "Présents :",
    "Objet :", "Vu la loi", "Considérant", "Après en avoir délibéré", "DÉCIDE", "Article 1er",
    "Article 2", "Par le Conseil", "Claire VANDENBROECK", "La Présidente",
]


def _read(name: str):
    doc = ingest_file(FIX / name, Path(name).stem)
    assert doc.status == "ok", doc.error
    return doc, segment(doc)


@pytest.fixture(scope="module")
def parsed():
    return {name: _read(name) for name in EXPECTED_COUNTS}


@pytest.mark.parametrize("name", sorted(EXPECTED_COUNTS))
def test_counts_per_format(parsed, name):
    doc, units = parsed[name]
    got = Counter(u.kind for u in units)
    found = {k: got.get(k, 0) for k in EXPECTED_COUNTS[name]}
    assert found == EXPECTED_COUNTS[name], [(u.kind, u.label, u.text[:50]) for u in units]
    assert coverage_gaps(doc.text, units) == []


@pytest.mark.parametrize("name", sorted(EXPECTED_COUNTS))
def test_axes_per_format(parsed, name):
    _, units = parsed[name]
    axes = [u.text for u in units if u.kind == "axis"]
    assert axes == EXPECTED_AXES[Path(name).stem]


@pytest.mark.parametrize("name", sorted(EXPECTED_COUNTS))
def test_metadata_per_format(parsed, name):
    doc, _ = parsed[name]
    md = doc.metadata
    got = (md.get("commune"), md.get("legislature"), md.get("mandate"), md.get("adopted_on"))
    assert got == EXPECTED_META[Path(name).stem]


@pytest.mark.parametrize("name", sorted(EXPECTED_COUNTS))
def test_no_noise_in_content(parsed, name):
    _, units = parsed[name]
    for u in units:
        if u.kind in NON_CONTENT_KINDS:
            continue
        for noise in NOISE:
            assert noise not in u.text, (name, u.kind, u.text)


@pytest.mark.parametrize("name", ["walhain-decision.txt", "walhain-decision.pdf"])
def test_decision_is_preamble_up_to_annex(parsed, name):
    doc, units = parsed[name]
    annex = doc.text.index("ANNEXE")
    before = {u.kind for u in units if u.start < annex}
    assert before <= {"preamble", "signature", "title"}
    intro = [u for u in units if u.text.startswith("Le CPAS de Walhain veut rester")]
    assert [u.kind for u in intro] == ["preamble"]
    actions = [u for u in units if u.kind == "action"]
    parents = {u.parent_id for u in actions}
    objective = [u for u in units if u.unit_id in parents]
    assert [u.text for u in objective] == [
        "Former l'ensemble des agents d'accueil à l'écoute active."]


def test_decision_pdf_drops_running_header_and_footer(parsed):
    doc, _ = parsed["walhain-decision.pdf"]
    assert "27 mars 2025" not in doc.text
    assert "Page 1" not in doc.text
    assert doc.n_pages == 2


@pytest.mark.parametrize("name", ["gesves-toc.txt", "gesves-toc.pdf", "gesves-toc.docx"])
def test_toc_section_and_preamble(parsed, name):
    _, units = parsed[name]
    by_id = {u.unit_id: u for u in units}
    section = [u for u in units if u.kind == "section"]
    assert [u.text for u in section] == ["Nos priorités"]
    for u in units:
        if u.kind == "axis":
            assert u.parent_id == section[0].unit_id
        if u.kind == "objective":
            assert by_id[u.parent_id].kind == "axis"
    pre_heads = [u.text for u in units if u.kind == "preamble" and u.parent_id == ""]
    assert pre_heads == ["Préambule", "Conclusion"]
    nav = [u.text for u in units if u.kind == "navigation"]
    assert nav[0] == "Table des matières"
    assert all(t.rstrip().endswith(("2", "3")) for t in nav[1:])


def test_windows_1252_page_decoded_and_main_content_only(parsed):
    doc, units = parsed["gerpinnes-web.html"]
    assert "\ufffd" not in doc.text
    objectives = [u.text for u in units if u.kind == "objective"]
    assert objectives == [
        "Réduire le non-recours aux allocations de chauffage.",
        "Ouvrir une permanence sociale décentralisée à Acoz.",
        "Rénover les quatre logements d'urgence du CPAS.",
        "Créer une cellule de prévention des expulsions.",
    ]
    for noise in ("Publié le", "Partager", "À lire aussi", "Avenue Astrid", "Vous êtes ici",
                  "cookies", "Vie communale"):
        assert noise not in doc.text


def test_web_copy_furniture_is_navigation(parsed):
    _, units = parsed["aiseau-webcopy.txt"]
    nav = [u.text for u in units if u.kind == "navigation"]
    assert nav[0] == "Aller au contenu principal"
    assert "Publié le 3 avril 2025" in nav
    assert "Mentions légales · Plan du site" in nav
    assert nav[-1] == "Mentions légales · Plan du site"


def test_markdown_renumbered_items_and_bullets(parsed):
    _, units = parsed["fosses-export.md"]
    by_id = {u.unit_id: u for u in units}
    first_axis = [u for u in units if u.kind == "axis"][0]
    ones = [u for u in units if u.parent_id == first_axis.unit_id]
    assert [(u.kind, u.label) for u in ones] == [("objective", "1.")] * 3
    actions = [u for u in units if u.kind == "action"]
    assert [u.label for u in actions] == ["°", "°"]
    assert by_id[actions[0].parent_id].text.startswith("Financer des consultations")
    pre = [u.text for u in units if u.kind == "preamble"]
    assert pre[0] == "PREAMBULE."


def test_unnumbered_headings_same_tree_in_every_format(parsed):
    def shape(name):
        return [(u.kind, u.text) for u in parsed[name][1]
                if u.kind in ("axis", "objective", "statement")]
    assert shape("assesse-themes.txt") == shape("assesse-themes.pdf") == shape(
        "assesse-themes.html")


@pytest.mark.slow
def test_analyze_mixed_folder(tmp_path):
    """One folder mixing every shape and format: no noise in content, metadata right."""
    from pipeline.runner import analyze

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in EXPECTED_COUNTS:
        shutil.copy(FIX / name, corpus / name)
    res = analyze(corpus, tmp_path / "out", n_process=1, quiet=True)
    assert res.exit_code == 0
    docs = res.documents.set_index("source_file")
    assert set(docs.index) == set(EXPECTED_COUNTS)
    assert (docs["status"] == "ok").all()
    for name in EXPECTED_COUNTS:
        row = docs.loc[name]
        got = (row["commune"], row["legislature"], row["mandate"], row["adopted_on"])
        assert got == EXPECTED_META[Path(name).stem], name
    units = res.units
    content = units[units["kind"].isin(["objective", "statement", "action", "axis", "group",
                                        "section"])]
    for text in content["text"].astype(str):
        for noise in NOISE:
            assert noise not in text, text
    doc_of = dict(zip(docs["doc_id"], docs.index, strict=True))
    assert len(doc_of) == len(EXPECTED_COUNTS)
    counts = units.groupby(["doc_id", "kind"]).size()
    for doc_id, name in doc_of.items():
        for kind, n in EXPECTED_COUNTS[name].items():
            assert counts.get((doc_id, kind), 0) == n, (name, kind)
