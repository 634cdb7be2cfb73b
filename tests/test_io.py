import pandas as pd
import pytest

from pipeline import io


def test_atomic_write_leaves_old_file_when_writer_fails(tmp_path):
    target = tmp_path / "t.csv"
    io.write_text(target, "ancien\n")

    def boom(p):
        p.write_text("moitié")
        raise RuntimeError("interrompu")

    with pytest.raises(RuntimeError):
        io.atomic_write(target, boom)
    assert target.read_text() == "ancien\n"
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]  # no temporary file left


def test_write_table_csv_and_parquet_roundtrip(tmp_path):
    df = pd.DataFrame({"doc_id": ["a", "b"], "n": [1, 2], "texte": ["é « x »", ""]})
    io.write_table(df, tmp_path / "t")
    assert (tmp_path / "t.csv").read_bytes().count(b"\r") == 0
    back = pd.read_parquet(tmp_path / "t.parquet")
    assert back["texte"].tolist() == ["é « x »", ""]
    assert pd.read_csv(tmp_path / "t.csv")["n"].tolist() == [1, 2]


def test_remove_stale_temporaries_keeps_real_files(tmp_path):
    (tmp_path / ".cache" / "docs").mkdir(parents=True)
    stale = tmp_path / ".cache" / "docs" / ".cpas-tmp-0123456789ab.x1y2z3.tmp"
    stale.write_bytes(b"half")
    keep = [tmp_path / "units.csv", tmp_path / ".manifest.json", tmp_path / ".cache" / "docs" / "abc.pkl",
            tmp_path / ".notes.tmp", tmp_path / ".brouillon.docx.x1y2.tmp"]  # a user's files
    for p in keep:
        p.write_text("x")
    assert io.remove_stale_temporaries(tmp_path) == 1
    assert not stale.exists() and all(p.exists() for p in keep)
    assert io.remove_stale_temporaries(tmp_path / "absent") == 0


def test_csv_cells_that_look_like_formulas_are_quoted(tmp_path):
    """CSV injection (issue 14, item 8): = + - @ after whitespace get a leading "'" in the CSV;
    Parquet keeps the raw text; numbers are untouched."""
    import pandas as pd

    from pipeline.io import write_table

    raw = ["=2+2", "\t=2+2", " +33 1", "-cmd", "@SUM(A1)", "Logement", "a=b"]
    df = pd.DataFrame({"text": raw, "n": [-1, 2, 3, 4, 5, 6, 7]})
    write_table(df, tmp_path / "t")
    back = pd.read_csv(tmp_path / "t.csv", keep_default_na=False)
    assert back["text"].tolist() == ["'=2+2", "'\t=2+2", "' +33 1", "'-cmd", "'@SUM(A1)",
                                     "Logement", "a=b"]
    assert back["n"].tolist() == [-1, 2, 3, 4, 5, 6, 7]
    assert pd.read_parquet(tmp_path / "t.parquet")["text"].tolist() == raw
    assert df["text"].tolist() == raw  # the caller's frame is not modified


def test_temporary_names_do_not_grow_with_the_file_name(tmp_path):
    """A 250-byte output name (a long doc_id) is written: the temporary's name is hashed
    (issue 14, item 3), and nothing is left behind."""
    name = "d" * 246 + ".txt"
    io.write_text(tmp_path / name, "texte")
    assert (tmp_path / name).read_text(encoding="utf-8") == "texte"
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_user_csv_in_no_known_encoding_is_a_clear_error(tmp_path):
    p = tmp_path / "metadata.csv"
    p.write_bytes(b"doc_id,commune\r\na,\x81\x8d\x90\r\n")  # undefined in UTF-8 and cp1252
    with pytest.raises(ValueError, match="metadata.csv illisible.*UTF-8"):
        io.read_user_csv(p, "doc_id,commune")
