"""Unicode and whitespace normalisation: one spelling of the same text.

Later stages compare and hash text, so invisible differences (NFD accents,
non-breaking spaces, CRLF, zero-width characters) must not survive.
"""

from __future__ import annotations

import re
import unicodedata

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SPACES = re.compile(r"[^\S\n]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BLANK_LINES = re.compile(r"\n{3,}")


def normalize_text(text: str) -> str:
    """NFC, no control or zero-width characters, single spaces, paragraphs split by one blank line."""
    text = unicodedata.normalize("NFC", text).translate(_INVISIBLE)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub(" ", text)
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def normalize_line(text: str) -> str:
    """A title or other one-line field: like normalize_text, on one line."""
    return " ".join(normalize_text(text).split())
