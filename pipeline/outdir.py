"""The output folder is the tool's: claim it with a marker, lock it for one run at a time.

``claim(out, corpus, force)`` → None; raises :class:`OutputRefused` (exit code 3) for a
folder the tool must not write into (inside the corpus, or non-empty and not ours without
``force``), :class:`OutputNotWritable` (exit code 4) when it cannot be created or written.
``locked(out, wait)`` is a context manager holding ``OUT/.lock`` (``fcntl.lockf``) for the
run; a second run on the same OUT exits with :class:`OutputRefused`, or waits with ``wait``.

Files the tool writes are listed in ``OUT/.manifest.json``; a later run only ever deletes or
replaces files it listed there (or its own temporaries, see :mod:`pipeline.io`).
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MARKER = ".cpas-compare"
LOCK = ".lock"
MANIFEST = ".manifest.json"
#: files a desktop leaves in any folder: they do not make it "non-empty"
_DESKTOP_FILES = {".DS_Store", "Thumbs.db", "desktop.ini"}
_MARKER_TEXT = ("Dossier de sortie de cpas-compare : l'outil y écrit et y remplace les fichiers "
                "listés dans .manifest.json, et rien d'autre.\n")
_NOT_WRITABLE = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT}

#: exit codes of the command line (README "Codes de sortie")
EXIT_OK, EXIT_STRICT, EXIT_NOTHING_READ, EXIT_USAGE, EXIT_NOT_WRITABLE = 0, 1, 2, 3, 4


class OutputRefused(ValueError):
    """The output folder cannot be used as asked (exit code 3); the message names the fix."""


class OutputNotWritable(OSError):
    """The output folder cannot be created or written (exit code 4)."""


def is_not_writable(exc: OSError) -> bool:
    """True for the errors that mean "this place cannot be written" (rights, read-only, full)."""
    return exc.errno in _NOT_WRITABLE


def contains(folder: Path, path: Path) -> bool:
    """True when ``path`` (resolved) lies inside ``folder`` (resolved)."""
    return _inside(path, folder)


def _inside(child: Path, parent: Path) -> bool:
    try:
        child.resolve().relative_to(parent.resolve())
        return True
    except ValueError:
        return False


def claim(out: Path, corpus: Path | None = None, force: bool = False) -> None:
    """Make ``out`` the tool's output folder (create it, write the marker) or refuse it.

    Refused: ``out`` inside ``corpus`` (the next run would read its own outputs); a non-empty
    folder with neither the marker nor a manifest of an earlier run, unless ``force``.
    """
    out = Path(out)
    if corpus is not None and _inside(out, Path(corpus)):
        raise OutputRefused(f"le dossier de sortie {out} est dans le dossier des déclarations "
                            f"{corpus} : la prochaine analyse lirait ses propres résultats ; "
                            "choisissez un dossier à côté (par exemple --out outputs)")
    if out.is_dir() and not force and not (out / MARKER).is_file() \
            and not (out / MANIFEST).is_file():
        others = sorted(p.name for p in out.iterdir() if p.name not in _DESKTOP_FILES)
        if others:
            shown = ", ".join(others[:3]) + (" …" if len(others) > 3 else "")
            raise OutputRefused(f"le dossier de sortie {out} contient déjà des fichiers qui ne "
                                f"viennent pas de cpas-compare ({shown}) : choisissez un dossier "
                                "vide ou nouveau, ou relancez avec --force pour l'adopter (les "
                                "fichiers de l'outil y seront écrits ou remplacés, les autres "
                                "laissés tels quels)")
    try:
        out.mkdir(parents=True, exist_ok=True)
        if not (out / MARKER).is_file():
            (out / MARKER).write_text(_MARKER_TEXT, encoding="utf-8")
        probe = out / f".cpas-probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:  # rights, read-only or full disk, a file in the way, /proc…
        raise OutputNotWritable(exc.errno, f"le dossier de sortie {out} n'est pas accessible en "
                                f"écriture ({exc.strerror}) : choisissez-en un autre avec --out "
                                "(ou OUTPUT=… avec make)") from exc


@contextmanager
def locked(out: Path, wait: bool = False) -> Iterator[None]:
    """Hold ``out/.lock`` for the duration of the block (one run per output folder).

    Another run holding it: :class:`OutputRefused`, or with ``wait`` one line on stderr and
    wait until it ends. Without ``fcntl`` (Windows) no lock is taken.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on Linux/macOS
        yield
        return
    path = Path(out) / LOCK
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        if is_not_writable(exc):
            raise OutputNotWritable(exc.errno, f"le dossier de sortie {out} n'est pas accessible "
                                    f"en écriture ({exc.strerror}) : choisissez-en un autre "
                                    "avec --out") from exc
        raise
    try:
        try:  # a POSIX record lock: held by this process only, never by its forked children
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EAGAIN):
                raise
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
            if not wait:
                raise OutputRefused(f"une autre analyse écrit déjà dans {out} (processus "
                                    f"{holder}) : attendez qu'elle finisse, relancez avec --wait "
                                    "pour attendre, ou choisissez un autre --out") from None
            print(f"une autre analyse écrit dans {out} (processus {holder}) : attente de sa "
                  "fin…", file=sys.stderr)
            fcntl.lockf(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock


@contextmanager
def owned(out: Path, corpus: Path | None = None, force: bool = False,
          wait: bool = False) -> Iterator[None]:
    """:func:`claim` ``out`` then hold its lock (:func:`locked`) for the block: what every
    command that writes into an output folder does first."""
    claim(out, corpus, force)
    with locked(out, wait):
        yield
