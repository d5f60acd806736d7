"""The producer buffer's flush, which a commit waits for before committing offsets, drains it."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from faust.transport.producer import ProducerBuffer

from sahelwatch.streaming.producer_buffer import DrainingBuffer

SEND_SECONDS = 0.15  # longer than the 0.1 s after which Faust's flush gives up


def queued(buffer_type: type[ProducerBuffer], records: int) -> tuple[ProducerBuffer, list[int]]:
    """A buffer with records queued, each of which takes SEND_SECONDS to hand to the Kafka producer."""
    sent: list[int] = []

    async def publish_message(fut: Any, wait: bool) -> None:
        await asyncio.sleep(SEND_SECONDS)
        sent.append(fut.number)

    buffer = buffer_type()
    buffer.app = SimpleNamespace(conf=SimpleNamespace(producer_threaded=False))  # type: ignore[assignment]
    channel = SimpleNamespace(publish_message=publish_message)
    for number in range(records):
        buffer.put(SimpleNamespace(number=number, message=SimpleNamespace(channel=channel)))  # type: ignore[arg-type]
    return buffer, sent


async def flushed(buffer_type: type[ProducerBuffer], records: int) -> tuple[int, list[int]]:
    """What is left in the buffer and what was sent when its flush returns."""
    buffer, sent = queued(buffer_type, records)
    await buffer.start()
    try:
        await asyncio.wait_for(buffer.flush(), timeout=5)
        return buffer.size, list(sent)
    finally:
        while len(sent) < records:  # Faust's buffer raises when stopped with records left
            await asyncio.sleep(SEND_SECONDS)
        await buffer.stop()


def test_a_flush_returns_only_once_every_queued_record_has_left() -> None:
    assert asyncio.run(flushed(DrainingBuffer, 3)) == (0, [0, 1, 2])


def test_faust_s_flush_gives_up_with_records_left() -> None:
    """Why the buffer above exists: a commit after this flush could outrun the table writes still queued."""
    left, sent = asyncio.run(flushed(ProducerBuffer, 3))
    assert left > 0 and len(sent) < 3


def test_a_buffer_no_longer_running_does_not_hold_its_flush() -> None:
    async def flush_unstarted() -> int:
        buffer, _ = queued(DrainingBuffer, 2)  # not started: nothing will ever send its records
        await asyncio.wait_for(buffer.flush(), timeout=1)
        return buffer.size

    assert asyncio.run(flush_unstarted()) == 2
