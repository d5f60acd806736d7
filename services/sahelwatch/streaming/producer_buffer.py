"""Faust's producer buffer, with a flush that waits until every queued record has left it.

A table write queues its changelog record in the producer buffer, and a commit
flushes the producer before it commits offsets. But Faust's buffer flush gives up
after 0.1 s without a record leaving (a busy event loop), and the commit goes
ahead: a dedup record could be committed before its table writes had even been
handed to the Kafka producer, whose own flush the commit does wait for, and a
worker taking the partition over would recover a table without them. Found by
reading Faust, not seen to lose anything.

The dedup stage used to wait for the buffer to empty before acknowledging each
record; the flush here waits once a commit, and covers the commits at rebalances
and stops as well, and the record taken from the queue but not yet handed over,
which that wait missed. Neither wait's cost shows in runs alternated with and
without it (bench/stream.py, 30,000 articles: the worker's CPU an article moved
by as much between runs of the same code).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.transport.producer import ProducerBuffer


class DrainingBuffer(ProducerBuffer):
    def __post_init__(self) -> None:
        super().__post_init__()
        self.sending = 0  # records taken from the queue and not yet handed to the Kafka producer

    async def _send_pending(self, fut: Any) -> None:
        self.sending += 1
        try:
            await super()._send_pending(fut)
        finally:
            self.sending -= 1

    async def flush(self) -> None:
        """Until every record queued has been handed to the Kafka producer (the last one taken from the queue
        may still be on its way), or the buffer stops running (the worker is stopping; Faust's raises then)."""
        while (self.size or self.sending) and self.state == "running":
            self.message_sent.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.message_sent.wait(), timeout=0.1)


class _Producer(faust_aiokafka.Producer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        buffer = DrainingBuffer(loop=self.loop, beacon=self.beacon)
        buffer.app = self.app
        self.buffer = buffer


def use_draining_producer(transport: Any) -> None:
    """Make the app's transport build producers whose buffer drains on flush."""
    transport.Producer = _Producer
