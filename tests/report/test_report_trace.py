"""The report's tracing sections (« Suivi des engagements », « D'une législature à
l'autre ») on tiny tables written by hand below, not produced by pipeline.trace.

The corpus: Florival has two declarations (2019, 2025) and a plan for 2025 (the plan itself is
not given to the report: only the declarations are). The 2025 declaration makes three
promises: u0002 is carried out by two plan actions, u0003 by none (« pas dans le PST »), u0004
(with a <script> text) by one; the plan has one action no promise reaches (p0009).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from pipeline.report.html import render_html

NAN = float("nan")
CODEBOOK = [
    {"id": "logement", "label": "Logement", "definition": "Accès au logement.",
     "color": "#009E73"},
    {"id": "energie", "label": "Énergie", "definition": "Précarité énergétique.",
     "color": "#E69F00"},
]
SCRIPT = "<script>alert('pst')</script> Former les aides & familles"

DOCUMENTS = pd.DataFrame([
    {"doc_id": "florival-dps-2019", "commune": "Florival", "legislature": "2019-2024",
     "mandate": "2019-2024", "format": "txt", "n_words": 300, "status": "ok", "error": "",
     "source_file": "corpus/florival-dps-2019.txt", "adopted_on": "", "n_pages": 0},
    {"doc_id": "florival-dps-2025", "commune": "Florival", "legislature": "2025-2030",
     "mandate": "2025-2030", "format": "txt", "n_words": 400, "status": "ok", "error": "",
     "source_file": "corpus/florival-dps-2025.txt", "adopted_on": "", "n_pages": 0},
])


def _unit(doc, uid, kind, text, start, themes="", parent="", depth=1):
    return {"doc_id": doc, "unit_id": uid, "parent_id": parent, "kind": kind, "label": "",
            "text": text, "start": start, "end": start + len(text), "page": "", "depth": depth,
            "themes": themes}


UNITS = pd.DataFrame([
    _unit("florival-dps-2019", "u0001", "axis", "Se loger", 0, depth=0),
    _unit("florival-dps-2019", "u0002", "objective", "Créer deux logements de transit.", 10,
          "logement", "u0001"),
    _unit("florival-dps-2019", "u0003", "objective", "Ouvrir un potager collectif.", 50, "",
          "u0001"),
    _unit("florival-dps-2025", "u0001", "axis", "Se loger et se chauffer", 0, depth=0),
    # reading order: u0004 comes before u0003 in the text (start offsets), whatever the ids
    _unit("florival-dps-2025", "u0002", "objective", "Créer trois logements de transit.", 10,
          "logement", "u0001"),
    _unit("florival-dps-2025", "u0004", "objective", SCRIPT, 40, "energie", "u0001"),
    _unit("florival-dps-2025", "u0003", "objective", "Isoler les toitures des logements "
          "sociaux.", 90, "energie;logement", "u0001"),
])
UNIT_THEMES = pd.DataFrame([
    {"doc_id": r["doc_id"], "unit_id": r["unit_id"], "theme": t, "score": 0.9,
     "sources": "vocabulary", "evidence": "logement"}
    for r in UNITS.to_dict("records") for t in r["themes"].split(";") if t])

TRACE_COLUMNS = ["commune", "mandate", "dps_doc", "dps_unit", "dps_kind", "dps_text", "pst_doc",
                 "pst_unit", "pst_kind", "pst_objective", "pst_text", "service", "deadline",
                 "budget", "indicator", "status", "score", "tfidf", "vector", "shared_lemmas",
                 "shared_themes", "evidence"]
_BASE = {"commune": "Florival", "mandate": "2025-2030", "dps_doc": "florival-dps-2025",
         "pst_doc": "florival-pst-2025"}


def _link(uid, text, puid, ptext, oo, score, evidence, **details):
    return {**_BASE, "dps_unit": uid, "dps_kind": "objective", "dps_text": text,
            "pst_unit": puid, "pst_kind": "action", "pst_objective": oo, "pst_text": ptext,
            "status": "dans le PST", "score": score, "tfidf": 0.5, "vector": 0.7,
            "shared_lemmas": "logement", "shared_themes": "logement", "evidence": evidence,
            **details}


TRACE = pd.DataFrame([
    _link("u0002", "Créer trois logements de transit.", "p0004",
          "Rénover la maison de la rue Haute en logement de transit",
          "OO 1.1 – Disposer de logements de transit", 0.82,
          "mots communs : logement, transit ; thèmes communs : logement",
          service="Service logement", deadline="2026", budget="120.000 €", indicator=""),
    _link("u0002", "Créer trois logements de transit.", "p0005",
          "Conventionner deux logements avec l'AIS", "OO 1.1 – Disposer de logements de transit",
          0.55, "mots communs : logement", service="", deadline="2027", budget="/",
          indicator="Nombre de conventions"),
    {**_BASE, "dps_unit": "u0003", "dps_kind": "objective",
     "dps_text": "Isoler les toitures des logements sociaux.", "status": "pas dans le PST",
     "evidence": "meilleur candidat p0009 « Acheter un véhicule » (score 0,12, sous le seuil 0,40)"},
    _link("u0004", SCRIPT, "p0007", "Former <b>les</b> aides familiales",
          "OO 2.1 – Soutenir les familles", 0.71, "mots communs : aide, familial",
          service="Service <i>social</i>", deadline="2025", budget="", indicator=""),
    {**_BASE, "pst_unit": "p0009", "pst_kind": "action",
     "pst_objective": "OO 3.1 – Moderniser l'administration", "pst_text": "Acheter un véhicule "
     "électrique", "service": "DG", "deadline": "2026", "budget": "28.000 €",
     "status": "sans ancrage dans la DPS"},
], columns=TRACE_COLUMNS)
# as parquet gives them: the empty side of a row is missing (NaN), not ""
TRACE = TRACE.astype(object).where(TRACE.notna(), np.nan)

SUMMARY = pd.DataFrame([
    {**_BASE, "theme": "", "n_promises": 3, "n_carried": 2, "share_carried": 0.6667,
     "n_not_carried": 1, "n_plan_units": 4, "n_unanchored": 1, "share_unanchored": 0.25},
    {**_BASE, "theme": "logement", "n_promises": 2, "n_carried": 1, "share_carried": 0.5,
     "n_not_carried": 1, "n_plan_units": 2, "n_unanchored": 0, "share_unanchored": 0.0},
    {**_BASE, "theme": "energie", "n_promises": 2, "n_carried": 1, "share_carried": 0.5,
     "n_not_carried": 1, "n_plan_units": 1, "n_unanchored": 0, "share_unanchored": 0.0},
])
_V = {"commune": "Florival", "old_doc": "florival-dps-2019", "new_doc": "florival-dps-2025",
      "old_mandate": "2019-2024", "new_mandate": "2025-2030"}
VERSIONS = pd.DataFrame([
    {**_V, "old_unit": "u0003", "old_text": "Ouvrir un potager collectif.", "new_unit": "",
     "new_text": "", "status": "dropped", "score": 0.08, "tfidf": NAN, "shared_lemmas": "",
     "evidence": "plus proche : « Créer trois logements de transit. »"},
    {**_V, "old_unit": "u0002", "old_text": "Créer deux logements de transit.",
     "new_unit": "u0002", "new_text": "Créer trois logements de transit.", "status": "reworded",
     "score": 0.77, "tfidf": 0.45, "shared_lemmas": "logement, transit",
     "evidence": "mots communs : logement, transit"},
    {**_V, "old_unit": "", "old_text": "", "new_unit": "u0004", "new_text": SCRIPT,
     "status": "new", "score": NAN, "tfidf": NAN, "shared_lemmas": "", "evidence": ""},
])
VERSIONS_THEMES = pd.DataFrame([
    {**{k: _V[k] for k in ("commune", "old_doc", "new_doc")}, "theme": "logement",
     "share_old": 0.5, "share_new": 0.6667, "change": 0.1667},
    {**{k: _V[k] for k in ("commune", "old_doc", "new_doc")}, "theme": "energie",
     "share_old": 0.0, "share_new": 0.6667, "change": 0.6667},
])
TRACE_TABLES = {"trace": TRACE, "trace_summary": SUMMARY, "versions": VERSIONS,
                "versions_themes": VERSIONS_THEMES}


def render(tables: dict) -> str:
    return render_html(tables, DOCUMENTS, UNITS, UNIT_THEMES, CODEBOOK, {}, {})


def section(page: str, sid: str) -> str:
    m = re.search(rf'<section id="{sid}">(.*?)</section>', page, re.S)
    assert m, sid
    return m.group(1)


def items(html: str, cls: str) -> list[str]:
    """The <li class="cls …"> elements of ``html`` (not nested in one another)."""
    return re.findall(rf'<li class="{cls}[^"]*">(.*?)</li>(?=<li class="{cls}|</ol>)', html, re.S)


@pytest.fixture(scope="module")
def page() -> str:
    return render(TRACE_TABLES)


def test_sections_and_toc_entries(page):
    toc = re.search(r'<nav class="toc".*?</nav>', page, re.S).group(0)
    assert '<a href="#suivi">Suivi des engagements</a>' in toc
    assert '<a href="#suivi-1">Florival (2025-2030)</a>' in toc
    assert "<a href=\"#legislatures\">D'une législature à l'autre</a>" in toc
    assert '<a href="#legislature-1">Florival (2019-2024 → 2025-2030)</a>' in toc
    # the two sections come after the declarations, before the side-by-side table
    assert (page.index('<section id="declarations">') < page.index('<section id="suivi">')
            < page.index('<section id="legislatures">') < page.index('<section id="cote-a-cote">'))


def test_pair_header_and_coverage(page):
    suivi = section(page, "suivi")
    assert suivi.count('<article class="trace-pair"') == 1
    assert "Florival <span class=docid>2025-2030</span>" in suivi
    assert "florival-pst-2025" in suivi and 'href="#doc-2">florival-dps-2025</a>' in suivi
    text = re.sub(r"<[^>]+>", "", suivi)
    assert "2/3 promesses reprises dans le PST (67\u00a0%)" in text
    assert "1 promesse absente du PST" in text
    assert "1/4 action" in text and "sans ancrage dans la déclaration (25\u00a0%)" in text


def test_theme_table_uses_codebook_labels_in_codebook_order(page):
    table = re.search(r'<table class="small trace-themes">(.*?)</table>', page, re.S).group(1)
    assert table.index(">Logement<") < table.index(">Énergie<")
    assert 'data-theme="logement"' in table and ">logement<" not in table
    rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1], re.S)
    assert len(rows) == 2
    assert re.findall(r'<td class="num[^"]*">([^<]*)</td>', rows[0]) == ["1/2", "50\u00a0%", "1",
                                                                          "0/2"]


def test_promises_in_reading_order_with_their_actions(page):
    promises = items(section(page, "suivi"), "promise")
    texts = [re.search(r'<span class="p-text">(.*?)</span>', p).group(1) for p in promises]
    # reading order (start offsets): u0002, u0004, u0003
    assert texts == ["Créer trois logements de transit.",
                     "&lt;script&gt;alert(&#x27;pst&#x27;)&lt;/script&gt; Former les aides "
                     "&amp; familles",
                     "Isoler les toitures des logements sociaux."]
    first = promises[0]
    assert "dans le PST (2 actions)" in first and "pas dans le PST" not in first
    # best link first, its OO in grey, pilot / deadline / budget, score, evidence
    assert first.index("Rénover la maison") < first.index("Conventionner deux logements")
    assert '<div class="a-oo">OO 1.1 – Disposer de logements de transit</div>' in first
    assert "pilote : Service logement · échéance : 2026 · budget : 120.000 €" in first
    assert "budget : /" not in first  # a placeholder of the plan's table is not shown
    assert "indicateur : Nombre de conventions" in first
    assert "score 0,82" in first and "score 0,55" in first
    assert ('<div class="evidence">mots communs : logement, transit ; thèmes communs : '
            "logement</div>") in first
    # the promise's themes as chips, its id links to its line in the declaration's tree
    assert 'data-theme="logement"' in first
    assert '<a href="#u-2-u0002" title="voir dans la déclaration">u0002</a>' in first


def test_promise_with_no_plan_action_has_the_red_badge(page):
    missing = items(section(page, "suivi"), "promise")[2]
    assert '<li class="promise missing">' in section(page, "suivi")
    assert '<span class="badge b-miss">pas dans le PST</span>' in missing
    assert "p-links" not in missing
    assert "meilleur candidat p0009 « Acheter un véhicule »" in missing
    assert section(page, "suivi").count("pas dans le PST</span>") == 1


def test_unanchored_plan_actions_are_collapsed(page):
    suivi = section(page, "suivi")
    m = re.search(r'<details class="unanchored"><summary>(.*?)</summary>(.*?)</details>', suivi,
                  re.S)
    assert m, "collapsed list of the plan's actions with no anchor"
    assert m.group(1) == "Actions du plan sans ancrage dans la déclaration (1)"
    assert "Acheter un véhicule électrique" in m.group(2)
    assert "OO 3.1 – Moderniser l&#x27;administration" in m.group(2)
    assert "pilote : DG · échéance : 2026 · budget : 28.000 €" in m.group(2)


def test_versions_counts_table_and_theme_shares(page):
    legis = section(page, "legislatures")
    text = re.sub(r"<[^>]+>", "", legis)
    for part in ("gardées : 0", "reformulées : 1", "abandonnées : 1", "nouvelles : 1"):
        assert part in text
    rows = re.findall(r'<tr class="row-(\w+)">(.*?)</tr>', legis, re.S)
    # old promises in the old declaration's reading order, then the new ones
    assert [s for s, _ in rows] == ["reworded", "dropped", "new"]
    assert "Créer deux logements de transit." in rows[0][1]
    assert "Créer trois logements de transit." in rows[0][1]
    assert '<span class="badge v-reworded">reformulée</span>' in rows[0][1]
    assert ">0,77</td>" in rows[0][1]
    assert '<span class="badge v-dropped">abandonnée</span>' in rows[1][1]
    assert '<span class="badge v-new">nouvelle</span>' in rows[2][1] and ">—</td>" in rows[2][1]
    assert "<th>Promesse 2019-2024</th><th>Promesse 2025-2030</th>" in legis
    shares = re.search(r'<table class="small vthemes">(.*?)</table>', legis, re.S).group(1)
    assert shares.index(">Logement<") < shares.index(">Énergie<")
    assert "50\u00a0%" in shares and "67\u00a0%" in shares and "0\u00a0%" in shares
    assert "+16,7\u00a0pt" in shares and "+66,7\u00a0pt" in shares


def test_text_is_escaped_everywhere(page):
    assert "<script>alert('pst')" not in page
    assert "<b>les</b>" not in page and "<i>social</i>" not in page
    assert "Former &lt;b&gt;les&lt;/b&gt; aides familiales" in section(page, "suivi")
    assert "pilote : Service &lt;i&gt;social&lt;/i&gt;" in section(page, "suivi")
    assert "&lt;script&gt;alert(&#x27;pst&#x27;)&lt;/script&gt;" in section(page, "legislatures")


def test_missing_cells_never_show_as_nan(page):
    for sid in ("suivi", "legislatures"):
        assert not re.search(r"\bnan\b", re.sub(r"<[^>]+>", " ", section(page, sid)),
                             re.I), sid


def test_deterministic_and_independent_of_row_order(page):
    assert render(TRACE_TABLES) == page
    shuffled = {k: v.sample(frac=1, random_state=3).reset_index(drop=True)
                for k, v in TRACE_TABLES.items()}
    assert render(shuffled) == page


@pytest.mark.parametrize("tables", [
    {},  # the runner left the tables out
    {k: v.iloc[0:0] for k, v in TRACE_TABLES.items()},  # a corpus with no plan: empty tables
], ids=["missing", "empty"])
def test_empty_states(tables):
    page = render(tables)
    suivi, legis = section(page, "suivi"), section(page, "legislatures")
    assert '<p class="muted empty-state">Aucun plan stratégique transversal (PST) relié à une ' \
           "déclaration dans le corpus : pour suivre les promesses d&#x27;un CPAS, placez le " \
           "fichier de son PST dans le dossier du corpus, avec la même commune et la même " \
           "mandature que sa déclaration (ou nommez la déclaration dans la colonne pair_of de " \
           "metadata.csv).</p>" in suivi
    assert "trace-pair" not in suivi
    assert '<p class="muted empty-state">Aucune paire de déclarations d&#x27;un même CPAS dans ' \
           "le corpus" in legis
    assert "version-pair" not in legis
    toc = re.search(r'<nav class="toc".*?</nav>', page, re.S).group(0)
    assert '<a href="#suivi">Suivi des engagements</a></li>' in toc  # no sub-entries
    assert "#suivi-1" not in toc and "#legislature-1" not in toc


def test_plan_without_summary_counts_the_rows():
    page = render({"trace": TRACE})
    text = re.sub(r"<[^>]+>", "", section(page, "suivi"))
    # 3 promises, 2 with a link; plan units seen: p0004, p0005, p0007, p0009 (1 unanchored)
    assert "2/3 promesses reprises dans le PST" in text and "1/4 action" in text
    assert "trace-themes" not in section(page, "suivi")
    assert "empty-state" in section(page, "legislatures")


def test_toc_names_the_documents_only_when_two_pairs_share_a_label():
    from pipeline.report.trace import _toc

    html = _toc([("#suivi-1", "Florival (2025-2030)", "fl-dps", "fl-pst"),
                 ("#suivi-2", "Florival (2025-2030)", "fl-dps", "fl-pst-bis"),
                 ("#suivi-3", "Hautrive (2025-2030)", "ha-dps", "ha-pst")])
    items = re.findall(r"<li>(.*?)</li>", html)
    assert len(items) == 3
    assert "fl-dps → fl-pst</span>" in items[0] and "fl-dps → fl-pst-bis</span>" in items[1]
    assert "ha-dps" not in items[2] and "Hautrive (2025-2030)" in items[2]


def test_reviewed_links_carry_their_badge_and_the_cover_counts_them():
    trace = TRACE.copy()
    trace["review"] = ["confirmé", "", "relu", "ajouté", ""]
    summary = SUMMARY.copy()
    summary["n_reviewed"] = [3, 1, 1]
    page = render({**TRACE_TABLES, "trace": trace, "trace_summary": summary})
    suivi = section(page, "suivi")
    promises = items(suivi, "promise")
    assert len(promises) == 3
    first = next(p for p in promises if "trois logements" in p)
    assert first.count('class="badge b-rev"') == 1 and ">confirmé</span>" in first
    roofs = next(p for p in promises if "toitures" in p)
    assert ">relu</span>" in roofs and "pas dans le PST" in roofs
    script = next(p for p in promises if "alert" in p)
    assert ">ajouté</span>" in script
    assert "3 relues à la main" in re.sub(r"<[^>]+>", "", suivi)
    # without review, no badge and no count
    assert "b-rev" not in section(render(TRACE_TABLES), "suivi").split("</p>", 1)[1]
    assert "relue" not in re.sub(r"<[^>]+>", "", section(render(TRACE_TABLES), "suivi"))
