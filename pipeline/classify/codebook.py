"""The theme codebook: ``pipeline/data/codebook.toml`` → list of :class:`Theme`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import tomllib

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "data" / "codebook.toml"
REQUIRED = ("id", "label", "definition", "color", "terms", "examples")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


class CodebookError(ValueError):
    """The codebook file is malformed (message in French, says what to fix)."""


@dataclass(frozen=True)
class Theme:
    """One policy theme: stable ``id``, French ``label``, notes, display ``color`` (#rrggbb),
    vocabulary — ``terms`` (decisive: enough alone), ``supporting`` (need a second cue or the
    model), ``negative`` (cues that the theme is not meant) — and ``examples`` (sentences)."""

    id: str
    label: str
    definition: str
    includes: str = ""
    excludes: str = ""
    color: str = "#777777"
    terms: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)
    supporting: list[str] = field(default_factory=list)
    negative: list[str] = field(default_factory=list)

    def __hash__(self) -> int:
        return hash((self.id, self.label, tuple(self.terms), tuple(self.supporting),
                     tuple(self.negative)))


def load_codebook(path: Path | None = None) -> list[Theme]:
    """Read the TOML codebook at ``path`` (default ``pipeline/data/codebook.toml``).

    Returns the themes in file order. Raises :class:`CodebookError` (French message) when an
    entry lacks a required field, an id is repeated or malformed, or a colour is not #rrggbb.
    """
    path = Path(path) if path is not None else DEFAULT_PATH
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CodebookError(f"grille de thèmes illisible ({path}) : {exc}") from exc
    themes: list[Theme] = []
    seen: set[str] = set()
    for i, entry in enumerate(data.get("theme", []), start=1):
        missing = [k for k in REQUIRED if not entry.get(k)]
        if missing:
            raise CodebookError(f"{path} : le thème n°{i} n'a pas de {', '.join(missing)}")
        tid = str(entry["id"])
        if not _ID.match(tid):
            raise CodebookError(f"{path} : identifiant « {tid} » invalide (minuscules, chiffres, _)")
        if tid in seen:
            raise CodebookError(f"{path} : identifiant « {tid} » en double")
        if not _COLOR.match(str(entry["color"])):
            raise CodebookError(f"{path} : couleur « {entry['color']} » de « {tid} » invalide "
                                "(attendu #rrggbb)")
        seen.add(tid)
        themes.append(Theme(
            id=tid, label=str(entry["label"]), definition=str(entry["definition"]),
            includes=str(entry.get("includes", "")), excludes=str(entry.get("excludes", "")),
            color=str(entry["color"]).lower(), terms=[str(t) for t in entry["terms"]],
            examples=[str(e) for e in entry["examples"]],
            supporting=[str(s) for s in entry.get("supporting", [])],
            negative=[str(s) for s in entry.get("negative", [])],
        ))
    if not themes:
        raise CodebookError(f"{path} : aucun thème ([[theme]]) trouvé")
    from pipeline.classify.vocabulary import VocabularyError, codebook_terms, compile_term

    for theme, term, strength in codebook_terms(themes):
        try:
            compile_term(theme, term, strength)
        except VocabularyError as exc:
            raise CodebookError(f"{path} : {exc}") from exc
    return themes


def theme_ids(codebook: list[Theme]) -> list[str]:
    """The ids of ``codebook`` in order."""
    return [t.id for t in codebook]
