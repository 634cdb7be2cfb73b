"""End-to-end smoke test: the seed corpus analysed once, every promised output checked."""

import hashlib

import pandas as pd
import pytest

from pipeline.cli import main
from pipeline.models import NON_CONTENT_KINDS, UNIT_COLUMNS

pytestmark = pytest.mark.slow

SEED_IDS = {"dps-2019-conseil-13-fevrier", "dps-2018-2024-brabant", "trooz-dps-2019",
            "beyne-heusay-dps-2025", "ittre-dps-2019"}


def test_every_output_is_written(seed_run):
    out = seed_run.out
    for name in ("documents", "units", "unit_themes", "theme_matrix", "axis_themes", "similarity",
                 "distinctive_terms", "partners", "shared_passages", "structure"):
        assert (out / f"{name}.csv").is_file(), name
        assert (out / f"{name}.parquet").is_file(), name
    for name in ("review.csv", "cpas-compare.xlsx", "report.html", "cpas-compare.qdpx"):
        assert (out / name).is_file(), name
    assert sorted(p.stem for p in (out / "texts").glob("*.txt")) == sorted(SEED_IDS)
    assert list((out / "figures").glob("*.png"))
    assert not list(out.rglob("*.tmp")), "temporary files left behind"


def test_documents_table(seed_run):
    docs = pd.read_csv(seed_run.out / "documents.csv", keep_default_na=False)
    for col in ("doc_id", "source_file", "format", "commune", "legislature", "adopted_on",
                "n_pages", "n_words", "status", "error"):
        assert col in docs.columns
    assert set(docs["doc_id"]) == SEED_IDS
    assert (docs["status"] == "ok").all()
    row = docs.set_index("doc_id")
    assert row.loc["trooz-dps-2019", "commune"] == "Trooz"
    assert row.loc["trooz-dps-2019", "adopted_on"] == "2019-03-05"
    assert row.loc["dps-2019-conseil-13-fevrier", "commune"] == ""  # never named: not guessed


def test_units_have_columns_offsets_and_themes_only_on_content(seed_run):
    units = pd.read_csv(seed_run.out / "units.csv", keep_default_na=False)
    assert list(units.columns[: len(UNIT_COLUMNS)]) == UNIT_COLUMNS
    assert "themes" in units.columns
    non_content = units[units["kind"].isin(NON_CONTENT_KINDS)]
    assert (non_content["themes"] == "").all()
    content = units[~units["kind"].isin(NON_CONTENT_KINDS)]
    assert (content["themes"] != "").mean() > 0.8  # nearly every content unit gets a theme
    for doc_id, g in units.groupby("doc_id"):
        text = (seed_run.out / "texts" / f"{doc_id}.txt").read_text(encoding="utf-8")
        for r in g.itertuples():
            assert 0 <= r.start < r.end <= len(text)
            if r.text:
                assert r.text.split()[0].strip(":") in text[r.start:r.end]


def test_every_theme_label_has_score_and_evidence(seed_run):
    ut = pd.read_csv(seed_run.out / "unit_themes.csv", keep_default_na=False)
    assert list(ut.columns) == ["doc_id", "unit_id", "theme", "score", "sources", "evidence",
                                "evidence_spans"]
    assert ut["score"].between(0, 1).all()
    assert (ut["sources"] != "").all()
    assert (ut["evidence"] != "").all()


def test_workbook_has_a_sheet_per_table(seed_run):
    sheets = pd.ExcelFile(seed_run.out / "cpas-compare.xlsx").sheet_names
    assert len(sheets) >= 7


def _digest(out):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.glob("*.csv"))}


def test_warm_rerun_skips_work_and_changes_nothing(seed_run, seed_corpus):
    from pipeline.runner import analyze

    before = _digest(seed_run.out)
    again = analyze(seed_corpus, seed_run.out, n_process=1, quiet=True)
    assert again.skipped
    assert _digest(seed_run.out) == before


def test_show_prints_the_tree(seed_run, capsys):
    assert main(["show", "trooz-dps-2019", "--out", str(seed_run.out), "--no-color"]) == 0
    out = capsys.readouterr().out
    assert "Trooz" in out and "AXE" in out.upper()
    assert main(["show", "inconnu", "--out", str(seed_run.out)]) == 3
    assert "trooz-dps-2019" in capsys.readouterr().err  # lists the known ids


def test_peer_benchmark_command(seed_run, capsys):
    assert main(["peers", "ittre-dps-2019", "--out", str(seed_run.out)]) == 0
    by_id = capsys.readouterr().out
    assert by_id.strip()
    assert main(["peers", "Ittre", "--out", str(seed_run.out)]) == 0  # a commune name works too
    assert capsys.readouterr().out == by_id


def test_show_accepts_a_commune_name_and_the_french_spelling(seed_run, capsys):
    assert main(["show", "TROOZ", "--out", str(seed_run.out), "--no-color"]) == 0
    assert capsys.readouterr().out.startswith("trooz-dps-2019 — ")
    with pytest.raises(SystemExit) as exc:
        main(["analyse", "--help"])
    assert exc.value.code == 0


def test_codebook_change_is_not_skipped(seed_run, seed_corpus, tmp_path):
    from pipeline.engine.cache import PACKAGE_DIR
    from pipeline.runner import analyze

    src = (PACKAGE_DIR / "data" / "codebook.toml").read_text(encoding="utf-8")
    assert 'label = "Logement"' in src
    cb = tmp_path / "codebook.toml"
    cb.write_text(src.replace('label = "Logement"', 'label = "Logement et habitat"'),
                  encoding="utf-8")
    res = analyze(seed_corpus, seed_run.out, n_process=1, quiet=True, codebook=cb)
    assert not res.skipped
    tm = pd.read_csv(seed_run.out / "theme_matrix.csv")
    assert "Logement et habitat" in set(tm["theme_label"])
    # back to the default codebook: outputs as before
    analyze(seed_corpus, seed_run.out, n_process=1, quiet=True)
    assert "Logement et habitat" not in set(pd.read_csv(seed_run.out / "theme_matrix.csv")["theme_label"])


def test_label_correction_retrains_without_loading_spacy(seed_run, seed_corpus, tmp_path,
                                                         monkeypatch):
    """Correcting a label in annotations.csv retrains the theme model from the lemma cache."""
    import shutil

    import pipeline.classify.vocabulary as vocabulary
    from pipeline.runner import analyze

    corpus, cache = tmp_path / "corpus", tmp_path / "cache"
    shutil.copytree(seed_corpus, corpus)
    shutil.copytree(seed_run.out / ".cache", cache)
    ann = pd.read_csv(corpus / "annotations.csv", dtype=str, keep_default_na=False)
    row = ann.index[ann["themes"].str.contains("logement") & ~ann["themes"].str.contains("sante")][0]
    ann.loc[row, "themes"] = ann.loc[row, "themes"] + ";sante"
    ann.to_csv(corpus / "annotations.csv", index=False)

    def no_spacy(texts):
        raise AssertionError(f"spaCy asked to lemmatise {len(texts)} texts")

    monkeypatch.setattr(vocabulary, "default_lemmatiser", no_spacy)
    models = set(cache.glob("model-*.pkl"))
    res = analyze(corpus, tmp_path / "out", n_process=1, quiet=True, cache_dir=cache)
    assert res.exit_code == 0 and not res.skipped
    assert len(set(cache.glob("model-*.pkl")) - models) == 1  # a new model was trained
    text = ann.loc[row, "text"]
    unit = res.units[res.units["text"].str.strip() == text.strip()]
    assert len(unit) >= 1  # annotations match units by text: the corrected label is applied
    assert all("sante" in t.split(";") for t in unit["themes"])
