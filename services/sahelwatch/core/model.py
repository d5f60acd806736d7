"""The messages that move between the stages, as plain dataclasses.

Their ``to_json``/``from_json`` forms are exactly the ``tagged_article`` and
``dead_letter`` schemas, so what crosses a topic is what the schema says.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sahelwatch.contracts import SCHEMA_VERSION
from sahelwatch.core.tagging.tags import Tags

CleaningPath = Literal["body", "html"]
DuplicateKind = Literal["exact", "near", "update"]
MatchedOn = Literal["id", "url", "body_sha256", "minhash"]


def utc_iso(moment: datetime) -> str:
    """RFC 3339 in UTC with a Z, millisecond precision: one spelling for every timestamp."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("z", "Z")).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Article:
    """A validated input article; either ``body`` or ``html`` is set."""

    id: str
    url: str
    title: str
    published_at: datetime
    source: str
    body: str | None = None
    html: str | None = None
    language: str | None = None
    fetched_at: datetime | None = None
    authors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CleanedText:
    title: str
    body: str
    path: CleaningPath
    original_chars: int
    page_date: str | None = None

    @property
    def removed_chars(self) -> int:
        return max(0, self.original_chars - len(self.body))


@dataclass(frozen=True, slots=True)
class Duplicate:
    """What an article repeats: ``of`` is the id of the story's first article."""

    of: str
    kind: DuplicateKind
    matched_on: MatchedOn
    similarity: float


@dataclass(slots=True)
class TaggedArticle:
    id: str
    url: str
    canonical_url: str
    title: str
    published_at: datetime
    source: str
    language: str | None
    language_detected: bool
    authors: tuple[str, ...]
    text: CleanedText
    body_sha256: str
    received_at: datetime
    origin: Origin
    tags: Tags
    duplicate: Duplicate | None = None
    story_id: str | None = None
    story_sources: tuple[str, ...] = ()
    redelivery: bool = False  # the dedup stage saw this input position before (not serialised)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "id": self.id,
            "url": self.url,
            "canonical_url": self.canonical_url,
            "title": self.title,
            "published_at": utc_iso(self.published_at),
            "source": self.source,
            "language": self.language,
            "language_detected": self.language_detected,
            "authors": list(self.authors),
            "text": {"title": self.text.title, "body": self.text.body},
            "cleaning": {
                "path": self.text.path,
                "original_chars": self.text.original_chars,
                "removed_chars": self.text.removed_chars,
                "page_date": self.text.page_date,
            },
            "fingerprint": {"body_sha256": self.body_sha256},
            **self.tags.to_json(),
            **self.verdict_json(),
            "received_at": utc_iso(self.received_at),
            "origin": {"topic": self.origin.topic, "partition": self.origin.partition, "offset": self.origin.offset},
        }

    def verdict_json(self) -> dict[str, Any]:
        """The fields of ``to_json`` the dedup stage decides; the others are known once the article is prepared."""
        return {
            "duplicate": None
            if self.duplicate is None
            else {
                "of": self.duplicate.of,
                "kind": self.duplicate.kind,
                "matched_on": self.duplicate.matched_on,
                "similarity": self.duplicate.similarity,
            },
            "story": None if self.story_id is None else {"id": self.story_id, "sources": list(self.story_sources)},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TaggedArticle:
        dup, story = data["duplicate"], data["story"]
        return cls(
            id=data["id"],
            url=data["url"],
            canonical_url=data["canonical_url"],
            title=data["title"],
            published_at=parse_time(data["published_at"]),
            source=data["source"],
            language=data["language"],
            language_detected=data["language_detected"],
            authors=tuple(data.get("authors", ())),
            text=CleanedText(
                title=data["text"]["title"],
                body=data["text"]["body"],
                path=data["cleaning"]["path"],
                original_chars=data["cleaning"]["original_chars"],
                page_date=data["cleaning"]["page_date"],
            ),
            body_sha256=data["fingerprint"]["body_sha256"],
            received_at=parse_time(data["received_at"]),
            origin=Origin(**data["origin"]),
            tags=Tags.from_json(data),
            duplicate=None if dup is None else Duplicate(**dup),
            story_id=None if story is None else story["id"],
            story_sources=() if story is None else tuple(story["sources"]),
        )


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a raw record was read: a topic position, or a file and line."""

    topic: str
    partition: int | None = None
    offset: int | None = None
    key: str | None = None

    def position(self) -> str:
        return f"{self.topic}/{self.partition}/{self.offset}"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    reason: str
    message: str
    original: bytes
    origin: Origin
    failed_at: datetime
    article_id: str | None = None
    keep_bytes: int = field(default=64 * 1024, repr=False)

    def to_json(self) -> dict[str, Any]:
        kept = self.original[: self.keep_bytes]
        text, encoding = _as_text(kept, truncated=len(kept) < len(self.original))
        return {
            "schema_version": SCHEMA_VERSION,
            "reason": self.reason,
            "message": self.message,
            "original": text,
            "original_encoding": encoding,
            "original_size": len(self.original),
            "original_truncated": len(kept) < len(self.original),
            "article_id": self.article_id,
            "source": {
                "topic": self.origin.topic,
                "partition": self.origin.partition,
                "offset": self.origin.offset,
                "key": self.origin.key,
            },
            "failed_at": utc_iso(self.failed_at),
        }


def _as_text(data: bytes, truncated: bool) -> tuple[str, Literal["utf-8", "base64"]]:
    """UTF-8 when the bytes are text (a cut may split the last character), else base64."""
    for trim in range(4 if truncated else 1):
        try:
            return data[: len(data) - trim].decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            continue
    return base64.b64encode(data).decode("ascii"), "base64"
