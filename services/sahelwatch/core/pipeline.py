"""The core pipeline, split where the streaming topology splits it.

``prepare`` (decode, clean, tag, fingerprint) needs no state, so the worker runs it
on every input partition in parallel. ``deduplicate`` and ``alert`` need the
state of every article seen before, in one order, so the worker runs them
behind a repartition to a single partition. The offline replay calls the same
three in the same order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sahelwatch.core.alerts import AlertEngine, Observation, RuleSet, load_rules
from sahelwatch.core.alerts.engine import State as AlertState
from sahelwatch.core.cleaning import clean
from sahelwatch.core.cleaning.language import detect_language
from sahelwatch.core.cleaning.urls import canonical_url
from sahelwatch.core.dedup import Candidate, Deduplicator, Index, body_fingerprint
from sahelwatch.core.dedup.deduplicator import State
from sahelwatch.core.dedup.minhash import Signature, signature
from sahelwatch.core.intake import Rejected, decode_article
from sahelwatch.core.model import Origin, TaggedArticle, utc_iso
from sahelwatch.core.tagging import Tagger, default_tagger


@dataclass(frozen=True)
class Pipeline:
    max_message_bytes: int
    dedup_retention: timedelta = timedelta(days=7)
    tagger: Tagger = field(default_factory=default_tagger)
    rules: RuleSet = field(default_factory=load_rules)
    max_future: timedelta = timedelta(days=1)

    def prepare(
        self, raw: bytes, received_at: datetime, origin: Origin, timings: dict[str, float] | None = None
    ) -> TaggedArticle:
        """Decode, validate, clean and tag one message; raises Rejected when it cannot be used.

        ``timings``, when given, receives the seconds spent cleaning and tagging.
        """
        started = time.perf_counter()
        article = decode_article(raw, self.max_message_bytes)
        if article.published_at > received_at + self.max_future:
            raise Rejected(
                "future_dated",
                f"published_at {utc_iso(article.published_at)} is more than {self.max_future} after its receipt",
                article.id,
            )
        text = clean(article)
        language = article.language or detect_language(text.body)
        cleaned = time.perf_counter()
        tags = self.tagger.tag(text.title, text.body)
        if timings is not None:
            timings |= {"clean": cleaned - started, "tag": time.perf_counter() - cleaned}
        return TaggedArticle(
            id=article.id,
            url=article.url,
            canonical_url=canonical_url(article.url),
            title=article.title,
            published_at=article.published_at,
            source=article.source,
            language=language,
            language_detected=article.language is None and language is not None,
            authors=article.authors,
            text=text,
            body_sha256=body_fingerprint(text.body),
            received_at=received_at,
            origin=origin,
            tags=tags,
        )

    def deduplicate(self, article: TaggedArticle, state: State, index: Index, sig: Signature | None) -> TaggedArticle:
        """Mark the article as a duplicate, or record it as the first occurrence of its story.

        ``sig`` is ``minhash(article)``: the worker computes it where it prepares the article.
        """
        candidate = Candidate(
            id=article.id,
            canonical_url=article.canonical_url,
            source=article.source,
            published_at=article.published_at,
            body=article.text.body,
            body_sha256=article.body_sha256,
            origin=article.origin.position(),
            signature=sig,
        )
        verdict = Deduplicator(state, index, self.dedup_retention).check(candidate, article.received_at)
        article.duplicate = verdict.duplicate
        article.story_id = verdict.story_id
        article.story_sources = verdict.story_sources
        article.redelivery = verdict.redelivery
        return article

    def run(self, raw: bytes, received_at: datetime, origin: Origin, state: State, index: Index) -> TaggedArticle:
        article = self.prepare(raw, received_at, origin)
        return self.deduplicate(article, state, index, minhash(article))

    def alert(self, article: TaggedArticle, state: AlertState) -> Observation:
        """Count a first occurrence in the alert windows; a copy only widens its story's breadth."""
        engine = AlertEngine(self.rules, state)
        if article.duplicate is not None:
            if article.duplicate.kind != "update":
                engine.reach(article)
            return Observation((), late=False)
        return engine.observe(article)


def minhash(article: TaggedArticle) -> Signature | None:
    """The signature the deduplicator compares near copies by; a pure function of the cleaned body."""
    return signature(article.text.body) if article.text.body else None
