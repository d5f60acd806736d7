"""Articles published with the CLI flow through the real broker and worker."""

from __future__ import annotations

import urllib.error
import urllib.request

import orjson
import pytest

from sahelwatch.contracts import schema_errors
from tests.conftest import EXAMPLES, SHARED
from tests.integration.conftest import Env, Worker

pytestmark = pytest.mark.integration


def test_topics_create_is_repeatable(env: Env) -> None:
    first = env.run_cli("topics", "create").stdout
    second = env.run_cli("topics", "create").stdout
    raw_line = next(line for line in second.splitlines() if line.startswith(env.settings.topics.raw + " "))
    assert "4 partitions" in raw_line and "exists" in raw_line
    assert "created" in first or "exists" in first
    assert "created" not in second


def test_examples_flow_to_tagged_and_duplicates(env: Env, worker: Worker) -> None:
    published = env.run_cli(
        "publish",
        "--published-at",  # for the .txt and .html files; a date of today would age the 2023 stories out of retention
        "2023-08-07T09:00:00+00:00",
        str(EXAMPLES / "articles.jsonl"),
        str(EXAMPLES / "page.html"),
        str(EXAMPLES / "note.txt"),
    )
    assert "sent 18" in published.stdout and "refused 0" in published.stdout

    tagged = env.consume(env.settings.topics.tagged, 16)
    duplicates = env.consume(env.settings.topics.duplicates, 2)
    for message in tagged + duplicates:
        assert schema_errors("tagged_article", message["value"]) == []
        assert message["key"] == message["value"]["id"].encode()

    expected_ids = {orjson.loads(line)["id"] for line in (EXAMPLES / "articles.jsonl").read_bytes().splitlines()}
    assert {m["value"]["id"] for m in tagged} == (expected_ids - {"sw-demo-015"}) | {"page", "note"}
    assert len(tagged) == 16, "a duplicate reached articles.tagged"
    assert sorted((m["value"]["id"], m["value"]["duplicate"]["of"]) for m in duplicates) == [
        ("sw-demo-013", "sw-demo-013"),
        ("sw-demo-015", "sw-demo-011"),
    ]
    page = next(m["value"] for m in tagged if m["value"]["id"] == "page")
    assert page["cleaning"]["path"] == "html"
    assert "<script" not in page["text"]["body"]

    # republishing the whole file again adds only duplicates
    env.run_cli("publish", str(EXAMPLES / "articles.jsonl"))
    assert len(env.consume(env.settings.topics.duplicates, 18)) == 18
    assert len(env.consume(env.settings.topics.tagged, 16, timeout=3)) == 16

    metrics = worker.metrics()
    assert 'sahelwatch_duplicates_total{kind="exact",matched_on="id"}' in metrics
    assert "sahelwatch_faust_" in metrics


def test_seed_page_flows_when_shared_is_present(env: Env, worker: Worker) -> None:
    seed = SHARED / "seeds" / "001_77e9e5f2fc69e3d4.txt"
    if not seed.is_file():
        pytest.skip(f"shared seeds not present at {seed.parent}")
    env.run_cli(
        "publish", "--source", "english.almayadeen.net", "--published-at", "2023-08-09T13:00:00+00:00", str(seed)
    )
    tagged = env.consume(env.settings.topics.tagged, 17)
    (article,) = [m["value"] for m in tagged if m["value"]["id"] == seed.stem]
    assert "Blinken" in article["text"]["body"]
    assert article["published_at"] == "2023-08-09T13:00:00.000Z"


def test_subscribe_prints_what_arrives(env: Env, worker: Worker) -> None:
    out = env.run_cli(
        "subscribe", "--topic", env.settings.topics.duplicates, "--from-beginning", "--max", "2", "--timeout", "30"
    ).stdout.splitlines()
    assert len(out) == 2
    assert all(orjson.loads(line)["value"]["duplicate"] for line in out)
    pretty = env.run_cli(
        "subscribe", "--topic", env.settings.topics.duplicates, "--from-beginning", "--max", "1", "--format", "pretty"
    ).stdout
    assert "DUPLICATE of" in pretty


@pytest.mark.parametrize("path", ["/", "/router/", "/table/", "/table/dedup-index/", "/graph/", "/stats/"])
def test_the_web_server_shows_no_faust_page(worker: Worker, path: str) -> None:
    """Only /health and /metrics: Faust's pages would show table contents, routing and internals."""
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"http://127.0.0.1:{worker.port}{path}", timeout=5)
    assert refused.value.code == 404
    assert worker.health()["status"] == "ok"
    assert "sahelwatch_articles_received_total" in worker.metrics()
