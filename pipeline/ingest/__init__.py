"""Ingest stage: input files → :class:`pipeline.models.Document` (normalised text + structure hints).

Public API (used by the runner and the other stages):

- ``SUPPORTED_EXTENSIONS``
- ``discover(corpus_dir) -> (list[(path, doc_id)], warnings)`` (warnings include one line per
  README / SOURCES / LICENSE / NOTES / CHANGELOG file left out)
- ``ingest_file(path, doc_id) -> Document`` (never raises for bad input: status="error")
- ``documents_table(docs, metadata_csv) -> DataFrame`` (the documents table of the run)
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path

import pandas as pd

from pipeline.ingest import errors
from pipeline.ingest.doc_kind import DOC_KINDS, check_kind
from pipeline.ingest.errors import IngestError
from pipeline.ingest.metadata import extract_metadata, mandate_of, parse_date
from pipeline.ingest.normalize import ReadResult, assemble
from pipeline.limits import DEFAULT as DEFAULT_LIMITS
from pipeline.limits import Limits, mb
from pipeline.models import Document

__all__ = ["SUPPORTED_EXTENSIONS", "DOCUMENT_COLUMNS", "DOC_KINDS", "discover", "ingest_file",
           "documents_table", "extract_metadata"]

SUPPORTED_EXTENSIONS = (".txt", ".md", ".pdf", ".docx", ".html", ".htm")

#: Columns of the documents table (then any extra column of metadata.csv).
DOCUMENT_COLUMNS = ["doc_id", "source_file", "format", "doc_kind", "commune", "legislature",
                    "mandate", "adopted_on", "president", "n_pages", "n_words", "sha256",
                    "status", "error"]
METADATA_FIELDS = ("commune", "legislature", "mandate", "adopted_on", "president")
_SKIP_NAMES = {"metadata.csv", "annotations.csv", "gold_links.csv", "gold_versions.csv",
               "trace_review.csv"}
#: Files that accompany a corpus without being declarations (any case, any extension, also
#: "README-fr.md", "notes_2019.txt"): left out by discover() with a one-line note.
_COMPANION_RE = re.compile(r"(?i)(readme|sources|licen[cs]e|notes|changelog)(?:[-_. ].*)?")


# --------------------------------------------------------------------------- discover


def _skipped(path: Path, root: Path) -> bool:
    rel = path.relative_to(root)
    if any(part.startswith((".", "~$")) for part in rel.parts):
        return True
    return path.name.lower() in _SKIP_NAMES


def is_companion_file(name: str) -> bool:
    """True for README / SOURCES / LICENSE / LICENCE / NOTES / CHANGELOG files (any case, any
    extension): they describe a corpus folder and are never analysed as declarations."""
    return bool(_COMPANION_RE.fullmatch(name))


def _symlinked(path: Path, root: Path) -> bool:
    """Whether ``path`` or one of its folders below ``root`` is a symbolic link."""
    rel = path.relative_to(root)
    return any((root / Path(*rel.parts[:k + 1])).is_symlink() for k in range(len(rel.parts)))


def discover(corpus_dir: Path, follow_symlinks: bool = False
             ) -> tuple[list[tuple[Path, str]], list[str]]:
    """Input files of ``corpus_dir`` (recursive, sorted) with their doc_id, plus warnings.

    Skips hidden files and folders, Office lock files (``~$…``), ``metadata.csv``,
    ``annotations.csv``, the tracing gold files ``gold_links.csv`` / ``gold_versions.csv`` and
    the link review ``trace_review.csv``
    silently; README / SOURCES / LICENSE / LICENCE / NOTES / CHANGELOG files
    (any case, any extension) are left out with a one-line note among the warnings.  The
    doc_id is the file stem, preceded by its sub-folder's path for a file in a sub-folder
    (``archive/trooz-dps-2019``: adding a file never renames another); files sharing a stem
    in one folder get their extension appended (``x-pdf``, ``x-docx``); the same name
    anywhere gives a warning.  Files with an unsupported extension are listed too
    (``ingest_file`` reports them as errors). Symbolic links (to files or folders) are not
    followed, each listed with a note, unless ``follow_symlinks``. doc_ids are in Unicode NFC
    (a name typed "café" on macOS (NFD) and on Linux (NFC) gives the same id).
    """
    root = Path(corpus_dir)
    warnings: list[str] = []
    if not root.is_dir():
        return [], [f"dossier introuvable : {root}"]
    files = []
    for p in sorted((p for p in root.rglob("*") if p.is_file() and not _skipped(p, root)),
                    key=lambda p: str(p.relative_to(root)).casefold()):
        if not follow_symlinks and _symlinked(p, root):
            warnings.append(f"{p.relative_to(root).as_posix()} non analysé : lien symbolique, "
                            "non suivi (copiez le fichier dans le dossier, ou relancez avec "
                            "--follow-symlinks)")
        elif is_companion_file(p.name):
            warnings.append(f"{p.relative_to(root).as_posix()} non analysé : fichier "
                            "d'accompagnement du dossier (README, SOURCES, LICENSE, NOTES…), "
                            "pas une déclaration")
        else:
            files.append(p)
    by_stem: dict[str, list[Path]] = {}  # same name anywhere: probably the same declaration
    by_place: dict[tuple[str, str], list[Path]] = {}  # same name in the same folder
    for p in files:
        stem = unicodedata.normalize("NFC", p.stem)
        by_stem.setdefault(stem, []).append(p)
        by_place.setdefault((p.parent.relative_to(root).as_posix(), stem), []).append(p)
    out: list[tuple[Path, str]] = []
    for p in files:
        folder, stem = p.parent.relative_to(root).as_posix(), unicodedata.normalize("NFC", p.stem)
        doc_id = stem if len(by_place[(folder, stem)]) == 1 else f"{stem}-{p.suffix.lstrip('.').lower()}"
        if folder != ".":  # a file in a sub-folder keeps its path: it never renames another
            doc_id = f"{unicodedata.normalize('NFC', folder)}/{doc_id}"
        out.append((p, doc_id))
    for _stem, same in by_stem.items():
        if len(same) > 1:
            names = " et ".join(p.relative_to(root).as_posix() for p in same)
            warnings.append(f"{names} ont le même nom : sans doute la même déclaration")
    return out, warnings


# --------------------------------------------------------------------------- ingest_file


def _read(data: bytes, ext: str, limits: Limits = DEFAULT_LIMITS) -> ReadResult:
    """Dispatch ``data`` to the reader of ``ext`` (raises IngestError on bad input)."""
    if ext in (".txt", ".md"):
        from pipeline.ingest.text import read_text

        return ReadResult(read_text(data, max_chars=limits.max_chars), format=ext.lstrip("."))
    if ext == ".pdf":
        from pipeline.ingest.pdf import read_pdf

        return read_pdf(data)
    if ext == ".docx":
        from pipeline.ingest.docx import read_docx

        return ReadResult(read_docx(data, max_unzipped_bytes=limits.max_unzipped_bytes),
                          format="docx")
    if ext in (".html", ".htm"):
        from pipeline.ingest.html import read_html

        notes: list[str] = []
        blocks, title = read_html(data, notes)
        return ReadResult(blocks, format="html", metadata_text=title, warnings=notes)
    raise IngestError(errors.unsupported(ext))


def ingest_file(path: Path, doc_id: str, limits: Limits | None = None) -> Document:
    """Read one declaration file → Document.  Never raises for bad input.

    On success ``status="ok"``, ``text``/``blocks``/``pages`` follow the normalised-text contract
    and ``metadata`` holds what the text states, plus ``doc_kind`` (``declaration``,
    ``council_decision``, ``news``, ``other``: see ``pipeline/data/doc_kinds.toml``); a document
    that does not look like a declaration gets a one-line French warning in ``warnings``.  On bad input ``status="error"`` and ``error``
    is a one-line French message (what is wrong, what to do).  ``sha256`` is always that of
    the file bytes when the file could be read.  ``limits`` (``pipeline.limits.Limits``,
    defaults when None): a file larger on disk than ``max_file_mb`` is an error without being
    read, a DOCX past ``max_unzipped_mb`` without being decompressed, a text longer than
    ``max_chars`` characters without being analysed.
    """
    path = Path(path)
    ext = path.suffix.lower()
    fmt = ext.lstrip(".") or "inconnu"
    doc = Document(doc_id=doc_id, source_file=str(path), format=fmt)
    limits = limits or DEFAULT_LIMITS
    try:
        size = path.stat().st_size
        if size > limits.max_file_bytes:  # before reading it: one file must not fill the memory
            doc.status, doc.error = "error", errors.too_big(mb(size), limits.max_file_mb)
            return doc
        data = path.read_bytes()
    except OSError as exc:
        doc.status, doc.error = "error", f"fichier illisible ({exc.strerror or exc}) : vérifiez ses droits d'accès"
        return doc
    doc.sha256 = hashlib.sha256(data).hexdigest()
    try:
        if ext not in SUPPORTED_EXTENSIONS:
            raise IngestError(errors.unsupported(ext))
        if not data.strip():
            raise IngestError(errors.EMPTY)
        res = _read(data, ext, limits)
        text, blocks, pages = assemble(res.blocks, res.n_pages)
        if not text.strip():
            raise IngestError(errors.NO_TEXT)
        if len(text) > limits.max_chars:
            raise IngestError(errors.too_long(len(text), limits.max_chars))
    except IngestError as exc:
        doc.status, doc.error = "error", exc.message
        return doc
    except Exception as exc:  # noqa: BLE001 - a reader bug must not stop the corpus
        doc.status = "error"
        doc.error = (f"erreur interne de lecture ({type(exc).__name__}: "
                     f"{' '.join(str(exc).split())[:200]}) : signalez-la avec le fichier")
        return doc
    doc.format, doc.text, doc.blocks, doc.pages = res.format, text, blocks, pages
    doc.n_pages, doc.warnings = res.n_pages, list(res.warnings)
    full = text + ("\n" + res.metadata_text if res.metadata_text else "")
    doc.metadata = extract_metadata(full)
    check = check_kind(full)
    doc.metadata["doc_kind"] = check.kind
    if check.warning:
        doc.warnings.append(check.warning)
    return doc


# --------------------------------------------------------------------------- documents table


def _read_metadata_csv(path: Path) -> pd.DataFrame:
    """metadata.csv (comma, semicolon or tab; UTF-8, BOM or cp1252) → DataFrame of text cells
    (``.attrs["line"]``: line numbers); an empty file gives an empty DataFrame and one French
    line on stderr; a malformed one raises ValueError (French, names the file and the fix)."""
    from pipeline.io import read_user_csv

    df = read_user_csv(path, "doc_id,commune,…")
    return pd.DataFrame() if df is None else df


def _csv_date(value: str) -> str:
    """A date cell of metadata.csv as ISO ``YYYY-MM-DD``: ``2019-03-05`` kept, ``13/02/2019``
    → ``2019-02-13``; a date that does not exist (``2019-13-45``, ``31/02/2019``) → ""."""
    import datetime

    if not _ISO_DATE_RE.fullmatch(value):
        return parse_date(value)
    try:
        datetime.date.fromisoformat(value)
        return value
    except ValueError:
        return ""


def metadata_notes(meta: pd.DataFrame, path: Path, doc_ids: list[str],
                   files: list[str]) -> list[str]:
    """One French line per problem of metadata.csv, with its line number: no key column, a
    row naming no known document, a doc_id (or file) given twice (the later line wins), an
    adoption date that is not a real date (ignored)."""
    lines = meta.attrs.get("line") or list(range(2, len(meta) + 2))
    notes: list[str] = []
    name = Path(path).name
    if len(meta) and not {"doc_id", "file"} & set(meta.columns):
        return [f"{name} : ni colonne doc_id ni colonne file (en-tête : "
                f"{','.join(meta.columns)}) : aucune ligne n'a pu être rattachée à un document"]
    known_ids, known_files = set(doc_ids), set(files)
    seen: dict[str, int] = {}
    for (_, rec), n in zip(meta.iterrows(), lines, strict=False):
        key = rec.get("doc_id", "") or ""
        fkey = rec.get("file", "") or ""
        if not key and not fkey:
            notes.append(f"{name} ligne {n} : ni doc_id ni file : ligne ignorée")
            continue
        if key and key not in known_ids and fkey not in known_files:
            notes.append(f"{name} ligne {n} : doc_id « {key} » ne correspond à aucun document "
                         "analysé (vérifiez l'orthographe : nom du fichier sans extension)")
        elif not key and fkey not in known_files:
            notes.append(f"{name} ligne {n} : fichier « {fkey} » absent du dossier")
        ident = f"doc_id « {key} »" if key else f"file « {fkey} »"
        if ident in seen:
            notes.append(f"{name} lignes {seen[ident]} et {n} : {ident} en double : la ligne "
                         f"{n} l'emporte")
        seen[ident] = n
        date = rec.get("adopted_on", "") or ""
        if date and not _csv_date(date):
            notes.append(f"{name} ligne {n} : date d'adoption « {date} » invalide (attendu "
                         "AAAA-MM-JJ ou JJ/MM/AAAA, une date qui existe) : ignorée")
    return notes


_ISO_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def documents_table(docs: list[Document], metadata_csv: Path | None = None) -> pd.DataFrame:
    """Documents → DataFrame with ``DOCUMENT_COLUMNS`` + every extra column of metadata.csv.

    Metadata read from the text fills doc_kind, commune, legislature, mandate, adopted_on,
    president; a row of ``metadata_csv`` (matched on ``doc_id``, else on the ``file`` name)
    overrides any of them where it has a value (a ``doc_kind`` only when it is one of
    ``DOC_KINDS``).  ``doc_kind`` is "" for a document that could not be read.  ``mandate`` is derived from the legislature when empty.
    Unknown values are "".
    """
    rows = []
    for d in docs:
        row = {"doc_id": d.doc_id, "source_file": Path(d.source_file).name, "format": d.format,
               "doc_kind": str(d.metadata.get("doc_kind", "") or "")}
        for f in METADATA_FIELDS:
            row[f] = str(d.metadata.get(f, "") or "")
        row.update({"n_pages": int(d.n_pages), "n_words": int(d.n_words), "sha256": d.sha256,
                    "status": d.status, "error": d.error})
        rows.append(row)
    df = pd.DataFrame(rows, columns=DOCUMENT_COLUMNS)
    extras: list[str] = []
    if metadata_csv is not None and Path(metadata_csv).is_file():
        import sys

        meta = _read_metadata_csv(Path(metadata_csv))
        for note in metadata_notes(meta, Path(metadata_csv), list(df["doc_id"]),
                                   list(df["source_file"])):
            print(f"attention : {note}", file=sys.stderr)
        key_cols = [c for c in ("doc_id", "file") if c in meta.columns]
        extras = [c for c in meta.columns if c not in DOCUMENT_COLUMNS and c not in ("file",)]
        for c in extras:
            df[c] = ""
        if key_cols:
            by_id = {r["doc_id"]: r for r in meta.to_dict("records")
                     if r.get("doc_id")} if "doc_id" in meta.columns else {}
            by_file = {r["file"]: r for r in meta.to_dict("records")
                       if r.get("file")} if "file" in meta.columns else {}
            for i in df.index:
                rec = by_id.get(df.at[i, "doc_id"]) or by_file.get(df.at[i, "source_file"])
                if rec is None:
                    continue
                for c, v in rec.items():
                    if c in ("doc_id", "file") or not v:
                        continue
                    if c == "adopted_on":
                        v = _csv_date(v)
                        if not v:
                            continue
                    if c == "doc_kind" and v not in DOC_KINDS:
                        continue
                    if c in METADATA_FIELDS or c in extras or c == "doc_kind":
                        df.at[i, c] = v
                if rec.get("legislature") and not rec.get("mandate"):
                    df.at[i, "mandate"] = mandate_of(rec["legislature"]) or df.at[i, "mandate"]
    for i in df.index:
        if not df.at[i, "mandate"] and df.at[i, "legislature"]:
            df.at[i, "mandate"] = mandate_of(df.at[i, "legislature"])
    df = df[DOCUMENT_COLUMNS + extras]
    df["n_pages"] = df["n_pages"].astype(int)
    df["n_words"] = df["n_words"].astype(int)
    return df.reset_index(drop=True)
