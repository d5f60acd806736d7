"""Is this article a story seen before: exactly, as a near copy, or as an update?

The durable state is one mutable mapping (a dict offline, a Faust table in the
worker), with JSON-able values so the table's changelog can carry it:

    story:<story id>       -> {"sha", "url", "t", "sources", "origin", "sig", "n", "lead"}
                              (and "body": false when the article had no body)
    id:<duplicate's id>    -> [story id, published epoch, input position, kind, matched on, similarity]
    url:<duplicate's url>  -> [story id, published epoch]
    body:<duplicate's sha> -> [story id, published epoch]
    meta:watermark         -> published epoch, floored to WATERMARK_STEP

A story record carries its own id, URL and body fingerprint, so a first
occurrence costs one write; only a duplicate writes pointers for the
identities it adds to its story. Each key is a Kafka record in the worker
(through a Faust table: its store, then its changelog), and a first
occurrence used to write its URL and body pointers too, and to read five keys
that were nearly always absent.

Everything that lookups need is derived from that state and kept in memory
(``Index``), rebuilt with ``build_index`` after a restart or a rebalance:
which stories are live and their own URLs and bodies, which pointer keys
exist, the watermark, the LSH band buckets (``bands.BandIndex``), each live
story's signature (a new article is compared with every story sharing a band),
and a heap of (event time, key) that tells the sweep which entries may have
died, so it never reads the whole table. The table is read only for what a
lookup found: a pointer's value, or the story a copy matched.

Retention runs on event time: the watermark is the latest ``published_at``
seen (future-dated articles do not move it), and an entry older than the
watermark minus the retention window is dead. Lookups ignore dead entries, so a
decision depends on the articles seen, never on when a clean-up happened to
run. ``expire`` deletes them a few at a time, after each article: a sweep of a
whole day of event time at once held the worker's event loop for 30 to 70 ms,
and every article behind it waited (in the latency runs of bench/stream.py).
"""

from __future__ import annotations

import heapq
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sahelwatch.core.dedup.bands import BandIndex
from sahelwatch.core.dedup.minhash import Signature
from sahelwatch.core.model import Duplicate, MatchedOn

State = MutableMapping[str, Any]

NEAR_JACCARD = 0.5
NEAR_CONTAINMENT = 0.8
MIN_JACCARD_FOR_CONTAINMENT = 0.2
LEAD_FOUND = 0.6
MAX_SOURCES = 50
WATERMARK_STEP = 600  # seconds: retention is kept to within ten minutes of event time
SWEEP_PER_ARTICLE = 16  # dead entries deleted after each article: more than the at most four it writes


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
    signature: Signature | None  # of the body; None when it is too short to compare


@dataclass(frozen=True, slots=True)
class Verdict:
    duplicate: Duplicate | None
    story_id: str
    story_sources: tuple[str, ...]
    redelivery: bool = False


@dataclass
class Index:
    """What the deduplicator derives from its durable state and keeps in memory."""

    bands: BandIndex = field(default_factory=BandIndex)
    # story id -> its signature without its set, as Signature.to_bytes: there is one for each live
    # story, and 90,000 of them took 45 MiB so against 71 MiB as numpy arrays
    signatures: dict[str, bytes] = field(default_factory=dict)
    stories: dict[str, float] = field(default_factory=dict)  # story id -> its "t", for every story record
    urls: dict[str, str] = field(default_factory=dict)  # a story record's own URL -> its story id
    bodies: dict[str, str] = field(default_factory=dict)  # a story record's own body fingerprint -> its story id
    pointers: set[str] = field(default_factory=set)  # the id:, url: and body: keys in the state
    watermark: float | None = None
    expiry: list[tuple[float, str]] = field(default_factory=list)  # a heap: (event time last useful, key)

    def track(self, key: str, when: float) -> None:
        heapq.heappush(self.expiry, (when, key))

    def remember(self, story_id: str, story: dict[str, Any]) -> None:
        self.stories[story_id] = story["t"]
        if "url" in story:  # a record written before records carried their URL has pointers of its own
            self.urls[story["url"]] = story_id
            if story.get("body", True):
                self.bodies[story["sha"]] = story_id

    def forget(self, story_id: str, story: dict[str, Any]) -> None:
        """Drop a story record's entries; another story's claim on the same URL or body stays."""
        self.stories.pop(story_id, None)
        for own, identity in ((self.urls, story.get("url", "")), (self.bodies, story["sha"])):
            if own.get(identity) == story_id:
                del own[identity]
        self.signatures.pop(story_id, None)
        self.bands.remove(story_id)


class Deduplicator:
    def __init__(
        self,
        state: State,
        index: Index,
        retention: timedelta = timedelta(days=7),
        sweep_per_article: int = SWEEP_PER_ARTICLE,
    ) -> None:
        self._state = state
        self._index = index
        self._retention = retention.total_seconds()
        self._sweep = sweep_per_article
        self._horizon = -float("inf")

    def check(self, article: Candidate, received_at: datetime) -> Verdict:
        """Decide, record (a first occurrence opens a story, a duplicate joins one), then sweep."""
        own = self._state.get(f"story:{article.id}") if article.id in self._index.stories else None
        redelivered = self._redelivery(article, own)
        if redelivered is not None:
            return redelivered
        now = article.published_at.timestamp()
        self._advance_watermark(now, received_at.timestamp())
        watermark = self._index.watermark
        self._horizon = -float("inf") if watermark is None else watermark - self._retention
        sig = article.signature
        bands = sig.band_keys() if sig is not None else []  # once: a first occurrence is indexed by the same keys
        duplicate = self._match(article, sig, bands, own)
        if duplicate is None:
            self._open_story(article, sig, bands, now, own)
            verdict = Verdict(None, article.id, (article.source,))
        else:
            verdict = Verdict(duplicate, duplicate.of, self._join_story(duplicate, article, now))
        if watermark is not None:
            self.expire(watermark, self._sweep)
        return verdict

    def _redelivery(self, article: Candidate, own: dict[str, Any] | None) -> Verdict | None:
        """The same input position again (at-least-once, after a crash): the first verdict again.

        The worker's table writes reach the changelog after its outputs, in order, so a crash can
        keep some writes of an article and lose the rest: a first occurrence's one record says all
        there is to know of it, and a duplicate's id pointer, written before its URL and body
        pointers, carries its verdict; what came after it is written again by ``_join_story``.
        """
        if own is not None and own.get("origin") == article.origin:
            return Verdict(None, article.id, tuple(own["sources"]), redelivery=True)
        seen = self._pointer_entry(f"id:{article.id}")
        if seen is not None and len(seen) == 6 and seen[2] == article.origin:
            story_id, when, _, kind, matched_on, similarity = seen
            duplicate = Duplicate(story_id, kind, matched_on, similarity)
            return Verdict(duplicate, story_id, self._join_story(duplicate, article, when), redelivery=True)
        return None

    def expire(self, now: float, limit: int | None = None) -> int:
        """Remove entries older than the retention window before ``now``, up to ``limit`` of them
        (all when None); returns how many."""
        horizon = now - self._retention
        heap, removed = self._index.expiry, 0
        while heap and heap[0][0] < horizon and (limit is None or removed < limit):
            _, key = heapq.heappop(heap)
            value = self._state.get(key)
            if value is None or _newest(key, value) >= horizon:
                continue  # already gone, or written again since (a newer heap entry covers it)
            if key.startswith("story:"):
                self._index.forget(key.removeprefix("story:"), value)
            else:
                self._index.pointers.discard(key)
            del self._state[key]
            removed += 1
        return removed

    def _advance_watermark(self, published: float, received: float) -> None:
        """Future-dated articles move nothing."""
        if published > received + 3600:
            return
        step = published // WATERMARK_STEP * WATERMARK_STEP
        watermark = self._index.watermark
        if watermark is None or step > watermark:
            self._state["meta:watermark"] = self._index.watermark = step

    def _match(
        self, article: Candidate, sig: Signature | None, bands: list[int], own: dict[str, Any] | None
    ) -> Duplicate | None:
        own_story = article.id if own is not None and own["t"] >= self._horizon else None
        identities: tuple[tuple[MatchedOn, str], ...] = (("id", article.id), ("url", article.canonical_url))
        for matched_on, identity in identities:
            story_id = own_story if matched_on == "id" and own_story else self._live_story(matched_on, identity)
            if story_id is not None:
                story = (own if story_id == own_story else self._state.get(f"story:{story_id}")) or {}
                if story.get("sha") == article.body_sha256:
                    return Duplicate(story_id, "exact", matched_on, 1.0)
                other = self._signature_of(story_id)
                similarity = sig.jaccard(other) if sig is not None and other is not None else 0.0
                return Duplicate(story_id, "update", matched_on, round(similarity, 3))
        if article.body:
            story_id = self._live_story("body_sha256", article.body_sha256)
            if story_id is not None:
                return Duplicate(story_id, "exact", "body_sha256", 1.0)
        return self._near(sig, bands, article.body) if sig is not None else None

    def _near(self, sig: Signature, bands: list[int], body: str) -> Duplicate | None:
        best: tuple[float, str] | None = None
        seen: set[str] = set()
        for story_id in self._index.bands.candidates(bands, self._horizon):
            if story_id in seen:
                continue
            seen.add(story_id)
            other = self._signature_of(story_id)
            if other is None:
                continue
            jaccard = sig.jaccard(other)
            if not (
                jaccard >= NEAR_JACCARD
                or (jaccard >= MIN_JACCARD_FOR_CONTAINMENT and sig.containment(other) >= NEAR_CONTAINMENT)
            ):
                continue
            if sig.shingle_set is None:  # sent without it by the intake: rebuilt only for a likely copy
                sig = sig.with_set_of(body)
            near = other.lead_found_in(sig) >= LEAD_FOUND
            if near and (best is None or (jaccard, story_id) > best):
                best = (jaccard, story_id)
        if best is None:
            return None
        return Duplicate(best[1], "near", "minhash", round(best[0], 3))

    def _signature_of(self, story_id: str) -> Signature | None:
        packed = self._index.signatures.get(story_id)
        return None if packed is None else Signature.from_bytes(packed)

    def _pointer_entry(self, key: str) -> Any:
        """A pointer's value, read only when the index says the key exists."""
        return self._state.get(key) if key in self._index.pointers else None

    def _live_story(self, kind: MatchedOn, identity: str) -> str | None:
        """The live story an identity belongs to: by a pointer a duplicate wrote, or a story's own.

        At most one of the two is live: a duplicate writes a pointer only where none resolves.
        """
        entry = self._pointer_entry(f"{_PREFIX[kind]}:{identity}")
        if entry is not None and entry[1] >= self._horizon:
            story_id: str = entry[0]
            return story_id
        own = self._index.urls if kind == "url" else self._index.bodies if kind == "body_sha256" else {}
        owner = own.get(identity)
        if owner is not None and self._index.stories.get(owner, -float("inf")) >= self._horizon:
            return owner
        return None

    def _open_story(
        self, article: Candidate, sig: Signature | None, bands: list[int], now: float, own: dict[str, Any] | None
    ) -> None:
        story: dict[str, Any] = {
            "sha": article.body_sha256,
            "url": article.canonical_url,
            "t": now,
            "sources": [article.source],
            "origin": article.origin,
        }
        if not article.body:
            story["body"] = False
        if sig is not None:
            story |= sig.to_json()
        if own is not None:
            self._index.forget(article.id, own)  # the same id again, its first story dead
        self._write(f"story:{article.id}", story, now)
        self._index.remember(article.id, story)
        if sig is not None:
            self._index.signatures[article.id] = sig.to_bytes()
            self._index.bands.add(article.id, now, bands)

    def _write(self, key: str, value: Any, when: float) -> None:
        self._state[key] = value
        self._index.track(key, when)

    def _join_story(self, duplicate: Duplicate, article: Candidate, now: float) -> tuple[str, ...]:
        """Count the duplicate's source in its story, then point its id (with the verdict and its
        input position, to tell a redelivery), URL and body at the story. Idempotent."""
        story_id = duplicate.of
        story = self._state.get(f"story:{story_id}") if story_id in self._index.stories else None
        sources: list[str] = story["sources"] if story is not None else [article.source]
        if story is not None and article.source not in sources and len(sources) < MAX_SOURCES:
            sources = [*sources, article.source]
            self._state[f"story:{story_id}"] = story | {"sources": sources}  # its expiry time is unchanged, and tracked
        verdict = [article.origin, duplicate.kind, duplicate.matched_on, duplicate.similarity]
        identities: list[tuple[MatchedOn, str]] = [("id", article.id), ("url", article.canonical_url)]
        if article.body:
            identities.append(("body_sha256", article.body_sha256))
        for kind, identity in identities:
            if self._live_story(kind, identity) is None:
                key = f"{_PREFIX[kind]}:{identity}"
                self._write(key, [story_id, now, *verdict] if kind == "id" else [story_id, now], now)
                self._index.pointers.add(key)
        return tuple(sources)


_PREFIX: dict[MatchedOn, str] = {"id": "id", "url": "url", "body_sha256": "body"}


def _newest(key: str, value: Any) -> float:
    """The event time an entry was last useful at."""
    if key.startswith("story:"):
        return float(value["t"])
    return float(value[1])


def build_index(state: State) -> Index:
    """Derive the in-memory index from the durable state (after a restart or a rebalance)."""
    index = Index()
    stories = []
    for key, value in state.items():
        if key == "meta:watermark":
            index.watermark = value
            continue
        if key.startswith("meta:"):
            continue
        index.expiry.append((_newest(key, value), key))
        if key.startswith("story:"):
            stories.append((value["t"], key.removeprefix("story:"), value))
        else:
            index.pointers.add(key)
    heapq.heapify(index.expiry)
    for published, story_id, story in sorted(stories, key=lambda item: (item[0], item[1])):
        index.remember(story_id, story)
        if story.get("sig"):
            sig = Signature.from_json(story)
            index.signatures[story_id] = sig.to_bytes()
            index.bands.add(story_id, published, sig.band_keys())
    return index
