"""Every kind of bad input lands on the dead-letter topic; good articles around it flow on."""

from __future__ import annotations

import base64
from pathlib import Path

import orjson
import pytest
from kafka import KafkaProducer

from sahelwatch.contracts import schema_errors
from tests.conftest import article
from tests.integration.conftest import Env, Worker

pytestmark = pytest.mark.integration

BAD: dict[str, bytes] = {
    "not_json": b'{"id": "truncated", "title": ',
    "not_utf8": '{"id": "latin", "title": "Niamey café"}'.encode("latin-1"),
    "binary": bytes(range(256)) * 4,
    "not_an_object": b'["an", "array"]',
    "wrong_types": orjson.dumps(article(id="wrong-types", published_at=1691000000, authors="me")),
    "missing_text": orjson.dumps({k: v for k, v in article(id="no-text").items() if k != "body"}),
    "too_large": orjson.dumps(article(id="huge", body="x" * (3 * 1024 * 1024))),
    "far_future": orjson.dumps(article(id="future", published_at="2099-01-01T00:00:00Z")),
}
EXPECTED_REASON = {
    "not_json": "not_json",
    "not_utf8": "not_utf8",
    "binary": "not_utf8",
    "not_an_object": "not_an_object",
    "wrong_types": "schema_invalid",
    "missing_text": "schema_invalid",
    "too_large": "too_large",
    "far_future": "future_dated",
}
SCRIPTED_PAGE = (
    "<html><head><title>Niamey</title><script>document.cookie='x'</script><style>p{}</style></head>"
    "<body><article><p>Soldiers patrolled Niamey.</p><script>steal()</script></article></body></html>"
)


def test_each_bad_input_is_dead_lettered_with_its_reason(env: Env, worker: Worker, tmp_path: Path) -> None:
    producer = KafkaProducer(bootstrap_servers=env.settings.bootstrap_servers, max_request_size=16 * 1024 * 1024)
    sent: dict[str, tuple[int, int]] = {}
    for index, (name, value) in enumerate(BAD.items()):
        good = orjson.dumps(article(id=f"good-{index}", body=f"Good article number {index} about Niamey."))
        producer.send(env.settings.topics.raw, key=f"good-{index}".encode(), value=good)
        meta = producer.send(env.settings.topics.raw, key=name.encode(), value=value).get(timeout=30)
        sent[name] = (meta.partition, meta.offset)
    scripted = {k: v for k, v in article(id="scripted").items() if k != "body"} | {"html": SCRIPTED_PAGE}
    producer.send(env.settings.topics.raw, key=b"scripted", value=orjson.dumps(scripted))
    producer.flush()
    producer.close()

    letters = env.consume(env.settings.topics.deadletter, len(BAD))
    assert len(letters) == len(BAD)
    by_key = {m["value"]["source"]["key"]: m["value"] for m in letters}
    for name, value in BAD.items():
        letter = by_key[name]
        assert schema_errors("dead_letter", letter) == []
        assert letter["reason"] == EXPECTED_REASON[name], (name, letter["message"])
        assert letter["message"]
        assert (letter["source"]["partition"], letter["source"]["offset"]) == sent[name]
        assert letter["original_size"] == len(value)
        kept = (
            letter["original"].encode()
            if letter["original_encoding"] == "utf-8"
            else base64.b64decode(letter["original"])
        )
        assert value.startswith(kept)
    assert by_key["too_large"]["original_truncated"] is True
    assert by_key["wrong_types"]["article_id"] == "wrong-types"
    assert "published_at" in by_key["wrong_types"]["message"]

    tagged = {m["value"]["id"]: m["value"] for m in env.consume(env.settings.topics.tagged, len(BAD) + 1)}
    assert set(tagged) == {f"good-{i}" for i in range(len(BAD))} | {"scripted"}
    assert tagged["scripted"]["text"]["body"] == "Soldiers patrolled Niamey."
    assert worker.health()["status"] == "ok"
    assert 'sahelwatch_dead_letters_total{reason="not_utf8"} 2.0' in worker.metrics()


def test_publish_refuses_invalid_records_locally(env: Env, tmp_path: Path) -> None:
    file = tmp_path / "mixed.jsonl"
    file.write_bytes(b"not json\n" + orjson.dumps(article(id="local-ok")) + b"\n" + orjson.dumps({"id": "x"}) + b"\n")
    result = env.run_cli("publish", str(file))
    assert "sent 1" in result.stdout
    assert "refused 2 (1 not_json, 1 schema_invalid)" in result.stdout
    assert f"{file}:1" in result.stderr and f"{file}:3" in result.stderr
