"""Dedup state lives in the changelog: a worker started on an empty disk still knows what it saw."""

from __future__ import annotations

import signal
from pathlib import Path

import orjson
import pytest

from tests.conftest import article
from tests.integration.conftest import Env, Worker

pytestmark = pytest.mark.integration


def test_sigterm_is_graceful_and_state_survives_a_lost_disk(env: Env, tmp_path: Path) -> None:
    first = Worker(env, tmp_path / "first.log").start()
    batch = tmp_path / "batch.jsonl"
    batch.write_bytes(
        b"\n".join(orjson.dumps(article(id=f"r-{i}", body=f"Story {i} from Tillaberi.")) for i in range(5))
    )
    env.run_cli("publish", str(batch))
    assert len(env.consume(env.settings.topics.tagged, 5)) == 5
    assert first.stop(signal.SIGTERM) == 0, first.log()

    # a new worker with an empty data dir must rebuild the dedup table from the changelog
    second = Worker(env, tmp_path / "second.log", SAHELWATCH_DATA_DIR=str(tmp_path / "fresh-disk")).start()
    try:
        copy = tmp_path / "copy.jsonl"
        copy.write_bytes(
            orjson.dumps(article(id="r-2"))  # same id, new body
            + b"\n"
            + orjson.dumps(article(id="r-copy", body="Story 4 from  TILLABERI."))  # same body, new id
            + b"\n"
            + orjson.dumps(article(id="r-new", body="A new story."))
        )
        env.run_cli("publish", str(copy))
        duplicates = {m["value"]["id"]: m["value"]["duplicate"] for m in env.consume(env.settings.topics.duplicates, 2)}
        assert duplicates["r-2"]["of"] == "r-2"
        assert duplicates["r-copy"]["of"] == "r-4"
        assert "r-new" in {m["value"]["id"] for m in env.consume(env.settings.topics.tagged, 6)}
    finally:
        assert second.stop() == 0
