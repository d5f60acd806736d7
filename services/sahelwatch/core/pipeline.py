"""The core pipeline, split where the streaming topology splits it.

``prepare`` (decode, clean, fingerprint) needs no state, so the worker runs it
on every input partition in parallel. ``deduplicate`` needs the state of every
article seen before, so the worker runs it behind a repartition. ``run`` chains
both for the offline replay; the stream and the replay call the same code.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import datetime

from sahelwatch.core.cleaning import clean
from sahelwatch.core.dedup import ExactDeduplicator, body_fingerprint
from sahelwatch.core.intake import decode_article
from sahelwatch.core.model import TaggedArticle


@dataclass(frozen=True)
class Pipeline:
    max_message_bytes: int

    def prepare(self, raw: bytes, received_at: datetime) -> TaggedArticle:
        """Decode, validate and clean one message; raises Rejected when it cannot be used."""
        article = decode_article(raw, self.max_message_bytes)
        text = clean(article)
        return TaggedArticle(
            id=article.id,
            url=article.url,
            title=article.title,
            published_at=article.published_at,
            source=article.source,
            language=article.language,
            authors=article.authors,
            text=text,
            body_sha256=body_fingerprint(text.body),
            received_at=received_at,
        )

    @staticmethod
    def deduplicate(article: TaggedArticle, state: MutableMapping[str, str]) -> TaggedArticle:
        """Mark the article as a duplicate, or record it as a first occurrence."""
        article.duplicate = ExactDeduplicator(state).check(
            article.id, article.body_sha256, body_is_empty=not article.text.body
        )
        return article

    def run(self, raw: bytes, received_at: datetime, state: MutableMapping[str, str]) -> TaggedArticle:
        return self.deduplicate(self.prepare(raw, received_at), state)
