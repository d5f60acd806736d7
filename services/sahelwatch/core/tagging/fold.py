"""Case and accent folding that keeps every character where it was.

Matches are found in the folded text and reported with offsets into the
cleaned text, so folding must map one character to exactly one character:
"Goïta" and "GOITA" both fold to "goita" at the same positions.
"""

from __future__ import annotations

import re
import unicodedata

_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _fold_char(char: str) -> str:
    base = unicodedata.normalize("NFD", char)[0].lower()
    return base if len(base) == 1 else char


_TABLE: dict[str, str] = {chr(code): _fold_char(chr(code)) for code in range(0x80, 0x250)}


def fold(text: str) -> str:
    """Lower-case, accents removed, same length as ``text``."""
    lowered = text.lower()
    if len(lowered) != len(text):  # a rare character whose lower case is longer (İ): fold one by one
        lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    return _NON_ASCII.sub(lambda m: _TABLE.get(m.group(), m.group()), lowered)
