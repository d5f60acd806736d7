"""Actors, places, countries and intervention language of one article.

The matcher finds surface forms; this module turns them into tags and applies
what the data says about ambiguity: a form with a ``context`` list (Traoré,
Wagner) keeps full confidence only when a context word occurs in the article,
and otherwise is kept at LOW_CONFIDENCE rather than guessed either way.

Countries are counted from places only (names, demonyms, towns and regions):
an actor's nationality is on the actor, and "Nigeria's President Bola Tinubu"
gives NG from "Nigeria", never NE.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable

from sahelwatch.core.tagging.fold import fold
from sahelwatch.core.tagging.knowledge import Actor, Alias, Knowledge, Place
from sahelwatch.core.tagging.matcher import Hit, Matcher, Pattern
from sahelwatch.core.tagging.tags import (
    MAX_EVIDENCE,
    ActorTag,
    CountryTag,
    Field,
    KeywordHit,
    KeywordTag,
    Mention,
    PlaceTag,
    Tags,
)

SAHEL = frozenset({"NE", "ML", "BF"})
SAHEL_GROUPS = frozenset({"sahel_juntas", "aes", "jnim", "islamic_state_sahel"})
LOW_CONFIDENCE = 0.4
TITLE_WEIGHT = 3


class Tagger:
    """Built once from the knowledge files; ``tag`` is then a pure function of the text."""

    def __init__(self, knowledge: Knowledge) -> None:
        self.knowledge = knowledge
        self._aliases: list[tuple[Actor | Place, Alias, re.Pattern[str] | None]] = []
        patterns: list[Pattern] = []
        targets: list[Actor | Place] = [*knowledge.actors, *knowledge.places]
        for target in targets:
            forms: set[str] = set()
            for alias in target.aliases:
                if fold(alias.text) in forms and not alias.case_sensitive:
                    continue  # Nigerien and Nigérien are one form to the matcher: count it once
                forms.add(fold(alias.text))
                patterns.append(
                    Pattern(
                        text=alias.text,
                        layer="actor" if isinstance(target, Actor) else "place",
                        target=len(self._aliases),
                        owner=target.id,
                        case_sensitive=alias.case_sensitive,
                        exclude=_words_pattern(alias.exclude),
                    )
                )
                self._aliases.append((target, alias, _words_pattern(alias.context)))
        for index, entry in enumerate(knowledge.lexicon):
            for term in entry.terms:
                patterns.append(
                    Pattern(
                        text=term,
                        layer="lexicon",
                        target=index,
                        exclude=_words_pattern(entry.exclude),
                        window_context=_words_pattern(entry.context),
                    )
                )
        self._matcher = Matcher(patterns, nesting_layers=frozenset({"actor"}))
        self._country_names = {p.country: p.name for p in knowledge.places if p.kind == "country" and p.country}

    def tag(self, title: str, body: str) -> Tags:
        folded_title, folded_body = fold(title), fold(body)  # once each: matching and context both read them
        hits: list[tuple[Field, Hit]] = [("title", h) for h in self._matcher.find(title, folded_title)]
        hits += [("body", h) for h in self._matcher.find(body, folded_body)]
        article = f"{folded_title}\n{folded_body}"
        texts = {"title": title, "body": body}
        actors: dict[str, tuple[Actor, list[Mention]]] = {}
        places: dict[str, tuple[Place, list[Mention]]] = {}
        countries: dict[str, list[Mention]] = defaultdict(list)
        keywords: dict[str, list[KeywordHit]] = defaultdict(list)
        for field, hit in hits:
            text = texts[field][hit.start : hit.end]
            if hit.pattern.layer == "lexicon":
                entry = self.knowledge.lexicon[hit.pattern.target]
                keywords[entry.category].append(
                    KeywordHit(hit.pattern.text, entry.id, entry.weight, Mention(field, hit.start, hit.end, text))
                )
                continue
            target, alias, context = self._aliases[hit.pattern.target]
            confidence = 1.0 if context is None or context.search(article) else LOW_CONFIDENCE
            mention = Mention(field, hit.start, hit.end, text, confidence)
            if isinstance(target, Actor):
                actors.setdefault(target.id, (target, []))[1].append(mention)
                continue
            if not alias.demonym:
                places.setdefault(target.id, (target, []))[1].append(mention)
            if target.country and (target.kind == "country" or confidence == 1.0):
                countries[target.country].append(mention)
        return Tags(
            countries=self._countries(countries),
            places=tuple(
                PlaceTag(p.id, p.geonameid, p.name, p.kind, p.country, p.lat, p.lon, _first(m), len(m))
                for p, m in places.values()
            ),
            actors=tuple(
                ActorTag(a.id, a.name, a.type, a.country, a.groups, _first(m), len(m)) for a, m in actors.values()
            ),
            keywords=tuple(
                KeywordTag(c, tuple(h[:MAX_EVIDENCE]), round(sum(x.weight for x in h), 3))
                for c, h in sorted(keywords.items())
            ),
            relevance=_relevance(countries, actors.values(), keywords),
        )

    def _countries(self, found: dict[str, list[Mention]]) -> tuple[CountryTag, ...]:
        def weight(code: str) -> tuple[float, bool, str]:
            score = sum(TITLE_WEIGHT if m.field == "title" else 1 for m in found[code])
            return (score, code in SAHEL, code)

        primary = max(found, key=weight) if found else None
        return tuple(
            CountryTag(code, self._country_names.get(code, code), code == primary, _first(mentions), len(mentions))
            for code, mentions in sorted(found.items(), key=lambda item: weight(item[0]), reverse=True)
        )


def _first(mentions: list[Mention]) -> tuple[Mention, ...]:
    """A page repeating a name a hundred thousand times must not make a hundred-megabyte message."""
    return tuple(mentions[:MAX_EVIDENCE])


def _words_pattern(words: tuple[str, ...]) -> re.Pattern[str] | None:
    """Whole words only: a context word "US" must not be found inside "thus"."""
    if not words:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(fold(w)) for w in words) + r")(?!\w)")


def _relevance(
    countries: dict[str, list[Mention]],
    actors: Iterable[tuple[Actor, list[Mention]]],
    keywords: dict[str, list[KeywordHit]],
) -> float:
    """How much the article is about Sahel security, 0 to 1.

    Sahel evidence (the three countries, their places, their juntas and armed
    groups; title mentions count triple) saturates towards 1; intervention
    language adds to it, but alone, with no Sahel evidence, it stays under 0.2.
    """
    sahel = sum(TITLE_WEIGHT if m.field == "title" else 1 for code in SAHEL for m in countries.get(code, ())) + sum(
        (TITLE_WEIGHT if m.field == "title" else 1) * m.confidence
        for actor, mentions in actors
        if actor.country in SAHEL or SAHEL_GROUPS & set(actor.groups)
        for m in mentions
    )
    language = sum(hit.weight for hits in keywords.values() for hit in hits)
    if sahel == 0:
        return round(min(0.19, language * 0.02), 3)
    return round(1 - math.exp(-(0.25 * sahel + 0.05 * language)), 3)
