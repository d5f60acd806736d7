"""Faust's Prometheus sensor without its per-record label lookups.

``faust.sensors.prometheus.PrometheusMonitor`` updates labelled series for every
table read and write, every message in (per topic and partition) and every send
(per topic): about 80 prometheus-client calls an article here, which measured as
a seventh of the worker's CPU (``make bench``). The dashboards read none of those
series; they read the totals, event runtimes, commit latency, rebalances and the
per-partition end and committed offsets (lag), which this sensor still records.
Faust's own bookkeeping (the base ``Monitor``) is kept, so ``app.monitor`` works
as before.
"""

from __future__ import annotations

from typing import Any, cast

import faust
from faust.sensors.monitor import Monitor
from faust.sensors.prometheus import PrometheusMonitor, setup_prometheus_sensors


class LeanPrometheusMonitor(PrometheusMonitor):
    def on_message_in(self, tp: Any, offset: int, message: Any) -> None:
        Monitor.on_message_in(self, tp, offset, message)
        self._metrics.messages_received.inc()
        self._metrics.active_messages.inc()

    def on_stream_event_in(self, tp: Any, offset: int, stream: Any, event: Any) -> dict[str, Any] | None:
        state: dict[str, Any] | None = Monitor.on_stream_event_in(self, tp, offset, stream, event)
        self._metrics.total_events.inc()
        self._metrics.total_active_events.inc()
        return state

    def on_table_get(self, table: Any, key: Any) -> None:
        Monitor.on_table_get(self, table, key)

    def on_table_set(self, table: Any, key: Any, value: Any) -> None:
        Monitor.on_table_set(self, table, key, value)

    def on_table_del(self, table: Any, key: Any) -> None:
        Monitor.on_table_del(self, table, key)

    def on_send_initiated(self, producer: Any, topic: str, message: Any, keysize: int, valsize: int) -> Any:
        return Monitor.on_send_initiated(self, producer, topic, message, keysize, valsize)


def setup_sensor(app: faust.App, name_prefix: str) -> None:
    """Faust's metrics on the default registry and its ``/metrics`` page, recorded by the lean sensor."""
    setup_prometheus_sensors(app, pattern="/metrics", name_prefix=name_prefix)
    app.monitor = LeanPrometheusMonitor(metrics=cast(PrometheusMonitor, app.monitor)._metrics)
