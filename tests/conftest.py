"""Shared fixtures: the project's own sample articles, and the shared seeds when present."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SHARED = ROOT.parent / "shared"


def article(**overrides: object) -> dict[str, object]:
    """A valid input article; tests override what they exercise."""
    article_id = str(overrides.get("id", "t-1"))
    base: dict[str, object] = {
        "id": article_id,
        "url": f"https://news.example/{article_id}",
        "title": "Niger junta rejects ECOWAS ultimatum",
        "published_at": "2023-08-06T12:00:00Z",
        "source": "news.example",
        "body": "The military council in Niamey said on Sunday it would not bow to the ultimatum.",
    }
    base.update(overrides)
    return base


def encode(data: object) -> bytes:
    return orjson.dumps(data)


@pytest.fixture
def seeds() -> Path:
    folder = SHARED / "seeds"
    if not folder.is_dir():
        pytest.skip(f"shared seeds not present at {folder}")
    return folder
