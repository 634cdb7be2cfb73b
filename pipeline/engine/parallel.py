"""Background work: a function in a forked child (copy-on-write view of this process), or
inline where forking is not safe; progress bars. Nothing here knows about declarations."""

from __future__ import annotations

import sys
import time


def load_quietly(load, *args) -> None:
    """Run ``load`` (a model load) and swallow its error: the later, real call raises it."""
    try:
        load(*args)
    except Exception:
        pass


def progress(iterable, total: int, desc: str, quiet: bool):
    if quiet:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit="doc", file=sys.stderr, leave=False)


def progress_after_load(bar):
    """``bar.update`` that first clears the "model loading" note of the bar."""
    def update(n=1):
        if bar.postfix:
            bar.set_postfix_str("", refresh=False)
        bar.update(n)
    return update


def _release_free_memory() -> None:
    """Give the heap pages freed by Python back to the system before a fork (glibc
    ``malloc_trim``; nothing elsewhere): a forked child maps every page the parent holds, so
    freed but kept pages would count twice in the process tree's memory."""
    import gc

    gc.collect()
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # not glibc (musl…): nothing to trim
            pass


class Background:
    """A function running in a forked child process (see :func:`in_background`)."""

    def __init__(self, fn, args, label: str, parallel: bool):
        self.label = label
        self._proc = None
        if not parallel:  # here and now
            t = time.perf_counter()
            self._done = (fn(*args), time.perf_counter() - t)
            return
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        _release_free_memory()  # the child maps what this process holds: hold less
        self._reader, writer = ctx.Pipe(duplex=False)
        sys.stdout.flush()
        sys.stderr.flush()
        self._proc = ctx.Process(target=_child, args=(writer, fn, args),
                                 name=f"cpas-compare-{label}")
        self._proc.start()
        writer.close()
        self._done = None

    def __call__(self):
        """Wait for the child: ``(fn's result, seconds it took)``. The child's error is raised
        here: ValueError / FileNotFoundError as such (their message names the fix), anything
        else as RuntimeError."""
        if self._done is None:
            try:
                status, value, elapsed = self._reader.recv()  # read before joining: no deadlock
            except (EOFError, OSError):
                status, value, elapsed = "error", ("RuntimeError", "arrêté sans réponse"), 0.0
            finally:
                self._proc.join()
                self._reader.close()
            if status != "ok":
                self._done = (None, elapsed)
                kind, message = value
                if kind == "ValueError":
                    raise ValueError(message)
                if kind == "FileNotFoundError":
                    raise FileNotFoundError(message)
                raise RuntimeError(f"{self.label} en échec (processus enfant, code "
                                   f"{self._proc.exitcode}) : {kind}: {message}")
            self._done = (value, elapsed)
        return self._done

    def cancel(self) -> None:
        """Stop the child if it still runs (after an error elsewhere); a file it was writing
        is left as a temporary that the next run removes."""
        if self._proc is not None and self._done is None:
            if self._proc.is_alive():
                self._proc.terminate()
            self._proc.join()
            self._reader.close()
            self._done = (None, 0.0)


def in_background(fn, *args, label: str = "tâche", parallel: bool = True) -> Background:
    """Start ``fn(*args)`` in a forked child process (its memory is a copy-on-write view of this
    one's) and return a :class:`Background`: call it to wait for ``(fn's result, child's
    seconds)``; ``cancel()`` stops it. With ``parallel`` False (``--processes 1``) or where
    forking is not safe (``procs.can_fork``: Windows, macOS), ``fn`` runs here at once instead.
    Same outputs either way.
    """
    from pipeline.procs import can_fork

    return Background(fn, args, label, parallel and can_fork())


def _child(conn, fn, args) -> None:
    t = time.perf_counter()
    try:
        conn.send(("ok", fn(*args), time.perf_counter() - t))
    except BaseException as exc:  # reported to the parent, which raises it
        conn.send(("error", (type(exc).__name__, str(exc)), time.perf_counter() - t))
    finally:
        conn.close()
