"""Profile page of one CPAS against a peer group: a standalone HTML page (French, A4 print
stylesheet) and its PDF (headless Chromium).

``profile_html(doc_id, result, codebook, peers)`` is pure (a results bundle in, a string out);
``write_profile`` writes ``OUT/profiles/<doc_id>.html`` atomically (and the PDF on request).
The page holds: identity and metadata, the axes, one chart per theme against the peers
(every peer is a dot; from 10 peers a box shows the quartiles; below that, rank and
min/median/max only), the objectives shared with no peer, the distinctive terms, and the
units and words behind each theme claim.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd

from pipeline import io
from pipeline.compare.peers import (
    MIN_PEERS_FOR_DISTRIBUTION,
    PeerGroup,
    ShareTable,
    UnitVectors,
    evidence_index,
    share_table,
    theme_positions,
    unique_objectives,
    unit_vectors,
)
from pipeline.report.html import (
    KIND_LABELS,
    SOURCE_LABELS,
    chip,
    esc,
    fmt_int,
    fmt_pct,
    profile_name,
    theme_css,
    theme_infos,
)

#: documents columns not shown in the identity block (technical)
HIDDEN_COLUMNS = ("sha256", "status", "error", "doc_id")
METADATA_LABELS = {
    "source_file": "fichier", "format": "format", "doc_kind": "type de document",
    "commune": "commune", "legislature": "législature (telle qu'écrite)", "mandate": "mandature",
    "adopted_on": "adoptée le", "president": "présidence", "n_pages": "pages",
    "n_words": "mots", "province": "province", "source": "source", "notes": "notes",
}
CHART_W, CHART_H = 260, 26

CSS = """
:root { font-family: system-ui, "Segoe UI", Roboto, "Noto Sans", "Liberation Sans", Arial,
  sans-serif; font-size: 14px; line-height: 1.45; color: #1f2933; }
body { margin: 0 auto; max-width: 980px; padding: 1rem 1.2rem 2rem; }
h1 { font-size: 1.5rem; margin: .2rem 0; } h2 { font-size: 1.15rem; margin: 1.4rem 0 .5rem;
  border-bottom: 2px solid #d9dee5; padding-bottom: .2rem; }
.muted { color: #616e7c; } .small { font-size: .85rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: .25rem .4rem;
  border-bottom: 1px solid #e4e7eb; }
th { background: #f3f5f8; font-weight: 600; }
td.num, th.num { text-align: right; white-space: nowrap; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: 0; }
dl.meta dt { color: #616e7c; } dl.meta dd { margin: 0; }
.chip { display: inline-block; border-radius: 6px; padding: 0 .5rem; font-size: .8rem;
  background: var(--c, #9e9e9e); color: var(--fg, #111); }
table.themes { table-layout: fixed; } table.themes col.c-theme { width: 24%; }
table.themes col.c-share { width: 14%; } table.themes col.c-chart { width: 270px; }
svg.strip { display: block; }
.claim { margin: .3rem 0 .6rem; } .claim q { quotes: "« " " »"; }
.ev { font-size: .85rem; color: #3e4c59; } .ev b { background: #fff3bf; font-weight: 600; }
.warn { background: #fff8e6; border-left: 4px solid #e0a800; padding: .4rem .7rem; }
nav.peers a { margin-right: .4rem; }
@media (max-width: 640px) { body { padding: .5rem; } svg.strip { width: 100%; height: auto; }
  table { font-size: .85rem; } th.hide-narrow, td.hide-narrow { display: none; } }
@page { size: A4; margin: 14mm 12mm 16mm; }
@media print {
  :root { font-size: 10.5pt; } body { max-width: none; padding: 0; }
  a { color: inherit; text-decoration: none; }
  h2 { break-after: avoid; } tr, .claim, figure { break-inside: avoid; }
  thead { display: table-header-group; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def strip_chart(own: float, peers: Iterable[float], color: str, q1=None, median=None,
                q3=None, scale_max: float | None = None) -> str:
    """Inline SVG: the peers' shares as grey dots on a 0 → max line (peers at the same place
    share one dot, darker the more they are), the document's share as a larger dot in the theme
    colour; with quartiles (``q1``/``q3`` not NaN) a grey box and the median. Pure; the same
    values give the same string."""
    peers = sorted(float(p) for p in peers)
    top = scale_max or max([own, *peers, 0.05])
    top = top * 1.08
    x0, x1, y = 8, CHART_W - 44, CHART_H / 2

    def x(v: float) -> float:
        return round(x0 + (x1 - x0) * (v / top), 1)

    parts = [f'<svg class="strip" width="{CHART_W}" height="{CHART_H}" '
             f'viewBox="0 0 {CHART_W} {CHART_H}" role="img" aria-label="part {fmt_pct(own)} ; '
             + (f"{len(peers)} pairs de {fmt_pct(peers[0])} à {fmt_pct(peers[-1])}"
                if peers else "aucun pair") + '">',
             f'<line x1="{x0}" y1="{y}" x2="{x1}" y2="{y}" stroke="#c3cad3" stroke-width="1"/>']
    if q1 is not None and q3 is not None and q1 == q1 and q3 == q3:
        parts.append(f'<rect x="{x(q1)}" y="{y - 6}" width="{max(x(q3) - x(q1), 1)}" '
                     'height="12" fill="#e4e7eb" stroke="#9aa5b1"/>')
        if median is not None and median == median:
            parts.append(f'<line x1="{x(median)}" y1="{y - 7}" x2="{x(median)}" y2="{y + 7}" '
                         'stroke="#52606d" stroke-width="2"/>')
    xs, counts = np.unique(np.round(x0 + (x1 - x0) * (np.asarray(peers, dtype=float) / top), 1),
                           return_counts=True)
    for cx, count in zip(xs.tolist(), counts.tolist(), strict=True):
        parts.append(f'<circle cx="{cx}" cy="{y}" r="3.2" fill="#7b8794" '
                     f'fill-opacity="{min(0.4 + 0.15 * (count - 1), 0.95):.2f}"/>')
    parts.append(f'<circle cx="{x(own)}" cy="{y}" r="6" fill="{esc(color)}" stroke="#111" '
                 'stroke-width="1.3"/>')
    parts.append(f'<text x="{x1 + 6}" y="{y + 4}" font-size="10" fill="#616e7c">'
                 f"{esc(fmt_pct(top / 1.08))}</text></svg>")
    return "".join(parts)


def _position_text(r: Mapping) -> str:
    n = int(r["n_peers"])
    if n == 0:
        return "aucun pair dans le groupe"
    text = (f"rang {r['rank']}/{r['n_ranked']} · pairs : min {fmt_pct(r['peers_min'])}, "
            f"méd. {fmt_pct(r['peers_median'])}, max {fmt_pct(r['peers_max'])} · "
            f"traité par {r['peers_present']}/{n}")
    if n >= MIN_PEERS_FOR_DISTRIBUTION:
        text += (f" · quartiles {fmt_pct(r['peers_q1'])}–{fmt_pct(r['peers_q3'])}, "
                 f"centile {r['percentile']:.0f}")
    return text


def _identity(doc: Mapping, label: str) -> str:
    rows = []
    for k, v in doc.items():
        if k in HIDDEN_COLUMNS or v is None or (isinstance(v, float) and v != v) or str(v) == "":
            continue
        rows.append(f"<dt>{esc(METADATA_LABELS.get(k, k))}</dt><dd>{esc(v)}</dd>")
    return f'<dl class="meta">{"".join(rows)}</dl>'


def _axes(axis_themes: pd.DataFrame | None, doc_id: str, themes: Mapping) -> str:
    if axis_themes is None or not len(axis_themes):
        return '<p class="muted">aucun axe repéré (texte sans axes numérotés ou titrés)</p>'
    sub = axis_themes[axis_themes["doc_id"].astype(str) == doc_id]
    if not len(sub):
        return '<p class="muted">aucun axe repéré (texte sans axes numérotés ou titrés)</p>'
    rows = []
    for r in sub.to_dict("records"):
        top = themes.get(str(r.get("top_theme", "")))
        rows.append(f"<tr><td>{esc(r.get('axis_label', ''))}</td>"
                    f"<td>{esc(r.get('axis_text', ''))}</td>"
                    f'<td class="num">{fmt_int(r.get("n_units", ""))}</td>'
                    f"<td>{chip(top.id, themes) if top else ''} <span class=small>"
                    f"{esc(r.get('dominant_themes', ''))}</span></td></tr>")
    return ("<table><thead><tr><th>N°</th><th>Axe</th><th class=num>Unités</th>"
            f"<th>Thèmes dominants</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _highlight(text: str, evidence: str) -> str:
    """``text`` escaped, the evidence words (``;``-joined, ``contexte:`` ones skipped) in bold."""
    words = sorted({w.strip() for w in str(evidence).split(";")
                    if w.strip() and not w.strip().startswith("contexte:")}, key=len, reverse=True)
    low, spans, out, i = text.lower(), [], [], 0
    for w in words:
        j = low.find(w.lower())
        if j >= 0 and not any(a < j + len(w) and j < b for a, b in spans):
            spans.append((j, j + len(w)))
    for a, b in sorted(spans):
        out += [esc(text[i:a]), f"<b>{esc(text[a:b])}</b>"]
        i = b
    out.append(esc(text[i:]))
    return "".join(out)


@dataclass
class ProfileContext:
    """The work shared by the profiles of one corpus (built once by :func:`profile_context`):
    the doc × theme share table and the TF-IDF vectors of the content units."""

    shares: ShareTable
    vectors: UnitVectors
    evidence: dict[str, list[dict]]
    docs: dict[str, dict]
    axes: dict[str, pd.DataFrame]
    terms: dict[str, pd.DataFrame]


def _by_doc(df: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    if df is None or not len(df):
        return {}
    return {str(d): g for d, g in df.groupby(df["doc_id"].astype(str), sort=False)}


def profile_context(result, codebook) -> ProfileContext:
    """The work shared by the profiles of ``result`` (one pass over each table)."""
    tm = result.tables.get("theme_matrix")
    if tm is None or not len(tm):
        tm = pd.DataFrame(columns=["doc_id", "theme", "share_units", "n_units"])
    docs = {str(r["doc_id"]): r for r in result.documents.to_dict("records")}
    return ProfileContext(share_table(tm, list(theme_infos(codebook))),
                          unit_vectors(result.units, result.nlp),
                          evidence_index(result.units, result.unit_themes), docs,
                          _by_doc(result.tables.get("axis_themes")),
                          _by_doc(result.tables.get("distinctive_terms")))



def _themes_section(pos: list[dict], themes: Mapping, n_peers: int) -> str:
    """The table of the themes against the peers: chip, share, strip chart, position."""
    scale = max([0.05, *(r["share_units"] for r in pos),
                 *(max(r["peer_shares"]) for r in pos if r["peer_shares"])])
    rows = []
    for r in pos:
        t = themes[r["theme"]]
        chart = strip_chart(r["share_units"], r["peer_shares"], t.color, r["peers_q1"],
                            r["peers_median"], r["peers_q3"], scale)
        rows.append(f'<tr><td>{chip(t.id, themes)}</td><td class="num">{fmt_pct(r["share_units"])}<br>'
                    f'<span class="small muted">{fmt_int(r["n_units"])} unité(s)</span></td>'
                    f'<td>{chart}</td><td class="small hide-narrow">{esc(_position_text(r))}'
                    "</td></tr>")
    rule = (f"Avec {n_peers} pair(s), chaque pair est un point gris ; la déclaration est le "
            "grand point coloré. " + (
                "Moins de 10 pairs : rang et minimum / médiane / maximum seulement (pas de "
                "centile ni d'écart-type sur si peu de valeurs)."
                if n_peers < MIN_PEERS_FOR_DISTRIBUTION else
                "La boîte grise va du premier au troisième quartile des pairs, le trait est la "
                "médiane."))
    return (f"<p class=small>{esc(rule)} Part des unités = part des unités de contenu qui "
            "portent le thème.</p><table class=themes><colgroup><col class=c-theme>"
            "<col class=c-share><col class=c-chart><col></colgroup><thead><tr><th>Thème</th>"
            "<th class=num>Part des<br>unités</th><th>Face aux pairs</th>"
            "<th class=hide-narrow>Position</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _unique_section(uniq: pd.DataFrame, n_peers: int, labels: Mapping[str, str],
                    shown: int = 25) -> str:
    """The objectives that no peer shares (the first ``shown``) with the nearest peer unit."""
    if n_peers == 0:
        return '<p class="muted">aucun pair : rien à comparer</p>'
    if not len(uniq):
        return '<p class="muted">chaque objectif a un équivalent proche chez un pair</p>'
    items = []
    for r in uniq.head(shown).to_dict("records"):
        near = (f'<br><span class="small muted">le plus proche '
                f"({esc(labels.get(r['nearest_doc'], r['nearest_doc']))}, cosinus "
                f"{r['best_cosine']:.2f}) : {esc(str(r['nearest_text'])[:160])}</span>"
                if r["nearest_doc"] else "")
        items.append(f"<li>{esc(r['label'])} {esc(r['text'])}{near}</li>")
    more = (f'<p class="small muted">… et {len(uniq) - shown} de plus.</p>'
            if len(uniq) > shown else "")
    return (f"<p class=small>Objectifs, actions et énoncés dont aucune unité d'un pair "
            f"n'approche le vocabulaire (cosinus TF-IDF des lemmes &lt; 0,25) : "
            f"{len(uniq)}.</p><ul>{''.join(items)}</ul>{more}")


def _terms_section(terms: list[dict]) -> str:
    """The distinctive terms (rows of distinctive_terms) as a table."""
    if not terms:
        return '<p class="muted">aucun</p>'
    rows = "".join(f"<tr><td>{esc(r['term'])}</td><td class=num>{fmt_int(r['count_doc'])}"
                   f"</td><td class=num>{r['per_10k_doc']:.0f}</td><td class=num>"
                   f"{r['per_10k_rest']:.0f}</td><td class=num>{r['log_likelihood']:.1f}"
                   "</td></tr>" for r in terms)
    return ("<p class=small>Termes les plus sur-représentés par rapport à toutes les autres "
            "déclarations du corpus (G² de Dunning).</p><table><thead><tr><th>Terme</th>"
            "<th class=num>Occurrences</th><th class=num>Pour 10 000 mots</th>"
            f"<th class=num>Ailleurs</th><th class=num>G²</th></tr></thead><tbody>{rows}"
            "</tbody></table>")


def _claims_section(pos: list[dict], evidence: list[dict], themes: Mapping,
                    per_theme: int = 3) -> str:
    """Each theme present, largest share first, with its best-scored units and the words that
    decided (``evidence``: the document's rows of ``evidence_index``)."""
    by_theme: dict[str, list[dict]] = {}
    for e in evidence:
        by_theme.setdefault(e["theme"], []).append(e)
    claims = []
    for r in sorted((r for r in pos if r["present"]), key=lambda r: -r["share_units"]):
        items = "".join(
            f"<li>{_highlight(str(e['text']), e['evidence'])} <span class='small muted'>"
            f"({esc(KIND_LABELS.get(e['kind'], e['kind']))}, score {e['score']:.2f}, "
            f"{esc(', '.join(SOURCE_LABELS.get(s, s) for s in str(e['sources']).split(';') if s))})"
            "</span></li>" for e in by_theme.get(r["theme"], [])[:per_theme])
        claims.append(f'<div class="claim">{chip(r["theme"], themes)} '
                      f"{fmt_pct(r['share_units'])} des unités ({fmt_int(r['n_units'])}) ; "
                      f'{esc(_position_text(r))}<ul class="ev">{items}</ul></div>')
    return "".join(claims) or '<p class="muted">aucun thème</p>'


def profile_html(doc_id: str, result, codebook, peers: PeerGroup,
                 links: Mapping[str, str] | None = None,
                 context: ProfileContext | None = None) -> str:
    """The profile page of ``doc_id`` (HTML string). ``result``: a RunResult (``documents``,
    ``units``, ``unit_themes``, ``nlp``, ``tables``; ``pipeline.load_results``); ``peers``: from
    :func:`pipeline.compare.peers.peer_group`; ``links``: doc_id → href of the peers' pages;
    ``context``: :func:`profile_context` of ``result`` when writing many profiles."""
    context = context or profile_context(result, codebook)
    doc = context.docs.get(doc_id)
    if doc is None:
        raise ValueError(f"déclaration inconnue : {doc_id}")
    label = str(doc.get("commune") or "") or doc_id
    themes = theme_infos(codebook)  # Theme objects or codebook.toml dicts
    labels = {d: (str(r.get("commune")) if r.get("commune") == r.get("commune")
                  and str(r.get("commune") or "") else d) for d, r in context.docs.items()}
    links = links or {}
    tm = result.tables.get("theme_matrix")
    pos = theme_positions(tm if tm is not None else pd.DataFrame(
        columns=["doc_id", "theme", "share_units", "n_units"]), doc_id, peers.doc_ids,
        list(themes.values()), context.shares).to_dict("records")
    n_peers = len(peers.doc_ids)
    theme_table = _themes_section(pos, themes, n_peers)
    uniq_html = _unique_section(unique_objectives(result.units, result.nlp, doc_id,
                                                  peers.doc_ids, vectors=context.vectors),
                                n_peers, labels)
    terms = context.terms.get(doc_id)
    terms_html = _terms_section([] if terms is None else terms.head(15).to_dict("records"))
    claims_html = _claims_section(pos, context.evidence.get(doc_id, []), themes)

    peer_links = ", ".join(
        f'<a href="{esc(links[p])}">{esc(labels.get(p, p))}</a>' if p in links
        else esc(labels.get(p, p)) for p in peers.doc_ids) or "aucun"
    few = (f'<p class="warn">Groupe de {n_peers} pair(s) seulement : les positions sont des rangs, '
           "pas des statistiques.</p>" if 0 < n_peers < MIN_PEERS_FOR_DISTRIBUTION else "")
    title = f"Profil de {label}" + (f" ({doc_id})" if label != doc_id else "")
    return (
        "<!DOCTYPE html><html lang=fr><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} — cpas-compare</title><style>{CSS}{theme_css(themes)}</style></head><body>"
        f"<header><p class='small muted'>cpas-compare · profil d'une déclaration de politique "
        f"sociale</p><h1>{esc(title)}</h1></header>"
        f"<h2>Identité</h2>{_identity(doc, label)}"
        f"<h2>Groupe de comparaison</h2><p>{esc(peers.description)} : {n_peers} "
        f"déclaration(s).</p><nav class='peers small'>{peer_links}</nav>{few}"
        f"<h2>Axes</h2>{_axes(context.axes.get(doc_id), doc_id, themes)}"
        f"<h2>Thèmes face aux pairs</h2>{theme_table}"
        f"<h2>Ce qu'aucun pair ne partage</h2>{uniq_html}"
        f"<h2>Termes distinctifs</h2>{terms_html}"
        f"<h2>Preuves : les unités derrière chaque thème</h2><p class=small>Pour chaque thème "
        f"présent, ses unités les plus sûres ; en gras, les mots qui ont décidé.</p>{claims_html}"
        "<footer class='small muted'><p>Thèmes attribués automatiquement (score calibré, sources "
        "et indices ci-dessus), sauf les unités annotées à la main (source « annotation "
        "humaine »). Vérifiez les preuves avant de citer un chiffre.</p></footer>"
        "</body></html>")


def chromium_path() -> str | None:
    """The headless browser used to print PDFs (CPAS_CHROMIUM, else chromium on PATH)."""
    for name in (os.environ.get("CPAS_CHROMIUM"), "chromium", "chromium-browser",
                 "google-chrome", "google-chrome-stable"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


class PdfUnavailable(RuntimeError):
    """No headless Chromium to print the PDF (the message says how to install one)."""


def html_to_pdf(html_path: Path, pdf_path: Path, timeout: float = 120) -> Path:
    """Print ``html_path`` to ``pdf_path`` (A4, the page's print stylesheet) with headless
    Chromium, atomically. Raises PdfUnavailable when Chromium is missing or fails."""
    exe = chromium_path()
    if exe is None:
        raise PdfUnavailable("pas de navigateur Chromium pour écrire le PDF : installez-le "
                             "(Debian/Ubuntu : sudo apt-get install chromium) ou indiquez son "
                             "chemin dans CPAS_CHROMIUM ; la page HTML est écrite, elle "
                             "s'imprime aussi depuis un navigateur")

    def write(tmp: Path) -> None:
        with tempfile.TemporaryDirectory(prefix="cpas-chromium-") as profile:
            cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update",
                   "--disable-sync", "--no-pdf-header-footer", f"--user-data-dir={profile}",
                   f"--print-to-pdf={tmp}", Path(html_path).resolve().as_uri()]
            try:
                proc = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise PdfUnavailable(f"Chromium n'a pas pu écrire le PDF ({exc})") from exc
            if proc.returncode != 0 or not tmp.is_file() or tmp.stat().st_size == 0:
                raise PdfUnavailable("Chromium n'a pas pu écrire le PDF (code "
                                     f"{proc.returncode}) : "
                                     f"{proc.stderr.decode(errors='replace')[-300:]}")

    return io.atomic_write(Path(pdf_path), write)


def write_profile(out: Path, doc_id: str, result, codebook, peers: PeerGroup,
                  spec: str | None = None, context: ProfileContext | None = None) -> Path:
    """Write ``out/profiles/<name>.html``; return its path (:func:`html_to_pdf` prints it)."""
    folder = Path(out) / "profiles"
    links = {p: quote(profile_name(p)) for p in peers.doc_ids}
    return Path(io.write_text(folder / profile_name(doc_id, spec),
                              profile_html(doc_id, result, codebook, peers, links, context)))


def write_all_profiles(out: Path, result, codebook) -> list[str]:
    """``profiles/<doc_id>.html`` of every document read, each against all the others (the
    main report links to them); returns the paths written, relative to ``out``."""
    from pipeline.compare.peers import peer_group

    context = profile_context(result, codebook)
    ok = result.documents
    if "status" in ok.columns:
        ok = ok[ok["status"].astype(str) == "ok"]
    written = []
    for d in sorted(ok["doc_id"].astype(str)):
        write_profile(out, d, result, codebook, peer_group(result.documents, d), context=context)
        written.append(f"profiles/{profile_name(d)}")
    return written
