"""The one place where text is escaped for markup: HTML (the report, the profiles) and XML
as ElementTree writes it (the REFI-QDA project). Each skips the work when nothing needs it."""

from __future__ import annotations

import html
import re

#: Characters XML 1.0 does not allow (dropped from character data and attributes).
INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def html_text(text: str) -> str:
    """``html.escape(text, quote=True)``, skipping the five replacements when not needed."""
    if "&" in text or "<" in text or ">" in text or '"' in text or "'" in text:
        return html.escape(text, quote=True)
    return text


#: What ElementTree escapes, in its order: in character data, then also in attributes.
_XML_TEXT = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))
_XML_ATTR = (('"', "&quot;"), ("\r", "&#13;"), ("\n", "&#10;"), ("\t", "&#09;"))


def _replace_all(text: str, table: tuple[tuple[str, str], ...]) -> str:
    for char, entity in table:
        if char in text:  # most texts need none: skip the copy
            text = text.replace(char, entity)
    return text


def xml_text(text: str) -> str:
    """Character data as ElementTree writes it: invalid characters dropped, then & < > escaped."""
    return _replace_all(INVALID_XML.sub("", text), _XML_TEXT)


def xml_attr(value: str) -> str:
    """Attribute value as ElementTree writes it: also " and the line breaks / tabs escaped."""
    return _replace_all(xml_text(value), _XML_ATTR)
