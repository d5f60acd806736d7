"""Integration fixtures: the real local broker, and real worker processes.

Each test module gets its own topic names and application id, so runs never
see each other's messages or state; the session deletes them from the broker
when it ends.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

from sahelwatch.cli.pacing import event_time_steps, published_at, send_paced, step_for
from sahelwatch.config import Settings, load_settings
from sahelwatch.inputs import Record

pytestmark = pytest.mark.integration

BROKER = os.environ.get("SAHELWATCH_TEST_BROKER", "127.0.0.1:9092")
SAHELWATCH = str(Path(sys.executable).with_name("sahelwatch"))
KAFKA = Path(__file__).resolve().parents[2] / "deploy" / "kafka" / "kafka.sh"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


#: The run id of every deployment ``make_env`` made in this session: their topics are deleted at its end.
RUNS: list[str] = []


@pytest.fixture(scope="session", autouse=True)
def broker() -> Iterator[str]:
    host, port = BROKER.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=3).close()
    except OSError as exc:
        pytest.fail(f"Kafka is not reachable at {BROKER} ({exc}); start it with `make kafka-up` (make test does)")
    yield BROKER
    delete_deployments(BROKER, RUNS)


def delete_deployments(address: str, runs: list[str]) -> None:
    """The topics of these runs, changelogs and dedup topics too (their consumer groups go with their
    offsets). Left behind, a few dozen test sessions' thousands of partitions kept the local broker from
    starting within the 90 s kafka.sh allows it, and ``make demo`` failed."""
    prefixes = tuple(prefix for run in runs for prefix in (f"t{run}.", f"swtest-{run}-"))
    if not prefixes:
        return
    admin = KafkaAdminClient(bootstrap_servers=address, client_id="test-cleanup")
    try:
        topics = [t for t in admin.list_topics() if t.startswith(prefixes)]
        if topics:
            admin.delete_topics(topics, timeout_ms=60_000)
    finally:
        admin.close()


class LocalBroker:
    """A second broker of its own (``kafka.sh`` on free ports and its own state folder), for
    tests that secure it differently or stop it, leaving the shared broker alone.

    ``properties`` are appended to its server.properties; they may name ``{port}`` and
    ``{controller}``. ``format_args`` go to ``kafka-storage format`` (SCRAM users, say).
    """

    def __init__(self, folder: Path, properties: str = "", format_args: str = "") -> None:
        self.port, self.controller = free_port(), free_port()
        self.address = f"127.0.0.1:{self.port}"
        folder.mkdir(parents=True, exist_ok=True)
        self.vars = {
            "KAFKA_PORT": str(self.port),
            "KAFKA_CONTROLLER_PORT": str(self.controller),
            "KAFKA_STATE_DIR": str(folder / "state"),
            "KAFKA_FORMAT_ARGS": format_args,
        }
        if properties:
            extra = folder / "extra.properties"
            extra.write_text(properties.format(port=self.port, controller=self.controller))
            self.vars["KAFKA_EXTRA_PROPERTIES"] = str(extra)

    def kafka_sh(self, command: str, timeout: float = 180) -> None:
        done = subprocess.run(
            [str(KAFKA), command], env=os.environ | self.vars, capture_output=True, text=True, timeout=timeout
        )
        assert done.returncode == 0, f"kafka.sh {command}: {done.stdout}{done.stderr}"

    def up(self) -> LocalBroker:
        self.kafka_sh("up")
        return self

    def down(self) -> None:
        """Stops the broker and keeps its data: ``up`` again restarts the same cluster."""
        self.kafka_sh("down", timeout=90)


@dataclass
class Env:
    """The environment of one isolated deployment: topics, app id, store, web port."""

    vars: dict[str, str]
    settings: Settings = field(init=False)

    def __post_init__(self) -> None:
        self.settings = load_settings(self.vars)

    def run_cli(self, *args: str, stdin: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [SAHELWATCH, *args],
            env=os.environ | self.vars,
            input=stdin.decode() if stdin is not None else None,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"sahelwatch {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
        return result

    def count(self, *topics: str) -> int:
        """How many messages the topics hold (the sum of their end offsets)."""
        consumer = KafkaConsumer(bootstrap_servers=self.settings.bootstrap_servers, group_id=None)
        try:
            partitions = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
            return sum(consumer.end_offsets(partitions).values())
        finally:
            consumer.close()

    def wait_for_count(self, topics: tuple[str, ...], count: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while (held := self.count(*topics)) < count:
            assert time.monotonic() < deadline, f"{topics}: {held} of {count} messages within {timeout}s"
            time.sleep(0.2)

    def consume(self, topic: str | tuple[str, ...], count: int, timeout: float = 60.0) -> list[dict[str, Any]]:
        """Read at least ``count`` messages of the topic(s) from the beginning (fails after ``timeout``)."""
        consumer = KafkaConsumer(
            *((topic,) if isinstance(topic, str) else topic),
            bootstrap_servers=self.settings.bootstrap_servers,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        messages: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        try:
            while len(messages) < count and time.monotonic() < deadline:
                for records in consumer.poll(timeout_ms=500).values():
                    messages += [
                        {"key": r.key, "value": orjson.loads(r.value), "partition": r.partition, "offset": r.offset}
                        for r in records
                    ]
        finally:
            consumer.close()
        assert len(messages) >= count, f"{topic}: got {len(messages)} of {count} messages within {timeout}s"
        return messages


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, broker: str) -> Env:
    return make_env(tmp_path_factory, broker)


def make_env(tmp_path_factory: pytest.TempPathFactory, broker: str) -> Env:
    """A deployment of its own: fresh topic names, application id, store and web port."""
    run = uuid.uuid4().hex[:8]
    RUNS.append(run)
    defaults = Settings().topics  # prefixed defaults: dashboards that match "articles.raw$" see test topics too
    return Env(
        {
            "SAHELWATCH_BROKER": broker,
            "SAHELWATCH_APP_ID": f"swtest-{run}",
            "SAHELWATCH_DATA_DIR": str(tmp_path_factory.mktemp("worker")),
            "SAHELWATCH_WEB_PORT": str(free_port()),
            "SAHELWATCH_DEDUP_RETENTION_HOURS": "8760",  # the examples span weeks; tests republish them
            "SAHELWATCH_SESSION_TIMEOUT_SECONDS": "8",  # a killed worker's partitions move on quickly
            **{f"SAHELWATCH_TOPIC_{f.name.upper()}": f"t{run}.{getattr(defaults, f.name)}" for f in fields(defaults)},
        }
    )


class Worker:
    """A ``sahelwatch worker`` process, its log kept for failure reports."""

    def __init__(self, env: Env, log: Path, **overrides: str) -> None:
        self.vars = env.vars | overrides
        self.log_path = log
        self.port = int(self.vars["SAHELWATCH_WEB_PORT"])
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90.0) -> Worker:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [SAHELWATCH, "worker"], env=os.environ | self.vars, stdout=log, stderr=subprocess.STDOUT
            )
        STARTED.append(self)
        try:
            return self.wait_ready(timeout)
        except BaseException:
            self.stop(signal.SIGKILL)  # not left running by the fixture or test that failed to start it
            raise

    def wait_ready(self, timeout: float = 90.0) -> Worker:
        """Until /health says ok: partitions assigned, no rebalance or recovery under way."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited with {self.process.returncode}:\n{self.log()}")
            if self.health().get("status") == "ok":
                return self
            time.sleep(0.5)
        raise AssertionError(f"worker not ready within {timeout}s:\n{self.log()}")

    def health(self) -> dict[str, Any]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as response:
                data: dict[str, Any] = orjson.loads(response.read())
                return data
        except OSError:
            return {}

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as response:
            text: str = response.read().decode()
            return text

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=timeout)
        return self.process.returncode

    def log(self, tail: int | None = 6000) -> str:
        """The log's last ``tail`` characters, or all of it."""
        text = self.log_path.read_text(errors="replace")
        return text if tail is None else text[-tail:]


#: Every worker a test or fixture started, so that none outlives it (see stop_leftover_workers).
STARTED: list[Worker] = []


@pytest.fixture(autouse=True)
def stop_leftover_workers() -> Iterator[None]:
    """Kill the workers a test started and left running: a test that fails midway (or a fixture that
    fails after starting one) would otherwise leave them loading the machine, and holding their
    partitions, for every test after it. A module's workers started by its fixtures are theirs to stop."""
    before = len(STARTED)
    yield
    for leftover in STARTED[before:]:
        leftover.stop(signal.SIGKILL)


@pytest.fixture(scope="module")
def worker(env: Env, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    running = Worker(env, tmp_path_factory.mktemp("logs") / "worker.log").start()
    yield running
    running.stop()


SCENARIOS = Path(__file__).resolve().parents[1] / "fixtures" / "scenarios"
STEP = step_for(Settings())  # half the rules' allowed lateness, as ``sahelwatch publish --paced`` steps


def steps(lines: list[bytes]) -> list[list[bytes]]:
    """Consecutive articles published within one STEP of the step's first."""
    return list(event_time_steps(lines, published_at, STEP))


def publish_paced(env: Env, lines: list[bytes]) -> None:
    """Publish as ``sahelwatch publish --paced`` does: step by step, each step output before the next."""
    producer = KafkaProducer(bootstrap_servers=env.settings.bootstrap_servers, acks="all")
    records = [Record(orjson.loads(line)["id"].encode(), line, "test") for line in lines]
    try:
        sent, done = send_paced(producer, env.settings.topics.raw, records, env.settings, step_timeout=60)
    finally:
        producer.close()
    assert done, f"the worker output fewer than the {sent} records sent within 60 s of a step"
