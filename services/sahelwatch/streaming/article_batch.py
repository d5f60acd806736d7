"""Records of the internal dedup topic: the prepared articles of an intake batch, several to a record.

Every article crosses the single-partition dedup topic from the intake to the
dedup stage. At a record an article, that hop cost a Faust send and a Faust
stream event for each article, which is about what the bench's passthrough
agent spends on an article altogether; articles sharing a record share them.
The schema is ``schemas/article_batch.schema.json``.

A crash in the middle of a record redelivers the whole record; the dedup stage
recognises each article it had already seen by its input position, as for any
redelivery.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from sahelwatch.core.dedup.minhash import Signature
from sahelwatch.core.model import TaggedArticle
from sahelwatch.core.pipeline import minhash
from sahelwatch.streaming.prepare_pool import Prepared

SCHEMA_VERSION = 1

#: Under the broker's default message.max.bytes (1 MB), which the internal topic keeps; an
#: article larger than this goes in a record of its own.
RECORD_BYTES = 512 * 1024

#: Header of a record written by a worker before article batches (one article a record): its signature.
MINHASH_HEADER = "sahelwatch-minhash"


@dataclass(frozen=True, slots=True)
class Carried:
    """An article of a record, its signature, and its JSON as the intake wrote it (``to_json`` before the verdict)."""

    article: TaggedArticle
    signature: Signature | None
    fields: dict[str, Any]

    def output(self) -> bytes:
        """The article's output record: the intake's JSON with the dedup stage's verdict, the same as
        ``to_json`` then, without serialising the whole article again (about 30 µs an article in the worker)."""
        return orjson.dumps(self.fields | self.article.verdict_json())


def encode(articles: Sequence[Prepared]) -> Iterator[tuple[bytes, slice]]:
    """Records of at most ``RECORD_BYTES`` each, in order, with the slice of ``articles`` each holds."""
    start, size = 0, 0
    for end, article in enumerate(articles):
        cost = len(article.value) + 2 * len(article.minhash) + 32
        if end > start and size + cost > RECORD_BYTES:
            yield _record(articles[start:end]), slice(start, end)
            start, size = end, 0
        size += cost
    if start < len(articles):
        yield _record(articles[start:]), slice(start, len(articles))


def decode(value: bytes, headers: Any) -> list[Carried]:
    """The articles of a record; raises ValueError on a record that is neither an article batch nor
    an earlier worker's single article."""
    data = orjson.loads(value)
    if "articles" not in data:  # a record from a worker before batches, during a rolling upgrade
        article = TaggedArticle.from_json(data)
        return [Carried(article, _signature_of(article, headers), data)]
    if data.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(f"article batch of schema_version {data.get('schema_version')!r}, not {SCHEMA_VERSION}")
    return [
        Carried(TaggedArticle.from_json(item["article"]), _signature(item["minhash"]), item["article"])
        for item in data["articles"]
    ]


def _record(articles: Sequence[Prepared]) -> bytes:
    return orjson.dumps(
        {
            "schema_version": SCHEMA_VERSION,
            "articles": [
                {"article": orjson.Fragment(a.value), "minhash": base64.b64encode(a.minhash).decode()} for a in articles
            ],
        }
    )


def _signature(text: str) -> Signature | None:
    raw = base64.b64decode(text)
    return Signature.from_bytes(raw) if raw else None


def _signature_of(article: TaggedArticle, headers: Any) -> Signature | None:
    for name, value in headers or ():
        if name == MINHASH_HEADER:
            return Signature.from_bytes(value) if value else None
    return minhash(article)
