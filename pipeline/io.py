"""Atomic, deterministic writing of outputs (temporary file in the same folder, then rename)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

#: Prefix of the temporary files of :func:`atomic_write`.
TMP_PREFIX = ".cpas-tmp-"
_TMP_RE = re.compile(re.escape(TMP_PREFIX) + r"[0-9a-f]{12}\.[^/]+\.tmp")


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
    # the name is hashed, never the user's file name (a 250-byte doc_id must not overflow the
    # 255-byte limit), and marked as ours, so that only our temporaries are ever cleaned up
    key = hashlib.sha256(path.name.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    fd, tmp = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{key}.", suffix=".tmp", dir=path.parent)
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
    """Delete the temporary files a killed run left under ``folder`` (``.cpas-tmp-<hash>.XXXX.tmp``,
    as ``atomic_write`` names them; any other file, a user's ``.notes.tmp`` included, is left
    alone); returns how many. Call before a new run writes there."""
    n = 0
    for p in Path(folder).rglob(f"{TMP_PREFIX}*.tmp") if Path(folder).is_dir() else []:
        if p.is_file() and _TMP_RE.fullmatch(p.name):
            p.unlink(missing_ok=True)
            n += 1
    return n


def write_text(path: Path, text: str) -> Path:
    return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8", newline="\n"))


def write_bytes(path: Path, data: bytes) -> Path:
    return atomic_write(path, lambda p: p.write_bytes(data))


def write_json(path: Path, obj) -> Path:
    return write_text(path, json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True) + "\n")


#: First characters (after any leading whitespace) that make a spreadsheet read a cell as a
#: formula (CSV injection): such text cells get a leading "'" in the CSV files.
FORMULA_STARTS = ("=", "+", "-", "@")


def spreadsheet_safe(value):
    """A text cell as a spreadsheet will read it safely: ``'`` prefixed when, after leading
    whitespace, it starts with ``= + - @`` (``"\\t=2+2"`` → ``"'\\t=2+2"``); other values unchanged."""
    if isinstance(value, str) and value.lstrip().startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its text columns passed through :func:`spreadsheet_safe` (a copy when any cell
    changes; numbers, booleans and dates are never touched)."""
    out = df
    for col in df.columns:
        if df[col].dtype == object or pd.api.types.is_string_dtype(df[col]):
            safe = df[col].map(spreadsheet_safe)
            if not safe.equals(df[col]):
                if out is df:
                    out = df.copy()
                out[col] = safe
    return out


def write_table(df: pd.DataFrame, base: Path, parquet: bool = True) -> list[Path]:
    """Write ``df`` as ``base.csv`` (UTF-8, "\\n" line ends; text cells that a spreadsheet would
    take for a formula prefixed with ``'``, see :func:`spreadsheet_safe`) and, unless disabled,
    ``base.parquet`` (raw text)."""
    base = Path(base)
    safe = csv_frame(df)
    out = [atomic_write(base.with_suffix(".csv"),
                        lambda p: safe.to_csv(p, index=False, lineterminator="\n"))]
    if parquet:
        out.append(atomic_write(base.with_suffix(".parquet"),
                                lambda p: df.to_parquet(p, index=False)))
    return out


# --------------------------------------------------------------------------- user CSV files


def read_user_csv(path: Path, expected: str) -> pd.DataFrame | None:
    """A CSV a person saved (``metadata.csv``, ``annotations.csv``) → DataFrame of stripped text
    cells, or None for an empty file (with one French line on stderr).

    Encoding: UTF-8 (with or without BOM), else Windows-1252. Delimiter: comma, semicolon
    (Excel in French) or tab, whichever the header line uses most. ``expected``: the header to
    show in messages (``"doc_id,commune,…"``). A malformed file raises ValueError naming the
    file and the fix. Column names are stripped; ``.attrs["line"]`` gives each row's line
    number in the file (header = line 1) for messages.
    """
    import csv
    import io as _io
    import sys

    raw = Path(path).read_bytes()
    if not raw.strip():
        print(f"attention : {path} est vide : ignoré (une ligne d'en-tête {expected} puis une "
              "ligne par document)", file=sys.stderr)
        return None
    for enc in ("utf-8-sig", "cp1252"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:  # bytes that are neither UTF-8 nor Windows-1252 (0x81, 0x8D… in a binary file)
        raise ValueError(f"{path} illisible (encodage ni UTF-8 ni Windows-1252) : enregistrez-le "
                         f"en CSV UTF-8 avec l'en-tête {expected}")
    if "\x00" in text:
        raise ValueError(f"{path} illisible (contenu binaire) : enregistrez-le en CSV (texte) "
                         f"avec l'en-tête {expected}")
    header = text.split("\n", 1)[0]
    sep = max((",", ";", "\t"), key=lambda c: (header.count(c), c == ","))
    reader = csv.reader(_io.StringIO(text, newline=""), delimiter=sep, strict=True)
    rows, lines = [], []
    try:
        last = 0
        for r in reader:
            rows.append(r)
            lines.append(last + 1)  # the line the row starts on
            last = reader.line_num
    except csv.Error as exc:
        raise ValueError(f"{path} illisible (ligne {last + 1} : {exc}) : enregistrez-le en CSV "
                         f"avec l'en-tête {expected} puis une ligne par document") from exc
    data = [(r, n) for r, n in zip(rows[1:], lines[1:], strict=True) if any(c.strip() for c in r)]
    lines = [n for _, n in data]
    data = [r for r, _ in data]
    cols = [c.strip() for c in rows[0]]
    width = len(cols)
    for r, n in zip(data, lines, strict=True):
        if len(r) > width and any(c.strip() for c in r[width:]):
            raise ValueError(f"{path} ligne {n} : {len(r)} cellules pour {width} colonnes "
                             f"(séparateur « {sep if sep != chr(9) else 'tabulation'} ») : "
                             "mettez entre guillemets les textes qui contiennent le séparateur")
    df = pd.DataFrame([[str(c).strip() for c in (r + [""] * width)[:width]] for r in data],
                      columns=cols, dtype=str)
    df.attrs["line"] = lines
    return df
