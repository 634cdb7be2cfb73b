"""Classified lines → tree of units (second half of the segmenter).

``build_units(doc, lines, patterns)`` walks the lines with a stack of open nodes (sections,
axes, headings, items) and returns the units in text order, ids "u0001"… and parents set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pipeline.models import Document, Unit
from pipeline.segment.content import continues_policy, is_policy_sentence, load_cues
from pipeline.segment.lines import _NOT_INFINITIVE, Line, Role
from pipeline.segment.patterns import Patterns, detail_fields, field_of, word_list
from pipeline.segment.sentences import split_sentences

_WS_RE = re.compile(r"\s+")
_HEADER_CELL_RE = re.compile(
    r"^(?:axes?|objectifs?|actions?|projets?|intitul|pilote|responsable|[ée]ch[ée]ance|budget|"
    r"indicateur|partenaires?|calendrier|d[ée]lai|os\b|oo\b|n°|th[èe]me|priorit|services?\b|"
    r"porteur|co[ûu]t|montant|moyens|timing|r[ée]f[ée]ren|num[ée]ro\b|r[ée]f\b)", re.IGNORECASE)
_NUMBER_HEADER_RE = re.compile(r"^(?:n°|no\.?|num[ée]ro|r[ée]f(?:[ée]rence)?\.?|code)$", re.IGNORECASE)
_NUMBER_CELL_RE = re.compile(r"^\d{1,2}(?:\.\d{1,2}){0,3}\.?$")
#: a cell holding only a plan code ("OS 1", "O.O. 2.3"), no text of its own
_CODE_ONLY_RE = re.compile(r"^(?:O\.?\s?S\.?|O\.?\s?O\.?)\s*\d{1,2}(?:\.\d{1,2}){0,2}\.?$", re.IGNORECASE)
_CELL_SPLIT_RE = re.compile(r"(?<=;)\s+|\s+(?=[-•–]\s)")
_CELL_BULLET_RE = re.compile(r"([-•–*])\s*")
_DETERMINERS = word_list("determiners")
_INFINITIVE_RE = re.compile(r"^[A-ZÀ-Ý][a-zà-ÿ]+(?:er|ir|re)\b(?!['’])")


@dataclass
class _Node:
    """A unit under construction (``parent`` is the index of its parent node, -1 at top)."""

    kind: str
    start: int
    end: int
    label: str
    body: list[tuple[int, int]]
    parent: int = -1
    block: str = ""
    page: int | None = None
    cls: str = ""  # the Role of the line that opened it (SECTION, AXIS, HEADING…), "T" for a leaf
    style: str = ""
    numbered: bool = False
    children: list[int] = field(default_factory=list)
    generic: bool = False
    fields: dict[str, str] = field(default_factory=dict)  # a plan's detail: field → value


#: line roles that end a preamble opened by a heading ("Introduction", "Contexte")
_PREAMBLE_ENDS = (Role.HEADING, Role.HEADING_CANDIDATE, Role.AXIS, Role.SECTION,
                  Role.BLOCK_HEADER, Role.PREAMBLE_HEADING, Role.NUMBERED, Role.CELL,
                  Role.SIGNATURE)
#: what may follow such a part without closing the declaration's body: another preamble part
#: ("Conclusion"), the signature
_BODY_ENDS = (Role.PREAMBLE_HEADING, Role.SIGNATURE)
#: a preamble that runs to the end of the document is the declaration's body when this many of
#: its prose sentences, and this share of them, are commitments
RELEASE_MIN_POLICY = 3
RELEASE_MIN_SHARE = 0.4


def _preamble_release(lines: list[Line], text: str, pat: Patterns, cues) -> set[int]:
    """Where an introductory preamble heading (patterns.toml ``[preamble] release_heads``:
    "Introduction", "Contexte", "Préambule") opens a part that no structural heading closes
    (only prose, list items, page furniture, then another preamble heading, the signature or
    the end of the document: a declaration in prose under "Introduction"), and at least
    ``RELEASE_MIN_POLICY`` of its prose sentences, ``RELEASE_MIN_SHARE`` of them, are
    commitments (:func:`is_policy_sentence`) that do not speak of the document itself
    (``[preamble] self_reference``: "La présente déclaration guidera…"): the start offset of
    its first prose line holding such a commitment. From there its prose is read as the
    declaration's statements and context. A preamble closed by a heading is left whole.
    Returns the set of those start offsets (one per such preamble)."""
    out: set[int] = set()
    if pat.release_heads is None:
        return out
    n = len(lines)
    for i, ln in enumerate(lines):
        if ln.role != Role.PREAMBLE_HEADING or not pat.release_heads.match(ln.text.strip()):
            continue
        j = i + 1
        while j < n and lines[j].role not in _PREAMBLE_ENDS:
            j += 1
        if j < n and lines[j].role not in _BODY_ENDS:
            continue
        first, n_policy, n_sent = None, 0, 0
        for p in lines[i + 1:j]:
            if p.role != Role.PARAGRAPH:
                continue
            spans = split_sentences(text, p.start, p.end, pat.abbreviations)
            flags = [is_policy_sentence(text[s:e], cues)[0] and not (
                pat.self_reference and pat.self_reference.search(text[s:e]))
                for s, e in spans]
            n_sent += len(flags)
            n_policy += sum(flags)
            if first is None and any(flags):
                first = p.start
        if first is not None and n_policy >= RELEASE_MIN_POLICY \
                and n_policy >= RELEASE_MIN_SHARE * n_sent:
            out.add(first)
    return out


def _clean(text: str) -> str:
    t = _WS_RE.sub(" ", text).strip()
    t = re.sub(r"\s*:\s*$", "", t)
    return t.strip()


class _Builder:
    def __init__(self, doc: Document, patterns: Patterns):
        self.doc = doc
        self.pat = patterns
        self.nodes: list[_Node] = []
        self.stack: list[int] = []
        self.block = ""
        self.block_owner = -2
        self.preamble_mode = False
        self.cues = load_cues()
        #: list items made context because a sentence about the document announced their list
        self.led: set[int] = set()
        self.plan = (doc.metadata or {}).get("doc_kind") == "pst"
        #: table cells that only repeat the merged OS / OO cell above them
        self.repeat_spans: list[tuple[int, int]] = []
        #: start offsets of the prose lines where a preamble that would run to the end of the
        #: document gives way to the declaration's body (:func:`_preamble_release`)
        self.release: set[int] = set()

    # -- helpers
    def add(self, kind, start, end, label="", body=None, parent=-1, block="", page=None,
            cls="T", style="", numbered=False) -> int:
        node = _Node(kind, start, end, label, body if body is not None else [(start, end)],
                     parent, block, page, cls, style, numbered)
        self.nodes.append(node)
        idx = len(self.nodes) - 1
        if parent >= 0:
            self.nodes[parent].children.append(idx)
        return idx

    def top(self) -> int:
        return self.stack[-1] if self.stack else -1

    def top_kind(self) -> str:
        t = self.top()
        return self.nodes[t].kind if t >= 0 else ""

    def pop_items(self) -> None:
        while self.stack and self.nodes[self.stack[-1]].cls == Role.ITEM:
            self.stack.pop()

    def pop_until(self, keep) -> None:
        while self.stack and not keep(self.nodes[self.stack[-1]]):
            self.stack.pop()

    def _block_for_new_item(self) -> str:
        if self.block and self.block_owner in self.stack + [-1]:
            return self.block
        return ""

    def reset_block(self) -> None:
        self.block, self.block_owner = "", -2

    # -- line handlers
    def number_label(self, idx: int, number: Line | None, own_row: bool = False) -> None:
        """A table row's number ("1.1.1", N° column) becomes the label of the row's unit when
        only blanks separate them, or always when ``own_row`` (the row's OS and OO cells
        stand between the number and its action)."""
        if number is None:
            return
        nd = self.nodes[idx]
        if number.start < nd.start and not self.doc.text[number.end:nd.start].strip():
            nd.label = number.text.strip()
            nd.start = number.start
            return
        self.add("title", number.start, number.end, page=number.page)
        gap = self.doc.text[number.end:nd.start]
        for s, e in self.repeat_spans:  # a merged OS cell said again between
            if number.end <= s and e <= nd.start:
                gap = gap.replace(self.doc.text[s:e], "", 1)
        if number.start < nd.start and (own_row or not gap.strip()):
            nd.label = number.text.strip()

    def detail(self, start: int, end: int, fields: dict[str, str], page, parent: int) -> int:
        """A plan's detail (pilot, deadline, budget, indicator) of node ``parent``."""
        idx = self.add("detail", start, end, parent=parent, page=page, cls="P")
        self.nodes[idx].fields = dict(fields)
        return idx

    def described(self) -> int:
        """The node a plan's detail line describes: the last action, objective or group."""
        for k in range(len(self.nodes) - 1, -1, -1):
            if self.nodes[k].kind in ("action", "objective", "group", "statement"):
                return k
            if self.nodes[k].kind in ("axis", "section"):
                break
        return self.top()

    def line(self, ln: Line) -> None:
        role = ln.role
        page = ln.page
        if self.plan and role not in (Role.NAVIGATION, Role.TITLE, Role.SIGNATURE):
            fields = detail_fields(self.doc.text[ln.start:ln.end], self.pat)
            if fields is not None:
                self.detail(ln.start, ln.end, fields, page, self.described())
                return
        if role == Role.NAVIGATION:
            self.add("navigation", ln.start, ln.end, body=[(ln.start, ln.end)], page=page)
        elif role == Role.TITLE:
            if getattr(ln, "subhead", False) and self.stack \
                    and self.nodes[self.stack[-1]].cls == Role.PREAMBLE_HEADING:
                # a newsroom subhead after a rubric such as "Le mot du Bourgmestre" ends it
                self.stack.clear()
                self.reset_block()
            self.add("title", ln.start, ln.end, label=ln.label, body=[(ln.body, ln.body_end)],
                     page=page)
        elif role == Role.SIGNATURE:
            prev = self.nodes[-1] if self.nodes else None
            if prev is not None and prev.kind == "signature" and prev.cls == "T" \
                    and not self.doc.text[prev.end:ln.start].strip():
                prev.end = ln.end
                prev.body.append((ln.start, ln.end))
            else:
                self.add("signature", ln.start, ln.end, page=page)
        elif role == Role.PREAMBLE:
            self.add("preamble", ln.start, ln.end, label=ln.label,
                     body=[(ln.body, ln.body_end)], page=page)
        elif role == Role.PREAMBLE_HEADING:
            self.stack.clear()
            self.reset_block()
            idx = self.add("preamble", ln.start, ln.end, label=ln.label,
                           body=[(ln.body, ln.body_end)], page=page, cls=Role.PREAMBLE_HEADING)
            self.stack.append(idx)
        elif role == Role.SECTION:
            self.stack.clear()
            self.reset_block()
            idx = self.add("section", ln.start, ln.end, label=ln.label,
                           body=[(ln.body, ln.body_end)], page=page, cls=Role.SECTION, style=ln.style)
            self.nodes[idx].generic = ln.generic
            self.stack.append(idx)
        elif role == Role.AXIS and ln.style == "axis:announced":
            self.announced_axis(ln)
        elif role == Role.AXIS:
            self.pop_until(lambda nd: nd.cls == Role.SECTION)
            self.reset_block()
            idx = self.add("axis", ln.start, ln.end, label=ln.label,
                           body=[(ln.body, ln.body_end)], parent=self.top(), page=page, cls=Role.AXIS,
                           style=ln.style)
            self.nodes[idx].generic = ln.generic and not ln.label
            self.stack.append(idx)
        elif role == Role.HEADING:
            self.heading(ln)
        elif role == Role.BLOCK_HEADER:
            self.header(ln)
        elif role == Role.ITEM:
            self.item(ln)
        else:  # P (and anything unexpected): prose
            self.prose(ln)

    def heading(self, ln: Line) -> None:
        self.pop_items()
        while self.stack and self.nodes[self.stack[-1]].cls == Role.PREAMBLE_HEADING:
            self.stack.pop()
        self.reset_block()
        # same style in the open headings → sibling of that one
        styles = [self.nodes[i].style for i in self.stack]
        if ln.style in styles and self.nodes[self.stack[styles.index(ln.style)]].cls == Role.HEADING:
            k = styles.index(ln.style)
            del self.stack[k:]
        else:
            lvl = ln.heading_hint
            nd = ln.numdepth
            if ln.style in ("plain", "bold") and self.stack:
                # an unnumbered heading after a numbered heading's content: its sibling
                # (a number lost by OCR / copy), not a sub-heading
                t = self.nodes[self.stack[-1]]
                if t.cls == Role.HEADING and t.numbered and any(
                        self.nodes[c].kind not in ("title", "navigation") for c in t.children):
                    self.stack.pop()
            while self.stack:
                t = self.nodes[self.stack[-1]]
                if t.cls != Role.HEADING:
                    break
                tl = int(t.style[1:]) if re.fullmatch(r"h\d", t.style) else 0
                tn = int(t.style[3:]) if re.fullmatch(r"num\d+", t.style) else 0
                if (lvl and tl and tl >= lvl) or (nd and tn and tn >= nd):
                    self.stack.pop()
                    continue
                break
        parent = self.top()
        pk = self.nodes[parent].kind if parent >= 0 else ""
        kind = "group" if pk in ("axis", "group") else "axis"
        idx = self.add(kind, ln.start, ln.end, label=ln.label, body=[(ln.body, ln.body_end)],
                       parent=parent, page=ln.page, cls=Role.HEADING, style=ln.style,
                       numbered=ln.style.startswith(("num", "roman", "letter")))
        self.nodes[idx].generic = ln.generic
        self.stack.append(idx)

    def announced_axis(self, ln: Line) -> None:
        """A paragraph naming an axis announced earlier: its first sentence is the axis, the
        rest of the paragraph its first children."""
        self.pop_until(lambda nd: nd.cls == Role.SECTION)
        self.reset_block()
        spans = split_sentences(self.doc.text, ln.start, ln.end, self.pat.abbreviations)
        s0, e0 = spans[0] if spans else (ln.start, ln.end)
        idx = self.add("axis", ln.start, e0, body=[(s0, e0)], parent=self.top(), page=ln.page,
                       cls=Role.AXIS, style=ln.style)
        self.stack.append(idx)
        if len(spans) > 1:
            rest = Line(spans[1][0], ln.end, self.doc.text[spans[1][0]:ln.end], ln.hint,
                        role=Role.PARAGRAPH, page=ln.page)
            rest.body, rest.body_end = rest.start, rest.end
            self.prose(rest)

    def _explicit_context(self, sentence: str) -> bool:
        """A sentence the content test rejects on a cue of its own (thanks, past, numbers,
        reporting…), not merely for want of a commitment cue nor for a final "…" (an item's
        "etc.")."""
        policy, cue = is_policy_sentence(sentence, self.cues)
        return not policy and cue not in ("no-commitment-cue", "override:fragment")

    def _item_is_context(self, text: str) -> bool:
        """A list item whose words say it is no commitment, on one of the cues in
        ``ITEM_CONTEXT_CUES`` (the tool described, a past fact, a figure compared with an
        earlier year, a question, thanks, the method of the document). Other cues are for
        prose: in a list of commitments "20 places supplémentaires en crèche" is a target, not
        a statistic, and "Conformément à l'article 60, engager…" a commitment."""
        policy, cue = is_policy_sentence(text, self.cues)
        return not policy and cue in ITEM_CONTEXT_CUES

    def in_block(self, block: str) -> bool:
        return self.block == block and self.block_owner in self.stack + [-1]

    def header(self, ln: Line) -> None:
        sibling = ln.block == "actions" and (
            re.match(r"(?i)^(?:nos|les)\s", ln.text.strip()) is not None
            or self.block in ("engagements", "priorites", "constat"))
        if ln.block == "actions" and not sibling:
            # keep the last open objective: the actions belong to it
            items = [i for i in self.stack if self.nodes[i].cls == Role.ITEM
                     and self.nodes[i].kind == "objective"]
            if items:
                k = self.stack.index(items[-1])
                del self.stack[k + 1:]
            else:
                self.pop_items()
        else:
            self.pop_items()
        parent = self.top()
        self.add("title", ln.start, ln.end, label="", body=[(ln.body, ln.body_end)],
                 parent=parent, block=ln.block, page=ln.page)
        self.block, self.block_owner = ln.block, parent

    def _item_like_group(self, i: int) -> bool:
        """A numbered group heading that opened a sub-list of another style ("3. … :" then
        "– …"): an item of its list, not a heading of its own numbered list ("1. Logement"
        then "1. …", "2. …")."""
        nd = self.nodes[i]
        if nd.cls != Role.HEADING or nd.kind != "group" or not nd.numbered:
            return False
        styles = {self.nodes[c].style for c in nd.children if self.nodes[c].cls == Role.ITEM}
        return bool(styles) and nd.style not in styles

    def item(self, ln: Line) -> None:
        # sibling of an open item of the same style, else child of the top node
        # (a numbered item that opened a sub-list, "3. … :" then "– …" lines, is a group
        # heading: "4." after the sub-list is its sibling, not a child of the last "– …")
        item_pos = [k for k, i in enumerate(self.stack) if self.nodes[i].cls == Role.ITEM
                    or self._item_like_group(i)]
        same = [k for k in item_pos if self.nodes[self.stack[k]].style == ln.style]
        if same:
            del self.stack[same[-1]:]
        parent = self.top()
        pk = self.nodes[parent].kind if parent >= 0 else ""
        block = self._block_for_new_item()
        if ln.fixed:
            kind = ln.fixed
        elif block == "constat":
            kind = "context"
        elif pk in ("objective", "action"):
            kind = "action"
        elif pk == "preamble":
            kind = "preamble"
        elif block == "actions":
            kind = "action"
        else:
            kind = "objective"
        led = False
        if kind in ("objective", "action") and not ln.fixed:
            led = self._framing_lead(parent, ln)
            if led or self._item_is_context(self.doc.text[ln.body:ln.body_end]):
                kind = "context"
        idx = self.add(kind, ln.start, ln.end, label=ln.label, body=[(ln.body, ln.body_end)],
                       parent=parent, block=block if kind in ("objective", "action", "context") else "",
                       page=ln.page, cls=Role.ITEM, style=ln.style)
        if led:
            self.led.add(idx)
        self.stack.append(idx)

    def _framing_lead(self, parent: int, ln: Line) -> bool:
        """Whether the new item ``ln`` belongs to a list announced by a sentence about the
        document itself ("Il a été élaboré selon le calendrier suivant :", patterns.toml
        [framing_lead]) that the content test reads as context, or is a bulleted item that
        follows, with no blank line between, a bulleted item of the same style led so."""
        if not self.nodes or self.pat.framing_lead is None:
            return False
        k = len(self.nodes) - 1
        prev = self.nodes[k]
        if prev.parent != parent or re.search(r"\n[ \t]*\n", self.doc.text[prev.end:ln.start]):
            return False
        if prev.cls == Role.ITEM:
            return (k in self.led and prev.style == ln.style and bool(ln.label)
                    and bool(prev.label))
        if prev.cls != "P" or prev.kind != "context":
            return False
        sentence = self.doc.text[prev.start:prev.end].rstrip()
        colon = re.match(r"[ \t\u00a0]*:", self.doc.text[prev.end:prev.end + 4])
        if colon:
            sentence += ":"
        return bool(sentence.endswith(":") and self.pat.framing_lead.search(
            sentence.replace("\n", " ")))

    def prose(self, ln: Line) -> None:
        self.pop_items()
        parent = self.top()
        pk = self.nodes[parent].kind if parent >= 0 else ""
        spans = split_sentences(self.doc.text, ln.start, ln.end, self.pat.abbreviations)
        if not spans:
            return
        first = self.doc.text[spans[0][0]:spans[0][1]]
        if pk in ("axis", "group") and ((
                len(spans) <= 2 and ln.words <= 45 and _INFINITIVE_RE.match(first)
                and first.split()[0].lower() not in _NOT_INFINITIVE) or getattr(ln, "listlike", False)) \
                and not self._explicit_context(first):
            # "Favoriser l'accueil…" under an axis: an objective whose bullet was lost
            ln.style = "inf"
            self.item(ln)
            return
        if pk == "preamble" and self.nodes[parent].cls == Role.PREAMBLE_HEADING \
                and ln.start in self.release:
            # the prose declaration that follows an "Introduction" heading with no heading
            # after it: the preamble ends here
            self.stack.remove(parent)
            parent = self.top()
            pk = self.nodes[parent].kind if parent >= 0 else ""
        if pk == "preamble" or any(p.search(first) for p in self.pat.preamble_cues):
            self.add("preamble", ln.start, ln.end, parent=parent if pk == "preamble" else parent,
                     page=ln.page)
            return
        if self.in_block("constat") or (self.pat.constat_inline is not None
                                        and self.pat.constat_inline.match(first.strip())):
            # "Constat :" (a header above, or the paragraph's own label): a description
            for s, e in spans:
                self.add("context", s, e, parent=parent,
                         page=self.doc.page_at(s) if self.doc.pages else ln.page, cls="P")
            return
        prev_policy = False
        for s, e in spans:
            sentence = self.doc.text[s:e]
            policy, cue = is_policy_sentence(sentence, self.cues)
            if not policy and cue == "no-commitment-cue" and prev_policy:
                policy = continues_policy(sentence, self.cues)
            prev_policy = policy
            self.add("statement" if policy else "context", s, e, parent=parent,
                     page=self.doc.page_at(s) if self.doc.pages else ln.page, cls="P")

    def coded_unit(self, code: str) -> int:
        """The axis or objective read earlier whose text opens on ``code`` ("OS 1" →
        "OS 1 – Être un CPAS accessible…"); -1 when none."""
        key = _WS_RE.sub(" ", code.strip().rstrip(".")).casefold()
        for k in range(len(self.nodes) - 1, -1, -1):
            nd = self.nodes[k]
            if nd.kind not in ("axis", "objective"):
                continue
            head = _WS_RE.sub(" ", self.doc.text[nd.start:nd.end].strip()).casefold()
            if head.startswith(key) and head[len(key):len(key) + 1] in (" ", "–", "-", ":", ".", ")"):
                return k
        return -1

    # -- tables
    def table(self, cells: list[Line]) -> None:
        """PST table cells → axis (col 0) / objective (col 1) / actions (col 2) / statements."""
        by_row: dict[tuple, dict[int, list[Line]]] = {}
        order: list[tuple] = []
        for c in cells:
            h = c.hint
            key = (h.table if h.table is not None else 0, h.row if h.row is not None else 0)
            if key not in by_row:
                by_row[key] = {}
                order.append(key)
            by_row[key].setdefault(h.col if h.col is not None else 0, []).append(c)
        ncols = max((max(r) for r in by_row.values() if r), default=0) + 1
        col_axis, col_obj, col_act = 0, (1 if ncols > 1 else -1), (2 if ncols > 2 else -1)
        # the OS heading above a table that has no OS column ("Objectif stratégique 1 : …"
        # then a table OO | Action | …) stays the parent of the table's rows
        open_axis = next((i for i in reversed(self.stack) if self.nodes[i].kind == "axis"), -1)
        self.pop_until(lambda nd: nd.cls == Role.SECTION)
        sect = self.top()
        axis = obj = -1
        axis_text = obj_text = None
        header_rows: set[tuple] = set()
        col_field: dict[int, str] = {}  # a plan's detail columns (pilot, deadline, …)
        num_col: int | None = None  # a "N°" column: 1 = OS, 1.1 = OO, 1.1.1 = action
        obj_named = False  # the header names an OO column of its own (not "OO / Action")
        first_of_table: dict[int, tuple] = {}
        second_of_table: dict[int, tuple] = {}
        for key in order:
            if key[0] in first_of_table:
                second_of_table.setdefault(key[0], key)
            first_of_table.setdefault(key[0], key)

        def is_header(key: tuple) -> bool:
            texts = [c.text for cs in by_row[key].values() for c in cs]
            return bool(texts) and all(_HEADER_CELL_RE.match(x.strip()) and len(x.split()) <= 6
                                       for x in texts)

        # a title spanning the table's width ("Programme stratégique transversal – volet
        # externe": one cell) above its header row: a title, and the header row is the next one
        title_rows: set[tuple] = set()
        for t, key in list(first_of_table.items()):
            nxt = second_of_table.get(t)
            filled_cells = [c for cs in by_row[key].values() for c in cs if c.text.strip()]
            if (ncols > 1 and len(by_row[key]) == 1 and len(filled_cells) == 1
                    and nxt is not None and is_header(nxt) and not is_header(key)):
                title_rows.add(key)
                first_of_table[t] = nxt
        for key in first_of_table.values():
            if is_header(key):
                header_rows.add(key)
                for col, cs in by_row[key].items():
                    low = " ".join(c.text for c in cs).lower()
                    fld = field_of(low, self.pat) if self.plan else ""
                    if fld:
                        col_field[col] = fld
                    elif _NUMBER_HEADER_RE.match(low.strip()):
                        num_col = col
                    elif "action" in low or "projet" in low:
                        col_act = col
                    elif "op" in low and "objectif" in low:
                        col_obj = col
                        obj_named = True
                    elif "strat" in low or low.startswith("axe"):
                        col_axis = col
        axis_column = bool(header_rows) and any(
            "strat" in " ".join(c.text for c in cs).lower()
            or " ".join(c.text for c in cs).lower().startswith("axe")
            for key in header_rows for cs in by_row[key].values())
        if header_rows and not axis_column and col_axis in (col_obj, col_act, *col_field):
            col_axis = -2  # no OS column: rows belong to the OS heading above the table
            axis = open_axis
        emitted: list[tuple[int, Line, str]] = []  # (order index, line, role) to keep text order
        for key in order:
            row = by_row[key]
            if key in header_rows or key in title_rows:
                for cs in row.values():
                    for c in cs:
                        emitted.append((c.start, c, "head"))
                continue
            for col in sorted(row):
                for c in row[col]:
                    what = {col_axis: "axis", col_obj: "obj", col_act: "act"}.get(col, "other")
                    if col in col_field:
                        what = "detail:" + col_field[col]
                    emitted.append((c.start, c, what))
        emitted.sort(key=lambda x: x[0])
        # rows of a table with an OO column and an action column of their own, that fill
        # both, say each cell's role themselves: their "N°" (1.1.1 on every row, the OS and
        # OO said again) does not make every cell an action
        def filled(row: dict, col: int) -> bool:
            return any(c.text.strip() for c in row.get(col, ()))

        own_roles = {key for key, row in by_row.items()
                     if obj_named and col_obj != col_act and col_act >= 0
                     and filled(row, col_obj) and filled(row, col_act)}
        row_of = {id(c): (c.hint.table if c.hint.table is not None else 0,
                          c.hint.row if c.hint.row is not None else 0) for _, c, _ in emitted}
        pending: list[tuple[Line, str]] = []  # detail cells of the current row
        row_node = -1  # the most specific node of the current row
        current_row = None
        row_number: Line | None = None  # the row's "N°" cell, the label of its unit

        def flush() -> None:
            owner = row_node if row_node >= 0 else (obj if obj >= 0 else axis)
            for c, fld in pending:
                self.detail(c.start, c.end, {fld: _clean(c.text)}, c.page, owner)
            pending.clear()
            if row_number is not None:  # a number with no text in its row: printed, no content
                self.add("title", row_number.start, row_number.end, page=row_number.page,
                         parent=owner if 0 <= owner and self.nodes[owner].start < row_number.start
                         else -1)

        def labels_level(level: int) -> bool:
            """Whether the row's number labels its unit of ``level`` (1 OS, 2 OO, 3 action):
            any unit in a N° table, the unit of the number's depth in an own-role row."""
            return current_row not in own_roles or min(row_level, 3) == level

        last_act = -1  # the last action made (a cell cut by a page break continues it)
        prev_page = None
        for _, c, what in emitted:
            if row_of[id(c)] != current_row:
                flush()
                current_row, row_node, row_level, row_number = row_of[id(c)], -1, 0, None
                new_page = prev_page is not None and c.page != prev_page
                if what != "head":  # a header row said again on each page is not content
                    prev_page = c.page
            norm = _clean(c.text).casefold()
            if what.startswith("detail:"):
                pending.append((c, what.split(":", 1)[1]))
                continue
            if what == "num" or (num_col is not None and c.hint.col == num_col
                                 and _NUMBER_CELL_RE.match(c.text.strip())):
                row_level = c.text.strip().rstrip(".").count(".") + 1
                row_number = c
                continue
            if row_level and what in ("axis", "obj") and norm:
                # a merged OS / OO cell that a DOCX repeats on each row it spans
                held = next((h for above, h in ((axis_text, axis), (obj_text, obj))
                             if above and h >= 0 and (norm == above or _repeats(norm, above))),
                            -1)
                if held >= 0:
                    self.add("title", c.start, c.end, parent=held, page=c.page)
                    self.repeat_spans.append((c.start, c.end))
                    continue
            if row_level and what in ("axis", "obj", "act") and current_row not in own_roles:
                what = "axis" if row_level == 1 else ("obj" if row_level == 2 else "act")
            if new_page and what in ("axis", "obj", "act") and c.text.strip()[:1].islower():
                # the rest of a cell cut by a page break: read with the unit it continues
                target = {"axis": axis, "obj": obj, "act": last_act}[what]
                if target >= 0:
                    self.nodes[target].body.append((c.start, c.end))
                    self.add("title", c.start, c.end, parent=target, page=c.page)
                    row_node = target
                    continue
            if what == "head":
                self.add("title", c.start, c.end, page=c.page)
            elif what == "axis":
                named = self.coded_unit(c.text) if _CODE_ONLY_RE.match(c.text.strip()) else -1
                if norm and (norm == axis_text or (axis_text and _repeats(norm, axis_text))):
                    self.add("title", c.start, c.end, parent=axis, page=c.page)
                elif named >= 0:
                    # a bare code ("OS 1") in a second table (budget per OS): it names a unit
                    # read earlier, whose columns the row fills in
                    self.add("title", c.start, c.end, parent=named, page=c.page)
                    row_node = named
                    continue
                else:
                    axis = self.add("axis", c.start, c.end, body=[(c.start, c.end)], parent=sect,
                                    page=c.page, cls=Role.AXIS)
                    axis_text, obj, obj_text = norm, -1, None
                    if labels_level(1):
                        self.number_label(axis, row_number, current_row in own_roles)
                        row_number = None
                row_node = axis
            elif what == "obj":
                if norm and (norm == obj_text or (obj_text and _repeats(norm, obj_text))):
                    self.add("title", c.start, c.end, parent=obj, page=c.page)
                else:
                    obj = self.add("objective", c.start, c.end, parent=axis, page=c.page, cls=Role.ITEM)
                    obj_text = norm
                    if labels_level(2):
                        self.number_label(obj, row_number, current_row in own_roles)
                        row_number = None
                row_node = obj
            elif what == "act":
                made = self.cell_actions(c, obj if obj >= 0 else axis)
                if made:
                    row_node = last_act = made[-1]
                    if labels_level(3):
                        self.number_label(made[0], row_number, current_row in own_roles)
                        row_number = None
            else:
                self.add("statement", c.start, c.end, parent=obj if obj >= 0 else axis,
                         page=c.page, cls="P")
        flush()
        self.stack = [i for i in [sect] if i >= 0]
        if axis >= 0:
            self.stack.append(axis)
        self.reset_block()

    def cell_actions(self, c: Line, parent: int) -> list[int]:
        """The actions of one table cell (split on bullets and ";"), as nodes; their indices."""
        made: list[int] = []
        text = self.doc.text
        pos = c.start
        parts = []
        for m in _CELL_SPLIT_RE.finditer(text, c.start, c.end):
            parts.append((pos, m.start()))
            pos = m.end()
        parts.append((pos, c.end))
        for s, e in parts:
            seg = text[s:e]
            if not seg.strip():
                continue
            s += len(seg) - len(seg.lstrip())
            e -= len(seg) - len(seg.rstrip())
            label = ""
            body_s = s
            m = _CELL_BULLET_RE.match(text, s, e)
            if m:
                label = m.group(1)
                body_s = m.end()
            made.append(self.add("action", s, e, label=label, body=[(body_s, e)], parent=parent,
                                 page=c.page, cls=Role.ITEM))
        return made


def _repeats(cell: str, text: str) -> bool:
    """A table cell that repeats, shortened, the OS/OO it belongs to ("OS 1" under
    "OS 1 – Garantir l'accès aux droits")."""
    return len(cell) < len(text) and text.startswith(cell) and not text[len(cell)].isalnum()


def _nominal_item(ln: Line) -> bool:
    """A short one-sentence line opening on a noun ("Achat d'un logement.")."""
    t = ln.text.strip()
    if ln.role != Role.PARAGRAPH or ln.words > 16 or not t or not t[0].isupper():
        return False
    if len(split_sentences(t)) != 1:
        return False
    first = re.split(r"[\s'’]", t, maxsplit=1)[0].lower()
    return first not in _DETERMINERS and not t.endswith(":")


def _mark_listlike(lines: list[Line]) -> None:
    """Runs of nominal one-sentence lines next to items are items whose bullet was lost."""
    cand = [_nominal_item(ln) or (ln.role == Role.PARAGRAPH and bool(_INFINITIVE_RE.match(ln.text.strip())))
            for ln in lines]
    for k, ln in enumerate(lines):
        if not (ln.role == Role.PARAGRAPH and _nominal_item(ln)):
            continue
        prev_ok = k > 0 and (cand[k - 1] or lines[k - 1].role == Role.ITEM)
        next_ok = k + 1 < len(lines) and (cand[k + 1] or lines[k + 1].role == Role.ITEM)
        ln.listlike = prev_ok or next_ok  # type: ignore[attr-defined]


def _promote_sections(nodes: list[_Node]) -> None:
    """A top unnumbered heading holding only headings (with content) is a section."""
    for nd in nodes:
        if nd.kind != "axis" or nd.cls != Role.HEADING or nd.numbered:
            continue
        if nd.parent >= 0 and nodes[nd.parent].kind != "section":
            continue
        kids = [nodes[k] for k in nd.children]
        heads = [k for k in kids if k.cls == Role.HEADING]
        if heads and all(k.cls == Role.HEADING or k.kind in ("title", "navigation") for k in kids) \
                and any(nodes[g].kind not in ("title", "navigation") for h in heads for g in h.children):
            nd.kind = "section"
            for h in heads:
                h.kind = "axis"


_POLICY_KINDS = frozenset({"objective", "action", "statement"})
#: content-test cues that make a list item context (see ``_Builder._item_is_context``)
ITEM_CONTEXT_CUES = frozenset({"context:instrument", "context:past", "context:comparison",
                               "context:current", "context:figures",
                               "override:reader", "override:question", "override:thanks",
                               "override:method", "override:value_list"})


def _demote_empty_headings(nodes: list[_Node], text: str, cues) -> None:
    """A heading read from the page (unnumbered or numbered, not "Axe n", not an imperative
    heading) that names no policy area ("Nos projets pour 2025", patterns.toml [heading]
    generic) or has no policy content below it and is no policy line itself ("Un peu
    d'histoire", "2. Les finances", "Documents") is not an axis: it becomes a ``title`` and
    what it held is attached to the nearest heading above it that stays. A section heading
    gathering the axes, or an unlabelled part that is always a heading ("Volet budgétaire"), is
    a ``title`` too when it is generic ("Nos priorités pour 2025-2030", "Le programme en
    détail"; a bare "Nos priorités" stays a section; "AXE 2 : Volet budgétaire" an axis)."""
    memo: dict[int, bool] = {}

    def has_policy(k: int) -> bool:
        if k not in memo:
            memo[k] = any(nodes[c].kind in _POLICY_KINDS or (nodes[c].cls in ("H", "A", "S")
                                                           and has_policy(c))
                          for c in nodes[k].children)
        return memo[k]

    def own_policy(nd: _Node) -> bool:
        body = " ".join(text[s:e] for s, e in nd.body if e > s)
        return is_policy_sentence(body, cues)[0]

    empty = {k for k, nd in enumerate(nodes)
             if (nd.cls == Role.HEADING and nd.kind in ("axis", "group", "section")
                 and nd.style != "imperative"
                 and (nd.generic or (not has_policy(k) and not own_policy(nd))))
             or (nd.cls in (Role.SECTION, Role.AXIS) and nd.kind in ("section", "axis")
                 and nd.generic)}
    if not empty:
        return
    for k, nd in enumerate(nodes):
        p = nd.parent
        while p in empty:
            p = nodes[p].parent
        if k in empty:
            nd.kind, nd.cls = "title", "T"
        nd.parent = p


def build_units(doc: Document, lines: list[Line], patterns: Patterns) -> list[Unit]:
    """Classified lines → units in text order (ids u0001…, parents, depths, texts)."""
    _mark_listlike(lines)
    b = _Builder(doc, patterns)
    b.release = _preamble_release(lines, doc.text, patterns, b.cues)
    i = 0
    while i < len(lines):
        ln = lines[i]
        if ln.role == Role.CELL:
            j = i
            while j < len(lines) and lines[j].role == Role.CELL:
                j += 1
            cells = lines[i:j]
            cols = {c.hint.col for c in cells if c.hint is not None}
            if len(cols) <= 1:  # a one-column table is just text
                for c in cells:
                    c.role = Role.PARAGRAPH
                    b.line(c)
            else:
                b.table(cells)
            i = j
            continue
        b.line(ln)
        i += 1
    _promote_sections(b.nodes)
    _demote_empty_headings(b.nodes, doc.text, b.cues)
    nodes = b.nodes
    order = sorted(range(len(nodes)), key=lambda k: (nodes[k].start, k))
    ids = {k: f"u{n + 1:04d}" for n, k in enumerate(order)}
    depth: dict[int, int] = {}

    def depth_of(k: int) -> int:
        if k in depth:
            return depth[k]
        p = nodes[k].parent
        d = 0 if p < 0 else depth_of(p) + 1
        depth[k] = d
        return d

    described: dict[int, dict[str, str]] = {}  # node → its plan details (from detail nodes)
    for nd in nodes:
        if nd.kind == "detail" and nd.parent >= 0:
            got = described.setdefault(nd.parent, {})
            for f, v in nd.fields.items():
                if v:
                    got[f] = f"{got[f]} ; {v}" if got.get(f) else v
    units = []
    for k in order:
        nd = nodes[k]
        body = " ".join(doc.text[s:e] for s, e in nd.body if e > s)
        units.append(Unit(doc_id=doc.doc_id, unit_id=ids[k],
                          parent_id=ids[nd.parent] if nd.parent >= 0 else "",
                          kind=nd.kind, label=nd.label.strip(), text=_clean(body),
                          start=nd.start, end=nd.end,
                          page=nd.page if nd.page is not None else (
                              doc.page_at(nd.start) if doc.pages else None),
                          depth=depth_of(k), block=nd.block,
                          **{f: " ".join(v.split()) for f, v in described.get(k, {}).items()}))
    return units
