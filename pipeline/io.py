"""Atomic, deterministic writing of outputs (temporary file in the same folder, then rename)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd


def cell_text(value) -> str:
    """A table cell as a string: "" for None / NaN / pd.NA, ``str(value)`` otherwise."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):  # lists, arrays: not a missing scalar
        pass
    return str(value)


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` then rename tmp_path onto ``path``; never leaves a half file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp creates 0600; outputs are meant to be shared
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
    return path


def remove_stale_temporaries(folder: Path) -> int:
    """Delete the temporary files a killed run left under ``folder`` (``.name.XXXX.tmp``, as
    ``atomic_write`` names them); returns how many. Call before a new run writes there."""
    n = 0
    for p in Path(folder).rglob(".*.tmp") if Path(folder).is_dir() else []:
        if p.is_file():
            p.unlink(missing_ok=True)
            n += 1
    return n


def write_text(path: Path, text: str) -> Path:
    return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8", newline="\n"))


def write_bytes(path: Path, data: bytes) -> Path:
    return atomic_write(path, lambda p: p.write_bytes(data))


def write_json(path: Path, obj) -> Path:
    return write_text(path, json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True) + "\n")


def write_table(df: pd.DataFrame, base: Path, parquet: bool = True) -> list[Path]:
    """Write ``df`` as ``base.csv`` (UTF-8, "\\n" line ends) and, unless disabled, ``base.parquet``."""
    base = Path(base)
    out = [atomic_write(base.with_suffix(".csv"),
                        lambda p: df.to_csv(p, index=False, lineterminator="\n"))]
    if parquet:
        out.append(atomic_write(base.with_suffix(".parquet"),
                                lambda p: df.to_parquet(p, index=False)))
    return out
