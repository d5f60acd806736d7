"""Two workers on the real broker emit exactly the alerts ``sahelwatch replay`` emits for the same articles.

Articles are published as a live feed delivers them: in publication order, a
few minutes of event time at a step, each step processed before the next. The
stream may interleave its input partitions within a step; windows are judged
only after the allowed lateness, so that changes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import KafkaProducer

from tests.conftest import ROOT
from tests.integration.conftest import Worker, free_port, make_env

pytestmark = pytest.mark.integration

SCENARIOS = ROOT / "tests" / "fixtures" / "scenarios"
STEP = timedelta(minutes=5)  # well inside the rules' 10-minute allowed lateness


def steps(lines: list[bytes]) -> list[list[bytes]]:
    """Consecutive articles published within one STEP of the step's first."""
    out: list[list[bytes]] = []
    first: datetime | None = None
    for line in lines:
        when = datetime.fromisoformat(orjson.loads(line)["published_at"].replace("Z", "+00:00"))
        if first is None or when - first >= STEP:
            out.append([])
            first = when
        out[-1].append(line)
    return out


def comparable(alert: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in alert.items() if k != "emitted_at"}


def test_two_workers_emit_the_replay_alerts(
    tmp_path_factory: pytest.TempPathFactory, broker: str, tmp_path: Path
) -> None:
    env = make_env(tmp_path_factory, broker)
    lines = [
        line
        for name in ("week_august_2023.jsonl", "syndicated_wire.jsonl", "wagner_surge.jsonl")
        for line in (SCENARIOS / name).read_bytes().splitlines()
        if line.strip()
    ]
    scenario, replayed = tmp_path / "scenario.jsonl", tmp_path / "replay-alerts.jsonl"
    scenario.write_bytes(b"\n".join(lines) + b"\n")
    env.run_cli("replay", str(scenario), "--alerts-out", str(replayed))
    expected = {a["alert_id"]: comparable(a) for a in map(orjson.loads, replayed.read_bytes().splitlines())}
    assert len(expected) >= 3, "the scenario should raise several alerts"

    first = Worker(env, tmp_path / "w1.log", SAHELWATCH_DATA_DIR=str(tmp_path / "d1")).start()
    second = Worker(
        env, tmp_path / "w2.log", SAHELWATCH_DATA_DIR=str(tmp_path / "d2"), SAHELWATCH_WEB_PORT=str(free_port())
    ).start()
    try:
        first.wait_ready()  # the rebalance that let the second worker in is over
        outputs = (env.settings.topics.tagged, env.settings.topics.duplicates)
        producer = KafkaProducer(bootstrap_servers=env.settings.bootstrap_servers, acks="all")
        published = 0
        for step in steps(lines):
            for line in step:
                producer.send(env.settings.topics.raw, key=orjson.loads(line)["id"].encode(), value=line)
            producer.flush()
            published += len(step)
            env.wait_for_count(outputs, published, timeout=30)
        producer.close()
        env.wait_for_count(env.settings.topics.alerts(), len(expected), timeout=30)
        streamed = [comparable(m["value"]) for m in env.consume(env.settings.topics.alerts(), len(expected))]
    finally:
        for worker in (second, first):
            assert worker.stop() == 0, worker.log()
    assert len({a["alert_id"] for a in streamed}) == len(streamed), "an alert was emitted twice"
    assert {a["alert_id"]: a for a in streamed} == expected
