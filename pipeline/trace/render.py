"""One CPAS's trace as terminal text (``python -m pipeline trace DOC``), like ``show``."""

from __future__ import annotations

import textwrap

import pandas as pd

from pipeline.results import fold_name
from pipeline.trace.link import fmt

_GREEN, _RED, _DIM, _BOLD, _END = "\033[32m", "\033[31m", "\033[2m", "\033[1m", "\033[0m"


def trace_docs(name: str, documents: pd.DataFrame, trace: pd.DataFrame,
               versions: pd.DataFrame | None = None) -> list[str]:
    """The declarations a person means by ``name``: a declaration or a plan (doc_id, case and
    accents ignored) or a commune; the declarations of ``trace`` (and ``versions``) that it
    names, in order. Raises ValueError in French when nothing matches."""
    key = fold_name(name)
    dps_docs = sorted(set(trace["dps_doc"].astype(str))) if len(trace) else []
    pst_of = {}
    if len(trace):
        for d, p in zip(trace["dps_doc"].astype(str), trace["pst_doc"].astype(str), strict=True):
            pst_of.setdefault(p, set()).add(d)
    found = [d for d in dps_docs if fold_name(d) == key]
    found += sorted(x for p, ds in pst_of.items() if fold_name(p) == key for x in ds)
    if not found and len(documents):
        communes = {str(r["doc_id"]): fold_name(r.get("commune", "") or "")
                    for r in documents.to_dict("records")}
        found = [d for d in dps_docs if communes.get(d) == key]
        if not found and versions is not None and len(versions):
            found = sorted({str(d) for d in versions["new_doc"]
                            if communes.get(str(d)) == key or fold_name(str(d)) == key})
    if not found:
        known = ", ".join(dps_docs[:8]) or "aucune (le corpus n'a pas de plan stratégique)"
        raise ValueError(f"« {name} » : aucune déclaration suivie sous ce nom ; déclarations "
                         f"reliées à un plan : {known}")
    return sorted(set(found))


def _filled(value) -> bool:
    """A cell with something in it (not empty, not NaN)."""
    return isinstance(value, str) and bool(value.strip())


def _wrap(text: str, width: int, indent: str) -> str:
    return textwrap.fill(text, width=width, initial_indent=indent,
                         subsequent_indent=indent + "  ") if text else indent


def render_trace(dps_doc: str, trace: pd.DataFrame, versions: pd.DataFrame | None = None,
                 *, width: int = 110, color: bool = False) -> str:
    """The trace of declaration ``dps_doc`` (rows of trace.csv): each promise with the plan
    units that carry it out (score, objective, pilot, deadline, budget) or "pas dans le PST",
    then the plan units with no anchor; then, when ``versions`` holds this declaration as the
    newer one, the counts kept / reworded / dropped / new."""
    def c(code: str, s: str) -> str:
        return f"{code}{s}{_END}" if color else s

    t = trace[trace["dps_doc"].astype(str) == dps_doc]
    lines: list[str] = []
    if len(t):
        first = t.iloc[0]
        pst = str(first["pst_doc"])
        head = f"{dps_doc} → {pst}"
        if first.get("commune"):
            head += f" — {first['commune']}"
        if first.get("mandate"):
            head += f" — mandature {first['mandate']}"
        lines.append(c(_BOLD, head))
        promises = t[t["dps_unit"].astype(str) != ""]
        carried = promises[promises["status"] == "dans le PST"]["dps_unit"].nunique()
        n_prom = promises["dps_unit"].nunique()
        plan = t[t["pst_unit"].astype(str) != ""]
        n_plan = plan["pst_unit"].nunique()
        unanch = t[t["status"] == "sans ancrage dans la DPS"]
        share = f" ({carried / n_prom:.0%})".replace("%", " %") if n_prom else ""
        lines.append(f"Promesses reprises dans le plan : {carried} / {n_prom}{share} ; actions du "
                     f"plan sans ancrage dans la déclaration : {len(unanch)} / {n_plan}")
        lines.append("")
        for uid, g in promises.groupby("dps_unit", sort=False):
            text = str(g["dps_text"].iloc[0])
            links = g[g["status"] == "dans le PST"]
            if len(links):
                lines.append(_wrap(f"{c(_GREEN, '✓')} {uid} {text}", width, ""))
                for r in links.to_dict("records"):
                    extra = [str(r[k]) for k in ("service", "deadline", "budget") if r.get(k)]
                    obj = f" [{r['pst_objective']}]" if r.get("pst_objective") else ""
                    lines.append(_wrap(f"→ {r['pst_unit']} {r['pst_text']}{obj}"
                                       + (f" ({' ; '.join(extra)})" if extra else "")
                                       + f"  score {fmt(float(r['score']))}"
                                       + (f" [{r['review']}]" if _filled(r.get("review")) else ""),
                                       width, "    "))
                    if r.get("evidence"):
                        lines.append(c(_DIM, _wrap(str(r["evidence"]), width, "      ")))
            else:
                checked = " [relu]" if "review" in g and _filled(g["review"].iloc[0]) else ""
                lines.append(_wrap(f"{c(_RED, '✗')} {uid} {text} — {c(_RED, 'pas dans le PST')}"
                                   f"{checked}", width, ""))
                ev = str(g["evidence"].iloc[0]) if "evidence" in g else ""
                if ev:
                    lines.append(c(_DIM, _wrap(ev, width, "      ")))
        if len(unanch):
            lines.append("")
            lines.append(c(_BOLD, f"Actions du plan sans ancrage dans la déclaration ({len(unanch)}) :"))
            for r in unanch.to_dict("records"):
                lines.append(_wrap(f"· {r['pst_unit']} {r['pst_text']}", width, "  "))
    if versions is not None and len(versions):
        v = versions[versions["new_doc"].astype(str) == dps_doc]
        for old, g in v.groupby("old_doc", sort=True):
            counts = g["status"].value_counts()
            lines.append("")
            lines.append(c(_BOLD, f"D'une législature à l'autre : {old} → {dps_doc}"))
            lines.append("  " + " ; ".join(f"{label} {int(counts.get(k, 0))}" for k, label in (
                ("kept", "gardées"), ("reworded", "reformulées"), ("dropped", "abandonnées"),
                ("new", "nouvelles"))))
    if not lines:
        lines.append(f"{dps_doc} : aucun plan stratégique relié (ni déclaration précédente)")
    return "\n".join(lines)
