"""Codebook vocabulary matched word by word on the unit's own text.

Every codebook term is a sequence of words; a term is found in a unit when **all** its words
occur there, consecutively and in order (articles ``le, la, les, l', un, une`` are skipped on
both sides; ``au, aux`` read as ``à`` and ``du, des, d'`` as ``de``; hyphens and apostrophes
separate words, so ``sans-abri`` = ``sans abri``). A unit word matches a term word when

* both are the same word once lower-cased, or
* they differ only by a plural / feminine ending (``logements`` ~ ``logement``, ``âgées`` ~
  ``âgé``, ``sociaux`` ~ ``social``), or
* the unit word's lemma (from the shared spaCy model, when the caller gives the lemmas) is the
  term word itself (``accueillons`` → ``accueillir``, ``travaux`` → ``travail``).

Function words (``de``, ``à``, ``en``…) must be the same word. Terms are **never** lemmatised:
``permis`` stays ``permis`` (it does not become ``permettre``), ``aidant proche`` needs both
words, ``première ligne`` is not found in ``en ligne``. Acronyms (``RIS``, ``CISP``: every letter
upper-case) match case-sensitively.

Each term has a **strength** (``decisive``: enough alone to give the theme; ``supporting``: needs
a second cue or the model; ``negative``: a cue that the theme is *not* meant, from the
codebook's ``excludes``). Every hit keeps the exact text it matched and its offsets in the
unit's text, which is what ``unit_themes.evidence`` shows.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

STRENGTHS = ("decisive", "supporting", "negative")
ARTICLES = frozenset({"le", "la", "les", "l", "un", "une"})
CONTRACTIONS = {"au": "à", "aux": "à", "du": "de", "des": "de", "d": "de"}
FUNCTION_WORDS = frozenset({"à", "de", "en", "pour", "sur", "dans", "par", "avec", "sans",
                            "et", "ou", "chez", "vers", "entre", "contre"})
_WORD_RE = re.compile(r"[^\W_]+")


def _fold(s: str) -> str:
    """Lower-case, NFC, typographic apostrophes/dashes made plain."""
    s = unicodedata.normalize("NFC", s).lower()
    return s.replace("’", "'").replace("‘", "'").replace("–", "-").replace("—", "-")


def stem(word: str) -> str:
    """Light inflection folding of a lower-cased French word: plural ``-s``/``-x`` (``-aux`` →
    ``-al``) then feminine ``-e`` removed from words longer than three letters."""
    if len(word) > 4 and word.endswith("aux"):
        word = word[:-3] + "al"
    elif len(word) > 3 and word[-1] in "sx":
        word = word[:-1]
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    return word


def is_acronym(term: str) -> bool:
    letters = [c for c in term if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters) and " " not in term


@dataclass(frozen=True)
class Term:
    """A compiled term: ``term`` as written in the codebook, its ``theme``, its ``strength``
    (decisive / supporting / negative), ``words`` (what is matched, in order, after articles
    are dropped and contractions read) and ``acronym`` (matched case-sensitively)."""

    theme: str
    term: str
    strength: str
    words: tuple[str, ...]
    acronym: bool = False

    @property
    def stems(self) -> tuple[str, ...]:
        return tuple(w if w in FUNCTION_WORDS or w.isdigit() else stem(w) for w in self.words)


@dataclass(frozen=True)
class Hit:
    """One term found in a text: the ``term`` (codebook entry), its ``strength``, the exact
    ``text`` it matched and its ``start``/``end`` offsets in the matched text."""

    term: str
    strength: str
    text: str
    start: int
    end: int


class VocabularyError(ValueError):
    """A codebook term cannot be matched as written (message in French, says what to fix)."""


def term_words(term: str) -> tuple[str, ...]:
    """The words a term is matched by: folded, articles dropped, contractions read."""
    out = []
    for w in _WORD_RE.findall(_fold(term)):
        w = CONTRACTIONS.get(w, w)
        if w not in ARTICLES:
            out.append(w)
    return tuple(out)


def compile_term(theme: str, term: str, strength: str = "decisive") -> Term:
    """Compile one codebook term. Raises :class:`VocabularyError` when nothing is left to match
    (a term made only of articles) or the strength is unknown."""
    if strength not in STRENGTHS:
        raise VocabularyError(f"force « {strength} » inconnue pour « {term} » ({theme}) : "
                              f"attendu {', '.join(STRENGTHS)}")
    if is_acronym(term):
        words = tuple(_WORD_RE.findall(term))
        return Term(theme, term, strength, words, acronym=True)
    words = term_words(term)
    if not words:
        raise VocabularyError(f"terme « {term} » du thème « {theme} » : aucun mot à chercher "
                              "(seulement des articles) ; retirez-le de la grille")
    if all(w in FUNCTION_WORDS for w in words):
        raise VocabularyError(f"terme « {term} » du thème « {theme} » : seulement des mots "
                              "outils ; donnez un mot plein")
    return Term(theme, term, strength, words)


@dataclass
class _Word:
    norm: str
    stem: str
    lemma: str
    raw: str
    start: int
    end: int


def _words(text: str, lemmas: str = "", tokens: str = "") -> list[_Word]:
    """The words of ``text`` (articles dropped), each with its lemma when the caller's
    (tokens, lemmas) pairs — the content words of ``pipeline.nlp.annotate`` — name it."""
    lemma_of: dict[str, str] = {}
    for tok, lem in zip(tokens.split(), lemmas.split(), strict=False):
        lemma_of.setdefault(tok, lem)
    out = []
    folded = _fold(text)
    for m in _WORD_RE.finditer(folded):
        w = CONTRACTIONS.get(m.group(), m.group())
        if w in ARTICLES:
            continue
        out.append(_Word(w, w if w in FUNCTION_WORDS else stem(w), lemma_of.get(m.group(), w),
                         text[m.start():m.end()], m.start(), m.end()))
    return out


def _word_matches(u: _Word, word: str, word_stem: str) -> bool:
    if word in FUNCTION_WORDS or word.isdigit():
        return u.norm == word
    return u.norm == word or u.stem == word_stem or u.lemma == word


@dataclass
class VocabularyMatcher:
    """Finds the codebook terms of each theme in a text (picklable)."""

    terms: list[Term] = field(default_factory=list)

    def _index(self) -> dict[str, list[int]]:
        """Terms by the stem of their first word (acronyms by their first word as written)."""
        index = self.__dict__.get("_first")
        if index is None:
            index = {}
            for i, t in enumerate(self.terms):
                key = ("A:" + t.words[0]) if t.acronym else t.stems[0]
                index.setdefault(key, []).append(i)
            self.__dict__["_first"] = index
        return index

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k != "_first"}

    def find(self, text: str, lemmas: str = "", tokens: str = "") -> list[tuple[Term, Hit]]:
        """Every (term, hit) in ``text``, in codebook order then text order."""
        if not text:
            return []
        words = _words(text, lemmas, tokens)
        index = self._index()
        raw_words = [(m.group(), m.start(), m.end()) for m in _WORD_RE.finditer(text)]
        cand: set[int] = set()
        for w in words:
            for key in {w.stem, w.norm, stem(w.lemma)}:
                cand.update(index.get(key, ()))
            if w.lemma in index:
                cand.update(index[w.lemma])
        for raw, _, _ in raw_words:
            cand.update(index.get("A:" + raw, ()))
        hits: list[tuple[Term, Hit]] = []
        for i in sorted(cand):
            t = self.terms[i]
            if t.acronym:
                seq = raw_words
                n = len(t.words)
                for k in range(len(seq) - n + 1):
                    if all(seq[k + j][0] == t.words[j] for j in range(n)):
                        s, e = seq[k][1], seq[k + n - 1][2]
                        hits.append((t, Hit(t.term, t.strength, text[s:e], s, e)))
                continue
            stems, n = t.stems, len(t.words)
            for k in range(len(words) - n + 1):
                if all(_word_matches(words[k + j], t.words[j], stems[j]) for j in range(n)):
                    s, e = words[k].start, words[k + n - 1].end
                    hits.append((t, Hit(t.term, t.strength, text[s:e], s, e)))
        return hits

    def match(self, lemmas: str = "", tokens: str = "", text: str = "") -> dict[str, list[Hit]]:
        """Hits per theme in one unit (each codebook term once, at its first occurrence; one
        hit per stretch of text, the first term in codebook order — decisive before supporting
        before negative; themes without a hit omitted). ``lemmas``/``tokens``: space-joined
        content-word lemmas and surface forms (``pipeline.nlp.annotate``); ``text``: the unit's
        raw text."""
        out: dict[str, list[Hit]] = {}
        seen: set[tuple] = set()
        for t, h in self.find(text, lemmas, tokens):
            if (t.theme, t.term) in seen or (t.theme, h.start, h.end) in seen:
                continue
            seen.update({(t.theme, t.term), (t.theme, h.start, h.end)})
            out.setdefault(t.theme, []).append(h)
        return out


def count(hits: list[Hit], strength: str) -> int:
    """Number of hits of one strength."""
    return sum(h.strength == strength for h in hits)


def compile_terms(triples: Iterable[tuple]) -> VocabularyMatcher:
    """Build a matcher from ``(theme_id, term)`` or ``(theme_id, term, strength)`` tuples."""
    terms = []
    for tr in triples:
        theme, term = tr[0], tr[1]
        strength = tr[2] if len(tr) > 2 else "decisive"
        terms.append(compile_term(theme, term, strength))
    return VocabularyMatcher(terms)


def codebook_terms(codebook) -> list[tuple[str, str, str]]:
    """(theme, term, strength) of every term of ``codebook`` (list of Theme), in order."""
    out = []
    for t in codebook:
        out += [(t.id, term, "decisive") for term in t.terms]
        out += [(t.id, term, "supporting") for term in getattr(t, "supporting", [])]
        out += [(t.id, term, "negative") for term in getattr(t, "negative", [])]
    return out


def build_matcher(codebook, lemmatise=None) -> VocabularyMatcher:
    """Matcher for every term of every theme of ``codebook`` (``lemmatise`` is accepted for
    compatibility and unused: terms are matched as written)."""
    return compile_terms(codebook_terms(codebook))


def vocabulary_score(n_terms: int) -> float:
    """Evidence strength of ``n_terms`` distinct matched terms: 0 → 0, 1 → .5, 2 → .75, …"""
    return 1.0 - 0.5 ** n_terms


def default_lemmatiser(texts: list[str]) -> list[tuple[str, str]]:
    """(lemmas, tokens) of each text with the shared spaCy model (``pipeline.nlp.annotate``)."""
    from pipeline.nlp import annotate

    return [(a["lemmas"], a["tokens"]) for a in annotate(list(texts), ner=False)]
