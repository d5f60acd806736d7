"""Decoding, validation, cleaning and tagging: the stages of an article that need nothing seen before.

The worker runs them in its pool processes, on every input partition at once,
and never loads this module itself (the cleaning libraries and the tagger are
about 20 MiB of its memory otherwise); the stages that need the history,
deduplication and alerting, are in ``core/pipeline.py``. The offline commands
run both, in the same order as the worker.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sahelwatch.core.cleaning import clean
from sahelwatch.core.cleaning.language import detect_language
from sahelwatch.core.cleaning.urls import canonical_url
from sahelwatch.core.dedup import body_fingerprint
from sahelwatch.core.intake import Rejected, decode_article
from sahelwatch.core.model import Origin, TaggedArticle, utc_iso
from sahelwatch.core.tagging import Tagger, default_tagger


@dataclass(frozen=True)
class Preparation:
    max_message_bytes: int
    tagger: Tagger = field(default_factory=default_tagger)
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
