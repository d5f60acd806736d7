"""What tagging found in one article: the ``countries``, ``places``, ``actors``,
``keywords`` and ``relevance`` of a tagged article, offsets included."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Field = Literal["title", "body"]
MAX_EVIDENCE = 25  # mentions kept per tag: the counts cover all, the offsets the first ones


@dataclass(frozen=True, slots=True)
class Mention:
    field: Field
    start: int
    end: int
    text: str
    confidence: float = 1.0

    def to_json(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "confidence": self.confidence,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Mention:
        return cls(data["field"], data["start"], data["end"], data["text"], data["confidence"])


@dataclass(frozen=True, slots=True)
class CountryTag:
    code: str
    name: str
    primary: bool
    mentions: tuple[Mention, ...]  # the first MAX_EVIDENCE, in text order
    count: int

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "mentions": self.count,
            "primary": self.primary,
            "evidence": [m.to_json() for m in self.mentions],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CountryTag:
        mentions = tuple(Mention.from_json(m) for m in data["evidence"])
        return cls(data["code"], data["name"], data["primary"], mentions, data["mentions"])


@dataclass(frozen=True, slots=True)
class PlaceTag:
    id: str
    geonameid: int | None
    name: str
    kind: str
    country: str | None
    lat: float
    lon: float
    mentions: tuple[Mention, ...]  # the first MAX_EVIDENCE, in text order
    count: int

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "geonameid": self.geonameid,
            "name": self.name,
            "kind": self.kind,
            "country": self.country,
            "lat": self.lat,
            "lon": self.lon,
            "mention_count": self.count,
            "mentions": [m.to_json() for m in self.mentions],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlaceTag:
        mentions = tuple(Mention.from_json(m) for m in data["mentions"])
        return cls(
            data["id"],
            data["geonameid"],
            data["name"],
            data["kind"],
            data["country"],
            data["lat"],
            data["lon"],
            mentions,
            data["mention_count"],
        )


@dataclass(frozen=True, slots=True)
class ActorTag:
    id: str
    name: str
    type: str
    country: str | None
    groups: tuple[str, ...]
    mentions: tuple[Mention, ...]  # the first MAX_EVIDENCE, in text order
    count: int

    @property
    def confidence(self) -> float:
        return max(m.confidence for m in self.mentions)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "country": self.country,
            "groups": list(self.groups),
            "confidence": self.confidence,
            "mention_count": self.count,
            "mentions": [m.to_json() for m in self.mentions],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ActorTag:
        mentions = tuple(Mention.from_json(m) for m in data["mentions"])
        return cls(
            data["id"],
            data["name"],
            data["type"],
            data["country"],
            tuple(data["groups"]),
            mentions,
            data["mention_count"],
        )


@dataclass(frozen=True, slots=True)
class KeywordHit:
    term: str
    entry: str
    weight: float
    mention: Mention


@dataclass(frozen=True, slots=True)
class KeywordTag:
    category: str
    hits: tuple[KeywordHit, ...]  # the first MAX_EVIDENCE, in text order
    score: float  # over every hit

    def to_json(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "score": self.score,
            "terms": [{"term": h.term, "entry": h.entry, "weight": h.weight, **h.mention.to_json()} for h in self.hits],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KeywordTag:
        hits = tuple(KeywordHit(t["term"], t["entry"], t["weight"], Mention.from_json(t)) for t in data["terms"])
        return cls(data["category"], hits, data["score"])


@dataclass(frozen=True, slots=True)
class Tags:
    countries: tuple[CountryTag, ...] = ()
    places: tuple[PlaceTag, ...] = ()
    actors: tuple[ActorTag, ...] = ()
    keywords: tuple[KeywordTag, ...] = ()
    relevance: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "countries": [c.to_json() for c in self.countries],
            "places": [p.to_json() for p in self.places],
            "actors": [a.to_json() for a in self.actors],
            "keywords": [k.to_json() for k in self.keywords],
            "relevance": self.relevance,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Tags:
        return cls(
            countries=tuple(CountryTag.from_json(c) for c in data["countries"]),
            places=tuple(PlaceTag.from_json(p) for p in data["places"]),
            actors=tuple(ActorTag.from_json(a) for a in data["actors"]),
            keywords=tuple(KeywordTag.from_json(k) for k in data["keywords"]),
            relevance=data["relevance"],
        )
