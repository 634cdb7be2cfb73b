"""Runner edge cases: nothing readable, bad --by, bad metadata.csv (fast: no model load)."""

import pandas as pd

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
