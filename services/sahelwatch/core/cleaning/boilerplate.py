"""Page furniture in plain-text bodies: keep the article's own paragraphs only.

Scrapers often deliver a page's whole text: menus, a breaking-news ticker about
other stories, share links, tag lists, "Most read", footers. Left in, they put
Lebanon into an article about Niger. The approach follows jusText (Pomikálek,
2011): classify each line by length, sentence shape and stop-word density,
mark known furniture outright, then let short lines take the class of their
neighbours, so a one-line paragraph inside an article survives while a menu
item between menus does not.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

_BULLET = re.compile(r"^\s*(?:[•·▪►▶◦‣∙*]|-(?=\s))\s*")
_SENTENCE_END = re.compile(r"[.!?…»\"”’)]\s*$")

# One line of furniture wherever it stands (an inline "Read more: ..." link, a share bar).
_FURNITURE_LINE = re.compile(
    r"""^(?:
        read\ (?:more|also|next)\b | see\ also\b | also\ read\b | related\s*: | watch\s*: | listen\s*: |
        (?:à\ |a\ )?lire\ (?:aussi|également|egalement)\b | voir\ aussi\b | écouter\b | ecouter\b |
        advertisement$ | publicité$ | sponsored\b | \d+\ min(?:ute)?s?\ read$ | temps\ de\ lecture\b |
        share\b | partager\b | follow\ us\b | suivez[- ]nous\b | subscribe\b | abonnez[- ]vous\b |
        sign\ up\b | inscrivez[- ]vous\b | newsletter\b | click\ here\b | cliquez\ ici\b |
        (?:photo|image|credit|crédit|source)\s*: | © | copyright\b | all\ rights\ reserved\b |
        tous\ droits\ réservés\b |
        privacy\ policy\b | terms\ of\ (?:use|service)\b | we\ use\ cookies\b | (?:accept|reject)\ all\b |
        manage\ (?:preferences|cookies)\b | nous\ utilisons\ des\ cookies\b |
        tags?\s*: | topics?\s*: | keywords?\s*: | mots[- ]clés\s*: | reporting\ by\b | editing\ by\b |
        writing\ by\b | our\ standards\b |
        [\w.'-]+(?:\ [\w.'-]+){0,3}\ (?:is\ an?|est)\ (?:[\w-]+\ ){0,3}
            (?:journalist|reporter|correspondent|writer|editor|photographer|contributor|journaliste|correspondante?)\b |
        by\ [\w.\- ]{2,40}$ | par\ [\w.\- ]{2,40}$ | publié\ le\b | mis\ à\ jour\b
    )""",
    re.IGNORECASE | re.VERBOSE,
)
# Consent banners read like prose, so they are recognised anywhere in the line.
_CONSENT = re.compile(
    r"\bcookies?\b.{0,200}\b(?:consent|accept|partners|preferences|privacy|consentement|accepter|partenaires)\b",
    re.IGNORECASE,
)
# A heading that opens a ticker of other stories; the ticker runs to the next blank line.
_TICKER = re.compile(
    r"^(?:breaking(?:\ news)?|latest(?:\ news)?|live|just\ in|trending(?:\ now)?|ticker|news\ feed|"
    r"à\ la\ une|a\ la\ une|dernière\ minute|dernières\ (?:infos|nouvelles)|en\ direct|flash\ info|alerte)\s*:?$",
    re.IGNORECASE | re.VERBOSE,
)
# A heading after which the rest of the page is other stories, once the article has begun.
_TAIL = re.compile(
    r"^(?:most\ (?:read|popular|viewed|shared)|read\ next|related(?:\ (?:articles|coverage|stories|news|content))?|"
    r"more\ (?:from\ .{1,40}|stories|on\ this\ story|news)|you\ may\ also\ like|you\ might\ also\ like|"
    r"recommended(?:\ for\ you)?|"
    r"editor'?s\ picks|top\ stories|comments?|les\ plus\ lu(?:e)?s|sur\ le\ même\ sujet|dans\ la\ même\ rubrique|"
    r"à\ lire\ aussi|a\ lire\ aussi|nos\ dernières\ vidéos|commentaires|coverage)\s*:?$",
    re.IGNORECASE | re.VERBOSE,
)
_MAX_TICKER_LINES = 25
_PUNCTUATION = ".,;:!?\"'()[]«»"

_STOPWORDS = frozenset(
    [
        "a",
        "about",
        "after",
        "all",
        "also",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "his",
        "how",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "more",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "out",
        "over",
        "said",
        "says",
        "she",
        "so",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "up",
        "was",
        "we",
        "were",
        "what",
        "when",
        "which",
        "while",
        "who",
        "will",
        "with",
        "would",
        "you",
        "à",
        "au",
        "aux",
        "avec",
        "ce",
        "ces",
        "cette",
        "d",
        "dans",
        "de",
        "des",
        "du",
        "elle",
        "en",
        "est",
        "et",
        "il",
        "ils",
        "l",
        "la",
        "le",
        "les",
        "leur",
        "lui",
        "mais",
        "ne",
        "nous",
        "on",
        "ou",
        "par",
        "pas",
        "plus",
        "pour",
        "qu",
        "que",
        "qui",
        "s",
        "sa",
        "se",
        "ses",
        "son",
        "sont",
        "sur",
        "un",
        "une",
        "été",
        "a",
        "été",
    ]
)


class _Kind(Enum):
    GOOD = "good"
    NEAR = "near"
    SHORT = "short"
    BAD = "bad"
    SKIP = "skip"  # known furniture that interrupts an article (an ad, a "Read more" link): dropped, not context


@dataclass(frozen=True, slots=True)
class _Line:
    text: str
    kind: _Kind
    sentence_like: bool


def strip_boilerplate(text: str) -> str:
    """The article paragraphs of a normalised plain-text page, one blank line apart."""
    lines = _classify(_drop_sections(text.split("\n")))
    kept = _resolve(lines)
    if not any(line.kind is _Kind.GOOD for line in lines):
        kept = [
            line.text for line in lines if line.kind not in (_Kind.BAD, _Kind.SKIP)
        ]  # no prose found: keep what is not furniture
    return "\n\n".join(kept)


def _drop_sections(raw: Sequence[str]) -> list[str | None]:
    """Blank out tickers and everything after a tail heading; None marks a paragraph break."""
    out: list[str | None] = []
    in_ticker = 0
    prose_seen = False
    for line in raw:
        stripped = line.strip()
        if not stripped:
            in_ticker = 0
            out.append(None)
            continue
        if in_ticker and not _ends_ticker(stripped):
            in_ticker -= 1
            continue
        in_ticker = 0
        if _TICKER.match(stripped):
            in_ticker = _MAX_TICKER_LINES
            continue
        if prose_seen and _TAIL.match(stripped):
            break
        prose_seen = prose_seen or _is_prose(stripped)
        out.append(stripped)
    return out


def _ends_ticker(line: str) -> bool:
    """Without a blank line after it, a ticker ends where a line is clearly not a headline."""
    if _FURNITURE_LINE.match(line) or _TICKER.match(line) or _TAIL.match(line):
        return True
    return len(line) < 40 and _SENTENCE_END.search(line) is None


def _is_prose(line: str) -> bool:
    return len(line) >= 120 and _SENTENCE_END.search(line) is not None


def _classify(lines: Sequence[str | None]) -> list[_Line]:
    result: list[_Line] = []
    for raw in lines:
        if raw is None:
            continue
        bulleted = _BULLET.match(raw)
        text = raw[bulleted.end() :] if bulleted else raw
        sentence_like = _SENTENCE_END.search(text) is not None
        if not text or _FURNITURE_LINE.match(text):
            kind = _Kind.SKIP
        elif "cookie" in text.casefold() and _CONSENT.search(text):
            kind = _Kind.BAD
        elif len(text) >= 250 or (len(text) >= 120 and _stopword_density(text) >= 0.2):
            kind = _Kind.GOOD
        elif bulleted:
            kind = _Kind.BAD
        elif len(text) >= 60 and sentence_like and _stopword_density(text) >= 0.15:
            kind = _Kind.NEAR
        else:
            kind = _Kind.SHORT
        result.append(_Line(text, kind, sentence_like))
    return result


def _stopword_density(text: str) -> float:
    """Share of function words: high in prose, low in menus, headlines and tag lists."""
    words = text.casefold().split()
    return sum(w.strip(_PUNCTUATION) in _STOPWORDS for w in words) / len(words) if words else 0.0


def _resolve(lines: Sequence[_Line]) -> list[str]:
    """Undecided lines take their class from their decided neighbours.

    A near-good line (a one-sentence paragraph) joins the article when a good
    line is at most two lines away; a short line only when it reads as a
    sentence and good lines stand on both sides of it.
    """
    decided = [line.kind if line.kind in (_Kind.GOOD, _Kind.BAD) else None for line in lines]
    before = _nearest(decided, range(len(lines)))
    after = _nearest(decided, range(len(lines) - 1, -1, -1))
    kept = []
    for index, line in enumerate(lines):
        (prev, prev_at), (nxt, nxt_at) = before[index], after[index]
        if (
            line.kind is _Kind.GOOD
            or (
                line.kind is _Kind.NEAR
                and ((prev is _Kind.GOOD and index - prev_at <= 2) or (nxt is _Kind.GOOD and nxt_at - index <= 2))
            )
            or (line.kind is _Kind.SHORT and line.sentence_like and prev is _Kind.GOOD and nxt is _Kind.GOOD)
        ):
            kept.append(line.text)
    return kept


def _nearest(decided: Sequence[_Kind | None], order: range) -> list[tuple[_Kind, int]]:
    """For each position, the closest decided kind met before it in ``order``, and where (BAD at the edge)."""
    out: list[tuple[_Kind, int]] = [(_Kind.BAD, 0)] * len(decided)
    last: tuple[_Kind, int] = (_Kind.BAD, -(10**9) if order.step > 0 else 10**9)
    for index in order:
        out[index] = last
        kind = decided[index]
        if kind is not None:
            last = (kind, index)
    return out
