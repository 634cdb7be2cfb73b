"""Partners named in the declarations: gazetteer matches plus spaCy ORG entities."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline.compare.common import DATA_DIR, _text, load_config
from pipeline.compare.inputs import CompareInputs

PARTNER_COLUMNS = ["doc_id", "unit_id", "partner", "category", "source"]
SUMMARY_COLUMNS = ["partner", "category", "source", "n_docs", "n_units", "doc_ids"]
NER_CATEGORY = "autre (repéré automatiquement)"


@dataclass
class Gazetteer:
    """Compiled gazetteer: one regex per matching mode, and surface form → (name, category)."""

    exact: re.Pattern | None  # single-word aliases (acronyms), case-sensitive
    folded: re.Pattern | None  # multi-word names, case-insensitive
    by_form: dict[str, tuple[str, str]]
    categories: dict[str, str]
    descriptions: dict[str, str]
    # ``exact`` without its word-boundary lookarounds: a quick test (a literal scan) that
    # ``exact`` may match, since any match of ``exact`` is one of it
    exact_hint: re.Pattern | None = None

    def find(self, text: str) -> list[str]:
        """Gazetteer names (sorted, unique) found in ``text``."""
        found = set()
        if self.exact is not None and (self.exact_hint is None
                                       or self.exact_hint.search(text)):
            for m in self.exact.finditer(text):
                found.add(self.by_form[m.group(0)][0])
        if self.folded is not None:
            for m in self.folded.finditer(text):
                found.add(self.by_form[_fold(m.group(0))][0])
        return sorted(found)


def _fold(s: str) -> str:
    return re.sub(r"\s+", " ", s.replace("’", "'")).strip().casefold()


_BEFORE, _AFTER = r"(?<![\w-])", r"(?![\w-])"


def _distinct_first_chars(chars: list[str], flags: int) -> bool:
    """No character can match two of ``chars`` under ``flags`` (case-insensitive matching is
    an equivalence between characters, so testing the pairs suffices)."""
    return all(c.isalnum() for c in chars) and not any(
        re.fullmatch(re.escape(a), b, flags) for i, a in enumerate(chars) for b in chars[i + 1:])


def _alternation(forms: list[str], two_letter_guard: bool, bounds: bool = True,
                 flags: int = 0) -> str:
    """Regex matching any of ``forms`` (tried longest first; words separated by any
    whitespace), between word boundaries unless not ``bounds``.

    The alternatives are grouped by first character ("c(?:entre…|ohésion…)|i(?:…)") when no
    character can match two different first characters under ``flags``: the regex engine
    then enters one group per position instead of trying every form (twice as fast), and
    matches exactly what the flat list of forms would match (the only forms that can match
    at a position are those of one group, tried in the same order)."""
    alternatives = []
    for f in sorted(forms, key=lambda x: (-len(x), x)):
        words = f.split()
        rest = re.escape(words[0][1:]) + "".join(r"\s+" + re.escape(w) for w in words[1:])
        # a two-letter acronym followed by "." is an abbreviation ("MM." = Messieurs)
        tail = r"(?!\.)" if two_letter_guard and len(f) == 2 else ""
        alternatives.append((f[0], rest + tail))
    groups: dict[str, list[str]] = {}
    for first, rest in alternatives:
        groups.setdefault(first, []).append(rest)
    if _distinct_first_chars(list(groups), flags):
        core = "|".join(re.escape(c) + "(?:" + "|".join(rests) + ")"
                        for c, rests in groups.items())
    else:
        core = "|".join(re.escape(c) + rest for c, rest in alternatives)
    core = "(?:" + core + ")"
    return _BEFORE + core + _AFTER if bounds else core


def load_gazetteer(path: Path | None = None) -> Gazetteer:
    """Read ``pipeline/data/partners.csv`` (``name, aliases`` (|-separated)``, category,
    description``) → Gazetteer. Single-word forms match case-sensitively (acronyms: "ONE" is
    not "one"), multi-word forms case-insensitively; "’" and "'" are the same."""
    path = Path(path) if path else DATA_DIR / "partners.csv"
    by_form: dict[str, tuple[str, str]] = {}
    exact, folded = [], []
    categories, descriptions = {}, {}
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            name = row["name"].strip()
            if not name:
                continue
            categories[name] = row.get("category", "").strip()
            descriptions[name] = row.get("description", "").strip()
            forms = [name] + [a.strip() for a in (row.get("aliases") or "").split("|") if a.strip()]
            for form in forms:
                if len(form.split()) == 1:
                    exact.append(form)
                    by_form.setdefault(form, (name, categories[name]))
                else:
                    folded.append(_fold(form))
                    by_form.setdefault(_fold(form), (name, categories[name]))
    return Gazetteer(
        exact=re.compile(_alternation(sorted(set(exact)), True)) if exact else None,
        folded=re.compile(_alternation(sorted(set(folded)), False, flags=re.IGNORECASE)
                          .replace("'", "['’]"), re.IGNORECASE) if folded else None,
        by_form=by_form, categories=categories, descriptions=descriptions,
        exact_hint=re.compile(_alternation(sorted(set(exact)), True, bounds=False))
        if exact else None)


def _entities(value) -> list[tuple[str, str]]:
    if isinstance(value, (list, tuple)):
        items = value
    else:
        s = _text(value)
        if not s:
            return []
        try:
            items = json.loads(s)
        except ValueError:
            return []
    out = []
    for it in items:
        if isinstance(it, (list, tuple)) and len(it) >= 2:
            out.append((str(it[0]), str(it[1])))
    return out


def _clean_entity(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip(" \t\n.,;:()«»\"'’-–")


def partners(documents: pd.DataFrame, units: pd.DataFrame, nlp: pd.DataFrame | None,
             gazetteer: Gazetteer | None = None, config: dict | None = None) -> pd.DataFrame:
    """Organisations named in each unit.

    In: the content units (kinds not in NON_CONTENT_KINDS: a menu, breadcrumb, preamble,
    title or signature naming an organisation does not count; their ``text`` and ``label``
    are searched with the gazetteer) and the nlp rows of those units (``entities`` JSON,
    labels of ``compare.toml`` [partners] ner_labels).
    Out: one row per (doc_id, unit_id, partner): ``partner`` (gazetteer name, or the entity
    text), ``category`` (gazetteer category, or "autre (repéré automatiquement)"), ``source``
    "gazetteer" / "ner". An entity is dropped when it contains a gazetteer form, is in
    ner_ignore, starts with a ner_ignore_prefixes item, contains a ner_ignore_words word
    (e.g. "Commune-CPAS"), has more than ner_max_words words, fewer than two letters, or is
    a single word with fewer than two capitals ("Renforcer", "Service": sentence starts).
    Sorted by doc_id, unit_id, source, partner.
    """
    return partners_of(CompareInputs(documents, units, nlp), gazetteer, config)


def partners_of(p: CompareInputs, gazetteer: Gazetteer | None = None, config: dict | None = None
                ) -> pd.DataFrame:
    """``partners`` from the shared inputs (:class:`pipeline.compare.inputs.CompareInputs`)."""
    gaz = gazetteer or load_gazetteer()
    cfg = (config or load_config())["partners"]
    rows = []
    read = (p.doc_code >= 0) & p.content
    label, text = p.stripped("label"), p.stripped("text")
    found: dict[str, list[str]] = {}  # declarations repeat sentences: search each text once
    for doc, uid, lab, txt, ok in zip(p.column("doc_id"), p.column("unit_id"), label, text,
                                      read.tolist(), strict=True):
        if not ok:
            continue
        full = f"{lab} {txt}"
        names = found.get(full)
        if names is None:
            names = found[full] = gaz.find(full)
        for name in names:
            rows.append((doc, uid, name, gaz.categories.get(name, ""), "gazetteer"))
    nlp = p.nlp
    if nlp is not None and len(nlp) and "entities" in nlp.columns:
        labels = set(cfg.get("ner_labels", ["ORG"]))
        ignore = {_fold(x) for x in cfg.get("ner_ignore", [])}
        prefixes = tuple(_fold(x) for x in cfg.get("ner_ignore_prefixes", []))
        known = set(gaz.by_form)
        ignore_words = {_fold(x) for x in cfg.get("ner_ignore_words", [])}
        max_words = int(cfg.get("ner_max_words", 6))

        def kept(ents) -> list[str]:
            out = []
            for text, label in _entities(ents):
                if label not in labels:
                    continue
                name = _clean_entity(text)
                folded = _fold(name)
                words = re.findall(r"[\w.]+", folded)
                if (sum(ch.isalpha() for ch in name) < 2 or folded in ignore
                        or folded.startswith(prefixes) or name in known or folded in known
                        or len(words) > max_words or any(w in ignore_words for w in words)
                        or (len(name.split()) == 1 and sum(ch.isupper() for ch in name) < 2)
                        or gaz.find(name)):
                    continue
                out.append(name)
            return out

        cache: dict[str, list[str]] = {}
        content = {(d, u) for d, u, ok in zip(p.column("doc_id"), p.column("unit_id"),
                                              read.tolist(), strict=True) if ok}
        for doc, uid, ents in zip(nlp["doc_id"].tolist(), nlp["unit_id"].tolist(),
                                  nlp["entities"].tolist(), strict=True):
            if (doc, uid) not in content:  # its document not read, or not a content unit
                continue
            if isinstance(ents, str):
                names = cache.get(ents)
                if names is None:
                    names = cache[ents] = kept(ents)
            else:
                names = kept(ents)
            for name in names:
                rows.append((doc, uid, name, NER_CATEGORY, "ner"))
    df = pd.DataFrame(rows, columns=PARTNER_COLUMNS).drop_duplicates()
    return df.sort_values(["doc_id", "unit_id", "source", "partner"], kind="stable"
                          ).reset_index(drop=True)


def partner_summary(partners: pd.DataFrame, gazetteer: Gazetteer | None = None) -> pd.DataFrame:
    """Per partner: ``partner, category, source, n_docs`` (declarations naming it),
    ``n_units`` and ``doc_ids`` (";"-joined). Sorted by n_docs (desc), then partner."""
    if not len(partners):
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    g = partners.groupby(["partner", "category", "source"], sort=True).agg(
        n_docs=("doc_id", "nunique"), n_units=("unit_id", "size"),
        doc_ids=("doc_id", lambda s: ";".join(sorted(set(s))))).reset_index()
    g = g.sort_values(["n_docs", "n_units", "partner"], ascending=[False, False, True],
                      kind="stable")
    return g[SUMMARY_COLUMNS].reset_index(drop=True)
