"""Codebook vocabulary matched on lemmas, surface tokens, acronyms and numbered phrases.

A codebook term is one of three kinds:

* an **acronym** (``RIS``, ``CISP``): upper-case, matched case-sensitively on the raw text as a
  whole word;
* a **literal** containing a digit (``article 60``), or one that lemmatises to nothing: matched
  on the lower-cased raw text (whitespace-flexible, whole words);
* a **lemma phrase** (``maintien à domicile`` → ``maintien domicile``): its content-word lemmas
  must occur in order in the unit's lemmas with at most ``MAX_GAP`` other words between two of
  them; the same test is run on surface tokens, so a lemmatiser slip on one side is forgiven.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

MAX_GAP = 2


def _fold(s: str) -> str:
    """Lower-case, NFC, typographic apostrophes/dashes made plain."""
    s = unicodedata.normalize("NFC", s).lower()
    return s.replace("’", "'").replace("‘", "'").replace("–", "-").replace("—", "-")


def is_acronym(term: str) -> bool:
    letters = [c for c in term if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters) and " " not in term


@dataclass
class Term:
    """A compiled term: ``term`` as written, its ``kind`` (acronym/literal/lemma), and the
    lemma and token tuples (lemma kind) or the regex (other kinds)."""

    theme: str
    term: str
    kind: str
    lemmas: tuple[str, ...] = ()
    tokens: tuple[str, ...] = ()
    pattern: re.Pattern | None = None


def _in_order(needle: tuple[str, ...], hay: list[str], max_gap: int = MAX_GAP) -> bool:
    """True when ``needle`` occurs in ``hay`` in order, each next word ≤ max_gap words later."""
    if not needle or len(needle) > len(hay):
        return False
    for start, w in enumerate(hay):
        if w != needle[0]:
            continue
        pos, ok = start, True
        for nxt in needle[1:]:
            window = hay[pos + 1: pos + 2 + max_gap]
            if nxt not in window:
                ok = False
                break
            pos = pos + 1 + window.index(nxt)
        if ok:
            return True
    return False


_WORD_RE = re.compile(r"\w+")


@dataclass
class VocabularyMatcher:
    """Finds the codebook terms of each theme in a unit (picklable)."""

    terms: list[Term] = field(default_factory=list)

    def _index(self) -> dict[tuple[str, str], list[int]]:
        """Positions of the terms under a word each must find in a unit to match: (set name,
        word) → term positions, in codebook order. Built once, not pickled."""
        index = self.__dict__.get("_word_index")
        if index is None:
            index = {}
            for i, t in enumerate(self.terms):
                if t.kind == "acronym":
                    keys = [("raw", w) for w in _WORD_RE.findall(t.term)[:1]]
                elif t.kind == "literal":
                    keys = [("folded", w) for w in _WORD_RE.findall(_fold(t.term))[:1]]
                else:
                    keys = [("lem", w) for w in t.lemmas[:1]] + [("tok", w) for w in t.tokens[:1]]
                if not keys:  # no word to look for: always a candidate
                    keys = [("any", "")]
                for key in keys:
                    index.setdefault(key, []).append(i)
            self.__dict__["_word_index"] = index
        return index

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k != "_word_index"}

    def _candidates(self, lem: set, tok: set, raw: set, folded: set) -> list[Term]:
        """The terms with their indexed word in the unit (a superset of those that match),
        in codebook order."""
        index = self._index()
        found: set[int] = set(index.get(("any", ""), ()))
        for name, words in (("lem", lem), ("tok", tok), ("raw", raw), ("folded", folded)):
            for w in words:
                hit = index.get((name, w))
                if hit:
                    found.update(hit)
        return [self.terms[i] for i in sorted(found)]

    def _needed(self, t: Term, lem: set, tok: set, raw: set, folded_words: set) -> bool:
        """Cheap necessary condition for ``t`` to match (all its words are present)."""
        if t.kind == "acronym":
            return all(w in raw for w in _WORD_RE.findall(t.term))
        if t.kind == "literal":
            return all(w in folded_words for w in _WORD_RE.findall(_fold(t.term)))
        return (all(w in lem for w in t.lemmas)
                or (bool(t.tokens) and all(w in tok for w in t.tokens)))

    def match(self, lemmas: str, tokens: str = "", text: str = "") -> dict[str, list[str]]:
        """Terms found per theme in one unit.

        ``lemmas``/``tokens``: space-joined lower-cased content-word lemmas / surface forms (as
        ``pipeline.nlp.annotate`` gives them); ``text``: the raw unit text (for acronyms and
        literals). Returns ``{theme_id: [term, …]}`` (terms as written in the codebook, each
        once, in codebook order), themes without a hit omitted.
        """
        lem = lemmas.split()
        tok = tokens.split()
        folded = _fold(text)
        lem_set, tok_set = set(lem), set(tok)
        raw_set, folded_set = set(_WORD_RE.findall(text)), set(_WORD_RE.findall(folded))
        out: dict[str, list[str]] = {}
        for t in self._candidates(lem_set, tok_set, raw_set, folded_set):
            if not self._needed(t, lem_set, tok_set, raw_set, folded_set):
                continue
            if t.kind == "acronym":
                hit = bool(t.pattern.search(text))
            elif t.kind == "literal":
                hit = bool(t.pattern.search(folded))
            else:
                hit = _in_order(t.lemmas, lem) or (bool(t.tokens) and _in_order(t.tokens, tok))
            if hit:
                found = out.setdefault(t.theme, [])
                if t.term not in found:
                    found.append(t.term)
        return out


def default_lemmatiser(texts: list[str]) -> list[tuple[str, str]]:
    """(lemmas, tokens) of each text with the shared spaCy model (``pipeline.nlp.annotate``)."""
    from pipeline.nlp import annotate

    return [(a["lemmas"], a["tokens"]) for a in annotate(list(texts), ner=False)]


def compile_terms(pairs: Iterable[tuple[str, str]],
                  lemmatise: Callable[[list[str]], list[tuple[str, str]]] | None = None,
                  ) -> VocabularyMatcher:
    """Build a matcher from ``(theme_id, term)`` pairs.

    ``lemmatise`` maps a list of strings to (lemmas, tokens) pairs; default: the shared spaCy
    model (loaded once per process). Lemma-phrase terms are lemmatised in one batch.
    """
    pairs = list(pairs)
    compiled: list[Term | None] = [None] * len(pairs)
    to_lemmatise: list[int] = []
    for i, (theme, term) in enumerate(pairs):
        if is_acronym(term):
            pat = re.compile(r"(?<!\w)" + re.escape(term) + r"(?!\w)")
            compiled[i] = Term(theme, term, "acronym", pattern=pat)
        elif any(c.isdigit() for c in term):
            compiled[i] = Term(theme, term, "literal", pattern=_literal(term))
        else:
            to_lemmatise.append(i)
    if to_lemmatise:
        lemmatise = lemmatise or default_lemmatiser
        results = lemmatise([pairs[i][1] for i in to_lemmatise])
        for i, (lem, tok) in zip(to_lemmatise, results, strict=False):
            theme, term = pairs[i]
            if lem.split():
                compiled[i] = Term(theme, term, "lemma", lemmas=tuple(lem.split()),
                                   tokens=tuple(tok.split()))
            else:  # only stop words: match the words themselves
                compiled[i] = Term(theme, term, "literal", pattern=_literal(term))
    return VocabularyMatcher([t for t in compiled if t is not None])


def _literal(term: str) -> re.Pattern:
    words = [re.escape(w) for w in _fold(term).split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)")


def build_matcher(codebook, lemmatise=None) -> VocabularyMatcher:
    """Matcher for every term of every theme of ``codebook`` (list of Theme)."""
    return compile_terms(((t.id, term) for t in codebook for term in t.terms), lemmatise)


def vocabulary_score(n_terms: int) -> float:
    """Evidence strength of ``n_terms`` distinct matched terms: 0 → 0, 1 → .5, 2 → .75, …"""
    return 1.0 - 0.5 ** n_terms
