"""A fuzz pass through the real worker: every hostile input is dead-lettered with a precise reason or
processed correctly, the good articles between them all come out, the worker never stops, and its
memory stays bounded (the peak is printed)."""

from __future__ import annotations

import random
from pathlib import Path

import orjson
import pytest
from kafka import KafkaProducer

from tests.conftest import article
from tests.integration.conftest import Worker, make_env

pytestmark = pytest.mark.integration

MAX_RSS_BYTES = 1024**3


def hostile_inputs() -> list[tuple[str, bytes, str]]:
    """(key, value, expected reason, or "ok:<article id>" for input that must be processed)."""
    rng = random.Random(20230726)
    good = orjson.dumps(article(id="fuzz-base"))
    page = {k: v for k, v in article(id="scripts").items() if k != "body"}
    cases: list[tuple[str, bytes, str]] = [
        (f"random-{n}", bytes(rng.randrange(128, 256) for _ in range(rng.randrange(1, 4000))), "not_utf8")
        for n in range(10)
    ]
    cases += [(f"truncated-{n}", good[: rng.randrange(1, len(good) - 1)], "not_json") for n in range(10)]
    cases += [
        (f"wrong-type-{field}", orjson.dumps(article(id=f"wt-{field}") | {field: 12345}), "schema_invalid")
        for field in ("id", "url", "title", "published_at", "source", "body", "language", "authors")
    ]
    cases += [
        ("deep-nesting", b"[" * 500_000 + b"]" * 500_000, "not_json"),
        ("not-an-object", b"[1, 2, 3]", "not_an_object"),
        ("invalid-date", orjson.dumps(article(id="bad-date", published_at="2023-02-30T25:61:00Z")), "schema_invalid"),
        ("far-future", orjson.dumps(article(id="future", published_at="2999-01-01T00:00:00Z")), "future_dated"),
        ("latin-1", '{"id": "café", "title": "Niamey"}'.encode("latin-1"), "not_utf8"),
        ("utf-16", orjson.dumps(article(id="utf16")).decode().encode("utf-16"), "not_utf8"),
        ("huge-page", orjson.dumps(page | {"html": "<p>" + "x" * (12 * 1024 * 1024) + "</p>"}), "too_large"),
        ("control-chars", orjson.dumps(article(id="ctrl", body="Niamey\x00\x01\x1b[31m calm\x7f today.")), "ok:ctrl"),
        ("million-char-line", orjson.dumps(article(id="long-line", body="Niamey " * 150_000)), "ok:long-line"),
        (
            "duplicate-keys",
            b'{"id": "dup-1", "id": "dup-keys", "url": "https://x.example/dk", "title": "t", '
            b'"published_at": "2023-08-01T00:00:00Z", "source": "s.example", "body": "Quiet day in Agadez."}',
            "ok:dup-keys",
        ),
        (
            "scripts",
            orjson.dumps(
                page
                | {
                    "html": "<html><head>" + "<script>steal();</script>" * 2000 + "<style>p{}</style>"
                    "</head><body><article><p>Soldiers patrolled Niamey on Sunday.</p></article></body></html>"
                }
            ),
            "ok:scripts",
        ),
    ]
    return cases


def peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc")


def test_hostile_input_never_stops_the_worker(
    tmp_path_factory: pytest.TempPathFactory, broker: str, tmp_path: Path
) -> None:
    env = make_env(tmp_path_factory, broker)
    worker = Worker(env, tmp_path / "worker.log").start()
    cases = hostile_inputs()
    try:
        producer = KafkaProducer(bootstrap_servers=env.settings.bootstrap_servers, max_request_size=16 * 1024 * 1024)
        for n, (key, value, _) in enumerate(cases):
            producer.send(env.settings.topics.raw, key=key.encode(), value=value)
            producer.send(
                env.settings.topics.raw,
                key=f"good-{n}".encode(),
                value=orjson.dumps(article(id=f"good-{n}", body=f"Market day {n} in Zinder went ahead as planned.")),
            )
        producer.flush()
        producer.close()
        refused = [c for c in cases if not c[2].startswith("ok:")]
        letters = {
            m["value"]["source"]["key"]: m["value"] for m in env.consume(env.settings.topics.deadletter, len(refused))
        }
        processed = {m["key"].decode() for m in env.consume(env.settings.topics.tagged, len(cases) * 2 - len(refused))}
        for key, _value, expected in cases:
            if expected.startswith("ok:"):
                assert expected.removeprefix("ok:") in processed, key
            else:
                assert letters[key]["reason"] == expected, (key, letters[key]["message"])
        assert {f"good-{n}" for n in range(len(cases))} <= processed
        assert worker.health()["status"] == "ok"
        assert worker.process is not None and worker.process.poll() is None
        peak = peak_rss(worker.process.pid)
        print(f"worker peak RSS over the fuzz pass: {peak / 1024**2:.0f} MiB")
        assert peak < MAX_RSS_BYTES
    finally:
        assert worker.stop() == 0, worker.log()
