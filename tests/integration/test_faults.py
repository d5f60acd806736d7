"""Faults under load: a worker killed with SIGKILL amid thousands of articles and restarted on an empty disk;
workers added and removed while articles flow; a consumer of the alerts that reads far slower than they come.

Each test takes ``sahelwatch replay`` of its own input as the reference and compares everything the stream
wrote with it. Every input message is followed by its position on the raw topic, which the outputs carry as
their origin: it must land in exactly one of tagged / duplicates / dead letters, the one the replay says,
and it may land there more than once only as a redelivery (the same position, so the same id and category).
The alerts must be the replay's, by ``alert_id``, a repeated id always with the same content.

Articles are published as a feed delivers them, one step of a few minutes of event time at a time, each step
processed before the next, so that no article is late for the alert windows whatever the partitions do. Where
copies of an article come within one step (the syndicated wire), each article is a step of its own, so that
which one is first is the same in the stream as in the replay.
"""

from __future__ import annotations

import base64
import itertools
import random
import re
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

from sahelwatch.core.model import parse_time, utc_iso
from tests.integration.conftest import SCENARIOS, STEP, Env, Worker, free_port, make_env

pytestmark = pytest.mark.integration

Position = tuple[int, int]  # (partition, offset) of an input message on the raw topic
Steps = list[list[bytes]]

COPY_KINDS = ("exact", "same-body", "near")
ALL_SCENARIOS = ("week_august_2023.jsonl", "syndicated_wire.jsonl", "wagner_surge.jsonl")  # in event-time order
WORDS = """
    garden orchard basil tomato pepper onion garlic lemon honey flour butter oven kettle teapot saucer spoon ladle
    recipe dough pastry bakery crust almond walnut hazelnut cherry apricot plum melon cucumber lettuce spinach carrot
    radish turnip pumpkin squash bean lentil barley oat rye sugar cinnamon nutmeg ginger clove vanilla cocoa coffee
    espresso milk cream cheese yogurt jam marmalade pickle vinegar mustard soup stew salad sandwich noodle dumpling
    pancake waffle muffin biscuit cookie cake pie tart custard pudding sorbet telescope comet nebula galaxy planet
    orbit crater meteor eclipse lantern library archive manuscript novel poem sonnet chapter notebook pencil eraser
    ruler atlas globe canvas easel palette brush pigment sculpture pottery ceramic glaze kiln loom thread needle
    quilt fabric cotton wool linen velvet button zipper pocket jacket scarf mitten sweater boots umbrella raincoat
    bicycle pedal saddle helmet tandem scooter tram ferry harbour lighthouse pier sailboat kayak canoe paddle meadow
    hillside valley cottage chimney attic cellar balcony terrace porch fence hedge lawn mower rake shovel bucket
    wheelbarrow greenhouse seedling sprout blossom petal tulip daisy orchid lily violet fern moss ivy maple birch
    willow cedar pine acorn squirrel hedgehog sparrow robin finch owl heron swan duck goose pony donkey kitten puppy
    parrot aquarium goldfish piano violin cello flute clarinet trumpet choir melody harmony rhythm chord concert
    rehearsal orchestra ballet waltz tango puzzle crossword chess checkers domino marble kite carousel museum gallery
    exhibit brochure postcard stamp envelope parcel printer keyboard monitor laptop cable battery charger spreadsheet
    backup sensor robot bubble feather pebble seashell sandcastle snowflake icicle puddle rainbow breeze drizzle
    sunrise sunset twilight moonlight candle blanket pillow cushion sofa armchair bookshelf wardrobe mirror curtain
    carpet staircase doorbell mailbox bench fountain statue bandstand picnic basket thermos lemonade sherbet
    caramel toffee fudge nougat pretzel bagel croissant baguette omelette risotto lasagne ravioli polenta couscous
    hummus falafel guacamole salsa tortilla burrito pizza calzone focaccia brioche scone crumpet shortbread
    gently slowly quietly brightly warmly softly neatly happily carefully lazily cheerfully politely
    with and of for near under over beside behind among between around across through
"""
VOCABULARY = tuple(WORDS.split())  # nothing the tagger knows: no place, actor or keyword of its lexicon


# --- the input -------------------------------------------------------------------------------------------------


def scenario_lines(*names: str) -> list[bytes]:
    return [line for name in names for line in (SCENARIOS / name).read_bytes().splitlines() if line.strip()]


def published(line: bytes) -> datetime:
    return parse_time(orjson.loads(line)["published_at"])


def sentence(rng: random.Random, low: int, high: int) -> str:
    words = rng.choices(VOCABULARY, k=rng.randint(low, high))
    return " ".join(words).capitalize()


def filler(rng: random.Random, number: int, when: datetime) -> bytes:
    """An article about nothing the tagger knows: random words, so no two are near copies of each other."""
    source = f"{rng.choice(VOCABULARY)}-{number}.example"
    return orjson.dumps(
        {
            "id": f"filler-{number:05d}",
            "url": f"https://{source}/{when:%Y/%m/%d}/{number}",
            "title": sentence(rng, 5, 8),
            "published_at": utc_iso(when),
            "source": source,
            "body": " ".join(sentence(rng, 10, 16) + "." for _ in range(rng.randint(5, 7))),
        }
    )


def followed(rng: random.Random, line: bytes, count: int, serial: Iterator[int]) -> list[bytes]:
    """The article, then ``count`` generated ones published within the minute after it."""
    when = published(line)
    return [line, *(filler(rng, next(serial), when + timedelta(seconds=1 + 59 * n // count)) for n in range(count))]


def with_filler(rng: random.Random, lines: list[bytes], per_article: int, bursts: dict[int, int]) -> Steps:
    """The articles in publication steps, each followed within a minute by generated ones.

    ``bursts`` gives some articles (by index) a larger following. A step is the articles published within
    STEP of the step's first, as in ``conftest.steps``, so an article is never more than a step behind.
    """
    out: Steps = []
    first: datetime | None = None
    serial = itertools.count()
    for index, line in enumerate(lines):
        when = published(line)
        if first is None or when - first >= STEP:
            out.append([])
            first = when
        out[-1] += followed(rng, line, bursts.get(index, per_article), serial)
    return out


def one_by_one(rng: random.Random, lines: list[bytes], per_article: int) -> Steps:
    """Each article a step of its own with its generated following: copies within minutes of each other
    (the syndicated wire) then reach the dedup stage in input order, whatever the partitions."""
    serial = itertools.count()
    return [followed(rng, line, per_article, serial) for line in lines]


def near_copy(rng: random.Random, data: dict[str, Any], number: int) -> dict[str, Any]:
    """The story lightly edited elsewhere: its opening kept, two later words changed, a credit line added."""
    words = str(data["body"]).split()
    for spot in rng.sample(range(len(words) // 2, len(words)), 2):
        words[spot] = rng.choice(VOCABULARY)
    return copy_as(data, number, "near") | {
        "body": " ".join(words) + f" Reported by the {rng.choice(VOCABULARY)} desk."
    }


def copy_as(data: dict[str, Any], number: int, kind: str) -> dict[str, Any]:
    source = f"{kind}-copies-{number}.example"
    return data | {"id": f"{kind}-copy-{number}", "url": f"https://{source}/{number}", "source": source}


def bad_record(rng: random.Random, number: int, when: datetime) -> bytes:
    """One of the usual ways a record is unusable; the id, where there is one, is unique."""
    good: dict[str, Any] = orjson.loads(filler(rng, number, when)) | {"id": f"bad-{number}"}
    kinds: list[Callable[[], bytes]] = [
        lambda: b'{"id": "bad-%d", "title": ' % number,
        lambda: f'{{"id": "bad-{number}", "title": "Café olé"}}'.encode("latin-1"),
        lambda: b'["bad", %d]' % number,
        lambda: b"bad record %d in plain text" % number,
        lambda: orjson.dumps({k: v for k, v in good.items() if k != "body"}),
        lambda: orjson.dumps(good | {"url": f"ftp://bad.example/{number}"}),
        lambda: orjson.dumps(good | {"published_at": "2099-01-01T00:00:00Z"}),
        lambda: orjson.dumps(good | {"published_at": int(when.timestamp())}),
    ]
    return kinds[number % len(kinds)]()


@dataclass
class CrashFeed:
    """The kill -9 test's input: where the worker dies, and the copy that must be caught after the restart."""

    steps: Steps
    burst: int  # the step during which the worker is killed
    repeated: bytes  # an article processed before the crash ...
    repeat_at: int  # ... published again, the same message, at this index after the restart
    bad: int  # how many records are unusable

    @property
    def lines(self) -> list[bytes]:
        return [line for step in self.steps for line in step]


def crash_feed(seed: int) -> CrashFeed:
    """~2,900 generated articles around the week of August 2023, with copies of all kinds and bad records.

    The worker is killed amid the peak of 10 August (a burst of generated articles follows 13:00Z), inside
    the windows of several alerts. Copies only ever repeat articles of earlier steps, so that which one is
    first does not depend on how the partitions interleave within a step.
    """
    rng = random.Random(seed)
    lines = scenario_lines("week_august_2023.jsonl")
    peak = next(i for i, line in enumerate(lines) if published(line).isoformat().startswith("2023-08-10T13:00"))
    steps = with_filler(rng, lines, per_article=40, bursts={peak: 450})
    burst = next(i for i, step in enumerate(steps) if lines[peak] in step)
    originals = [list(step) for step in steps]  # copies are of these, never of a copy or a bad record
    repeated = originals[burst - 1][-1]
    copies = dict.fromkeys(COPY_KINDS, 0)
    bad = 0
    for index in range(2, len(steps)):
        step, when = steps[index], published(steps[index][0])
        for kind in copies:
            for _ in range(rng.randint(0, 2)):
                original = rng.choice(rng.choice(originals[: index - 1]))
                data: dict[str, Any] = orjson.loads(original)
                if kind == "exact":
                    copy = original
                elif kind == "same-body":
                    copy = orjson.dumps(copy_as(data, copies[kind], kind) | {"published_at": utc_iso(when)})
                else:
                    copy = orjson.dumps(near_copy(rng, data, copies[kind]) | {"published_at": utc_iso(when)})
                step.insert(rng.randrange(1, len(step) + 1), copy)
                copies[kind] += 1
        for _ in range(rng.randint(0, 1) + (index % 3 == 0)):
            step.insert(rng.randrange(1, len(step) + 1), bad_record(rng, bad, when))
            bad += 1
    steps[burst + 1].append(repeated)
    return CrashFeed(steps, burst, repeated, sum(map(len, steps[: burst + 2])) - 1, bad)


def article_id(line: bytes) -> str | None:
    """The id a record carries, when it is a JSON object with a string id (as ``sahelwatch publish`` keys it)."""
    try:
        data = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    return data["id"] if isinstance(data, dict) and isinstance(data.get("id"), str) else None


# --- the reference ------------------------------------------------------------------------------------------------


def comparable(alert: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in alert.items() if k != "emitted_at"}


@dataclass(frozen=True)
class Reference:
    """What the offline replay made of the input: each line's category (and story, for a copy), and the alerts."""

    placed: list[tuple[str, str | None]]
    alerts: dict[str, dict[str, Any]]


def replay(env: Env, lines: list[bytes], folder: Path) -> Reference:
    feed, tagged, alerts = folder / "feed.jsonl", folder / "replay-tagged.jsonl", folder / "replay-alerts.jsonl"
    feed.write_bytes(b"\n".join(lines) + b"\n")
    env.run_cli("replay", str(feed), "--tagged-out", str(tagged), "--alerts-out", str(alerts))
    placed: list[tuple[str, str | None]] = [("deadletter", None)] * len(lines)  # what the replay refused
    for article in map(orjson.loads, tagged.read_bytes().splitlines()):
        line = int(article["origin"]["topic"].rsplit(":", 1)[1]) - 1
        copy = article["duplicate"]
        placed[line] = ("tagged", None) if copy is None else ("duplicates", copy["of"])
    return Reference(
        placed, {a["alert_id"]: comparable(a) for a in map(orjson.loads, alerts.read_bytes().splitlines())}
    )


# --- the stream ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Placement:
    """One output message, seen from the input it came from."""

    category: str
    article_id: str | None
    of: str | None = None  # the story a duplicate joins
    original: bytes | None = None  # what a dead letter kept of the input


@dataclass
class Outputs:
    """Everything the deployment wrote, read from the beginning as it arrives, by input position."""

    env: Env
    logs: Callable[[int | None], str]
    placed: dict[Position, list[Placement]] = field(default_factory=dict)
    strangers: list[dict[str, Any]] = field(default_factory=list)  # outputs of no input of this topic
    alerts: list[dict[str, Any]] = field(default_factory=list)
    consumer: KafkaConsumer = field(init=False)

    def __post_init__(self) -> None:
        topics = self.env.settings.topics
        self.consumer = KafkaConsumer(
            topics.tagged,
            topics.duplicates,
            topics.deadletter,
            *topics.alerts(),
            bootstrap_servers=self.env.settings.bootstrap_servers,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )

    def close(self) -> None:
        self.consumer.close()

    def poll(self) -> None:
        topics = self.env.settings.topics
        for records in self.consumer.poll(timeout_ms=200, max_records=2000).values():
            for record in records:
                value: dict[str, Any] = orjson.loads(record.value)
                if record.topic in topics.alerts():
                    self.alerts.append(value)
                elif record.topic == topics.deadletter:
                    self._place(value["source"], Placement("deadletter", value["article_id"], None, _kept(value)))
                else:
                    category = "tagged" if record.topic == topics.tagged else "duplicates"
                    copy = value["duplicate"]
                    self._place(value["origin"], Placement(category, value["id"], copy and copy["of"]))

    def _place(self, origin: dict[str, Any], placement: Placement) -> None:
        if origin["topic"] != self.env.settings.topics.raw:
            self.strangers.append(origin)
            return
        self.placed.setdefault((origin["partition"], origin["offset"]), []).append(placement)

    def catch_up(self) -> None:
        """Read everything written so far (once no worker runs, that is everything they wrote)."""
        consumer = self.consumer
        self.wait_until(
            lambda: all(
                consumer.position(tp) >= end for tp, end in consumer.end_offsets(consumer.assignment()).items()
            ),
            lambda: "reading the outputs to their end",
        )

    def seen(self, positions: Iterable[Position]) -> int:
        return sum(position in self.placed for position in positions)

    def unseen(self, positions: Iterable[Position]) -> list[Position]:
        return [position for position in positions if position not in self.placed]

    def wait_until(self, done: Callable[[], bool], what: Callable[[], str], timeout: float = 120.0) -> None:
        """Poll until ``done``; a timeout fails with ``what``, said as things stand then, and the workers' logs."""
        deadline = time.monotonic() + timeout
        while True:
            self.poll()
            if done():
                return
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"not within {timeout}s: {what()}\n{changelog_report(self.env)}\n{_timeline(self.logs(None))}"
                )

    def wait_for(self, positions: list[Position], timeout: float = 120.0) -> None:
        """Until every one of these inputs has an output."""
        self.wait_until(
            lambda: self.seen(positions) == len(positions),
            lambda: f"outputs for {len(positions)} inputs (none yet for {self.unseen(positions)})",
            timeout,
        )

    def wait_for_alerts(self, alerts: dict[str, dict[str, Any]], timeout: float = 60.0) -> None:
        """Until every one of these alerts (by id) has come; a failure names the missing ones."""
        self.wait_until(
            lambda: not self.missing(alerts),
            lambda: (
                f"the {len(alerts)} alerts of the replay ({len(self.alerts)} alert messages seen), "
                f"missing {self.missing(alerts)}"
            ),
            timeout,
        )

    def missing(self, alerts: dict[str, dict[str, Any]]) -> list[str]:
        seen = {a["alert_id"] for a in self.alerts}
        return [f"{a['rule']} {a['status']} {a['window']['end']}" for key, a in alerts.items() if key not in seen]


def _kept(letter: dict[str, Any]) -> bytes:
    text: str = letter["original"]
    return base64.b64decode(text) if letter["original_encoding"] == "base64" else text.encode()


class Publisher:
    """Sends input messages keyed by id, and tells where each one landed on the raw topic."""

    def __init__(self, env: Env) -> None:
        self.topic = env.settings.topics.raw
        self.producer = KafkaProducer(bootstrap_servers=env.settings.bootstrap_servers, acks="all", linger_ms=5)

    def send(self, lines: list[bytes]) -> list[Position]:
        futures = []
        for line in lines:
            key = article_id(line)
            futures.append(self.producer.send(self.topic, key=key.encode() if key else None, value=line))
        self.producer.flush()
        return [(meta.partition, meta.offset) for meta in (future.get(timeout=30) for future in futures)]

    def paced(
        self, steps: Steps, outputs: Outputs, meanwhile: Callable[[int], None] = lambda _: None
    ) -> list[Position]:
        """Publish step by step, each step processed (every input of it has an output) before the next.

        ``meanwhile`` is told the index of each step once it is sent, before its outputs are awaited.
        """
        positions: list[Position] = []
        for index, step in enumerate(steps):
            sent = self.send(step)
            meanwhile(index)
            outputs.wait_for(sent)
            positions += sent
        return positions

    def close(self) -> None:
        self.producer.close()


def logs_of(*workers: Worker) -> Callable[[int | None], str]:
    """The workers' logs, each cut to its last ``tail`` characters (or whole, for a timeline)."""
    return lambda tail: "\n".join(f"--- {w.log_path.name}:\n{w.log(tail)}" for w in workers if w.process is not None)


def stop_all(*workers: Worker) -> None:
    """SIGTERM every worker started (one already stopped is left as it is), then check each exited 0."""
    codes = {w.log_path.name: w.stop() for w in workers if w.process is not None}
    assert set(codes.values()) <= {0}, f"exit codes {codes}\n{logs_of(*workers)(6000)}"


# --- changes to the deployment, and a slow reader -------------------------------------------------------------


def join(newcomer: Worker, *members: Worker) -> None:
    """Start a worker and wait until the group has settled with it (every member healthy)."""
    newcomer.start()
    for member in members:
        member.wait_ready()


def leave(leaver: Worker, *members: Worker) -> None:
    """Stop a worker as an operator would (SIGTERM) and wait until the group has settled without it."""
    assert leaver.stop() == 0, f"{leaver.log_path.name} did not exit 0 on SIGTERM:\n{leaver.log()}"
    for member in members:
        member.wait_ready()


class Changes:
    """Changes to the deployment made in a thread of their own while the publisher goes on, one after the other.

    Called with each step index by ``Publisher.paced``. The feed is cut into ``len(changes) + 2`` equal parts:
    change k starts as part k + 1 begins, once change k - 1 is over, and the last change is over before the
    final part is published. So each one starts with articles in flight and more to come, and the final part
    flows through what they left.
    """

    def __init__(self, steps: int, changes: list[Callable[[], None]]) -> None:
        self.due = {step: k for k, step in enumerate(self.due_steps(steps, len(changes)))}
        self.changes = changes
        self.made = 0
        self.running: Future[None] | None = None
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="changes")

    def __call__(self, step: int) -> None:
        if step in self.due:
            self.settle()
            if (k := self.due[step]) < len(self.changes):
                self.running = self.executor.submit(self.changes[k])

    @staticmethod
    def due_steps(steps: int, changes: int) -> list[int]:
        """The step at which each change starts, then the one at which the last is waited for."""
        return [steps * (k + 1) // (changes + 2) for k in range(changes + 1)]

    @staticmethod
    def after_each(steps: int, changes: int) -> list[int]:
        """For each change, a step published once it is over: the one after the step that waited for it."""
        return [step + 1 for step in Changes.due_steps(steps, changes)[1:]]

    def settle(self) -> None:
        """Wait for the change under way (its own waits are bounded), raising what it raised."""
        if self.running is not None:
            self.running.result()
            self.running = None
            self.made += 1

    def close(self) -> None:
        self.executor.shutdown(wait=True)


class SlowReader:
    """A consumer of the alert topics in a group of its own, in a thread, that reads one alert per permit
    (``max_poll_records=1``, its offset committed after each): slow in publisher steps rather than in seconds,
    so that how far behind it is does not depend on how fast the machine is."""

    def __init__(self, env: Env) -> None:
        self.env = env
        self.group = f"{env.settings.app_id}-slow-reader"
        self.alerts: list[dict[str, Any]] = []
        self.failure: BaseException | None = None
        self.permits = threading.Semaphore(0)
        self.unlimited = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="slow-reader", daemon=True)
        self.thread.start()

    def allow_one(self) -> None:
        self.permits.release()

    def _run(self) -> None:
        consumer = KafkaConsumer(
            *self.env.settings.topics.alerts(),
            bootstrap_servers=self.env.settings.bootstrap_servers,
            group_id=self.group,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            max_poll_records=1,
        )
        try:
            while not self.stopping.is_set():
                if self.unlimited.is_set() or self.permits.acquire(timeout=0.2):
                    self._read_one(consumer)
        except BaseException as exc:  # reported by the test thread
            self.failure = exc
        finally:
            consumer.close()

    def _read_one(self, consumer: KafkaConsumer) -> None:
        while not self.stopping.is_set():
            for records in consumer.poll(timeout_ms=200).values():
                self.alerts += [orjson.loads(record.value) for record in records]
                consumer.commit()
                return

    def lag(self) -> int:
        """How many alert messages the group has not committed as read."""
        return sum(uncommitted(self.env, self.group, self.env.settings.topics.alerts()).values())

    def read_all(self, alert_ids: Iterable[str], timeout: float = 60.0) -> None:
        """Let it read as fast as it can, until it has committed every alert and read these ones."""
        self.unlimited.set()
        wanted, deadline = set(alert_ids), time.monotonic() + timeout
        while (lag := self.lag()) or not wanted <= {a["alert_id"] for a in self.alerts}:
            assert self.failure is None, f"the slow reader failed: {self.failure!r}"
            assert time.monotonic() < deadline, f"slow reader: {len(self.alerts)} alerts read, lag {lag}"
            time.sleep(0.2)

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=30)


def check_outputs(lines: list[bytes], positions: list[Position], outputs: Outputs, reference: Reference) -> None:
    """Every input landed in exactly the replay's category, repeated only as a redelivery; nothing else landed.

    A failure lists every input that went wrong, not just the first, with each worker's rebalances and
    dedup index rebuilds: a race that CI meets once in dozens of runs has to be diagnosed from that report."""
    assert len(positions) == len(set(positions)) == len(lines)
    assert not outputs.strangers, f"outputs of inputs from another topic: {outputs.strangers[:3]}"
    assert set(outputs.placed) <= set(positions), "outputs of positions nobody published"
    wrong = [
        f"input {index} at {position} ({line[:80]!r}): {problem}"
        for index, (line, position) in enumerate(zip(lines, positions, strict=True))
        if (problem := _misplaced(line, outputs.placed.get(position, []), reference.placed[index]))
    ]
    if wrong:
        stories = sorted({of for _, of in reference.placed if of is not None})
        report = [f"{len(wrong)} inputs misplaced:", *wrong[:20], changelog_report(outputs.env, stories)]
        raise AssertionError("\n".join([*report, _timeline(outputs.logs(None))]))


def changelog_report(env: Env, stories: Iterable[str] = ()) -> str:
    """What the tables' changelogs hold at their end: tells a table's losses on the way to the changelog (a
    write that never reached it) from those after it (a recovery that missed records; the workers' stores,
    to compare with, stay in their data directories in the test's folder)."""
    lines = []
    for table, wanted in (("dedup-index", [f"story:{story}" for story in stories]), ("alert-state", ["wm0"])):
        records = changelog(env, f"{env.settings.app_id}-{table}-changelog")
        first = {key: offset for offset, key, _ in reversed(records)}
        last = {key: present for _, key, present in records}
        lines.append(
            f"{table} changelog: {len(records)} records, offsets {records[0][0] if records else None}.."
            f"{records[-1][0] if records else None}, first keys {[(o, k) for o, k, _ in records[:4]]}; "
            f"of {wanted[:3]}... ({len(wanted)}): never written {[k for k in wanted if k not in first][:10]}, "
            f"deleted {[k for k in wanted if last.get(k) is False][:10]}, "
            f"first written at {[first.get(k) for k in wanted[:5]]}"
        )
    return "\n".join(lines)


def changelog(env: Env, topic: str) -> list[tuple[int, str, bool]]:
    """Every record of a changelog's partition 0: offset, key, and whether it holds a value (not a deletion)."""
    consumer = KafkaConsumer(bootstrap_servers=env.settings.bootstrap_servers, group_id=None)
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        consumer.seek_to_beginning(partition)
        end = consumer.end_offsets([partition])[partition]
        records = []
        while consumer.position(partition) < end:
            for batch in consumer.poll(timeout_ms=1000).values():
                records += [(r.offset, str(orjson.loads(r.key)), r.value is not None) for r in batch]
    finally:
        consumer.close()
    return records


def _misplaced(line: bytes, placements: list[Placement], expected: tuple[str, str | None]) -> str | None:
    """What is wrong with an input's outputs, if anything."""
    category, of = expected
    if not placements:
        return "lost"
    if len({(p.category, p.article_id) for p in placements}) != 1:
        return f"more than one fate: {placements}"
    if placements[0].category != category:
        return f"the replay put it in {category}: {placements}"
    if category == "deadletter":
        if not all(p.original and line.startswith(p.original) for p in placements):
            return f"the dead letter does not keep the input: {placements}"
    elif placements[0].article_id != article_id(line):
        return f"another article's output: {placements}"
    elif {p.of for p in placements} != {of}:
        return f"the replay joined it to {of}: {placements}"
    return None


#: The worker log lines that tell which worker held the dedup partition when, what its index held, and what failed.
TIMELINE = re.compile(
    r"^--- |Joined group|Setting newly assigned|-dedup +\||rebuilt the dedup index"
    r"|Recovery\]: (Worker ready|Restoring state|Restore complete)|\[\^Worker\]: Stopping|\[ERROR\]"
    r"|Discarded commit|-changelog +\|"
)


def _timeline(logs: str) -> str:
    return "\n".join(line for line in logs.splitlines() if TIMELINE.search(line))


def uncommitted(env: Env, group: str, topics: Iterable[str]) -> dict[str, int]:
    """How many records of each partition of the topics the group has not committed, by "topic/partition"."""
    admin = KafkaAdminClient(bootstrap_servers=env.settings.bootstrap_servers)
    consumer = KafkaConsumer(bootstrap_servers=env.settings.bootstrap_servers, group_id=None)
    try:
        committed = {tp: max(o.offset, 0) for tp, o in admin.list_group_offsets(group)[group].items()}
        ends = consumer.end_offsets(
            [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
        )
    finally:
        consumer.close()
        admin.close()
    return {f"{tp.topic}/{tp.partition}": end - committed.get(tp, 0) for tp, end in ends.items()}


def check_all_committed(env: Env) -> None:
    """Once the workers have stopped, the group has committed every record of its input and dedup topics:
    no commit waits for good on a record never acknowledged, and a next start has nothing to read again."""
    app_id = env.settings.app_id
    behind = {tp: n for tp, n in uncommitted(env, app_id, (env.settings.topics.raw, f"{app_id}-dedup")).items() if n}
    assert not behind, f"records not committed, by partition: {behind}"


def check_alerts(outputs: Outputs, reference: Reference) -> None:
    by_id: dict[str, dict[str, Any]] = {}
    for alert in map(comparable, outputs.alerts):
        assert by_id.setdefault(alert["alert_id"], alert) == alert, f"a repeat differs: {alert['alert_id']}"
    assert by_id == reference.alerts


# --- the tests ----------------------------------------------------------------------------------------------------


def test_a_worker_killed_amid_thousands_of_articles_loses_none_and_repeats_none_but_as_redeliveries(
    tmp_path_factory: pytest.TempPathFactory, broker: str, tmp_path: Path
) -> None:
    env = make_env(tmp_path_factory, broker)
    feed = crash_feed(seed=20230810)
    lines = feed.lines
    reference = replay(env, lines, tmp_path)
    burst = feed.steps[feed.burst]
    crash_from, crash_to = published(burst[0]), max(published(line) for line in burst if article_id(line))
    assert any(
        parse_time(a["window"]["start"]) <= crash_from and parse_time(a["window"]["end"]) >= crash_to
        for a in reference.alerts.values()
    ), "the crash should fall inside the window of an alert"
    assert sum(category == "deadletter" for category, _ in reference.placed) == feed.bad
    copies = [i for i, line in enumerate(lines) if line in lines[:i] or "-copy-" in (article_id(line) or "")]
    assert len(copies) > 100 and all(reference.placed[i][0] == "duplicates" for i in copies), "copies are copies"

    crashed = Worker(env, tmp_path / "crashed.log", SAHELWATCH_DATA_DIR=str(tmp_path / "disk-a")).start()
    restarted = Worker(env, tmp_path / "restarted.log", SAHELWATCH_DATA_DIR=str(tmp_path / "disk-b"))
    outputs = Outputs(env, logs_of(crashed, restarted))
    publisher = Publisher(env)
    try:
        positions = publisher.paced(feed.steps[: feed.burst], outputs)
        before_crash = {p for p in positions if outputs.placed[p][0].category == "tagged"}
        burst_positions = publisher.send(burst)
        outputs.wait_until(
            lambda: outputs.seen(burst_positions) >= len(burst) // 4, lambda: "a quarter of the burst processed"
        )
        crashed.stop(signal.SIGKILL)
        outputs.catch_up()
        assert outputs.seen(burst_positions) < len(burst), "the worker was killed after the burst was over"

        restarted.start()
        outputs.wait_for(burst_positions)  # what the crash left undone is done (and some done again) first
        positions += burst_positions + publisher.paced(feed.steps[feed.burst + 1 :], outputs)
        outputs.wait_for_alerts(reference.alerts)
    finally:
        publisher.close()
        outputs.close()
        crashed.stop(signal.SIGKILL)  # already dead, unless the test failed before the kill
        if restarted.process is not None:
            assert restarted.stop() == 0, restarted.log()

    check_outputs(lines, positions, outputs, reference)
    check_alerts(outputs, reference)
    check_all_committed(env)
    first, again = positions[lines.index(feed.repeated)], positions[feed.repeat_at]
    assert first in before_crash
    repeated = article_id(feed.repeated)
    assert outputs.placed[again][0] == Placement("duplicates", repeated, repeated), "the copy after the crash is caught"
    assert sum(p[0].category == "deadletter" for p in outputs.placed.values()) == feed.bad


def test_workers_joining_and_leaving_while_articles_flow_lose_nothing_and_emit_the_replay_alerts(
    tmp_path_factory: pytest.TempPathFactory, broker: str, tmp_path: Path
) -> None:
    """Two workers, a third joins, then the first two leave (SIGTERM), all while articles flow: the dedup
    and alert tables move between workers (standby, active, recovered) and must lose nothing on the way."""
    env = Env(make_env(tmp_path_factory, broker).vars | {"SAHELWATCH_PARTITIONS": "6"})
    steps = one_by_one(random.Random(20230906), scenario_lines(*ALL_SCENARIOS), per_article=8)
    # Stories from the first records of the dedup table's changelog, seen again once each change is over and
    # after the last: whichever worker holds the table then must have recovered all of it.
    again = [steps[0][0], steps[1][0], steps[2][1]]
    for probe, step in zip((steps[3][0], steps[4][0], steps[5][1]), Changes.after_each(len(steps), 3), strict=True):
        steps[step] = [*steps[step], probe]
    steps[-1] += again
    lines = [line for step in steps for line in step]
    reference = replay(env, lines, tmp_path)
    assert len(reference.alerts) >= 20
    repeats = [i for i, line in enumerate(lines) if line in lines[:i]]
    assert len(repeats) == 6 and all(reference.placed[i][0] == "duplicates" for i in repeats), "repeats are copies"

    first, second, third = (
        Worker(
            env,
            tmp_path / f"{name}.log",
            SAHELWATCH_DATA_DIR=str(tmp_path / name),
            SAHELWATCH_WEB_PORT=str(free_port()),
        )
        for name in ("first", "second", "third")
    )
    changes = Changes(
        len(steps),
        [lambda: join(third, first, second), lambda: leave(first, second, third), lambda: leave(second, third)],
    )
    publisher = Publisher(env)
    outputs: Outputs | None = None
    try:
        first.start()
        second.start()
        first.wait_ready()  # the rebalance that let the second worker in is over
        outputs = Outputs(env, logs_of(first, second, third))
        positions = publisher.paced(steps, outputs, changes)
        assert changes.made == 3, "every change was over before the last part of the feed"
        outputs.wait_for_alerts(reference.alerts)
    finally:
        changes.close()
        publisher.close()
        stop_all(first, second, third)
        if outputs is not None:
            outputs.close()

    assert {partition for partition, _ in positions} == set(range(6)), "the input is spread over six partitions"
    check_outputs(lines, positions, outputs, reference)
    check_alerts(outputs, reference)
    check_all_committed(env)


def test_a_slow_consumer_of_the_alerts_holds_back_neither_articles_nor_alerts(
    tmp_path_factory: pytest.TempPathFactory, broker: str, tmp_path: Path
) -> None:
    """A dashboard that reads the alerts slowly must not slow the pipeline: every article is placed and
    every alert out while the reader's group still lags far behind, and then it reads them all."""
    env = make_env(tmp_path_factory, broker)
    steps = one_by_one(random.Random(20230820), scenario_lines(*ALL_SCENARIOS), per_article=3)
    lines = [line for step in steps for line in step]
    reference = replay(env, lines, tmp_path)
    pace = 15  # publisher steps per alert the slow reader may read
    permits = len(range(0, len(steps), pace))
    assert permits < len(reference.alerts) // 2, "the reader may read fewer than half the alerts"

    worker = Worker(env, tmp_path / "worker.log").start()
    outputs = Outputs(env, logs_of(worker))
    publisher = Publisher(env)
    reader = SlowReader(env)
    try:
        positions = publisher.paced(steps, outputs, lambda step: reader.allow_one() if step % pace == 0 else None)
        outputs.wait_for_alerts(reference.alerts)
        behind, read = reader.lag(), len(reader.alerts)  # the pipeline is done: every input placed, every alert out
        reader.read_all(reference.alerts)
    finally:
        reader.close()
        publisher.close()
        outputs.close()
        stop_all(worker)

    check_outputs(lines, positions, outputs, reference)
    check_alerts(outputs, reference)
    assert read <= permits and behind > len(reference.alerts) // 2, (
        f"when the pipeline was done, the slow reader had read {read} alerts and had {behind} to go"
    )
    assert {a["alert_id"]: comparable(a) for a in reader.alerts} == reference.alerts
