"""Two workers on the real broker emit exactly the alerts ``sahelwatch replay`` emits for the same articles.

Articles are published as a live feed delivers them: in publication order, a
few minutes of event time at a step, each step processed before the next. The
stream may interleave its input partitions within a step; windows are judged
only after the allowed lateness, so that changes nothing.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.integration.conftest import SCENARIOS, Env, Worker, free_port, make_env, publish_paced

pytestmark = pytest.mark.integration


def comparable(alert: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in alert.items() if k != "emitted_at"}


def replay_alerts(env: Env, lines: list[bytes], tmp_path: Path) -> dict[str, dict[str, Any]]:
    scenario, replayed = tmp_path / "scenario.jsonl", tmp_path / "replay-alerts.jsonl"
    scenario.write_bytes(b"\n".join(lines) + b"\n")
    env.run_cli("replay", str(scenario), "--alerts-out", str(replayed))
    return {a["alert_id"]: comparable(a) for a in map(orjson.loads, replayed.read_bytes().splitlines())}


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
    expected = replay_alerts(env, lines, tmp_path)
    assert len(expected) >= 3, "the scenario should raise several alerts"

    first = Worker(env, tmp_path / "w1.log", SAHELWATCH_DATA_DIR=str(tmp_path / "d1")).start()
    second = Worker(
        env, tmp_path / "w2.log", SAHELWATCH_DATA_DIR=str(tmp_path / "d2"), SAHELWATCH_WEB_PORT=str(free_port())
    ).start()
    try:
        first.wait_ready()  # the rebalance that let the second worker in is over
        publish_paced(env, lines)
        env.wait_for_count(env.settings.topics.alerts(), len(expected), timeout=30)
        streamed = [comparable(m["value"]) for m in env.consume(env.settings.topics.alerts(), len(expected))]
    finally:
        for worker in (second, first):
            assert worker.stop() == 0, worker.log()
    assert len({a["alert_id"] for a in streamed}) == len(streamed), "an alert was emitted twice"
    assert {a["alert_id"]: a for a in streamed} == expected


def test_a_worker_killed_mid_stream_loses_no_alert_and_repeats_none_but_by_id(
    tmp_path_factory: pytest.TempPathFactory, broker: str, tmp_path: Path
) -> None:
    env = make_env(tmp_path_factory, broker)
    lines = [line for line in (SCENARIOS / "week_august_2023.jsonl").read_bytes().splitlines() if line.strip()]
    expected = replay_alerts(env, lines, tmp_path)
    cut = next(i for i, line in enumerate(lines) if b'"published_at": "2023-08-10T13' in line)  # amid the peak
    crashed = Worker(env, tmp_path / "crashed.log", SAHELWATCH_DATA_DIR=str(tmp_path / "a")).start()
    publish_paced(env, lines[:cut])
    crashed.stop(signal.SIGKILL)
    restarted = Worker(env, tmp_path / "restarted.log", SAHELWATCH_DATA_DIR=str(tmp_path / "b")).start()
    try:
        time.sleep(3)  # what the crash left uncommitted is processed again first (redeliveries)
        publish_paced(env, lines[cut:])
        env.wait_for_count(env.settings.topics.alerts(), len(expected), timeout=30)
        streamed = [comparable(m["value"]) for m in env.consume(env.settings.topics.alerts(), len(expected))]
    finally:
        assert restarted.stop() == 0, restarted.log()
    by_id: dict[str, dict[str, Any]] = {}
    for alert in streamed:
        assert by_id.setdefault(alert["alert_id"], alert) == alert, "a repeat must be the same alert"
    assert by_id == expected


def test_publish_paced_sends_a_file_of_past_articles_so_that_the_stream_raises_the_replay_alerts(
    tmp_path_factory: pytest.TempPathFactory, broker: str, tmp_path: Path
) -> None:
    """What ``make demo`` does with its week: ``sahelwatch publish --paced``, against one worker."""
    env = make_env(tmp_path_factory, broker)
    scenario = SCENARIOS / "week_august_2023.jsonl"
    lines = [line for line in scenario.read_bytes().splitlines() if line.strip()]
    expected = replay_alerts(env, lines, tmp_path)
    worker = Worker(env, tmp_path / "worker.log").start()
    try:
        worker.wait_ready()
        result = env.run_cli("publish", "--paced", str(scenario))
        assert f"sent {len(lines)} to {env.settings.topics.raw}" in result.stdout
        env.wait_for_count(env.settings.topics.alerts(), len(expected), timeout=30)
        streamed = [comparable(m["value"]) for m in env.consume(env.settings.topics.alerts(), len(expected))]
    finally:
        assert worker.stop() == 0, worker.log()
    assert {a["alert_id"]: a for a in streamed} == expected
    assert len(streamed) == len(expected), "an alert was emitted twice"


def test_publish_paced_stops_with_the_reason_when_nothing_comes_out(
    tmp_path_factory: pytest.TempPathFactory, broker: str, tmp_path: Path
) -> None:
    env = make_env(tmp_path_factory, broker)
    article = (SCENARIOS / "week_august_2023.jsonl").read_bytes().splitlines()[0]
    (tmp_path / "one.jsonl").write_bytes(article + b"\n")
    missing = env.run_cli("publish", "--paced", str(tmp_path / "one.jsonl"), check=False)
    assert missing.returncode == 1
    assert "cannot pace on output topics that do not exist" in missing.stderr
    assert env.settings.topics.tagged in missing.stderr
    env.run_cli("topics", "create")  # the topics exist, but no worker reads the input
    stalled = env.run_cli("publish", "--paced", "--step-timeout", "2", str(tmp_path / "one.jsonl"), check=False)
    assert stalled.returncode == 1
    assert "stopped: 1 records sent, fewer came out on the output topics within 2 s" in stalled.stderr
