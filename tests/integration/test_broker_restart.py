"""The broker restarts under load: the workers ride it out on their own and nothing is lost.

A broker of this module's own (never the shared one) is stopped while two workers
process a stream, kept down past the workers' session timeout, and started again
with its data. The workers are not restarted: they must reconnect, find the
group coordinator again and go on, so that every input still lands in exactly
one of tagged / duplicates / dead letters and the alerts are still exactly those
of ``sahelwatch replay``. The outage does not flood the workers' logs: aiokafka's
retries are reported at most once per rate-limit interval each.

A worker started while the broker is down waits for it, saying so at each attempt,
with or without topic creation, and gets going by itself once the broker is back;
SIGTERM or Ctrl-C while it waits stops it quietly, with exit code 0.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from sahelwatch.streaming.logs import INTERVAL
from tests.conftest import article
from tests.integration.conftest import (
    SAHELWATCH,
    SCENARIOS,
    Env,
    LocalBroker,
    Worker,
    free_port,
    make_env,
    steps,
)
from tests.integration.test_replay_equals_stream import comparable, replay_alerts

pytestmark = pytest.mark.integration

CATEGORIES = ("tagged", "duplicates", "deadletter")
OUTAGE_SECONDS = 12.0  # longer than the 8 s session timeout make_env sets: the workers' sessions run out
STEP_TIMEOUT = 300.0  # one step may wait out the whole outage, the broker's restart and a rebalance
RECOVERY_TIMEOUT = 240.0
STREAM_TIMEOUT = 900.0  # the whole stream, outage included; it takes a minute or two
WAITING = "sahelwatch: waiting for Kafka at "
WAITING_TIMEOUT = 90.0  # a few attempts: 5 s each, 1, 2, 4… s apart
# aiokafka's messages that flooded the log during an outage (thousands of lines a second).
FLOOD = ("Unable connect to node with id", "Unable to update metadata from")
# Test clients retry for as long as an outage may last, and reconnect within a second of the broker's return.
CLIENT_OPTIONS: dict[str, Any] = {"reconnect_backoff_max_ms": 1000, "request_timeout_ms": 30000}

# Everyday words, no Sahel names: the generated articles are volume, not signal.
EVERYDAY_NEWS = """
market harvest rain school teacher bridge road water well clinic doctor festival music river boat
bus driver price bread millet sorghum cattle goat herder fair weekend council budget repair light
library student exam football team stadium coach season radio station farmer seed fertiliser
irrigation canal dam solar panel grid village town mayor street shop tailor craft pottery weaving
cotton textile factory worker shift wage union meeting plan road-works drainage flood season clouds
heat wind dust mango onion tomato rice bean peanut export truck depot fuel queue bank loan savings
mobile phone network
"""
VOCABULARY = EVERYDAY_NEWS.split()


@pytest.fixture(scope="module")
def own_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    """A PLAINTEXT broker of this module's own, so stopping it disturbs no one else's tests."""
    broker = LocalBroker(tmp_path_factory.mktemp("restarted-broker")).up()
    yield broker
    broker.down()


def generated_articles(count_of_bursts: int = 48, per_burst: int = 14) -> list[bytes]:
    """Distinct, deterministic everyday-news articles in short bursts between the scenarios' dates.

    Bursts keep the number of paced steps low; every third burst also carries one record
    that breaks the schema (no title), so the dead-letter path is under load too.
    """
    rng = random.Random(20230806)
    start = datetime(2023, 8, 5, 6, 7, tzinfo=UTC)
    lines: list[bytes] = []
    for burst in range(count_of_bursts):
        for n in range(per_burst):
            article_id = f"gen-{burst:02d}-{n:02d}"
            fields = article(
                id=article_id,
                url=f"https://daily-round.example/{article_id}",
                title=" ".join(rng.choices(VOCABULARY, k=8)).capitalize(),
                published_at=(start + timedelta(hours=15 * burst, seconds=15 * n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                source=f"outlet-{n % 5}.example",
                language="en",
                body=" ".join(rng.choices(VOCABULARY, k=70)) + ".",
            )
            if burst % 3 == 0 and n == per_burst - 1:
                del fields["title"]
            lines.append(orjson.dumps(fields))
    return lines


def event_time(line: bytes) -> datetime:
    return datetime.fromisoformat(orjson.loads(line)["published_at"].replace("Z", "+00:00"))


def the_stream() -> list[bytes]:
    """The alerting scenarios and the generated articles, merged in event-time order."""
    scenarios = [
        line
        for name in ("week_august_2023.jsonl", "syndicated_wire.jsonl", "wagner_surge.jsonl")
        for line in (SCENARIOS / name).read_bytes().splitlines()
        if line.strip()
    ]
    return sorted(scenarios + generated_articles(), key=event_time)


def article_id(line: bytes) -> str:
    value: str = orjson.loads(line)["id"]
    return value


class OutputWatch:
    """The ids seen so far on the three output topics, read by one consumer that rides out the outage."""

    def __init__(self, env: Env) -> None:
        self.consumer = KafkaConsumer(
            bootstrap_servers=env.settings.bootstrap_servers,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **CLIENT_OPTIONS,
        )
        topics = [getattr(env.settings.topics, name) for name in CATEGORIES]
        self.consumer.assign(
            [TopicPartition(t, p) for t in topics for p in self.consumer.partitions_for_topic(t) or ()]
        )
        self.seen: set[str] = set()

    def wait_for(self, ids: set[str], timeout: float, abandon: threading.Event) -> None:
        deadline = time.monotonic() + timeout
        while not ids <= self.seen:
            assert time.monotonic() < deadline, f"not processed within {timeout}s: {sorted(ids - self.seen)}"
            assert not abandon.is_set(), "abandoned: the test failed elsewhere"
            try:
                batches = self.consumer.poll(timeout_ms=500)
            except KafkaError:  # the broker is down: wait for it like any client
                time.sleep(0.5)
                continue
            self.seen.update(r.key.decode() for records in batches.values() for r in records)

    def close(self) -> None:
        self.consumer.close()


def publish_through_outage(
    env: Env, lines: list[bytes], cut: int, reached: threading.Event, abandon: threading.Event
) -> None:
    """Publish step by step (each step processed before the next, as in ``publish_paced``), riding out the outage.

    The idempotent producer retries every send across the outage without writing any twice;
    every send's future is checked. ``reached`` is set once step ``cut`` is sent, so that the
    broker goes down while articles are in flight; ``abandon`` ends the wait when the test fails elsewhere.
    """
    producer = KafkaProducer(
        bootstrap_servers=env.settings.bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        delivery_timeout_ms=int(STEP_TIMEOUT * 1000),
        max_block_ms=int(STEP_TIMEOUT * 1000),
        **CLIENT_OPTIONS,
    )
    watch = OutputWatch(env)
    try:
        for number, step in enumerate(steps(lines)):
            sent = [producer.send(env.settings.topics.raw, key=article_id(line).encode(), value=line) for line in step]
            if number == cut:
                reached.set()
            producer.flush(timeout=STEP_TIMEOUT)
            for future in sent:
                future.get(timeout=STEP_TIMEOUT)  # raises if the broker never took the article
            watch.wait_for({article_id(line) for line in step}, STEP_TIMEOUT, abandon)
    finally:
        producer.close(timeout=10)
        watch.close()


def read_all(env: Env, topics: tuple[str, ...]) -> list[dict[str, Any]]:
    """Every message the topics hold (call once the workers are stopped: nothing is added any more)."""
    held = env.count(*topics)
    return env.consume(topics, held) if held else []


def wait_for_alert_ids(env: Env, expected: set[str], timeout: float, logs: str) -> None:
    """Until every expected alert id is on the alert topics (repeats make a plain count misleading)."""
    deadline = time.monotonic() + timeout
    while True:
        found = {m["value"]["alert_id"] for m in read_all(env, env.settings.topics.alerts())}
        if expected <= found:
            return
        assert time.monotonic() < deadline, f"alerts missing after {timeout}s: {sorted(expected - found)}\n{logs}"
        time.sleep(1)


def wait_until_healthy(workers: list[Worker], timeout: float) -> None:
    """Every worker alive and reporting ok, by itself, within ``timeout``."""
    for worker in workers:
        worker.wait_ready(timeout)


def logs_of(workers: list[Worker]) -> str:
    return "\n".join(f"----- {w.log_path.name} -----\n{w.log()}" for w in workers)


def stop_all(workers: list[Worker], sig: int = signal.SIGTERM) -> dict[str, int | None]:
    """Signal every worker (SIGTERM unless told); one that does not exit in time is killed (and reported as None)."""
    codes: dict[str, int | None] = {}
    for worker in workers:
        if worker.process is None:
            continue
        try:
            codes[worker.log_path.name] = worker.stop(sig)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait(timeout=30)
            codes[worker.log_path.name] = None
    return codes


def categories_by_id(env: Env) -> dict[str, set[str]]:
    """For each id on the output topics, the outputs it reached (repeats of an id collapse into one)."""
    found: dict[str, set[str]] = defaultdict(set)
    for name in CATEGORIES:
        for message in read_all(env, (getattr(env.settings.topics, name),)):
            found[message["key"].decode()].add(name)
    return found


def assert_no_flood(workers: list[Worker], seconds: float) -> None:
    """Each of aiokafka's retry messages is logged at most once per interval by each worker, over the
    ``seconds`` from the broker going down to the workers' end, and the outage is still reported."""
    allowed = int(seconds // INTERVAL) + 1
    counts = {
        (w.log_path.name, message): w.log_path.read_text(errors="replace").count(message)
        for w in workers
        for message in FLOOD
    }
    assert all(n <= allowed for n in counts.values()), f"more than {allowed} in {seconds:.0f} s: {counts}"
    assert sum(counts.values()) > 0, f"the outage went unreported: {counts}\n{logs_of(workers)}"
    assert "similar messages suppressed" in logs_of(workers), logs_of(workers)


def test_workers_ride_out_a_broker_restart_under_load(
    own_broker: LocalBroker, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    env = make_env(tmp_path_factory, own_broker.address)
    lines = the_stream()
    expected = replay_alerts(env, lines, tmp_path)
    assert len(expected) >= 3, "the scenarios should raise several alerts"
    ids = [article_id(line) for line in lines]
    assert len(set(ids)) == len(ids), "the input ids must be distinct"
    invalid = {article_id(line) for line in lines if "title" not in orjson.loads(line)}

    workers = [
        Worker(env, tmp_path / "w1.log", SAHELWATCH_DATA_DIR=str(tmp_path / "d1")),
        Worker(
            env, tmp_path / "w2.log", SAHELWATCH_DATA_DIR=str(tmp_path / "d2"), SAHELWATCH_WEB_PORT=str(free_port())
        ),
    ]
    reached, abandon = threading.Event(), threading.Event()
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        for worker in workers:
            worker.start()
        wait_until_healthy(workers, 120)  # the rebalance that let the second worker in is over
        publishing = pool.submit(publish_through_outage, env, lines, len(steps(lines)) // 4, reached, abandon)
        assert reached.wait(STEP_TIMEOUT), f"the stream never got going:\n{logs_of(workers)}"
        outage_started = time.monotonic()
        own_broker.down()
        assert not publishing.done(), "the stream ended before the broker went down: publish more"
        time.sleep(OUTAGE_SECONDS)
        own_broker.up()
        wait_until_healthy(workers, RECOVERY_TIMEOUT)
        try:
            publishing.result(timeout=STREAM_TIMEOUT)
        except Exception as exc:
            raise AssertionError(f"the stream did not resume: {exc!r}\n{logs_of(workers)}") from exc
        wait_until_healthy(workers, 60)
        wait_for_alert_ids(env, set(expected), 60, logs_of(workers))
    finally:
        abandon.set()
        pool.shutdown(wait=True)
        codes = stop_all(workers)
    assert codes == {"w1.log": 0, "w2.log": 0}, f"workers must exit 0 on SIGTERM: {codes}\n{logs_of(workers)}"
    assert_no_flood(workers, time.monotonic() - outage_started)

    found = categories_by_id(env)
    lost, strays = set(ids) - set(found), set(found) - set(ids)
    assert not lost and not strays, f"lost: {sorted(lost)}, not ours: {sorted(strays)}\n{logs_of(workers)}"
    wrong = {i: sorted(c) for i, c in found.items() if len(c) != 1}
    assert not wrong, f"ids in more than one output: {wrong}\n{logs_of(workers)}"
    assert {i for i, c in found.items() if c == {"deadletter"}} == invalid
    by_id: dict[str, dict[str, Any]] = {}
    for message in read_all(env, env.settings.topics.alerts()):
        alert = comparable(message["value"])
        assert by_id.setdefault(alert["alert_id"], alert) == alert, "a repeat must be the same alert"
    assert by_id == expected


def launch(worker: Worker) -> Worker:
    """Start the worker process without waiting for it to be ready (the broker is down)."""
    with worker.log_path.open("ab") as log:
        worker.process = subprocess.Popen(
            [SAHELWATCH, "worker"], env=os.environ | worker.vars, stdout=log, stderr=subprocess.STDOUT
        )
    return worker


def waiting_lines(worker: Worker) -> list[str]:
    """What the worker said while it waited for the broker."""
    return [line for line in worker.log_path.read_text(errors="replace").splitlines() if line.startswith(WAITING)]


def wait_until_waiting(worker: Worker, count: int, timeout: float) -> list[str]:
    """Until the worker has said ``count`` times that it waits for the broker; it must not exit meanwhile."""
    assert worker.process is not None
    deadline = time.monotonic() + timeout
    while len(lines := waiting_lines(worker)) < count:
        code = worker.process.poll()
        assert code is None, f"the worker gave up (exit code {code}) instead of waiting:\n{worker.log()}"
        assert time.monotonic() < deadline, f"{len(lines)} of {count} waiting lines within {timeout}s:\n{worker.log()}"
        time.sleep(0.5)
    return lines


def next_tries(lines: list[str]) -> list[int]:
    """The delays the waiting lines announce, in seconds."""
    return [int(m.group(1)) for line in lines if (m := re.search(r"\(next try in (\d+) s\)$", line))]


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({}, id="creating the topics"),
        pytest.param({"SAHELWATCH_CREATE_TOPICS": "false"}, id="streaming only"),
    ],
)
def test_a_worker_started_while_the_broker_is_down_waits_for_it(
    own_broker: LocalBroker, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, overrides: dict[str, str]
) -> None:
    env = make_env(tmp_path_factory, own_broker.address)
    if overrides:  # the deployment made the topics; the worker's first connection is then Faust's
        env.run_cli("topics", "create")
    early = Worker(env, tmp_path / "early.log", **overrides)
    own_broker.down()
    try:
        try:
            launch(early)
            lines = wait_until_waiting(early, 3, WAITING_TIMEOUT)
        finally:
            own_broker.up()
        early.wait_ready(RECOVERY_TIMEOUT)  # by itself: nothing restarts it
    finally:
        stopped = stop_all([early])
    output = early.log_path.read_text(errors="replace")
    assert stopped == {"early.log": 0}, output[-6000:]
    assert "Traceback" not in output, output[-6000:]
    assert all(line.startswith(f"{WAITING}{own_broker.address}: ") for line in lines), lines
    assert next_tries(lines) == [1, 2, 4], lines


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_worker_waiting_for_its_broker_stops_quietly(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, sig: signal.Signals
) -> None:
    nowhere = f"127.0.0.1:{free_port()}"  # nothing listens there: connections are refused
    waiting = Worker(make_env(tmp_path_factory, nowhere), tmp_path / "waiting.log")
    try:
        launch(waiting)
        wait_until_waiting(waiting, 1, WAITING_TIMEOUT)
    finally:
        stopped = stop_all([waiting], sig)
    output = waiting.log_path.read_text(errors="replace")
    assert stopped == {"waiting.log": 0}, output[-6000:]
    assert output.splitlines() == waiting_lines(waiting), f"only the waiting lines:\n{output[-6000:]}"
    assert "ECONNREFUSED" in output, output[-6000:]
