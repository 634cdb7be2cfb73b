"""Text rendering of a unit tree (``python -m pipeline show DOC_ID``)."""

from __future__ import annotations

from pipeline.models import NON_CONTENT_KINDS, Unit

_DIM, _BOLD, _RESET = "\x1b[2m", "\x1b[1m", "\x1b[0m"
_KIND_FR = {
    "title": "titre", "preamble": "préambule", "signature": "signature",
    "navigation": "navigation", "section": "section", "axis": "axe", "group": "groupe",
    "objective": "objectif", "action": "action", "statement": "énoncé",
}


def render_tree(units: list[Unit], width: int = 100, color: bool = False,
                themes: dict[str, str] | None = None) -> str:
    """Units → one line per unit: indentation by depth, kind (in French), label, text cut to
    ``width`` characters.  Navigation units are dimmed when ``color`` is True and marked with
    "[nav]" otherwise; axes and sections are bold when ``color`` is True.  [] → "(aucune unité)".
    ``themes`` (unit_id → ";"-joined theme ids), when given, are appended as "  → a, b".
    """
    if not units:
        return "(aucune unité)"
    width = max(int(width or 100), 20)
    out = []
    for u in units:
        depth = int(u.depth or 0)
        kind = _KIND_FR.get(u.kind, u.kind)
        head = "  " * depth + f"{kind:<10} "
        if u.block and u.kind in ("objective", "action"):
            head += f"[{u.block}] "
        label = (u.label or "").strip()
        body = " ".join(str(u.text or "").split())
        line = head + (label + " " if label else "") + body
        if u.kind == "navigation" and not color:
            line = "[nav] " + line
        if len(line) > width:
            line = line[: width - 1].rstrip() + "…"
        if themes and themes.get(u.unit_id):
            line += "  → " + ", ".join(t for t in themes[u.unit_id].split(";") if t)
        if color:
            if u.kind == "navigation" or u.kind in NON_CONTENT_KINDS and u.kind != "title":
                line = _DIM + line + _RESET
            elif u.kind in ("axis", "section"):
                line = _BOLD + line + _RESET
        out.append(line)
    return "\n".join(out)
