"""The intake's batches: every event handed out once, in order, and acknowledged only after it was handled."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from sahelwatch.streaming.batches import batches, each_event


class Event:
    def __init__(self, number: int) -> None:
        self.number = number


class Stream:
    """What ``batches`` uses of a Faust stream: events read from a queue the test fills, acks recorded."""

    def __init__(self) -> None:
        self.incoming: asyncio.Queue[Event | Exception] = asyncio.Queue()
        self.acked: list[int] = []

    def arrive(self, *numbers: int) -> None:
        for number in numbers:
            self.incoming.put_nowait(Event(number))

    def noack(self) -> Stream:
        return self

    async def events(self) -> AsyncIterator[Event]:
        while True:
            item = await self.incoming.get()
            if isinstance(item, Exception):
                raise item
            yield item

    async def ack(self, event: Event) -> bool:
        self.acked.append(event.number)
        return True


def numbers(batch: list[Any]) -> list[int]:
    return [event.number for event in batch]


def never() -> bool:
    return False


def everything(event: Any) -> bool:
    return True


def odd(event: Any) -> bool:
    return bool(event.number % 2)


def test_events_arriving_while_a_batch_is_handled_wait_for_the_next_batch_and_are_not_acknowledged_with_it() -> None:
    async def run() -> tuple[list[list[int]], list[list[int]], list[int]]:
        stream = Stream()
        stream.arrive(0, 1, 2)
        handed: list[list[int]] = []
        acked_before: list[list[int]] = []
        async with contextlib.aclosing(batches(stream, 4, never, everything)) as each:  # type: ignore[arg-type]
            async for batch in each:
                handed.append(numbers(batch))
                acked_before.append(list(stream.acked))
                if len(handed) == 1:
                    stream.arrive(3, 4, 5)
                    await asyncio.sleep(0.01)  # the reader takes them in while this batch is being handled
                if len(handed) == 2:
                    break
        return handed, acked_before, stream.acked

    handed, acked_before, acked = asyncio.run(run())
    assert handed == [[0, 1, 2], [3, 4, 5]]
    assert acked_before == [[], [0, 1, 2]]  # the first batch once handled; nothing of the second before
    assert acked == [0, 1, 2]  # the loop left during the second batch: its events stay unacknowledged


def test_a_backlog_comes_in_full_batches_in_order() -> None:
    async def run() -> list[list[int]]:
        stream = Stream()
        stream.arrive(*range(10))
        handed: list[list[int]] = []
        async with contextlib.aclosing(batches(stream, 4, never, everything)) as each:  # type: ignore[arg-type]
            async for batch in each:
                handed.append(numbers(batch))
                if sum(map(len, handed)) == 10:
                    break
                await asyncio.sleep(0.01)  # handling it takes a while, and the reader refills the queue meanwhile
        return handed

    assert asyncio.run(run()) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_a_batch_whose_handling_failed_is_not_acknowledged_and_the_reader_stops() -> None:
    async def handle_all(stream: Stream) -> None:
        async with contextlib.aclosing(batches(stream, 4, never, everything)) as each:  # type: ignore[arg-type]
            async for _ in each:
                raise ValueError("handling failed")

    async def run() -> tuple[list[int], int]:
        stream = Stream()
        stream.arrive(0, 1)
        with pytest.raises(ValueError, match="handling failed"):
            await handle_all(stream)
        await asyncio.sleep(0)
        others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        return stream.acked, len(others)

    assert asyncio.run(run()) == ([], 0)


def test_an_error_reading_the_stream_reaches_the_caller() -> None:
    async def run() -> list[list[int]]:
        stream = Stream()
        stream.arrive(0)
        handed: list[list[int]] = []
        async with contextlib.aclosing(batches(stream, 4, never, everything)) as each:  # type: ignore[arg-type]
            async for batch in each:
                handed.append(numbers(batch))
                stream.incoming.put_nowait(OSError("broker gone"))
        return handed

    with pytest.raises(OSError, match="broker gone"):
        asyncio.run(run())


def test_the_batches_end_when_the_stream_ends() -> None:
    class Ending(Stream):
        async def events(self) -> AsyncIterator[Event]:
            for number in range(3):
                yield Event(number)

    async def run() -> list[list[int]]:
        handed: list[list[int]] = []
        async for batch in batches(Ending(), 2, never, everything):  # type: ignore[arg-type]
            handed.append(numbers(batch))
        return handed

    assert asyncio.run(run()) == [[0, 1], [2]]


def test_once_the_worker_stops_nothing_more_is_handed_out_or_acknowledged() -> None:
    """Faust flushes its producer before it stops the agents: a batch handled then may never reach the
    dedup topic, so its events stay unacknowledged for the next owner of the partition to read again."""

    async def run() -> tuple[list[list[int]], list[int]]:
        stream = Stream()
        stream.arrive(*range(6))
        stopping = False
        handed: list[list[int]] = []
        async with contextlib.aclosing(batches(stream, 2, lambda: stopping, everything)) as each:  # type: ignore[arg-type]
            async for batch in each:
                handed.append(numbers(batch))
                await asyncio.sleep(0.01)  # the rest arrives in the reader's queue
                if len(handed) == 2:
                    stopping = True  # the signal comes while the second batch is handled
        return handed, stream.acked

    handed, acked = asyncio.run(run())
    assert handed == [[0, 1], [2, 3]]  # the loop ended by itself: nothing after the signal
    assert acked == [0, 1]  # the batch handled as the worker stopped is not acknowledged


def test_each_event_is_acknowledged_once_handled_and_not_when_its_handling_is_cancelled() -> None:
    """The dedup stage handles a record of several articles: a worker stopping cancels it halfway, and the
    record must then stay unacknowledged, or the articles it had not reached are committed unseen."""

    async def run() -> tuple[list[int], list[int], list[int]]:
        stream = Stream()
        stream.arrive(0, 1, 2)
        handled: list[int] = []
        acked_before: list[int] = []
        reached = asyncio.Event()

        async def agent() -> None:
            async for event in each_event(stream, never, everything):  # type: ignore[arg-type]
                acked_before.append(len(stream.acked))
                if event.number == 1:
                    reached.set()
                    await asyncio.sleep(10)  # cancelled here, halfway through
                handled.append(event.number)

        task = asyncio.ensure_future(agent())
        await reached.wait()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await asyncio.sleep(0)  # a generator left behind would be finalised by now
        return handled, acked_before, stream.acked

    handled, acked_before, acked = asyncio.run(run())
    assert handled == [0]
    assert acked_before == [0, 1]  # the first acknowledged only after its handling
    assert acked == [0]  # the cancelled one stays unacknowledged


def test_each_event_stops_without_acknowledging_once_the_worker_stops() -> None:
    async def run() -> tuple[list[int], list[int]]:
        stream = Stream()
        stream.arrive(*range(4))
        signal = asyncio.Event()
        handled: list[int] = []
        async for event in each_event(stream, signal.is_set, everything):  # type: ignore[arg-type]
            handled.append(event.number)
            if event.number == 1:
                signal.set()  # the signal comes while the second is handled
        return handled, stream.acked

    assert asyncio.run(run()) == ([0, 1], [0])


def test_events_not_admitted_are_neither_handed_out_nor_acknowledged() -> None:
    """Left for the fetch that brings them again in their turn (see in_order.py)."""

    async def run() -> tuple[list[int], list[int], list[int]]:
        stream = Stream()
        stream.arrive(*range(6))
        one_by_one: list[int] = []
        async for event in each_event(stream, never, odd):  # type: ignore[arg-type]
            one_by_one.append(event.number)
            if event.number == 5:
                break
        acked_one_by_one, stream.acked = stream.acked, []
        stream.arrive(*range(6))
        batched: list[int] = []
        async with contextlib.aclosing(batches(stream, 4, never, odd)) as each:  # type: ignore[arg-type]
            async for batch in each:
                batched += numbers(batch)
                if 5 in batched:
                    break
        return one_by_one, acked_one_by_one, batched

    one_by_one, acked, batched = asyncio.run(run())
    assert one_by_one == [1, 3, 5] and acked == [1, 3]
    assert batched == [1, 3, 5]
