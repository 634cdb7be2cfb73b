"""Content test of a prose sentence: a policy statement, or context?

``is_policy_sentence(text) -> (bool, cue)`` says whether a sentence states what the CPAS will
do, wants or commits to (True) or is context: news framing, reporting, statistics, history,
definitions, legal reminders, method, opinions, questions, fragments (False); ``cue`` names
the group of cues that decided ("override:reporting", "policy:future", "context:past",
"weak_policy:nous", "no-commitment-cue"…).

No spaCy: regular expressions read from ``pipeline/data/content_cues.toml`` (see the comments
there for the order of the decision).  ``score_csv(path)`` measures precision / recall of
"policy content" on a CSV ``sentence,is_policy,shape``::

    python -m pipeline.segment.content tests/data/content/dev_sentences.csv
"""

from __future__ import annotations

import csv
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import tomllib

DEFAULT_PATH = Path(__file__).resolve().parents[1] / "data" / "content_cues.toml"
_ORDER = ("override", "policy", "context", "weak_policy")
_APOS_RE = re.compile(r"[’‘`´]")
_WS_RE = re.compile(r"\s+")


class _Group:
    """The patterns of one cue group, split for speed: those anchored at the start are tried
    with ``match`` at 0, those anchored at the end on the last characters only, the others
    with ``search``.  Texts are matched lower-cased (write the patterns in lower case).
    """

    __slots__ = ("start", "end", "anywhere")

    def __init__(self, patterns: list[str]):
        starts = [p[1:] for p in patterns if p.startswith("^") and not _has_top_alt(p)]
        ends = [p for p in patterns if p.endswith("$") and not p.startswith("^")
                and not _has_top_alt(p)]
        rest = [p for p in patterns if p[1:] not in starts and p not in ends]
        self.start = _join(starts)
        self.end = _join(ends)
        self.anywhere = _join(rest)

    def search(self, t: str, t2: str = "") -> bool:
        return bool((self.start is not None and (self.start.match(t)
                                                  or (t2 and self.start.match(t2))))
                    or (self.end is not None and self.end.search(t, max(0, len(t) - _TAIL)))
                    or (self.anywhere is not None and self.anywhere.search(t)))


_TAIL = 48


def _has_top_alt(p: str) -> bool:
    """Whether ``p`` has a "|" outside any group (then "^"/"$" do not anchor all of it)."""
    depth = 0
    esc = False
    cls = False
    for ch in p:
        if esc:
            esc = False
        elif ch == "\\":
            esc = True
        elif cls:
            cls = ch != "]"
        elif ch == "[":
            cls = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            return True
    return False


def _join(patterns: list[str]) -> re.Pattern | None:
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{p})" for p in patterns))


@dataclass(frozen=True)
class ContentCues:
    """Compiled cues: ``groups`` = ((stage, name, group of patterns), …) in decision order."""

    groups: tuple[tuple[str, str, _Group], ...]
    continuation: re.Pattern | None = None
    connective: re.Pattern | None = None


def _expand(pattern: str, words: dict[str, str]) -> str:
    for name, alt in words.items():
        pattern = pattern.replace("{" + name + "}", alt)
    return pattern


def parse_cues(data: dict) -> ContentCues:
    """A dict read from content_cues.toml → ContentCues (raises re.error on a bad regex)."""
    words = {k: str(v) for k, v in data.get("words", {}).items()}
    groups = []
    for stage in _ORDER:
        for name, pats in data.get(stage, {}).items():
            if isinstance(pats, str):
                pats = [pats]
            groups.append((stage, name, _Group([_expand(p, words) for p in pats])))
    cont = data.get("continuation", {}).get("regex")
    conn = data.get("connective", {}).get("regex")
    return ContentCues(tuple(groups), re.compile(cont, re.IGNORECASE) if cont else None,
                       re.compile(conn) if conn else None)


@lru_cache(maxsize=4)
def load_cues(path: str | None = None) -> ContentCues:
    """Read and compile a cue file (default ``pipeline/data/content_cues.toml``)."""
    with open(path or DEFAULT_PATH, "rb") as f:
        return parse_cues(tomllib.load(f))


def normalise(text: str) -> str:
    """Apostrophes → "'", whitespace collapsed, surrounding blanks and bullets removed."""
    t = _WS_RE.sub(" ", _APOS_RE.sub("'", text)).strip()
    return t.lstrip("-–—•*·▪► ").strip()


def is_policy_sentence(text: str, cues: ContentCues | None = None) -> tuple[bool, str]:
    """(is policy content, deciding cue) for one sentence (see the module docstring)."""
    cues = cues or load_cues()
    t = normalise(text).lower()
    if not t:
        return False, "empty"
    m = cues.connective.match(t) if cues.connective is not None else None
    t2 = t[m.end():] if m else ""
    for stage, name, rx in cues.groups:
        if rx.search(t, t2):
            return stage in ("policy", "weak_policy"), f"{stage}:{name}"
    return False, "no-commitment-cue"


def continues_policy(text: str, cues: ContentCues | None = None) -> bool:
    """Whether a cue-less sentence opens like a continuation of the previous one ("Cela…")."""
    cues = cues or load_cues()
    return bool(cues.continuation is not None and cues.continuation.search(normalise(text)))


def score_rows(rows: list[tuple[str, int]], cues: ContentCues | None = None) -> dict:
    """Precision / recall / F1 of "policy content" over (sentence, is_policy) rows.

    Also returns ``errors``: the misjudged rows as (sentence, expected, cue).
    """
    tp = fp = fn = tn = 0
    errors = []
    for sentence, gold in rows:
        pred, cue = is_policy_sentence(sentence, cues)
        if pred and gold:
            tp += 1
        elif pred:
            fp += 1
            errors.append((sentence, gold, cue))
        elif gold:
            fn += 1
            errors.append((sentence, gold, cue))
        else:
            tn += 1
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"n": len(rows), "tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "precision": p, "recall": r, "f1": f, "errors": errors}


def read_csv(path: Path | str) -> list[tuple[str, int]]:
    """A CSV with columns ``sentence,is_policy[,shape]`` → (sentence, 0/1) rows."""
    with open(path, encoding="utf-8", newline="") as f:
        return [(row["sentence"], int(row["is_policy"])) for row in csv.DictReader(f)]


def score_csv(path: Path | str, cues: ContentCues | None = None) -> dict:
    """``score_rows`` over a CSV of that shape."""
    return score_rows(read_csv(path), cues)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m pipeline.segment.content SENTENCES.csv [--errors]")
        return 2
    res = score_csv(args[0])
    print(f"{res['n']} sentences: precision {res['precision']:.3f}  recall {res['recall']:.3f}"
          f"  F1 {res['f1']:.3f}  (tp {res['tp']} fp {res['fp']} fn {res['fn']} tn {res['tn']})")
    if "--errors" in args:
        for sentence, gold, cue in res["errors"]:
            print(f"  expected {gold}  [{cue}]  {sentence}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
