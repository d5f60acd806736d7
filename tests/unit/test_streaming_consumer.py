"""The worker's Kafka consumer waits at most FETCH_WAIT_MS at the broker (Faust's own is 1.5 s)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sahelwatch.config import Settings
from sahelwatch.streaming.app import create_app
from sahelwatch.streaming.consumer import FETCH_WAIT_MS


def test_the_worker_consumer_long_polls_for_the_short_fetch_wait(tmp_path: Path) -> None:
    async def fetch_wait() -> int:
        app = create_app(Settings(data_dir=tmp_path))
        consumer = app.consumer._thread._create_consumer(loop=asyncio.get_running_loop())
        try:
            wait: int = consumer._fetch_max_wait_ms
            return wait
        finally:
            await consumer.stop()

    assert FETCH_WAIT_MS < 100
    assert asyncio.run(fetch_wait()) == FETCH_WAIT_MS
