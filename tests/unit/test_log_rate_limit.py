"""Repeated log records are rate limited per (logger, message template), with a count of those left out,
so that aiokafka's retries during a broker outage no longer flood the worker's log."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from sahelwatch.streaming.logs import MAX_KEYS, RateLimit, limit_repeats

UNREACHABLE = "Unable connect to node with id %s: %s"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def record(msg: str, *args: object, name: str = "aiokafka", level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def passed(limit: RateLimit, *records: logging.LogRecord) -> list[str]:
    """The messages of the records the filter lets through."""
    return [r.getMessage() for r in records if limit.filter(r)]


def test_one_record_per_interval_then_the_count_of_those_left_out() -> None:
    clock = Clock()
    limit = RateLimit(interval=5.0, clock=clock)
    assert passed(limit, *(record(UNREACHABLE, 1, f"refused #{n}") for n in range(1000))) == [
        "Unable connect to node with id 1: refused #0"
    ]
    clock.now += 4.9
    assert passed(limit, record(UNREACHABLE, 1, "still refused")) == []
    clock.now += 0.1
    assert passed(limit, record(UNREACHABLE, 1, "refused again"), record(UNREACHABLE, 1, "and again")) == [
        "Unable connect to node with id 1: refused again (1000 similar messages suppressed)"
    ]
    clock.now += 5.0
    assert passed(limit, record(UNREACHABLE, 2, "refused")) == [
        "Unable connect to node with id 2: refused (1 similar message suppressed)"
    ]
    clock.now += 5.0
    assert passed(limit, record(UNREACHABLE, 2, "refused")) == ["Unable connect to node with id 2: refused"]


def test_loggers_and_templates_are_limited_separately() -> None:
    limit = RateLimit(interval=5.0, clock=Clock())
    records = [
        record(UNREACHABLE, 1, "refused"),
        record("Unable to update metadata from %s", [1]),
        record(UNREACHABLE, 1, "refused", name="aiokafka.conn"),
    ]
    assert passed(limit, *records, *records) == [
        "Unable connect to node with id 1: refused",
        "Unable to update metadata from [1]",
        "Unable connect to node with id 1: refused",
    ]


def test_records_below_the_level_pass_untouched() -> None:
    limit = RateLimit(interval=5.0, level=logging.WARNING, clock=Clock())
    infos = [record("Discovered coordinator %s", n, level=logging.INFO) for n in range(3)]
    assert passed(limit, *infos) == ["Discovered coordinator 0", "Discovered coordinator 1", "Discovered coordinator 2"]


def test_a_percent_sign_in_the_arguments_survives_the_count() -> None:
    clock = Clock()
    limit = RateLimit(interval=5.0, clock=clock)
    assert passed(limit, record("disk at %s", "99%")) == ["disk at 99%"]
    assert passed(limit, record("disk at %s", "99%")) == []
    clock.now += 5.0
    kept = record("disk at %s", "100%")
    assert limit.filter(kept)
    assert kept.getMessage() == "disk at 100% (1 similar message suppressed)"
    assert logging.Formatter("%(message)s").format(kept) == "disk at 100% (1 similar message suppressed)"


def test_numbers_in_a_message_its_logger_formatted_count_as_arguments() -> None:
    clock = Clock()
    limit = RateLimit(interval=5.0, clock=clock)
    full = [record(f"producer buffer full size {n}", name="faust.transport.producer") for n in (237, 151, 101)]
    assert passed(limit, *full) == ["producer buffer full size 237"]
    clock.now += 5.0
    assert passed(limit, record("producer buffer full size 572", name="faust.transport.producer")) == [
        "producer buffer full size 572 (2 similar messages suppressed)"
    ]


def test_the_table_of_messages_forgets_expired_ones() -> None:
    clock = Clock()
    limit = RateLimit(interval=5.0, clock=clock)
    for n in range(MAX_KEYS):
        spelled = "".join(chr(ord("a") + int(digit)) for digit in str(n))  # numbers would be one template
        assert limit.filter(record(f"formatted by the caller: {spelled}"))
    clock.now += 5.0
    assert limit.filter(record("one more"))
    assert len(limit._windows) == 1  # the expired ones are gone; "one more" is the only one left
    assert not limit.filter(record("one more"))


@pytest.fixture
def installed() -> Iterator[RateLimit]:
    """limit_repeats on aiokafka's loggers, removed afterwards so that other tests see them as they were."""
    limit = limit_repeats("aiokafka", interval=3600.0)
    yield limit
    for name in ["aiokafka", *(n for n in logging.root.manager.loggerDict if n.startswith("aiokafka."))]:
        logging.getLogger(name).removeFilter(limit)


def test_it_is_installed_on_aiokafka_and_each_module_logger(
    installed: RateLimit, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("aiokafka", "aiokafka.conn", "aiokafka.producer.sender", "aiokafka.consumer.group_coordinator"):
        assert installed in logging.getLogger(name).filters, name
    assert installed not in logging.getLogger("faust").filters
    for n in range(500):
        logging.getLogger("aiokafka").error("Unable to update metadata from %s", [n])
        logging.getLogger("aiokafka.producer.sender").error("Unable to send to %s", n)
    assert [r.getMessage() for r in caplog.records] == ["Unable to update metadata from [0]", "Unable to send to 0"]
