"""Runner edge cases: nothing readable, bad --by, bad metadata.csv, the output folder (claimed,
locked, read-only, inside the corpus) and exit codes (fast: no model load)."""

import pandas as pd
import pytest

from pipeline.cli import main
from pipeline.runner import analyze


def test_no_readable_document_exits_2_with_reasons(tmp_path, capsys):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "vide.txt").write_bytes(b"")
    (corpus / "faux.pdf").write_bytes(b"pas un pdf")
    res = analyze(corpus, tmp_path / "out", n_process=1, quiet=True)
    assert res.exit_code == 2
    assert {e["source_file"] for e in res.errors} == {"vide.txt", "faux.pdf"}
    docs = pd.read_csv(tmp_path / "out" / "documents.csv", keep_default_na=False)
    assert (docs["status"] == "error").all() and (docs["error"] != "").all()
    assert main(["analyze", str(corpus), "--out", str(tmp_path / "o2"), "--quiet"]) == 2
    assert "vide.txt" in capsys.readouterr().err


def test_unknown_by_column_is_a_clear_error(tmp_path, capsys):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "vide.txt").write_bytes(b"")
    code = main(["analyze", str(corpus), "--out", str(tmp_path / "o"), "--by", "provnce",
                 "--quiet"])
    assert code == 3
    err = capsys.readouterr().err
    assert "provnce" in err and "metadata.csv" in err


def test_malformed_metadata_csv_is_a_clear_error(tmp_path, capsys):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "vide.txt").write_bytes(b"")
    (corpus / "metadata.csv").write_text('doc_id,commune\n"a,b\n', encoding="utf-8")
    assert main(["analyze", str(corpus), "--out", str(tmp_path / "o"), "--quiet"]) == 3
    assert "metadata.csv" in capsys.readouterr().err


def _write_marker(path, text):
    import os

    path.write_text(f"{text} {os.getpid()}", encoding="utf-8")
    return [path.name]


def _fail(message):
    raise OSError(message)


def test_in_background_returns_the_child_result_and_its_files(tmp_path):
    import os

    from pipeline.engine.parallel import in_background

    wait = in_background(_write_marker, tmp_path / "child.txt", "écrit par")
    value, seconds = wait()
    assert value == ["child.txt"] and seconds >= 0
    text, pid = (tmp_path / "child.txt").read_text(encoding="utf-8").rsplit(" ", 1)
    assert text == "écrit par" and int(pid) != os.getpid()  # another process wrote it


def test_in_background_error_is_raised_in_the_parent():
    from pipeline.engine.parallel import in_background

    wait = in_background(_fail, "disque plein")
    with pytest.raises(RuntimeError, match="OSError: disque plein"):
        wait()


def test_in_background_without_fork_runs_inline(tmp_path, monkeypatch):
    import multiprocessing
    import os

    from pipeline.engine.parallel import in_background

    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    wait = in_background(_write_marker, tmp_path / "inline.txt", "écrit par")
    assert (tmp_path / "inline.txt").read_text(encoding="utf-8") == f"écrit par {os.getpid()}"
    assert wait()[0] == ["inline.txt"]
    with pytest.raises(OSError, match="disque plein"):
        in_background(_fail, "disque plein")


def _bad_metadata(message):
    raise ValueError(message)


def _sleep(seconds):
    import time

    time.sleep(seconds)


def test_in_background_keeps_errors_that_name_their_fix():
    from pipeline.engine.parallel import in_background

    child = in_background(_bad_metadata, "metadata.csv illisible : corrigez-le")
    with pytest.raises(ValueError, match="corrigez-le"):  # the CLI prints it as « erreur : … »
        child()


def test_in_background_cancel_stops_the_child_and_one_process_means_inline(tmp_path):
    import os

    from pipeline.engine.parallel import in_background

    child = in_background(_sleep, 60)
    assert child._proc.is_alive()
    child.cancel()
    assert not child._proc.is_alive()
    assert child() == (None, 0.0)
    inline = in_background(_write_marker, tmp_path / "one.txt", "écrit par", parallel=False)
    assert inline._proc is None
    assert (tmp_path / "one.txt").read_text(encoding="utf-8") == f"écrit par {os.getpid()}"


def test_known_bad_files_do_not_load_the_model_again(tmp_path, monkeypatch):
    """A corpus keeps a broken file: re-runs read it again (its fix may be outside it) but
    neither start the spaCy model in the background nor load it here."""
    import pipeline.nlp as nlp

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "cassé.pdf").write_bytes(b"%PDF-1.4 pas vraiment un PDF")
    (corpus / "brochure.odt").write_bytes(b"format non pris en charge")
    first = analyze(corpus, tmp_path / "out", n_process=2, quiet=True)
    assert first.exit_code == 2 and len(first.errors) == 2

    def no_model(*a, **k):
        raise AssertionError("model started for files known to fail")

    monkeypatch.setattr(nlp, "BackgroundModel", no_model)
    monkeypatch.setattr(nlp, "get_nlp", no_model)
    again = analyze(corpus, tmp_path / "out", n_process=2, quiet=True)
    assert again.exit_code == 2 and len(again.errors) == 2


# --------------------------------------------------------------------------- the output folder


def _empty_corpus(tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "vide.txt").write_bytes(b"")  # read fast, fails: no model is loaded
    return corpus


def test_a_foreign_non_empty_output_folder_is_refused_and_kept(tmp_path, capsys):
    corpus = _empty_corpus(tmp_path)
    mine = tmp_path / "Documents"
    mine.mkdir()
    (mine / "documents.csv").write_text("mes données", encoding="utf-8")
    (mine / ".notes.tmp").write_text("brouillon", encoding="utf-8")
    assert main(["analyze", str(corpus), "--out", str(mine), "--quiet"]) == 3
    err = capsys.readouterr().err
    assert "--force" in err and "documents.csv" in err
    assert (mine / "documents.csv").read_text(encoding="utf-8") == "mes données"
    assert sorted(p.name for p in mine.iterdir()) == [".notes.tmp", "documents.csv"]
    # adopted with --force: the tool's files are written, the user's others never touched
    assert main(["analyze", str(corpus), "--out", str(mine), "--quiet", "--force"]) == 2
    assert (mine / ".cpas-compare").is_file()
    assert (mine / ".notes.tmp").read_text(encoding="utf-8") == "brouillon"
    # from now on the folder is the tool's: no --force needed
    assert main(["analyze", str(corpus), "--out", str(mine), "--quiet"]) == 2


def test_only_files_of_the_manifest_are_removed(tmp_path):
    import json

    corpus = _empty_corpus(tmp_path)
    out = tmp_path / "out"
    analyze(corpus, out, n_process=1, quiet=True)
    (out / "texts").mkdir(exist_ok=True)
    (out / "texts" / "mes-notes.txt").write_text("à garder", encoding="utf-8")
    (out / "ancien.csv").write_text("listé par un run précédent", encoding="utf-8")
    (out / "texts" / "ancien.txt").write_text("listé aussi", encoding="utf-8")
    manifest = json.loads((out / ".manifest.json").read_text(encoding="utf-8")) \
        if (out / ".manifest.json").is_file() else {"files": []}
    manifest["files"] = sorted({*manifest.get("files", []), "ancien.csv", "texts/ancien.txt",
                                "../dehors.txt"})
    manifest["run_key"] = "autre"
    (out / ".manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (tmp_path / "dehors.txt").write_text("hors du dossier", encoding="utf-8")
    (corpus / "vraie.txt").write_text("AXE 1 : Logement\n- Créer des logements d'urgence.\n",
                                      encoding="utf-8")
    res = analyze(corpus, out, n_process=1, quiet=True, report=False)
    assert res.exit_code == 0
    assert not (out / "ancien.csv").exists() and not (out / "texts" / "ancien.txt").exists()
    assert (out / "texts" / "mes-notes.txt").read_text(encoding="utf-8") == "à garder"
    assert (tmp_path / "dehors.txt").is_file()  # a manifest never reaches outside OUT


def test_output_inside_the_corpus_is_refused(tmp_path, capsys):
    corpus = _empty_corpus(tmp_path)
    assert main(["analyze", str(corpus), "--out", str(corpus / "resultats"), "--quiet"]) == 3
    assert "dans le dossier des déclarations" in capsys.readouterr().err
    assert not (corpus / "resultats").exists()


def test_read_only_output_folder_exits_4(tmp_path, capsys):
    import os

    if os.geteuid() == 0:  # root writes anywhere: use a path under a regular file instead
        (tmp_path / "fichier").write_text("x", encoding="utf-8")
        out = tmp_path / "fichier" / "out"
    else:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        out = ro / "out"
    corpus = _empty_corpus(tmp_path)
    code = main(["analyze", str(corpus), "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code == 4, err
    assert "écriture" in err and "--out" in err and "Traceback" not in err


def test_read_only_filesystem_error_while_writing_exits_4(tmp_path, capsys, monkeypatch):
    import errno

    from pipeline import io

    def read_only(*a, **k):
        raise OSError(errno.EROFS, "Read-only file system", str(tmp_path / "out" / "units.csv"))

    monkeypatch.setattr(io, "write_table", read_only)
    corpus = _empty_corpus(tmp_path)
    code = main(["analyze", str(corpus), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 4 and "écriture impossible" in err


def test_mistyped_option_exits_3(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["analyze", "--procesess", "2"])
    assert exc.value.code == 3


def _hold_lock(out, ready, release):
    from pipeline.outdir import locked

    with locked(out):
        ready.set()
        release.wait(30)


def test_second_run_on_the_same_output_is_refused_or_waits(tmp_path, capsys):
    import multiprocessing
    import threading

    from pipeline.outdir import OutputRefused, claim, locked

    out = tmp_path / "out"
    claim(out)
    ctx = multiprocessing.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(out, ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        corpus = _empty_corpus(tmp_path)
        assert main(["analyze", str(corpus), "--out", str(out), "--quiet"]) == 3
        assert "--wait" in capsys.readouterr().err
        with pytest.raises(OutputRefused):
            with locked(out):
                pass
        got = []

        def waiter():
            with locked(out, wait=True):
                got.append("verrou obtenu")

        t = threading.Thread(target=waiter)
        t.start()
        t.join(1.0)
        assert got == []  # still waiting for the other run
        release.set()
        t.join(30)
        assert got == ["verrou obtenu"]
        assert "attente" in capsys.readouterr().err
    finally:
        release.set()
        holder.join(30)


def test_the_projects_own_outputs_folder_is_the_tools(tmp_path):
    """`make analyze` on a fresh clone writes into outputs/ (which holds a README): the folder
    ships with the marker, so it is never refused."""
    import shutil
    from pathlib import Path

    from pipeline.outdir import claim

    shipped = Path(__file__).resolve().parents[1] / "outputs"
    copy = tmp_path / "outputs"
    copy.mkdir()
    for name in (".cpas-compare", "README.md"):
        shutil.copy(shipped / name, copy / name)
    claim(copy, tmp_path / "corpus")  # raises if refused


def test_identical_files_are_analysed_once_with_a_warning(tmp_path):
    import shutil
    from pathlib import Path

    seeds = Path(__file__).resolve().parent / "fixtures" / "seeds"
    corpus = tmp_path / "c"
    (corpus / "copies").mkdir(parents=True)
    shutil.copy(seeds / "ittre-dps-2019.txt", corpus / "ittre-dps-2019.txt")
    shutil.copy(seeds / "ittre-dps-2019.txt", corpus / "copies" / "Ittre final.txt")
    (corpus / "vide-1.txt").write_bytes(b"")
    (corpus / "vide-2.txt").write_bytes(b"")  # empty files are errors each, never "copies"
    res = analyze(corpus, tmp_path / "out", n_process=1, quiet=True, report=False)
    assert sorted(res.documents["doc_id"]) == ["ittre-dps-2019", "vide-1", "vide-2"]
    notes = [w for w in res.warnings if "copie identique" in w]
    assert len(notes) == 1 and "copies/Ittre final.txt" in notes[0] and "ittre-dps-2019" in notes[0]


def test_an_output_folder_that_cannot_be_created_exits_4(tmp_path, capsys):
    corpus = _empty_corpus(tmp_path)
    code = main(["analyze", str(corpus), "--out", "/proc/cpas-compare-sortie", "--quiet"])
    err = capsys.readouterr().err
    assert code == 4 and "n'est pas accessible en écriture" in err and "Errno" not in err
