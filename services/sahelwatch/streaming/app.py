"""The Faust application: topology, tables and agents, built from the settings.

Topology (all values raw bytes, encoded and decoded here with orjson, so a bad
record is caught per message instead of in Faust's deserialiser):

    articles.raw --intake--> <app>-dedup (1 partition) --dedup--> articles.tagged
         |                                                   \\--> articles.duplicates
         \\--> articles.deadletter

``intake`` is stateless and runs on every input partition in parallel. Every
article then passes through the single partition of ``<app>-dedup``, so one
table sees every id and fingerprint whichever input partition the article came
from, and its changelog restores it after a crash or a rebalance.
"""

from __future__ import annotations

import gc
import logging
import time
from datetime import UTC, datetime
from typing import Any, cast

import faust
import orjson
from faust.types import StreamT, TopicT
from faust.web import Request, Response, View
from mode.types.signals import BaseSignalT

from sahelwatch.clients import MAX_REQUEST_BYTES
from sahelwatch.config import Settings
from sahelwatch.core.dedup import Index, build_index
from sahelwatch.core.intake import Rejected
from sahelwatch.core.model import DeadLetter, Origin, TaggedArticle, utc_iso
from sahelwatch.core.tagging.knowledge import default_knowledge
from sahelwatch.streaming import article_batch, metrics
from sahelwatch.streaming.article_batch import Carried
from sahelwatch.streaming.batches import batches, each_event
from sahelwatch.streaming.buffers import keep_owned_records_on_resume
from sahelwatch.streaming.consumer import Consumer, use_worker_consumer
from sahelwatch.streaming.credentials import faust_credentials
from sahelwatch.streaming.in_order import InOrder
from sahelwatch.streaming.prepare_pool import Prepared, PreparePool
from sahelwatch.streaming.producer_buffer import use_draining_producer
from sahelwatch.streaming.sensor import setup_sensor
from sahelwatch.streaming.table_writes import BufferedTable
from sahelwatch.wiring import build_pipeline

log = logging.getLogger(__name__)

#: RocksDB memory per table (ignored by the memory store). Faust's defaults (three 64 MB write
#: buffers and a 2 GB block cache a table) took the worker past 600 MB after 100,000 articles.
#: The dedup stage reads from its in-memory index and a few point lookups, so the cache is small.
ROCKSDB_OPTIONS = {"write_buffer_size": 4 * 2**20, "max_write_buffer_number": 2, "block_cache_size": 8 * 2**20}

#: The most messages handed to the prepare pool at once (those that arrived while it prepared the
#: last ones): under a backlog, batches keep the pool's per-call cost small.
INTAKE_BATCH = 64

#: Kafka client settings, shared with the bench's passthrough agent so that its ceiling is fair.
KAFKA_TUNING: dict[str, Any] = {
    # Memory under a backlog: what a worker holds is these times its partitions. A larger
    # message still comes through (the broker returns a first record of any size).
    "consumer_max_fetch_size": 1024 * 1024,
    "stream_buffer_maxsize": 512,  # Faust's default of 4,096 events a partition held up to 100 MB of articles
    # Lets each article's outputs and table writes (about six records) share produce requests:
    # without it a request goes out per record, and socket writes took a tenth of the CPU.
    "producer_linger": 0.002,
    # aiokafka keeps one batch a partition open and one request in flight to a broker, and a send
    # that finds the batch full waits for it to leave: at Faust's 16 KB one or two tagged articles
    # fill a batch. Larger batches, fewer requests: the passthrough's CPU an article, 446 -> 136 µs.
    "producer_max_batch_size": 1024 * 1024,
    "producer_max_request_size": MAX_REQUEST_BYTES,
    # Faust's fetch loop hands a poll's records to the streams one by one and waits while a
    # stream's buffer is full, so a large poll could leave the dedup topic's records waiting
    # behind the input's. With at most this many records a poll, and INPUT_BUFFER at least five
    # times as large, a poll always fits between Faust's high-water mark (four fifths of a buffer,
    # where it stops fetching a partition) and the buffer's end: see INPUT_BUFFER.
    "broker_max_poll_records": 128,
}

#: The input topic's stream buffer, in events. Faust's stream_buffer_maxsize (512 in KAFKA_TUNING)
#: is the default for every other topic. Faust stops fetching the input at four fifths of a buffer
#: and starts again at two fifths, after a poll and its delivery: at 512, the intake's buffer ran
#: dry in a third of the samples of a 30,000-article backlog while the fetch loop caught up, and the
#: prepare pool idled with it (bench/stream.py, runs alternated with 512: 463/453 against 602/552
#: articles/s). 1,024 events of 3.4 KB are a few MB more.
INPUT_BUFFER = 1024


def create_app(settings: Settings) -> faust.App:
    app = faust.App(
        settings.app_id,
        broker=settings.faust_broker,
        broker_credentials=faust_credentials(settings.security),
        store=settings.store,
        datadir=str(settings.data_dir),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        processing_guarantee="at_least_once",
        # No standby replicas: a standby promoted while articles flowed could lack the changelog records
        # from before its standby assignment (faust-streaming#212; seen in tests/integration/test_faults.py),
        # losing dedup history and alert warm-up. A worker that takes over recovers from the changelog instead.
        table_standby_replicas=0,
        broker_session_timeout=settings.session_timeout_seconds,
        broker_heartbeat_interval=min(3.0, settings.session_timeout_seconds / 3),
        **KAFKA_TUNING,
        web_bind=settings.web_host,
        web_host=settings.web_host,
        web_port=settings.web_port,
        web_tables_enabled=False,
        web_router_enabled=False,
        web_graph_enabled=False,
        web_stats_enabled=False,
    )
    _serve_only_our_pages(app)
    sequenced_topic = f"{settings.app_id}-dedup"
    use_worker_consumer(app.transport, drained_first={sequenced_topic})  # work in flight before new input
    use_draining_producer(app.transport)  # a commit waits until the table writes reach the Kafka producer
    keep_owned_records_on_resume(app)
    topics = settings.topics
    raw = _bytes_topic(app, topics.raw, maxsize=INPUT_BUFFER)
    tagged = _bytes_topic(app, topics.tagged)
    duplicates = _bytes_topic(app, topics.duplicates)
    deadletter = _bytes_topic(app, topics.deadletter)
    sequenced = _bytes_topic(app, sequenced_topic, partitions=1, internal=True)
    dedup_index = app.Table("dedup-index", default=None, partitions=1, key_type=str, options=ROCKSDB_OPTIONS)
    alert_state = app.Table("alert-state", default=None, partitions=1, key_type=str, options=ROCKSDB_OPTIONS)
    alert_topics = {
        "actors": _bytes_topic(app, topics.alerts_actors),
        "intervention": _bytes_topic(app, topics.alerts_intervention),
    }
    pipeline = build_pipeline(settings)
    # Loaded here, not only in the pool processes, so that a bad knowledge file stops the start-up with its line.
    metrics.knowledge.info(default_knowledge().versions | {"rules": pipeline.rules.version})

    pool = PreparePool(settings)
    in_order = InOrder(lambda: cast(Consumer, app.consumer))

    @app.on_before_shutdown.connect
    def _stop_pool(sender: Any, /, *args: Any, signal: BaseSignalT[Any], **kwargs: Any) -> None:
        pool.close()

    @app.agent(raw, name="intake")
    async def intake(stream: StreamT[bytes]) -> None:
        await pool.start()
        async for events in batches(stream, INTAKE_BATCH, stopping=lambda: app.should_stop, admits=in_order.admits):
            received_at = datetime.now(UTC)
            batch = [(event.value or b"", _origin(event.message)) for event in events]
            metrics.articles_received.inc(len(batch))
            outcomes = await pool.prepare(batch, received_at)
            pairs = list(zip(events, outcomes, strict=True))
            refused = [(event, outcome) for event, outcome in pairs if isinstance(outcome, Rejected)]
            prepared = [(event, outcome) for event, outcome in pairs if isinstance(outcome, Prepared)]
            for record, part in article_batch.encode([outcome for _, outcome in prepared]):
                try:
                    await sequenced.send(value=record)
                except Exception as exc:  # an unsendable result (too large) must never stop the worker
                    refused += [
                        (event, _processing_error(exc, outcome.article_id)) for event, outcome in prepared[part]
                    ]
                    continue
                for _, outcome in prepared[part]:
                    metrics.series(metrics.stage_seconds, "clean").observe(outcome.clean_seconds)
                    metrics.series(metrics.stage_seconds, "tag").observe(outcome.tag_seconds)
                    metrics.series(metrics.articles_cleaned, outcome.path).inc()
            for event, rejection in refused:
                letter = DeadLetter(
                    rejection.reason,
                    rejection.message,
                    event.value or b"",
                    _origin(event.message),
                    datetime.now(UTC),
                    rejection.article_id,
                )
                await deadletter.send(key=event.message.key, value=orjson.dumps(letter.to_json()))
                metrics.series(metrics.dead_letters, rejection.reason).inc()

    derived = _DerivedIndex()

    @app.on_partitions_assigned.connect
    def _reindex_after_rebalance(sender: Any, /, *args: Any, signal: BaseSignalT[Any], **kwargs: Any) -> None:
        derived.stale = True  # the table may now hold stories this worker has not indexed

    async def handle(carried: Carried, writes: BufferedTable) -> None:
        article = carried.article
        if derived.stale:  # events flow only once the table is recovered, so it is complete here
            derived.index, derived.stale = build_index(writes), False
            index = derived.index
            log.info("rebuilt the dedup index: %d stories, %d band entries", len(index.stories), len(index.bands))
            gc.freeze()  # what exists now (modules, knowledge, the index) lives long: no collection walks it
        started = time.perf_counter()
        pipeline.deduplicate(article, writes, derived.index, carried.signature)
        metrics.series(metrics.stage_seconds, "dedup").observe(time.perf_counter() - started)
        if article.duplicate is None:
            target, outcome = tagged, "tagged"
        else:
            target, outcome = duplicates, "duplicate"
            metrics.series(metrics.duplicates, article.duplicate.kind, article.duplicate.matched_on).inc()
        await target.send(key=article.id.encode(), value=carried.output())
        _count_output(article, outcome)

    async def alert(article: TaggedArticle, writes: BufferedTable) -> None:
        started = time.perf_counter()
        observation = pipeline.alert(article, writes)
        metrics.series(metrics.stage_seconds, "alert").observe(time.perf_counter() - started)
        if observation.late:
            metrics.late_articles.inc()
        for topic, message in observation.messages():
            record = message | {"emitted_at": utc_iso(datetime.now(UTC))}
            await alert_topics[topic].send(key=message["alert_id"].encode(), value=orjson.dumps(record))
        for fired in observation.alerts:
            metrics.series(metrics.alerts, fired.rule.id, fired.severity, fired.status).inc()

    @app.agent(sequenced, name="dedup", concurrency=1)
    async def dedup(stream: StreamT[bytes]) -> None:
        # A record's table writes, merged and made once it is handled (see table_writes.py).
        index_writes = BufferedTable(dedup_index, store=dedup_index.data)
        alert_writes = BufferedTable(alert_state, store=alert_state.data)
        async for event in each_event(stream, stopping=lambda: app.should_stop, admits=in_order.admits):
            try:
                with alert_writes, index_writes:  # flushed on leaving, even when cut short (see table_writes.py)
                    for carried in article_batch.decode(event.value, event.message.headers):
                        await handle(carried, index_writes)
                        await alert(carried.article, alert_writes)
            except BaseException:
                derived.stale = True  # cut short amid an article: the index may hold what the table will not
                raise
            metrics.dedup_index_bands.set(len(derived.index.bands))
            metrics.alert_active_keys.set(len(alert_state.get("active") or ()))

    setup_sensor(app, name_prefix="sahelwatch_faust")

    @app.page("/health")
    async def health(self: View, request: Request) -> Response:
        """Ready once partitions are assigned and table recovery is over; 503 until then."""
        state = _health_state(app)
        return self.json(state, status=200 if state["status"] == "ok" else 503)

    return app


def _count_output(article: TaggedArticle, outcome: str) -> None:
    """What the dashboards show of an article: latency always, its tags only for a first occurrence."""
    now = datetime.now(UTC)
    metrics.series(metrics.articles_output, outcome).inc()
    metrics.series(metrics.end_to_end_seconds, "received").observe((now - article.received_at).total_seconds())
    metrics.series(metrics.end_to_end_seconds, "published").observe(
        max(0.0, (now - article.published_at).total_seconds())
    )
    if article.duplicate is not None:
        return
    tags = article.tags
    primary = next((c.code for c in tags.countries if c.primary), "none")
    for country in tags.countries:
        metrics.series(metrics.tagged_articles, country.code).inc()
    for actor in tags.actors:
        metrics.series(metrics.actor_mentions, actor.id, actor.country or "none").inc(actor.count)
    for keyword in tags.keywords:
        metrics.series(metrics.keyword_score, keyword.category, primary).inc(keyword.score)
    for place in tags.places:
        metrics.series(
            metrics.place_mentions, place.id, place.name, place.country or "none", str(place.lat), str(place.lon)
        ).inc(place.count)


class _DerivedIndex:
    """The dedup stage's in-memory index of its table, rebuilt after every assignment."""

    def __init__(self) -> None:
        self.index = Index()
        self.stale = True


def _serve_only_our_pages(app: faust.App) -> None:
    """/health and /metrics only: the web_*_enabled settings turn off Faust's table, router, graph
    and stats views, but not its production index page, which goes here."""
    blueprints = app.web.blueprints._enabled
    blueprints[:] = [(prefix, bp) for prefix, bp in blueprints if bp != "faust.web.apps.production_index:blueprint"]


def _bytes_topic(
    app: faust.App, name: str, partitions: int | None = None, internal: bool = False, maxsize: int | None = None
) -> TopicT:
    return app.topic(
        name,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=partitions,
        internal=internal,
        maxsize=maxsize,
    )


def _health_state(app: faust.App) -> dict[str, Any]:
    assigned = len(app.consumer.assignment()) if app.consumer is not None else 0
    recovering = bool(app.in_recovery)
    rebalancing = bool(app.rebalancing)
    ready = assigned > 0 and not recovering and not rebalancing
    return {
        "status": "ok" if ready else "starting",
        "assigned_partitions": assigned,
        "rebalancing": rebalancing,
        "recovering": recovering,
    }


def _processing_error(exc: Exception, article_id: str) -> Rejected:
    log.exception("could not send a prepared article; sending it to the dead-letter topic")
    return Rejected("processing_error", f"{type(exc).__name__}: {exc}", article_id)


def _origin(message: Any) -> Origin:
    return Origin(message.topic, message.partition, message.offset, _key_text(message.key))


def _key_text(key: bytes | None) -> str | None:
    if key is None:
        return None
    return key.decode("utf-8", errors="replace")
