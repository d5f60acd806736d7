"""Reading articles from files: JSON Lines, JSON, plain text and HTML pages.

``publish``, ``tag`` and ``replay`` read through here, so the same file gives
the same message bytes whether it goes to Kafka or through the offline core.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from html import unescape
from pathlib import Path
from typing import Any

import orjson

from sahelwatch.core.model import utc_iso

JSON_LINES = (".jsonl", ".ndjson")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_PUBLISHED = re.compile(
    r"<meta[^>]+(?:property|name|itemprop)=[\"'](?:article:published_time|datePublished|date)[\"'][^>]*>", re.IGNORECASE
)
_CONTENT = re.compile(r"content=[\"']([^\"']+)[\"']", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Record:
    """One message to send or process: its key (the article id when known) and value."""

    key: bytes | None
    value: bytes
    where: str


@dataclass(frozen=True, slots=True)
class Refusal:
    where: str
    reason: str


@dataclass(frozen=True, slots=True)
class FileDefaults:
    """Fields a text or HTML file cannot carry itself."""

    source: str = "local-file"
    published_at: datetime | None = None
    language: str | None = None


def read_records(paths: list[str], defaults: FileDefaults = FileDefaults()) -> Iterator[Record | Refusal]:
    for path in paths:
        if path == "-":
            yield from _json_lines(sys.stdin.buffer, "<stdin>")
            continue
        file = Path(path)
        if not file.is_file():
            yield Refusal(path, "no such file")
            continue
        suffix = file.suffix.lower()
        if suffix in JSON_LINES:
            with file.open("rb") as handle:
                yield from _json_lines(handle, path)
        elif suffix == ".json":
            yield from _json_document(file)
        elif suffix in (".txt", ".text"):
            yield _from_text(file, defaults)
        elif suffix in (".html", ".htm"):
            yield _from_html(file, defaults)
        else:
            yield Refusal(path, f"unknown file type {suffix or '(none)'}: use .jsonl, .json, .txt or .html")


def _json_lines(handle: Any, name: str) -> Iterator[Record | Refusal]:
    for number, line in enumerate(handle, start=1):
        line = line.rstrip(b"\r\n")
        if line.strip():
            yield Record(_id_key(line), line, f"{name}:{number}")


def _id_key(value: bytes) -> bytes | None:
    """The article id as message key, when the value is JSON with a string id."""
    try:
        data = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    if isinstance(data, dict) and isinstance(data.get("id"), str):
        return str(data["id"]).encode("utf-8")
    return None


def _json_document(file: Path) -> Iterator[Record | Refusal]:
    try:
        data = orjson.loads(file.read_bytes())
    except orjson.JSONDecodeError as exc:
        yield Refusal(str(file), f"invalid JSON: {exc}")
        return
    items = data if isinstance(data, list) else [data]
    for index, item in enumerate(items):
        value = orjson.dumps(item)
        yield Record(_id_key(value), value, f"{file}[{index}]")


def _file_article(file: Path, defaults: FileDefaults, title: str, **text: str) -> Record:
    published = defaults.published_at or datetime.fromtimestamp(file.stat().st_mtime, UTC)
    article: dict[str, Any] = {
        "id": file.stem,
        "url": file.resolve().as_uri(),
        "title": title,
        "published_at": utc_iso(published),
        "source": defaults.source,
        **text,
    }
    if defaults.language:
        article["language"] = defaults.language
    return Record(file.stem.encode("utf-8"), orjson.dumps(article), str(file))


def _from_text(file: Path, defaults: FileDefaults) -> Record:
    text = file.read_text(encoding="utf-8", errors="replace")
    first, _, rest = text.lstrip().partition("\n")
    return _file_article(file, defaults, first.strip(), body=rest)


def _from_html(file: Path, defaults: FileDefaults) -> Record:
    html = file.read_text(encoding="utf-8", errors="replace")
    match = _TITLE.search(html)
    title = " ".join(unescape(match.group(1)).split()) if match else file.stem
    if defaults.published_at is None:
        defaults = FileDefaults(defaults.source, _published_meta(html), defaults.language)
    return _file_article(file, defaults, title, html=html)


def _published_meta(html: str) -> datetime | None:
    for tag in _PUBLISHED.findall(html):
        content = _CONTENT.search(tag)
        if content:
            try:
                moment = datetime.fromisoformat(content.group(1).replace("z", "Z"))
            except ValueError:
                continue
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None
