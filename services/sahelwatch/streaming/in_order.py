"""A partition's records handed to an agent in offset order, from where the last seek left the partition.

Around a rebalance a worker's stream delivers a partition's records out of
order: the buffered records ``buffers.py`` keeps over it come before the records
that the seek back to the committed offset fetches again, and those start
earlier (in the fault tests a raw partition's kept records started at 86, 88 or
130 while its committed offset was 75, 78 or 0). The dedup and alert stages
decide by what came before: a copy handled before its original is taken for
the first occurrence, and an article handled after later ones can fall behind
the alert windows' watermark. So each agent lets a record through only when it
is the next one of its partition, counting from the offset the last seek left
the partition at; one that comes early is left, unacknowledged, for the fetch
that brings it again in its turn, and one already handed out since the seek is
skipped.

That fetch comes within a buffer or two of records. If it never does (the
records a partition waited for deleted by retention while the worker lagged
behind, and the consumer reset to what is left), the partition's records are
taken as they come after ``GIVE_UP_AFTER`` early ones in a row, with a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from faust.types import TP, EventT

log = logging.getLogger(__name__)

#: Early records in a row after which a partition's records are taken as they come: far more than the
#: input buffer (1,024 events) and a poll (128 records) that can come before the seek's fetch.
GIVE_UP_AFTER = 10_000


class SeekingConsumer(Protocol):
    """What ``InOrder`` uses of the worker's consumer (``consumer.Consumer``)."""

    @property
    def sought(self) -> tuple[int, Mapping[TP, int]]:
        """How many seeks so far, and where the last one left each partition."""

    def leave(self, message: Any) -> None:
        """A message left unacknowledged on purpose: not to be waited for."""


class InOrder:
    """Admits each partition's events in offset order, starting again from the consumer's every seek."""

    def __init__(self, consumer: Callable[[], SeekingConsumer]) -> None:
        self._consumer = consumer  # the app's consumer, made after the agents are defined
        self._seeks = 0
        self._expected: dict[TP, int] = {}
        self._early: dict[TP, int] = {}  # early records in a row

    def admits(self, event: EventT[object]) -> bool:
        """Whether the event is its partition's next record (which it then counts as handed out); one that is
        not is left to the consumer as not to be waited for."""
        if self._next(event):
            return True
        self._consumer().leave(event.message)
        return False

    def _next(self, event: EventT[object]) -> bool:
        seeks, positions = self._consumer().sought
        if seeks != self._seeks:  # the partitions were sought again: their records come from there
            self._seeks = seeks
            self._expected.clear()
            self._early.clear()
        tp, offset = event.message.tp, event.message.offset
        expected = self._expected.get(tp, positions.get(tp, offset))  # a partition not sought: as it comes
        if offset > expected and self._early.get(tp, 0) < GIVE_UP_AFTER:
            if tp not in self._early:
                log.info("%s: record %d came before %d; left for the fetch that brings it again", tp, offset, expected)
            self._early[tp] = self._early.get(tp, 0) + 1
            return False
        if offset < expected:
            return False
        if offset > expected:
            log.warning(
                "%s: record %d never came, %d later ones did; taking them as they come", tp, expected, GIVE_UP_AFTER
            )
        self._early.pop(tp, None)
        self._expected[tp] = offset + 1
        return True
