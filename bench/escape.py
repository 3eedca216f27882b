"""Escaping for every string that leaves the harness as markup: markdown table cells and list items (`md`), HTML
(`html`) and matplotlib text (`mpl`).

Row labels are built from method-config values and rejected-file names come from whoever put a file in results/, so
none of them may be trusted as markup: a `|` would add a table cell, a newline a fake row or heading, a backtick or
`<`/`>` code or HTML, `[..](..)` a link, `$..$` matplotlib mathtext (which raises on unknown commands).
"""
from __future__ import annotations

import html as _html
import re

# control characters (C0, DEL, C1), Unicode line/paragraph separators and bidirectional overrides (which can make
# text display differently from what it is): each becomes one space
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_MAX = 200


def _flat(text: object, max_len: int | None) -> str:
    s = _CONTROL.sub(" ", str(text))
    if max_len is not None and len(s) > max_len:
        s = s[: max_len - 1] + "…"
    return s


def md(text: object, max_len: int | None = _MAX) -> str:
    """Text for one markdown table cell or list item: one line, no markup.

    Markdown punctuation that could start markup (backslash, backtick, `*`, `_` at a word boundary, `~`, brackets,
    `|`) is backslash-escaped; `<`, `>` and `&` become HTML entities (so no tag and no entity survives); control
    characters and line breaks become spaces; text longer than `max_len` is cut with an ellipsis."""
    s = _flat(text, max_len)
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    def esc(m: re.Match) -> str:
        c = m.group(1)
        if c == "_":  # intra-word underscores (logistic_regression) never emphasise in GFM: keep names readable
            i = m.start(1)
            before = s[i - 1] if i > 0 else " "
            after = s[i + 1] if i + 1 < len(s) else " "
            if before.isalnum() and after.isalnum():
                return c
        return "\\" + c

    return _MD_SPECIAL.sub(esc, s)


def md_code(text: object, max_len: int | None = _MAX) -> str:
    """Text shown as inline code (`...`): one line, and a backtick inside cannot close the span (it is replaced by
    U+02CB, which looks alike). Use for paths and identifiers; the caller adds the surrounding backticks."""
    return _flat(text, max_len).replace("`", "\u02cb")


def html(text: object, max_len: int | None = None) -> str:
    """Text for HTML element content or a quoted attribute value: `& < > " '` become entities; control characters
    become spaces."""
    return _html.escape(_flat(text, max_len), quote=True)


def mpl(text: object, max_len: int | None = 80) -> str:
    """Text for a matplotlib label: `$` is escaped so that no mathtext is parsed (an unknown TeX command would raise
    while the figure is drawn), control characters and newlines become spaces, long text is cut."""
    return _flat(text, max_len).replace("$", r"\$")
