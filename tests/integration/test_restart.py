"""Dedup state lives in the changelog: after a clean stop, a crash or a rebalance, a copy is still caught."""

from __future__ import annotations

import signal
from pathlib import Path

import orjson
import pytest

from tests.conftest import EXAMPLES, article
from tests.integration.conftest import Env, Worker, free_port, make_env

pytestmark = pytest.mark.integration

STORIES = [orjson.loads(line) for line in (EXAMPLES / "articles.jsonl").read_bytes().splitlines()[:5]]


def near_copy(story: dict[str, object], new_id: str) -> bytes:
    """The story republished elsewhere: new headline, a paragraph dropped, a wire frame added."""
    paragraphs = str(story["body"]).split("\n\n")
    body = "NIAMEY (Wire) - " + "\n\n".join(paragraphs[:2] + paragraphs[3:]) + "\n\nReporting by wire staff."
    return orjson.dumps(
        story | {"id": new_id, "url": f"https://wire.example/{new_id}", "source": "wire.example", "body": body}
    )


def publish_lines(env: Env, tmp_path: Path, name: str, lines: list[bytes]) -> None:
    file = tmp_path / f"{name}.jsonl"
    file.write_bytes(b"\n".join(lines))
    env.run_cli("publish", str(file))


def test_sigterm_is_graceful_and_state_survives_a_lost_disk(env: Env, tmp_path: Path) -> None:
    first = Worker(env, tmp_path / "first.log").start()
    batch = [orjson.dumps(article(id=f"r-{i}", body=f"Story {i} from Tillaberi.")) for i in range(5)]
    publish_lines(env, tmp_path, "batch", batch)
    assert len(env.consume(env.settings.topics.tagged, 5)) == 5
    assert first.stop(signal.SIGTERM) == 0, first.log()

    # a new worker with an empty data dir must rebuild the dedup table from the changelog
    second = Worker(env, tmp_path / "second.log", SAHELWATCH_DATA_DIR=str(tmp_path / "fresh-disk")).start()
    try:
        publish_lines(
            env,
            tmp_path,
            "copies",
            [
                orjson.dumps(article(id="r-2")),  # same id, new body: an update
                orjson.dumps(article(id="r-copy", body="Story 4 from  TILLABERI.")),  # same body, new id
                orjson.dumps(article(id="r-new", body="A new story.")),
            ],
        )
        duplicates = {m["value"]["id"]: m["value"]["duplicate"] for m in env.consume(env.settings.topics.duplicates, 2)}
        assert (duplicates["r-2"]["of"], duplicates["r-2"]["kind"]) == ("r-2", "update")
        assert (duplicates["r-copy"]["of"], duplicates["r-copy"]["kind"]) == ("r-4", "exact")
        assert "r-new" in {m["value"]["id"] for m in env.consume(env.settings.topics.tagged, 6)}
    finally:
        assert second.stop() == 0


def test_a_near_copy_is_caught_after_a_crash_and_across_a_rebalance(
    tmp_path_factory: pytest.TempPathFactory, broker: str, tmp_path: Path
) -> None:
    env = make_env(tmp_path_factory, broker)
    crashed = Worker(env, tmp_path / "crashed.log", SAHELWATCH_DATA_DIR=str(tmp_path / "disk-a")).start()
    publish_lines(env, tmp_path, "stories", [orjson.dumps(s | {"id": f"crash-{s['id']}"}) for s in STORIES])
    env.consume(env.settings.topics.tagged, len(STORIES))
    crashed.stop(signal.SIGKILL)

    restarted = Worker(env, tmp_path / "restarted.log", SAHELWATCH_DATA_DIR=str(tmp_path / "disk-b")).start()
    joined = None
    try:
        publish_lines(env, tmp_path, "after-crash", [near_copy(STORIES[1], "after-crash")])
        copies = env.consume(env.settings.topics.duplicates, 1)
        verdict = next(m["value"] for m in copies if m["value"]["id"] == "after-crash")
        assert verdict["duplicate"]["kind"] == "near"
        assert verdict["duplicate"]["of"] == f"crash-{STORIES[1]['id']}"
        assert verdict["story"]["sources"] == [STORIES[1]["source"], "wire.example"]

        # a second worker joins: partitions move, the dedup partition may change hands
        joined = Worker(
            env,
            tmp_path / "joined.log",
            SAHELWATCH_DATA_DIR=str(tmp_path / "disk-c"),
            SAHELWATCH_WEB_PORT=str(free_port()),
        ).start()
        publish_lines(env, tmp_path, "after-join", [near_copy(STORIES[3], "after-join")])
        copies = env.consume(env.settings.topics.duplicates, 2)
        verdict = next(m["value"] for m in copies if m["value"]["id"] == "after-join")
        assert (verdict["duplicate"]["kind"], verdict["duplicate"]["of"]) == ("near", f"crash-{STORIES[3]['id']}")
        # nothing was lost: every story reached articles.tagged at least once
        tagged_ids = {m["value"]["id"] for m in env.consume(env.settings.topics.tagged, len(STORIES))}
        assert {f"crash-{s['id']}" for s in STORIES} <= tagged_ids
    finally:
        if joined is not None:
            assert joined.stop() == 0, joined.log()
        assert restarted.stop() == 0, restarted.log()
