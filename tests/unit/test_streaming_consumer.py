"""The worker's Kafka consumer: a short fetch wait (Faust's own is 1.5 s), and no fetched record dropped, on a
fetch again below the last offset read or on a pause while a fetch is handed out."""

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


def test_a_record_fetched_again_below_the_last_offset_read_is_still_delivered(
    app: faust.App, monkeypatch: pytest.MonkeyPatch
) -> None:
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

        monkeypatch.setattr(consumer, "getmany", getmany)
        monkeypatch.setattr(consumer, "callback", callback)
        await consumer._drain_messages(fetcher)  # type: ignore[arg-type]
        return offsets

    assert app.loop.run_until_complete(delivered()) == [5, 6, 7, 5, 6]


def test_pausing_a_partition_while_a_fetch_is_handed_out_still_hands_out_the_rest_of_it(
    app: faust.App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Faust's own pause skips the rest, which is never fetched again; the intake's valve must not lose it."""
    consumer = app.consumer
    tp = TP("articles.raw", 0)

    def record(offset: int) -> SimpleNamespace:
        return SimpleNamespace(
            topic=tp.topic,
            partition=tp.partition,
            offset=offset,
            timestamp=0,
            timestamp_type=0,
            headers=[],
            key=b"k",
            value=b"v",
            checksum=None,
            serialized_key_size=1,
            serialized_value_size=1,
        )

    async def wait_next_records(timeout: float) -> tuple[dict[TP, list[SimpleNamespace]], set[TP]]:
        return {tp: [record(offset) for offset in (10, 11, 12)]}, consumer._get_active_partitions()

    monkeypatch.setattr(consumer, "_wait_next_records", wait_next_records)
    monkeypatch.setattr(consumer, "highwater", lambda tp: 13)
    monkeypatch.setattr(consumer, "_active_partitions", None)
    monkeypatch.setattr(consumer, "_paused_partitions", set())

    async def handed_out(pause: str) -> list[int]:
        consumer._active_partitions = {tp}
        consumer._paused_partitions = set()
        offsets = []
        async for _, message in consumer.getmany(timeout=1.0):
            offsets.append(message.offset)
            getattr(consumer, pause)({tp})  # the valve closes as the first record comes in
        return offsets

    assert app.loop.run_until_complete(handed_out("pause_between_fetches")) == [10, 11, 12]
    assert tp not in consumer._get_active_partitions()  # and the next fetch leaves it out
    assert app.loop.run_until_complete(handed_out("pause_partitions")) == [10]  # Faust's own pause
