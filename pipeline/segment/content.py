"""Content test of a prose sentence: a policy statement, or context?

``is_policy_sentence(text) -> (bool, cue)`` says whether a sentence states what the CPAS will
do, wants or commits to (True) or is context: news framing, reporting, statistics, history,
definitions, legal reminders, method, opinions, questions, fragments (False); ``cue`` names
the group of cues that decided ("override:reporting", "policy:future", "context:past",
"weak_policy:nous", "no-commitment-cue"…).  A sentence stopped by the reporting override is
policy after all ("policy:reported") when the words reported ("« Nous ouvrirons… », a annoncé
la présidente") are a commitment of the CPAS (section ``[reported]`` of the cue file).

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
    reported: tuple[re.Pattern, ...] = ()
    reported_agent: re.Pattern | None = None
    reported_exclude: re.Pattern | None = None
    reported_policy: re.Pattern | None = None


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
    rep = data.get("reported", {})

    def _opt(key: str) -> re.Pattern | None:
        return re.compile(_expand(rep[key], words)) if rep.get(key) else None

    content = rep.get("content", [])
    if isinstance(content, str):
        content = [content]
    return ContentCues(tuple(groups), re.compile(cont, re.IGNORECASE) if cont else None,
                       re.compile(conn) if conn else None,
                       tuple(re.compile(_expand(c, words)) for c in content),
                       _opt("agent"), _opt("exclude"), _opt("policy"))


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
    stage, name = _decide(t, cues)
    if (stage, name) == ("override", "reporting") and _reported_policy(t, cues):
        return True, "policy:reported"
    if stage is None:
        return False, "no-commitment-cue"
    return stage in ("policy", "weak_policy"), f"{stage}:{name}"


def _decide(t: str, cues: ContentCues, skip: tuple[str, str] | None = None
            ) -> tuple[str | None, str | None]:
    """(stage, name) of the first cue group matching the lower-cased ``t`` (None, None)."""
    m = cues.connective.match(t) if cues.connective is not None else None
    t2 = t[m.end():] if m else ""
    for stage, name, rx in cues.groups:
        if (stage, name) != skip and rx.search(t, t2):
            return stage, name
    return None, None


def _reported_policy(t: str, cues: ContentCues) -> bool:
    """Whether the words a reporting sentence reports are a commitment of the CPAS: they name
    it ("le CPAS", "nous", "notre"…), the speaker is not excluded (opposition…), and they
    carry a strong policy cue by themselves (or a future in the past: "que le CPAS
    renforcerait…")."""
    if cues.reported_exclude is not None and cues.reported_exclude.search(t):
        return False
    for rx in cues.reported:
        m = rx.search(t)
        if not m:
            continue
        c = m.group("c").strip(" ,;:.")
        if cues.reported_agent is not None and not cues.reported_agent.search(c):
            continue
        stage, _ = _decide(c, cues, skip=("override", "reporting"))
        if stage == "policy" or (stage is None and cues.reported_policy is not None
                                 and cues.reported_policy.search(c)):
            return True
    return False


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


_BULLET = re.compile(r"^\s*(?:[-*•·–]+\s+)")
#: an annotated line of at most this many words is matched only as a whole line of the text
_SHORT_LINE_WORDS = 3


def _find_line(text: str, line: str, pos: int) -> list[tuple[int, int]]:
    """Spans of ``line`` in ``text``, searched from ``pos`` first, then from the start: one
    span, or, for a table row annotated as its cells joined by " | " (the reader puts each
    cell on its own line), the span of each cell found in order. [] when nothing is found."""
    if not line:
        return []
    # a short line (a menu entry "Le CPAS", a heading "Logement") is never found where a
    # sentence goes on after it in lower case ("Le CPAS ouvrira…": another line's words); a
    # line the reader joined to its neighbour ("… du CPAS 27 janvier 2025", "…, Le Président,
    # Pierre …") is still found
    whole = re.compile(r"(" + re.escape(line) + r")(?![ \t]+[a-zà-ÿœ])(?![\w'’-])")
    for start in (pos, 0):
        m = whole.search(text, start)
        if m:
            return [m.span(1)]
    if len(line.split()) > _SHORT_LINE_WORDS:
        for start in (pos, 0):
            i = text.find(line, start)
            if i >= 0:
                return [(i, i + len(line))]
    if " | " not in line:
        return []
    spans, at = [], pos
    for cell in (x.strip() for x in line.split(" | ")):
        if not cell:
            continue
        i = text.find(cell, at)
        if i >= 0:
            spans.append((i, i + len(cell)))
            at = i + len(cell)
    return spans


def score_document(path: Path | str, expected: Path | str | None = None) -> dict:
    """Policy-content decisions of ingest + segment on one whole document against
    ``expected`` (default ``<name>.expected.csv`` beside it: one row per visible line,
    ``line,is_policy``). A line is predicted as policy when a content unit overlaps it (a
    table row written as its cells joined by " | ": one of its cells); a line the reader
    dropped (furniture of a saved web page) is predicted as not policy. Returns
    tp/fp/fn/tn, ``missing`` (lines not found in the normalised text), precision, recall and
    ``errors`` (line, expected, kinds of the overlapping units)."""
    from pipeline.ingest import ingest_file
    from pipeline.models import NON_CONTENT_KINDS
    from pipeline.segment import segment

    path = Path(path)
    expected = Path(expected) if expected else path.with_name(path.stem + ".expected.csv")
    doc = ingest_file(path, path.stem)
    units = segment(doc)
    text = doc.text
    c = {"tp": 0, "fp": 0, "fn": 0, "tn": 0, "missing": 0, "errors": []}
    pos = 0
    with expected.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            line = _BULLET.sub("", row["line"]).strip()
            gold = row["is_policy"].strip() == "1"
            found = _find_line(text, line, pos)
            if not found:
                c["missing"] += 1
                kinds: list[str] = []
            else:
                pos = found[-1][1]
                kinds = [u.kind for u in units for i, j in found if u.start < j and u.end > i]
            content = any(k not in NON_CONTENT_KINDS for k in kinds)
            c[{(True, True): "tp", (True, False): "fn", (False, True): "fp",
               (False, False): "tn"}[(gold, content)]] += 1
            if gold != content:
                c["errors"].append((row["line"], int(gold), ",".join(kinds) or "absent"))
    c["precision"] = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0
    c["recall"] = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 0.0
    return c


def score_folder(folder: Path | str, suffixes: tuple[str, ...] = (".txt", ".html")) -> dict:
    """:func:`score_document` on every document of ``folder`` (name order, files ending in
    ``suffixes``, each beside its ``.expected.csv``), summed: tp/fp/fn/tn/missing, precision,
    recall, and ``documents`` (name → that document's scores)."""
    docs = sorted(p for p in Path(folder).iterdir() if p.suffix in suffixes)
    total = {"tp": 0, "fp": 0, "fn": 0, "tn": 0, "missing": 0}
    per_doc = {}
    for p in docs:
        per_doc[p.name] = c = score_document(p)
        for k in total:
            total[k] += c[k]
    tp, fp, fn = total["tp"], total["fp"], total["fn"]
    return {**total, "precision": tp / (tp + fp) if tp + fp else 0.0,
            "recall": tp / (tp + fn) if tp + fn else 0.0, "documents": per_doc}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m pipeline.segment.content SENTENCES.csv|DOCUMENT [--errors]\n"
              "  SENTENCES.csv: sentence,is_policy,shape ; DOCUMENT: a file with its "
              "<name>.expected.csv (line,is_policy) beside it")
        return 2
    if not args[0].endswith(".csv"):
        c = score_document(args[0])
        print(f"{args[0]}: precision {c['precision']:.3f}  recall {c['recall']:.3f}  "
              f"(tp {c['tp']} fp {c['fp']} fn {c['fn']} tn {c['tn']}, "
              f"{c['missing']} lines not in the text)")
        if "--errors" in args:
            for line, gold, kinds in c["errors"]:
                print(f"  expected {gold}  [{kinds}]  {line}")
        return 0
    res = score_csv(args[0])
    print(f"{res['n']} sentences: precision {res['precision']:.3f}  recall {res['recall']:.3f}"
          f"  F1 {res['f1']:.3f}  (tp {res['tp']} fp {res['fp']} fn {res['fn']} tn {res['tn']})")
    if "--errors" in args:
        for sentence, gold, cue in res["errors"]:
            print(f"  expected {gold}  [{cue}]  {sentence}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
