"""Publishing a file in steps of event time, each once the worker has output the one before.

The stream counts an article in its alert windows only if it comes within the
rules' allowed lateness of the newest article counted so far. A live feed
publishes articles as they appear, so the worker sees them in that order; a
file of last week's articles sent at once reaches the worker through several
partitions, and a few milliseconds between partitions are hours of the file's
event time: some articles come too late to count, and the alerts differ from one
run to the next and from ``sahelwatch replay``. Sent in steps shorter than the
allowed lateness, each step output before the next is sent, the stream sees the
file as a live feed would and raises the replay's alerts.

A step is done when the output topics (tagged, duplicates, dead letters: every
input gives exactly one of them) have grown by the records sent so far, so
other publishers writing to the same input at the same time make it wait less
than it should.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import TypeVar

import orjson
from kafka import KafkaProducer, TopicPartition
from kafka.errors import UnknownTopicOrPartitionError

from sahelwatch.clients import consumer
from sahelwatch.config import Settings
from sahelwatch.core.alerts import load_rules
from sahelwatch.core.model import parse_time
from sahelwatch.inputs import Record

T = TypeVar("T")


def send_paced(
    kafka: KafkaProducer, topic: str, records: Iterable[Record], settings: Settings, step_timeout: float
) -> tuple[int, bool]:
    """Records sent, and whether every step came out within ``step_timeout`` seconds."""
    step = step_for(settings)
    watch = OutputWatch(settings)
    sent = 0
    try:
        for batch in event_time_steps(records, lambda record: published_at(record.value), step):
            for record in batch:
                kafka.send(topic, key=record.key, value=record.value)
            kafka.flush(timeout=60)
            sent += len(batch)
            if not watch.wait_for(sent, step_timeout):
                print(
                    f"stopped: {sent} records sent, fewer came out on the output topics within {step_timeout:g} s "
                    "(is a worker running on these topics?)",
                    file=sys.stderr,
                )
                return sent, False
    finally:
        watch.close()
    return sent, True


def step_for(settings: Settings) -> timedelta:
    """Half the rules' allowed lateness: the articles of a step, whatever order they come in, are
    within it of each other, with a margin."""
    return timedelta(seconds=load_rules(settings.rules_file).allowed_lateness / 2)


def event_time_steps(
    records: Iterable[T], published: Callable[[T], datetime | None], step: timedelta
) -> Iterator[list[T]]:
    """Consecutive records published within ``step`` of their step's first, in the order given.

    A record without a usable time joins the step it comes in. Records are not
    sorted: a file out of event-time order is sent in its own order.
    """
    current: list[T] = []
    first: datetime | None = None
    for record in records:
        when = published(record)
        if when is not None and first is not None and when - first >= step:
            yield current
            current, first = [], None
        if first is None:
            first = when
        current.append(record)
    if current:
        yield current


def published_at(value: bytes) -> datetime | None:
    """The message's ``published_at``, or None when it has none that parses (it then goes to dead letters)."""
    try:
        data = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    when = data.get("published_at") if isinstance(data, dict) else None
    try:
        return parse_time(when) if isinstance(when, str) else None
    except ValueError:
        return None


class OutputWatch:
    """How many records the worker has written to its output topics since this watch began."""

    def __init__(self, settings: Settings) -> None:
        topics = settings.topics
        self._consumer = consumer(settings, [], from_beginning=False)  # reads end offsets only
        found = {
            name: self._consumer.partitions_for_topic(name)
            for name in (topics.tagged, topics.duplicates, topics.deadletter)
        }
        missing = sorted(name for name, partitions in found.items() if not partitions)
        if missing:
            self._consumer.close()
            raise UnknownTopicOrPartitionError(
                f"cannot pace on output topics that do not exist ({', '.join(missing)}): "
                "run `sahelwatch topics create`, or a worker, first"
            )
        self._partitions = [TopicPartition(name, p) for name, partitions in found.items() for p in sorted(partitions)]
        self._start = self._held()

    def _held(self) -> int:
        return sum(self._consumer.end_offsets(self._partitions).values())

    def wait_for(self, count: int, timeout: float, poll: float = 0.05) -> bool:
        """Whether ``count`` records came out within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while self._held() - self._start < count:
            if time.monotonic() >= deadline:
                return False
            time.sleep(poll)
        return True

    def close(self) -> None:
        self._consumer.close()
