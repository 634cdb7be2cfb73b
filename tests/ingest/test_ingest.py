"""Ingest stage: discover, every reader, encodings, bad inputs, the normalised-text contract."""

from __future__ import annotations

import shutil
import unicodedata
from pathlib import Path

import pytest

from pipeline.ingest import SUPPORTED_EXTENSIONS, discover, ingest_file
from pipeline.ingest.normalize import RawBlock, assemble, clean_line
from pipeline.ingest.text import strip_markdown, text_to_raw_blocks

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures"
ING, BAD, WEB, SEEDS = FIX / "ingest", FIX / "bad", FIX / "web", FIX / "seeds"


def lines_of(doc) -> list[str]:
    return [doc.text[b.start:b.end] for b in doc.blocks]


def check_contract(doc) -> None:
    """Document.text / blocks / pages follow the normalised-text contract."""
    assert doc.status == "ok", doc.error
    assert unicodedata.is_normalized("NFC", doc.text)
    non_blank = [ln for ln in doc.text.split("\n") if ln.strip()]
    assert len(doc.blocks) == len(non_blank)
    pos = 0
    for b, line in zip(doc.blocks, non_blank, strict=False):
        assert doc.text[b.start:b.end] == line == line.strip()
        assert b.start >= pos
        pos = b.end
        assert b.kind in ("paragraph", "heading", "list_item", "table_cell", "navigation")
    if doc.pages:
        assert len(doc.pages) == doc.n_pages
        for b in doc.blocks:
            s, e = doc.pages[b.page - 1]
            assert s <= b.start and b.end <= e


# --------------------------------------------------------------------------- discover


def test_supported_extensions():
    assert set(SUPPORTED_EXTENSIONS) == {".txt", ".md", ".pdf", ".docx", ".html", ".htm"}


def test_discover_skips_and_dedupes(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / ".cache").mkdir()
    for name in ("b.txt", "a.pdf", "a.docx", "sub/c.md", "budget.odt", ".hidden.txt",
                 ".cache/x.txt", "metadata.csv", "annotations.csv", "~$a.docx"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    files, warnings = discover(tmp_path)
    got = {p.relative_to(tmp_path).as_posix(): d for p, d in files}
    assert got == {"a.docx": "a-docx", "a.pdf": "a-pdf", "b.txt": "b", "budget.odt": "budget",
                   "sub/c.md": "sub/c"}
    assert [p.relative_to(tmp_path).as_posix() for p, _ in files] == sorted(got)
    assert warnings == ["a.docx et a.pdf ont le même nom : sans doute la même déclaration"]


def test_a_file_added_in_a_subfolder_never_renames_another(tmp_path):
    (tmp_path / "trooz-dps-2019.txt").write_text("x", encoding="utf-8")
    before = {d for _, d in discover(tmp_path)[0]}
    (tmp_path / "archive" / "2013").mkdir(parents=True)
    (tmp_path / "archive" / "2013" / "trooz-dps-2019.txt").write_text("y", encoding="utf-8")
    files, warnings = discover(tmp_path)
    after = {p.relative_to(tmp_path).as_posix(): d for p, d in files}
    assert before == {"trooz-dps-2019"}
    assert after == {"trooz-dps-2019.txt": "trooz-dps-2019",
                     "archive/2013/trooz-dps-2019.txt": "archive/2013/trooz-dps-2019"}
    assert len(warnings) == 1 and "même nom" in warnings[0]


def test_discover_same_stem_fixture():
    files, warnings = discover(ING / "same-stem")
    assert sorted(d for _, d in files) == ["dps-pdf", "dps-txt"]
    assert len(warnings) == 1 and "même nom" in warnings[0]
    for p, d in files:
        assert ingest_file(p, d).status == "ok"


def test_discover_seed_corpus_layout(tmp_path):
    for p in SEEDS.glob("*.txt"):
        shutil.copy(p, tmp_path / p.name)
    shutil.copy(ROOT / "corpus" / "metadata.csv", tmp_path / "metadata.csv")
    files, warnings = discover(tmp_path)
    assert [d for _, d in files] == sorted(p.stem for p in SEEDS.glob("*.txt"))
    assert warnings == []


# --------------------------------------------------------------------------- text / markdown


@pytest.mark.parametrize("name", ["cp1252.txt", "latin1.txt", "bom-utf8.txt", "crlf.txt",
                                  "Déclaration été 2025 Beyne.txt"])
def test_encodings_and_line_ends(name):
    doc = ingest_file(ING / name, "x")
    check_contract(doc)
    assert lines_of(doc) == [
        "Déclaration de politique sociale du CPAS de Thimister-Clermont",
        "Législature 2019-2024",
        "AXE 1 : Le logement et l'énergie",
        "- Créer des logements d'urgence à loyer modéré ;",
        "- Réduire la facture énergétique des ménages précarisés.",
    ]
    assert [b.kind for b in doc.blocks][-2:] == ["list_item", "list_item"]
    assert "\ufeff" not in doc.text and "\r" not in doc.text
    assert doc.format == "txt" and doc.n_pages == 0 and doc.pages == []
    assert len(doc.sha256) == 64


def test_markdown_cleanup():
    assert strip_markdown("## **Premiers objectifs :**") == ("Premiers objectifs :", 2, True)
    assert strip_markdown("Conformément à l'article 27ter. §1^{er} de la Loi")[0] == \
        "Conformément à l'article 27ter. §1er de la Loi"
    assert strip_markdown("- le respect, pour tous ;*")[0] == "- le respect, pour tous ;"
    assert strip_markdown("Voir \\*note\\* et _ceci_ et **cela**")[0] == "Voir *note* et ceci et cela"
    assert strip_markdown("AXE 2 : LA REINSERTION SOCIO_PROFESSIONNELLE")[0] == \
        "AXE 2 : LA REINSERTION SOCIO_PROFESSIONNELLE"
    assert strip_markdown('" *Dans les deux mois*".')[0] == '" Dans les deux mois".'
    assert strip_markdown("* Politique socio-culturelle (article 27)")[0] == \
        "* Politique socio-culturelle (article 27)"


def test_markdown_file_headings_and_bold(tmp_path):
    p = tmp_path / "d.md"
    p.write_text("# Titre\n\n**Tout en gras.**\n\nTexte *en partie* **gras**.\n\n### Sous-titre\n",
                 encoding="utf-8")
    doc = ingest_file(p, "d")
    check_contract(doc)
    assert doc.format == "md"
    assert lines_of(doc) == ["Titre", "Tout en gras.", "Texte en partie gras.", "Sous-titre"]
    assert [(b.kind, b.level, b.bold) for b in doc.blocks] == [
        ("heading", 1, False), ("paragraph", 0, True), ("paragraph", 0, False), ("heading", 3, False)]


def test_hard_wrapped_brabant_becomes_paragraphs():
    doc = ingest_file(SEEDS / "dps-2018-2024-brabant.txt", "b")
    check_contract(doc)
    lines = lines_of(doc)
    # read from the file: title, 5 paragraphs, 5 numbered sections, 21 items
    assert len(lines) == 32
    assert lines[1] == ("Le CPAS se doit de mettre tout en œuvre pour mener des actions visant à "
                        "aider les personnes à vivre harmonieusement ensemble, à acquérir ou à "
                        "préserver leur autonomie et à bannir toutes formes d’exclusions….")
    assert lines[-1] == ("- Organiser des activités permettant d’offrir un cadeau aux enfants les "
                         "plus démunis (St Nicolas, Noël).")
    assert "* Politique socio-culturelle (article 27)" in lines
    assert "3. Le logement" in lines


def test_beyne_stray_stars_and_bold_title():
    doc = ingest_file(SEEDS / "beyne-heusay-dps-2025.txt", "beyne")
    check_contract(doc)
    assert "*" not in doc.text
    assert lines_of(doc)[0] == "Déclaration de politique sociale Législature 2025-2030"
    assert sum(b.kind == "list_item" for b in doc.blocks) == 5


def test_rejoin_rules():
    blocks = text_to_raw_blocks("Un paragraphe coupé au milieu\n\nde la phrase.\n- Item un qui\n"
                                "continue ici.\nAXE 2 : Suite\nTitre sans point\nAutre ligne\n")
    assert [b.text for b in blocks] == ["Un paragraphe coupé au milieu de la phrase.",
                                        "- Item un qui continue ici.", "AXE 2 : Suite",
                                        "Titre sans point", "Autre ligne"]


def test_web_copy_txt_noise_becomes_navigation():
    doc = ingest_file(WEB / "web-copy.txt", "web")
    check_contract(doc)
    kinds = {doc.text[b.start:b.end]: b.kind for b in doc.blocks}
    noise = ["Aller au contenu principal", "Menu", "Accueil", "Vie communale", "Social", "Agenda",
             "Contact",
             "Vous êtes ici : Accueil > Social > CPAS > Déclaration de politique sociale",
             "Publié le 12 mars 2019", "Version PDF à imprimer", "Imprimer",
             "Partager sur Facebook", "Partager sur Twitter",
             "Ce site utilise des cookies afin d'améliorer votre expérience de navigation.",
             "Mentions légales · Plan du site"]
    for line in noise:
        assert kinds[line] == "navigation", line
    content = [k for k, v in kinds.items() if v != "navigation"]
    assert content == [
        "Déclaration de politique sociale du CPAS de Florenville-Haut",
        "Le Conseil de l'action sociale, réuni en séance du 21 février 2019, a adopté la "
        "déclaration suivante pour la législature 2019-2024.",
        "AXE 1 : Le logement",
        "- Créer des logements d'urgence pour les familles expulsées.",
        "- Soutenir la rénovation énergétique des logements des personnes âgées.",
        "AXE 2 : L'emploi",
        "- Développer les partenariats avec les entreprises locales pour les contrats article 60.",
    ]
    assert doc.metadata["adopted_on"] == "2019-02-21"  # not the "Publié le" date


def test_lone_menu_word_heading_stays_content(tmp_path):
    p = tmp_path / "x.txt"
    p.write_text("Logement\nNous créerons dix logements.\nSanté\nNous ouvrirons un centre.\n",
                 encoding="utf-8")
    doc = ingest_file(p, "x")
    assert all(b.kind != "navigation" for b in doc.blocks)


# --------------------------------------------------------------------------- assembler


def test_clean_line_bullets_and_spaces():
    assert clean_line("\uf0b7 Favoriser\tl’accueil\u00a0 des  usagers ") == \
        "• Favoriser l’accueil des usagers"
    assert clean_line("\uf0a7Item") == "• Item"
    assert clean_line("e\u0301te\u0301") == "été"
    assert clean_line("auto\u00admatique\u200b") == "automatique"
    for kept in ("- a", "– a", "* a", "° a", "• a"):
        assert clean_line(kept) == kept


def test_assemble_offsets_and_pages():
    raw = [RawBlock("  Titre ", kind="heading", level=1, page=1), RawBlock("   ", page=1),
           RawBlock("Ligne\ncoupée", page=1), RawBlock("Page deux", page=3)]
    text, blocks, pages = assemble(raw, n_pages=3)
    assert text == "Titre\nLigne coupée\nPage deux"
    assert [(b.start, b.end, b.kind, b.page) for b in blocks] == [
        (0, 5, "heading", 1), (6, 18, "paragraph", 1), (19, 28, "paragraph", 3)]
    assert pages == [(0, 18), (18, 18), (19, 28)]


# --------------------------------------------------------------------------- docx / html / pdf


def test_docx_numbering_styles_and_table():
    doc = ingest_file(ING / "numbered.docx", "n")
    check_contract(doc)
    assert doc.format == "docx"
    got = [(doc.text[b.start:b.end], b.kind, b.level) for b in doc.blocks]
    assert got[:8] == [
        ("Déclaration de politique sociale", "heading", 1),
        ("Axe 1 : Le logement", "heading", 2),
        ("1. Créer des logements de transit", "list_item", 1),
        ("a) pour les familles", "list_item", 2),
        ("b) pour les personnes seules", "list_item", 2),
        ("2. Rénover le parc existant", "list_item", 1),
        ("• Soutenir les locataires", "list_item", 1),
        ("• Informer sur les primes", "list_item", 2),
    ]
    bold = [b for b in doc.blocks if doc.text[b.start:b.end] == "Objectifs opérationnels"]
    assert bold and bold[0].bold and bold[0].kind == "paragraph"
    cells = [(doc.text[b.start:b.end], b.table, b.row, b.col) for b in doc.blocks
             if b.kind == "table_cell"]
    assert cells == [("OS", 0, 0, 0), ("OO", 0, 0, 1), ("Actions", 0, 0, 2),
                     ("OS1", 0, 1, 0), ("OO1.1", 0, 1, 1), ("Former les agents", 0, 1, 2)]


def test_html_keeps_declaration_drops_noise():
    doc = ingest_file(WEB / "commune-dps.html", "h")
    check_contract(doc)
    assert doc.format == "html"
    for noise in ("Aller au contenu", "Vie communale", "Vous êtes ici", "cookies", "Tout accepter",
                  "À lire aussi", "Travaux de voirie", "fête de la musique", "Partager",
                  "Imprimer", "Mentions légales", "Tous droits réservés", "place du Village",
                  "Publié le"):
        assert noise not in doc.text, noise
    heads = [(doc.text[b.start:b.end], b.level) for b in doc.blocks if b.kind == "heading"]
    assert heads == [("Déclaration de politique sociale du CPAS de Villers-sur-Lesse", 1),
                     ("Axe 1 : Le logement", 2), ("Axe 2 : L'insertion socioprofessionnelle", 2),
                     ("Axe 3 : Les aînés et l'isolement", 2)]
    items = [doc.text[b.start:b.end] for b in doc.blocks if b.kind == "list_item"]
    assert len(items) == 6 and items[0] == "• Créer deux logements de transit pour les familles en difficulté."
    assert doc.metadata["commune"] == "Villers-sur-Lesse"
    assert doc.metadata["adopted_on"] == "2019-02-26"
    assert doc.metadata["president"] == "Marie DUBOIS"


def test_html_charset_from_meta(tmp_path):
    html = (WEB / "commune-dps.html").read_text(encoding="utf-8").replace(
        '<meta charset="utf-8">', '<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">')
    p = tmp_path / "page.htm"
    p.write_bytes(html.encode("cp1252"))
    doc = ingest_file(p, "p")
    assert doc.status == "ok"
    assert "Axe 3 : Les aînés et l'isolement" in doc.text


def _nested_page(tmp_path, depth, tag="div"):
    body = ("<p>Le CPAS veut agir pour le logement des familles de la commune.</p>"
            + f"<{tag}>" * depth + "<h2>AXE 1 : Logement</h2><p>Créer dix logements de transit "
            "pour les familles sans abri.</p>" + f"</{tag}>" * depth
            + "<p>Déclaration adoptée par le conseil de l'action sociale.</p>")
    p = tmp_path / "profond.html"
    p.write_text(f"<html><head><title>DPS</title></head><body><main>{body}</main></body></html>",
                 encoding="utf-8")
    return ingest_file(p, "profond")


@pytest.mark.parametrize("depth", [300, 1500, 5000])
def test_deeply_nested_html_keeps_its_content(tmp_path, depth):
    doc = _nested_page(tmp_path, depth)
    assert doc.status == "ok"
    assert "Créer dix logements de transit" in doc.text and "AXE 1 : Logement" in doc.text
    assert "adoptée par le conseil" in doc.text
    assert bool(doc.warnings) == (depth > 1000)  # flattened pages say so


def test_html_too_deep_even_without_wrappers_warns(tmp_path):
    doc = _nested_page(tmp_path, 3000, tag="b")
    assert any("niveaux" in w and "peut manquer" in w for w in doc.warnings)


def test_pdf_ruled_table_read_row_by_row():
    doc = ingest_file(ING / "table-pst.pdf", "t")
    check_contract(doc)
    cells = [(doc.text[b.start:b.end], b.row, b.col) for b in doc.blocks if b.kind == "table_cell"]
    assert cells[:3] == [("Objectif strategique", 0, 0), ("Objectif operationnel", 0, 1),
                         ("Actions", 0, 2)]
    assert ("OO2.1 Soutenir les familles", 2, 1) in cells
    lines = lines_of(doc)
    assert lines[0] == "Programme strategique transversal du CPAS"
    assert lines[-1] == "Texte apres le tableau."
    assert all(b.page == 1 for b in doc.blocks)


def _fpdf_pages(pages: list[list[str]], header: str = "", footer: bool = False) -> bytes:
    """Lines placed at fixed positions (no auto wrapping), with an optional running header and
    "Page k / n" footer."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_font("helvetica", size=11)
    n = len(pages)
    for k, lines in enumerate(pages, start=1):
        pdf.add_page()
        if header:
            pdf.text(60, 12, header)
        y = 30.0
        for line in lines:
            if line == "":
                y += 4
                continue
            pdf.text(20, y, line)
            y += 5.2
        if footer:
            pdf.text(95, 287, f"Page {k} / {n}")
    return bytes(pdf.output())


def test_pdf_headers_footers_hyphens_and_wrapping(tmp_path):
    body1 = ["AXE 1 : Le logement", "",
             "Nous voulons renforcer l'accompa-",
             "gnement des familles et la guidance socio-",
             "professionnelle des jeunes adultes.", "",
             "- Creer des logements de transit pour les",
             "familles en difficulte."]
    body2 = ["AXE 2 : L'emploi", "",
             "- Developper les contrats article 60.",
             "- Ouvrir un atelier emploi chaque semaine."]
    body3 = ["AXE 3 : La sante", "", "- Organiser des permanences sociales."]
    p = tmp_path / "h.pdf"
    p.write_bytes(_fpdf_pages([body1, body2, body3], header="CPAS de Testville - DPS 2019-2024",
                              footer=True))
    doc = ingest_file(p, "h")
    check_contract(doc)
    assert doc.n_pages == 3 and len(doc.pages) == 3
    assert "Testville" not in doc.text and "Page" not in doc.text
    lines = lines_of(doc)
    assert "Nous voulons renforcer l'accompagnement des familles et la guidance " \
           "socio-professionnelle des jeunes adultes." in lines
    assert "- Creer des logements de transit pour les familles en difficulte." in lines
    page_of = {doc.text[b.start:b.end]: b.page for b in doc.blocks}
    assert page_of["AXE 1 : Le logement"] == 1
    assert page_of["AXE 2 : L'emploi"] == 2
    assert page_of["- Organiser des permanences sociales."] == 3
    assert doc.page_at(doc.text.index("AXE 3")) == 3


def test_pdf_200_pages(tmp_path):
    pages = [[f"AXE {k} : Objectif numero {k} du plan social", "",
              f"- Action {k} : accompagner les familles vers le logement."]
             for k in range(1, 201)]
    p = tmp_path / "long.pdf"
    p.write_bytes(_fpdf_pages(pages))
    doc = ingest_file(p, "long")
    check_contract(doc)
    assert doc.n_pages == 200 and len(doc.pages) == 200
    page_of = {doc.text[b.start:b.end]: b.page for b in doc.blocks}
    for k in (1, 2, 99, 137, 200):
        assert page_of[f"AXE {k} : Objectif numero {k} du plan social"] == k
        assert page_of[f"- Action {k} : accompagner les familles vers le logement."] == k
    assert len(doc.blocks) == 400


# --------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize("name, expected", [
    ("vide.txt", "fichier vide"),
    ("blanc.txt", "fichier vide"),
    ("vide.pdf", "fichier vide"),
    ("aleatoire.pdf", "n'est pas un PDF"),
    ("tronque.pdf", "PDF tronqué ou corrompu"),
    ("chiffre.pdf", "PDF chiffré (protégé par mot de passe)"),
    ("abime.docx", "DOCX corrompu"),
    ("pas-un-zip.docx", "DOCX corrompu"),
    ("budget.xls", "format .xls non pris en charge : convertissez en PDF, DOCX ou TXT"),
    ("illisible.txt", "encodage illisible"),
])
def test_bad_inputs_are_errors_not_exceptions(name, expected):
    doc = ingest_file(BAD / name, "bad")
    assert doc.status == "error"
    assert expected in doc.error
    assert "\n" not in doc.error and " : " in doc.error  # what is wrong : what to do
    assert doc.text == "" and doc.blocks == []
    assert len(doc.sha256) == 64


def test_missing_file_is_an_error(tmp_path):
    doc = ingest_file(tmp_path / "absent.pdf", "absent")
    assert doc.status == "error" and "\n" not in doc.error


def test_scan_without_ocr_is_an_error(monkeypatch):
    import pytesseract

    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")
    doc = ingest_file(BAD / "scan-image.pdf", "scan")
    assert doc.status == "error"
    assert doc.error == ("PDF scanné sans couche texte et OCR indisponible : installez "
                         "tesseract-ocr-fra (apt-get install tesseract-ocr tesseract-ocr-fra)")


def test_scan_without_french_data_is_an_error(monkeypatch):
    import pytesseract

    monkeypatch.setattr(pytesseract, "get_languages", lambda config="": ["eng", "osd"])
    doc = ingest_file(BAD / "scan-image.pdf", "scan")
    assert doc.status == "error" and "tesseract-ocr-fra" in doc.error


def test_reader_bug_becomes_internal_error(monkeypatch, tmp_path):
    import pipeline.ingest.text as text_mod

    def boom(data, markdown=True):
        raise ZeroDivisionError("oups")

    monkeypatch.setattr(text_mod, "read_text", boom)
    p = tmp_path / "a.txt"
    p.write_text("Bonjour tout le monde.", encoding="utf-8")
    doc = ingest_file(p, "a")
    assert doc.status == "error" and "erreur interne" in doc.error and "\n" not in doc.error


def test_valid_utf8_with_few_letters_is_read(tmp_path):
    from pipeline.ingest import ingest_file

    p = tmp_path / "titres.md"
    p.write_text("# Titre\n## Axe 1\n### 1.1\n2019-2024 : 12 %, 13 %, 14 %\n", encoding="utf-8")
    doc = ingest_file(p, "titres")
    assert doc.status == "ok", doc.error
    assert "Axe 1" in doc.text


def test_decimal_label_without_final_dot_starts_an_item():
    """"1.1 Accueillir…" (no dot after the last number) under "1. Axe" is its own item, while a
    wrapped line that starts with a decimal amount ("2.5 millions") still continues."""
    text = ("1. Un accueil humain\n1.1 Accueillir sans rendez-vous chaque matin\n"
            "1.2 Informer les habitants de leurs droits\nLe budget prévu atteint\n"
            "2.5 millions d'euros.\n")
    texts = [b.text for b in text_to_raw_blocks(text)]
    assert "1.1 Accueillir sans rendez-vous chaque matin" in texts
    assert "1.2 Informer les habitants de leurs droits" in texts
    assert any(t.startswith("Le budget prévu atteint 2.5 millions") for t in texts)


def test_symlinks_not_followed_unless_asked(tmp_path):
    """A link in the corpus (e.g. ``passwd.txt → /etc/passwd``) is listed, not read (issue 14,
    item 12); ``follow_symlinks`` reads it."""
    outside = tmp_path / "ailleurs"
    outside.mkdir()
    (outside / "secret.txt").write_text("AXE 1 : secret\n", encoding="utf-8")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "vraie.txt").write_text("AXE 1 : Logement\n", encoding="utf-8")
    (corpus / "lien.txt").symlink_to(outside / "secret.txt")
    (corpus / "dossier").symlink_to(outside, target_is_directory=True)
    files, warnings = discover(corpus)
    assert [d for _, d in files] == ["vraie"]
    assert any("lien.txt" in w and "lien symbolique" in w for w in warnings)
    files, _ = discover(corpus, follow_symlinks=True)
    assert "lien" in [d for _, d in files]


def test_doc_ids_are_nfc(tmp_path):
    """A name in NFD (as macOS writes it) gives the same NFC doc_id as the NFC name."""
    (tmp_path / unicodedata.normalize("NFD", "café-dps.txt")).write_text("AXE 1 : x\n",
                                                                         encoding="utf-8")
    files, _ = discover(tmp_path)
    assert [d for _, d in files] == [unicodedata.normalize("NFC", "café-dps")]


@pytest.mark.parametrize("line, noise", [
    ("Partager sur Facebook | Imprimer", True),   # a row of page tools
    ("Imprimer · Partager", True),
    ("Partager : Facebook | LinkedIn | E-mail", True),  # the networks after "Partager :"
    ("Partager : nos valeurs et nos projets", False),
    ("Accueil | Contact | Plan du site", True),   # a tool and menu words
    ("Logement | Santé", False),                  # menu words alone: could be a heading
    ("Créer des logements / accompagner les locataires", False),
    ("Partager sur Facebook | Envoyer par courriel | Imprimer", True),
    # when the page changed, links to other publications, the CPAS's address and hours
    ("Dernière modification le 03/03/2025 10:14", True),
    ("Mis en ligne le 3 février 2025", True),
    ("Publications liées : PST 2019-2024 · Rapport annuel 2018", True),
    ("CPAS de Thimbreux · Rue du Pont 4 · 5399 Thimbreux · 081 20 30 40", True),
    ("Accueil social : du lundi au vendredi de 8 h 30 à 11 h 30", True),
    ("Horaires : du lundi au jeudi de 9 h à 12 h et de 13 h à 16 h", True),
    ("Renforcer la permanence sociale : du lundi au vendredi de 8 h à 12 h", False),
    ("Le CPAS ouvrira une permanence du lundi au vendredi de 8 h à 12 h.", False),
    ("Nous ouvrirons une antenne à 5300 Seilles, joignable au 081 23 45 67.", False),
    ("Éditeur responsable : le Collège communal, place du Tilleul 1", True),
    ("Valmorel – Politique locale", True),
])
def test_a_row_of_page_tools_is_noise(line, noise):
    from pipeline.ingest.normalize import is_noise_line

    assert is_noise_line(line) is noise


def test_html_drops_a_row_of_share_and_print_links(tmp_path):
    page = tmp_path / "dps.html"
    page.write_text("<html><body><h1>Déclaration de politique sociale</h1><h2>Axe 1 : Logement"
                    "</h2><ul><li>Créer deux logements de transit.</li></ul>"
                    "<p>Partager sur Facebook | Imprimer</p></body></html>", encoding="utf-8")
    doc = ingest_file(page, "dps")
    assert "Créer deux logements de transit." in doc.text
    assert "Partager" not in doc.text and "Imprimer" not in doc.text


def test_empty_value_line_does_not_swallow_the_next(tmp_path):
    """A plan's "Budget : /" (no budget) ends its line; a line ending in "/" otherwise may
    continue ("et/ou" cut by the wrap)."""
    p = tmp_path / "plan.txt"
    p.write_text("Action 1.1.1 : Former les agents\nBudget : /\nIndicateur : nombre d'agents "
                 "formés\nDélai : -\nPilote : DG\n", encoding="utf-8")
    lines = ingest_file(p, "plan").text.split("\n")
    assert "Budget : /" in lines and "Délai : -" in lines
    assert "Indicateur : nombre d'agents formés" in lines and "Pilote : DG" in lines


_PLAN_TABLE_PAGE = """<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">
<title>PST – CPAS de Vellemont</title></head><body>
<nav><ul><li><a href="/">Accueil</a></li><li><a href="/cpas">Le CPAS</a></li></ul></nav>
<main><article><h1>Programme stratégique transversal 2025-2030</h1>
<p>Le tableau ci-dessous présente les actions du volet externe, adopté par le conseil le 25
septembre 2025, avec leur service pilote et leur échéance.</p>
<table><caption>Tableau 1 – Volet externe</caption>
<thead><tr><th>OS</th><th>OO</th><th>Actions</th><th>Service pilote</th><th>Échéance</th></tr></thead>
<tbody>
<tr><td>OS 1 – Être un CPAS proche</td><td>OO 1.1 – Réduire les délais</td>
<td>Prise de rendez-vous en ligne</td><td>Accueil</td><td>2026</td></tr>
<tr><td>OS 1 – Être un CPAS proche</td><td>OO 1.1 – Réduire les délais</td>
<td>Réponse écrite à toute demande dans les quinze jours</td><td>Service social</td><td>2025</td></tr>
</tbody></table></article></main><footer><p>CPAS de Vellemont – Rue du Pont 2</p></footer>
</body></html>"""


def test_html_table_caption_is_said_before_the_table_not_as_a_cell(tmp_path):
    """trafilatura writes a <caption> as a first row of one header cell: the reader says it
    before the table, so the header row below is the table's first row."""
    p = tmp_path / "vellemont-pst-2025.html"
    p.write_text(_PLAN_TABLE_PAGE, encoding="utf-8")
    doc = ingest_file(p, p.stem)
    cells = [b for b in doc.blocks if b.kind == "table_cell"]
    caption = [b for b in doc.blocks if doc.text[b.start:b.end] == "Tableau 1 – Volet externe"]
    assert caption and caption[0].kind != "table_cell"
    assert caption[0].start < cells[0].start
    assert doc.text[cells[0].start:cells[0].end] == "OS" and cells[0].row == 0


def test_html_table_cell_of_a_data_row_is_kept_whatever_its_words(tmp_path):
    """"Accueil" is a menu word (dropped from the page's navigation) but, as the pilot service
    of a plan row whose other cells are text, it is data and stays."""
    p = tmp_path / "vellemont-pst-2025.html"
    p.write_text(_PLAN_TABLE_PAGE, encoding="utf-8")
    doc = ingest_file(p, p.stem)
    cells = [doc.text[b.start:b.end] for b in doc.blocks if b.kind == "table_cell"]
    assert "Accueil" in cells and "Service social" in cells
    assert "Le CPAS" not in doc.text  # the menu is still dropped
    from pipeline.segment import segment

    units = segment(doc)
    first = next(u for u in units if u.kind == "action")
    assert first.text.startswith("Prise de rendez-vous") and first.service == "Accueil"
    assert first.deadline == "2026"
    assert not [u for u in units if u.text in ("OS", "Service pilote", "Échéance")
                and u.kind not in ("title", "navigation")]
