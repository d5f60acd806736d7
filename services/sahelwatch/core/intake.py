"""From raw message bytes to a validated Article, or a reason to refuse them.

Checks run cheapest first (size, encoding, syntax, contract) so a hostile
message costs little before it is refused.
"""

from __future__ import annotations

from typing import Any

import orjson

from sahelwatch.contracts import schema_errors
from sahelwatch.core.model import Article, parse_time


class Rejected(Exception):
    """The record cannot be processed; ``reason`` is a dead_letter reason code."""

    def __init__(self, reason: str, message: str, article_id: str | None = None) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message
        self.article_id = article_id

    def __reduce__(self) -> tuple[type[Rejected], tuple[str, str, str | None]]:
        """Picklable with its fields: the worker's prepare pool returns it across processes."""
        return Rejected, (self.reason, self.message, self.article_id)


def decode_article(raw: bytes, max_bytes: int) -> Article:
    if len(raw) > max_bytes:
        raise Rejected("too_large", f"message is {len(raw):,} bytes; the limit is {max_bytes:,}")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Rejected(
            "not_utf8", f"byte 0x{raw[exc.start]:02x} at offset {exc.start} is not valid UTF-8 ({exc.reason})"
        ) from None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Rejected("not_json", f"invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise Rejected("not_an_object", f"expected a JSON object, got {type(data).__name__}")
    article_id = data.get("id") if isinstance(data.get("id"), str) else None
    errors = schema_errors("article", data)
    if errors:
        raise Rejected("schema_invalid", "; ".join(errors), article_id)
    return _article(data)


def _article(data: dict[str, Any]) -> Article:
    fetched_at = data.get("fetched_at")
    return Article(
        id=data["id"],
        url=data["url"],
        title=data["title"],
        published_at=parse_time(data["published_at"]),
        source=data["source"],
        body=data.get("body"),
        html=data.get("html"),
        language=data.get("language"),
        fetched_at=parse_time(fetched_at) if fetched_at else None,
        authors=tuple(data.get("authors", ())),
    )
