"""Untrusted text (from a URL, a file or the data) made inert before the page shows it.

Streamlit renders Markdown in almost every body and label: links, images (which
the browser fetches), LaTeX between `$`, colour and icon directives (`:red[...]`,
`:material/...:`, `:streamlit:`), emoji shortcodes, and bare URLs or e-mail
addresses, which it turns into links after parsing (so a backslash does not stop
them). `plain` escapes every ASCII punctuation character and puts an invisible
word joiner after each `:` and before each `.`, which breaks the patterns found in
already-parsed text; the reader sees the text as it was sent.
"""

from __future__ import annotations

import html
import re
import string

ELLIPSIS = "…"
WORD_JOINER = "\u2060"
_SPACES = re.compile(r"[\s\x00-\x1f\x7f]+")
# Zero-width characters and bidirectional overrides: invisible, and able to reorder text.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_PUNCTUATION = re.compile(f"[{re.escape(string.punctuation)}]")
_BROKEN = {":": "\\:" + WORD_JOINER, ".": WORD_JOINER + "\\."}


def plain(text: object, limit: int = 80) -> str:
    """`text` on one line, at most `limit` characters as read, inert in Streamlit Markdown."""
    return _PUNCTUATION.sub(lambda m: _BROKEN.get(m[0], "\\" + m[0]), squeeze(text, limit))


def in_html(text: object, limit: int = 80) -> str:
    """`text` on one line, at most `limit` characters, for an `unsafe_allow_html` block.

    Markdown is not parsed inside an HTML block, but Streamlit rewrites `:material/` in
    the raw source; `&#58;` keeps the colon as it was sent."""
    return html.escape(squeeze(text, limit), quote=True).replace(":", "&#58;")


def squeeze(text: object, limit: int) -> str:
    """One line (whitespace and control characters collapsed), cut to `limit` with '…'."""
    if limit < 1:
        raise ValueError(f"`limit` was {limit} but must be at least 1")
    flat = _SPACES.sub(" ", _INVISIBLE.sub("", str(text))).strip()
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + ELLIPSIS


#: `icon=` for `st.warning`, `st.error` and `st.info`: no icon, and Streamlit does not
#: look for one at the start of the text. Without it, any non-ASCII text (such as
#: `plain`'s word joiners) makes Streamlit load its emoji catalog and compile a regex
#: of every emoji (~0.5 s, once per process): text from the data never becomes an icon.
NO_ICON = ""
