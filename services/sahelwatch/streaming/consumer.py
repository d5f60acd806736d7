"""Faust's aiokafka consumer, with a fetch wait short enough to keep a worker busy, and
that never discards a record it fetched.

aiokafka keeps one fetch request in flight per broker, and Faust hard-codes its
long-poll wait at 1.5 s. A request that covers only partitions with nothing new
(the dedup topic between bursts, say) then holds back fetching for every other
partition on that broker until it times out: on the local broker a worker
draining a backlog idled 60% of the time and ran at 280 articles/s instead of
600, and a single article could wait seconds between the two hops.

Faust also drops a fetched record whose offset is below the last offset it
read from that partition, to spare a worker records it has seen. Around a
rebalance that last offset can run ahead of what was processed (records read
under the old assignment, or read again after the seek to the committed
offset), and the dropped record was then never processed while the offsets
after it were committed. The join-and-leave test of tests/integration/test_faults.py
lost articles that way on the dedup topic (Faust's DEVLOG output shows the
"DROPPED MESSAGE ROFF" lines). Processing a record twice is what at-least-once
delivery allows, and the dedup stage marks the second pass as a redelivery;
losing one is not allowed. For the same reason the seek back to the committed
offsets after a rebalance sends a stream partition with none to its beginning
instead of leaving it where it was (``_seek_to_committed_or_beginning``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

#: The longest a fetch waits at the broker for new records: each hop of an article can wait this
#: long. The price is paid when idle: 200 fetches a second, 5% of a core for the worker and 3.5%
#: for the local broker (measured here; 10 ms halves it and adds about 10 ms to the p50 latency).
FETCH_WAIT_MS = 5


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:  # an aiokafka.AIOKafkaConsumer
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = FETCH_WAIT_MS  # read when the consumer starts its fetcher
        return consumer

    async def seek_to_committed(self) -> Mapping[TP, int]:
        committed: Mapping[TP, int] = await self.call_thread(self._seek_to_committed_or_beginning)
        return committed

    async def _seek_to_committed_or_beginning(self) -> Mapping[TP, int]:
        """Faust empties the stream buffers as a rebalance starts and relies on this seek to fetch what
        they held again; aiokafka's leaves a partition with no committed offset (or 0) where it is, and
        those records were lost. Such a stream partition goes back to its beginning, where a group with
        no committed offset starts (Faust's consumer_auto_offset_reset, "earliest"). The changelogs'
        offsets are their table stores', never committed: they are left alone."""
        consumer = self._ensure_consumer()
        committed: Mapping[TP, int] = await consumer.seek_to_committed()
        changelogs = self.app.tables.changelog_topics
        unset = [tp for tp, offset in committed.items() if not offset and tp.topic not in changelogs]
        if unset:
            await consumer.seek_to_beginning(*unset)
        return committed


class _NeverRead(dict[Any, Any]):
    """Faust's record of the last offset read per partition, which its fetch loop
    (``Consumer._drain_messages``, its only reader) always finds empty: no record
    is dropped as already read, and no offsets are marked as skipped by a gap."""

    def __getitem__(self, tp: Any) -> None:
        return None


class Consumer(faust_aiokafka.Consumer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_offset = _NeverRead()

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


def use_short_fetch_wait(transport: Any) -> None:
    """Make the app's transport build its consumer with ``FETCH_WAIT_MS``."""
    transport.Consumer = Consumer
