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


def xml_text(text: str) -> str:
    """Character data as ElementTree writes it: invalid characters dropped, then & < > escaped."""
    text = INVALID_XML.sub("", text)  # _xml(text)
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def xml_attr(value: str) -> str:
    """Attribute value as ElementTree writes it: also " and the line breaks / tabs escaped."""
    value = xml_text(value)
    if '"' in value:
        value = value.replace('"', "&quot;")
    if "\r" in value:
        value = value.replace("\r", "&#13;")
    if "\n" in value:
        value = value.replace("\n", "&#10;")
    if "\t" in value:
        value = value.replace("\t", "&#09;")
    return value
