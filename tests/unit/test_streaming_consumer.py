"""The worker's Kafka consumer waits at most FETCH_WAIT_MS at the broker (Faust's own is 1.5 s)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from types import SimpleNamespace

import faust
import pytest
from faust.types import TP

from sahelwatch.config import Settings
from sahelwatch.streaming.app import create_app
from sahelwatch.streaming.consumer import FETCH_WAIT_MS


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[faust.App]:
    """One per module (an app registers its Prometheus sensor's metrics in the process's registry),
    with an event loop of its own, which its services keep once they have seen it."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("data")))
    assert app.loop is loop
    yield app
    asyncio.set_event_loop(None)
    loop.close()


def test_the_worker_consumer_long_polls_for_the_short_fetch_wait(app: faust.App) -> None:
    async def fetch_wait() -> int:
        consumer = app.consumer._thread._create_consumer(loop=asyncio.get_running_loop())
        try:
            wait: int = consumer._fetch_max_wait_ms
            return wait
        finally:
            await consumer.stop()

    assert FETCH_WAIT_MS < 100
    assert app.loop.run_until_complete(fetch_wait()) == FETCH_WAIT_MS


def test_a_record_fetched_again_below_the_last_offset_read_is_still_delivered(app: faust.App) -> None:
    """Faust drops such a record as already read; around a rebalance that lost articles (see consumer.py)."""

    async def delivered() -> list[int]:
        consumer = app.consumer
        tp = TP("articles.raw", 0)
        fetcher = SimpleNamespace(_stopped=asyncio.Event())
        offsets: list[int] = []

        async def getmany(timeout: float) -> AsyncIterator[tuple[TP, SimpleNamespace]]:
            for offset in (5, 6, 7, 5, 6):  # read up to 7, then from 5 again after a seek back
                yield tp, SimpleNamespace(offset=offset, topic=tp.topic)
            fetcher._stopped.set()

        async def callback(message: SimpleNamespace) -> None:
            offsets.append(message.offset)

        consumer.getmany = getmany  # type: ignore[method-assign]
        consumer.callback = callback
        await consumer._drain_messages(fetcher)  # type: ignore[arg-type]
        return offsets

    assert app.loop.run_until_complete(delivered()) == [5, 6, 7, 5, 6]
