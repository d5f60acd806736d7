"""Prometheus metrics of the worker, on prometheus-client's default registry.

Labels are bounded (reason codes, cleaning paths, duplicate kinds, stages):
never article ids, URLs or free text.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram, disable_created_metrics

disable_created_metrics()  # type: ignore[no-untyped-call]  # the *_created series double every counter for no use in dashboards

STAGE_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)

articles_received = Counter("sahelwatch_articles_received_total", "Messages read from the input topic.")
articles_cleaned = Counter("sahelwatch_articles_cleaned_total", "Articles cleaned, by cleaning path.", ["path"])
articles_output = Counter(
    "sahelwatch_articles_output_total", "Articles written to an output topic, by outcome.", ["outcome"]
)
duplicates = Counter(
    "sahelwatch_duplicates_total", "Duplicates detected, by kind and what matched.", ["kind", "matched_on"]
)
dead_letters = Counter(
    "sahelwatch_dead_letters_total", "Messages sent to the dead-letter topic, by reason.", ["reason"]
)
stage_seconds = Histogram(
    "sahelwatch_stage_seconds",
    "Processing time of one article in one pipeline stage.",
    ["stage"],
    buckets=STAGE_BUCKETS,
)
late_articles = Counter(
    "sahelwatch_late_articles_total",
    "First occurrences older than the watermark minus the allowed lateness: not counted.",
)
alerts = Counter(
    "sahelwatch_alerts_total", "Alert events emitted, by rule, severity and status.", ["rule", "severity", "status"]
)
