"""The CLI is a thin layer: every subcommand has --help; errors name the fix."""

import subprocess
import sys

import pytest

from pipeline.cli import COMMANDS, build_parser, main

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    assert "usage" in capsys.readouterr().out


def test_no_command_prints_help(capsys):
    assert main([]) == 0
    assert "analyze" in capsys.readouterr().out


def test_show_without_analysis_names_the_fix(tmp_path, capsys):
    assert main(["show", "x", "--out", str(tmp_path)]) == 3
    assert "make analyze" in capsys.readouterr().err


def test_analyze_missing_folder_is_a_clear_error(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 3
    assert "introuvable" in capsys.readouterr().err


def test_module_entry_point():
    out = subprocess.run([sys.executable, "-m", "pipeline", "--help"], capture_output=True,
                         text=True, cwd=ROOT, check=True).stdout
    assert all(c in out for c in COMMANDS)


def test_makefile_targets_mirror_cli():
    make = (ROOT / "Makefile").read_text()
    for target in ("analyze", "show", "evaluate", "peers", "benchmark", "test", "help"):
        assert f"\n{target}:" in make
    assert set(build_parser()._subparsers._group_actions[0].choices) == set(COMMANDS)


def test_resolve_doc_by_id_commune_or_folded_name():
    import pandas as pd

    from pipeline.results import resolve_doc

    docs = pd.DataFrame({"doc_id": ["trooz-dps-2019", "ittre-dps-2019", "liege-a", "liege-b"],
                         "commune": ["Trooz", "Ittre", "Liège", "Liège"]})
    assert resolve_doc("ittre-dps-2019", docs) == "ittre-dps-2019"
    assert resolve_doc("TROOZ-DPS-2019", docs) == "trooz-dps-2019"
    assert resolve_doc("trooz", docs) == "trooz-dps-2019"
    with pytest.raises(ValueError, match="plusieurs.*liege-a, liege-b"):
        resolve_doc("liege", docs)
    with pytest.raises(ValueError, match="inconnu.*Trooz"):
        resolve_doc("Namur", docs)


def test_make_show_without_doc_says_how():
    out = subprocess.run(["make", "-s", "show", "STAMP=Makefile"], capture_output=True,
                         text=True, cwd=ROOT)
    assert out.returncode != 0 and "DOC=" in out.stderr and "Traceback" not in out.stderr


def test_missing_spacy_model_is_a_french_error_naming_the_fix(tmp_path, capsys, monkeypatch):
    import pipeline.nlp as nlp
    from pipeline.cli import main as cli_main

    def missing(*a, **k):
        raise nlp.ModelMissingError("le modèle spaCy fr_core_news_md n'est pas installé : "
                                    "lancez `make install`")

    monkeypatch.setattr(nlp, "get_nlp", missing)
    monkeypatch.setattr(nlp, "BackgroundModel", lambda *a, **k: None)
    monkeypatch.setattr(nlp, "annotate", missing)
    import pipeline.runner as runner

    monkeypatch.setattr(runner, "annotate", missing, raising=False)
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text("AXE 1 : Logement\n- Créer des logements.\n", encoding="utf-8")
    code = cli_main(["analyze", str(corpus), "--out", str(tmp_path / "o"), "--quiet",
                     "--processes", "1"])
    err = capsys.readouterr().err
    assert code == 3 and "make install" in err and "Traceback" not in err


def _annotation_sets(path):
    import pandas as pd

    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    return {(d, t.rstrip(" *;.,:!")): frozenset(x for x in th.split(";") if x)
            for d, t, th in zip(df["doc_id"], df["text"], df["themes"], strict=True)}


def test_import_qdpx_of_an_unreviewed_export_changes_no_label(seed_run, seed_corpus, tmp_path,
                                                              capsys):
    import shutil

    into = tmp_path / "annotations.csv"
    shutil.copy(seed_corpus / "annotations.csv", into)
    code = main(["import-qdpx", str(seed_run.out / "cpas-compare.qdpx"), "--into", str(into)])
    assert code == 0
    assert _annotation_sets(into) == _annotation_sets(seed_corpus / "annotations.csv")
    assert "remplacée(s) par la relecture" in capsys.readouterr().out


def test_import_qdpx_replace_keeps_only_the_projects_codings(seed_run, tmp_path):
    into = tmp_path / "annotations.csv"
    into.write_text("doc_id,unit_id,kind,text,themes,context\nx,,objective,Autre,logement,\n",
                    encoding="utf-8")
    assert main(["import-qdpx", str(seed_run.out / "cpas-compare.qdpx"), "--into", str(into),
                 "--replace"]) == 0
    rows = _annotation_sets(into)
    assert ("x", "Autre") not in rows and len(rows) > 100


def test_import_qdpx_of_a_missing_or_broken_file_is_a_usage_error(tmp_path, capsys):
    assert main(["import-qdpx", str(tmp_path / "absent.qdpx"), "--into",
                 str(tmp_path / "a.csv")]) == 3
    (tmp_path / "bad.qdpx").write_bytes(b"not a zip")
    assert main(["import-qdpx", str(tmp_path / "bad.qdpx"), "--into",
                 str(tmp_path / "a.csv")]) == 3
    err = capsys.readouterr().err
    assert "bad.qdpx" in err and not (tmp_path / "a.csv").exists()


def test_profile_command_writes_html_and_names_the_group(seed_run, capsys):
    code = main(["profile", "Trooz", "--out", str(seed_run.out), "--peers", "province",
                 "--no-pdf"])
    assert code == 0
    out = capsys.readouterr().out
    page = seed_run.out / "profiles" / "trooz-dps-2019--province.html"
    assert page.is_file() and "province = Liège" in out
    assert "Profil de Trooz" in page.read_text(encoding="utf-8")
    assert main(["profile", "Trooz", "--out", str(seed_run.out), "--peers", "region=x",
                 "--no-pdf"]) == 3
