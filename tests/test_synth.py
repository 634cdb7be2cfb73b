"""Tests of the synthetic corpus generator (benchmarks/synth.py)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from benchmarks import synth

SEEDS = Path(__file__).parent / "fixtures" / "seeds"

MINI_SEED = ("""\
Déclaration de politique sociale
Le CPAS de Testville veut aider chaque citoyen à vivre dignement dans notre commune. Il agit avec ses partenaires locaux pour réduire la pauvreté des familles.
AXE 1 : Le logement
- Créer des logements de transit
- Soutenir les locataires en difficulté ;*
1. L'insertion professionnelle
O.O.1. Développer les contrats article 60
Cette ligne est très longue et coupée au milieu comme dans un texte copié depuis un PDF{TRAILING_SPACE}
mal converti, sans ponctuation au bout de la première ligne.
""").replace("{TRAILING_SPACE}", " ")


@pytest.fixture(scope="module")
def mini_material(tmp_path_factory) -> synth.Material:
    d = tmp_path_factory.mktemp("mini_seeds")
    (d / "testville.txt").write_text(MINI_SEED, encoding="utf-8")
    return synth.load_material(d)


def test_material_axes_items_sentences(mini_material):
    m = mini_material
    assert m.axes == ["Le logement", "L'insertion professionnelle"]
    assert m.items == ["Créer des logements de transit", "Soutenir les locataires en difficulté",
                       "Développer les contrats article 60"]
    assert m.communes == ["Testville"]
    assert "Il agit avec ses partenaires locaux pour réduire la pauvreté des familles." in m.sentences
    # the hard-wrapped line is joined back into one sentence
    assert ("Cette ligne est très longue et coupée au milieu comme dans un texte copié depuis un "
            "PDF mal converti, sans ponctuation au bout de la première ligne.") in m.sentences


def test_material_needs_seeds(tmp_path):
    with pytest.raises(FileNotFoundError):
        synth.load_material(tmp_path)


def test_format_shares_per_ten():
    formats = [synth.format_for(i, seed=3) for i in range(30)]
    for k in range(3):
        assert Counter(formats[10 * k:10 * k + 10]) == {"pdf": 5, "docx": 2, "txt": 3}
    assert formats != [synth.format_for(i, seed=4) for i in range(30)]


def test_commune_retargeted_and_two_legislatures(mini_material):
    a = synth.build_document(mini_material, 0, seed=0)
    b = synth.build_document(mini_material, 1, seed=0)
    assert a.commune == b.commune
    assert {a.legislature, b.legislature} == {"2019-2024", "2025-2030"}
    c = synth.build_document(mini_material, 8, seed=0)  # another commune
    assert c.commune != a.commune
    body = " ".join(t for k, t, _ in c.lines if k not in ("title", "meta"))
    # the seed's commune name is replaced by the synthetic one wherever a seed sentence names it
    assert "Testville" not in body
    assert "Le CPAS de Testville" not in body
    if "veut aider chaque citoyen" in body:
        assert f"Le CPAS {'d' + chr(39) if c.commune[0] in 'AEIOU' else 'de '}{c.commune} veut" in body


def test_communes_unique_for_a_federation(mini_material):
    names = [synth.build_document(mini_material, i, seed=0).commune for i in range(0, 600, 2)]
    assert len(set(names)) == 300
    assert all(re.fullmatch(r"[A-Z][a-zé]+", n) for n in names)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[Path]:
    return synth.generate_corpus(tmp_path_factory.mktemp("synth"), 10, seed=7, seeds=SEEDS)


def test_corpus_formats_and_names(corpus):
    assert Counter(p.suffix for p in corpus) == {".pdf": 5, ".docx": 2, ".txt": 3}
    assert len({p.stem for p in corpus}) == 10


def test_deterministic_bytes(corpus, tmp_path):
    again = synth.generate_corpus(tmp_path, 10, seed=7, seeds=SEEDS)
    assert [p.name for p in again] == [p.name for p in corpus]
    for a, b in zip(corpus, again, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_start_gives_the_next_document(corpus, tmp_path):
    one = synth.generate_corpus(tmp_path, 1, seed=7, seeds=SEEDS, start=9)[0]
    assert one.name == corpus[9].name
    assert one.read_bytes() == corpus[9].read_bytes()


def test_txt_word_count_and_structure(corpus):
    for p in corpus:
        if p.suffix != ".txt":
            continue
        text = p.read_text(encoding="utf-8")
        assert 1700 <= len(text.split()) <= 3200, p.name
        assert "CPAS" in text
        assert re.search(r"^(AXE \d+ :|Axe \d+ –|\d+\. |.*\(Objectif stratégique n°\d+\)$)",
                         text, re.MULTILINE)
        assert re.search(r"^(- |O\.O\.\d+\. )", text, re.MULTILINE)


def test_pdf_pages_header_footer_accents(corpus):
    import pypdfium2 as pdfium

    for p in corpus:
        if p.suffix != ".pdf":
            continue
        pdf = pdfium.PdfDocument(p)
        n = len(pdf)
        assert 3 <= n <= 6, (p.name, n)
        texts = [pdf[i].get_textpage().get_text_range() for i in range(n)]
        pdf.close()
        for i, t in enumerate(texts, 1):
            assert f"Page {i} / {n}" in t
            assert "Déclaration de politique sociale" in t  # running header, accent intact
        words = sum(len(t.split()) for t in texts)
        assert words > 1700
        assert "•" in "".join(texts) or "O.O.1." in "".join(texts)


def test_docx_styles(corpus):
    import docx

    for p in corpus:
        if p.suffix != ".docx":
            continue
        d = docx.Document(str(p))
        styles = Counter(par.style.name for par in d.paragraphs)
        assert styles["Heading 1"] >= 2
        assert styles["Title"] == 1
        assert "Déclaration de politique sociale" in d.sections[0].header.paragraphs[0].text
        words = sum(len(par.text.split()) for par in d.paragraphs)
        assert words > 1700


def test_items_and_sentences_mostly_distinct():
    """A real corpus repeats little text (each CPAS words its own projects): the benchmark must
    not be flattered by the pipeline analysing identical texts once."""
    m = synth.load_material(SEEDS if SEEDS.is_dir() else None)
    texts = []
    for i in range(60):
        for kind, text, _ in synth.build_document(m, i, 0).lines:
            if kind == "para":
                texts += re.split(r"(?<=[.!?])\s+", text)
            elif kind == "bullet":
                texts.append(text)
    assert len(texts) > 3000
    assert len(set(texts)) / len(texts) >= 0.8


def test_item_qualifiers_name_the_commune_and_a_year():
    import random

    rng = random.Random(3)
    varied = [synth._vary_item(rng, "Créer une épicerie sociale", "Testville", 2025)
              for _ in range(200)]
    assert all(v.startswith("Créer une épicerie sociale ") for v in varied)  # 1–3 qualifiers
    assert any("Testville" in v for v in varied)
    years = {int(y) for v in varied for y in re.findall(r"\b20\d\d\b", v)}
    assert years and all(2025 <= y <= 2030 for y in years)
    assert "{" not in "".join(varied)  # every placeholder filled
