import base64
from datetime import UTC, datetime

from sahelwatch.contracts import schema_errors
from sahelwatch.core.model import DeadLetter, Origin
from sahelwatch.core.preparation import Preparation
from tests.conftest import article, encode

NOW = datetime(2023, 8, 10, 9, 30, tzinfo=UTC)


def test_tagged_article_round_trips_and_matches_its_schema() -> None:
    tagged = Preparation(2**21).prepare(encode(article(authors=["A"])), NOW, Origin("articles.raw", 1, 5))
    data = tagged.to_json()
    assert schema_errors("tagged_article", data) == []
    assert data["received_at"] == "2023-08-10T09:30:00.000Z"
    assert type(tagged).from_json(data).to_json() == data


def test_dead_letter_keeps_text_originals_as_utf8() -> None:
    letter = DeadLetter("not_json", "bad", "é{".encode(), Origin("articles.raw", 2, 17, "k"), NOW)
    data = letter.to_json()
    assert schema_errors("dead_letter", data) == []
    assert (data["original"], data["original_encoding"], data["original_size"]) == ("é{", "utf-8", 3)
    assert data["source"] == {"topic": "articles.raw", "partition": 2, "offset": 17, "key": "k"}


def test_dead_letter_base64_encodes_binary() -> None:
    raw = b"\xff\x00\xfe"
    data = DeadLetter("not_utf8", "bad", raw, Origin("t"), NOW).to_json()
    assert data["original_encoding"] == "base64"
    assert base64.b64decode(data["original"]) == raw


def test_dead_letter_cuts_huge_originals_without_splitting_a_character() -> None:
    raw = ("é" * 40_000).encode()  # 80,000 bytes, two per character
    data = DeadLetter("too_large", "big", raw, Origin("t"), NOW, keep_bytes=1001).to_json()
    assert data["original_truncated"] is True
    assert data["original_encoding"] == "utf-8"
    assert data["original"] == "é" * 500
    assert data["original_size"] == 80_000
