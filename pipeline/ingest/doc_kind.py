"""What kind of publication a document is: ``declaration``, ``pst`` (a strategic plan),
``council_decision``, ``news``, ``other``.

Cues, weights, thresholds and the French warnings live in ``pipeline/data/doc_kinds.toml``
(the decision rule is written at the top of that file).  A council decision that holds the
declaration as its annex is a ``declaration``; one that only adopts or mentions it is a
``council_decision``.  When nothing clearly says otherwise, a document is a ``declaration``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import tomllib

KINDS_FILE = Path(__file__).resolve().parents[1] / "data" / "doc_kinds.toml"
#: Values of the ``doc_kind`` column of documents.csv.
DOC_KINDS = ("declaration", "pst", "council_decision", "news", "other")
#: kinds that are expected in a corpus (no warning)
EXPECTED_KINDS = ("declaration", "pst")
#: Cues named in a warning (the strongest first, as listed in the data file).
MAX_EVIDENCE = 3


@dataclass(frozen=True)
class _Cue:
    name: str
    regex: re.Pattern
    weight: int


@dataclass(frozen=True)
class _Config:
    cues: dict[str, tuple[_Cue, ...]]
    thresholds: dict[str, int]
    annex_threshold: int
    warnings: dict[str, str]
    not_plan: re.Pattern
    plan_name: re.Pattern


@dataclass
class KindCheck:
    """Result of :func:`check_kind`: the kind, each kind's score and the cues found."""

    kind: str
    scores: dict[str, int] = field(default_factory=dict)
    evidence: dict[str, list[str]] = field(default_factory=dict)
    warning: str = ""


def load_kinds(path: Path = KINDS_FILE) -> dict:
    """The raw content of ``doc_kinds.toml``."""
    with open(path, "rb") as f:
        return tomllib.load(f)


@lru_cache(maxsize=2)
def _config(path: Path = KINDS_FILE) -> _Config:
    d = load_kinds(path)
    cues = {k: tuple(_Cue(c["name"], re.compile(c["regex"]), int(c.get("weight", 1)))
                     for c in d[k]["cues"]) for k in DOC_KINDS}
    thresholds = {k: int(d[k]["threshold"]) for k in DOC_KINDS if "threshold" in d[k]}
    return _Config(cues=cues, thresholds=thresholds,
                   annex_threshold=int(d["decision"]["annex_threshold"]),
                   warnings=dict(d["warnings"]), not_plan=re.compile(d["pst"]["not_if"]),
                   plan_name=re.compile(d["pst"]["file_name"]))


def named_as_plan(file_name: str) -> bool:
    """True when a file name announces a strategic plan ("…-pst-2025.docx", "Plan stratégique
    transversal.pdf"; ``[pst] file_name`` of ``doc_kinds.toml``)."""
    import unicodedata

    return bool(_config().plan_name.search(unicodedata.normalize("NFC", file_name or "")))


def plan_name_warning() -> str:
    """The French line for a file named as a plan that is not read as one (``[warnings]
    pst_by_name``)."""
    return _config().warnings["pst_by_name"]


def check_kind(text: str) -> KindCheck:
    """Text of a document (its normalised text, plus e.g. an HTML <title>) → :class:`KindCheck`.

    ``warning`` is a one-line French message when the kind is not ``declaration`` or ``pst``,
    else "".
    """
    cfg = _config()
    scores: dict[str, int] = {}
    evidence: dict[str, list[str]] = {}
    for kind, cues in cfg.cues.items():
        found = [c for c in cues if c.regex.search(text or "")]
        scores[kind] = sum(c.weight for c in found)
        evidence[kind] = [c.name for c in found]
    decl = scores["declaration"]
    if scores["pst"] >= cfg.thresholds["pst"] and not cfg.not_plan.search(text or ""):
        kind = "pst"
    elif scores["council_decision"] >= cfg.thresholds["council_decision"]:
        kind = "declaration" if decl >= cfg.annex_threshold else "council_decision"
    elif scores["news"] >= cfg.thresholds["news"] and scores["news"] > decl:
        kind = "news"
    elif scores["other"] >= cfg.thresholds["other"] and scores["other"] > decl:
        kind = "other"
    else:
        kind = "declaration"
    warning = ""
    if kind not in EXPECTED_KINDS:
        shown = evidence[kind][:MAX_EVIDENCE]  # the warning stays one short line
        warning = cfg.warnings[kind].format(evidence=", ".join(shown))
    return KindCheck(kind=kind, scores=scores, evidence=evidence, warning=warning)
