"""Step 1 of a run: discover the files, ingest + segment them (process pool) and lemmatise
their content units (one shared ``nlp``), each document cached by its content and the code
version. Out: a :class:`ReadCorpus` (documents, units, nlp tables)."""

from __future__ import annotations

import hashlib
import json
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipeline import io
from pipeline.engine.cache import (
    EMPTY_DIGEST,
    code_version,
    content_digest,
    load_pickle,
    save_pickle,
)
from pipeline.engine.parallel import load_quietly, progress, progress_after_load
from pipeline.limits import DEFAULT as DEFAULT_LIMITS
from pipeline.limits import Limits
from pipeline.models import NON_CONTENT_KINDS, UNIT_COLUMNS, Document, Unit

CACHE_FORMAT = 1


#: Columns of the nlp table written to unit_nlp.csv (others, such as vectors, stay in memory).
NLP_COLUMNS = ["doc_id", "unit_id", "lemmas", "tokens", "entities"]


def _doc_key(digest: str, path: Path, doc_id: str, ner: bool, versions: str) -> str:
    h = hashlib.sha256(digest.encode())
    h.update(f"|{doc_id}|{path.suffix.lower()}|{ner}|{versions}|{CACHE_FORMAT}".encode())
    return h.hexdigest()


def _drop_copies(files: list[tuple[Path, str]], digests: list[str], corpus: Path
                 ) -> tuple[list[int], list[str]]:
    """Indexes of the files to analyse: files with the same bytes (same SHA-256, not empty) are
    analysed once, under the doc_id of the one nearest the top of the folder (then by name);
    each other copy gives one warning."""
    first: dict[str, int] = {}
    for i in sorted(range(len(files)), key=lambda i: (len(Path(_rel(files[i][0], corpus)).parts),
                                                       _rel(files[i][0], corpus).casefold())):
        first.setdefault(digests[i], i)  # the copy nearest the top of the folder is kept
    keep, notes = [], []
    for i, ((p, _doc), dg) in enumerate(zip(files, digests, strict=True)):
        if dg and dg != EMPTY_DIGEST and first[dg] != i:
            q, qid = files[first[dg]]
            notes.append(f"{_rel(p, corpus)} est une copie identique de {_rel(q, corpus)} (même "
                         f"contenu) : analysée une seule fois, sous « {qid} », et jamais comptée "
                         "comme son propre pair")
            continue
        keep.append(i)
    return keep, notes


def _rel(path: Path, root: Path) -> str:
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return Path(path).name


def _ingest_and_segment(args: tuple[str, str]) -> tuple[dict, list[dict]]:
    """Worker: one file → (Document dict, unit dicts). Never raises."""
    from pipeline.ingest import ingest_file
    from pipeline.segment import segment

    path, doc_id = Path(args[0]), args[1]
    limits = args[2] if len(args) > 2 else None
    try:
        doc = ingest_file(path, doc_id, limits)
    except Exception as exc:  # a reader bug must not stop the corpus
        doc = Document(doc_id=doc_id, source_file=str(path), format=path.suffix.lstrip(".").lower(),
                       status="error",
                       error=f"erreur interne de lecture ({type(exc).__name__}: {exc}) : "
                             "signalez-la avec le fichier")
    units: list[Unit] = []
    if doc.status == "ok" and doc.text.strip():
        try:
            units = segment(doc)
        except Exception as exc:
            doc.status = "error"
            doc.error = (f"erreur interne de segmentation ({type(exc).__name__}: {exc}) : "
                         "signalez-la avec le fichier")
    return doc.to_dict(), [u.to_dict() for u in units]


@dataclass
class ReadCorpus:
    """Ingested, segmented and lemmatised corpus (input of classify and compare)."""

    docs: list[Document]
    units: pd.DataFrame
    nlp: pd.DataFrame
    warnings: list[str]
    timings: dict[str, float]
    keys: list[str]
    model_loaded: bool = False
    #: documents put in error by the linguistic analysis (after ``while_waiting`` saw them ok)
    failed_nlp: list[str] = field(default_factory=list)


#: Up to this many new documents, the spaCy model loads in a child process while this one
#: reads them (and does the caller's ``while_waiting`` work); more, and it loads here so that
#: ``nlp.pipe`` can fork ``n_process`` workers from it.
BACKGROUND_MAX_DOCS = 8


#: Below this many words to lemmatise, one process does it (forking costs more than it saves).
PARALLEL_MIN_WORDS = 40_000


def read_corpus(corpus: Path, cache_dir: Path, *, n_process: int = 2, ner: bool = True,
                   quiet: bool = False, while_waiting=None, limits: Limits | None = None,
                   follow_symlinks: bool = False) -> ReadCorpus:
    """Ingest, segment and lemmatise every file of ``corpus`` (using and filling the cache).

    ``while_waiting``: optional callable run with ``(docs, units)`` (every Document, the units
    table) once the new documents' texts are handed to a model loading in the background (a few
    new documents only), so that its work overlaps the load.
    """
    from pipeline.ingest import discover
    from pipeline.nlp import BackgroundModel, model_version

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    files, warnings = discover(Path(corpus), follow_symlinks)
    versions = "|".join([code_version("ingest", "segment", "models", "nlp",
                                      "data/patterns.toml", "data/web_noise.toml", "data/words.toml",
                                      "data/content_cues.toml",
                                      "data/metadata_patterns.toml", "data/doc_kinds.toml"),
                         model_version()])
    digests = [content_digest(p) for p, _ in files]
    keep, copies = _drop_copies(files, digests, Path(corpus))
    files, digests = [files[i] for i in keep], [digests[i] for i in keep]
    warnings = warnings + copies
    keys = [_doc_key(dg, p, d, ner, versions) for dg, (p, d) in zip(digests, files, strict=True)]
    doc_dir = cache_dir / "docs"
    # files neither cached nor known to fail (a file that failed is read again, its fix may be
    # outside it, but is not expected to need the model)
    n_new = sum(not (doc_dir / f"{k}.pkl").is_file() and not (doc_dir / f"{k}.error").is_file()
                for k in keys)
    background = (BackgroundModel(ner) if n_process > 1 and 0 < n_new <= BACKGROUND_MAX_DOCS
                  else None)
    try:
        cached: dict[int, dict] = {}
        for i, k in enumerate(keys):
            entry = load_pickle(doc_dir / f"{k}.pkl")
            if entry is not None and _within_limits(files[i][0], entry, limits):
                cached[i] = entry
        todo = [i for i in range(len(files)) if i not in cached]
        return _read_new(files, keys, cached, todo, doc_dir, warnings, timings, t0,
                             n_process=n_process, ner=ner, quiet=quiet, background=background,
                             while_waiting=while_waiting, limits=limits)
    finally:
        if background is not None:
            background.close()


def _within_limits(path: Path, entry: dict, limits: Limits | None) -> bool:
    """Whether a cached document still passes ``limits`` (they are not part of the cache key:
    raising one re-reads only the files it refused, which were never cached; lowering one
    re-reads, and refuses, the cached files past it)."""
    from pipeline.ingest.docx import check_unzipped_size
    from pipeline.ingest.errors import IngestError

    limits = limits or DEFAULT_LIMITS
    try:
        if Path(path).stat().st_size > limits.max_file_bytes:
            return False
        if len(entry["document"].get("text") or "") > limits.max_chars:
            return False
        if Path(path).suffix.lower() == ".docx":
            check_unzipped_size(Path(path), limits.max_unzipped_bytes)
    except (OSError, IngestError, KeyError, AttributeError):
        return False
    return True


# Ingest pool, model loading, one nlp.pipe and the cache writes, in the order they overlap
# (≈120 lines).
def _read_new(files, keys, cached, todo, doc_dir, warnings, timings, t0, *, n_process,
                  ner, quiet, background, while_waiting, limits=None) -> ReadCorpus:
    # 1. ingest + segment (process pool for several files)
    results: dict[int, tuple[dict, list[dict]]] = {}
    jobs = [(str(files[i][0]), files[i][1], limits) for i in todo]
    loader = None
    if len(jobs) > 1 and n_process > 1:
        with ProcessPoolExecutor(max_workers=n_process) as pool:
            done = pool.map(_ingest_and_segment, jobs, chunksize=1)  # forks the workers now
            if background is None and any(not (doc_dir / f"{keys[i]}.error").is_file()
                                          for i in todo):
                # this process only waits for the workers: it loads the spaCy model meanwhile
                # (a thread started after the fork, so no worker inherits a held lock)
                from pipeline.nlp import get_nlp

                loader = threading.Thread(target=load_quietly, args=(get_nlp, ner), daemon=True)
                loader.start()
            for i, res in zip(todo, progress(done, len(jobs), "Lecture", quiet), strict=True):
                results[i] = res
        if loader is not None:
            loader.join()
    else:
        for i, job in zip(todo, progress(jobs, len(jobs), "Lecture", quiet), strict=True):
            results[i] = _ingest_and_segment(job)
    timings["ingest_segment"] = time.perf_counter() - t0
    docs, unit_rows = [], []
    for i in range(len(files)):
        doc, units = ((cached[i]["document"], cached[i]["units"]) if i in cached
                      else results[i])
        docs.append(Document.from_dict(doc))
        unit_rows += units
    units_df = pd.DataFrame(unit_rows, columns=UNIT_COLUMNS)
    units_df["page"] = units_df["page"].astype("Int64")

    # 2. lemmatise the content units of the new documents in one nlp.pipe call
    t1 = time.perf_counter()
    pending: list[tuple[int, int]] = []  # (file index, unit index)
    texts: list[str] = []
    for i, (_doc, units) in results.items():
        for j, u in enumerate(units):
            if u["kind"] not in NON_CONTENT_KINDS and u["text"].strip():
                pending.append((i, j))
                texts.append(u["text"])
    annotations: dict[tuple[int, int], dict] = {}
    model_loaded = False
    failed_docs: list[str] = []
    if texts:
        from pipeline.nlp import annotate

        n_words = sum(len(t.split()) for t in texts)
        procs = n_process if n_words > PARALLEL_MIN_WORDS else 1
        # identical texts (template sentences, repeated items) are analysed once
        unique = list(dict.fromkeys(texts))
        failed: dict[int, str] = {}  # index in unique → why spaCy could not annotate it
        if background is not None and procs == 1:
            background.submit(unique)
            if while_waiting is not None:
                while_waiting(docs, units_df)
            anns = background.result(failed)
        else:
            if background is not None:  # more text than expected: both cores, from here
                background.close()
            bar = None
            if not quiet:
                from tqdm import tqdm

                bar = tqdm(total=len(unique), desc=f"Analyse linguistique ({n_words} mots)",
                           unit="unité", file=sys.stderr, leave=False)
                # the first seconds load the spaCy model: say so instead of a frozen 0 %
                bar.set_postfix_str("chargement du modèle de langue…")
            anns = annotate(unique, n_process=procs, ner=ner,
                            progress=progress_after_load(bar) if bar else None, failed=failed)
            if bar is not None:
                bar.close()
        by_text = dict(zip(unique, anns, strict=True))
        for key, text in zip(pending, texts, strict=True):
            annotations[key] = by_text[text]
        model_loaded = True
        if failed:  # the documents of those texts are in error, the others go on
            bad = {unique[k]: msg for k, msg in failed.items()}
            for i, j in pending:
                doc, units = results[i]
                if doc["status"] == "ok" and units[j]["text"] in bad:
                    doc = {**doc, "status": "error",
                           "error": f"analyse linguistique impossible (unité {units[j]['unit_id']}"
                                    f" : {bad[units[j]['text']]}) : signalez-la avec le fichier"}
                    results[i] = (doc, [])
                    docs[i] = Document.from_dict(doc)
                    failed_docs.append(doc["doc_id"])
            units_df = units_df[~units_df["doc_id"].isin(failed_docs)].reset_index(drop=True)
    for i, (doc, units) in results.items():
        nlp_rows = [annotations.get((i, j)) for j in range(len(units))]
        entry = {"document": doc, "units": units, "nlp": nlp_rows}
        if doc["status"] == "ok":
            save_pickle(doc_dir / f"{keys[i]}.pkl", entry)
            (doc_dir / f"{keys[i]}.error").unlink(missing_ok=True)
        elif not (doc_dir / f"{keys[i]}.error").is_file():  # read again next time (the fix
            # may be outside the file: OCR installed…), but without starting the model for it
            io.write_text(doc_dir / f"{keys[i]}.error", doc.get("error") or "")
        cached[i] = entry
    timings["nlp"] = time.perf_counter() - t1

    nlp_rows = []
    for i in range(len(files)):
        entry = cached[i]
        for u, ann in zip(entry["units"], entry["nlp"], strict=True):
            if ann is not None:  # extra keys of nlp.annotate (e.g. a vector) pass through
                nlp_rows.append({"doc_id": u["doc_id"], "unit_id": u["unit_id"], **ann,
                                 "entities": json.dumps(ann["entities"], ensure_ascii=False)})
    nlp_df = pd.DataFrame(nlp_rows)
    if nlp_df.empty:
        nlp_df = pd.DataFrame(columns=NLP_COLUMNS)
    # each document's own warnings (not a declaration, OCR…) join the run's, one line each
    warnings = warnings + [f"{Path(d.source_file).name} : {w}" for d in docs for w in d.warnings]
    return ReadCorpus(docs=docs, units=units_df, nlp=nlp_df, warnings=warnings, timings=timings,
                    keys=keys, model_loaded=model_loaded, failed_nlp=failed_docs)
