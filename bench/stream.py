"""End-to-end speed on the real local broker (``make bench``; figures printed and written to
``.local/bench/stream.json``).

The workload: the background corpus (``../shared/corpus/background_news.jsonl``, real
non-Sahel news, about 2.4 KB of text each) cycled to the requested size, each cycle a
new set of stories (a quarter of the words swapped for other corpus words, so a cycle
is not a copy of the last), one article in 25 an exact copy carried by another outlet,
and the Sahel scenario articles of ``tests/fixtures/scenarios`` at their own times, so
that alerts fire. Event time runs from 1 August to 10 September 2023, in publication
order. ``--body-words N`` cuts every body to N words: the stages then have little text
to work on, while the pipeline's Kafka traffic, events and table writes stay as they
were, which tells what a worker costs beyond its stages.

Runs, one after the other on the same broker and data:

- throughput: the whole workload is published to ``articles.raw`` first, then one
  worker (a fresh consumer group) drains it; the rate is read off the output offsets
  between 10% and 90% of the outputs, so start-up and the tail are left out. The same
  for a passthrough Faust agent (``bench/passthrough.py``: consume, decode, produce),
  the ceiling, and for two workers in one group.
- the worker's peak RSS, its CPU time and the broker's per article (between 10% and
  90% too), per-stage time (its own histograms), its table store on disk and its
  internal topics on the broker after the single-worker run; with ``--profile``,
  py-spy samples of it.
- latency: a fresh worker fed at fixed rates (50, 100 and 200 articles/s by default),
  for a warm-up (5 s by default) and then the measured time (30 s); the articles sent
  during the warm-up are reported apart, as the cold start. To tagged: the broker's
  append time of the ``articles.tagged`` record minus the producer's send time of the
  input (both stamped by this machine's clock, in ms).
  To alert: the alert's append time minus the send time of the first article
  published after the alert's window could be judged (its end plus the rules'
  allowed lateness), i.e. the moment the alert became knowable. And where the two
  cores went over the measured time: the machine, the worker (its event-loop thread
  apart), its pool, the broker and the bench's publisher, in percent of a core.

Every topic and consumer group the bench makes is deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic

from sahelwatch.config import Settings, Topics
from sahelwatch.core.alerts import load_rules

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "background_news.jsonl"
SCENARIOS = ROOT / "tests" / "fixtures" / "scenarios"
SAHELWATCH = str(Path(sys.executable).with_name("sahelwatch"))
PY_SPY_RECORD = [
    str(Path(sys.executable).with_name("py-spy")),
    "record",
    "--rate",
    "100",
    "--nonblocking",
    "--format",
    "raw",
]
START, END = datetime(2023, 8, 1, tzinfo=UTC), datetime(2023, 9, 10, tzinfo=UTC)
PARTITIONS = Settings().partitions
APPEND_TIME = {"message.timestamp.type": "LogAppendTime"}
RUNS = {"one": "one_worker", "passthrough": "passthrough", "two": "two_workers"}  # throughput runs: result keys


@dataclass(frozen=True)
class Input:
    id: str
    published_at: datetime
    raw: bytes


def workload(count: int, seed: int = 7, body_words: int | None = None) -> list[Input]:
    """``count`` articles in event-time order, the scenarios among them; with ``body_words``, every
    body cut to that many words, which leaves the stages little text to work on and the pipeline's
    Kafka traffic, events and table writes as they were."""
    rows = [r for r in map(orjson.loads, CORPUS.read_bytes().splitlines()) if r.get("text")]
    scenarios = [orjson.loads(line) for p in sorted(SCENARIOS.glob("*.jsonl")) for line in p.read_bytes().splitlines()]
    rng = random.Random(seed)
    vocabulary = sorted({w for r in rows[:400] for w in r["text"].split() if w.isalpha()})
    filler = count - len(scenarios)
    step = (END - START) / filler
    articles: list[dict[str, Any]] = []
    swaps: dict[str, str] = {}
    for index in range(filler):
        cycle, row = divmod(index, len(rows))
        if row == 0 and cycle > 0:  # a new cycle: a quarter of the words take another word's place
            swaps = {w: rng.choice(vocabulary) for w in vocabulary if rng.random() < 0.25}
        source = rows[row]
        copy_of = articles[-rng.randrange(1, 50)] if index % 25 == 24 and articles else None
        text, title = (copy_of["body"], copy_of["title"]) if copy_of else (source["text"], source["title"] or "-")
        if swaps and copy_of is None:
            text = " ".join(swaps.get(w, w) for w in text.split(" "))
            title = " ".join(swaps.get(w, w) for w in title.split(" "))
        articles.append(
            {
                "id": f"bench-{index}",
                "url": f"https://outlet{index % 40}.example/{index}",
                "title": title,
                "published_at": (START + index * step).isoformat().replace("+00:00", "Z"),
                "source": f"outlet{index % 40}.example",
                "body": text,
            }
        )
    articles += scenarios
    articles.sort(key=lambda a: a["published_at"])
    if body_words is not None:
        articles = [a | {"body": " ".join(a["body"].split()[:body_words])} if "body" in a else a for a in articles]
    return [
        Input(a["id"], datetime.fromisoformat(a["published_at"].replace("Z", "+00:00")), orjson.dumps(a))
        for a in articles
    ]


class Broker:
    """The bench's topics and groups on the local broker, and what it reads of them."""

    def __init__(self, address: str, run: str) -> None:
        self.address = address
        self.run = run
        self.admin = KafkaAdminClient(bootstrap_servers=address, client_id="bench")
        self.offsets = KafkaConsumer(bootstrap_servers=address, group_id=None)
        self.apps: list[str] = []

    def topics(self, name: str, raw: str | None = None) -> Settings:
        """Topics of one deployment (reading ``raw`` when given); outputs carry the broker's append time."""
        defaults = Settings().topics
        names = {f: f"bench{self.run}.{name}.{getattr(defaults, f)}" for f in defaults.__dataclass_fields__}
        if raw is not None:
            names["raw"] = raw
        self.admin.create_topics(
            [
                NewTopic(topic, PARTITIONS, 1, topic_configs={} if field == "raw" else APPEND_TIME)
                for field, topic in names.items()
                if topic != raw
            ]
        )
        return Settings(topics=Topics(**names))

    def new_topic(self, name: str) -> str:
        topic = f"bench{self.run}.{name}"
        self.admin.create_topics([NewTopic(topic, PARTITIONS, 1, topic_configs=APPEND_TIME)])
        return topic

    def app_id(self, name: str) -> str:
        app = self.app_id_of(name)
        self.apps.append(app)
        return app

    def app_id_of(self, name: str) -> str:
        return f"bench{self.run}-{name}"

    def count(self, *topics: str) -> int:
        partitions = [TopicPartition(t, p) for t in topics for p in self.offsets.partitions_for_topic(t) or ()]
        return sum(self.offsets.end_offsets(partitions).values())

    def read(self, *topics: str) -> list[tuple[bytes, int, bytes]]:
        """(key, timestamp in ms, value) of every record of the topics."""
        consumer = KafkaConsumer(
            *topics,
            bootstrap_servers=self.address,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            consumer_timeout_ms=3000,
            max_partition_fetch_bytes=16 * 1024 * 1024,
        )
        try:
            return [(r.key, r.timestamp, r.value) for r in consumer]
        finally:
            consumer.close()

    def topic_bytes(self, prefix: str) -> dict[str, int]:
        """Bytes on the broker's disk of each topic whose name starts with ``prefix``."""
        sizes: dict[str, int] = {}
        for broker in self.admin.describe_log_dirs():
            for log_dir in broker["log_dirs"]:
                for topic in log_dir["topics"]:
                    if topic["name"].startswith(prefix):
                        size = sum(p["partition_size"] for p in topic["partitions"])
                        sizes[topic["name"]] = sizes.get(topic["name"], 0) + size
        return sizes

    def cleanup(self) -> None:
        doomed = [t for t in self.admin.list_topics() if t.startswith(f"bench{self.run}")]
        if doomed:
            self.admin.delete_topics(doomed)
        if self.apps:
            self.admin.delete_groups(
                self.apps
            )  # per-group errors (a group that never committed) are returned, not raised
        self.offsets.close()
        self.admin.close()


def publish(address: str, topic: str, inputs: list[Input], rate: float | None = None) -> float:
    """Send every input (keyed by id), at ``rate`` per second or as fast as possible; returns the seconds taken.

    With aiokafka, the worker's own client: the publisher shares the machine's two cores with the
    worker and the broker, and kafka-python's producer took 25-30% of a core at 200 articles/s,
    aiokafka's 8-10% (a record a request either way, as the rate leaves nothing to batch).
    """
    return asyncio.run(_publish(address, topic, inputs, rate))


async def _publish(address: str, topic: str, inputs: list[Input], rate: float | None) -> float:
    producer = AIOKafkaProducer(
        bootstrap_servers=address,
        acks="all",
        linger_ms=0 if rate else 20,
        max_batch_size=512 * 1024,
        max_request_size=16 * 1024 * 1024,
    )
    await producer.start()
    try:
        started = time.perf_counter()
        for index, item in enumerate(inputs):
            if rate:
                delay = started + index / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            await producer.send(topic, key=item.id.encode(), value=item.raw)
        await producer.flush()
        return time.perf_counter() - started
    finally:
        await producer.stop()


class Process:
    """A worker process (sahelwatch or passthrough) and what /proc and /metrics say of it."""

    def __init__(self, argv: list[str], env: dict[str, str], port: int, log: Path) -> None:
        self.port = port
        self.log = log
        with log.open("ab") as out:
            self.popen = subprocess.Popen(argv, env=os.environ | env, stdout=out, stderr=subprocess.STDOUT)

    def ready(self, path: str = "/health", timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise SystemExit(f"worker exited with {self.popen.returncode}; see {self.log}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise SystemExit(f"worker not ready within {timeout}s; see {self.log}")

    def pids(self) -> list[int]:
        """The worker and its descendants (the prepare pool's processes), which its own /proc figures leave out."""
        found, todo = [], [self.popen.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            for task in Path(f"/proc/{pid}/task").glob("*/children"):
                with contextlib.suppress(FileNotFoundError):  # it ended in between
                    todo += [int(child) for child in task.read_text().split()]
        return found

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds so far by role: the worker process (its event loop and Kafka client) and its pool."""
        spent: dict[str, float] = {}
        for cmdline, stat in self._proc_files("cmdline", "stat"):
            role = _role(cmdline)
            spent[role] = spent.get(role, 0.0) + _cpu_of(stat)
        return spent

    def peak_rss_mib(self) -> dict[str, float]:
        """Each process's peak resident set, by role, and their sum (an upper bound of the worker's peak)."""
        peaks: dict[str, float] = {}
        for cmdline, status in self._proc_files("cmdline", "status"):
            role = _role(cmdline)
            match = re.search(r"VmHWM:\s+(\d+) kB", status)
            peaks[role] = round(peaks.get(role, 0) + (int(match.group(1)) / 1024 if match else 0), 1)
        return peaks | {"total": round(sum(peaks.values()), 1)}

    def pss_mib(self) -> float:
        """The proportional set sizes of the worker and its descendants, summed: a page they share (the
        interpreter, the libraries) counts once in all, where the sum of their peaks counts it in each."""
        kib = 0
        for (rollup,) in self._proc_files("smaps_rollup"):
            match = re.search(r"^Pss:\s+(\d+) kB", rollup, re.MULTILINE)
            kib += int(match.group(1)) if match else 0
        return kib / 1024

    def _proc_files(self, *names: str) -> list[tuple[str, ...]]:
        """These /proc files of each process, read together (a process may end in between)."""
        texts = []
        for pid in self.pids():
            with contextlib.suppress(FileNotFoundError):
                texts.append(tuple(Path(f"/proc/{pid}/{name}").read_text() for name in names))
        return texts

    def stage_means_us(self) -> dict[str, float]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as response:
            text = response.read().decode()
        sums = dict(re.findall(r'sahelwatch_stage_seconds_sum\{stage="(\w+)"\} (\S+)', text))
        counts = dict(re.findall(r'sahelwatch_stage_seconds_count\{stage="(\w+)"\} (\S+)', text))
        return {s: round(float(sums[s]) / float(counts[s]) * 1e6, 1) for s in sums if float(counts.get(s, 0))}

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def _role(cmdline: str) -> str:
    return "resource tracker" if "resource_tracker" in cmdline else "prepare pool" if "spawn" in cmdline else "worker"


def cpu_snapshot(process: Process) -> dict[str, float]:
    """CPU seconds so far of the machine, of a worker (its event-loop thread apart), its pool, the
    broker and this bench process (the publisher): where a latency run's two cores go."""
    spent = {"machine": machine_cpu_seconds(), **process.cpu_seconds()}
    spent["worker event-loop thread"] = _stat_cpu_seconds(f"/proc/{process.popen.pid}/task/{process.popen.pid}/stat")
    spent["bench (publisher)"] = _stat_cpu_seconds("/proc/self/stat")
    spent["broker"] = broker_cpu_seconds()
    return spent


def broker_cpu_seconds() -> float:
    """CPU seconds so far of the local Kafka broker's process (found by its main class)."""
    return sum(_stat_cpu_seconds(str(p / "stat")) for p in Path("/proc").glob("[0-9]*") if _is_broker(p))


def _is_broker(process: Path) -> bool:
    with contextlib.suppress(OSError):
        return b"kafka.Kafka" in (process / "cmdline").read_bytes()
    return False


def _stat_cpu_seconds(path: str) -> float:
    """0 when the process has ended."""
    with contextlib.suppress(OSError):
        return _cpu_of(Path(path).read_text())
    return 0.0


def _cpu_of(stat: str) -> float:
    """User and system CPU seconds of a /proc stat file's text."""
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> float:
    """CPU seconds the whole machine spent (the broker and the bench too), from /proc/stat."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    busy = sum(int(f) for i, f in enumerate(fields[:8]) if i not in (3, 4))  # all but idle and iowait
    return busy / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def worker_env(broker: str, settings: Settings, app_id: str, data_dir: Path, port: int) -> dict[str, str]:
    topics = settings.topics
    return {
        "SAHELWATCH_BROKER": broker,
        "SAHELWATCH_APP_ID": app_id,
        "SAHELWATCH_DATA_DIR": str(data_dir),
        "SAHELWATCH_WEB_PORT": str(port),
        "SAHELWATCH_LOG_LEVEL": "warning",
        **{f"SAHELWATCH_TOPIC_{name.upper()}": getattr(topics, name) for name in topics.__dataclass_fields__},
    }


def drain_rate(broker: Broker, outputs: tuple[str, ...], total: int, processes: list[Process]) -> dict[str, float]:
    """Sample the output offsets until ``total``: the rate, and the CPU the processes spent per
    article, between 10% and 90% of it (start-up and the tail left out); and the largest memory
    they held together (summed PSS, sampled with the rest)."""
    samples: list[tuple[float, int, dict[str, float]]] = []
    peak_pss = 0.0
    deadline = time.monotonic() + max(600, total / 50)
    while not samples or samples[-1][1] < total:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {samples[-1][1]} of {total} outputs by the deadline")
        cpu: dict[str, float] = {"machine": machine_cpu_seconds(), "broker": broker_cpu_seconds()}
        for process in processes:
            for role, seconds in process.cpu_seconds().items():
                cpu[role] = cpu.get(role, 0.0) + seconds
        samples.append((time.monotonic(), broker.count(*outputs), cpu))
        peak_pss = max(peak_pss, sum(p.pss_mib() for p in processes))
        time.sleep(0.25)
    low = next(s for s in samples if s[1] >= 0.1 * total)
    high = next(s for s in samples if s[1] >= 0.9 * total)
    first = next(s for s in samples if s[1] > 0)
    articles = high[1] - low[1]
    spent = {role: (high[2].get(role, 0.0) - low[2].get(role, 0.0)) / articles * 1e6 for role in high[2]}
    return {
        "articles_per_s": round(articles / (high[0] - low[0]), 1),
        "cpu_us_per_article": round(sum(us for role, us in spent.items() if role not in ("machine", "broker")), 1),
        "cpu_us_per_article_by_process": {role: round(us, 1) for role, us in sorted(spent.items())},
        "seconds_first_to_last_output": round(samples[-1][0] - first[0], 1),
        "peak_pss_mib": round(peak_pss, 1),
    }


@contextmanager
def workers(broker: Broker, settings: Settings, name: str, count: int, folder: Path) -> Iterator[list[Process]]:
    """``count`` sahelwatch workers in one fresh consumer group, stopped on the way out."""
    app = broker.app_id(name)
    processes = []
    for index in range(count):
        port = free_port()
        env = worker_env(broker.address, settings, app, folder / f"{name}-{index}", port)
        processes.append(Process([SAHELWATCH, "worker"], env, port, folder / f"{name}-{index}.log"))
    try:
        yield processes
    finally:
        for process in processes:
            process.stop()


PARTS = (  # a sampled stack is charged to the part of its innermost frame that names one
    ("core/cleaning/", "clean"),
    ("core/tagging/", "tag"),
    ("core/dedup/", "dedup"),
    ("core/alerts/", "alert"),
    ("core/intake", "decode and validate"),
    ("core/model", "article (de)serialisation"),
    ("prometheus_client/", "metrics"),
    ("aiokafka/", "Kafka client (aiokafka)"),
    ("rocksdict", "table store"),
    ("faust/stores/", "table store"),
    ("faust/", "Faust"),
    ("mode/", "Faust"),
    ("logging/", "logging"),
    ("asyncio/", "event loop and sockets"),
    ("selectors", "event loop and sockets"),
)


def profile_summary(path: Path) -> dict[str, Any]:
    """Shares of the worker's sampled CPU by part, and the functions that spent most themselves."""
    parts: dict[str, int] = {}
    functions: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames, samples = stack.split(";"), int(count)
        total += samples
        part = next((name for frame in reversed(frames) for key, name in PARTS if key in frame), "other")
        parts[part] = parts.get(part, 0) + samples
        leaf = re.sub(r":\d+\)$", ")", frames[-1].split("site-packages/")[-1])
        functions[leaf] = functions.get(leaf, 0) + samples

    def shares(counts: dict[str, int], top: int) -> dict[str, float]:
        ranked = sorted(counts.items(), key=lambda item: -item[1])[:top]
        return {name: round(100 * n / total, 1) for name, n in ranked}

    return {"samples": total, "percent_by_part": shares(parts, len(parts)), "percent_self_top": shares(functions, 12)}


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    return {"n": len(ordered), "p50": at(0.5), "p95": at(0.95), "p99": at(0.99), "max": round(ordered[-1], 1)}


def outputs(settings: Settings) -> tuple[str, ...]:
    return (settings.topics.tagged, settings.topics.duplicates, settings.topics.deadletter)


def throughput(
    broker: Broker, settings: Settings, name: str, count: int, total: int, folder: Path, profile: Path | None = None
) -> dict[str, Any]:
    """``count`` workers drain the published backlog; for one, what it cost in CPU, memory and disk.

    With ``profile``, py-spy samples the first worker (without pausing it) into that file.
    """
    with workers(broker, settings, name, count, folder) as processes:
        pid = str(processes[0].popen.pid)
        profiler = profile and subprocess.Popen(
            [*PY_SPY_RECORD, "--output", str(profile), "--pid", pid],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        result: dict[str, Any] = drain_rate(broker, outputs(settings), total, processes)
        if count == 1:
            process = processes[0]
            result |= {
                "stage_us_mean": process.stage_means_us(),
                "peak_rss_mib": process.peak_rss_mib(),
            }
    if profiler:
        profiler.wait(timeout=60)
    if count == 1:
        store = folder / f"{name}-0"
        result["table_store_on_disk_mib"] = round(
            sum(f.stat().st_size for f in store.rglob("*") if f.is_file()) / 2**20, 1
        )
        app = broker.app_id_of(name)  # its internal topics: the dedup repartition and the table changelogs
        result["internal_topics_on_broker_mib"] = {
            topic.removeprefix(f"{app}-"): round(size / 2**20, 1) for topic, size in broker.topic_bytes(app).items()
        }
    return result


def passthrough(broker: Broker, raw: str, total: int, folder: Path) -> dict[str, Any]:
    sink, port = broker.new_topic("passthrough.out"), free_port()
    env = {
        "PASSTHROUGH_BROKER": broker.address,
        "PASSTHROUGH_APP_ID": broker.app_id("passthrough"),
        "PASSTHROUGH_IN": raw,
        "PASSTHROUGH_OUT": sink,
        "PASSTHROUGH_DATA_DIR": str(folder / "passthrough"),
        "PASSTHROUGH_WEB_PORT": str(port),
    }
    argv = [sys.executable, str(ROOT / "bench" / "passthrough.py"), "worker", "--loglevel", "warn"]
    process = Process(argv, env, port, folder / "passthrough.log")
    try:
        return drain_rate(broker, (sink,), total, [process])
    finally:
        process.stop()


def latency(
    broker: Broker, inputs: list[Input], rate: float, warm_up: float, folder: Path, name: str
) -> dict[str, Any]:
    """A ready worker fed at a fixed rate: publish-to-output and publish-to-alert times, from
    ``warm_up`` seconds after the first article (the first seconds of a fresh worker, and of the
    broker's compiler, are a start-up cost, reported apart)."""
    settings = broker.topics(f"latency{name}")
    with workers(broker, settings, f"latency{name}", 1, folder) as processes:
        processes[0].ready()
        at_warm_up: dict[str, float] = {}
        timer = threading.Timer(warm_up, lambda: at_warm_up.update(cpu_snapshot(processes[0])))
        timer.start()
        seconds = publish(broker.address, settings.topics.raw, inputs, rate)
        timer.join()
        measured = {role: cpu - at_warm_up.get(role, 0.0) for role, cpu in cpu_snapshot(processes[0]).items()}
        deadline = time.monotonic() + 120
        while broker.count(*outputs(settings)) < len(inputs):
            if time.monotonic() > deadline:
                raise SystemExit(f"latency run: not every article came out; see {folder}")
            time.sleep(0.5)
        time.sleep(1)  # an article's alerts are sent right after it
    sent = {key: ts for key, ts, _ in broker.read(settings.topics.raw)}
    first = min(sent.values())
    measured_from = first + warm_up * 1000
    to_tagged: list[float] = []
    cold: list[float] = []
    timeline: list[tuple[int, int]] = []  # (ms since the first publish, latency): where in a run the tail happens
    for key, ts, _ in broker.read(settings.topics.tagged):
        (to_tagged if sent[key] >= measured_from else cold).append(float(ts - sent[key]))
        timeline.append((sent[key] - first, ts - sent[key]))
    (folder / f"latency{name}-to-tagged.tsv").write_text("".join(f"{at}\t{ms}\n" for at, ms in sorted(timeline)))
    lateness = timedelta(seconds=load_rules().allowed_lateness)
    to_alert = []
    for _, ts, value in broker.read(*settings.topics.alerts()):
        alert = orjson.loads(value)
        knowable = datetime.fromisoformat(alert["window"]["end"].replace("Z", "+00:00")) + lateness
        trigger = next((i for i in inputs if i.published_at > knowable), None)
        if trigger is not None and sent[trigger.id.encode()] >= measured_from:
            to_alert.append(float(ts - sent[trigger.id.encode()]))
    return {
        "offered_articles_per_s": round(len(inputs) / seconds, 1),
        "to_tagged_ms": percentiles(to_tagged),
        "to_alert_ms": percentiles(to_alert) if to_alert else {"n": 0},
        "warm_up_to_tagged_ms": percentiles(cold) if cold else {"n": 0},
        # over the measured time; "machine" counts both cores, so its ceiling is 200
        "cpu_percent_of_a_core": {
            role: round(100 * cpu / (seconds - warm_up), 1) for role, cpu in sorted(measured.items())
        },
    }


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"model name\s*:\s*(.+)", cpuinfo)
    memory = re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text())
    return {
        "cpu": model.group(1) if model else platform.processor(),
        "cores": os.cpu_count(),
        "memory_gib": round(int(memory.group(1)) / 2**20, 1) if memory else None,
        "python": platform.python_version(),
        "kafka": os.environ.get("KAFKA_VERSION", "3.9.1"),
        "system": platform.platform(),
    }


@dataclass(frozen=True)
class Goal:
    """One of the issue's goals: where its figure is in the results, and the bound it must meet."""

    text: str
    path: tuple[str, ...]
    unit: str
    at_least: float | None = None
    under: float | None = None

    def verdict(self, results: dict[str, Any]) -> dict[str, Any] | None:
        """Met or not, with the figure; None when this run did not measure it. The backlog's size
        goes with the worker's figures: a smaller backlog drains faster (a smaller dedup index)."""
        figure: Any = results
        for key in self.path:
            figure = figure.get(key) if isinstance(figure, dict) else None
        if figure is None:
            return None
        met = (self.at_least is None or figure >= self.at_least) and (self.under is None or figure < self.under)
        shown = f"{figure:g}{self.unit}"
        if self.path[0] == "one_worker":
            shown += f" on {results['workload']['articles']:,} articles"
        return {"goal": self.text, "figure": shown, "met": met}


GOALS = (
    Goal(
        "one worker draining the backlog, at least 1,000 articles/s",
        ("one_worker", "articles_per_s"),
        " articles/s",
        at_least=1000,
    ),
    Goal("one worker's rate, at least half the passthrough's", ("share_of_passthrough",), "", at_least=0.5),
    Goal(
        "p99 publish -> articles.tagged at 200 articles/s, under 50 ms",
        ("latency", "200_per_s", "to_tagged_ms", "p99"),
        " ms",
        under=50,
    ),
    Goal(
        "worker and pool after the backlog, peak summed PSS under 400 MB",
        ("one_worker", "peak_pss_mib"),
        " MiB",
        under=400 / 1.048576,
    ),
)


def goals(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The verdicts a reader looks for first, of each goal this run measured (on cut bodies, saying so)."""
    verdicts = [verdict for goal in GOALS if (verdict := goal.verdict(results)) is not None]
    words = results["workload"].get("body_words")
    if words is not None:
        for verdict in verdicts:
            verdict["figure"] += f", bodies cut to {words} words"
    return verdicts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=100_000, help="workload size of the throughput runs")
    parser.add_argument(
        "--rates",
        type=lambda text: [float(r) for r in text.split(",")],
        default=[50.0, 100.0, 200.0],
        help="offered loads of the latency runs, articles/s",
    )
    parser.add_argument("--latency-seconds", type=float, default=30.0, help="measured time of a latency run")
    parser.add_argument("--latency-warm-up", type=float, default=5.0, help="seconds fed before the measured time")
    parser.add_argument("--broker", default=os.environ.get("SAHELWATCH_BROKER", "127.0.0.1:9092"))
    parser.add_argument("--runs", type=lambda text: set(text.split(",")), default=set(RUNS) | {"latency"})
    parser.add_argument("--profile", type=Path, help="py-spy samples of the single worker (collapsed stacks)")
    parser.add_argument("--out", type=Path, default=ROOT / ".local" / "bench" / "stream.json")
    parser.add_argument(
        "--body-words",
        type=int,
        help="cut every article's body to this many words: what the pipeline costs beyond its stages' text work",
    )
    args = parser.parse_args()
    if not CORPUS.is_file():
        print(f"stream bench skipped: the background corpus is not at {CORPUS}")
        return 0
    folder = ROOT / ".local" / "bench" / "stream-run"  # worker stores and logs, wherever the figures go
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    inputs = workload(args.articles, body_words=args.body_words)
    broker = Broker(args.broker, uuid.uuid4().hex[:6])
    results: dict[str, Any] = {"command": " ".join(["python", "bench/stream.py", *sys.argv[1:]]), "machine": machine()}
    try:
        one = broker.topics("one")
        seconds = publish(broker.address, one.topics.raw, inputs)
        results["workload"] = {
            "articles": len(inputs),
            "mean_bytes": round(sum(len(i.raw) for i in inputs) / len(inputs)),
            "published_in_s": round(seconds, 1),
        } | ({} if args.body_words is None else {"body_words": args.body_words})
        if "one" in args.runs:
            results["one_worker"] = throughput(broker, one, "one", 1, len(inputs), folder, args.profile)
            print(f"one worker: {results['one_worker']}", flush=True)
            if args.profile:
                results["one_worker_profile"] = profile_summary(args.profile)
        if "passthrough" in args.runs:
            results["passthrough"] = passthrough(broker, one.topics.raw, len(inputs), folder)
            print(f"passthrough: {results['passthrough']}", flush=True)
        if "two" in args.runs:
            two = broker.topics("two", raw=one.topics.raw)
            results["two_workers"] = throughput(broker, two, "two", 2, len(inputs), folder)
            print(f"two workers: {results['two_workers']}", flush=True)
        if "latency" in args.runs:
            results["latency"] = {
                f"{rate:g}_per_s": latency(
                    broker,
                    workload(int(rate * (args.latency_warm_up + args.latency_seconds)), body_words=args.body_words),
                    rate,
                    args.latency_warm_up,
                    folder,
                    f"{rate:g}",
                )
                for rate in args.rates
            }
    finally:
        broker.cleanup()
    rates = {run: results[key]["articles_per_s"] for run, key in RUNS.items() if key in results}
    if {"one", "passthrough"} <= rates.keys():
        results["share_of_passthrough"] = round(rates["one"] / rates["passthrough"], 2)
    if {"one", "two"} <= rates.keys():
        results["two_over_one"] = round(rates["two"] / rates["one"], 2)
    results["goals"] = goals(results)
    args.out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    for verdict in results["goals"]:
        print(f"{'met' if verdict['met'] else 'NOT MET':>8}  {verdict['goal']}: {verdict['figure']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
