import pytest

from sahelwatch.core.intake import Rejected, decode_article
from tests.conftest import article, encode

LIMIT = 2 * 1024 * 1024


def reason_of(raw: bytes, limit: int = LIMIT) -> Rejected:
    with pytest.raises(Rejected) as info:
        decode_article(raw, limit)
    return info.value


def test_valid_article_is_decoded() -> None:
    decoded = decode_article(encode(article(authors=["A. Writer"], language="en")), LIMIT)
    assert decoded.id == "t-1"
    assert decoded.published_at.isoformat() == "2023-08-06T12:00:00+00:00"
    assert decoded.authors == ("A. Writer",)
    assert decoded.language == "en"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "not_json"),
        (b'{"id": ', "not_json"),
        (b"not json at all", "not_json"),
        (b"\xff\xfe\x00binary\x00", "not_utf8"),
        ('{"id": "café"}'.encode("latin-1"), "not_utf8"),
        (b"[1, 2, 3]", "not_an_object"),
        (b'"just a string"', "not_an_object"),
        (b'{"id": "x"}', "schema_invalid"),
        (b"[" * 5000 + b"]" * 5000, "not_json"),
    ],
)
def test_bad_input_is_rejected_with_its_reason(raw: bytes, reason: str) -> None:
    assert reason_of(raw).reason == reason


def test_oversized_input_is_refused_before_parsing() -> None:
    raw = encode(article(body="x" * 3000))
    rejected = reason_of(raw, limit=1024)
    assert rejected.reason == "too_large"
    assert "limit is 1,024" in rejected.message


def test_schema_rejection_keeps_the_article_id_and_names_the_field() -> None:
    rejected = reason_of(encode(article(published_at=17)))
    assert rejected.reason == "schema_invalid"
    assert rejected.article_id == "t-1"
    assert "published_at" in rejected.message


def test_not_utf8_message_points_at_the_byte() -> None:
    rejected = reason_of(b'{"id": "ok", "title": "caf\xe9"}')
    assert "0xe9 at offset 26" in rejected.message
