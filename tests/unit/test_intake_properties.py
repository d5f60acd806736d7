"""Property-based: whatever bytes arrive, the core either produces a valid tagged article or refuses
them with a known reason, and never raises anything else."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sahelwatch.contracts import schema_errors
from sahelwatch.core.intake import Rejected
from sahelwatch.core.model import Origin
from sahelwatch.core.preparation import Preparation
from tests.conftest import article

REASONS = {"too_large", "not_utf8", "not_json", "not_an_object", "schema_invalid", "future_dated"}
NOW = datetime(2030, 1, 1, tzinfo=UTC)
PREPARATION = Preparation(64 * 1024)
_offsets = itertools.count()

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)
fields = st.sampled_from(["id", "url", "title", "published_at", "source", "body", "html", "language", "authors"])


def outcome(raw: bytes) -> str:
    try:
        tagged = PREPARATION.prepare(raw, NOW, Origin("fuzz", 0, next(_offsets)))
    except Rejected as exc:
        rejected = exc
    else:
        assert schema_errors("tagged_article", tagged.to_json() | {"story": None}) == []
        return "ok"
    assert rejected.reason in REASONS, rejected.reason
    assert rejected.message
    return rejected.reason


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_random_bytes_are_refused_with_a_reason_or_processed(raw: bytes) -> None:
    outcome(raw)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_value_is_refused_with_a_reason_or_processed(value: object) -> None:
    outcome(orjson.dumps(value))


@settings(max_examples=300, deadline=None)
@given(fields, json_values)
def test_a_wrong_value_in_any_field_is_refused_or_processed(field: str, value: object) -> None:
    result = outcome(orjson.dumps(article() | {field: value}))
    if result == "ok":
        assert schema_errors("article", article() | {field: value}) == []


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=3000))
def test_any_text_body_or_page_is_processed(text: str) -> None:
    assert outcome(orjson.dumps(article(body=text))) == "ok"
    page = {k: v for k, v in article().items() if k != "body"} | {"html": f"<html><body><p>{text}</p></body></html>"}
    assert outcome(orjson.dumps(page)) == "ok"


def test_edge_cases_of_the_issue() -> None:
    huge_line = orjson.dumps(article(body="x" * 1_000_000))
    assert outcome(huge_line) == "too_large"
    assert outcome(b"[" * 50_000) == "not_json"  # deep nesting, under the size limit
    assert outcome(orjson.dumps(article(published_at="2023-02-30T10:00:00Z"))) == "schema_invalid"
    assert outcome(orjson.dumps(article(published_at="2999-01-01T00:00:00Z"))) == "future_dated"
    assert outcome(orjson.dumps(article(body="\x00\x01\x02 control \x1b[31m characters"))) == "ok"
    assert (
        outcome(
            b'{"id": "a", "id": "b", "url": "https://x.example", "title": "t", '
            b'"published_at": "2023-08-01T00:00:00Z", "source": "s", "body": "b"}'
        )
        == "ok"
    )  # last key wins
    script_page = {k: v for k, v in article().items() if k != "body"} | {
        "html": "<html><head><script>" + "alert(1);" * 5000 + "</script><style>p{}</style></head>"
        "<body><p>Soldiers patrolled Niamey on Sunday, residents said.</p></body></html>"
    }
    assert outcome(orjson.dumps(script_page)) == "ok"
    assert outcome('{"id": "é"}'.encode("utf-16")) == "not_utf8"
