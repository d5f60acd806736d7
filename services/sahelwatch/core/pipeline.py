"""Deduplication and alerting: the stages of an article that need every article seen before.

They keep state, so the worker runs them behind a repartition to a single
partition, in one order, with the state in its tables; the stateless stages
before them (decode, clean, tag) are ``core/preparation.py``. The offline
replay calls ``Preparation.prepare``, ``deduplicate`` and ``alert`` in the same
order as the worker, on the same kind of state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sahelwatch.core.alerts import AlertEngine, Observation, RuleSet, load_rules
from sahelwatch.core.alerts.engine import State as AlertState
from sahelwatch.core.dedup import Candidate, Deduplicator, Index
from sahelwatch.core.dedup.deduplicator import State
from sahelwatch.core.dedup.minhash import Signature, signature
from sahelwatch.core.model import TaggedArticle


@dataclass(frozen=True)
class Pipeline:
    dedup_retention: timedelta = timedelta(days=7)
    rules: RuleSet = field(default_factory=load_rules)

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
