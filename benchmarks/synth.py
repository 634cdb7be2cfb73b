"""Synthetic corpus of CPAS declarations, for the speed benchmark and the scale tests.

``generate_corpus(dest, n_docs, seed)`` recombines and varies the material of the seed
declarations (``corpus/*.txt``, read at run time): preamble sentences, axis titles, items,
heading styles ("AXE n :", "1.", "Objectif stratégique n°x", "O.O.n."), Intentions/Objectifs
blocks and bullets.  Every item gets 1–3 qualifiers (public, partner, calendar, figure, place)
and most prose sentences a connector or a public/place, so that, as in a real corpus where
each CPAS words its own projects, about 88 % of the sentences and items of 300 declarations
are distinct (the rest: shared template wording) — the linguistic analysis cannot lean on
repeated text.  Each declaration has about 2,000 words; half are PDFs of 3–6 pages
(fpdf2, DejaVu Sans for the French accents, running header, "Page X / Y" footer), about a
fifth DOCX (python-docx, heading styles, list paragraphs), the rest plain text.  No scans.
Output is byte-for-byte deterministic for a given seed and seed corpus.

fpdf2 is a test/benchmark dependency (``.[test]`` extra); it is imported only when a PDF is
written.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import io
import random
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

#: Default seed corpus: ``<repository>/corpus``.
DEFAULT_SEEDS = Path(__file__).resolve().parents[1] / "corpus"

#: Share of each output format (cumulative thresholds over a per-document draw).
FORMAT_SHARES = (("pdf", 0.5), ("docx", 0.2), ("txt", 0.3))

#: The two legislatures every synthetic commune gets a declaration for.
LEGISLATURES = (("2019-2024", 2019), ("2025-2030", 2025))

MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
          "septembre", "octobre", "novembre", "décembre")

# Small generator vocabulary (not reference data: it only varies synthetic text).
_AXIS_FALLBACK = (
    "L'accès aux droits fondamentaux", "Le logement", "L'insertion socio-professionnelle",
    "La santé et le bien-être", "La coordination et les partenariats",
    "La gestion interne et les ressources humaines",
)
_FIRST = ("Marie", "Jean", "Anne", "Luc", "Sophie", "Michel", "Claire", "Pierre", "Nathalie",
          "Olivier", "Isabelle", "Philippe")
_LAST = ("Dubois", "Lambert", "Martin", "Renard", "Leclercq", "Dumont", "Lejeune", "Collard",
         "Masson", "Simon", "Gilson", "Piron")

_MARKER = re.compile(r"^\s*(?:[-*•\uf0b7]\s*|O\.O\.\s*\d+\.\s*)")
_AXE = re.compile(r"^AXE\s+\d+\s*:\s*(.+)$", re.IGNORECASE)
_NUMBERED = re.compile(r"^(?:\d+\.)+\s+(.+)$")
_SO = re.compile(r"\s*\(Objectif strat[ée]gique n°\s*\d+\)\s*$", re.IGNORECASE)
_SENT_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-ZÀ-Ý«])")
_LEGISLATURE = re.compile(r"\b20\d\d\s*-\s*20\d\d\b")
_CPAS_NAME = re.compile(r"CPAS (?:de |d'|d’)([A-ZÉ][\w-]+)")


@dataclass
class Material:
    """What the seeds offer: prose sentences, axis titles, items, strategic objectives, communes."""

    sentences: list[str] = field(default_factory=list)
    axes: list[str] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    strategic: list[str] = field(default_factory=list)
    communes: list[str] = field(default_factory=list)


def _clean(line: str) -> str:
    line = unicodedata.normalize("NFC", line)
    line = line.replace("**", "").replace("\\", "").strip()
    line = re.sub(r"^#+\s*", "", line)
    line = re.sub(r"\*\s*$", "", line).strip()
    return re.sub(r"\s+", " ", line)


def load_material(seeds: Path | None = None) -> Material:
    """Read every ``*.txt`` of ``seeds`` (default ``corpus/``) → the ``Material`` to recombine.

    Bulleted / "O.O.n." lines become items (hard-wrapped continuation lines starting with a
    lower-case letter are joined back), "AXE n :" and short "n." lines become axis titles,
    bold paragraphs ending in "(Objectif stratégique n°x)" strategic objectives, and long
    unmarked paragraphs are split into prose sentences.  Raises FileNotFoundError when the
    folder holds no .txt file.
    """
    seeds = Path(seeds) if seeds is not None else DEFAULT_SEEDS
    files = sorted(seeds.glob("*.txt"))
    if not files:
        raise FileNotFoundError(f"no seed declaration (*.txt) in {seeds}")
    m = Material()
    for f in files:
        raws = [raw for raw in f.read_text(encoding="utf-8").splitlines() if raw.strip()]
        lines = [_clean(raw) for raw in raws]
        merged: list[tuple[bool, str]] = []  # (is_item, text)
        prev_raw = ""
        for raw, line in zip(raws, lines, strict=True):
            is_item = bool(_MARKER.match(line))
            text = _MARKER.sub("", line).strip()
            prev = merged[-1][1] if merged else ""
            # hard-wrapped line (PDF-to-text): long, ends with a space, no final punctuation
            wrapped = (len(prev_raw) >= 80 and prev_raw.endswith(" ")
                       and not re.search(r"[.:;!?]$", prev))
            if merged and not is_item and (text[:1].islower() or wrapped):
                merged[-1] = (merged[-1][0], prev + " " + text)
            elif text:
                merged.append((is_item, text))
            prev_raw = raw
        for is_item, text in merged:
            text = text.rstrip(" ;*").strip()
            n_words = len(text.split())
            if n_words < 2:
                continue
            if is_item:
                m.items.append(text.rstrip("."))
                continue
            axe = _AXE.match(text)
            num = _NUMBERED.match(text)
            if axe:
                m.axes.append(axe.group(1).rstrip(". "))
            elif num and n_words <= 16:
                m.axes.append(num.group(1).rstrip(". :"))
            elif _SO.search(text):
                m.strategic.append(_SO.sub("", text))
            elif n_words >= 12:
                m.sentences.extend(s for s in _SENT_SPLIT.split(text) if len(s.split()) >= 6)
        m.communes.extend(c if c.upper() != c else c.title()
                          for c in _CPAS_NAME.findall(" ".join(lines)))
    m.axes = list(dict.fromkeys(m.axes)) or list(_AXIS_FALLBACK)
    m.items = list(dict.fromkeys(m.items))
    m.sentences = list(dict.fromkeys(m.sentences))
    m.strategic = list(dict.fromkeys(m.strategic)) or m.sentences[:5]
    m.communes = sorted(set(m.communes)) or ["Synthèse"]
    if not m.items or not m.sentences:
        raise ValueError(f"the seeds in {seeds} hold no bulleted item or no prose paragraph")
    return m


# ---------------------------------------------------------------------------------------
# Abstract declaration: a list of (kind, text, level) lines, rendered per format.
#   kind ∈ title, meta, para, heading (level 1 axis / 2 sub-heading), bullet (level 1/2),
#   signature.
# ---------------------------------------------------------------------------------------


@dataclass
class SynthDoc:
    """One synthetic declaration before rendering."""

    stem: str
    commune: str
    legislature: str
    header: str
    lines: list[tuple[str, str, int]]
    font_size: float = 11.0

    @property
    def n_words(self) -> int:
        return sum(len(t.split()) for _, t, _ in self.lines)


#: Pools a declaration draws from to make each item its own, as real declarations are: each
#: CPAS words its projects for its public, partners, calendar and figures.
_PUBLICS = (
    "les familles monoparentales", "les jeunes de 18 à 25 ans", "les aînés isolés",
    "les bénéficiaires du revenu d'intégration", "les personnes en situation de handicap",
    "les étudiants", "les travailleurs pauvres", "les personnes sans abri",
    "les ménages surendettés", "les primo-arrivants", "les enfants et leurs parents",
    "les locataires du logement public", "les personnes sortant d'institution",
    "les femmes victimes de violences", "les demandeurs d'emploi de longue durée",
)
_PARTNERS = (
    "avec le Plan de Cohésion Sociale", "avec les services communaux de {commune}",
    "avec la Maison de l'emploi", "avec les écoles de {commune}", "avec la maison médicale",
    "avec la Régie des quartiers", "avec la société de logement de service public",
    "avec les associations locales", "avec l'Agence locale pour l'emploi",
    "avec les CPAS voisins", "avec le relais social", "avec la police locale",
    "avec les mutualités", "avec le centre culturel de {commune}",
)
_WHEN = (
    "dès {year}", "d'ici {end}", "au cours de la législature", "chaque année",
    "dans les deux premières années", "avant la fin de {mid}", "à partir de {mid}",
    "selon un calendrier revu chaque année",
)
_MEASURE = (
    "pour au moins {n} ménages", "avec {n} places supplémentaires", "à raison de {k} permanences par mois",
    "avec un budget de {n} 000 euros", "en visant {k} nouveaux partenariats",
    "avec {k} équivalents temps plein", "pour {n} personnes par an",
)
_PLACES = ("à {commune}", "dans chaque quartier de {commune}", "dans les villages de l'entité",
           "au centre de {commune}", "sur tout le territoire communal")
_CONNECTORS = ("Par ailleurs, ", "En outre, ", "De plus, ", "À {commune}, ", "Concrètement, ",
               "Pour la législature, ", "Dans ce cadre, ", "")


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def _vary_item(rng: random.Random, item: str, commune: str = "", year: int = 2019) -> str:
    """``item`` with 1–3 qualifiers drawn from the pools (public, partner, calendar, figure, place)."""
    fill = {"commune": commune or "la commune", "year": year, "end": year + rng.randint(2, 5),
            "mid": year + rng.randint(1, 4), "n": rng.randint(2, 60) * 5, "k": rng.randint(2, 12)}
    pools = [tuple("pour " + p for p in _PUBLICS), _PARTNERS, _WHEN, _MEASURE, _PLACES]
    parts = [rng.choice(pool).format(**fill)
             for pool in rng.sample(pools, rng.choice((1, 1, 2, 2, 2, 3, 3)))]
    return " ".join([item, *parts])


def _vary_sentence(rng: random.Random, sentence: str, commune: str) -> str:
    """A prose sentence with, often, a connector in front (some name the commune) and a
    public or place before its final stop."""
    commune = commune or "la commune"
    connector = rng.choice(_CONNECTORS).format(commune=commune)
    if connector and rng.random() < 0.8:
        sentence = connector + _lower_first(sentence)
    if rng.random() < 0.5 and sentence.endswith("."):
        extra = rng.choice((f"en particulier pour {rng.choice(_PUBLICS)}",
                            rng.choice(_PLACES).format(commune=commune)))
        sentence = f"{sentence[:-1]}, {extra}."
    return sentence


def _de(commune: str) -> str:
    """French "de X" with elision before a vowel ("d'Ittre")."""
    return f"d'{commune}" if commune[:1] in "AEIOUYÉÈaeiouyéè" else f"de {commune}"


def _retarget(text: str, seeds: list[str], commune: str) -> str:
    """Replace the seed communes named in ``text`` by ``commune`` (with "de"/"d'" elision)."""
    names = "|".join(re.escape(n) for n in sorted(seeds, key=len, reverse=True))
    pattern = re.compile(rf"\b(de |d'|d’)?(?:{names})\b", re.IGNORECASE)
    return pattern.sub(lambda mo: _de(commune) if mo.group(1) else commune, text)


_SYL1 = ("Mar", "Bel", "Vil", "Hon", "Fla", "Ser", "Cor", "Lom", "Bra", "Tav", "Gen", "Ros",
         "Wal", "Ame", "Fon", "Jam")
_SYL2 = ("chin", "ver", "lin", "sart", "mont", "ber", "nay", "roux", "lette", "biet", "ghem",
         "pré", "bais", "tin", "oye", "mal")
_SYL3 = ("ville", "court", "bois", "champs", "mont", "fontaine", "sart", "rieux")


def _commune_name(m: Material, k: int) -> str:
    """The ``k``-th commune: the seed communes first, then unique made-up Walloon-like names."""
    if k < len(m.communes):
        return m.communes[k]
    j = k - len(m.communes)
    name = _SYL1[j % 16] + _SYL2[(j // 16) % 16] + _SYL3[(j // 256) % 8]
    return name if j < 2048 else f"{name}-{j // 2048 + 1}"


def _slug(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def build_document(m: Material, index: int, seed: int) -> SynthDoc:
    """The ``index``-th synthetic declaration for ``seed`` (pure: same inputs → same doc).

    Commune ``index // 2``, legislature ``index % 2``; heading style, block style and length
    (1,700–2,400 words) drawn from a generator seeded by (seed, index).  Seed communes and
    legislatures ("2018-2024") named in borrowed sentences are replaced by the document's own.
    """
    rng = random.Random(f"{seed}:{index}")
    commune = _commune_name(m, index // 2)
    legislature, year = LEGISLATURES[index % 2]
    target = rng.randint(1700, 2400)
    style = rng.choice(("axe", "numbered", "strategic", "axe_tiret"))
    block_style = rng.choice(("intentions", "oo", "bullets"))
    president = f"{rng.choice(_FIRST)} {rng.choice(_LAST).upper()}"
    day, month = rng.randint(1, 28), rng.choice(MONTHS[:3])
    lines: list[tuple[str, str, int]] = []
    title = rng.choice((
        f"Déclaration de politique sociale – Législature {legislature}",
        f"DECLARATION DE POLITIQUE SOCIALE - {legislature} - CPAS {_de(commune)}",
        "Déclaration de politique sociale",
    ))
    lines.append(("title", title, 0))
    lines.append(("meta", f"Conseil de l'action sociale du {day} {month} {year}", 0))
    if "CPAS" not in title:
        lines.append(("meta", f"CPAS {_de(commune)}", 0))

    def paragraph(n: int) -> str:
        picked = rng.sample(m.sentences, min(n, len(m.sentences)))
        return " ".join(_vary_sentence(rng, x, commune) for x in picked)

    def vary(item: str) -> str:
        return _vary_item(rng, item, commune, year)

    for _ in range(rng.randint(2, 3)):
        lines.append(("para", paragraph(rng.randint(3, 5)), 0))

    closing_words = 90
    axis_no = 0
    axes = rng.sample(m.axes, len(m.axes))
    while sum(len(t.split()) for _, t, _ in lines) + closing_words < target:
        axis_no += 1
        axis = axes[(axis_no - 1) % len(axes)]
        if style == "axe":
            lines.append(("heading", f"AXE {axis_no} : {axis}", 1))
        elif style == "axe_tiret":
            lines.append(("heading", f"Axe {axis_no} – {axis}", 1))
        elif style == "numbered":
            lines.append(("heading", f"{axis_no}. {axis}", 1))
        else:
            so = rng.choice(m.strategic)
            lines.append(("heading", f"{so} (Objectif stratégique n°{axis_no})", 1))
        if rng.random() < 0.5:
            lines.append(("para", paragraph(rng.randint(1, 2)), 0))
        items = rng.sample(m.items, min(len(m.items), rng.randint(6, 10)))
        if block_style == "intentions":
            cut = len(items) // 2
            lines.append(("heading", "Intentions :", 2))
            lines += [("bullet", vary(it) + ".", 1) for it in items[:cut]]
            lines.append(("heading", "Objectifs :", 2))
            lines += [("bullet", vary(it) + ".", 1) for it in items[cut:]]
        elif block_style == "oo":
            lines.append(("heading", "Objectifs opérationnels s'y rapportant :", 2))
            lines += [("bullet", f"O.O.{k}. {vary(it)}", 0)
                      for k, it in enumerate(items, 1)]
        else:
            for k, it in enumerate(items):
                level = 2 if k and rng.random() < 0.2 else 1
                lines.append(("bullet", vary(it) + " ;", level))
    lines.append(("para", paragraph(3), 0))
    lines.append(("signature", "Le Président", 0))
    lines.append(("signature", president, 0))
    lines = [(k, t if k in ("title", "meta")
              else _LEGISLATURE.sub(legislature, _retarget(t, m.communes, commune)), lv)
             for k, t, lv in lines]
    stem = f"cpas-{_slug(commune)}-dps-{legislature}"
    header = f"CPAS {_de(commune)} – Déclaration de politique sociale {legislature}"
    return SynthDoc(stem=stem, commune=commune, legislature=legislature, header=header,
                    lines=lines, font_size=rng.choice((9.0, 9.5, 10.0, 10.5, 11.0)))


# ---------------------------------------------------------------------------------------
# Renderers
# ---------------------------------------------------------------------------------------


def render_txt(doc: SynthDoc) -> str:
    """Plain-text rendering: one line per block, blank line between blocks, "-"/"*" bullets."""
    out = []
    for kind, text, level in doc.lines:
        if kind == "bullet" and level == 1:
            out.append(f"- {text}")
        elif kind == "bullet" and level == 2:
            out.append(f"* {text}")
        else:
            out.append(text)
    return "\n\n".join(out) + "\n"


def _font_path(bold: bool = False) -> Path:
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("matplotlib (which ships DejaVu Sans) is needed to write PDFs")
    base = Path(next(iter(spec.submodule_search_locations)))
    return base / "mpl-data" / "fonts" / "ttf" / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")


_EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)


def _pdf_bytes(doc: SynthDoc, size: float) -> tuple[bytes, int]:
    from fpdf import FPDF

    class _PDF(FPDF):
        def header(self):  # noqa: D401 - fpdf2 hook
            self.set_font("dejavu", "", 8)
            self.cell(0, 6, doc.header, align="C")
            self.ln(10)

        def footer(self):
            self.set_y(-14)
            self.set_font("dejavu", "", 8)
            self.cell(0, 6, f"Page {self.page_no()} / {{nb}}", align="C")

    pdf = _PDF(format="A4")
    pdf.set_creation_date(_EPOCH)
    pdf.set_title(doc.header)
    pdf.add_font("dejavu", "", str(_font_path()))
    pdf.add_font("dejavu", "B", str(_font_path(bold=True)))
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.set_margins(20, 15, 20)
    pdf.add_page()
    lh = size * 0.5
    for kind, text, level in doc.lines:
        pdf.set_x(pdf.l_margin)
        if kind == "title":
            pdf.set_font("dejavu", "B", size + 3)
            pdf.multi_cell(0, lh + 1.5, text, align="C")
            pdf.ln(2)
        elif kind == "heading":
            pdf.ln(2)
            pdf.set_font("dejavu", "B", size + (1 if level == 1 else 0))
            pdf.multi_cell(0, lh + 0.5, text, align="L")
            pdf.ln(1)
        elif kind == "bullet":
            pdf.set_font("dejavu", "", size)
            indent = 6 if level <= 1 else 12
            if level == 0:  # "O.O.n." items carry their own label
                pdf.multi_cell(0, lh, text, align="J")
            else:
                pdf.set_x(pdf.l_margin + indent - 4)
                pdf.cell(4, lh, "•" if level == 1 else "–")
                pdf.multi_cell(0, lh, text, align="J")
        elif kind == "para":
            pdf.set_font("dejavu", "", size)
            pdf.multi_cell(0, lh, text, align="J")
            pdf.ln(1.5)
        else:  # meta, signature
            pdf.set_font("dejavu", "B" if kind == "signature" else "", size)
            pdf.multi_cell(0, lh, text, align="L")
    return bytes(pdf.output()), pdf.page_no()


def render_pdf(doc: SynthDoc, min_pages: int = 3, max_pages: int = 6) -> bytes:
    """PDF rendering (A4, DejaVu Sans, running header, "Page X / Y" footer, "•" bullets).

    Tries body sizes from ``doc.font_size`` down/up until the page count lies in [min_pages, max_pages];
    returns the last attempt if none does.
    """
    data = b""
    base = doc.font_size
    for size in (base, base - 1, base + 1, base - 2, base + 2, base - 3, base + 3):
        data, pages = _pdf_bytes(doc, size)
        if min_pages <= pages <= max_pages:
            break
    return data


def _add_page_field(paragraph, instr: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    run = paragraph.add_run()
    for tag, attr in (("w:fldChar", "begin"), ("w:instrText", instr), ("w:fldChar", "end")):
        el = OxmlElement(tag)
        if tag == "w:fldChar":
            el.set(qn("w:fldCharType"), attr)
        else:
            el.set(qn("xml:space"), "preserve")
            el.text = attr
        run._r.append(el)


def _fixed_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed timestamps so the bytes depend on the content only."""
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            zi = zipfile.ZipInfo(info.filename, date_time=(2024, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = info.external_attr
            dst.writestr(zi, src.read(info.filename))
    return buf.getvalue()


def render_docx(doc: SynthDoc) -> bytes:
    """DOCX rendering: Title/Heading 1/Heading 2 styles, "List Bullet"/"List Bullet 2"
    paragraphs, running header and a "Page X / Y" footer made of PAGE/NUMPAGES fields."""
    import docx

    d = docx.Document()
    props = d.core_properties
    props.created = props.modified = _EPOCH.replace(tzinfo=None)
    props.author = props.last_modified_by = "cpas-compare synth"
    props.title = doc.header
    section = d.sections[0]
    section.header.paragraphs[0].text = doc.header
    foot = section.footer.paragraphs[0]
    foot.add_run("Page ")
    _add_page_field(foot, "PAGE")
    foot.add_run(" / ")
    _add_page_field(foot, "NUMPAGES")
    for kind, text, level in doc.lines:
        if kind == "title":
            d.add_heading(text, level=0)
        elif kind == "heading":
            d.add_heading(text, level=level)
        elif kind == "bullet" and level >= 1:
            d.add_paragraph(text, style="List Bullet" if level == 1 else "List Bullet 2")
        elif kind == "signature":
            d.add_paragraph().add_run(text).bold = True
        else:
            d.add_paragraph(text)
    buf = io.BytesIO()
    d.save(buf)
    return _fixed_zip(buf.getvalue())


def format_for(index: int, seed: int) -> str:
    """Output format of the ``index``-th document: "pdf" (½), "docx" (⅕) or "txt" (the rest).

    Exact shares over any run of 10 consecutive indices: 5 PDF, 2 DOCX, 3 TXT (the order
    inside each run of 10 is shuffled by ``seed``).
    """
    order = ["pdf"] * 5 + ["docx"] * 2 + ["txt"] * 3
    random.Random(f"fmt:{seed}:{index // 10}").shuffle(order)
    return order[index % 10]


def write_document(doc: SynthDoc, fmt: str, dest: Path) -> Path:
    """Render ``doc`` as ``fmt`` into folder ``dest`` → path of the file written."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / f"{doc.stem}.{fmt}"
    if fmt == "pdf":
        path.write_bytes(render_pdf(doc))
    elif fmt == "docx":
        path.write_bytes(render_docx(doc))
    elif fmt == "txt":
        path.write_text(render_txt(doc), encoding="utf-8", newline="\n")
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return path


def generate_corpus(dest: Path, n_docs: int, seed: int = 0, *, seeds: Path | None = None,
                    start: int = 0) -> list[Path]:
    """Write ``n_docs`` synthetic declarations (indices ``start`` … ``start+n_docs-1``) into
    ``dest`` and return their paths, in index order.

    Deterministic: the same (n_docs, seed, start, seed corpus) writes the same bytes; the
    document of a given index does not depend on ``n_docs``, so ``start=n`` yields "one more"
    declaration for an existing corpus of n.
    """
    material = load_material(seeds)
    return [write_document(build_document(material, i, seed), format_for(i, seed), dest)
            for i in range(start, start + n_docs)]
