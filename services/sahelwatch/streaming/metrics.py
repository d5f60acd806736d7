"""Prometheus metrics of the worker, on prometheus-client's default registry.

Labels are bounded: reason codes, cleaning paths, duplicate kinds, stages,
rules, lexicon categories, ISO country codes and the ids of the curated actor
and place catalogues; never article ids, URLs or free text. Prometheus adds
the worker instance to every series when it scrapes.
"""

from __future__ import annotations

import functools
from typing import TypeVar

from prometheus_client import Counter, Gauge, Histogram, Info, disable_created_metrics
from prometheus_client.metrics import MetricWrapperBase

Metric = TypeVar("Metric", bound=MetricWrapperBase)

disable_created_metrics()  # type: ignore[no-untyped-call]  # the *_created series double every counter for no use

STAGE_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
# From receipt: milliseconds to seconds; from publication: minutes to weeks (archives replayed late).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 60, 300, 3600, 21600, 86400, 604800)

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
tagged_articles = Counter(
    "sahelwatch_tagged_articles_total", "First occurrences, by each country they mention.", ["country"]
)
actor_mentions = Counter(
    "sahelwatch_actor_mentions_total", "Mentions of catalogued actors in first occurrences.", ["actor", "country"]
)
keyword_score = Counter(
    "sahelwatch_keyword_score_total",
    "Summed lexicon weights in first occurrences, by category and the article's primary country.",
    ["category", "country"],
)
place_mentions = Counter(
    "sahelwatch_place_mentions_total",
    "Mentions of gazetteer places in first occurrences (coordinates as labels, for a geomap).",
    ["place", "name", "country", "lat", "lon"],
)
alerts = Counter(
    "sahelwatch_alerts_total", "Alert events emitted, by rule, severity and status.", ["rule", "severity", "status"]
)
late_articles = Counter(
    "sahelwatch_late_articles_total",
    "First occurrences older than the watermark minus the allowed lateness: not counted.",
)
stage_seconds = Histogram(
    "sahelwatch_stage_seconds",
    "Processing time of one article in one pipeline stage.",
    ["stage"],
    buckets=STAGE_BUCKETS,
)
end_to_end_seconds = Histogram(
    "sahelwatch_end_to_end_seconds",
    "Time from an article's publication, or from its receipt by the worker, to its output.",
    ["since"],
    buckets=LATENCY_BUCKETS,
)
dedup_index_bands = Gauge(
    "sahelwatch_dedup_index_bands", "LSH band entries of live stories in the dedup stage's index."
)
alert_active_keys = Gauge("sahelwatch_alert_active_keys", "Alert keys with open windows or a firing severity.")
knowledge = Info("sahelwatch_knowledge", "Versions of the knowledge files and alert rules loaded.")


@functools.cache
def series(metric: Metric, *labels: str) -> Metric:
    """A labelled series, looked up once: ``labels()`` checks its values and takes a lock on every
    call, and an article updates about fifteen series (labels are bounded, so is this cache)."""
    return metric.labels(*labels)
