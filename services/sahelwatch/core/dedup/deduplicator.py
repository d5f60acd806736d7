"""Is this article a story seen before: exactly, as a near copy, or as an update?

The durable state is one mutable mapping (a dict offline, a Faust table in the
worker), with JSON-able values so the table's changelog can carry it:

    id:<article id>        -> [story id, published epoch]
    url:<canonical url>    -> [story id, published epoch]
    body:<sha256>          -> [story id, published epoch]
    story:<story id>       -> {"sha", "t", "sources", "origin", "sig", "n", "lead"}
    meta:watermark         -> published epoch

The LSH band index (band key -> [[story id, published epoch], ...]) is derived
from the stories' signatures, so it is kept in memory and rebuilt with
``index_bands`` after a restart or a rebalance instead of costing 32 changelog
writes an article.

Retention runs on event time: the watermark is the latest ``published_at``
seen (future-dated articles do not move it), and an entry older than the
watermark minus the retention window is dead. Lookups ignore dead entries and
``expire`` deletes them (once per day of event time), so a decision depends on
the articles seen, never on when a clean-up happened to run.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sahelwatch.core.dedup.minhash import Signature, signature
from sahelwatch.core.model import Duplicate, MatchedOn

State = MutableMapping[str, Any]
Bands = dict[str, list[list[Any]]]

NEAR_JACCARD = 0.5
NEAR_CONTAINMENT = 0.8
MIN_JACCARD_FOR_CONTAINMENT = 0.2
LEAD_FOUND = 0.6
MAX_SOURCES = 50
MAX_BUCKET = 16


@dataclass(frozen=True, slots=True)
class Candidate:
    """What the deduplicator needs to know of an article."""

    id: str
    canonical_url: str
    source: str
    published_at: datetime
    body: str
    body_sha256: str
    origin: str  # the input position: the same position again is a redelivery, not a republish


@dataclass(frozen=True, slots=True)
class Verdict:
    duplicate: Duplicate | None
    story_id: str
    story_sources: tuple[str, ...]
    redelivery: bool = False


class Deduplicator:
    def __init__(self, state: State, bands: Bands, retention: timedelta = timedelta(days=7)) -> None:
        self._state = state
        self._bands = bands
        self._retention = retention.total_seconds()
        self._horizon = -float("inf")

    def check(self, article: Candidate, received_at: datetime) -> Verdict:
        """Decide, then record: a first occurrence opens a story, a duplicate joins one."""
        own = self._state.get(f"story:{article.id}")
        if own is not None and own.get("origin") == article.origin:  # at-least-once redelivery after a crash
            return Verdict(None, article.id, tuple(own["sources"]), redelivery=True)
        now = article.published_at.timestamp()
        self._advance_watermark(now, received_at.timestamp())
        watermark = self._state.get("meta:watermark")
        self._horizon = -float("inf") if watermark is None else watermark - self._retention
        sig = signature(article.body) if article.body else None
        duplicate = self._match(article, sig)
        if duplicate is None:
            self._open_story(article, sig, now)
            return Verdict(None, article.id, (article.source,))
        sources = self._join_story(duplicate.of, article, now)
        return Verdict(duplicate, duplicate.of, sources)

    def expire(self, now: float) -> int:
        """Remove entries older than the retention window before ``now``; returns how many."""
        horizon = now - self._retention
        doomed = [
            key
            for key, value in list(self._state.items())
            if not key.startswith("meta:") and _newest(key, value) < horizon
        ]
        for key in doomed:
            del self._state[key]
        for band, bucket in list(self._bands.items()):
            live = [entry for entry in bucket if entry[1] >= horizon]
            if live:
                self._bands[band] = live
            else:
                del self._bands[band]
        return len(doomed)

    def _advance_watermark(self, published: float, received: float) -> None:
        """Sweep expired entries once per day of event time; future-dated articles move nothing."""
        if published > received + 3600:
            return
        watermark = self._state.get("meta:watermark")
        if watermark is not None and published <= watermark:
            return
        self._state["meta:watermark"] = published
        if watermark is not None and published // 86400 > watermark // 86400:
            self.expire(published)

    def _match(self, article: Candidate, sig: Signature | None) -> Duplicate | None:
        identities: tuple[tuple[MatchedOn, str], ...] = (("id", article.id), ("url", article.canonical_url))
        for matched_on, identity in identities:
            story_id = self._live_pointer(f"{matched_on}:{identity}")
            if story_id is not None:
                story = self._state.get(f"story:{story_id}") or {}
                if story.get("sha") == article.body_sha256:
                    return Duplicate(story_id, "exact", matched_on, 1.0)
                similarity = sig.jaccard(_signature(story)) if sig and story.get("sig") else 0.0
                return Duplicate(story_id, "update", matched_on, round(similarity, 3))
        if article.body:
            story_id = self._live_pointer(f"body:{article.body_sha256}")
            if story_id is not None:
                return Duplicate(story_id, "exact", "body_sha256", 1.0)
        return self._near(sig) if sig is not None else None

    def _near(self, sig: Signature) -> Duplicate | None:
        best: tuple[float, str] | None = None
        seen: set[str] = set()
        for band in sig.band_keys():
            for story_id, published in self._bands.get(band, ()):
                if story_id in seen or published < self._horizon:
                    continue
                seen.add(story_id)
                story = self._state.get(f"story:{story_id}")
                if not story or not story.get("sig"):
                    continue
                other = _signature(story)
                jaccard = sig.jaccard(other)
                near = (
                    jaccard >= NEAR_JACCARD
                    or (jaccard >= MIN_JACCARD_FOR_CONTAINMENT and sig.containment(other) >= NEAR_CONTAINMENT)
                ) and other.lead_found_in(sig) >= LEAD_FOUND
                if near and (best is None or (jaccard, story_id) > best):
                    best = (jaccard, story_id)
        if best is None:
            return None
        return Duplicate(best[1], "near", "minhash", round(best[0], 3))

    def _live_pointer(self, key: str) -> str | None:
        entry = self._state.get(key)
        if entry is None or entry[1] < self._horizon:
            return None
        story_id: str = entry[0]
        return story_id

    def _open_story(self, article: Candidate, sig: Signature | None, now: float) -> None:
        pointer = [article.id, now]
        self._state[f"id:{article.id}"] = pointer
        self._state[f"url:{article.canonical_url}"] = pointer
        story: dict[str, Any] = {
            "sha": article.body_sha256,
            "t": now,
            "sources": [article.source],
            "origin": article.origin,
        }
        if article.body:
            self._state[f"body:{article.body_sha256}"] = pointer
        if sig is not None:
            story |= {"sig": list(sig.values), "n": sig.shingles, "lead": list(sig.lead)}
            for band in sig.band_keys():
                bucket = [entry for entry in self._bands.get(band, ()) if entry[1] >= self._horizon]
                self._bands[band] = [*bucket[-(MAX_BUCKET - 1) :], pointer]
        self._state[f"story:{article.id}"] = story

    def _join_story(self, story_id: str, article: Candidate, now: float) -> tuple[str, ...]:
        """Point the duplicate's id, URL and body at the story, and count its source."""
        pointer = [story_id, now]
        keys = [f"id:{article.id}", f"url:{article.canonical_url}"]
        if article.body:
            keys.append(f"body:{article.body_sha256}")
        for key in keys:
            if self._live_pointer(key) is None:
                self._state[key] = pointer
        story = self._state.get(f"story:{story_id}")
        if story is None:
            return (article.source,)
        sources: list[str] = story["sources"]
        if article.source not in sources and len(sources) < MAX_SOURCES:
            story = story | {"sources": [*sources, article.source]}
            self._state[f"story:{story_id}"] = story
        return tuple(story["sources"])


def _signature(story: dict[str, Any]) -> Signature:
    return Signature(tuple(story["sig"]), story["n"], tuple(story["lead"]))


def _newest(key: str, value: Any) -> float:
    """The event time an entry was last useful at."""
    if key.startswith("story:"):
        return float(value["t"])
    return float(value[1])


def index_bands(state: State) -> Bands:
    """Rebuild the LSH band index from the stories in the durable state."""
    bands: Bands = {}
    stories = sorted(
        ((value["t"], key.removeprefix("story:"), value) for key, value in state.items() if key.startswith("story:")),
        key=lambda item: (item[0], item[1]),
    )
    for published, story_id, story in stories:
        if story.get("sig"):
            for band in _signature(story).band_keys():
                bands.setdefault(band, []).append([story_id, published])
    return {band: bucket[-MAX_BUCKET:] for band, bucket in bands.items()}
