"""Child processes never outlive the run, and SIGTERM ends it cleanly.

- :func:`install` (called when ``pipeline.runner`` or ``pipeline.nlp`` is imported) registers a
  hook run in every child forked from then on — the reading workers, the spaCy model and its
  workers, the writers started by ``engine.parallel.in_background``: on Linux the child asks the kernel
  to kill it when the process that forked it dies (``prctl(PR_SET_PDEATHSIG, SIGKILL)``), even
  by ``kill -9``; elsewhere (or forked from another thread than the main one, whose end would
  fire the signal too early) a watchdog thread ends it once its parent is gone. The child also
  gets the default SIGTERM action back, so that ``terminate()`` always stops it.
- :func:`terminate_cleanly` (used by the command line): a SIGTERM stops the children, then
  raises :class:`Terminated` in the main thread, so that every ``finally`` runs (no child left,
  no temporary file half written); the outputs of the previous run stay as they were, except
  those this run had already replaced, whole (they are written atomically).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager

PR_SET_PDEATHSIG = 1
_installed = False
_parent = {"pid": 0, "main_thread": True}


class Terminated(SystemExit):
    """Raised in the main thread by SIGTERM under :func:`terminate_cleanly` (exit code 143)."""


def _before_fork() -> None:
    _parent["pid"] = os.getpid()
    _parent["main_thread"] = threading.current_thread() is threading.main_thread()


def _watchdog(parent: int) -> None:
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:  # re-parented: the run is gone
            os._exit(1)


def die_with_parent(parent: int, main_thread: bool = True) -> str:
    """In a just-forked child: die when ``parent`` dies. Returns how ("pdeathsig", "watchdog")."""
    how = "watchdog"
    if main_thread and sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
                how = "pdeathsig"
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # it died before the signal was asked for
        os._exit(1)
    if how == "watchdog":
        threading.Thread(target=_watchdog, args=(parent,), daemon=True,
                         name="cpas-compare-watchdog").start()
    return how


def _after_fork_in_child() -> None:
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    except (ValueError, OSError):  # not the main thread of the child: nothing to reset
        pass
    die_with_parent(_parent["pid"], _parent["main_thread"])


def install() -> None:
    """Register the fork hooks once per process (idempotent)."""
    global _installed
    if _installed or not hasattr(os, "register_at_fork"):
        return
    os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)
    _installed = True


def stop_children() -> None:
    """SIGTERM every live child process started through ``multiprocessing`` (the pool's, spaCy's,
    the background writers)."""
    import multiprocessing

    for child in multiprocessing.active_children():
        try:
            child.terminate()
        except (OSError, ValueError, AttributeError):
            pass


@contextmanager
def terminate_cleanly():
    """Within: SIGTERM stops the children and raises :class:`Terminated` (code 143) here. Only
    in the main thread (elsewhere, signals cannot be handled: nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []

    def handler(signum, frame):
        stop_children()
        if not received:  # a second SIGTERM during the clean-up: the children again, only
            received.append(signum)
            raise Terminated(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def can_fork() -> bool:
    """True where a child process can be forked safely: Linux. (macOS offers ``fork`` but its
    system libraries may crash in a forked child, which is why Python spawns there.)"""
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()
