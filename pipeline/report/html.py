"""The self-contained HTML report (one file, inline CSS/JS/figures, French, opens offline).

``render_html(...)`` is pure: DataFrames + codebook + figure bytes in, an HTML string out.
``build_report(...)`` renders the figures, writes ``figures/*.png`` and ``report.html``
atomically and returns the path of ``report.html``.

Every piece of text coming from a declaration or a table is escaped with ``html.escape``;
data for the interactive table is embedded as JSON in a ``<script type="application/json">``
block with ``<``, ``>`` and ``&`` escaped, so that no text can close the script element.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from urllib.parse import quote

import pandas as pd

from pipeline import io
from pipeline.compare.benchmark import MIN_PEERS_FOR_STATS
from pipeline.escape import html_text
from pipeline.models import NON_CONTENT_KINDS
from pipeline.report.figures import FIGURE_FILES, render_figures, theme_order

ASSETS = Path(__file__).resolve().parent

KIND_LABELS = {
    "title": "titre",
    "preamble": "préambule",
    "signature": "signature",
    "navigation": "navigation",
    "context": "contexte",
    "section": "section",
    "axis": "axe",
    "group": "groupe",
    "objective": "objectif",
    "action": "action",
    "statement": "énoncé",
    "detail": "détail du plan",
}
KIND_PLURALS = {
    "axis": "axes", "group": "groupes", "objective": "objectifs", "action": "actions",
    "statement": "énoncés", "section": "sections",
}
SOURCE_LABELS = {"vocabulary": "vocabulaire", "model": "modèle", "context": "contexte",
                 "human": "annotation humaine"}
FORMAT_LABELS = {"txt": "texte", "md": "Markdown", "pdf": "PDF", "pdf-ocr": "PDF scanné (OCR)",
                 "docx": "Word", "html": "page web"}

#: French headers of the columns that benchmark tables and other small tables may carry.
COLUMN_LABELS = {
    "theme": "thème", "theme_label": "thème", "commune_label": "commune", "doc_id": "déclaration",
    "commune": "commune", "share_units": "part des unités", "share_words": "part des mots",
    "n_units": "unités", "n_docs": "déclarations", "present": "présent",
    "peer_share": "part des pairs", "peer_share_present": "pairs qui le couvrent",
    "share_peers": "pairs qui le couvrent", "peers_present": "pairs qui le couvrent",
    "corpus_mean": "moyenne du corpus", "corpus_median": "médiane du corpus", "mean": "moyenne",
    "median": "médiane", "z_score": "écart (z)", "zscore": "écart (z)", "z": "écart (z)",
    "percentile": "centile", "difference": "écart", "diff": "écart", "delta": "écart",
    "cosine_lemmas": "vocabulaire (cos.)", "cosine_themes": "thèmes (cos.)",
    "similarity": "similarité", "score": "score", "term": "terme", "count_doc": "occurrences",
    "count_rest": "ailleurs", "per_10k_doc": "pour 10 000 mots", "per_10k_rest":
    "ailleurs pour 10 000", "log_likelihood": "G²", "rank": "rang",
}
#: Section titles of benchmark parts, matched on words of the field name (first match wins).
BENCH_TITLES = (
    (("near", "closest", "proches", "similar"), "Les 3 déclarations les plus proches"),
    (("distinct", "terms", "termes", "keyword"), "Termes distinctifs"),
    (("missing", "absent", "lack", "not_here", "peers_only", "uncovered", "not_covered",
      "gaps", "manque"), "Thèmes couverts par la plupart des pairs, absents ici"),
    (("only", "unique", "extra", "here_only", "not_peers", "rare", "covers"),
     "Thèmes couverts ici, rares chez les pairs"),
    (("emphasis", "profile", "accent", "weight", "shares"), "Accent par thème (comparé au corpus)"),
)
BENCH_ROW_LIMIT = 12
NBSP = "\u00a0"
NNBSP = "\u202f"


# --------------------------------------------------------------------------- small helpers


def esc(value) -> str:
    """HTML-escaped text of ``value`` ("" for None/NaN)."""
    if value.__class__ is str:
        return html_text(value)
    return html_text(_s(value))


def profile_name(doc_id: str, spec: str | None = None) -> str:
    """File name (in ``profiles/``) of the profile page of ``doc_id``: ``<doc_id>.html`` against
    all peers, ``<doc_id>--<slug of spec>.html`` against the group ``spec`` (``/`` of a
    sub-folder doc_id becomes ``__``)."""
    base = str(doc_id).replace("/", "__")
    if not spec:
        return f"{base}.html"
    slug = unicodedata.normalize("NFKD", spec).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", slug).strip("-")[:60]
    return f"{base}--{slug}.html"


def _plain(df: pd.DataFrame | None) -> pd.DataFrame | None:
    """``df`` without its ``attrs`` (same data, not copied): pandas deep-copies ``attrs`` on
    every column access, and classify stores large lists there."""
    if df is not None and isinstance(df, pd.DataFrame) and df.attrs:
        return pd.DataFrame(df)
    return df


def _records(df: pd.DataFrame) -> list[dict]:
    """``df.to_dict("records")`` built from whole columns (much faster on Arrow strings)."""
    cols = [str(c) for c in df.columns]
    lists = [df.iloc[:, i].tolist() for i in range(len(cols))]
    return [dict(zip(cols, row, strict=True)) for row in zip(*lists, strict=True)]


_s = io.cell_text  # a cell as text, "" when missing


def _texts(column: pd.Series) -> list[str]:
    """``io.cell_text`` of every cell of ``column`` ("" when missing), from one ``tolist``."""
    values = column.tolist()
    if column.dtype == object:  # any Python object: cell by cell
        return _texts_of(values)
    # scalars of one type (str, numbers, dates): missing ones found in one pass
    return ["" if missing else v if v.__class__ is str else str(v)
            for v, missing in zip(values, column.isna().tolist(), strict=True)]


def _texts_of(values: list) -> list[str]:
    """``io.cell_text`` of every value."""
    return [v if v.__class__ is str else _s(v) for v in values]


def _attr(obj, name: str, default=""):
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def fmt_int(value) -> str:
    """1150 → "1 150" (French thousands separator); "" for missing."""
    s = _s(value)
    if not s:
        return ""
    try:
        return f"{int(float(s)):,}".replace(",", NNBSP)
    except ValueError:
        return s


def fmt_pct(value, decimals: int = 0) -> str:
    """0.5714 → "57 %"."""
    try:
        return f"{100 * float(value):.{decimals}f}".replace(".", ",") + f"{NBSP}%"
    except (TypeError, ValueError):
        return _s(value)


def fmt_float(value, decimals: int = 2) -> str:
    """0.345 → "0,35" (French decimal comma)."""
    try:
        return f"{float(value):.{decimals}f}".replace(".", ",")
    except (TypeError, ValueError):
        return _s(value)


def fmt_date(value) -> str:
    """ISO "2019-05-27" → "27/05/2019"; other strings unchanged; "" → "—"."""
    s = _s(value).strip()
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", s)
    if m:
        return f"{m.group(3)}/{m.group(2)}/{m.group(1)}"
    return s or "—"


def text_color(background: str) -> str:
    """Black or white, whichever reads better on ``background`` (#rrggbb)."""
    m = re.fullmatch(r"#?([0-9a-fA-F]{6})", background.strip())
    if not m:
        return "#111111"
    r, g, b = (int(m.group(1)[i:i + 2], 16) / 255 for i in (0, 2, 4))

    def lin(c):
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    lum = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
    return "#111111" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "#ffffff"


def fold(text: str) -> str:
    """Lower-cased text without accents (what the search box compares)."""
    decomposed = unicodedata.normalize("NFD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _json_script(obj) -> str:
    """JSON safe to embed inside a <script> element."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


# --------------------------------------------------------------------------- model of the page


@dataclasses.dataclass
class ThemeInfo:
    id: str
    label: str
    color: str
    fg: str
    definition: str = ""


def theme_infos(codebook: Iterable, theme_matrix: pd.DataFrame | None = None) -> dict[str, ThemeInfo]:
    """theme id → ThemeInfo (codebook order, then themes only seen in the data, in grey)."""
    by_id = {str(_attr(t, "id")): t for t in codebook or []}
    out: dict[str, ThemeInfo] = {}
    for tid, label in theme_order(codebook, theme_matrix):
        t = by_id.get(tid)
        color = _s(_attr(t, "color")) if t is not None else ""
        color = color if re.fullmatch(r"#[0-9a-fA-F]{6}", color) else "#9e9e9e"
        out[tid] = ThemeInfo(tid, label, color, text_color(color),
                             _s(_attr(t, "definition")) if t is not None else "")
    return out


def doc_labels(documents: pd.DataFrame, tables: Mapping[str, pd.DataFrame]) -> dict[str, str]:
    """doc_id → display label: commune_label of the tables, else commune, else doc_id.

    Two documents with the same label get their legislature (or doc_id) appended.
    """
    labels: dict[str, str] = {}
    for name in ("theme_matrix", "structure"):
        df = tables.get(name)
        if df is not None and len(df) and "commune_label" in df:
            for d, lab in zip(df["doc_id"].tolist(), _texts(df["commune_label"]), strict=True):
                if lab:
                    labels.setdefault(str(d), lab)
    doc_recs = _records(documents)
    for row in doc_recs:
        d = str(row["doc_id"])
        if d not in labels:
            labels[d] = _s(row.get("commune")) or d
    counts: dict[str, int] = {}
    for lab in labels.values():
        counts[lab] = counts.get(lab, 0) + 1
    legis = {str(r["doc_id"]): _s(r.get("legislature")) or _s(r.get("mandate"))
             for r in doc_recs}
    out = {}
    for d, lab in labels.items():
        if counts[lab] > 1 and lab != d:
            extra = legis.get(d) or d
            out[d] = f"{lab} ({extra})"
        else:
            out[d] = lab
    # still ambiguous (same commune, same legislature): fall back to the doc_id
    seen: dict[str, int] = {}
    for lab in out.values():
        seen[lab] = seen.get(lab, 0) + 1
    return {d: (f"{lab} [{d}]" if seen[lab] > 1 and lab != d else lab) for d, lab in out.items()}


def natural_key(text: str) -> tuple:
    """Sort key: accents and case ignored, numbers by value ("Commune 2" < "Commune 10")."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p)
                 for p in re.findall(r"\d+|\D+", fold(text)))


def _ordered_docs(documents: pd.DataFrame, labels: Mapping[str, str]) -> list[str]:
    """doc_ids: documents in error last, others by label (natural order), then id."""
    ids = documents["doc_id"].astype(str).tolist()
    status = dict(zip(ids, documents["status"].astype(str).tolist(), strict=True))
    ids = list(dict.fromkeys(ids))
    return sorted(ids, key=lambda d: (status.get(d) != "ok", natural_key(labels.get(d, d)), d))


def _score_html(score) -> str:
    """ "score 0,81" ("" when missing), HTML-escaped."""
    if score.__class__ is float:  # the usual case: same as below, quicker (nothing to escape)
        return f"score {score:.2f}".replace(".", ",") if score == score else ""
    return esc(f"score {fmt_float(score)}") if _s(score) else ""


def _tooltips(unit_themes: pd.DataFrame | None) -> dict[tuple[str, str, str], str]:
    """(doc_id, unit_id, theme) → "score 0,81 · vocabulaire, modèle · indices : …",
    HTML-escaped (for the ``title`` of a chip)."""
    if unit_themes is None or not len(unit_themes):
        return {}
    unit_themes = _plain(unit_themes)
    n = len(unit_themes)

    def col(name):
        return unit_themes[name].tolist() if name in unit_themes else [""] * n

    def keys(name):
        return [v if v.__class__ is str else str(v) for v in col(name)]

    tails: dict[tuple, str] = {}  # (sources, evidence) → their text; the same ones come back

    def tail(sources, evidence) -> str:
        parts = [", ".join(SOURCE_LABELS.get(x, x) for x in _s(sources).split(";") if x)]
        words = [x.strip() for x in _s(evidence).split(";") if x.strip()]
        parts.append("indices : " + ", ".join(words) if words else "")
        text = tails[(sources, evidence)] = esc(" · ".join(p for p in parts if p))
        return text

    rests = [tails.get(pair) or tail(*pair)
             for pair in zip(_texts_of(col("sources")), _texts_of(col("evidence")), strict=True)]
    tips = [f"{head} · {rest}" if head and rest else head or rest
            for head, rest in zip(map(_score_html, col("score")), rests, strict=True)]
    return dict(zip(zip(keys("doc_id"), keys("unit_id"), keys("theme"), strict=True), tips,
                    strict=True))


def chip(theme_id: str, themes: Mapping[str, ThemeInfo], title: str = "", suffix: str = "") -> str:
    """One theme chip (codebook colour, readable text colour, tooltip in ``title``)."""
    info = themes.get(theme_id) or ThemeInfo(theme_id, theme_id, "#9e9e9e", "#111111")
    tip = title or info.definition or info.label
    text = esc(info.label) + (f" <b>{esc(suffix)}</b>" if suffix else "")
    return f'<span class="chip" data-theme="{esc(info.id)}" title="{esc(tip)}">{text}</span>'


def _chip_maker(themes: Mapping[str, ThemeInfo]):
    """``chip`` for the many chips of the trees: the escaped id/label of each theme are
    computed once. Returns f(theme_id, title_html) → HTML, the output of ``chip`` for the
    title that escapes to ``title_html``."""
    heads: dict[str, tuple[str, str, str]] = {}

    def make(theme_id: str, title_html: str = "") -> str:
        h = heads.get(theme_id)
        if h is None:
            info = themes.get(theme_id) or ThemeInfo(theme_id, theme_id, "#9e9e9e", "#111111")
            h = heads[theme_id] = (f'<span class="chip" data-theme="{esc(info.id)}" title="',
                                   esc(info.definition or info.label), f'">{esc(info.label)}</span>')
        return f"{h[0]}{title_html or h[1]}{h[2]}"

    return make


def _css_string(value: str) -> str:
    """``value`` as a double-quoted CSS string that cannot end the <style> element."""
    out = value.replace("\\", "\\5c ").replace('"', "\\22 ").replace("<", "\\3c ")
    return f'"{out}"'


def theme_css(themes: Mapping[str, ThemeInfo]) -> str:
    """CSS rules giving every chip of a theme its codebook colour and a readable text colour."""
    return "\n".join(f".chip[data-theme={_css_string(t.id)}]{{--c:{t.color};--fg:{t.fg}}}"
                     for t in themes.values())


def _split_themes(value) -> list[str]:
    return [t for t in _s(value).split(";") if t]


# --------------------------------------------------------------------------- sections


def _summary(documents: pd.DataFrame, table: _UnitTable, themes: Mapping[str, ThemeInfo]) -> str:
    ok = documents[documents["status"].astype(str) == "ok"]
    kinds: dict = {}  # kind → number of content units of the analysed documents
    for d in set(ok["doc_id"].astype(str).tolist()):
        for r in table.rows.get(d, ()):
            kinds[table.kind[r]] = kinds.get(table.kind[r], 0) + 1
    n_content = sum(n for k, n in kinds.items() if k not in NON_CONTENT_KINDS)
    n_err = len(documents) - len(ok)
    pl = "s" if len(ok) > 1 else ""  # French: 0 and 1 are singular
    parts = [f"<b>{len(ok)}</b> déclaration{pl} analysée{pl}"]
    if n_err:
        parts[0] += (f" (<a href=\"#documents\">{n_err} fichier{'s' if n_err > 1 else ''} en "
                     "erreur</a>)")
    parts.append(f"<b>{fmt_int(n_content)}</b> unité{'s' if n_content > 1 else ''} de contenu")
    for kind in ("axis", "objective", "action", "statement"):
        n = int(kinds.get(kind, 0))
        parts.append(f"<b>{fmt_int(n)}</b> {KIND_PLURALS[kind] if n > 1 else KIND_LABELS[kind]}")
    parts.append(f"<b>{len(themes)}</b> thèmes")
    return '<p class="summary" id="summary">' + " · ".join(parts) + "</p>"


def _documents_table(documents: pd.DataFrame, order: list[str], labels: Mapping[str, str],
                     anchors: Mapping[str, str]) -> str:
    rows = []
    recs = {str(r["doc_id"]): r for r in documents.to_dict("records")}
    for d in order:
        r = recs[d]
        ok = _s(r.get("status")) == "ok"
        name = esc(labels.get(d, d))
        commune = f'<a href="#{anchors[d]}">{name}</a>' if d in anchors else name
        if ok:
            status = '<span class="ok">analysée</span>'
        else:
            status = (f'<span class="err">erreur</span> <span class="errmsg">'
                      f'{esc(r.get("error")) or "erreur inconnue"}</span>')
        fmt = _s(r.get("format"))
        rows.append(
            f'<tr class="{"" if ok else "row-error"}"><td>{commune}<div class="sub">'
            f'{esc(Path(_s(r.get("source_file"))).name)}</div></td>'
            f'<td>{esc(r.get("legislature")) or esc(r.get("mandate")) or "—"}</td>'
            f'<td>{esc(fmt_date(r.get("adopted_on")))}</td>'
            f'<td>{esc(FORMAT_LABELS.get(fmt, fmt))}</td>'
            f'<td class="num">{esc(fmt_int(r.get("n_pages"))) if _s(r.get("n_pages")) not in ("", "0") else "—"}</td>'
            f'<td class="num">{esc(fmt_int(r.get("n_words")))}</td><td>{status}</td></tr>')
    return ('<div class="table-wrap"><table class="docs" id="documents-table"><thead><tr>'
            "<th>Commune</th><th>Législature</th><th>Adoptée le</th><th>Format</th>"
            '<th class="num">Pages</th><th class="num">Mots</th><th>Statut</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def _figure(name: str, png: bytes | None, alt: str, caption: str) -> str:
    if not png:
        return ""
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure class="fig" id="fig-{esc(name.removesuffix(".png"))}">'
            f'<img src="data:image/png;base64,{data}" alt="{esc(alt)}">'
            f"<figcaption>{caption}</figcaption></figure>")


def _legend(themes: Mapping[str, ThemeInfo], coverage: Mapping[str, int], n_docs: int) -> str:
    rows = []
    for tid, info in themes.items():
        rows.append(f"<tr><td>{chip(tid, themes)}</td><td>{esc(info.definition)}</td>"
                    f'<td class="num">{coverage.get(tid, 0)}/{n_docs}</td></tr>')
    return ('<details class="legend"><summary>Grille de thèmes (définitions)</summary>'
            '<div class="table-wrap"><table><thead><tr><th>Thème</th><th>Définition</th>'
            '<th class="num">Déclarations</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div></details>')


#: documents columns never offered as filters (technical, per-document or free text)
NOT_FILTERS = ("doc_id", "source_file", "format", "doc_kind", "commune", "adopted_on",
               "president", "n_pages", "n_words", "sha256", "status", "error", "notes", "source")
FILTER_LABELS = {"province": "Province", "mandate": "Mandature", "legislature": "Législature"}
MAX_FILTER_VALUES = 60


def metadata_filters(documents: pd.DataFrame, ok_docs: list[str]) -> list[list]:
    """The metadata columns offered as filters of the table (province, mandate, and any
    ``metadata.csv`` column with 1–60 distinct values): ``[[column, label, [value of each
    document of ok_docs, "" when empty]]]``."""
    recs = {str(d): r for d, r in zip(documents["doc_id"], _records(documents), strict=True)}
    out = []
    for col in documents.columns:
        if col in NOT_FILTERS or col == "legislature" and "mandate" in documents.columns:
            continue
        values = [_s(recs.get(d, {}).get(col)) for d in ok_docs]
        distinct = {v for v in values if v}
        if 1 <= len(distinct) <= MAX_FILTER_VALUES:
            out.append([str(col), FILTER_LABELS.get(col, str(col)), values])
    return out


def _matrix_html(tm: pd.DataFrame | None, ok_docs: list[str], labels: Mapping[str, str],
                 themes: Mapping[str, ThemeInfo]) -> str:
    """The commune × theme table of share_units: each cell links to its units in the table
    of objectives (``#objectifs?commune=…&theme=…&kind=all``)."""
    if tm is None or not len(tm) or not ok_docs:
        return ""
    share, count = {}, {}
    for r in _records(tm):
        key = (str(r["doc_id"]), str(r["theme"]))
        share[key], count[key] = (_num(r.get("share_units")) or 0.0), r.get("n_units")
    head = "".join(f'<th class="mx-theme" scope="col"><span>{esc(t.label)}</span></th>'
                   for t in themes.values())
    rows = []
    for d in ok_docs:
        cells = []
        for tid, t in themes.items():
            v = share.get((d, tid), 0.0)
            href = esc(f"#objectifs?commune={quote(d)}&theme={quote(tid)}&kind=all")
            tip = esc(f"{labels[d]} · {t.label} : {fmt_pct(v)} des unités "
                      f"({fmt_int(count.get((d, tid)) or 0)}) — cliquer pour les voir")
            alpha = f"{min(v / 0.4, 1.0):.2f}"
            cells.append(f'<td class="mx" style="--a:{alpha}"><a href="{href}" title="{tip}">'
                         f'{"" if v == 0 else f"{100 * v:.0f}"}</a></td>' if v else
                         f'<td class="mx zero" title="{tip}">·</td>')
        rows.append(f'<tr data-doc="{esc(d)}"><th scope="row">{esc(labels[d])}</th>'
                    f'{"".join(cells)}</tr>')
    return ('<div class="matrix-block"><h3>Matrice communes × thèmes</h3><p class="hint">Part '
            "des unités de contenu (%) ; cliquez une case pour voir ses unités dans le tableau "
            'des objectifs.</p><div class="table-wrap"><table class="matrix" id="matrix">'
            f'<thead><tr><th scope="col">Déclaration</th>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div></div>')


SIDE_BY_SIDE = (
    '<section id="cote-a-cote"><h2>Deux déclarations côte à côte</h2>'
    '<div class="filters"><label>Première <select id="cmp-a"></select></label>'
    '<label>Seconde <select id="cmp-b"></select></label></div>'
    '<div class="table-wrap"><table class="cmp" id="cmp-table"><thead><tr><th>Thème</th>'
    '<th class="num" id="cmp-ha">—</th><th class="num" id="cmp-hb">—</th><th>Parts</th>'
    "</tr></thead><tbody><tr><td colspan=4 class=muted>La comparaison s'affiche avec "
    "JavaScript.</td></tr></tbody></table></div></section>")


class _UnitTable:
    """The units as parallel lists, one per column (no dict per unit: there are tens of
    thousands), and each document's row numbers in reading order (start offset, unit_id)."""

    def __init__(self, units: pd.DataFrame):
        n = len(units)

        def raw(name):
            return units[name].tolist() if name in units else [None] * n

        def text(name):
            return _texts(units[name]) if name in units else [""] * n

        self.doc_id, self.unit_id = _texts(units["doc_id"]), _texts(units["unit_id"])
        self.kind = units["kind"].tolist()  # as is: compared with NON_CONTENT_KINDS, in the JSON
        self.parent_id, self.label, self.page = text("parent_id"), text("label"), text("page")
        self.text, self.depth = raw("text"), raw("depth")
        split: dict[str, tuple[str, ...]] = {}  # many units carry the same themes
        self.themes = [split[v] if v in split else split.setdefault(v, tuple(_split_themes(v)))
                       for v in text("themes")]
        #: "human" for a unit labelled by an annotation row; then ``machine`` holds what the
        #: shipped model says of it (units.csv ``labelled_by``, ``themes_machine``)
        self.labelled_by = text("labelled_by")
        self.machine = [split[v] if v in split else split.setdefault(v, tuple(_split_themes(v)))
                        for v in text("themes_machine")]
        starts = [_start_key(v) for v in raw("start")]
        self.rows: dict[str, list[int]] = {}
        for i, d in enumerate(self.doc_id):
            self.rows.setdefault(d, []).append(i)
        for rows in self.rows.values():
            rows.sort(key=lambda i: (starts[i], self.unit_id[i]))


def _start_key(value) -> int:
    """A unit's start offset as an int for sorting (0 when missing or not a number)."""
    if value.__class__ is int:
        return value
    try:
        return int(float(_s(value) or 0))
    except ValueError:
        return 0


def _unit_lines(table: _UnitTable, rows: list[int], doc_index: int, tips: Mapping,
                make_chip, heads: dict) -> list[str]:
    """The <li> of each unit of ``rows`` (one document's units, in order) in its tree.

    ``tips``: ``_tooltips(unit_themes)``; ``make_chip``: ``_chip_maker(themes)``; ``heads``: a
    cache (kind, depth) → start of the <li> tag, shared by all documents.
    """
    kinds, depths, unit_ids, doc_ids = table.kind, table.depth, table.unit_id, table.doc_id
    labels, texts, pages, themes = table.label, table.text, table.page, table.themes
    lines = []
    for i in rows:
        head = heads.get((kinds[i], depths[i]))
        if head is None:
            depth = depths[i]
            depth = depth if depth.__class__ is int else int(float(_s(depth) or 0))
            # the kind is written by CSS (li.k-axis::before…), the depth indents (d1…d8)
            depth_cls = f" d{min(depth, 8)}" if depth > 0 else ""
            head = heads[(kinds[i], depths[i])] = (f'<li class="u k-{esc(_s(kinds[i]))}'
                                                  f'{depth_cls}" id="u-')
        doc, uid = doc_ids[i], unit_ids[i]
        chips = "".join([make_chip(t, tips.get((doc, uid, t), "")) for t in themes[i]])
        label, page = labels[i].strip(), pages[i]
        label_html = f'<span class="label">{esc(label)}</span> ' if label else ""
        page_html = f'<span class="page">p.{NBSP}{esc(page)}</span>' if page else ""
        if table.labelled_by[i] == "human":
            chips_html = _human_machine_chips(themes[i], table.machine[i], tips.get, doc, uid,
                                              make_chip)
        else:
            chips_html = f'<span class="chips">{chips}</span>' if chips else ""
        lines.append(f'{head}{doc_index}-{esc(uid)}">{label_html}<span class="text">'
                     f'{esc(texts[i])}</span>{page_html}{chips_html}</li>')
    return lines


def _human_machine_chips(human: tuple, machine: tuple, tip, doc: str, uid: str,
                         make_chip) -> str:
    """The chips of a unit labelled by a human, then what the machine says of it: the human
    themes (marked « annotation »), then « automatique : » and the machine's themes, each
    marked = (same as the human) or ≠ (not among the human's)."""
    h = "".join(make_chip(t, "annotation humaine") for t in human) or '<i>aucun thème</i>'
    m_parts = []
    for t in machine:
        mark = "=" if t in human else "≠"
        m_parts.append(f'<span class="agree-{"yes" if mark == "=" else "no"}">{mark}</span>'
                       + make_chip(t, tip((doc, uid, t), "étiquette automatique")))
    missed = [t for t in human if t not in machine]
    m = "".join(m_parts) or "<i>aucun thème</i>"
    gap = f' <span class="agree-no">manque : {len(missed)}</span>' if missed else ""
    return (f'<span class="chips human-label"><span class="who">annotation :</span> {h}</span>'
            f'<span class="chips machine-label"><span class="who">automatique :</span> '
            f"{m}{gap}</span>")


def machine_agreement(units: pd.DataFrame) -> dict | None:
    """Agreement of the machine with the human labels on the units a human labelled
    (units.csv ``labelled_by`` = human, ``themes``, ``themes_machine``): ``n_units``,
    ``exact`` (share of units with the same set of themes), ``precision``/``recall``/``f1``
    (micro, over unit × theme pairs). None when no unit was labelled by a human."""
    if "labelled_by" not in units.columns or "themes_machine" not in units.columns:
        return None
    sub = units[units["labelled_by"].astype(str) == "human"]
    if not len(sub):
        return None
    tp = fp = fn = exact = 0
    for h, m in zip(sub["themes"], sub["themes_machine"], strict=True):
        hs, ms = set(_split_themes(h)), set(_split_themes(m))
        tp, fp, fn = tp + len(hs & ms), fp + len(ms - hs), fn + len(hs - ms)
        exact += hs == ms
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"n_units": len(sub), "exact": exact / len(sub), "precision": p, "recall": r,
            "f1": 2 * p * r / (p + r) if p + r else 0.0}


def _agreement_html(agree: dict | None) -> str:
    if not agree:
        return ""
    return (f'<p class="agreement"><b>Machine et annotation humaine.</b> '
            f"{fmt_int(agree['n_units'])} unités de contenu portent une annotation humaine "
            "(annotations.csv) : ce sont elles que comptent les tableaux. Le modèle livré, qui "
            "n'a pas vu ces annotations, leur donne le même ensemble de thèmes dans "
            f"{fmt_pct(agree['exact'])} des cas (précision {fmt_pct(agree['precision'])}, "
            f"rappel {fmt_pct(agree['recall'])}, F1 {fmt_pct(agree['f1'])} sur les paires "
            "unité × thème). Dans les arborescences, chaque unité annotée montre les deux "
            "étiquettes : « annotation : » puis « automatique : » (= d'accord, ≠ en "
            "désaccord).</p>")


def _tree(lines: list[str], kinds: list) -> list[str]:
    """Indented list of one document's units (``lines`` of ``_unit_lines``, ``kinds`` of the
    same units); runs of non-content units are collapsed.  Returns the pieces of its HTML, to
    be joined with the rest of the page."""
    out: list[str] = ['<ol class="tree">']
    pending: list[str] = []
    pending_kinds: list[str] = []

    def flush():
        if not pending:
            return
        kinds = ", ".join(dict.fromkeys(KIND_LABELS.get(k, k) for k in pending_kinds))
        n = len(pending)
        out.append(f'<li class="noncontent"><details><summary>{esc(kinds)} — {n} élément'
                   f'{"s" if n > 1 else ""} non analysé{"s" if n > 1 else ""}</summary>'
                   f'<ol class="tree">{"".join(pending)}</ol></details></li>')
        pending.clear()
        pending_kinds.clear()

    for line, kind in zip(lines, kinds, strict=True):
        if kind in NON_CONTENT_KINDS:
            pending.append(line)
            pending_kinds.append(kind)
        else:
            flush()
            out.append(line)
    flush()
    out.append("</ol>")
    return out


def _cell(col: str, value, themes, labels, anchors) -> str:
    if col == "theme" and _s(value):
        return chip(_s(value), themes)
    if col == "doc_id" and _s(value):
        d = _s(value)
        name = esc(labels.get(d, d))
        return f'<a href="#{anchors[d]}">{name}</a>' if d in anchors else name
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, float):
        if any(w in col for w in ("share", "mean", "median", "present")):
            return esc(fmt_pct(value))
        return esc(fmt_float(value))
    if isinstance(value, int):
        return esc(fmt_int(value))
    if isinstance(value, (list, tuple)):
        return esc(", ".join(_s(v) for v in value))
    return esc(value)


def _small_table(df: pd.DataFrame, themes, labels, anchors) -> str:
    df = df.head(BENCH_ROW_LIMIT)
    cols = list(df.columns)
    # a chip already names the theme; a doc link already names the commune
    if "theme" in cols and "theme_label" in cols:
        cols.remove("theme_label")
    if "doc_id" in cols and "commune_label" in cols:
        cols.remove("commune_label")
    head = "".join(f"<th>{esc(COLUMN_LABELS.get(c, c.replace('_', ' ')))}</th>" for c in cols)
    body = []
    for rec in df[cols].to_dict("records"):
        cells = "".join(
            f'<td class="{"num" if isinstance(rec[c], (int, float)) and not isinstance(rec[c], bool) else ""}">'
            f"{_cell(c, rec[c], themes, labels, anchors)}</td>" for c in cols)
        body.append(f"<tr>{cells}</tr>")
    return (f'<div class="table-wrap"><table class="small"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def _bench_title(name: str) -> str:
    low = name.lower()
    for words, title in BENCH_TITLES:
        if any(w in low for w in words):
            return title
    return name.replace("_", " ").capitalize()


def benchmark_parts(bench) -> list[tuple[str, object]]:
    """(field name, value) of a benchmark: dataclass fields or mapping items, in order.

    Scalars that only identify the document (doc_id, commune_label) are left out.
    """
    if bench is None:
        return []
    if dataclasses.is_dataclass(bench):
        items = [(f.name, getattr(bench, f.name)) for f in dataclasses.fields(bench)]
    elif isinstance(bench, Mapping):
        items = list(bench.items())
    else:
        items = [(k, v) for k, v in vars(bench).items() if not k.startswith("_")]
    return [(k, v) for k, v in items if k not in ("doc_id", "commune_label", "label", "commune")]


BENCH_FIELDS = ("unique_themes", "missing_themes", "emphasis", "nearest", "terms")


def _bench_get(bench, name: str):
    """A field of a Benchmark (dataclass) or of a dict; lists of dicts become DataFrames."""
    value = _attr(bench, name, None)
    if isinstance(value, list):
        value = pd.DataFrame(value)
    return value


def _bench_rows(bench, name: str) -> list[dict] | None:
    """Rows of a benchmark part as dicts (None when the part is missing); a Benchmark of
    pipeline.compare gives them without building DataFrames (``Benchmark.records``)."""
    if callable(getattr(bench, "records", None)) and not isinstance(bench, Mapping):
        return bench.records(name)
    value = _bench_get(bench, name)
    if value is None:
        return None
    if isinstance(value, pd.DataFrame):
        return value.to_dict("records")
    return list(value)


def _num(value) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if v != v else v


def _doc_link(doc_id: str, labels, anchors, fallback: str = "") -> str:
    name = esc(labels.get(doc_id) or fallback or doc_id)
    return f'<a href="#{anchors[doc_id]}">{name}</a>' if doc_id in anchors else name


def _benchmark_known(bench, themes, labels, anchors) -> str:
    """Profile of a pipeline.compare Benchmark (or a dict with the same fields)."""
    parts = []
    n_peers = _num(_attr(bench, "n_peers", None))
    if n_peers is not None:
        if n_peers == 0:
            return ('<p class="muted">Une seule déclaration dans le corpus : pas de '
                    "comparaison possible.</p>")
        parts.append(f'<p class="muted">Comparée à {int(n_peers)} autre'
                     f'{"s" if n_peers > 1 else ""} déclaration{"s" if n_peers > 1 else ""}.</p>')

    def theme_chips(rows, with_share: bool, tip) -> str:
        if not rows:
            return '<p class="muted">aucun</p>'
        chips = "".join(
            chip(_s(r["theme"]), themes, tip(r),
                 fmt_pct(r["share_units"]) if with_share and "share_units" in r else "")
            for r in rows)
        return f'<p class="chips">{chips}</p>'

    def peers_tip(r) -> str:
        v = _num(r.get("peers_present"))
        return "" if v is None else f"présent chez {fmt_pct(v)} des autres déclarations"

    parts.append('<div class="bench-part"><h5>Thèmes présents ici, rares ailleurs</h5>'
                 + theme_chips(_bench_rows(bench, "unique_themes"), True, peers_tip) + "</div>")
    missing = _bench_rows(bench, "missing_themes")
    parts.append('<div class="bench-part"><h5>Thèmes présents chez la plupart des autres, '
                 "absents ici</h5>" + theme_chips(missing, False, peers_tip) + "</div>")

    emph = _bench_rows(bench, "emphasis")
    n_peers = _num(_bench_get(bench, "n_peers"))
    few = n_peers is not None and n_peers < MIN_PEERS_FOR_STATS
    if emph:
        rows = []
        for r in emph:
            own, mean = _num(r.get("share_units")) or 0.0, _num(r.get("peers_mean")) or 0.0
            med = _num(r.get("peers_median"))
            if own == 0 and mean == 0:
                continue
            z = _num(r.get("z_score"))
            ref = med if few and med is not None else mean
            cls, sign = "", ""
            if z is not None and z >= 1:
                cls, sign = "up", "▲ "
            elif z is not None and z <= -1:
                cls, sign = "down", "▼ "
            elif z is None and own > ref:
                cls, sign = "up", "▲ "
            elif z is None and own < ref:
                cls, sign = "down", "▼ "
            if few:
                rank = _num(r.get("rank"))
                rank_txt = "—" if rank is None else f"{rank:.0f}/{n_peers + 1:.0f}"
                cells = (f'<td class="num">{esc(fmt_pct(med))}</td>'
                         f'<td class="num">{sign}{esc(rank_txt)}</td>')
            else:
                z_txt = "n.d." if z is None else f"{z:+.1f}".replace(".", ",")
                pct = _num(r.get("percentile"))
                cells = (f'<td class="num">{esc(fmt_pct(mean))}</td>'
                         f'<td class="num">{sign}{esc(z_txt)}</td>'
                         f'<td class="num">{"—" if pct is None else esc(f"{pct:.0f}")}</td>')
            rows.append(f'<tr class="{cls}"><td>{chip(_s(r["theme"]), themes)}</td>'
                        f'<td class="num">{esc(fmt_pct(own))}</td>{cells}</tr>')
        if few:
            head = ('<th class="num" title="médiane des autres déclarations">Médiane</th>'
                    '<th class="num" title="rang de cette déclaration (1 = la plus grande part ; '
                    'moins de 10 pairs : ni écart-type ni centile)">Rang</th>')
        else:
            head = ('<th class="num" title="moyenne des autres déclarations">Autres</th>'
                    '<th class="num" title="écart à la moyenne des autres, en écarts-types '
                    '(n.d. quand les autres ne varient pas)">z</th>'
                    '<th class="num" title="part des autres déclarations qui lui consacrent '
                    'moins">Cent.</th>')
        if rows:
            parts.append(
                '<div class="bench-part"><h5>Accent par thème</h5><div class="table-wrap">'
                '<table class="small emph"><thead><tr><th>Thème</th>'
                '<th class="num" title="part des unités de contenu de cette déclaration">Ici</th>'
                f'{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div></div>')

    near = _bench_rows(bench, "nearest")
    if near:
        lines = []
        if "measure" in near[0]:
            groups = [(m, [r for r in near if r["measure"] == m])
                      for m in dict.fromkeys(r["measure"] for r in near)]
        else:
            groups = [("", near)]
        names = {"lemmes": "vocabulaire", "thèmes": "thèmes"}
        for measure, sub in groups:
            items = []
            for r in sub[:3]:
                cos = _num(r.get("cosine", r.get("cosine_lemmas")))
                items.append(_doc_link(_s(r.get("doc_id")), labels, anchors,
                                       _s(r.get("commune_label")))
                             + (f" ({esc(fmt_float(cos))})" if cos is not None else ""))
            title = names.get(_s(measure), _s(measure))
            lines.append(f"<li>{f'<b>{esc(title)}</b> : ' if title else ''}"
                         + ", ".join(items) + "</li>")
        parts.append('<div class="bench-part"><h5>Les 3 déclarations les plus proches</h5>'
                     f'<ul class="near">{"".join(lines)}</ul></div>')
    else:
        parts.append('<div class="bench-part"><h5>Les 3 déclarations les plus proches</h5>'
                     '<p class="muted">non calculé</p></div>')

    terms = _bench_rows(bench, "terms")
    if terms and "term" in terms[0]:
        items = []
        for r in terms[:15]:
            tip = []
            if _num(r.get("count_doc")) is not None:
                tip.append(f"{fmt_int(r['count_doc'])} occurrences ici")
            if _num(r.get("per_10k_doc")) is not None:
                tip.append(f"{fmt_float(r['per_10k_doc'], 1)} pour 10 000 mots contre "
                           f"{fmt_float(r.get('per_10k_rest'), 1)} ailleurs")
            if _num(r.get("log_likelihood")) is not None:
                tip.append(f"G² = {fmt_float(r['log_likelihood'], 1)}")
            items.append(f'<span class="term" title="{esc(" ; ".join(tip))}">'
                         f"{esc(r['term'])}</span>")
        parts.append('<div class="bench-part"><h5>Termes distinctifs</h5>'
                     f'<p class="terms">{"".join(items)}</p></div>')
    else:
        parts.append('<div class="bench-part"><h5>Termes distinctifs</h5>'
                     '<p class="muted">aucun</p></div>')
    return "".join(parts)


def _benchmark_html(bench, themes, labels, anchors) -> str:
    """The "compared with the others" box of one declaration.

    A Benchmark of pipeline.compare (or a dict with its fields) gets a dedicated layout;
    any other object or dict is shown field by field (tables, chips or text).
    """
    if bench is None:
        return '<p class="muted">Profil comparé indisponible pour cette déclaration.</p>'
    if (callable(getattr(bench, "records", None)) and not isinstance(bench, Mapping)) or any(
            _attr(bench, f, None) is not None for f in BENCH_FIELDS):
        return _benchmark_known(bench, themes, labels, anchors)
    blocks = []
    for name, value in benchmark_parts(bench):
        title = _bench_title(name)
        if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            value = pd.DataFrame(value)
        if isinstance(value, pd.DataFrame):
            if not len(value):
                body = '<p class="muted">aucun</p>'
            else:
                body = _small_table(value, themes, labels, anchors)
        elif isinstance(value, (list, tuple, set)):
            items = [_s(v) for v in value]
            if not items:
                body = '<p class="muted">aucun</p>'
            elif all(i in themes for i in items):
                body = f'<p class="chips">{"".join(chip(i, themes) for i in items)}</p>'
            elif all(i in labels for i in items):
                body = "<p>" + ", ".join(_cell("doc_id", i, themes, labels, anchors)
                                         for i in items) + "</p>"
            else:
                body = "<p>" + esc(", ".join(items)) + "</p>"
        elif isinstance(value, Mapping):
            body = ("<ul>" + "".join(f"<li>{esc(k)} : {esc(v)}</li>" for k, v in value.items())
                    + "</ul>")
        elif isinstance(value, (int, float, str)) and _s(value):
            body = f"<p>{esc(fmt_float(value) if isinstance(value, float) else value)}</p>"
        else:
            continue
        blocks.append(f'<div class="bench-part"><h5>{esc(title)}</h5>{body}</div>')
    if not blocks and hasattr(bench, "to_text"):
        blocks.append(f"<pre>{esc(bench.to_text())}</pre>")
    return "".join(blocks) or '<p class="muted">Profil comparé vide.</p>'


def _structure_line(doc: dict, kinds: Mapping[str, int], structure: dict | None) -> str:
    """The line under a declaration's title (``kinds``: number of its units of each kind)."""
    bits = []
    leg = _s(doc.get("legislature")) or _s(doc.get("mandate"))
    if leg:
        bits.append(f"législature {esc(leg)}")
    if _s(doc.get("adopted_on")):
        bits.append(f"adoptée le {esc(fmt_date(doc.get('adopted_on')))}")
    if _s(doc.get("president")):
        bits.append(f"présidence : {esc(doc.get('president'))}")
    fmt = _s(doc.get("format"))
    bits.append(esc(FORMAT_LABELS.get(fmt, fmt)))
    bits.append(f"{esc(fmt_int(doc.get('n_words')))} mots")
    counts = [f"{kinds[k]} {KIND_PLURALS[k] if kinds[k] > 1 else KIND_LABELS[k]}"
              for k in ("section", "axis", "group", "objective", "action", "statement")
              if kinds.get(k)]
    if counts:
        bits.append(", ".join(counts))
    if structure:
        if "has_budget" in structure:
            bits.append("volet budgétaire : " + ("oui" if _truthy(structure["has_budget"]) else "non"))
        if "mentions_pst" in structure:
            bits.append("PST cité : " + ("oui" if _truthy(structure["mentions_pst"]) else "non"))
        if _s(structure.get("preamble_share")):
            bits.append(f"préambule : {esc(fmt_pct(structure['preamble_share']))} des mots")
    return '<p class="meta">' + " · ".join(bits) + "</p>"


def _extras_index(tables: Mapping[str, pd.DataFrame]) -> dict:
    """What ``_extras`` needs, grouped by document once: {"shared": doc_id → first row of
    shared_passages_summary, "partners": doc_id → partner names}."""
    shared: dict[str, dict] = {}
    summ = tables.get("shared_passages_summary")
    if summ is not None and len(summ) and "share_shared" in summ:
        for r in _records(summ):
            shared.setdefault(str(r["doc_id"]), r)
    partners: dict[str, set] = {}
    pt = tables.get("partners")
    if pt is not None and len(pt) and "partner" in pt:
        for d, name in zip(pt["doc_id"].astype(str).tolist(), _texts(pt["partner"]), strict=True):
            partners.setdefault(d, set()).add(name)
    return {"shared": shared if summ is not None and len(summ) and "share_shared" in summ
            else None, "partners": partners}


def _extras(doc_id: str, tables: Mapping[str, pd.DataFrame], index: dict | None = None) -> str:
    """Partners named and share of sentences shared with other declarations, as a line
    (``index``: ``_extras_index(tables)``, computed here when not given)."""
    index = index if index is not None else _extras_index(tables)
    bits = []
    if index["shared"] is not None:
        r = index["shared"].get(doc_id)
        if r is not None:
            bits.append(f"phrases reprises dans d'autres déclarations : "
                        f"{esc(fmt_pct(r['share_shared']))} ({esc(fmt_int(r.get('n_shared')))} "
                        f"sur {esc(fmt_int(r.get('n_sentences')))})")
    if index["partners"]:
        names = sorted(index["partners"].get(doc_id, set()) - {""}, key=lambda x: (fold(x), x))
        if names:
            shown = ", ".join(esc(n) for n in names[:15])
            more = f" et {len(names) - 15} autres" if len(names) > 15 else ""
            bits.append(f"partenaires cités : {shown}{more}")
    return '<p class="meta">' + " · ".join(bits) + "</p>" if bits else ""


def _truthy(v) -> bool:
    if isinstance(v, str):
        return v.strip().lower() in ("true", "1", "oui", "yes")
    return bool(v) if _s(v) else False


def _profile(sub: pd.DataFrame | list[dict] | None, themes) -> str:
    """Chips of the themes a document covers (``sub``: its present rows of theme_matrix, as a
    DataFrame or as records already sorted by descending share then theme), with their share
    of its content units, then the themes it does not cover."""
    if sub is None:
        return ""
    if isinstance(sub, pd.DataFrame):
        sub = sub.sort_values(["share_units", "theme"], ascending=[False, True]).to_dict("records")
    chips = "".join(chip(str(r["theme"]), themes,
                         f"{fmt_int(r['n_units'])} unités, {fmt_pct(r['share_units'])} des unités"
                         f" de contenu", fmt_pct(r["share_units"]))
                    for r in sub)
    covered = {str(r["theme"]) for r in sub}
    missing = [t for t in themes if t not in covered]
    absent = ""
    if missing:
        absent = ('<p class="absent">Absents : '
                  + ", ".join(esc(themes[t].label) for t in missing) + "</p>")
    return f'<div class="profile"><p class="chips">{chips or "aucun thème"}</p>{absent}</div>'


def _axis_of(unit_ids: list[str], parent_ids: list[str], kinds: list) -> dict[str, str]:
    """unit_id → unit_id of its nearest axis (else section) ancestor, "" if none (one
    document's units as parallel lists)."""
    by_id = {u: i for i, u in enumerate(unit_ids)}  # a repeated unit_id: the last one
    out = {}
    for uid, p in zip(unit_ids, parent_ids, strict=True):
        found = ""
        guard = 0
        fallback = ""
        while p and p in by_id and guard < 50:
            anc = by_id[p]
            if kinds[anc] == "axis":
                found = p
                break
            if kinds[anc] == "section" and not fallback:
                fallback = p
            p = parent_ids[anc]
            guard += 1
        out[uid] = found or fallback
    return out


# --------------------------------------------------------------------------- the page


def render_html(tables: Mapping[str, pd.DataFrame], documents: pd.DataFrame, units: pd.DataFrame,
                unit_themes: pd.DataFrame, codebook: Iterable, benchmarks: Mapping | None,
                figures: Mapping[str, bytes], model_info: Mapping | None = None,
                max_units: int | None = None) -> str:
    """The whole report as one HTML string (pure: nothing is read but the package's assets).

    ``figures`` maps the names of FIGURE_FILES to PNG bytes (missing ones are left out);
    ``benchmarks`` maps doc_id → Benchmark (dataclass) or dict of DataFrames / lists;
    ``max_units``: see :func:`prepare_html`.
    """
    return prepare_html(tables, documents, units, unit_themes, codebook, benchmarks,
                        model_info, max_units=max_units)(figures)


# One pass over tens of thousands of units building the trees, the table data and the page
# pieces together (≈180 lines): split up, each part would walk the units again.
def prepare_html(tables: Mapping[str, pd.DataFrame], documents: pd.DataFrame,
                 units: pd.DataFrame, unit_themes: pd.DataFrame, codebook: Iterable,
                 benchmarks: Mapping | None, model_info: Mapping | None = None,
                 max_units: int | None = None) -> Callable[[Mapping[str, bytes]], str]:
    """All the work of ``render_html`` but the figures: returns ``finish(figures)``, which
    gives the same string as ``render_html(..., figures)`` and is quick (it embeds the PNG
    bytes and joins the page).  For a caller that renders the figures meanwhile, elsewhere
    (``report_figures``, e.g. in a child process).  ``max_units``: a declaration with more
    units shows its first ``max_units`` only (in its tree and in the table of objectives), then
    one line with the number left out and where they are (units.csv); its counts and figures
    still cover them all.  None: every unit.
    """
    tables = {k: _plain(v) for k, v in tables.items()}
    documents, units, unit_themes = _plain(documents), _plain(units), _plain(unit_themes)
    tm = tables.get("theme_matrix")
    themes = theme_infos(codebook, tm)
    labels = doc_labels(documents, tables)
    order = _ordered_docs(documents, labels)
    status = dict(zip(documents["doc_id"].astype(str).tolist(),
                      documents["status"].astype(str).tolist(), strict=True))
    ok_docs = [d for d in order if status.get(d) == "ok"]
    anchors = {d: f"doc-{i + 1}" for i, d in enumerate(ok_docs)}
    tips = _tooltips(unit_themes)
    table = _UnitTable(units)
    seen_themes = {t for ts in table.themes for t in ts}
    for tid in sorted(seen_themes - set(themes)):  # themes missing from the codebook
        themes[tid] = ThemeInfo(tid, tid, "#9e9e9e", "#111111")
    theme_index = {t: i for i, t in enumerate(themes)}
    recs = {str(r["doc_id"]): r for r in _records(documents)}
    structure = {}
    if tables.get("structure") is not None and len(tables["structure"]):
        structure = {str(r["doc_id"]): r for r in _records(tables["structure"])}

    coverage: dict[str, int] = {}
    present_rows: dict[str, list[dict]] = {}
    if tm is not None and len(tm):
        pres = tm[tm["present"].map(_truthy)]
        coverage = pres.groupby("theme")["doc_id"].nunique().astype(int).to_dict()
        pres = pres.assign(_d=pres["doc_id"].astype(str)).sort_values(
            ["_d", "share_units", "theme"], ascending=[True, False, True], kind="stable")
        for r in _records(pres.drop(columns="_d")):
            present_rows.setdefault(str(r["doc_id"]), []).append(r)
    extras = _extras_index(tables)
    make_chip = _chip_maker(themes)
    heads: dict = {}  # cache of _unit_lines
    theme_indices: dict[tuple[str, ...], tuple[int, ...]] = {}  # themes of a unit → indices

    # --- declarations
    open_attr = " open" if len(ok_docs) <= 12 else ""
    articles: list[str] = []  # pieces of the HTML of the declarations, joined with the page
    table_rows = []
    for pos, d in enumerate(ok_docs):
        rows = table.rows.get(d, [])
        shown = rows if max_units is None or len(rows) <= max_units else rows[:max_units]
        uids = [table.unit_id[r] for r in rows]
        kinds = [table.kind[r] for r in rows]
        axis_of = _axis_of(uids, [table.parent_id[r] for r in rows], kinds)
        kind_counts: dict[str, int] = {}
        n_content = 0
        for k, (r, uid, kind) in enumerate(zip(rows, uids, kinds, strict=True)):
            kind_counts[kind] = kind_counts.get(kind, 0) + 1
            if kind in NON_CONTENT_KINDS:
                continue
            n_content += 1
            if k >= len(shown):  # past max_units: counted, not shown
                continue
            ts = table.themes[r]
            indices = theme_indices.get(ts)
            if indices is None:
                indices = theme_indices[ts] = tuple(theme_index[t] for t in ts)
            # tuples (written as JSON arrays): the garbage collector soon stops tracking them
            table_rows.append((pos, uid, kind, axis_of.get(uid, ""), indices))
        bench = (benchmarks or {}).get(d)
        articles.append(
            f'<article class="decl" id="{anchors[d]}" data-doc="{esc(d)}">'
            f'<header><h3>{esc(labels[d])} <span class="docid">{esc(d)}</span></h3>'
            f'<p class="profile-link"><a href="profiles/{esc(quote(profile_name(d)))}">Profil '
            "face aux autres déclarations (page imprimable, preuves)</a></p>"
            f"{_structure_line(recs[d], kind_counts, structure.get(d))}"
            f"{_extras(d, tables, extras)}"
            f"{_profile(present_rows.get(d, []), themes) if tm is not None else ''}</header>"
            f'<div class="decl-body"><details class="tree-wrap"{open_attr}><summary>Arborescence '
            f"({n_content} unités de contenu)</summary>")
        if rows:
            articles += _tree(_unit_lines(table, shown, pos + 1, tips, make_chip, heads),
                              kinds[:len(shown)])
        else:
            articles.append("<p class=muted>aucune unité</p>")
        if len(shown) < len(rows):
            n_more = len(rows) - len(shown)
            articles.append(
                f'<p class="muted truncated">… et {fmt_int(n_more)} unités de plus, non '
                f"affichées ici (le rapport montre les {fmt_int(len(shown))} premières unités "
                f"d'une déclaration) : elles sont toutes analysées, dans units.csv, "
                f"unit_themes.csv et texts/{esc(d)}.txt. Option --report-max-units pour en "
                f"afficher plus.</p>")
        articles.append(
            f'</details><aside class="bench"><h4>Comparée aux autres déclarations</h4>'
            f"{_benchmark_html(bench, themes, labels, anchors)}</aside></div></article>")

    # --- data of the interactive table
    shares = []
    if tm is not None and len(tm):
        pos = {d: i for i, d in enumerate(ok_docs)}
        for r in _records(tm):
            d, t = str(r["doc_id"]), str(r["theme"])
            v = (_num(r.get("share_units")) or 0.0)
            if d in pos and t in theme_index and v:
                shares.append([pos[d], theme_index[t], round(v, 4)])
    data = {
        "docs": [[d, labels[d], anchors[d]] for d in ok_docs],
        "themes": [[t.id, t.label] for t in themes.values()],
        "kinds": [[k, KIND_LABELS[k]] for k in KIND_LABELS if k not in NON_CONTENT_KINDS],
        "rows": table_rows,
        "meta": metadata_filters(documents, ok_docs),
        "shares": shares,
    }
    n_err = len(order) - len(ok_docs)
    toc_docs = "".join(f'<li><a href="#{anchors[d]}">{esc(labels[d])}</a></li>' for d in ok_docs)
    n_docs = len(ok_docs)
    agreement = machine_agreement(units)
    summary = _summary(documents, table, themes) + _agreement_html(agreement)
    legend = _legend(themes, coverage, n_docs)
    documents_table = _documents_table(documents, order, labels, anchors)
    suivi, toc_suivi, legis, toc_legis = _trace_sections(tables, table, themes, labels, anchors,
                                                         ok_docs, max_units)
    toc = ('<nav class="toc" aria-label="Sommaire"><p class="toc-title">Sommaire</p><ol>'
           '<li><a href="#apercu">Vue d\'ensemble</a></li>'
           f'<li><a href="#documents">Documents{f" ({n_err} en erreur)" if n_err else ""}</a></li>'
           f'<li><a href="#declarations">Déclarations</a><ol>{toc_docs}</ol></li>'
           f'<li><a href="#suivi">Suivi des engagements</a>{toc_suivi}</li>'
           f'<li><a href="#legislatures">D\'une législature à l\'autre</a>{toc_legis}</li>'
           '<li><a href="#cote-a-cote">Deux déclarations côte à côte</a></li>'
           '<li><a href="#objectifs">Objectifs et actions</a></li></ol></nav>')
    matrix = _matrix_html(tm, ok_docs, labels, themes)
    values = {
        "title": "Déclarations de politique sociale des CPAS — rapport comparatif",
        "css": _asset("report.css") + "\n" + theme_css(themes),
        "js": _asset("report.js"),
        "data": _json_script(data),
        "toc": toc,
        "n_docs": str(n_docs),
        "model_note": esc(model_note(unit_themes, model_info, agreement)),
    }
    template = _asset("template.html")

    def finish(figures: Mapping[str, bytes]) -> str:
        overview = (
            summary
            + '<div class="figs">'
            + _figure("heatmap_themes.png", figures.get("heatmap_themes.png"),
                      "Carte de chaleur déclarations × thèmes",
                      "Part des unités de contenu de chaque déclaration qui portent chaque thème "
                      "(une unité peut porter plusieurs thèmes).")
            + _figure("theme_coverage.png", figures.get("theme_coverage.png"),
                      "Nombre de déclarations couvrant chaque thème",
                      "Nombre de déclarations où le thème apparaît au moins une fois.")
            + _figure("similarity.png", figures.get("similarity.png"),
                      "Similarité entre déclarations",
                      "Similarité deux à deux : à gauche le vocabulaire (cosinus TF-IDF des "
                      "lemmes), à droite les profils de thèmes. 1 = identiques, 0 = rien en "
                      "commun.")
            + "</div>" + matrix + legend)
        body = [
            f'<section id="apercu"><h2>Vue d\'ensemble</h2>{overview}</section>'
            f'<section id="documents"><h2>Documents</h2>{documents_table}</section>'
            '<section id="declarations"><h2>Déclarations</h2>'
            '<p class="hint">Survolez une pastille de thème pour voir le score et les indices qui '
            "l'ont décidée. Les éléments sans contenu politique (titre, préambule, signature, "
            "navigation) sont repliés.</p>",
            *(articles or ["<p class=muted>Aucune déclaration analysée.</p>"]),
            "</section>" + suivi + legis + SIDE_BY_SIDE +
            '<section id="objectifs"><h2>Tous les objectifs et actions</h2>'
            '<div class="filters" role="search">'
            '<label>Recherche <input type="search" id="f-q" placeholder="mots du texte…"></label>'
            '<label>Thème <select id="f-theme"></select></label>'
            '<label>Commune <select id="f-commune"></select></label>'
            '<label>Type <select id="f-kind"></select></label>'
            '<span id="f-meta" class="meta-filters"></span>'
            '<button type="button" id="f-reset">Réinitialiser</button>'
            '<span class="count" id="f-count" aria-live="polite"></span></div>'
            '<div class="table-wrap"><table class="units" id="units-table" data-shown="0">'
            '<thead><tr><th data-key="commune" aria-sort="none">Commune</th>'
            '<th data-key="kind" aria-sort="none">Type</th>'
            '<th data-key="label" aria-sort="none">N°</th>'
            '<th data-key="text" aria-sort="none">Texte</th>'
            '<th data-key="axis" aria-sort="none">Axe</th>'
            '<th data-key="themes" aria-sort="none">Thèmes</th></tr></thead>'
            '<tbody><tr><td colspan="6" class="muted">Le tableau s\'affiche avec JavaScript.'
            "</td></tr></tbody></table></div>"
            '<p class="more"><button type="button" id="f-more" hidden>Afficher plus</button></p>'
            "</section>"]
        return "".join(_fill(template, {**values, "body": body}))

    return finish


def _trace_sections(tables: Mapping[str, pd.DataFrame], table: _UnitTable,
                    themes: Mapping[str, ThemeInfo], labels: Mapping[str, str],
                    anchors: Mapping[str, str], ok_docs: list[str],
                    max_units: int | None) -> tuple[str, str, str, str]:
    """The sections « Suivi des engagements » and « D'une législature à l'autre »
    (``pipeline.report.trace``) and their entries of the table of contents: (suivi, its toc
    entries, législatures, their toc entries)."""
    from pipeline.report import trace as tr  # it builds on the helpers of this module

    docs = tr.doc_ids_of(tables)
    unit_ids = {d: [table.unit_id[r] for r in table.rows.get(d, [])] for d in docs}
    unit_themes = {d: [table.themes[r] for r in table.rows.get(d, [])] for d in docs}
    positions = {d: i + 1 for i, d in enumerate(ok_docs)}
    ctx = tr.Context(themes, labels, anchors,
                     tr.unit_infos(docs, unit_ids, unit_themes, positions, max_units))
    suivi, toc_suivi = tr.engagements(tables, ctx)
    legis, toc_legis = tr.legislatures(tables, ctx)
    return (suivi, f"<ol>{toc_suivi}</ol>" if toc_suivi else "",
            legis, f"<ol>{toc_legis}</ol>" if toc_legis else "")


def model_note(unit_themes: pd.DataFrame, model_info: Mapping | None,
               agreement: Mapping | None = None) -> str:
    """One French sentence for the footer: how many labels are automatic and how many human
    (and, with ``agreement`` from :func:`machine_agreement`, how often the machine agrees with
    them), and which annotations the theme model learnt from (count and hash)."""
    src = unit_themes["sources"].astype(str).tolist() if "sources" in unit_themes else []
    n_human = sum("human" in s.split(";") for s in src)
    parts = [f"{len(src) - n_human} étiquette(s) de thème attribuée(s) automatiquement, "
             f"{n_human} reprise(s) des annotations humaines (annotations.csv)."]
    if agreement:
        parts.append(f"Sur les {agreement['n_units']} unités annotées, l'étiquette automatique "
                     f"(modèle livré, sans ces annotations) est identique dans "
                     f"{fmt_pct(agreement['exact'])} des cas (F1 {fmt_pct(agreement['f1'])}) : "
                     "les arborescences montrent les deux.")
    if model_info and model_info.get("n_annotations"):
        parts.append(f"Modèle de thèmes entraîné sur {model_info['n_annotations']} unités "
                     f"annotées de {model_info.get('n_documents', '?')} déclarations "
                     f"(empreinte {model_info.get('sha256', '?')}).")
    return " ".join(parts)


def _fill(template: str, values: Mapping[str, str | list[str]]) -> list[str]:
    """The pieces of ``template`` with each ``{{name}}`` replaced by ``values[name]`` (a string
    or a list of pieces); unknown names stay as they are.  Joined once: the page is large."""
    pieces: list[str] = []
    for i, part in enumerate(re.split(r"\{\{(\w+)\}\}", template)):
        if i % 2 == 0:  # text between placeholders
            pieces.append(part)
        elif part not in values:
            pieces.append("{{" + part + "}}")
        elif isinstance(values[part], str):
            pieces.append(values[part])
        else:
            pieces.extend(values[part])
    return pieces


def _default_benchmarks(tables, documents) -> dict:
    """Benchmarks from ``pipeline.compare.benchmark`` when it exists; {} otherwise."""
    try:
        from pipeline.compare import benchmark
    except ImportError:
        return {}
    out = {}
    for d in documents.loc[documents["status"].astype(str) == "ok", "doc_id"].astype(str):
        try:
            out[d] = benchmark(d, tables)
        except (ValueError, KeyError):
            continue
    return out


def figure_docs(documents: pd.DataFrame,
                tables: Mapping[str, pd.DataFrame]) -> list[tuple[str, str]]:
    """(doc_id, label) of the analysed documents in the order of the report: the rows (and
    columns) of its figures. Strategic plans (``doc_kind`` pst) are not compared with the
    declarations (they are traced against them): they are no row of the figures."""
    from pipeline.trace import without_plans

    documents = without_plans(documents)  # labels told apart among the compared ones only
    labels = doc_labels(documents, tables)
    keep = set(documents.loc[documents["status"].astype(str) == "ok", "doc_id"].astype(str))
    return [(d, labels[d]) for d in _ordered_docs(documents, labels) if d in keep]


def report_figures(tables: Mapping[str, pd.DataFrame], documents: pd.DataFrame,
                   codebook: Iterable) -> dict[str, bytes]:
    """The figures of ``build_report`` as {file name: PNG bytes} (the same bytes), for a
    caller that renders them apart from the page, e.g. in a child process, then passes them
    to ``write_figures`` and to the ``finish`` of ``prepare_html``."""
    return render_figures(dict(tables), list(codebook or []), figure_docs(documents, tables))


def write_figures(out_dir: Path, figures: Mapping[str, bytes]) -> list[Path]:
    """Write ``out_dir/figures/<name>`` for each figure of FIGURE_FILES (atomically)."""
    return [io.write_bytes(Path(out_dir) / "figures" / name, figures[name])
            for name in FIGURE_FILES if name in figures]


def build_report(tables: Mapping[str, pd.DataFrame], documents: pd.DataFrame,
                 units: pd.DataFrame, unit_themes: pd.DataFrame, codebook: Iterable,
                 out_dir: Path, benchmarks: Mapping | None = None) -> Path:
    """Write ``out_dir/figures/*.png`` and the self-contained ``out_dir/report.html``.

    Inputs follow the column contracts of docs/architecture.md; ``units`` carries ``themes``;
    ``benchmarks`` maps doc_id → benchmark (computed with pipeline.compare when None).
    Returns the path of report.html.  Files are written atomically; output is deterministic.
    To render the figures elsewhere meanwhile: ``report_figures``, ``prepare_html``,
    ``write_figures`` (same files).
    """
    out_dir = Path(out_dir)
    codebook = list(codebook or [])
    if benchmarks is None:
        benchmarks = _default_benchmarks(tables, documents)
    if "themes" not in units:
        units = units.assign(themes="")
    figures = report_figures(tables, documents, codebook)
    write_figures(out_dir, figures)
    text = render_html(tables, documents, units, unit_themes, codebook, benchmarks, figures)
    return io.write_text(out_dir / "report.html", text)
