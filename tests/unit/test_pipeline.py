from datetime import UTC, datetime

import pytest

from sahelwatch.core.intake import Rejected
from sahelwatch.core.pipeline import Pipeline
from tests.conftest import EXAMPLES, article, encode

NOW = datetime(2023, 8, 10, tzinfo=UTC)


def test_republished_article_and_copied_body_are_duplicates() -> None:
    pipeline, state = Pipeline(2**21), {}
    first = pipeline.run(encode(article()), NOW, state)
    again = pipeline.run(encode(article()), NOW, state)
    copy = pipeline.run(encode(article(id="t-2", url="https://other.example/2", source="other.example")), NOW, state)
    other = pipeline.run(encode(article(id="t-3", body="A different story about Mali.")), NOW, state)
    assert first.duplicate is None
    assert again.duplicate is not None and again.duplicate.matched_on == "id"
    assert copy.duplicate is not None and (copy.duplicate.of, copy.duplicate.matched_on) == ("t-1", "body_sha256")
    assert other.duplicate is None


def test_whitespace_and_case_changes_do_not_hide_a_copy() -> None:
    pipeline, state = Pipeline(2**21), {}
    pipeline.run(encode(article(body="Niger junta  rejects\nthe ultimatum.")), NOW, state)
    copy = pipeline.run(encode(article(id="t-9", body="NIGER junta rejects the ultimatum.")), NOW, state)
    assert copy.duplicate is not None


def test_rejections_propagate() -> None:
    with pytest.raises(Rejected):
        Pipeline(2**21).run(b"nope", NOW, {})


def test_examples_hold_exactly_the_planted_duplicates() -> None:
    pipeline, state = Pipeline(2**21), {}
    results = [
        pipeline.run(line, NOW, state)
        for line in (EXAMPLES / "articles.jsonl").read_bytes().splitlines()
        if line.strip()
    ]
    duplicates = {(a.id, a.duplicate.of) for a in results if a.duplicate}
    assert duplicates == {("sw-demo-015", "sw-demo-011"), ("sw-demo-013", "sw-demo-013")}
