"""Wiring of the stages, with a content-hash cache of per-document results.

``analyze(corpus, out)`` is what ``make analyze`` / ``python -m pipeline analyze`` run:

1. ingest + segment every input file (process pool; cached per file content + code version);
2. lemmatise the content units of new documents with the one shared ``nlp`` (cached likewise);
3. classify every content unit into themes (model cached by annotations + codebook hash);
4. build the comparison tables, the workbook, the report and the QDPX export;
5. write everything atomically under ``out``.

When nothing changed since the last run (same inputs, code, annotations), step 2–5 are skipped
and no model is loaded.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipeline import io
from pipeline.limits import DEFAULT as DEFAULT_LIMITS
from pipeline.limits import Limits
from pipeline.models import NON_CONTENT_KINDS, UNIT_COLUMNS, Document, Unit
from pipeline.outdir import EXIT_NOTHING_READ, EXIT_OK, EXIT_STRICT, EXIT_USAGE, owned
from pipeline.outdir import contains as outdir_contains
from pipeline.procs import install as _die_with_parent
from pipeline.results import RunResult

_die_with_parent()  # every child forked from here dies with its parent (pipeline.procs)

PACKAGE_DIR = Path(__file__).resolve().parent
CACHE_FORMAT = 1
#: Files whose change invalidates cached results (code, data, report template/assets).
CODE_SUFFIXES = {".py", ".toml", ".csv", ".txt", ".html", ".css", ".js"}
#: Columns of the nlp table written to unit_nlp.csv (others, such as vectors, stay in memory).
NLP_COLUMNS = ["doc_id", "unit_id", "lemmas", "tokens", "entities"]


# --------------------------------------------------------------------------- cache keys


def _hash_files(paths: Sequence[Path]) -> str:
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
    return _hash_files(paths)


def _content_digest(path: Path) -> str:
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
        if dg and dg != _EMPTY_DIGEST and first[dg] != i:
            q, qid = files[first[dg]]
            notes.append(f"{_rel(p, corpus)} est une copie identique de {_rel(q, corpus)} (même "
                         f"contenu) : analysée une seule fois, sous « {qid} », et jamais comptée "
                         "comme son propre pair")
            continue
        keep.append(i)
    return keep, notes


_EMPTY_DIGEST = hashlib.sha256(b"").hexdigest()


def _rel(path: Path, root: Path) -> str:
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return Path(path).name


def _load_pickle(path: Path):
    try:
        with open(path, "rb") as f:
            return pickle.load(f)
    except Exception:  # a missing or damaged cache entry is simply recomputed
        return None


def _save_pickle(path: Path, obj) -> None:
    io.write_bytes(path, pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


# --------------------------------------------------------------------------- per-document work


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


def _load_quietly(load, *args) -> None:
    """Run ``load`` (a model load) and swallow its error: the later, real call raises it."""
    try:
        load(*args)
    except Exception:
        pass


def _progress(iterable, total: int, desc: str, quiet: bool):
    if quiet:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit="doc", file=sys.stderr, leave=False)


@dataclass
class Prepared:
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


def _progress_after_load(bar):
    """``bar.update`` that first clears the "model loading" note of the bar."""
    def update(n=1):
        if bar.postfix:
            bar.set_postfix_str("", refresh=False)
        bar.update(n)
    return update


def prepare_corpus(corpus: Path, cache_dir: Path, *, n_process: int = 2, ner: bool = True,
                   quiet: bool = False, while_waiting=None, limits: Limits | None = None,
                   follow_symlinks: bool = False) -> Prepared:
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
                                      "data/patterns.toml", "data/web_noise.toml",
                                      "data/metadata_patterns.toml", "data/doc_kinds.toml"),
                         model_version()])
    digests = [_content_digest(p) for p, _ in files]
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
            entry = _load_pickle(doc_dir / f"{k}.pkl")
            if entry is not None and _within_limits(files[i][0], entry, limits):
                cached[i] = entry
        todo = [i for i in range(len(files)) if i not in cached]
        return _prepare_todo(files, keys, cached, todo, doc_dir, warnings, timings, t0,
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


def _prepare_todo(files, keys, cached, todo, doc_dir, warnings, timings, t0, *, n_process,
                  ner, quiet, background, while_waiting, limits=None) -> Prepared:
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

                loader = threading.Thread(target=_load_quietly, args=(get_nlp, ner), daemon=True)
                loader.start()
            for i, res in zip(todo, _progress(done, len(jobs), "Lecture", quiet), strict=True):
                results[i] = res
        if loader is not None:
            loader.join()
    else:
        for i, job in zip(todo, _progress(jobs, len(jobs), "Lecture", quiet), strict=True):
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
                            progress=_progress_after_load(bar) if bar else None, failed=failed)
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
            _save_pickle(doc_dir / f"{keys[i]}.pkl", entry)
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
    return Prepared(docs=docs, units=units_df, nlp=nlp_df, warnings=warnings, timings=timings,
                    keys=keys, model_loaded=model_loaded, failed_nlp=failed_docs)


# --------------------------------------------------------------------------- classification


def theme_model(cache_dir: Path, codebook_path: Path | None, annotations: Path | None,
                exclude_docs: Sequence[str] = ()):
    """The trained theme model, from the cache when annotations, codebook and code are
    unchanged; ``exclude_docs``: doc_ids whose annotation rows it must not learn from."""
    from pipeline import classify
    from pipeline.classify.codebook import load_codebook

    codebook = load_codebook(codebook_path)
    h = hashlib.sha256()
    for p in (annotations, codebook_path or PACKAGE_DIR / "data" / "codebook.toml",
              *classify.model.shipped_annotation_files()):
        if p is not None and Path(p).is_file():
            h.update(Path(p).read_bytes())
    from importlib.metadata import version

    from pipeline.nlp import model_version

    h.update(f"{code_version('classify', 'nlp')}|{model_version()}|{version('scikit-learn')}"
             .encode())
    if exclude_docs:
        h.update(("\x1fexclude\x1f" + "\x1f".join(sorted(exclude_docs))).encode())
    key = h.hexdigest()[:20]
    path = cache_dir / f"model-{key}.pkl"
    model = _load_pickle(path)
    if model is None:
        model = classify.default_model(codebook, annotations,
                                       lemmatise=cached_lemmatiser(cache_dir),
                                       exclude_docs=exclude_docs)
        _save_pickle(path, model)
    return model, codebook, key


def cached_lemmatiser(cache_dir: Path):
    """The classifier's lemmatiser (list of texts → (lemmas, tokens) pairs, spaCy model without
    NER) with its results kept in ``cache_dir``: correcting a label retrains the theme model
    on annotation texts and codebook terms already lemmatised, without loading spaCy."""
    from pipeline.classify.vocabulary import default_lemmatiser
    from pipeline.nlp import model_version

    path = cache_dir / (f"lemmas-{code_version('nlp', 'classify/vocabulary.py')}-"
                        f"{model_version()}.pkl")

    def lemmatise(texts: list[str]) -> list[tuple[str, str]]:
        known: dict[str, tuple[str, str]] = _load_pickle(path) or {}
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            known.update(zip(missing, default_lemmatiser(missing), strict=True))
            _save_pickle(path, known)
        return [known[t] for t in texts]

    return lemmatise


#: Above this many content units to classify, half the documents go to a forked process.
PARALLEL_MIN_UNITS = 2_000


def _classify_docs(units: pd.DataFrame, nlp: pd.DataFrame, model, codebook,
                   ann_df: pd.DataFrame | None, docs: list[str]) -> dict[str, tuple]:
    """Classify the content units of ``docs`` → {doc_id: (unit_themes, themes, candidates)}."""
    from pipeline import classify

    sub = classify.prepare(units[units["doc_id"].isin(docs)], nlp[nlp["doc_id"].isin(docs)])
    sub_ann = ann_df[ann_df["doc_id"].isin(docs)] if ann_df is not None else None
    ut, th = classify.classify(sub, model, codebook, sub_ann)
    cands: dict[str, list] = {}
    for c in ut.attrs.get("candidates", []):
        cands.setdefault(c[0], []).append(c)
    ut.attrs.clear()  # pandas deep-copies attrs on every slice: drop them before splitting
    ut_by = {d: g.reset_index(drop=True) for d, g in ut.groupby("doc_id", sort=False)}
    th_by = {d: g.reset_index(drop=True) for d, g in th.groupby("doc_id", sort=False)}
    return {d: (ut_by.get(d, ut.iloc[0:0]), th_by.get(d, th.iloc[0:0]), cands.get(d, []))
            for d in docs}


def _halves(docs: list[str], sizes: dict[str, int]) -> tuple[list[str], list[str]]:
    """Split ``docs`` (in order) into two runs of about the same total size."""
    total, acc = sum(sizes[d] for d in docs), 0
    for i, d in enumerate(docs):
        acc += sizes[d]
        if acc * 2 >= total:
            return docs[:i + 1], docs[i + 1:]
    return docs, []


def classify_cached(units: pd.DataFrame, nlp: pd.DataFrame, model, codebook,
                    ann_df: pd.DataFrame | None, doc_keys: dict[str, str], model_key: str,
                    cache_dir: Path, n_process: int = 1
                    ) -> tuple[pd.DataFrame, pd.DataFrame, list[tuple]]:
    """``classify.classify`` per document, reusing the cached labels of unchanged documents.

    A document's labels depend only on its units, the model and its own annotation rows, so
    adding one declaration classifies one declaration (only its rows go through
    ``classify.prepare``), and many new documents can be split between two processes
    (``n_process`` > 1). Returns ``(unit_themes, themes, candidates)``: the same tables as one
    ``classify`` call over the whole corpus, and its review candidates (``attrs`` left empty).
    """
    content_docs = units.loc[~units["kind"].isin(NON_CONTENT_KINDS), "doc_id"].tolist()
    sizes: dict[str, int] = {}
    for d in content_docs:
        sizes[d] = sizes.get(d, 0) + 1
    order = list(sizes)
    ann_by: dict[str, pd.DataFrame] = {}
    if ann_df is not None and "doc_id" in ann_df.columns:
        ann_by = {d: g for d, g in ann_df.groupby("doc_id", sort=False)}
    parts: dict[str, tuple] = {}
    keys: dict[str, str] = {}
    for doc_id in order:
        h = hashlib.sha256(f"{doc_keys.get(doc_id, '')}|{model_key}|themes-v3".encode())
        if ann_df is not None and "doc_id" in ann_df.columns:
            h.update(ann_by.get(doc_id, ann_df.iloc[0:0]).to_csv(index=False).encode())
        keys[doc_id] = h.hexdigest()
        entry = _load_pickle(cache_dir / "themes" / f"{keys[doc_id]}.pkl")
        if entry is not None:
            parts[doc_id] = entry
    todo = [d for d in order if d not in parts]
    if todo:
        theirs, mine = _halves(todo, sizes)
        if n_process > 1 and theirs and mine and sum(sizes[d] for d in todo) > PARALLEL_MIN_UNITS:
            child = in_background(_classify_docs, units, nlp, model, codebook, ann_df, theirs,
                                  label="classement thématique")
            try:
                new = _classify_docs(units, nlp, model, codebook, ann_df, mine)
            except BaseException:
                child.cancel()
                raise
            new.update(child()[0])
        else:
            new = _classify_docs(units, nlp, model, codebook, ann_df, todo)
        for doc_id in todo:
            _save_pickle(cache_dir / "themes" / f"{keys[doc_id]}.pkl", new[doc_id])
            parts[doc_id] = new[doc_id]
    uts = [parts[d][0] for d in order]
    ths = [parts[d][1] for d in order]
    from pipeline.classify.model import UNIT_THEME_COLUMNS as columns

    unit_themes = pd.concat(uts, ignore_index=True) if uts else pd.DataFrame(columns=columns)
    themes = (pd.concat(ths, ignore_index=True) if ths
              else pd.DataFrame(columns=["doc_id", "unit_id", "themes", "labelled_by"]))
    return unit_themes, themes, [c for d in order for c in parts[d][2]]


def machine_labels(units: pd.DataFrame, nlp: pd.DataFrame, themes: pd.DataFrame,
                   cache_dir: Path, codebook_path: Path | None, doc_keys: dict[str, str],
                   n_process: int = 1) -> pd.DataFrame:
    """What the machine says of the units a human labelled: the long ``unit_themes`` table
    (same columns) of those units only, classified by the shipped model trained without the
    folder's ``annotations.csv`` and without any shipped annotation of these documents (the
    seed corpus ships its annotations), so the agreement shown in the report and the QDPX
    export is measured on text that model never saw. Empty when no unit was labelled by a
    human (no second model is trained then)."""
    from pipeline.classify.model import UNIT_THEME_COLUMNS, training_annotations

    if "labelled_by" not in themes.columns or not (themes["labelled_by"] == "human").any():
        return pd.DataFrame(columns=UNIT_THEME_COLUMNS)
    human = themes[themes["labelled_by"] == "human"]
    docs = set(human["doc_id"])
    shipped_docs = set(training_annotations(None)["doc_id"].astype(str))
    model, codebook, key = theme_model(cache_dir, codebook_path, None,
                                       sorted(docs & shipped_docs))
    ut, _, _ = classify_cached(units[units["doc_id"].isin(docs)], nlp[nlp["doc_id"].isin(docs)],
                               model, codebook, None, doc_keys, key, cache_dir,
                               n_process=n_process)
    keep = set(zip(human["doc_id"], human["unit_id"], strict=True))
    mask = [k in keep for k in zip(ut["doc_id"], ut["unit_id"], strict=True)]
    return ut[mask].reset_index(drop=True)


def _documents(docs: list[Document], metadata_csv: Path | None) -> pd.DataFrame:
    """The documents table: metadata read from the texts, completed by ``metadata_csv`` (a
    malformed file raises ValueError naming it and the fix)."""
    from pipeline.ingest import documents_table

    return documents_table(docs, metadata_csv)


def _annotations_df(annotations: Path | None) -> pd.DataFrame | None:
    """The rows of ``annotations`` (None without the file; a malformed one raises ValueError)."""
    from pipeline.classify.annotations import load_annotations

    return load_annotations(annotations)


# --------------------------------------------------------------------------- the run


def _run_key(prepared: Prepared, corpus: Path, metadata_csv: Path | None,
             annotations: Path | None, by: Sequence[str], report: bool,
             codebook: Path | None = None, limits: Limits | None = None) -> str:
    h = hashlib.sha256()
    for k in prepared.keys:
        h.update(k.encode())
    for p in (metadata_csv, annotations, codebook):
        if p is not None and Path(p).is_file():
            h.update(Path(p).read_bytes())
    h.update(code_version(".").encode())
    h.update(f"{sorted(by)}|{report}".encode())
    if limits is not None and limits != DEFAULT_LIMITS:  # they decide what is read and shown
        h.update(repr(limits).encode())
    return h.hexdigest()


def _outputs_complete(out: Path, manifest: dict) -> bool:
    return all((out / f).is_file() for f in manifest.get("files", []))


def analyze(corpus: Path, out: Path, *, n_process: int = 2, cache_dir: Path | None = None,
            metadata_csv: Path | None = None, annotations: Path | None = None,
            by: Sequence[str] = (), strict: bool = False, quiet: bool = False,
            report: bool = True, ner: bool = True, codebook: Path | None = None,
            limits: Limits | None = None, follow_symlinks: bool = False, force: bool = False,
            wait: bool = False) -> RunResult:
    """Analyse every declaration in ``corpus`` and write all outputs to ``out``.

    ``metadata_csv`` and ``annotations`` default to ``corpus/metadata.csv`` and
    ``corpus/annotations.csv`` when those exist. ``limits``: per-file limits and units shown in
    the report (``pipeline.limits``; defaults when None). ``follow_symlinks``: read files
    reached through symbolic links (skipped with a note otherwise). ``out`` must be new, empty
    or already the tool's (``force`` adopts another folder; see :func:`pipeline.outdir.claim`);
    one run at a time per ``out`` (``wait``: wait for the other one instead of refusing).
    Returns a RunResult; ``exit_code`` is 0, 2 when no document could be read, 1 with
    ``strict`` when at least one failed (``pipeline.outdir.EXIT_*``).
    """
    corpus, out = Path(corpus), Path(out)
    if not corpus.is_dir():
        raise FileNotFoundError(f"dossier introuvable : {corpus} (indiquez le dossier des déclarations)")
    with owned(out, corpus, force, wait):
        return _analyze(corpus, out, n_process=n_process, cache_dir=cache_dir,
                        metadata_csv=metadata_csv, annotations=annotations, by=by, strict=strict,
                        quiet=quiet, report=report, ner=ner, codebook=codebook, limits=limits,
                        follow_symlinks=follow_symlinks)


def _analyze(corpus: Path, out: Path, *, n_process: int, cache_dir: Path | None,
             metadata_csv: Path | None, annotations: Path | None, by: Sequence[str],
             strict: bool, quiet: bool, report: bool, ner: bool, codebook: Path | None,
             limits: Limits | None, follow_symlinks: bool) -> RunResult:
    """:func:`analyze` once ``out`` is claimed and locked."""
    cache_dir = Path(cache_dir) if cache_dir else out / ".cache"
    if metadata_csv is None and (corpus / "metadata.csv").is_file():
        metadata_csv = corpus / "metadata.csv"
    if annotations is None and (corpus / "annotations.csv").is_file():
        annotations = corpus / "annotations.csv"
    t_start = time.perf_counter()
    for folder in {out, cache_dir}:  # temporaries left by an interrupted run
        io.remove_stale_temporaries(folder)

    early: dict[str, object] = {}

    def while_waiting(docs, units):  # while the spaCy model loads in the background
        from pipeline.compare import find_shared

        early["ann_df"] = _annotations_df(annotations)
        early["model"] = theme_model(cache_dir, codebook, annotations)
        early["documents"] = _documents(docs, metadata_csv)
        # shared passages need the texts only (the longest table to build on a large corpus)
        early["shared"] = find_shared(early["documents"], units)

    prepared = prepare_corpus(corpus, cache_dir, n_process=n_process, ner=ner, quiet=quiet,
                              while_waiting=while_waiting, limits=limits,
                              follow_symlinks=follow_symlinks)
    timings = dict(prepared.timings)
    if prepared.failed_nlp:  # built while those documents still looked fine
        early.pop("documents", None)
        early.pop("shared", None)
    run_key = _run_key(prepared, corpus, metadata_csv, annotations, by, report, codebook,
                       limits)
    manifest_path = out / ".manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    if manifest.get("run_key") == run_key and _outputs_complete(out, manifest):
        from pipeline.results import load_results

        result = load_results(out)
        result.skipped = True
        result.warnings = prepared.warnings
        result.n_words = int(sum(d.n_words for d in prepared.docs))
        result.n_pages = int(sum(d.n_pages for d in prepared.docs))
        result.exit_code = _exit_code(prepared.docs, strict)
        result.timings = {**timings, "total": time.perf_counter() - t_start}
        if not quiet:
            print(f"Rien n'a changé depuis la dernière analyse : résultats inchangés dans {out}/",
                  file=sys.stderr)
        return result

    from pipeline import compare

    documents = early["documents"] if "documents" in early else _documents(prepared.docs,
                                                                           metadata_csv)
    units, nlp_df = prepared.units, prepared.nlp
    unknown = [c for c in by if c not in documents.columns]
    if unknown:
        raise ValueError(f"colonne(s) --by inconnue(s) : {', '.join(unknown)} ; colonnes "
                         f"disponibles : {', '.join(documents.columns)} (ajoutez-la à metadata.csv)")
    errors = [{"doc_id": d.doc_id, "source_file": Path(d.source_file).name, "error": d.error}
              for d in prepared.docs if d.status != "ok"]
    if not any(d.status == "ok" for d in prepared.docs):
        io.write_table(documents, out / "documents")  # say which files failed, and why
        timings["total"] = time.perf_counter() - t_start
        return RunResult(documents=documents, units=units, unit_themes=pd.DataFrame(),
                         nlp=nlp_df, errors=errors, warnings=prepared.warnings, timings=timings,
                         exit_code=EXIT_NOTHING_READ, out=out)

    # classify
    t = time.perf_counter()
    ann_df = early["ann_df"] if "ann_df" in early else _annotations_df(annotations)
    if annotations is not None:
        from pipeline.classify.annotations import annotation_notes

        for note in annotation_notes(ann_df, list(documents["doc_id"]), Path(annotations).name):
            print(f"attention : {note}", file=sys.stderr)
    model, codebook_themes, model_key = (early["model"] if "model" in early
                                         else theme_model(cache_dir, codebook, annotations))
    doc_keys = {d.doc_id: k for d, k in zip(prepared.docs, prepared.keys, strict=True)}
    unit_themes, themes, candidates = classify_cached(units, nlp_df, model, codebook_themes,
                                                      ann_df, doc_keys, model_key, cache_dir,
                                                      n_process=n_process)
    machine_themes = machine_labels(units, nlp_df, themes, cache_dir, codebook, doc_keys,
                                    n_process=n_process)
    units = units.drop(columns=["themes", "labelled_by", "themes_machine"], errors="ignore").merge(
        themes[["doc_id", "unit_id", "themes", "labelled_by"]], on=["doc_id", "unit_id"],
        how="left")
    units["themes"] = units["themes"].fillna("")
    units["labelled_by"] = units["labelled_by"].fillna("")
    by_unit = machine_themes.groupby(["doc_id", "unit_id"], sort=False)["theme"].agg(";".join)
    units["themes_machine"] = [by_unit.get(k, "") if lb == "human" else ""
                               for k, lb in zip(zip(units["doc_id"], units["unit_id"],
                                                    strict=True),
                                                units["labelled_by"], strict=True)]
    timings["classify"] = time.perf_counter() - t

    # the per-unit tables and the QDPX export do not need the comparison tables: a forked child
    # writes them on the other core while this process compares and writes the report
    t = time.perf_counter()
    texts = {d.doc_id: d.text for d in prepared.docs if d.status == "ok"}
    review = (model.threshold, candidates)  # the review table is built by the child
    export = in_background(_write_unit_outputs, out, prepared.docs, documents, units, nlp_df,
                           unit_themes, review, texts, codebook_themes, report, machine_themes,
                           label="écriture des tables par unité et de l'export QDPX",
                           parallel=n_process > 1)

    children = [export]
    try:
        # compare
        tables = compare.build_tables(documents, units, nlp_df, unit_themes, codebook_themes,
                                      by=list(by), shared=early.get("shared"))
        timings["compare"] = time.perf_counter() - t
        if report:  # the figures need the tables only: drawn by a second child meanwhile
            from pipeline import report as rep

            figures = in_background(rep.report_figures, tables, documents, codebook_themes,
                                    label="figures du rapport", parallel=n_process > 1)
            children.append(figures)

        # the workbook (openpyxl, cell by cell: the slowest writer) in a third child
        book = in_background(_write_workbook, out, tables, documents, units, unit_themes,
                             label="classeur Excel", parallel=n_process > 1)
        children.append(book)

        # write
        t = time.perf_counter()
        written = _write_tables(out, tables)
        timings["write"] = time.perf_counter() - t
        if report:
            t = time.perf_counter()
            benchmarks = compare.benchmark_all(tables)
            finish = rep.prepare_html(tables, documents, units, unit_themes, codebook_themes,
                                      benchmarks, model.training,
                                      max_units=(limits or DEFAULT_LIMITS).report_max_units)
            pngs, timings["figures_parallel"] = figures()
            written += [f"figures/{p.name}" for p in rep.write_figures(out, pngs)]
            io.write_text(out / "report.html", finish(pngs))
            written.append("report.html")
            from pipeline.report.profile import write_all_profiles

            written += write_all_profiles(out, RunResult(
                documents=documents, units=units, unit_themes=unit_themes, nlp=nlp_df,
                tables=tables), codebook_themes)
            timings["report"] = time.perf_counter() - t
    except BaseException:
        for child in children:  # do not leave a child behind; this error is the one to report
            child.cancel()
        raise
    t = time.perf_counter()
    child_written, timings["export_parallel"] = export()
    written += child_written
    book_written, timings["workbook_parallel"] = book()
    written += book_written
    timings["export_wait"] = time.perf_counter() - t

    exit_code = _exit_code(prepared.docs, strict)
    timings["total"] = time.perf_counter() - t_start
    n_words = int(sum(d.n_words for d in prepared.docs))
    n_pages = int(sum(d.n_pages for d in prepared.docs))
    io.write_json(out / "run.json", {
        "n_docs": len(prepared.docs), "n_errors": len(errors), "n_units": int(len(units)),
        "n_words": n_words, "n_pages": n_pages, "model_loaded": prepared.model_loaded,
        "theme_model": {**model.training, **model.settings},
        "timings_s": {k: round(v, 3) for k, v in timings.items()}})
    written.append("run.json")
    for stale in set(manifest.get("files", [])) - set(written):  # e.g. an old by_<col> table
        path = out / stale  # only what our own manifest listed, and only inside ``out``
        if path.is_file() and not path.is_symlink() and outdir_contains(out, path):
            path.unlink()
    io.write_json(manifest_path, {"run_key": run_key, "files": sorted(written)})
    return RunResult(documents=documents, units=units, unit_themes=unit_themes, nlp=nlp_df,
                     tables=tables, errors=errors, warnings=prepared.warnings, timings=timings,
                     n_words=n_words, n_pages=n_pages, exit_code=exit_code, out=out,
                     machine_themes=machine_themes)


def _exit_code(docs: list[Document], strict: bool) -> int:
    """2 when no document could be read; 1 with ``strict`` when any failed; else 0."""
    n_ok = sum(d.status == "ok" for d in docs)
    if n_ok == 0:
        return EXIT_NOTHING_READ
    return EXIT_STRICT if strict and n_ok < len(docs) else EXIT_OK


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
    forking is not safe (``nlp.can_fork``: Windows, macOS), ``fn`` runs here at once instead.
    Same outputs either way.
    """
    from pipeline.nlp import can_fork

    return Background(fn, args, label, parallel and can_fork())


def _child(conn, fn, args) -> None:
    t = time.perf_counter()
    try:
        conn.send(("ok", fn(*args), time.perf_counter() - t))
    except BaseException as exc:  # reported to the parent, which raises it
        conn.send(("error", (type(exc).__name__, str(exc)), time.perf_counter() - t))
    finally:
        conn.close()


def _write_unit_outputs(out: Path, docs: list[Document], documents: pd.DataFrame,
                        units: pd.DataFrame, nlp_df: pd.DataFrame, unit_themes: pd.DataFrame,
                        review: tuple[float, list], texts: dict[str, str], codebook,
                        qdpx: bool, machine_themes: pd.DataFrame | None = None) -> list[str]:
    """Write the texts, the per-document and per-unit tables (CSV + Parquet), the review table
    (``review`` = the model's threshold and its rejected candidates) and (``qdpx``) the
    REFI-QDA export; ``machine_themes`` (the machine's labels of the human-labelled units,
    :func:`machine_labels`) is written as ``machine_themes`` when not empty. Returns the
    relative paths written."""
    from pipeline.classify import review_table

    written: list[str] = []
    texts_dir = out / "texts"
    for d in docs:  # texts of documents no longer in the corpus: removed with the manifest's
        if d.status == "ok":
            io.write_text(texts_dir / f"{d.doc_id}.txt", d.text)
            written.append(f"texts/{d.doc_id}.txt")
    for name, df in [("documents", documents), ("units", units), ("unit_themes", unit_themes)]:
        io.write_table(df, out / name)
        written += [f"{name}.csv", f"{name}.parquet"]
    if machine_themes is not None and len(machine_themes):
        io.write_table(machine_themes, out / "machine_themes")
        written += ["machine_themes.csv", "machine_themes.parquet"]
    threshold, candidates = review
    io.write_table(review_table(units, unit_themes, threshold=threshold, candidates=candidates),
                   out / "review", parquet=False)
    written.append("review.csv")
    io.write_table(nlp_df[[c for c in NLP_COLUMNS if c in nlp_df.columns]], out / "unit_nlp")
    written += ["unit_nlp.csv", "unit_nlp.parquet"]
    if qdpx:
        from pipeline.qdpx import export_date, export_qdpx

        # a real date, the same for every export of the same files: their newest mtime
        export_qdpx(documents, texts, units, unit_themes, codebook, out / "cpas-compare.qdpx",
                    created=export_date(d.source_file for d in docs if d.status == "ok"),
                    machine_themes=machine_themes)
        written.append("cpas-compare.qdpx")
    return written


def _write_tables(out: Path, tables: dict[str, pd.DataFrame]) -> list[str]:
    """Write the comparison tables (CSV + Parquet); return the paths written."""
    written: list[str] = []
    for name, df in tables.items():
        io.write_table(df, out / name)
        written += [f"{name}.csv", f"{name}.parquet"]
    return written


def _write_workbook(out: Path, tables: dict[str, pd.DataFrame], documents: pd.DataFrame,
                    units: pd.DataFrame, unit_themes: pd.DataFrame) -> list[str]:
    """Write ``cpas-compare.xlsx`` (the tables, plus the documents and the long unit × theme
    sheet); return its relative path."""
    from pipeline.compare import write_workbook

    write_workbook(tables, out / "cpas-compare.xlsx", documents=documents, units=units,
                   unit_themes=unit_themes)
    return ["cpas-compare.xlsx"]


#: what the end-of-run summary calls each timed stage (``RunResult.timings`` keys)
STAGE_LABELS = {"ingest_segment": "lecture et découpage", "nlp": "analyse linguistique",
                "classify": "thèmes", "compare": "comparaisons", "write": "écriture des tableaux",
                "figures_parallel": "graphiques (en parallèle)", "report": "rapport",
                "export_parallel": "tables par unité et QDPX (en parallèle)",
                "workbook_parallel": "classeur Excel (en parallèle)",
                "export_wait": "attente des écritures parallèles", "total": "total"}


def summary(result: RunResult) -> str:
    """French end-of-run summary: documents read/failed (with reasons), units, time per stage."""
    docs = result.documents
    n_ok = int((docs["status"] == "ok").sum()) if len(docs) else 0
    units = result.units
    content = units[~units["kind"].isin(NON_CONTENT_KINDS)] if len(units) else units
    lines = [
        f"Documents lus : {n_ok} / {len(docs)}"
        + (f" — {len(result.errors)} en erreur" if result.errors else ""),
        f"Unités : {len(units)} (dont {len(content)} de contenu, "
        f"{int((units['kind'] == 'objective').sum()) if len(units) else 0} objectifs) ; "
        f"mots : {result.n_words} ; pages : {result.n_pages}",
    ]
    if result.timings:
        lines.append("Temps : " + ", ".join(f"{STAGE_LABELS.get(k, k)} {v:.1f} s"
                                            for k, v in result.timings.items()))
    for w in result.warnings:
        lines.append(f"Attention : {w}")
    for e in result.errors:
        lines.append(f"ERREUR {e['source_file']} : {e['error']}")
    if result.out is not None:
        report = result.out / "report.html"
        lines.append(f"Résultats dans {result.out}/"
                     + (f" (rapport : {report})" if report.is_file() else ""))
    return "\n".join(lines)


def run_evaluation(corpus: Path, out: Path, *, annotations: Path | None = None,
                   heldout: Path | None = None, lodo: bool = True, n_process: int = 2,
                   quiet: bool = False, force: bool = False, wait: bool = False) -> int:
    """``make evaluate``: leave-one-document-out on the training annotations (shipped + the
    folder's), then the held-out declarations of ``heldout`` (their ``annotations.csv``) scored
    by a model trained on every training annotation.

    Prints the French tables; writes ``out/evaluation.csv`` (column ``split``: ``lodo`` /
    ``heldout``) and ``out/evaluation_reliability.csv``; returns an exit code. ``out`` is
    claimed and locked as in :func:`analyze` (``force``, ``wait``).
    """
    with owned(Path(out), None, force, wait):
        return _run_evaluation(corpus, out, annotations=annotations, heldout=heldout, lodo=lodo,
                               n_process=n_process, quiet=quiet)


def _run_evaluation(corpus: Path, out: Path, *, annotations: Path | None,
                    heldout: Path | None, lodo: bool, n_process: int, quiet: bool) -> int:
    """:func:`run_evaluation` once ``out`` is claimed and locked."""
    from pipeline.classify import evaluate as ev
    from pipeline.classify import match_annotations, prepare, split_themes
    from pipeline.classify.codebook import load_codebook
    from pipeline.classify.model import annotation_frame, training_annotations

    corpus, out = Path(corpus), Path(out)
    annotations = annotations or corpus / "annotations.csv"
    folder_ann = annotations if Path(annotations).is_file() else None
    ann = training_annotations(folder_ann)
    if len(ann) == 0:
        print("erreur : aucune annotation (ni livrée ni dans le dossier) : annotez d'abord des "
              "unités", file=sys.stderr)
        return EXIT_USAGE
    codebook = load_codebook()
    cache = out / ".cache"
    cache.mkdir(parents=True, exist_ok=True)
    frame = annotation_frame(ann, cached_lemmatiser(cache))
    labels = [split_themes(t) for t in ann["themes"]]
    tables = []
    if lodo:
        table = ev.evaluate(frame, labels, codebook)
        tables.append(table)
        print(f"Validation croisée (un document laissé de côté) : {table.attrs['n_units']} "
              f"unités annotées de {table.attrs['n_documents']} déclarations d'entraînement")
        print(ev.format_table(table))
    rel = None
    heldout = Path(heldout) if heldout else None
    if heldout is not None and (heldout / "annotations.csv").is_file():
        prepared = prepare_corpus(heldout, cache, n_process=n_process, quiet=quiet)
        test = prepare(prepared.units, prepared.nlp)
        h_ann = _annotations_df(heldout / "annotations.csv")
        matched = match_annotations(test, h_ann)
        h_table, rel = ev.heldout(frame, labels, matched,
                                  [split_themes(t) for t in matched["themes_human"]], codebook)
        tables.append(h_table)
        print(f"\nDéclarations mises de côté ({heldout}) : {len(matched)} unités appariées sur "
              f"{len(h_ann)} annotées, {h_table.attrs['n_documents']} déclarations ; modèle "
              f"entraîné sur les {len(frame)} unités d'entraînement")
        print(ev.format_summary(h_table))
        sub = h_table[(h_table["system"] == "combined") & (h_table["level"] == "unit")]
        print("\nPar thème (combiné, mises de côté) :")
        for r in sub[sub["theme"] != "macro"].itertuples(index=False):
            print(f"  {str(r.label)[:44]:<44} P {100 * r.precision:4.0f}  R {100 * r.recall:4.0f}"
                  f"  F1 {100 * r.f1:4.0f}  n={int(r.support)}")
        print("\nFiabilité des scores (mises de côté, paires unité × thème de score ≥ 0,1) :")
        print(ev.format_reliability(rel))
    elif heldout is not None:
        print(f"(pas de déclarations mises de côté dans {heldout})")
    if not tables:
        return 0
    io.write_table(pd.concat(tables, ignore_index=True), out / "evaluation", parquet=False)
    if rel is not None:
        io.write_table(rel, out / "evaluation_reliability", parquet=False)
    print(f"\nÉcrit : {out / 'evaluation.csv'}")
    return 0
