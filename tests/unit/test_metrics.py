"""The worker's metrics helpers."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from sahelwatch.streaming.metrics import series


def test_a_series_is_its_labelled_series_looked_up_once() -> None:
    registry = CollectorRegistry()
    counter = Counter("test_series_total", "Counts by a label.", ["kind"], registry=registry)
    series(counter, "a").inc(2)
    series(counter, "a").inc()
    series(counter, "b").inc()
    assert series(counter, "a") is series(counter, "a") is counter.labels("a")
    assert registry.get_sample_value("test_series_total", {"kind": "a"}) == 3
    assert registry.get_sample_value("test_series_total", {"kind": "b"}) == 1
