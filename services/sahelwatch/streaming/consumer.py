"""Faust's aiokafka consumer, with a fetch wait short enough to keep a worker busy but
not so short that an idle one keeps asking, and that never discards a record it fetched.

aiokafka keeps one fetch request in flight per broker, and Faust hard-codes its
long-poll wait at 1.5 s. A request that leaves out some partitions (those whose
fetched records Faust has not consumed yet, while their stream buffer is full,
say) holds back fetching them until it returns; if the partitions it does cover
have nothing new, that is when it times out: on the local broker a worker
draining a backlog idled 60% of the time and ran at 280 articles/s instead of
600, and a single article could wait seconds between the two hops. Such a
request waits ``FETCH_WAIT_MS``. A request that covers every partition the
worker reads from its broker holds nothing back (new records on any of them end
the wait at once), so it waits ``IDLE_FETCH_WAIT_MS``: an idle worker asks 10
times a second, not 200.

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

And Faust commits the first run of acknowledged offsets of a partition even
when the record at its committed offset is not acknowledged, or when nothing
is committed yet: a record handled after later ones (those buffered records
kept over a rebalance come before the records the seek fetches again), or one
whose handling failed, could be committed unhandled. Here a commit waits for
the record at the committed offset (``Consumer._new_offset``).

Each poll hands Faust at most ``broker_max_poll_records`` records, which
aiokafka takes from its fetched partitions in the order their fetches came
back. Under a backlog a raw partition brings up to a megabyte (hundreds of
articles) a fetch, so the dedup topic's records, the worker's own work in
flight, waited behind thousands of new articles: 620 ms on average from the
intake's send to the dedup stage, which meanwhile idled a third of the time.
The partitions of the ``drained_first`` topics (the dedup topic) are now taken
first: work already begun is finished before more is taken in
(``_ConsumerThread._fetch_records``).

A fetch runs in the consumer's thread against Faust's live set of active
partitions, so one begun before a rebalance can come back with records of a
table's changelog that the recovery has just sought to its start and resumed,
while the flow of events is still stopped. Faust drops a fetch's records when
the flow is stopped and seeks the stream partitions back to their committed
offsets, but never the changelogs, whose consumer has moved past the dropped
records: the recovery then read the changelog from the next record on, and the
table lacked its first records for good (a worker that took the dedup table
over in the join-and-leave test recovered it without its first 122 to 126
records in 3 of about 20 runs under load; copies of those stories went out as
first occurrences in CI twice). Such records are now fetched again
(``Consumer._wait_next_records``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Mapping
from typing import Any, cast

from aiokafka.protocol.fetch import FetchRequest
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

log = logging.getLogger(__name__)

#: The longest a fetch that leaves out some of the worker's partitions waits at the broker: the
#: partitions left out can wait this long.
FETCH_WAIT_MS = 5

#: The longest a fetch that covers all of them waits. Only a seek of a partition while such a fetch is
#: in flight (around a rebalance) can make that partition wait this long. At FETCH_WAIT_MS for every
#: fetch, an idle worker and the local broker each spent about a tenth of a core on 200 empty fetches
#: a second (bench/stream.py at 2 articles/s: the machine 20-22% of a core, against 7-8% with this wait).
IDLE_FETCH_WAIT_MS = 100


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    async def _fetch_records(
        self, consumer: Any, active_partitions: Any, timeout: float | None = None, max_records: int | None = None
    ) -> Any:
        """Faust's, taking the fetched records of the ``drained_first`` topics before the others."""
        fetched = consumer._fetcher._records  # an OrderedDict, drained in order up to max_records
        first = cast("Consumer", self.consumer).drained_first
        for tp in [tp for tp in fetched if tp.topic in first]:
            fetched.move_to_end(tp, last=False)
        return await super()._fetch_records(consumer, active_partitions, timeout=timeout, max_records=max_records)

    async def fetch_again(self, dropped: Mapping[TP, tuple[int, int]]) -> None:
        """Send each partition back to the first of the records dropped (first and last offsets), unless it
        was sought elsewhere since they were fetched."""
        try:
            await self.call_thread(self._fetch_again, dropped)
        except Exception:  # the consumer stopping or gone: the next recovery seeks the changelogs itself
            log.exception("could not send %s back to the records dropped", sorted(dropped))

    async def _fetch_again(self, dropped: Mapping[TP, tuple[int, int]]) -> None:
        consumer = self._ensure_consumer()
        subscription = consumer._fetcher._subscriptions.subscription
        if subscription is None:  # unsubscribed: the consumer is stopping
            return
        for tp, (first, last) in dropped.items():
            state = subscription.assignment.state_value(tp)
            if state is not None and state.has_valid_position and state.position == last + 1:
                consumer.seek(tp, first)
                log.info("%s: records %d to %d came while the flow was stopped; fetched again", tp, first, last)

    def _create_worker_consumer(self, transport: Any) -> Any:  # an aiokafka.AIOKafkaConsumer
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = FETCH_WAIT_MS  # read when the consumer starts its fetcher
        return consumer

    async def on_start(self) -> None:
        await super().on_start()
        wait_longer_when_nothing_is_left_out(
            self._ensure_consumer()._fetcher, self.app.tables.changelog_topics, lambda: bool(self.app.in_recovery)
        )

    async def seek_to_committed(self) -> Mapping[TP, int]:
        committed: Mapping[TP, int] = await self.call_thread(self._seek_to_committed_or_beginning)
        return committed

    async def _seek_to_committed_or_beginning(self) -> Mapping[TP, int]:
        """Faust empties the stream buffers as a rebalance starts and relies on this seek to fetch what
        they held again; aiokafka's leaves a partition with no committed offset (or 0) where it is, and
        those records were lost. Such a stream partition goes back to its beginning, where a group with
        no committed offset starts (Faust's consumer_auto_offset_reset, "earliest"). The changelogs'
        offsets are their table stores', never committed: they are left alone.

        Where each stream partition's records will come from is published (``Consumer.sought``) before
        the seek, so that no record fetched after it is judged by the positions of an earlier one
        (``in_order.py``; Faust resumes the flow of events before it seeks, while its tables recover)."""
        consumer = self._ensure_consumer()
        changelogs = self.app.tables.changelog_topics
        partitions = list(consumer.assignment())
        committed: dict[TP, int] = {tp: await consumer.committed(tp) for tp in partitions}  # None when there is none
        streams = [tp for tp in partitions if tp.topic not in changelogs]
        first = await consumer.beginning_offsets(streams) if streams else {}
        group_consumer = cast("Consumer", self.consumer)
        # The committed offset, or the first one on the broker (aiokafka resets to it a committed offset
        # that retention has since deleted).
        group_consumer.sought = (
            group_consumer.sought[0] + 1,
            {TP(tp.topic, tp.partition): max(committed[tp] or 0, first.get(tp, 0)) for tp in streams},
        )
        for tp, offset in committed.items():
            if offset and offset > 0:
                consumer.seek(tp, offset)
        unset = [tp for tp in streams if not committed[tp]]
        if unset:
            await consumer.seek_to_beginning(*unset)
        return committed


def wait_longer_when_nothing_is_left_out(
    fetcher: Any, changelogs: Collection[str], recovering: Callable[[], bool]
) -> None:
    """Make an aiokafka ``Fetcher`` send its fetches that leave nothing out with ``IDLE_FETCH_WAIT_MS``.

    Its ``_get_actions_per_node`` plans each round of fetches, one request per broker, and leaves out a
    partition with records not yet consumed, no position, no leader, or paused. Changelog partitions
    count only while the tables recover, the only time Faust reads them: between recoveries one stays
    left out, holding records of the worker's own table writes that Faust never asks for.
    """
    plan: Callable[[Any], tuple[Any, ...]] = fetcher._get_actions_per_node

    def plan_with_waits(assignment: Any) -> tuple[Any, ...]:
        requests, *rest = plan(assignment)
        return (
            [
                (node, _with_wait(fetcher, assignment, node, request, () if recovering() else changelogs))
                for node, request in requests
            ],
            *rest,
        )

    fetcher._get_actions_per_node = plan_with_waits


def _with_wait(
    fetcher: Any, assignment: Any, node: int, request: FetchRequest, ignored: Collection[str]
) -> FetchRequest:
    requested = {(topic, p[0]) for topic, partitions in request.topics for p in partitions}
    for tp in assignment.tps:
        if (tp.topic, tp.partition) in requested or tp.topic in ignored:
            continue
        if fetcher._select_read_replica(tp) == node:
            return request  # left out: it must not wait behind a long poll
    return FetchRequest(
        IDLE_FETCH_WAIT_MS,
        fetcher._fetch_min_bytes,
        fetcher._fetch_max_bytes,
        fetcher._isolation_level,
        request.topics,
        rack_id=fetcher._client_rack or "",
    )


class _NeverRead(dict[Any, Any]):
    """Faust's record of the last offset read per partition, which its fetch loop
    (``Consumer._drain_messages``, its only reader) always finds empty: no record
    is dropped as already read, and no offsets are marked as skipped by a gap."""

    def __getitem__(self, tp: Any) -> None:
        return None


class Consumer(faust_aiokafka.Consumer):
    #: Topics whose fetched records each poll takes before any other's (see the module's docstring).
    drained_first: frozenset[str] = frozenset()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_offset = _NeverRead()
        self._fetching_again: set[asyncio.Future[None]] = set()  # kept until done (the loop keeps weak references)
        #: How many seeks to the committed offsets there were, and where the last one left each stream partition.
        self.sought: tuple[int, Mapping[TP, int]] = (0, {})

    def _new_offset(self, tp: TP) -> int | None:
        """The offset to commit: past the run of acknowledged records that starts at the next record to
        handle, and never past a record not acknowledged yet.

        Faust's commits the first run of acknowledged offsets even when the record at the committed offset
        is not among them, and whatever the run when the partition has no committed offset yet: a record left
        unacknowledged behind later ones that were (read again after a rebalance, or left when its handling
        failed) was committed without ever being handled to the end. Faust's gaps (offsets it saw skipped)
        never arise here: ``_NeverRead`` keeps its fetch loop from recording any.
        """
        acked = self._acked[tp]
        if not acked:
            return None
        acked.sort()
        start = self.next_to_handle(tp)
        if start is not None and acked[0] > start:
            return None
        run = 1
        while run < len(acked) and acked[run] == acked[run - 1] + 1:
            run += 1
        last = acked[run - 1]
        self._acked_index[tp].difference_update(acked[:run])
        del acked[:run]
        return last + 1

    async def _wait_next_records(self, timeout: float) -> tuple[Any, Any]:
        """Faust's, with the records of table changelogs fetched while the flow was stopped, which Faust
        drops, fetched again (see the module's docstring)."""
        records, active_partitions = await super()._wait_next_records(timeout)
        if records and not self.flow_active:
            changelogs = self.app.tables.changelog_topics
            dropped = {
                tp: (batch[0].offset, batch[-1].offset)
                for tp, batch in records.items()
                if batch and tp.topic in changelogs
            }
            if dropped:
                # Not awaited: Faust's getmany decides to drop the records on this same check, as this returns;
                # a wait here could let the flow resume first, and the stream records would be handed out.
                task = asyncio.ensure_future(cast(_ConsumerThread, self._thread).fetch_again(dropped))
                self._fetching_again.add(task)
                task.add_done_callback(self._fetching_again.discard)
        return records, active_partitions

    def leave(self, message: Any) -> None:
        """A message a stream was handed and leaves unacknowledged on purpose (``in_order.InOrder``: the fetch
        that brings it again comes later). Faust waits for every message handed to a stream to be acknowledged
        or dropped as a rebalance starts and as the worker stops, and Faust's stream keeps the last event it
        handed out while it waits for the next: a message left out just before the worker stopped held the stop
        for good (a worker never exited on SIGTERM in tests/integration/test_restart.py). Never acknowledged,
        its offset is not committed either way."""
        self._unacked_messages.discard(message)

    def next_to_handle(self, tp: TP) -> int | None:
        """The offset of a stream partition's next record to handle: its committed one, or where the last
        seek left it when that is further (the first still on the broker, when none was committed or the
        committed one was deleted by retention while the group was away); None when neither is known."""
        known = [offset for offset in (self._committed_offset[tp], self.sought[1].get(tp)) if offset is not None]
        return max(known) if known else None

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


def use_worker_consumer(transport: Any, drained_first: Collection[str] = ()) -> None:
    """Make the app's transport build the consumer of this module: its fetch waits, no fetched record dropped,
    the seek to the committed offsets that sends a partition with none to its beginning, and the records of
    the ``drained_first`` topics handed over before the others."""
    transport.Consumer = type("Consumer", (Consumer,), {"drained_first": frozenset(drained_first)})
