"""Metadata read from the text (never guessed) and the documents table with metadata.csv."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.ingest import DOCUMENT_COLUMNS, documents_table, ingest_file
from pipeline.ingest.metadata import extract_metadata, mandate_of, normalise_name, parse_date
from pipeline.models import Document

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "tests" / "fixtures" / "seeds"

# Read from the seed texts themselves.
EXPECTED = {
    "trooz-dps-2019": ("Trooz", "2018-2024", "2019-2024", "2019-03-05", "Etienne VENDY"),
    "ittre-dps-2019": ("Ittre", "2019-2024", "2019-2024", "", "François Peeterbroeck"),
    "beyne-heusay-dps-2025": ("Beyne-Heusay", "2025-2030", "2025-2030", "", "Jean-Louis FREDERICK"),
    "dps-2019-conseil-13-fevrier": ("", "2018-2024", "2019-2024", "2019-02-13", ""),
    "dps-2018-2024-brabant": ("", "2018-2024", "2019-2024", "", ""),
}
FIELDS = ("commune", "legislature", "mandate", "adopted_on", "president")


@pytest.mark.parametrize("doc_id", sorted(EXPECTED))
def test_seed_metadata(doc_id):
    doc = ingest_file(SEEDS / f"{doc_id}.txt", doc_id)
    assert tuple(doc.metadata[f] for f in FIELDS) == EXPECTED[doc_id]


@pytest.mark.parametrize("text, commune", [
    ("CPAS de TROOZ", "Trooz"),
    ("Le CPAS d'Ittre a à cœur", "Ittre"),
    ("le Centre Public d'Action Sociale (CPAS) de Beyne-Heusay s'engage", "Beyne-Heusay"),
    ("Commune de Braine-l'Alleud\nLe CPAS de Braine-l'Alleud", "Braine-l'Alleud"),
    ("CPAS DE LA LOUVIÈRE", "La Louvière"),  # capitals (issue 12): usual case
    ("CPAS DE TROOZ DÉCLARATION DE POLITIQUE SOCIALE", "Trooz"),  # next capital word not taken
    ("CPAS de La Louvière", "La Louvière"),
    ("la Commune et le CPAS voire avec d'autres CPAS", ""),
    ("loi organique des CPAS de 1976", ""),
])
def test_commune(text, commune):
    assert extract_metadata(text)["commune"] == commune


def test_normalise_name():
    assert normalise_name("TROOZ") == "Trooz"
    assert normalise_name("BEYNE-HEUSAY") == "Beyne-Heusay"
    assert normalise_name("Ottignies-Louvain-la-Neuve") == "Ottignies-Louvain-la-Neuve"


@pytest.mark.parametrize("text, iso", [
    ("05/mars/2019", "2019-03-05"), ("13 février 2019", "2019-02-13"),
    ("1er mars 2019", "2019-03-01"), ("13/02/2019", "2019-02-13"), ("13.02.2019", "2019-02-13"),
    ("31/02/2019", ""), ("13 brumaire 2019", ""),
])
def test_parse_date(text, iso):
    assert parse_date(text) == iso


def test_adopted_on_ignores_published_considerant_and_headers():
    text = ("Publié le 3 avril 2019\n"
            "Considérant la séance du 10 janvier 2019 ;\n"
            "Le Conseil de l'action sociale, en séance du 28 février 2019, adopte la déclaration.")
    assert extract_metadata(text)["adopted_on"] == "2019-02-28"
    assert extract_metadata("Publié le 3 avril 2019\nMis à jour le 5 avril 2019")["adopted_on"] == ""


def test_legislature_needs_a_keyword_or_the_first_lines():
    assert extract_metadata("Titre\nSous-titre\nAutre\nbudget 2019-2024 prévu")["legislature"] == ""
    assert extract_metadata("DPS 2024-2030")["legislature"] == "2024-2030"
    assert extract_metadata("DPS 2024-2030")["mandate"] == "2025-2030"


def test_mandate_of():
    assert mandate_of("2018-2024") == "2019-2024"
    assert mandate_of("2019-2024") == "2019-2024"
    assert mandate_of("2024-2030") == "2025-2030"
    assert mandate_of("2025-2030") == "2025-2030"
    assert mandate_of("2019") == "" and mandate_of("2000-2030") == ""


def test_president_forms():
    assert extract_metadata("La Présidente\nMarie Dupont")["president"] == "Marie Dupont"
    assert extract_metadata("Anne-Sophie LEROY\nPrésidente du CPAS de Huy")["president"] == \
        "Anne-Sophie LEROY"
    assert extract_metadata("Le Président\nVoir annexe pour les détails.")["president"] == ""


# --------------------------------------------------------------------------- documents table


def _doc(doc_id, source, **meta):
    return Document(doc_id=doc_id, source_file=f"/somewhere/{source}", format="txt",
                    text="un deux trois", metadata=meta, sha256="ab" * 32)


def test_documents_table_columns_and_merge(tmp_path):
    docs = [_doc("a", "a.txt", commune="Trooz", legislature="2018-2024", mandate="2019-2024",
                 adopted_on="2019-03-05", president="X Y"),
            _doc("b", "b file.txt"),
            Document(doc_id="c", source_file="c.pdf", format="pdf", status="error",
                     error="PDF chiffré : exportez une version sans mot de passe")]
    csv = tmp_path / "metadata.csv"
    csv.write_text("doc_id,file,commune,legislature,province,source\n"
                   "a,,Trooz-Centre,,Liège,seed 1\n"
                   ",b file.txt,Ittre,2019-2024,Brabant wallon,\n", encoding="utf-8")
    df = documents_table(docs, csv)
    assert list(df.columns) == DOCUMENT_COLUMNS + ["province", "source"]
    rows = df.set_index("doc_id")
    assert rows.loc["a", "commune"] == "Trooz-Centre"  # the csv overrides the text
    assert rows.loc["a", "legislature"] == "2018-2024"  # empty csv cell keeps the text value
    assert rows.loc["a", "province"] == "Liège" and rows.loc["a", "source"] == "seed 1"
    assert rows.loc["b", "commune"] == "Ittre"  # matched on the file name
    assert rows.loc["b", "mandate"] == "2019-2024"  # derived from the csv legislature
    assert rows.loc["c", "commune"] == "" and rows.loc["c", "province"] == ""
    assert rows.loc["c", "status"] == "error"
    assert rows.loc["a", "source_file"] == "a.txt"
    assert rows.loc["a", "n_words"] == 3 and rows.loc["c", "n_words"] == 0


def test_documents_table_without_csv():
    df = documents_table([_doc("a", "a.txt")], None)
    assert list(df.columns) == DOCUMENT_COLUMNS
    assert df.loc[0, "commune"] == "" and df.loc[0, "adopted_on"] == ""


def test_corpus_metadata_csv_with_seeds():
    docs = [ingest_file(SEEDS / f"{d}.txt", d) for d in sorted(EXPECTED)]
    df = documents_table(docs, ROOT / "corpus" / "metadata.csv").set_index("doc_id")
    assert df.loc["trooz-dps-2019", "province"] == "Liège"
    assert df.loc["beyne-heusay-dps-2025", "province"] == "Liège"
    assert df.loc["ittre-dps-2019", "province"] == "Brabant wallon"
    assert df.loc["dps-2018-2024-brabant", "province"] == "Brabant wallon"
    assert df.loc["dps-2019-conseil-13-fevrier", "commune"] == ""
    assert df.loc["trooz-dps-2019", "adopted_on"] == "2019-03-05"
    assert set(df["source"]) == {f"seed 00{k}" for k in range(5)}


def test_metadata_csv_dates_are_normalised_to_iso(tmp_path):
    from pipeline.ingest import documents_table
    from pipeline.models import Document

    csv = tmp_path / "metadata.csv"
    csv.write_text("doc_id,adopted_on\na,13/02/2019\nb,2019-03-05\nc,pas une date\n", encoding="utf-8")
    docs = [Document(doc_id=d, source_file=f"{d}.txt", format="txt") for d in "abc"]
    got = documents_table(docs, csv).set_index("doc_id")["adopted_on"].to_dict()
    assert got == {"a": "2019-02-13", "b": "2019-03-05", "c": ""}


def test_empty_metadata_and_annotations_are_warnings_not_crashes(tmp_path, capsys):
    """Issue 14, item 9: an empty metadata.csv / annotations.csv is reported (file named, in
    French) and ignored."""
    from pipeline.classify.annotations import load_annotations
    from pipeline.ingest import _read_metadata_csv

    meta, ann = tmp_path / "metadata.csv", tmp_path / "annotations.csv"
    meta.write_text("", encoding="utf-8")
    ann.write_text("\n", encoding="utf-8")
    assert _read_metadata_csv(meta).empty
    assert load_annotations(ann) is None
    err = capsys.readouterr().err
    assert str(meta) in err and str(ann) in err and "vide" in err


def test_metadata_as_excel_fr_saves_it_semicolon_cp1252(tmp_path):
    csv = tmp_path / "metadata.csv"
    csv.write_bytes("doc_id;commune;province\r\na;Liège;Liège\r\nb;\"Braine; l'Alleud\";Brabant wallon\r\n"
                    .encode("cp1252"))
    docs = [_doc("a", "a.txt"), _doc("b", "b.txt")]
    rows = documents_table(docs, csv).set_index("doc_id")
    assert rows.loc["a", "commune"] == "Liège" and rows.loc["a", "province"] == "Liège"
    assert rows.loc["b", "commune"] == "Braine; l'Alleud"


def test_metadata_problems_are_reported_one_line_each(tmp_path, capsys):
    """Unknown ids, impossible dates and duplicates: one French line each, with its line."""
    csv = tmp_path / "metadata.csv"
    csv.write_text("doc_id,commune,adopted_on\n"
                   "a,Ath,2019-13-45\n"           # line 2: impossible ISO date
                   "b,Mons,31/02/2019\n"          # line 3: impossible date
                   "inconnu,Huy,\n"               # line 4: no such document
                   "a,Ath-Centre,2019-03-05\n",   # line 5: duplicate of line 2, wins
                   encoding="utf-8")
    docs = [_doc("a", "a.txt"), _doc("b", "b.txt")]
    rows = documents_table(docs, csv).set_index("doc_id")
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.startswith("attention")]
    assert any("ligne 2" in x and "2019-13-45" in x for x in lines)
    assert any("ligne 3" in x and "31/02/2019" in x for x in lines)
    assert any("ligne 4" in x and "inconnu" in x for x in lines)
    assert any("lignes 2 et 5" in x and "double" in x for x in lines)
    assert len(lines) == 4
    assert rows.loc["a", "commune"] == "Ath-Centre" and rows.loc["a", "adopted_on"] == "2019-03-05"
    assert rows.loc["b", "adopted_on"] == ""  # never an impossible date


def test_metadata_with_more_cells_than_columns_is_an_error(tmp_path):
    csv = tmp_path / "metadata.csv"
    csv.write_text("doc_id,commune\na,Braine,l'Alleud\n", encoding="utf-8")
    with pytest.raises(ValueError, match="ligne 2.*guillemets"):
        documents_table([_doc("a", "a.txt")], csv)


def test_annotations_semicolons_unknown_columns_and_duplicates(tmp_path, capsys):
    from pipeline.classify.annotations import annotation_notes, load_annotations

    ann = tmp_path / "annotations.csv"
    ann.write_bytes("doc_id;kind;text;themes;remarque\r\n"
                    "a;objective;Créer un logement d'urgence.;logement;ok\r\n"
                    "a;objective;Créer un logement d'urgence;logement;\r\n"
                    "zz;objective;Autre chose;sante;\r\n".encode("cp1252"))
    df = load_annotations(ann)
    assert list(df["themes"]) == ["logement", "logement", "sante"]
    err = capsys.readouterr().err
    assert "remarque" in err and "lignes 2 et 3" in err
    notes = annotation_notes(df, ["a"], "annotations.csv")
    assert len(notes) == 1 and "ligne(s) 4" in notes[0] and "zz" in notes[0]
