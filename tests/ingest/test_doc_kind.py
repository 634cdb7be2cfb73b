"""Document check (issue 12): doc_kind of each document, its one-line warning, companion files
(README, SOURCES, LICENSE, NOTES, CHANGELOG) left out at discovery, and both passed to the run.

Fixtures: tests/fixtures/doc_kinds/ (written for this test):
- news-article.txt: a news article about a declaration (outlet banner, byline, "Publié le … à
  14h32", "a présenté mardi", quote, "lors du dernier conseil", "À lire aussi") → news;
- news-page.html: a saved news page (outlet in the <title>, "a présenté lundi", "confie-t-elle",
  "a précisé") → news;
- decision-only.txt: a council decision that adopts the declaration without its text → council_decision;
- budget-note.txt: a note de politique générale with budget figures → other;
- liste-des-liens.md: a folder's list of sources, not named SOURCES → other;
- declaration-prose.txt: a declaration in prose (one reporting sentence) → declaration.
The council decision *with* the declaration annexed is tests/fixtures/real_world/walhain-decision
(→ declaration, no warning).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline.ingest import DOC_KINDS, DOCUMENT_COLUMNS, discover, documents_table, ingest_file
from pipeline.ingest.doc_kind import check_kind, load_kinds, named_as_plan, plan_name_warning
from pipeline.models import Document

FIX = Path(__file__).parents[1] / "fixtures"
KINDS = FIX / "doc_kinds"

EXPECTED = {
    "news-article.txt": "news",
    "news-page.html": "news",
    "decision-only.txt": "council_decision",
    "budget-note.txt": "other",
    "liste-des-liens.md": "other",
    "declaration-prose.txt": "declaration",
}


def test_every_fixture_is_listed():
    assert sorted(p.name for p in KINDS.iterdir()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_kind_and_warning(name):
    doc = ingest_file(KINDS / name, Path(name).stem)
    assert doc.status == "ok", doc.error
    kind = EXPECTED[name]
    assert doc.metadata["doc_kind"] == kind
    kind_warnings = [w for w in doc.warnings if "indices :" in w]
    if kind == "declaration":
        assert kind_warnings == []
    else:
        assert len(kind_warnings) == 1
        w = kind_warnings[0]
        assert "\n" not in w and len(w) < 400
        assert "déclaration" in w  # French, says what it is compared with


def test_warning_texts_name_the_kind():
    news = ingest_file(KINDS / "news-article.txt", "n").warnings[-1]
    assert news.startswith("ressemble à un article de presse") and "a expliqué" in news
    assert news.count("«") <= 4  # three cues at most: one short line
    decision = ingest_file(KINDS / "decision-only.txt", "d").warnings[-1]
    assert "décision du Conseil" in decision and "ajoutez l'annexe" in decision
    other = ingest_file(KINDS / "budget-note.txt", "b").warnings[-1]
    assert other.startswith("ne ressemble pas à une déclaration") and "note budgétaire" in other


def test_council_decision_with_annex_is_a_declaration():
    for ext in ("txt", "pdf"):
        doc = ingest_file(FIX / "real_world" / f"walhain-decision.{ext}", "walhain")
        assert doc.metadata["doc_kind"] == "declaration"
        assert not any("indices :" in w for w in doc.warnings)


@pytest.mark.parametrize("example", load_kinds()["examples"],
                         ids=lambda ex: f"{ex['kind']}:{ex['text'][:30]}")
def test_examples_of_the_data_file(example):
    assert example["kind"] in DOC_KINDS
    assert check_kind(example["text"]).kind == example["kind"]


def test_every_kind_has_an_example_and_a_warning():
    data = load_kinds()
    assert {ex["kind"] for ex in data["examples"]} == set(DOC_KINDS)
    assert set(data["warnings"]) == set(DOC_KINDS) - {"declaration", "pst"} | {"pst_by_name"}


@pytest.mark.parametrize("name", ["ferlinval-pst-2025.docx", "PST_2025.pdf",
                                  "plan-strategique-transversal.txt",
                                  "Programme stratégique 2025.docx",
                                  "Programme strate\u0301gique 2025.docx"])  # a macOS (NFD) name
def test_file_names_that_announce_a_plan(name):
    assert named_as_plan(name)


@pytest.mark.parametrize("name", ["ferlinval-dps-2025.docx", "pastel-2025.txt", "post.txt",
                                  "upstream.txt", "declaration.txt", ""])
def test_other_file_names_do_not(name):
    assert not named_as_plan(name)


def test_the_plan_name_warning_names_the_fix():
    assert "doc_kind = pst dans metadata.csv" in plan_name_warning()


def test_known_declarations_stay_declarations():
    """Every declaration fixture of the project (seeds, samples, real-world shapes, web pages,
    segment layouts) is a declaration, without warning: the check never cries wolf."""
    paths = [p for sub in ("seeds", "samples", "real_world", "web", "segment", "ingest", "qdpx")
             for p in sorted((FIX / sub).rglob("*"))
             if p.suffix in (".txt", ".md", ".html", ".pdf", ".docx") and "scan" not in p.name
             and "pst" not in p.stem]  # strategic plans, checked below
    assert len(paths) > 30
    for p in paths:
        doc = ingest_file(p, p.stem)
        assert doc.metadata["doc_kind"] == "declaration", (p, check_kind(doc.text).evidence)
        assert not any("indices :" in w for w in doc.warnings), p


def test_unknown_text_is_a_declaration():
    # nothing is guessed: without clear cues a document is what the corpus says it is
    assert check_kind("").kind == "declaration"
    assert check_kind("Le CPAS accompagne les familles.").kind == "declaration"


# --------------------------------------------------------------------------- documents table


def test_documents_table_has_doc_kind(tmp_path):
    docs = [ingest_file(KINDS / "news-article.txt", "news-article"),
            ingest_file(KINDS / "declaration-prose.txt", "declaration-prose"),
            Document(doc_id="bad", source_file="bad.pdf", format="pdf", status="error",
                     error="PDF chiffré : exportez une version sans mot de passe")]
    df = documents_table(docs).set_index("doc_id")
    assert DOCUMENT_COLUMNS.index("doc_kind") == DOCUMENT_COLUMNS.index("format") + 1
    assert df.loc["news-article", "doc_kind"] == "news"
    assert df.loc["declaration-prose", "doc_kind"] == "declaration"
    assert df.loc["bad", "doc_kind"] == ""  # unreadable: unknown
    assert df.loc["declaration-prose", "commune"] == "Fernelmont"
    assert df.loc["declaration-prose", "adopted_on"] == "2019-03-12"

    csv = tmp_path / "metadata.csv"  # a person's correction wins; an unknown kind is ignored
    csv.write_text("doc_id,doc_kind\nnews-article,declaration\ndeclaration-prose,brochure\n",
                   encoding="utf-8")
    df = documents_table(docs, csv).set_index("doc_id")
    assert list(df.reset_index().columns) == DOCUMENT_COLUMNS
    assert df.loc["news-article", "doc_kind"] == "declaration"
    assert df.loc["declaration-prose", "doc_kind"] == "declaration"


# --------------------------------------------------------------------------- discovery


COMPANIONS = ["README", "README.md", "readme.txt", "README-fr.md", "Sources.md", "SOURCES.txt",
              "LICENSE", "Licence.pdf", "licence.md", "NOTES.docx", "notes_2019.txt",
              "CHANGELOG.md", "changelog"]


def test_companion_files_are_left_out_with_a_note(tmp_path):
    (tmp_path / "sub").mkdir()
    for name in COMPANIONS + ["sub/NOTES.md", "trooz.txt", "dps-notes.txt", "sources-dps.pdf",
                              "notesdps.txt"]:
        (tmp_path / name).write_text("x", encoding="utf-8")
    files, warnings = discover(tmp_path)
    kept = sorted(p.relative_to(tmp_path).as_posix() for p, _ in files)
    # "sources-dps.pdf" starts with a companion name followed by a separator: left out too
    assert kept == ["dps-notes.txt", "notesdps.txt", "trooz.txt"]
    notes = [w for w in warnings if "non analysé" in w]
    assert len(notes) == len(COMPANIONS) + 2 == len(warnings)
    assert any(w.startswith("sub/NOTES.md non analysé") for w in notes)
    for w in notes:
        assert "\n" not in w and "pas une déclaration" in w
        assert "erreur" not in w.lower()


def test_run_passes_doc_kind_warnings_and_skips(tmp_path, monkeypatch):
    """read_corpus (the runner's ingest step) returns the skip notes and each document's
    warning, prefixed by its file name; documents_table then has doc_kind."""
    from pipeline import nlp
    from pipeline.runner import RunResult, read_corpus, summary

    def fake_annotate(texts, **kw):  # no spaCy model needed to check the pass-through
        return [{"lemmas": t.lower(), "tokens": t.lower(), "entities": []} for t in texts]

    monkeypatch.setattr(nlp, "annotate", fake_annotate)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("news-article.txt", "declaration-prose.txt"):
        shutil.copy(KINDS / name, corpus / name)
    (corpus / "README.md").write_text("# Mon corpus\n", encoding="utf-8")
    prepared = read_corpus(corpus, tmp_path / "out" / ".cache", n_process=1, quiet=True)
    assert [d.doc_id for d in prepared.docs] == ["declaration-prose", "news-article"]
    assert prepared.warnings[0].startswith("README.md non analysé")
    assert any(w.startswith("news-article.txt : ressemble à un article de presse")
               for w in prepared.warnings)
    assert not any(w.startswith("declaration-prose.txt") for w in prepared.warnings)
    docs = documents_table(prepared.docs)
    assert docs.set_index("doc_id")["doc_kind"].to_dict() == {
        "declaration-prose": "declaration", "news-article": "news"}
    text = summary(RunResult(documents=docs, units=prepared.units,
                             unit_themes=docs.iloc[0:0], warnings=prepared.warnings))
    assert "Attention : news-article.txt : ressemble à un article de presse" in text
    assert "Attention : README.md non analysé" in text

    again = read_corpus(corpus, tmp_path / "out" / ".cache", n_process=1, quiet=True)
    assert again.warnings == prepared.warnings  # from the cache: same warnings


def test_a_strategic_plan_is_a_pst_without_warning():
    plans = [p for sub in ("segment", "ingest") for p in sorted((FIX / sub).rglob("*pst*"))
             if p.suffix in (".txt", ".pdf", ".docx")]
    assert len(plans) >= 2
    for p in plans:
        doc = ingest_file(p, p.stem)
        assert doc.metadata["doc_kind"] == "pst", p
        assert not any("indices :" in w for w in doc.warnings)


def test_a_declaration_announcing_its_plan_stays_a_declaration():
    text = ("Déclaration de politique sociale 2025-2030\n"
            "Programme stratégique transversal : nos objectifs y seront déclinés.\n"
            "Objectif opérationnel 1.1 : créer deux logements d'urgence.\n"
            "Pilote : service logement\nÉchéance : 2027\n")
    assert check_kind(text).kind == "declaration"
    assert check_kind(text.replace("Déclaration de politique sociale", "PST")).kind == "pst"
