"""Server text shown as text, never as markup: Qt guesses "rich text" for any string that looks like HTML
(``Qt::mightBeRichText``) in labels and tooltips, so a project named ``<h1>…`` or ``<a href=…>`` would be
rendered. Labels get ``PlainText``; tooltips are escaped inside a paragraph of our own (a tooltip has no
format switch); long texts are cut for display (a 1 MB server message would take seconds to lay out), the
whole text stays with the job for *Copy message*."""

from __future__ import annotations

import html
import re

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

CELL_LIMIT = 300  # characters a table cell shows
TOOLTIP_LIMIT = 2000  # characters a tooltip shows
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def clean(text: str) -> str:
    """Without control characters (and the invisible ones that reorder text)."""
    return _CONTROL.sub("", text)


def cut(text: str, limit: int) -> str:
    """The first ``limit`` characters, cleaned; only the head of a long text is ever read."""
    if len(text) <= limit:
        return clean(text)
    return (clean(text[:limit]).rstrip()
            + f"… ({len(text) - limit:,} more characters; Copy message copies them all)")


def one_line(text: str, limit: int = CELL_LIMIT) -> str:
    """For a table cell: the first ``limit`` characters, on one line (the rest is never laid out)."""
    shown = " ".join(clean(text[: limit + 1]).split())
    return shown[:limit].rstrip() + "…" if len(text) > limit else shown


def tooltip(text: str | None, limit: int = TOOLTIP_LIMIT) -> str:
    """A tooltip that shows ``text`` as written (escaped, line breaks kept), cut to ``limit`` characters."""
    if not text:
        return ""
    body = html.escape(cut(text, limit)).replace("\n", "<br>")
    return f"<p style='white-space:pre-wrap'>{body}</p>"


def plain(label: QLabel) -> QLabel:
    """A label that shows its text as written, whatever it looks like."""
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label
