"""Runner edge cases: nothing readable, bad --by, bad metadata.csv (fast: no model load)."""

import pandas as pd
import pytest

from pipeline.cli import main
from pipeline.runner import analyze


def test_no_readable_document_exits_1_with_reasons(tmp_path, capsys):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "vide.txt").write_bytes(b"")
    (corpus / "faux.pdf").write_bytes(b"pas un pdf")
    res = analyze(corpus, tmp_path / "out", n_process=1, quiet=True)
    assert res.exit_code == 1
    assert {e["source_file"] for e in res.errors} == {"vide.txt", "faux.pdf"}
    docs = pd.read_csv(tmp_path / "out" / "documents.csv", keep_default_na=False)
    assert (docs["status"] == "error").all() and (docs["error"] != "").all()
    assert main(["analyze", str(corpus), "--out", str(tmp_path / "o2"), "--quiet"]) == 1
    assert "vide.txt" in capsys.readouterr().err


def test_unknown_by_column_is_a_clear_error(tmp_path, capsys):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "vide.txt").write_bytes(b"")
    code = main(["analyze", str(corpus), "--out", str(tmp_path / "o"), "--by", "provnce",
                 "--quiet"])
    assert code == 2
    err = capsys.readouterr().err
    assert "provnce" in err and "metadata.csv" in err


def test_malformed_metadata_csv_is_a_clear_error(tmp_path, capsys):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "vide.txt").write_bytes(b"")
    (corpus / "metadata.csv").write_text('doc_id,commune\n"a,b\n', encoding="utf-8")
    assert main(["analyze", str(corpus), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "metadata.csv" in capsys.readouterr().err


def _write_marker(path, text):
    import os

    path.write_text(f"{text} {os.getpid()}", encoding="utf-8")
    return [path.name]


def _fail(message):
    raise OSError(message)


def test_in_background_returns_the_child_result_and_its_files(tmp_path):
    import os

    from pipeline.runner import in_background

    wait = in_background(_write_marker, tmp_path / "child.txt", "écrit par")
    value, seconds = wait()
    assert value == ["child.txt"] and seconds >= 0
    text, pid = (tmp_path / "child.txt").read_text(encoding="utf-8").rsplit(" ", 1)
    assert text == "écrit par" and int(pid) != os.getpid()  # another process wrote it


def test_in_background_error_is_raised_in_the_parent():
    from pipeline.runner import in_background

    wait = in_background(_fail, "disque plein")
    with pytest.raises(RuntimeError, match="OSError: disque plein"):
        wait()


def test_in_background_without_fork_runs_inline(tmp_path, monkeypatch):
    import multiprocessing
    import os

    from pipeline.runner import in_background

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
    from pipeline.runner import in_background

    child = in_background(_bad_metadata, "metadata.csv illisible : corrigez-le")
    with pytest.raises(ValueError, match="corrigez-le"):  # the CLI prints it as « erreur : … »
        child()


def test_in_background_cancel_stops_the_child_and_one_process_means_inline(tmp_path):
    import os

    from pipeline.runner import in_background

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
    assert first.exit_code == 1 and len(first.errors) == 2

    def no_model(*a, **k):
        raise AssertionError("model started for files known to fail")

    monkeypatch.setattr(nlp, "BackgroundModel", no_model)
    monkeypatch.setattr(nlp, "get_nlp", no_model)
    again = analyze(corpus, tmp_path / "out", n_process=2, quiet=True)
    assert again.exit_code == 1 and len(again.errors) == 2
