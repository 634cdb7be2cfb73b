"""The two tracing sections of ``report.html`` (French, escaped, deterministic):

* « Suivi des engagements » (``#suivi``): per (declaration, plan) pair of ``tables["trace"]``
  and ``tables["trace_summary"]``, the coverage figures, a per-theme table, each promise of
  the declaration in reading order with the plan actions that carry it out (or a red badge
  « pas dans le PST »), then the plan actions no promise reaches (collapsed);
* « D'une législature à l'autre » (``#legislatures``): per pair of declarations of one CPAS
  (``tables["versions"]``, ``tables["versions_themes"]``), the counts kept / reworded /
  dropped / new, the table old promise → new promise and the theme shares then and now.

Each table may be missing or empty: the section then says so in one line (and how to add a
plan). Called by :func:`pipeline.report.html.prepare_html`; the columns are those of
:mod:`pipeline.trace`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

import pandas as pd

from pipeline.report.html import (
    KIND_LABELS,
    ThemeInfo,
    _num,
    _records,
    _s,
    chip,
    esc,
    fmt_float,
    fmt_int,
    fmt_pct,
    natural_key,
)
from pipeline.trace.tables import LINKED, UNANCHORED

#: versions.status → (badge class, badge text, plural used in the counts)
VERSION_LABELS = {
    "kept": ("v-kept", "gardée", "gardées"),
    "reworded": ("v-reworded", "reformulée", "reformulées"),
    "dropped": ("v-dropped", "abandonnée", "abandonnées"),
    "new": ("v-new", "nouvelle", "nouvelles"),
}
#: the plan's columns shown under an action, with their French names
DETAIL_LABELS = (("service", "pilote"), ("deadline", "échéance"), ("budget", "budget"),
                 ("indicator", "indicateur"))
NO_PLAN = ("Aucun plan stratégique transversal (PST) relié à une déclaration dans le corpus : "
           "pour suivre les promesses d'un CPAS, placez le fichier de son PST dans le dossier "
           "du corpus, avec la même commune et la même mandature que sa déclaration (ou "
           "nommez la déclaration dans la colonne pair_of de metadata.csv).")
NO_VERSIONS = ("Aucune paire de déclarations d'un même CPAS dans le corpus : ajoutez la "
               "déclaration d'une autre mandature de la même commune (ou une déclaration "
               "révisée, avec sa date d'adoption) pour voir ce qui a été gardé, reformulé, "
               "abandonné ou ajouté.")


@dataclasses.dataclass
class UnitInfo:
    """What the report knows of one declaration unit: its rank in reading order, the id of
    its line in the declaration's tree ("" when not shown there) and its themes."""

    rank: int
    anchor: str = ""
    themes: tuple[str, ...] = ()


@dataclasses.dataclass
class Context:
    """What the sections need from the rest of the report."""

    themes: Mapping[str, ThemeInfo]
    labels: Mapping[str, str]  # doc_id → display label (declarations)
    anchors: Mapping[str, str]  # doc_id → id of its article in « Déclarations »
    units: Mapping[str, Mapping[str, UnitInfo]]  # doc_id → unit_id → UnitInfo

    def unit(self, doc_id: str, unit_id: str) -> UnitInfo | None:
        return self.units.get(doc_id, {}).get(unit_id)

    def doc_link(self, doc_id: str) -> str:
        name = esc(doc_id)
        return f'<a href="#{self.anchors[doc_id]}">{name}</a>' if doc_id in self.anchors else name


# --------------------------------------------------------------------------- helpers


def _rows(df: pd.DataFrame | None) -> list[dict]:
    """The rows of ``df`` as dicts: numbers as they are (NaN included: see ``_text``), any
    other cell as text ("" when missing)."""
    if df is None or not len(df):
        return []
    out = []
    for r in _records(df):
        out.append({k: v if isinstance(v, (int, float)) and not isinstance(v, bool) else _s(v)
                    for k, v in r.items()})
    return out


def _text(value) -> str:
    """A cell as stripped text ("" for missing, NaN included)."""
    if isinstance(value, float) and value != value:
        return ""
    return _s(value).strip()


def _informative(value: str) -> bool:
    """False for the placeholders of a plan's table ("/", "-", "—", "n.a.")."""
    v = value.strip().lower()
    return any(c.isalnum() for c in v) and v not in ("n.a.", "na", "n/a", "néant")


def _score(value) -> str:
    v = _num(value)
    return "" if v is None else fmt_float(v, 2)


def _share(n: int, total: int) -> str:
    return fmt_pct(n / total) if total else "—"


def _chips(theme_ids, themes: Mapping[str, ThemeInfo]) -> str:
    chips = "".join(chip(t, themes) for t in theme_ids)
    return f' <span class="chips">{chips}</span>' if chips else ""


def _in_order(items: list, rank: Callable[[object], int | None],
              unit_id: Callable[[object], str]) -> list:
    """``items`` in reading order: by ``rank`` when the report knows the unit, else after
    those, by unit id (the segmenter numbers units in reading order: u0002 < u0010)."""
    def key(item):
        r = rank(item)
        return (0, r, ()) if r is not None else (1, 0, natural_key(unit_id(item)))

    return sorted(items, key=key)


# --------------------------------------------------------------------------- « Suivi des engagements »


def _details(r: dict) -> str:
    bits = [f"{name} : {esc(_text(r.get(col)))}" for col, name in DETAIL_LABELS
            if _informative(_text(r.get(col)))]
    return f'<div class="a-meta">{" · ".join(bits)}</div>' if bits else ""


def _action(r: dict, ctx: Context, with_score: bool) -> str:
    """One plan action (text, its OO in grey, pilot / deadline / budget, score, evidence)."""
    oo = _text(r.get("pst_objective"))
    kind = _text(r.get("pst_kind"))
    kind_html = (f'<span class="a-kind">{esc(KIND_LABELS.get(kind, kind))}</span> '
                 if kind and kind != "action" else "")
    score = _score(r.get("score")) if with_score else ""
    evidence = _text(r.get("evidence")) if with_score else ""
    tip = f' title="{esc(evidence)}"' if evidence else ""
    score_html = f' <span class="score"{tip}>score {esc(score)}</span>' if score else ""
    review = _text(r.get("review")) if with_score else ""
    if review:  # checked by a person (corpus/trace_review.csv)
        score_html += (f' <span class="badge b-rev" title="lien {esc(review)} à la relecture '
                       f'(trace_review.csv)">{esc(review)}</span>')
    uid = _text(r.get("pst_unit"))
    return (f'<li class="action">{kind_html}<span class="a-text">{esc(_text(r.get("pst_text")))}'
            f'</span>{score_html}<span class="p-id">{esc(uid)}</span>'
            + (f'<div class="a-oo">{esc(oo)}</div>' if oo else "")
            + _details(r)
            + (f'<div class="evidence">{esc(evidence)}</div>'
               if evidence else "")
            + "</li>")


def _cover(n_prom: int, n_carried: int, n_missing: int, n_plan: int, n_unanch: int,
           n_reviewed: int = 0) -> str:
    """The coverage figures of one pair, with a bar (carried / not carried), and how many
    promises a person checked."""
    checked = (f'<span class="muted"> · {fmt_int(n_reviewed)} relue{"s" if n_reviewed > 1 else ""} '
               "à la main</span>" if n_reviewed else "")
    width = f"{100 * n_carried / n_prom:.1f}" if n_prom else "0"
    bar = (f'<span class="cover-bar" aria-hidden="true"><span class="c-yes" '
           f'style="width:{width}%"></span></span>' if n_prom else "")
    return (
        '<div class="trace-cover">'
        f'<p class="stat"><b>{fmt_int(n_carried)}/{fmt_int(n_prom)}</b> promesses reprises '
        f"dans le PST <b>({esc(_share(n_carried, n_prom))})</b>{checked}{bar}</p>"
        f'<p class="stat{" miss" if n_missing else ""}"><b>{fmt_int(n_missing)}</b> '
        f"promesse{'s' if n_missing > 1 else ''} absente{'s' if n_missing > 1 else ''} du PST</p>"
        f'<p class="stat"><b>{fmt_int(n_unanch)}/{fmt_int(n_plan)}</b> action'
        f"{'s' if n_plan > 1 else ''} du plan sans ancrage dans la déclaration "
        f"({esc(_share(n_unanch, n_plan))})</p></div>")


def _theme_table(rows: list[dict], themes: Mapping[str, ThemeInfo]) -> str:
    """The per-theme table of one pair (trace_summary rows with a theme), codebook order."""
    order = {t: i for i, t in enumerate(themes)}
    rows = [r for r in rows if _text(r.get("theme"))
            and (_num(r.get("n_promises")) or _num(r.get("n_plan_units")))]
    if not rows:
        return ""
    rows.sort(key=lambda r: (order.get(_text(r["theme"]), len(order)), _text(r["theme"])))
    body = []
    for r in rows:
        n_prom, n_car = int(_num(r.get("n_promises")) or 0), int(_num(r.get("n_carried")) or 0)
        n_plan, n_un = int(_num(r.get("n_plan_units")) or 0), int(_num(r.get("n_unanchored")) or 0)
        n_not = int(_num(r.get("n_not_carried")) or 0)
        body.append(
            f"<tr><td>{chip(_text(r['theme']), themes)}</td>"
            f'<td class="num">{fmt_int(n_car)}/{fmt_int(n_prom)}</td>'
            f'<td class="num">{esc(_share(n_car, n_prom))}</td>'
            f'<td class="num{" miss" if n_not else ""}">{fmt_int(n_not)}</td>'
            f'<td class="num">{fmt_int(n_un)}/{fmt_int(n_plan)}</td></tr>')
    return ('<div class="table-wrap"><table class="small trace-themes"><thead><tr>'
            '<th>Thème</th><th class="num" title="promesses de ce thème reprises dans le PST">'
            'Reprises</th><th class="num">Part</th>'
            '<th class="num" title="promesses de ce thème absentes du PST">Absentes</th>'
            '<th class="num" title="actions du plan de ce thème sans ancrage dans la '
            'déclaration (sur les actions du plan de ce thème)">Sans ancrage</th></tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def _pair_block(index: int, dps: str, pst: str, rows: list[dict], summary: list[dict],
                ctx: Context) -> str:
    first = rows[0]
    commune = _text(first.get("commune"))
    mandate = _text(first.get("mandate"))
    label = commune or ctx.labels.get(dps) or dps
    promises: dict[str, dict] = {}  # promise → its first row (text, kind, evidence)
    links: dict[str, list[dict]] = {}  # promise → its link rows
    plan_units: set[str] = set()
    unanchored: dict[str, dict] = {}
    for r in rows:
        uid, puid, status = _text(r.get("dps_unit")), _text(r.get("pst_unit")), r.get("status")
        if uid:
            promises.setdefault(uid, r)
            if status == LINKED and puid:
                links.setdefault(uid, []).append(r)
        if puid:
            plan_units.add(puid)
            if status == UNANCHORED:
                unanchored.setdefault(puid, r)
    total = next((r for r in summary if not _text(r.get("theme"))), None)

    def count(name: str) -> int:
        return int(_num(total.get(name)) or 0) if total is not None else 0

    if total is not None:
        n_prom, n_carried = count("n_promises"), count("n_carried")
        n_missing = count("n_not_carried")
        n_plan, n_unanch = count("n_plan_units"), count("n_unanchored")
    else:  # no summary row: counted on the rows shown
        n_prom, n_carried = len(promises), len(links)
        n_missing = n_prom - n_carried
        n_plan, n_unanch = len(plan_units), len(unanchored)

    def rank(uid: str) -> int | None:
        info = ctx.unit(dps, uid)
        return None if info is None else info.rank

    items = []
    for uid in _in_order(list(promises), rank, str):
        mine = links.get(uid, [])
        r0 = mine[0] if mine else promises[uid]
        info = ctx.unit(dps, uid)
        kind = _text(r0.get("dps_kind"))
        kind_label = esc(KIND_LABELS.get(kind, kind)) if kind else ""
        ref = esc(uid)
        if info is not None and info.anchor:
            ref = f'<a href="#{esc(info.anchor)}" title="voir dans la déclaration">{ref}</a>'
        head = (f'<div class="p-head"><span class="p-kind">{kind_label}</span>'
                f'<span class="p-text">{esc(_text(r0.get("dps_text")))}</span>'
                f'{_chips(info.themes if info else (), ctx.themes)}'
                f'<span class="p-id">{ref}</span>')
        if mine:
            mine = sorted(mine, key=lambda r: (-(_num(r.get("score")) or 0.0),
                                               natural_key(_text(r.get("pst_unit")))))
            n = len(mine)
            items.append(
                f'<li class="promise carried">{head}<span class="badge b-ok">dans le PST'
                f'{f" ({n} actions)" if n > 1 else ""}</span></div><ul class="p-links">'
                + "".join(_action(r, ctx, True) for r in mine) + "</ul></li>")
        else:
            ev = _text(r0.get("evidence"))
            said = _text(r0.get("review"))
            checked = (' <span class="badge b-rev" title="relu à la main (trace_review.csv)">'
                       f"{esc(said)}</span>" if said else "")
            items.append(f'<li class="promise missing">{head}<span class="badge b-miss">pas '
                         f"dans le PST</span>{checked}</div>"
                         + (f'<div class="evidence">{esc(ev)}</div>' if ev
                            else "") + "</li>")
    promise_html = (f'<ol class="trace-list">{"".join(items)}</ol>' if items else
                    '<p class="muted">Aucune promesse retenue dans cette déclaration.</p>')
    if unanchored:
        n = len(unanchored)
        extra = (f'<details class="unanchored"><summary>Actions du plan sans ancrage dans la '
                 f"déclaration ({fmt_int(n)})</summary><ul class=\"p-links\">"
                 + "".join(_action(unanchored[u], ctx, False)
                           for u in sorted(unanchored, key=lambda u: (natural_key(u), u)))
                 + "</ul></details>")
    else:
        extra = ('<p class="muted">Toutes les actions du plan répondent à une promesse de la '
                 "déclaration.</p>")
    sub = f"déclaration {ctx.doc_link(dps)} → plan {esc(pst)}"
    return (f'<article class="trace-pair" id="suivi-{index}" data-doc="{esc(dps)}" '
            f'data-plan="{esc(pst)}"><header><h3>{esc(label)}'
            f'{f" <span class=docid>{esc(mandate)}</span>" if mandate else ""}</h3>'
            f'<p class="meta">{sub}</p></header>'
            f"{_cover(n_prom, n_carried, n_missing, n_plan, n_unanch, count('n_reviewed'))}"
            f"{_theme_table(summary, ctx.themes)}"
            f'<h4 class="trace-h">Promesses de la déclaration et actions du plan</h4>'
            f"{promise_html}{extra}</article>")


def _by_pair(rows: list[dict], a: str, b: str) -> dict[tuple[str, str], list[dict]]:
    """``rows`` grouped by their (``a``, ``b``) document pair, in order."""
    out: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        out.setdefault((_text(r.get(a)), _text(r.get(b))), []).append(r)
    return out


def _pairs(rows: list[dict], keys: tuple[str, str], named: str,
           ctx: Context) -> list[tuple[str, str]]:
    """The distinct (a, b) pairs of ``rows`` on the columns ``keys``, by commune (natural
    order, else the label of the document of column ``named``), then ids."""
    pairs: dict[tuple[str, str], str] = {}
    for r in rows:
        pair = (_text(r.get(keys[0])), _text(r.get(keys[1])))
        doc = _text(r.get(named))
        pairs.setdefault(pair, _text(r.get("commune")) or ctx.labels.get(doc) or doc)
    return sorted(pairs, key=lambda p: (natural_key(pairs[p]), p))


def _toc(entries: list[tuple[str, str, str, str]]) -> str:
    """Table-of-contents items from (anchor, label, doc a, doc b): a label two pairs share (a
    declaration with two plans, a revised declaration) names the two documents."""
    seen: dict[str, int] = {}
    for _, label, _, _ in entries:
        seen[label] = seen.get(label, 0) + 1
    return "".join(f'<li><a href="{esc(anchor)}">{esc(label)}'
                   + (f' <span class="docid">{esc(a)} → {esc(b)}</span>' if seen[label] > 1 else "")
                   + "</a></li>" for anchor, label, a, b in entries)


def engagements(tables: Mapping[str, pd.DataFrame], ctx: Context) -> tuple[str, str]:
    """(HTML of the section « Suivi des engagements », its entries for the table of
    contents)."""
    rows = [r for r in _rows(tables.get("trace")) if _text(r.get("dps_doc"))
            and _text(r.get("pst_doc"))]
    head = '<section id="suivi"><h2>Suivi des engagements : de la déclaration au plan</h2>'
    if not rows:
        return f'{head}<p class="muted empty-state">{esc(NO_PLAN)}</p></section>', ""
    by_pair = _by_pair(rows, "dps_doc", "pst_doc")
    summary = _by_pair(_rows(tables.get("trace_summary")), "dps_doc", "pst_doc")
    pairs = _pairs(rows, ("dps_doc", "pst_doc"), "dps_doc", ctx)
    blocks, toc = [], []
    for i, (dps, pst) in enumerate(pairs, start=1):
        blocks.append(_pair_block(i, dps, pst, by_pair[(dps, pst)], summary.get((dps, pst), []),
                                  ctx))
        name = _text(by_pair[(dps, pst)][0].get("commune")) or ctx.labels.get(dps) or dps
        mandate = _text(by_pair[(dps, pst)][0].get("mandate"))
        toc.append((f"#suivi-{i}", name + (f" ({mandate})" if mandate else ""), dps, pst))
    hint = ('<p class="hint">Chaque promesse de la déclaration de politique sociale (DPS), dans '
            "l'ordre du texte, avec les actions du plan stratégique transversal (PST) qui la "
            "mettent en œuvre (objectif opérationnel en gris, pilote, échéance, budget) ; une "
            "promesse qu'aucune action ne reprend porte le badge « pas dans le PST ». Le score "
            "(0 à 1) dit la force du lien ; la phrase en petit dit pourquoi. Les liens sont "
            "trouvés automatiquement : vérifiez-les avant de citer un chiffre. Pour corriger, "
            "copiez les lignes de <code>trace.csv</code> à revoir dans "
            "<code>corpus/trace_review.csv</code> avec une colonne <code>decision</code> "
            "(« lien », « pas un lien », « pas dans le PST ») et relancez l'analyse : les "
            "liens relus portent le badge « confirmé », « ajouté », « relu » ou « lien retiré ».</p>")
    return head + hint + "".join(blocks) + "</section>", _toc(toc)


# --------------------------------------------------------------------------- « D'une législature à l'autre »


def _version_table(rows: list[dict], ctx: Context, old: str, new: str,
                   old_head: str, new_head: str) -> str:
    def rank_of(doc: str, uid: str) -> int | None:
        info = ctx.unit(doc, uid)
        return None if info is None else info.rank

    old_rows = _in_order([r for r in rows if _text(r.get("old_unit"))],
                         lambda r: rank_of(old, _text(r["old_unit"])),
                         lambda r: _text(r["old_unit"]))
    new_rows = _in_order([r for r in rows if not _text(r.get("old_unit"))
                          and _text(r.get("new_unit"))],
                         lambda r: rank_of(new, _text(r["new_unit"])),
                         lambda r: _text(r["new_unit"]))
    body = []
    for r in old_rows + new_rows:
        status = _text(r.get("status"))
        cls, label, _ = VERSION_LABELS.get(status, ("v-other", status, status))
        ev = _text(r.get("evidence"))
        ev_html = f'<div class="evidence">{esc(ev)}</div>' if ev else ""
        old_text, new_text = _text(r.get("old_text")), _text(r.get("new_text"))
        old_cell = (f'{esc(old_text)}<span class="p-id">{esc(_text(r.get("old_unit")))}</span>'
                    if old_text or _text(r.get("old_unit")) else '<span class="muted">—</span>')
        new_cell = (f'{esc(new_text)}<span class="p-id">{esc(_text(r.get("new_unit")))}</span>'
                    if new_text or _text(r.get("new_unit")) else '<span class="muted">—</span>')
        score = _score(r.get("score"))
        body.append(
            f'<tr class="row-{esc(status)}"><td data-label="{esc(old_head)}">{old_cell}</td>'
            f'<td data-label="{esc(new_head)}">{new_cell}{ev_html}</td>'
            f'<td data-label="Statut"><span class="badge {cls}">{esc(label)}</span></td>'
            f'<td class="num" data-label="Score">{esc(score) or "—"}</td></tr>')
    return ('<div class="table-wrap"><table class="small versions"><thead><tr>'
            f"<th>{esc(old_head)}</th><th>{esc(new_head)}</th><th>Statut</th>"
            '<th class="num" title="force du lien entre les deux promesses (0 à 1) ; pour une '
            'promesse abandonnée, celle de la plus proche, sous le seuil">Score</th></tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def _version_themes(rows: list[dict], themes: Mapping[str, ThemeInfo],
                    old_head: str, new_head: str) -> str:
    order = {t: i for i, t in enumerate(themes)}
    rows = [r for r in rows if (_num(r.get("share_old")) or 0) or (_num(r.get("share_new")) or 0)]
    if not rows:
        return ""
    rows.sort(key=lambda r: (order.get(_text(r.get("theme")), len(order)), _text(r.get("theme"))))
    top = max(max(_num(r.get("share_old")) or 0, _num(r.get("share_new")) or 0) for r in rows)
    body = []
    for r in rows:
        a, b = _num(r.get("share_old")) or 0.0, _num(r.get("share_new")) or 0.0
        change = _num(r.get("change"))
        change = b - a if change is None else change
        pts = f"{100 * change:+.1f}".replace(".", ",").replace("-", "−") + "\u00a0pt"
        cls = "up" if change >= 0.005 else "down" if change <= -0.005 else ""
        bars = (f'<span class="bar a" style="width:{100 * a / top:.1f}%"></span>'
                f'<span class="bar b" style="width:{100 * b / top:.1f}%"></span>') if top else ""
        body.append(f'<tr class="{cls}"><td>{chip(_text(r.get("theme")), themes)}</td>'
                    f'<td class="num">{esc(fmt_pct(a))}</td><td class="num">{esc(fmt_pct(b))}</td>'
                    f'<td class="num chg">{esc(pts)}</td><td class="bars">{bars}</td></tr>')
    return ('<h4 class="trace-h">Thèmes, avant et après</h4><div class="table-wrap">'
            '<table class="small vthemes"><thead><tr><th>Thème</th>'
            f'<th class="num" title="part des unités de contenu">{esc(old_head)}</th>'
            f'<th class="num" title="part des unités de contenu">{esc(new_head)}</th>'
            '<th class="num">Écart</th><th><span class="key a"></span> avant '
            '<span class="key b"></span> après</th></tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def legislatures(tables: Mapping[str, pd.DataFrame], ctx: Context) -> tuple[str, str]:
    """(HTML of the section « D'une législature à l'autre », its entries for the table of
    contents)."""
    rows = [r for r in _rows(tables.get("versions")) if _text(r.get("old_doc"))
            and _text(r.get("new_doc"))]
    head = '<section id="legislatures"><h2>D\'une législature à l\'autre</h2>'
    if not rows:
        return f'{head}<p class="muted empty-state">{esc(NO_VERSIONS)}</p></section>', ""
    by_pair = _by_pair(rows, "old_doc", "new_doc")
    shares = _by_pair(_rows(tables.get("versions_themes")), "old_doc", "new_doc")
    blocks, toc = [], []
    for i, (old, new) in enumerate(_pairs(rows, ("old_doc", "new_doc"), "new_doc", ctx),
                                    start=1):
        sub = by_pair[(old, new)]
        first = sub[0]
        commune = _text(first.get("commune"))
        m_old, m_new = _text(first.get("old_mandate")), _text(first.get("new_mandate"))
        if m_old and m_new and m_old != m_new:
            old_head, new_head = f"Promesse {m_old}", f"Promesse {m_new}"
            th_old, th_new = m_old, m_new
        else:
            old_head, new_head, th_old, th_new = ("Ancienne promesse", "Nouvelle promesse",
                                                  "Ancienne", "Nouvelle")
        counts = {k: 0 for k in VERSION_LABELS}
        for r in sub:
            s = _text(r.get("status"))
            counts[s] = counts.get(s, 0) + 1
        badges = " ".join(f'<span class="badge {VERSION_LABELS[k][0]}">{VERSION_LABELS[k][2]} : '
                          f"<b>{fmt_int(counts[k])}</b></span>" for k in VERSION_LABELS)
        n_old = counts["kept"] + counts["reworded"] + counts["dropped"]
        n_new = counts["kept"] + counts["reworded"] + counts["new"]
        base = commune or ctx.labels.get(new) or new
        span = f"{m_old} → {m_new}" if m_old and m_new and m_old != m_new else ""
        blocks.append(
            f'<article class="version-pair" id="legislature-{i}" data-old="{esc(old)}" '
            f'data-new="{esc(new)}"><header><h3>{esc(base)}'
            f'{f" <span class=docid>{esc(span)}</span>" if span else ""}</h3>'
            f'<p class="meta">{ctx.doc_link(old)} → {ctx.doc_link(new)} · '
            f"{fmt_int(n_old)} promesses avant, {fmt_int(n_new)} après</p></header>"
            f'<p class="v-counts">{badges}</p>'
            f"{_version_table(sub, ctx, old, new, old_head, new_head)}"
            f"{_version_themes(shares.get((old, new), []), ctx.themes, th_old, th_new)}"
            "</article>")
        toc.append((f"#legislature-{i}", base + (f" ({span})" if span else ""), old, new))
    hint = ('<p class="hint">Les promesses de deux déclarations d\'un même CPAS, mises en regard : '
            "<b>gardée</b> (presque le même texte), <b>reformulée</b> (le même engagement, "
            "écrit autrement), <b>abandonnée</b> (sans équivalent dans la nouvelle "
            "déclaration ; le score est alors celui de la promesse la plus proche, sous le "
            "seuil), <b>nouvelle</b> (sans équivalent dans l'ancienne). Liens trouvés "
            "automatiquement : à vérifier.</p>")
    return head + hint + "".join(blocks) + "</section>", _toc(toc)


def unit_infos(doc_ids, unit_ids: Mapping[str, list[str]], themes: Mapping[str, list[tuple]],
               positions: Mapping[str, int], max_units: int | None) -> dict:
    """doc_id → unit_id → :class:`UnitInfo` for ``doc_ids``: ``unit_ids[d]`` in reading
    order, ``themes[d]`` the themes of each; ``positions[d]``: the number of the document in
    the tree ids (``u-<n>-<unit_id>``), missing for a document not shown; a unit past
    ``max_units`` is not in the tree (no anchor)."""
    out: dict[str, dict[str, UnitInfo]] = {}
    for d in doc_ids:
        pos = positions.get(d)
        infos: dict[str, UnitInfo] = {}
        for k, (uid, ts) in enumerate(zip(unit_ids.get(d, []), themes.get(d, []), strict=True)):
            shown = pos is not None and (max_units is None or k < max_units)
            infos.setdefault(uid, UnitInfo(k, f"u-{pos}-{uid}" if shown else "", tuple(ts)))
        out[d] = infos
    return out


def doc_ids_of(tables: Mapping[str, pd.DataFrame]) -> list[str]:
    """The declarations the two sections name (trace.dps_doc, versions old_doc/new_doc),
    sorted."""
    found: set[str] = set()
    for name, cols in (("trace", ("dps_doc",)), ("versions", ("old_doc", "new_doc"))):
        df = tables.get(name)
        if df is None or not len(df):
            continue
        for c in cols:
            if c in df.columns:
                found |= {v for v in (_text(x) for x in df[c].tolist()) if v}
    return sorted(found)
