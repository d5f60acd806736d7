"""Each partition's events admitted in offset order from where the consumer's last seek left it."""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import pytest
from faust.types import TP

from sahelwatch.streaming.in_order import GIVE_UP_AFTER, InOrder

RAW, DEDUP = TP("articles.raw", 0), TP("app-dedup", 0)


class Consumer:
    """What ``InOrder`` uses of the worker's consumer: its seeks so far and where the last one left each partition,
    and the messages it is told were left."""

    def __init__(self, positions: Mapping[TP, int]) -> None:
        self.sought: tuple[int, Mapping[TP, int]] = (1, positions)
        self.left: list[tuple[TP, int]] = []

    def leave(self, message: Any) -> None:
        self.left.append((message.tp, message.offset))

    def seek(self, positions: Mapping[TP, int]) -> None:
        self.sought = (self.sought[0] + 1, positions)


def admitted(in_order: InOrder, *deliveries: tuple[TP, int]) -> list[tuple[TP, int]]:
    def event(tp: TP, offset: int) -> Any:
        return SimpleNamespace(message=SimpleNamespace(tp=tp, offset=offset))

    return [(tp, offset) for tp, offset in deliveries if in_order.admits(event(tp, offset))]


def in_order_of(consumer: Consumer) -> InOrder:
    return InOrder(lambda: consumer)


def test_records_kept_over_a_rebalance_wait_for_the_earlier_ones_the_seek_fetches_again() -> None:
    """As seen in the fault tests: buffered records from 88 kept, then the seek's fetch from 78."""
    in_order = in_order_of(Consumer({RAW: 78}))
    kept = [(RAW, offset) for offset in (88, 89, 90)]
    fetched_again = [(RAW, offset) for offset in range(78, 92)]
    assert admitted(in_order, *kept, *fetched_again) == fetched_again


def test_records_handed_out_since_the_seek_are_skipped_when_they_come_again() -> None:
    in_order = in_order_of(Consumer({DEDUP: 5}))
    assert admitted(in_order, (DEDUP, 5), (DEDUP, 6), (DEDUP, 5), (DEDUP, 6), (DEDUP, 7)) == [
        (DEDUP, 5),
        (DEDUP, 6),
        (DEDUP, 7),
    ]


def test_partitions_are_ordered_each_on_its_own() -> None:
    in_order = in_order_of(Consumer({RAW: 0, DEDUP: 10}))
    assert admitted(in_order, (DEDUP, 10), (RAW, 1), (RAW, 0), (DEDUP, 11), (RAW, 1)) == [
        (DEDUP, 10),
        (RAW, 0),
        (DEDUP, 11),
        (RAW, 1),
    ]


def test_each_seek_starts_the_partitions_again_from_where_it_left_them() -> None:
    """Behind what this worker handled (it committed less before a rebalance), or ahead of it (another
    worker handled more while it did not hold the partition)."""
    consumer = Consumer({DEDUP: 3})
    in_order = in_order_of(consumer)
    assert admitted(in_order, (DEDUP, 3), (DEDUP, 4), (DEDUP, 5)) == [(DEDUP, 3), (DEDUP, 4), (DEDUP, 5)]
    consumer.seek({DEDUP: 3})
    assert admitted(in_order, (DEDUP, 6), (DEDUP, 3), (DEDUP, 4)) == [(DEDUP, 3), (DEDUP, 4)]
    consumer.seek({DEDUP: 40})
    assert admitted(in_order, (DEDUP, 5), (DEDUP, 40)) == [(DEDUP, 40)]


def test_a_partition_not_sought_is_taken_as_it_comes() -> None:
    in_order = in_order_of(Consumer({}))
    assert admitted(in_order, (RAW, 7), (RAW, 8), (RAW, 10), (RAW, 9)) == [(RAW, 7), (RAW, 8), (RAW, 9)]


def test_records_that_never_come_are_given_up_on_after_many_later_ones(caplog: pytest.LogCaptureFixture) -> None:
    """Deleted by retention while the worker lagged: the partition must not stall for good."""
    in_order = in_order_of(Consumer({RAW: 0}))
    later = [(RAW, offset) for offset in range(100, 100 + GIVE_UP_AFTER + 2)]
    assert admitted(in_order, *later) == later[GIVE_UP_AFTER:]
    assert "record 0 never came" in caplog.text
    assert admitted(in_order, (RAW, 5), (RAW, 100 + GIVE_UP_AFTER + 2)) == [(RAW, 100 + GIVE_UP_AFTER + 2)]


def test_the_records_left_out_are_left_to_the_consumer_not_to_wait_for_them() -> None:
    """A left record is never acknowledged: Faust's waits for acknowledgements must not hold on it."""
    consumer = Consumer({RAW: 78})
    in_order = in_order_of(consumer)
    assert admitted(in_order, (RAW, 88), (RAW, 78), (RAW, 78), (RAW, 79)) == [(RAW, 78), (RAW, 79)]
    assert consumer.left == [(RAW, 88), (RAW, 78)]  # early, then already handed out
