"""Content-hash cache: keys from file contents and code versions, pickled entries, the
manifest of the files a run wrote. Nothing here knows about declarations."""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Sequence
from pathlib import Path

from pipeline import io

#: The package folder (``pipeline/``): code versions hash the files under it.
PACKAGE_DIR = Path(__file__).resolve().parents[1]
#: Files whose change invalidates cached results (code, data, report template/assets).
CODE_SUFFIXES = {".py", ".toml", ".csv", ".txt", ".html", ".css", ".js"}


def hash_files(paths: Sequence[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        if p.is_file():
            h.update(str(p.relative_to(PACKAGE_DIR)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


def code_version(*parts: str) -> str:
    """Hash of the source and data files of the named sub-packages/modules (for cache keys)."""
    paths: list[Path] = []
    for part in parts:
        target = PACKAGE_DIR / part
        if target.is_dir():
            paths += [p for p in target.rglob("*")
                      if p.suffix in CODE_SUFFIXES and "__pycache__" not in p.parts]
        elif target.with_suffix(".py").exists():
            paths.append(target.with_suffix(".py"))
        elif target.exists():
            paths.append(target)
    return hash_files(paths)


def content_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, read by blocks (a huge file is never held in memory); "" when
    it cannot be read (the reader reports why)."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return ""
    return h.hexdigest()


EMPTY_DIGEST = hashlib.sha256(b"").hexdigest()


def load_pickle(path: Path):
    try:
        with open(path, "rb") as f:
            return pickle.load(f)
    except Exception:  # a missing or damaged cache entry is simply recomputed
        return None


def save_pickle(path: Path, obj) -> None:
    io.write_bytes(path, pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))
