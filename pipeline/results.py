"""Load the outputs of a finished run as DataFrames (for notebooks, `show`, `benchmark`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipeline.models import COMPARISON_TABLES, TRACE_TABLES  # pipeline/data/tables.toml

TABLE_NAMES = COMPARISON_TABLES + TRACE_TABLES


@dataclass
class RunResult:
    """What one run produced (also what ``pipeline.load_results`` returns)."""

    documents: pd.DataFrame
    units: pd.DataFrame
    unit_themes: pd.DataFrame
    nlp: pd.DataFrame = field(default_factory=pd.DataFrame)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    errors: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    n_words: int = 0
    n_pages: int = 0
    exit_code: int = 0
    out: Path | None = None
    skipped: bool = False
    #: the machine's labels of the units a human labelled (same columns as ``unit_themes``)
    machine_themes: pd.DataFrame = field(default_factory=pd.DataFrame)


def _read(path: Path) -> pd.DataFrame:
    if path.with_suffix(".parquet").is_file():
        return pd.read_parquet(path.with_suffix(".parquet"))
    if path.with_suffix(".csv").is_file():
        return pd.read_csv(path.with_suffix(".csv"), keep_default_na=False)
    return pd.DataFrame()


def load_results(out: str | Path = "outputs"):
    """Read ``out`` (written by ``analyze``) into a RunResult.

    Raises FileNotFoundError with the command to run when the folder holds no analysis.
    """

    out = Path(out)
    if not (out / "units.parquet").is_file() and not (out / "units.csv").is_file():
        raise FileNotFoundError(
            f"aucune analyse dans {out}/ : lancez d'abord `make analyze` "
            f"(ou `python -m pipeline analyze CORPUS --out {out}`)")
    documents = _read(out / "documents")
    tables = {name: _read(out / name) for name in TABLE_NAMES}
    tables.update({p.stem: _read(p) for p in sorted(out.glob("by_*.parquet"))})
    tables.update({p.stem: _read(p) for p in sorted(out.glob("trace_by_*.parquet"))})
    errors = []
    if len(documents):
        bad = documents[documents["status"] != "ok"]
        errors = bad[["doc_id", "source_file", "error"]].to_dict("records")
    return RunResult(documents=documents, units=_read(out / "units"),
                     unit_themes=_read(out / "unit_themes"), nlp=_read(out / "unit_nlp"),
                     tables=tables, errors=errors, out=out,
                     machine_themes=_read(out / "machine_themes"))


def read_text(out: str | Path, doc_id: str) -> str:
    """The normalised text of ``doc_id`` (the one unit offsets point into)."""
    return (Path(out) / "texts" / f"{doc_id}.txt").read_text(encoding="utf-8")


def fold_name(text) -> str:
    """A name as compared by a person: no accents, no case, dashes and apostrophes as spaces."""
    import unicodedata

    s = str(text)
    for mark in "–—‐‑’‘`´":  # dashes and typographic apostrophes separate words too
        s = s.replace(mark, " ")
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    return " ".join(s.casefold().replace("-", " ").replace("'", " ").split())


def resolve_doc(name: str, documents: pd.DataFrame) -> str:
    """The doc_id a person means by ``name``: a doc_id (exact, or ignoring case and accents),
    else a commune (``Trooz``, ``beyne-heusay``) when exactly one document has it. Raises
    ValueError in French listing the candidates (several documents of that commune) or the
    known ids (no match)."""
    ids = [str(d) for d in documents["doc_id"]]
    if name in ids:
        return name
    key = fold_name(name)
    same = [d for d in ids if fold_name(d) == key]
    if len(same) == 1:
        return same[0]
    if "commune" in documents.columns:
        of = [str(d) for d, c in zip(documents["doc_id"], documents["commune"], strict=True)
              if c and fold_name(c) == key]
        if len(of) == 1:
            return of[0]
        if len(of) > 1:
            raise ValueError(f"plusieurs déclarations pour « {name} » : {', '.join(of)} ; "
                             "indiquez l'identifiant voulu")
    labels = [f"{d} ({c})" if c else d for d, c in
              zip(ids, documents.get("commune", pd.Series([""] * len(ids))), strict=True)]
    raise ValueError(f"document inconnu « {name} ». Documents analysés : "
                     f"{', '.join(labels) or 'aucun'}")
