"""The worker's Kafka consumer waits at most FETCH_WAIT_MS at the broker (Faust's own is 1.5 s) when a fetch
leaves some of its partitions out, and IDLE_FETCH_WAIT_MS when it covers them all, delivers records fetched
again below the last offset read, keeps the buffered records of its own partitions when flow resumes,
never commits past a record not acknowledged, and hands over the dedup topic's records before new input."""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from aiokafka.protocol.fetch import FetchRequest
from faust.types import TP

from sahelwatch.config import Settings
from sahelwatch.streaming.app import create_app
from sahelwatch.streaming.consumer import FETCH_WAIT_MS, IDLE_FETCH_WAIT_MS, wait_longer_when_nothing_is_left_out
from sahelwatch.streaming.producer_buffer import DrainingBuffer


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


def _kept_after(app: faust.App, empty: Callable[[], None]) -> list[tuple[int, int]]:
    """(partition, offset) of the events left in a stream buffer of partitions 0 to 2 emptied by ``empty``,
    with partitions 0 and 1 assigned to the worker."""

    def event(partition: int, offset: int) -> SimpleNamespace:
        return SimpleNamespace(message=SimpleNamespace(tp=TP("articles.raw", partition), offset=offset))

    async def run() -> list[tuple[int, int]]:
        consumer = app.consumer
        original = consumer.assignment
        consumer.assignment = lambda: {TP("articles.raw", 0), TP("articles.raw", 1)}  # type: ignore[method-assign]
        try:
            buffer = app.FlowControlQueue(maxsize=8, clear_on_resume=True)
            for partition, offset in [(0, 5), (2, 9), (1, 3), (0, 6)]:
                buffer.put_nowait(event(partition, offset))
            empty()
            left = []
            while not buffer.empty():
                item = buffer.get_nowait()
                left.append((item.message.tp.partition, item.message.offset))
            return left
        finally:
            consumer.assignment = original  # type: ignore[method-assign]

    return app.loop.run_until_complete(run())


def test_resuming_keeps_the_buffered_records_of_assigned_partitions_in_order(app: faust.App) -> None:
    """Faust empties the buffers on resuming after seeking to the committed offsets, and what was fetched in
    between was lost (see buffers.py): the worker's own partitions keep theirs."""
    assert _kept_after(app, app.flow_control.resume) == [(0, 5), (1, 3), (0, 6)]


def test_a_rebalance_starting_empties_the_buffers_as_faust_does(app: faust.App) -> None:
    def suspend_and_clear() -> None:
        app.flow_control.suspend()
        app.flow_control.clear()

    try:
        assert _kept_after(app, suspend_and_clear) == []
    finally:
        app.flow_control.resume()


def test_the_seek_to_committed_offsets_sends_stream_partitions_with_none_to_their_beginning(app: faust.App) -> None:
    """aiokafka's seek leaves them where they are, past the records Faust dropped from its buffers as the
    rebalance started; the changelogs, whose offsets are never committed, stay where they are. Where each
    stream partition's records come from is published before any seek (see in_order.py)."""
    changelog = sorted(app.tables.changelog_topics)[0]
    committed = {
        TP("articles.raw", 0): None,
        TP("articles.raw", 1): 0,
        TP("articles.raw", 2): 7,
        TP(changelog, 0): None,
    }
    seeks: list[tuple[str, Any]] = []
    seen_before_seeking: list[tuple[int, Any]] = []

    class AIOKafkaConsumer:
        def assignment(self) -> set[TP]:
            return set(committed)

        async def committed(self, tp: TP) -> int | None:
            return committed[tp]

        async def beginning_offsets(self, partitions: list[TP]) -> dict[TP, int]:
            return dict.fromkeys(partitions, 3)

        def seek(self, tp: TP, offset: int) -> None:
            seen_before_seeking.append(app.consumer.sought)
            seeks.append(("seek", (tp, offset)))

        async def seek_to_beginning(self, *partitions: TP) -> None:
            seen_before_seeking.append(app.consumer.sought)
            seeks.append(("beginning", sorted(partitions)))

    thread = app.consumer._thread
    original = thread._ensure_consumer
    thread._ensure_consumer = lambda: AIOKafkaConsumer()
    before = app.consumer.sought[0]
    try:
        returned = app.loop.run_until_complete(thread._seek_to_committed_or_beginning())
    finally:
        thread._ensure_consumer = original
    assert returned == committed
    assert seeks == [
        ("seek", (TP("articles.raw", 2), 7)),
        ("beginning", [TP("articles.raw", 0), TP("articles.raw", 1)]),
    ]
    positions = {TP("articles.raw", 0): 3, TP("articles.raw", 1): 3, TP("articles.raw", 2): 7}
    assert app.consumer.sought == (before + 1, positions), "the committed offset, or the first on the broker"
    assert seen_before_seeking == [(before + 1, positions)] * 2, "published before any seek"


@pytest.mark.parametrize(
    ("committed", "beginning", "acked", "commit"),
    [
        (None, 0, [1, 2, 3], None),  # Faust's commits 4: nothing committed yet, and record 0 never handled
        (None, 0, [0, 1, 2, 5], 3),
        (5, 0, [6, 7], None),  # Faust's commits 8, past record 5
        (5, 0, [5, 6, 7, 9], 8),
        (5, 0, [7, 8], None),
        (5, 20, [20, 21], 22),  # records 5 to 19 deleted by retention: the first still there counts
        (5, 20, [21, 22], None),
    ],
)
def test_a_commit_never_passes_a_record_not_acknowledged(
    app: faust.App, committed: int | None, beginning: int, acked: list[int], commit: int | None
) -> None:
    """Such a record (left behind records read again after a rebalance, or whose handling failed) is read
    again by whichever worker holds the partition next, instead of being taken as handled."""
    consumer = app.consumer
    tp = TP("articles.raw", 9)
    sought = consumer.sought
    consumer._committed_offset[tp] = committed
    consumer.sought = (1, {tp: beginning})  # where a seek left it: its first offset on the broker
    consumer._acked[tp] = list(reversed(acked))
    consumer._acked_index[tp] = set(acked)
    try:
        assert consumer._new_offset(tp) == commit
        if commit is not None:
            assert consumer._acked[tp] == [offset for offset in acked if offset >= commit], "the rest waits"
            assert consumer._acked_index[tp] == set(consumer._acked[tp])
    finally:
        consumer.sought = sought
        for offsets in (consumer._committed_offset, consumer._acked, consumer._acked_index):
            offsets.pop(tp, None)


def test_resuming_while_the_tables_recover_empties_the_buffers_as_faust_does(app: faust.App) -> None:
    """Faust resumes flow at the start of a recovery too: a record kept then would be handled before its
    table is complete."""
    app.in_recovery = True
    try:
        assert _kept_after(app, app.flow_control.resume) == []
    finally:
        app.in_recovery = False


def _planned_wait(requested: list[TP], elsewhere: frozenset[TP] = frozenset(), recovering: bool = False) -> int:
    """The wait of the request a fetcher's plan sends to broker 1, when it covers ``requested`` of the
    worker's partitions (those in ``elsewhere`` are led by broker 2)."""
    assigned = {TP("articles.raw", 0), TP("articles.raw", 1), TP("app-dedup", 0), TP("app-dedup-index-changelog", 0)}
    by_topic: dict[str, list[tuple[int, int, int]]] = {}
    for tp in requested:
        by_topic.setdefault(tp.topic, []).append((tp.partition, 0, 1024))
    request = FetchRequest(FETCH_WAIT_MS, 1, 1024, 0, list(by_topic.items()))
    fetcher = SimpleNamespace(
        _get_actions_per_node=lambda assignment: ([(1, request)], {}, 0.5, False, []),
        _select_read_replica=lambda tp: 2 if tp in elsewhere else 1,
        _fetch_min_bytes=1,
        _fetch_max_bytes=1024,
        _isolation_level=0,
        _client_rack=None,
    )
    wait_longer_when_nothing_is_left_out(fetcher, {"app-dedup-index-changelog"}, lambda: recovering)
    [(node, planned)], *_ = fetcher._get_actions_per_node(SimpleNamespace(tps=assigned))
    assert node == 1
    assert planned.topics == request.topics
    wait: int = planned._max_wait_ms  # what the request will send; aiokafka has no public reader of it
    return wait


def test_a_fetch_covering_every_stream_partition_waits_the_idle_wait() -> None:
    """New records on any partition in a fetch end its wait, so nothing can wait behind it."""
    streams = [TP("articles.raw", 0), TP("articles.raw", 1), TP("app-dedup", 0)]
    changelog = TP("app-dedup-index-changelog", 0)
    assert IDLE_FETCH_WAIT_MS > FETCH_WAIT_MS
    assert _planned_wait(streams) == IDLE_FETCH_WAIT_MS  # a changelog is left out between recoveries
    assert _planned_wait([*streams, changelog]) == IDLE_FETCH_WAIT_MS
    assert _planned_wait(streams[1:], elsewhere=frozenset({streams[0]})) == IDLE_FETCH_WAIT_MS
    assert _planned_wait([*streams, changelog], recovering=True) == IDLE_FETCH_WAIT_MS


def test_a_fetch_leaving_a_partition_out_waits_the_short_wait() -> None:
    """Left out (its records not yet consumed, as when Faust holds its stream back), a partition is
    fetched again only once the fetch in flight returns."""
    streams = [TP("articles.raw", 0), TP("articles.raw", 1), TP("app-dedup", 0)]
    assert _planned_wait(streams[1:]) == FETCH_WAIT_MS
    assert _planned_wait(streams, recovering=True) == FETCH_WAIT_MS  # the changelog, while the tables recover


def test_each_poll_takes_the_dedup_topics_fetched_records_before_new_input(app: faust.App) -> None:
    """aiokafka hands a poll's records over partition by partition, in the order their fetches came back:
    under a backlog the dedup topic's records, work the worker has begun, waited behind thousands of new
    articles (620 ms on average in bench/stream.py) while the dedup stage idled."""
    dedup = TP(f"{Settings().app_id}-dedup", 0)
    raw = [TP("articles.raw", partition) for partition in range(3)]
    fetched: OrderedDict[TP, str] = OrderedDict((tp, "records") for tp in [raw[0], raw[1], dedup, raw[2]])
    order_seen: list[list[TP]] = []

    async def fetched_records(partitions: Any, timeout: float = 0, max_records: int | None = None) -> dict[TP, Any]:
        order_seen.append(list(fetched))
        return {}

    fetcher = SimpleNamespace(
        _records=fetched,
        _closed=False,
        fetched_records=fetched_records,
        _subscriptions=SimpleNamespace(fetch_context=contextlib.nullcontext),
    )
    consumer = SimpleNamespace(_fetcher=fetcher, _closed=False)
    thread = app.consumer._thread
    assert app.consumer.flow_active
    app.loop.run_until_complete(thread._fetch_records(consumer, set(fetched), timeout=0, max_records=128))
    assert order_seen == [[dedup, raw[0], raw[1], raw[2]]], "the dedup topic first, the others in their order"


def test_changelog_records_fetched_while_the_flow_stops_are_fetched_again(app: faust.App) -> None:
    """A fetch begun before a rebalance comes back with a changelog's first records, just sought to by the
    recovery, while the flow is stopped: Faust drops them, and the recovery read on from after them."""
    consumer = app.consumer
    changelog = TP(sorted(app.tables.changelog_topics)[0], 0)
    raw = TP("articles.raw", 0)
    records = {
        changelog: [SimpleNamespace(offset=offset) for offset in range(124)],
        raw: [SimpleNamespace(offset=offset) for offset in (40, 41)],
    }
    asked: list[dict[TP, tuple[int, int]]] = []
    never = asyncio.Event()

    async def fetch_again(dropped: dict[TP, tuple[int, int]]) -> None:
        asked.append(dict(dropped))
        await never.wait()  # the thread busy: the records must come back all the same

    def getmany_stopping_the_flow(stops: bool) -> Callable[..., Any]:
        async def getmany(active_partitions: Any, timeout: float) -> dict[TP, Any]:
            if stops:
                consumer.stop_flow()  # the rebalance starts while the fetch is out
            return records

        return getmany

    thread = consumer._thread
    saved = consumer._getmany, consumer._get_active_partitions, thread.fetch_again
    consumer._get_active_partitions = lambda: {changelog, raw}  # type: ignore[method-assign]
    thread.fetch_again = fetch_again  # type: ignore[method-assign]
    try:
        for stops in (False, True):
            consumer.resume_flow()
            consumer._getmany = getmany_stopping_the_flow(stops)  # type: ignore[method-assign]
            returned, _ = app.loop.run_until_complete(asyncio.wait_for(consumer._wait_next_records(timeout=0), 1))
            assert returned is records, "at once, for Faust's getmany to drop on the same check of the flow"
            app.loop.run_until_complete(asyncio.sleep(0))
    finally:
        for task in list(consumer._fetching_again):
            task.cancel()
        app.loop.run_until_complete(asyncio.sleep(0))
        consumer._getmany, consumer._get_active_partitions, thread.fetch_again = saved  # type: ignore[method-assign]
        consumer.resume_flow()
    assert asked == [{changelog: (0, 123)}], "only when the flow stopped, and only the changelog's"


@pytest.mark.parametrize(
    ("position", "subscribed", "sought"),
    [
        (124, True, [(0, "changelog")]),  # where the dropped records left it: back to the first of them
        (50, True, []),  # sought elsewhere since they were fetched: the later seek stands
        (None, True, []),  # no position (being reset): nothing to go back from
        (124, False, []),  # unsubscribed: the consumer is stopping
    ],
)
def test_fetching_again_goes_back_only_from_where_the_dropped_records_left_the_partition(
    app: faust.App, position: int | None, subscribed: bool, sought: list[tuple[int, str]]
) -> None:
    changelog = TP(sorted(app.tables.changelog_topics)[0], 0)
    unassigned = TP("elsewhere-changelog", 0)
    seeks: list[tuple[int, str]] = []
    state = SimpleNamespace(has_valid_position=position is not None, position=position)
    assignment = SimpleNamespace(state_value=lambda tp: state if tp == changelog else None)
    subscription = SimpleNamespace(assignment=assignment) if subscribed else None
    aiokafka_consumer = SimpleNamespace(
        _fetcher=SimpleNamespace(_subscriptions=SimpleNamespace(subscription=subscription)),
        seek=lambda tp, offset: seeks.append((offset, "changelog" if tp == changelog else str(tp))),
    )
    thread = app.consumer._thread
    original = thread._ensure_consumer
    thread._ensure_consumer = lambda: aiokafka_consumer
    try:
        app.loop.run_until_complete(thread._fetch_again({changelog: (0, 123), unassigned: (7, 9)}))
    finally:
        thread._ensure_consumer = original
    assert seeks == sought


def test_the_app_s_producer_buffer_drains_on_flush(app: faust.App) -> None:
    """A commit flushes it before committing offsets: see producer_buffer.py."""
    assert isinstance(app.producer.buffer, DrainingBuffer)


def test_a_message_left_out_does_not_hold_the_wait_for_acknowledgements(app: faust.App) -> None:
    """Faust's wait at a stop or a rebalance (``wait_empty``) loops while its set of messages handed out and not
    acknowledged holds one; a message left out stays in it while referenced (as its stream's last event)."""

    class Message:  # a weak set's member, as Faust's messages are
        acked = False

    consumer = app.consumer
    held, other = Message(), Message()
    consumer._unacked_messages |= {held, other}
    consumer.leave(held)  # type: ignore[attr-defined]  # ours, on the worker's consumer
    assert held not in consumer._unacked_messages
    assert other in consumer._unacked_messages  # only the message left
    consumer._unacked_messages.discard(other)
