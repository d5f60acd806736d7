"""``sahelwatch publish --paced``: how a file is cut into steps of event time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from sahelwatch.cli.pacing import event_time_steps, published_at, step_for
from sahelwatch.config import Settings

T0 = datetime(2023, 8, 6, tzinfo=UTC)


def _at(minutes: float | None) -> datetime | None:
    return None if minutes is None else T0 + timedelta(minutes=minutes)


def _cut(minutes: list[float | None], step: float = 5) -> list[list[int]]:
    indexed = list(enumerate(minutes))
    cut = event_time_steps(indexed, lambda item: _at(item[1]), timedelta(minutes=step))
    return [[index for index, _ in batch] for batch in cut]


def test_a_step_holds_the_records_within_a_step_of_its_first() -> None:
    assert _cut([0, 1, 4.9, 5, 9, 10.5, 60]) == [[0, 1, 2], [3, 4], [5], [6]]


def test_records_keep_the_files_order_and_those_without_a_time_join_the_step_they_come_in() -> None:
    assert _cut([None, 0, None, 7, 3, None]) == [[0, 1, 2], [3, 4, 5]]
    assert _cut([]) == []
    assert _cut([None, None]) == [[0, 1]]


def test_the_step_is_half_the_rules_allowed_lateness() -> None:
    assert step_for(Settings()) == timedelta(minutes=5)  # rules.toml: allowed_lateness = "10m"


def test_published_at_reads_the_messages_time_or_gives_none() -> None:
    assert published_at(orjson.dumps({"published_at": "2023-08-06T00:40:00Z"})) == T0 + timedelta(minutes=40)
    assert published_at(orjson.dumps({"published_at": "2023-08-06T01:40:00+01:00"})) == T0 + timedelta(minutes=40)
    for bad in (b"{not json", b"[1, 2]", b'{"id": "x"}', b'{"published_at": 5}', b'{"published_at": "soon"}', b"\xff"):
        assert published_at(bad) is None, bad
