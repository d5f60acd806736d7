"""The dedup topic's records: prepared articles in order, split by size, signatures kept, old records read."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from sahelwatch.contracts import schema_errors
from sahelwatch.core.model import Duplicate, Origin, TaggedArticle
from sahelwatch.core.pipeline import minhash
from sahelwatch.core.preparation import Preparation
from sahelwatch.streaming import article_batch
from sahelwatch.streaming.prepare_pool import Prepared, prepare

NOW = datetime(2023, 8, 1, 12, tzinfo=UTC)
PREPARATION = Preparation(64 * 1024 * 1024)


def _prepared(n: int, body: str | None = None) -> Prepared:
    raw = orjson.dumps(
        {
            "id": f"a{n}",
            "url": f"https://example.org/{n}",
            "title": f"Niamey report {n}",
            "published_at": "2023-08-01T10:00:00Z",
            "source": "example.org",
            "body": body
            or "The military junta in Niamey received envoys of ECOWAS. " + " ".join(f"w{n}-{i}" for i in range(60)),
        }
    )
    outcome = prepare(PREPARATION, raw, NOW, Origin("articles.raw", 0, n, None))
    assert isinstance(outcome, Prepared)
    return outcome


def test_a_batch_is_one_record_of_its_articles_in_order_with_their_signatures() -> None:
    articles = [_prepared(n) for n in range(5)] + [_prepared(5, body="Too short.")]
    [(record, part)] = list(article_batch.encode(articles))
    assert part == slice(0, 6)
    assert schema_errors("article_batch", orjson.loads(record)) == []
    decoded = article_batch.decode(record, headers=None)
    assert [carried.article.id for carried in decoded] == [f"a{n}" for n in range(6)]
    for carried, sent in zip(decoded, articles, strict=True):
        article, signature = carried.article, carried.signature
        assert schema_errors("tagged_article", article.to_json()) == []
        assert article.to_json() == orjson.loads(sent.value)
        expected = minhash(article)
        assert (signature is None) == (expected is None)
        if signature is not None and expected is not None:
            assert signature.values.tolist() == expected.values.tolist()
            assert signature.lead.tolist() == expected.lead.tolist()
    assert all(carried.signature is not None for carried in decoded[:-1])
    assert decoded[-1].signature is None  # a body too short to compare has no signature


@pytest.mark.parametrize("copy", [False, True])
def test_an_output_is_the_articles_json_with_its_verdict(copy: bool) -> None:
    [(record, _)] = list(article_batch.encode([_prepared(1)]))
    [carried] = article_batch.decode(record, None)
    if copy:
        carried.article.duplicate = Duplicate("a0", "near", "minhash", 0.81)
        carried.article.story_id, carried.article.story_sources = "a0", ("example.org", "other.example")
    output = orjson.loads(carried.output())
    assert output == carried.article.to_json() and list(output) == list(carried.article.to_json())
    assert (output["duplicate"] is None) is not copy and (output["story"] is None) is not copy
    assert schema_errors("tagged_article", output) == []


def test_large_articles_are_split_over_records_under_the_limit_and_none_is_left_out() -> None:
    words = " ".join(f"word{i}" for i in range(30_000))  # about 290 KB of body each
    articles = [_prepared(0), _prepared(1, body=words), _prepared(2, body=words + " x"), _prepared(3)]
    records = list(article_batch.encode(articles))
    assert len(records) > 1
    assert [i for _, part in records for i in range(len(articles))[part]] == [0, 1, 2, 3]
    for record, part in records:
        assert len(record) <= article_batch.RECORD_BYTES or part.stop - part.start == 1
        assert [c.article.id for c in article_batch.decode(record, None)] == [a.article_id for a in articles[part]]


def test_a_record_of_an_earlier_worker_one_article_with_its_signature_header_is_read() -> None:
    prepared = _prepared(7)
    [carried] = article_batch.decode(prepared.value, [(article_batch.MINHASH_HEADER, prepared.minhash)])
    assert carried.article.id == "a7"
    assert carried.signature is not None
    assert carried.signature.to_bytes() == prepared.minhash
    assert carried.output() == orjson.dumps(carried.article.to_json())
    [without_header] = article_batch.decode(prepared.value, headers=[])  # no header: computed from the body
    computed = without_header.signature
    assert computed is not None
    assert computed.to_bytes() == prepared.minhash


def test_a_batch_of_another_schema_version_is_refused_by_name() -> None:
    [(record, _)] = list(article_batch.encode([_prepared(1)]))
    future = orjson.dumps(orjson.loads(record) | {"schema_version": 2})
    with pytest.raises(ValueError, match="schema_version 2"):
        article_batch.decode(future, None)
    assert isinstance(article_batch.decode(record, None)[0].article, TaggedArticle)
