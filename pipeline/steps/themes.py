"""Step 3 of a run: the theme model (trained once per annotations + codebook + code, kept in
the cache), the labels of every content unit (per document, cached), and what the machine
says of the units a human labelled."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from pipeline.engine.cache import PACKAGE_DIR, code_version, load_pickle, save_pickle
from pipeline.engine.parallel import in_background
from pipeline.models import NON_CONTENT_KINDS


def theme_model(cache_dir: Path, codebook_path: Path | None, annotations: Path | None,
                exclude_docs: Sequence[str] = (), threads: int = 1):
    """The trained theme model, from the cache when annotations, codebook and code are
    unchanged; ``exclude_docs``: doc_ids whose annotation rows it must not learn from;
    ``threads``: threads that train it when it is not cached (the same model either way)."""
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

    versions = code_version('classify', 'nlp', 'data/classifier.toml')
    h.update(f"{versions}|{model_version()}|{version('scikit-learn')}"
             .encode())
    if exclude_docs:
        h.update(("\x1fexclude\x1f" + "\x1f".join(sorted(exclude_docs))).encode())
    key = h.hexdigest()[:20]
    path = cache_dir / f"model-{key}.pkl"
    model = load_pickle(path)
    if model is None:
        model = classify.default_model(codebook, annotations,
                                       lemmatise=cached_lemmatiser(cache_dir),
                                       exclude_docs=exclude_docs, threads=threads)
        save_pickle(path, model)
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
        known: dict[str, tuple[str, str]] = load_pickle(path) or {}
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            known.update(zip(missing, default_lemmatiser(missing), strict=True))
            save_pickle(path, known)
        return [known[t] for t in texts]

    return lemmatise


#: Above this many content units to classify, half the documents go to a forked process.
PARALLEL_MIN_UNITS = 2_000


def _classify_docs(units: pd.DataFrame, nlp: pd.DataFrame, model, codebook,
                   ann_df: pd.DataFrame | None, docs: list[str]) -> dict[str, tuple]:
    """Classify the content units of ``docs`` → {doc_id: (unit_themes, themes, candidates)}."""
    from pipeline import classify

    sub = classify.unit_frame(units[units["doc_id"].isin(docs)], nlp[nlp["doc_id"].isin(docs)])
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
    ``classify.unit_frame``), and many new documents can be split between two processes
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
        entry = load_pickle(cache_dir / "themes" / f"{keys[doc_id]}.pkl")
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
            save_pickle(cache_dir / "themes" / f"{keys[doc_id]}.pkl", new[doc_id])
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
                                       sorted(docs & shipped_docs), threads=n_process)
    ut, _, _ = classify_cached(units[units["doc_id"].isin(docs)], nlp[nlp["doc_id"].isin(docs)],
                               model, codebook, None, doc_keys, key, cache_dir,
                               n_process=n_process)
    keep = set(zip(human["doc_id"], human["unit_id"], strict=True))
    mask = [k in keep for k in zip(ut["doc_id"], ut["unit_id"], strict=True)]
    return ut[mask].reset_index(drop=True)


def read_annotations(annotations: Path | None) -> pd.DataFrame | None:
    """The rows of ``annotations`` (None without the file; a malformed one raises ValueError)."""
    from pipeline.classify.annotations import load_annotations

    return load_annotations(annotations)


def with_labels(units: pd.DataFrame, themes: pd.DataFrame,
                machine_themes: pd.DataFrame) -> pd.DataFrame:
    """``units`` with the columns ``themes`` (";"-joined, best first), ``labelled_by`` (human /
    machine; "" for non-content units) and ``themes_machine`` (for a human-labelled unit, the
    machine's themes from ``machine_themes``; "" otherwise)."""
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
    return units
