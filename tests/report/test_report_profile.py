"""Profile page of one CPAS against a peer group (pipeline.compare.peers, pipeline.report.profile)."""

from __future__ import annotations

import math
import re
import types

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.compare.peers import (
    MIN_PEERS_FOR_DISTRIBUTION,
    peer_group,
    theme_positions,
    unique_objectives,
)
from pipeline.report.html import profile_name
from pipeline.report.profile import html_to_pdf, profile_html, strip_chart, write_profile
from tests.report.test_report import _chromium, browser, load_fixture

Theme = types.SimpleNamespace


def _codebook():
    return [Theme(id="logement", label="Logement", color="#009E73"),
            Theme(id="sante", label="Santé", color="#CC79A7")]


def _matrix(shares: dict[str, dict[str, float]]) -> pd.DataFrame:
    rows = [{"doc_id": d, "theme": t, "share_units": v, "n_units": int(round(v * 10)),
             "present": v > 0} for d, by in shares.items() for t, v in by.items()]
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- peer groups
DOCS = pd.DataFrame({"doc_id": ["a", "b", "c", "d", "bad"],
                     "commune": ["Ans", "Huy", "Ittre", "Liège", ""],
                     "province": ["Liège", "Liège", "Brabant wallon", "liege", ""],
                     "mandate": ["2019-2024", "2025-2030", "2025-2030", "2019-2024", ""],
                     "status": ["ok", "ok", "ok", "ok", "error"]})


def test_peer_group_all_others_leaves_out_the_document_and_failed_files():
    g = peer_group(DOCS, "a")
    assert g.doc_ids == ["b", "c", "d"]
    assert "toutes" in g.description


def test_peer_group_by_column_value_ignores_case_and_accents():
    assert peer_group(DOCS, "c", "province=Liege").doc_ids == ["a", "b", "d"]
    assert peer_group(DOCS, "a", "mandate=2025-2030").doc_ids == ["b", "c"]


def test_peer_group_by_column_alone_uses_the_documents_own_value():
    assert peer_group(DOCS, "b", "mandate").doc_ids == ["c"]


def test_peer_group_by_list_of_ids_or_communes():
    assert peer_group(DOCS, "a", "c, Huy").doc_ids == ["b", "c"]


def test_peer_group_unknown_column_names_the_fix():
    with pytest.raises(ValueError, match="metadata.csv"):
        peer_group(DOCS, "a", "region=Wallonie")


def test_peer_group_unknown_name_lists_the_documents():
    with pytest.raises(ValueError, match="Ittre"):
        peer_group(DOCS, "a", "Namur")


# --------------------------------------------------------------------------- positions
def test_positions_below_ten_peers_are_ranks_and_min_median_max():
    tm = _matrix({"a": {"logement": 0.5, "sante": 0.0}, "b": {"logement": 0.1, "sante": 0.2},
                  "c": {"logement": 0.7, "sante": 0.4}, "d": {"logement": 0.0}})
    pos = theme_positions(tm, "a", ["b", "c", "d"], _codebook()).set_index("theme")
    lg = pos.loc["logement"]
    assert (lg["rank"], lg["n_ranked"], lg["n_peers"], lg["peers_present"]) == (2, 4, 3, 2)
    assert (lg["peers_min"], lg["peers_median"], lg["peers_max"]) == (0.0, 0.1, 0.7)
    assert math.isnan(lg["percentile"]) and math.isnan(lg["peers_q1"])
    assert sorted(lg["peer_shares"]) == [0.0, 0.1, 0.7]
    # a theme absent from the document: rank after every peer that has it
    assert pos.loc["sante", "rank"] == 3 and not pos.loc["sante", "present"]


def test_positions_from_ten_peers_add_quartiles_and_percentile():
    shares = {"x": {"logement": 0.3}}
    shares.update({f"p{i:02d}": {"logement": i / 100} for i in range(MIN_PEERS_FOR_DISTRIBUTION)})
    pos = theme_positions(_matrix(shares), "x", [f"p{i:02d}" for i in range(10)],
                          _codebook()).set_index("theme")
    lg = pos.loc["logement"]
    assert lg["percentile"] == 100.0 and lg["rank"] == 1
    assert lg["peers_q1"] == pytest.approx(np.percentile([i / 100 for i in range(10)], 25))


@given(st.lists(st.floats(0, 1), min_size=1, max_size=15), st.floats(0, 1))
def test_rank_is_one_plus_the_peers_above(peer_values, own):
    shares = {"me": {"logement": own}}
    shares.update({f"p{i}": {"logement": v} for i, v in enumerate(peer_values)})
    pos = theme_positions(_matrix(shares), "me", [f"p{i}" for i in range(len(peer_values))],
                          _codebook()).set_index("theme")
    assert pos.loc["logement", "rank"] == 1 + sum(v > own for v in peer_values)
    assert pos.loc["logement", "peers_min"] <= pos.loc["logement", "peers_median"] \
        <= pos.loc["logement", "peers_max"]


# --------------------------------------------------------------------------- unique objectives
def test_unique_objectives_lists_what_no_peer_says():
    units = pd.DataFrame({
        "doc_id": ["a", "a", "b", "b"], "unit_id": ["u1", "u2", "u1", "u2"],
        "kind": ["objective"] * 4, "label": ["1.", "2.", "1.", "2."],
        "text": ["Créer une épicerie sociale", "Installer des ruches sur le toit",
                 "Ouvrir une épicerie sociale", "Former le personnel"], "themes": [""] * 4})
    nlp = pd.DataFrame({"doc_id": units["doc_id"], "unit_id": units["unit_id"],
                        "lemmas": ["créer épicerie social", "installer ruche toit",
                                   "ouvrir épicerie social", "former personnel"]})
    out = unique_objectives(units, nlp, "a", ["b"])
    assert out["text"].tolist() == ["Installer des ruches sur le toit"]
    assert out.loc[0, "best_cosine"] < 0.25
    # without peers, every objective is unshared and nothing is "nearest"
    alone = unique_objectives(units, nlp, "a", [])
    assert len(alone) == 2 and set(alone["nearest_doc"]) == {""}


# --------------------------------------------------------------------------- page
def _result():
    fx = load_fixture()
    return types.SimpleNamespace(documents=fx["documents"], units=fx["units"],
                                 unit_themes=fx["unit_themes"], nlp=None,
                                 tables=fx["tables"]), fx["codebook"]


def test_profile_page_sections_and_no_statistics_on_two_peers():
    res, codebook = _result()
    group = peer_group(res.documents, "trooz-2019")
    page = profile_html("trooz-2019", res, codebook, group, {"ittre-2019": "ittre-2019.html"})
    for title in ("Identité", "Groupe de comparaison", "Axes", "Thèmes face aux pairs",
                  "Ce qu'aucun pair ne partage", "Termes distinctifs", "Preuves"):
        assert f"<h2>{title}" in page, title
    assert "Profil de Trooz (trooz-2019)" in page and "Liège" in page
    assert "2 pair(s) seulement" in page  # the warning on a tiny group
    assert not re.search(r"centile \d|quartiles", page)  # ranks, min / median / max only
    assert 'href="ittre-2019.html"' in page
    # one chart per theme of the codebook
    assert page.count('<svg class="strip"') == len(codebook)
    # evidence: the deciding words of a unit in bold, inside its escaped text
    assert re.search(r"<b>[^<]+</b>", page.split("<h2>Preuves")[1])
    assert "<script>alert" not in page


def test_profile_unknown_document_is_a_clear_error():
    res, codebook = _result()
    with pytest.raises(ValueError, match="inconnue"):
        profile_html("nope", res, codebook, peer_group(res.documents, "trooz-2019"))


def test_strip_chart_is_deterministic_and_draws_every_peer_position():
    a = strip_chart(0.3, [0.1, 0.2, 0.2], "#009E73")
    assert a == strip_chart(0.3, [0.2, 0.1, 0.2], "#009E73")
    # two peers at 0.2 share one darker dot: 2 peer positions + the document
    assert a.count("<circle") == 3
    assert 'fill-opacity="0.55"' in a and 'fill-opacity="0.40"' in a
    assert "3 pairs de 10" in a
    boxed = strip_chart(0.3, [i / 20 for i in range(12)], "#009E73", 0.1, 0.25, 0.4)
    assert "<rect" in boxed and "<rect" not in a


def test_profile_file_names():
    assert profile_name("trooz-2019") == "trooz-2019.html"
    assert profile_name("archive/x", "province=Liège") == "archive__x--province-liege.html"


@pytest.mark.browser
@browser
def test_profile_renders_in_chromium_and_prints_to_a4_pdf(tmp_path):
    import pypdfium2 as pdfium

    res, codebook = _result()
    group = peer_group(res.documents, "trooz-2019")
    html_path = write_profile(tmp_path, "trooz-2019", res, codebook, group)
    proc = _chromium(["--virtual-time-budget=3000", "--dump-dom", html_path.as_uri()])
    assert proc.returncode == 0 and "Thèmes face aux pairs" in proc.stdout
    shot = tmp_path / "narrow.png"  # readable at 400 px: the page lays out without error
    proc = _chromium([f"--screenshot={shot}", "--window-size=400,1600", html_path.as_uri()])
    assert shot.is_file() and shot.stat().st_size > 5_000, proc.stderr[-500:]
    pdf = html_to_pdf(html_path, tmp_path / "p.pdf")
    doc = pdfium.PdfDocument(str(pdf))
    assert len(doc) >= 1
    w, h = doc[0].get_size()  # A4 in points: 595 × 842
    assert (round(w), round(h)) == (595, 842)
    text = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    assert "Preuves" in text and "Trooz" in text


def test_html_to_pdf_without_chromium_says_how_to_install(tmp_path, monkeypatch):
    from pipeline.report import profile

    monkeypatch.setattr(profile, "chromium_path", lambda: None)
    (tmp_path / "p.html").write_text("<p>x</p>", encoding="utf-8")
    with pytest.raises(profile.PdfUnavailable, match="apt-get install chromium"):
        html_to_pdf(tmp_path / "p.html", tmp_path / "p.pdf")
    assert not (tmp_path / "p.pdf").exists()

