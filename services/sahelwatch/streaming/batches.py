"""A stream's events, each acknowledged only once it has been handled: in batches for the intake, one at
a time for the dedup stage.

Faust's ``Stream.take_events`` fills its batch from a background reader and, when
the batch has been handled, acknowledges every event then in the batch's list,
including any its reader added while the batch was being handled, which the
caller never saw. In the join-and-leave test of tests/integration/test_faults.py
it lost an article that way in one run of five: acknowledged and committed, it
never reached the dedup topic. Here the reader hands events over through a
bounded queue, so an event is acknowledged only after it has been handed out
and handled, and what is still queued when the worker stops is read again by
whichever worker takes its partition over.

Faust's own ``Stream.events`` acknowledges an event in a ``finally`` block, so
also when the agent handling it is cancelled as the worker stops: the dedup
stage, stopped halfway through a record of several articles, had the record
acknowledged and committed, and the articles it had not reached were lost (the
join-and-leave test, in CI, twice in a row). ``each_event`` acknowledges only
what was handled to the end.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from faust.types import EventT, StreamT


async def batches(
    stream: StreamT[Any], size: int, stopping: Callable[[], bool], admits: Callable[[EventT[Any]], bool]
) -> AsyncIterator[list[EventT[Any]]]:
    """Up to ``size`` events at a time: the next one and all that arrived while the last batch was handled.

    No time goes into waiting for a batch to fill: a trickle goes through an article at a time, at
    once, and a backlog comes in full batches, as the queue fills while a batch is handled.
    The events of a batch are acknowledged when the caller asks for the next batch, that is once the
    body of its ``async for`` has finished with them; an error in the body leaves them unacknowledged.

    Once ``stopping()`` (the worker is shutting down), no batch is handed out or acknowledged any
    more: Faust flushes its producer before it stops the agents and commits what they acknowledged,
    so a result sent then may never leave while its input is committed. Left unacknowledged, the
    events are read again by the worker that takes the partition over.

    Only the events ``admits`` lets through are handed out (``in_order.InOrder``: each partition's in
    offset order); the others are left unacknowledged.
    """
    manual = stream.noack()  # type: ignore[attr-defined]  # on Stream, not in StreamT
    queue: asyncio.Queue[EventT[Any]] = asyncio.Queue(size)

    async def read() -> None:
        async for event in manual.events():
            if admits(event):
                await queue.put(event)
            # Not kept while the stream idles: a message left out and still referenced would hold Faust's
            # wait for unacknowledged messages, as a rebalance starts, for good.
            del event

    reader = asyncio.ensure_future(read())
    try:
        while (first := await _next(queue, reader)) is not None:
            batch = [first]
            while len(batch) < size and not queue.empty():
                batch.append(queue.get_nowait())
            if stopping():
                return
            yield batch
            if stopping():
                return
            for event in batch:
                await manual.ack(event)
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader


async def each_event(
    stream: StreamT[Any], stopping: Callable[[], bool], admits: Callable[[EventT[Any]], bool]
) -> AsyncIterator[EventT[Any]]:
    """The stream's events one by one, each acknowledged once the body of the caller's ``async for`` has
    finished with it; not when the body raised or was cancelled, nor once ``stopping()``, nor when
    ``admits`` leaves it out (see ``batches``).

    The events are read in the caller's task, so Faust's current event, which a table write needs to
    find its changelog partition, is the one being handled.
    """
    manual = stream.noack()  # type: ignore[attr-defined]  # on Stream, not in StreamT
    async for event in manual.events():
        if stopping():
            return
        if not admits(event):
            del event  # see batches.read
            continue
        yield event
        if stopping():
            return
        await manual.ack(event)


async def _next(queue: asyncio.Queue[EventT[Any]], reader: asyncio.Future[None]) -> EventT[Any] | None:
    """The next event; None once the stream has ended (the worker stops), or the error that ended it."""
    if not queue.empty():
        return queue.get_nowait()
    getter = asyncio.ensure_future(queue.get())
    either: set[asyncio.Future[Any]] = {getter, reader}
    try:
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not getter.done():
            getter.cancel()
    if getter.done() and not getter.cancelled():
        return getter.result()
    reader.result()  # raises what ended the reader
    return None
