"""One pass of Aho-Corasick over the folded text, on word boundaries.

Every alias and lexicon term goes into one automaton, built once. Matches are
filtered (word boundaries, exact case for acronyms that are also words,
excluded senses nearby, required context nearby for lexicon terms), then
overlaps are resolved leftmost-longest within each layer (actors, places,
lexicon), so "Niger State" claims the text before "Niger" can, while layers
may overlap: "French troops" is an actor and still a French mention, "Niger
junta" a place and coup language.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import ahocorasick

from sahelwatch.core.tagging.fold import fold

EXCLUDE_WINDOW = 60
CONTEXT_WINDOW = 120


@dataclass(frozen=True, slots=True)
class Pattern:
    """A surface form to find, and what it stands for (an index into the tagger's targets)."""

    text: str
    layer: str  # "actor", "place" or "lexicon": overlaps are resolved within a layer only
    target: int
    owner: str = ""  # what the form names; in a nesting layer, another owner's form inside a match still counts
    case_sensitive: bool = False
    exclude: re.Pattern[str] | None = None  # whole phrases of another sense, dropping the match within EXCLUDE_WINDOW
    window_context: re.Pattern[str] | None = None  # whole words, one required within CONTEXT_WINDOW


@dataclass(frozen=True, slots=True)
class Hit:
    pattern: Pattern
    start: int
    end: int  # exclusive


class Matcher:
    def __init__(self, patterns: Sequence[Pattern], nesting_layers: frozenset[str] = frozenset()) -> None:
        self._nesting = nesting_layers
        self._automaton = ahocorasick.Automaton()
        keyed: dict[str, list[Pattern]] = {}
        for pattern in patterns:
            keyed.setdefault(fold(pattern.text), []).append(pattern)
        for key, group in keyed.items():
            self._automaton.add_word(key, (len(key), tuple(group)))
        self._automaton.make_automaton()

    def find(self, text: str, folded: str) -> list[Hit]:
        """Non-overlapping hits (within a layer), in text order; ``folded`` is ``fold(text)``, made by the caller."""
        candidates: list[Hit] = []
        for last, (length, group) in self._automaton.iter(folded):
            start, end = last - length + 1, last + 1
            if not _on_boundaries(folded, start, end):
                continue
            for pattern in group:
                if pattern.case_sensitive and text[start:end] != pattern.text:
                    continue
                if pattern.exclude and _near(folded, start, end, pattern.exclude, EXCLUDE_WINDOW):
                    continue
                if pattern.window_context and not _near(folded, start, end, pattern.window_context, CONTEXT_WINDOW):
                    continue
                candidates.append(Hit(pattern, start, end))
        return _leftmost_longest(candidates, self._nesting)


def _on_boundaries(folded: str, start: int, end: int) -> bool:
    """No letter or digit glued to either end of a match that starts or ends with one."""
    if folded[start].isalnum() and start > 0 and folded[start - 1].isalnum():
        return False
    return not (folded[end - 1].isalnum() and end < len(folded) and folded[end].isalnum())


def _near(folded: str, start: int, end: int, words: re.Pattern[str], window: int) -> bool:
    return words.search(folded, max(0, start - window), min(len(folded), end + window)) is not None


def _leftmost_longest(hits: list[Hit], nesting: frozenset[str]) -> list[Hit]:
    """Keep the longest of overlapping hits, leftmost first, within each layer.

    In a nesting layer a hit inside a kept hit survives when it names another
    owner: "State Department Spokesperson Matthew Miller" is Miller and the
    State Department, while "Niger State" (a place layer) is never also Niger.
    """
    kept: list[Hit] = []
    for layer in {hit.pattern.layer for hit in hits}:
        outer: Hit | None = None
        for hit in sorted((h for h in hits if h.pattern.layer == layer), key=lambda h: (h.start, h.start - h.end)):
            if outer is None or hit.start >= outer.end:
                kept.append(hit)
                outer = hit
            elif (hit.start, hit.end) == (outer.start, outer.end) and hit.pattern.owner != outer.pattern.owner:
                kept.append(hit)  # the same text names two owners (rare): both are reported
            elif layer in nesting and hit.end <= outer.end and hit.pattern.owner != outer.pattern.owner:
                kept.append(hit)
    return sorted(kept, key=lambda h: (h.start, h.end))
