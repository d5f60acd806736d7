"""The default rules on scripted scenarios (our own articles, dated and spread over hours), through the replay."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from sahelwatch.cli import main
from sahelwatch.contracts import schema_errors
from tests.conftest import ROOT

SCENARIOS = ROOT / "tests" / "fixtures" / "scenarios"


def replay(name: str, tmp_path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    alerts, tagged = tmp_path / "alerts.jsonl", tmp_path / "tagged.jsonl"
    assert main(["replay", str(SCENARIOS / name), "--alerts-out", str(alerts), "--tagged-out", str(tagged)]) == 0
    read = lambda path: [orjson.loads(line) for line in path.read_bytes().splitlines()]  # noqa: E731
    return read(alerts), read(tagged)


def test_a_week_in_august_2023_raises_escalating_intervention_alerts_for_niger(tmp_path: Path) -> None:
    alerts, _ = replay("week_august_2023.jsonl", tmp_path)
    firing = [a for a in alerts if a["status"] == "firing"]
    assert not any(a["key"]["country"] == "NG" for a in alerts)
    niger = [a for a in firing if a["key"]["country"] == "NE" and a["rule"] in ("threat-of-force", "troop-deployment")]
    assert {a["severity"] for a in niger} == {"warning", "critical"}
    first_critical = min(a["window"]["end"] for a in niger if a["severity"] == "critical")
    assert first_critical.startswith("2023-08-10")  # the standby-force summit
    assert any(a["rule"] == "invasion-war" and a["key"]["country"] == "NE" for a in firing)
    for alert in alerts:
        assert schema_errors("alert", alert) == []
    for alert in firing:
        assert alert["distinct_sources"] >= 3
        assert alert["evidence"] and all(e["matches"] for e in alert["evidence"])
        assert all(m["snippet"] and m["term"] for e in alert["evidence"] for m in e["matches"])


def test_one_wire_story_on_ten_outlets_raises_nothing_but_shows_its_breadth(tmp_path: Path) -> None:
    alerts, tagged = replay("syndicated_wire.jsonl", tmp_path)
    assert alerts == []
    wire = [t for t in tagged if t["story"]["id"] == tagged[0]["id"]]
    assert len(wire) == 10 and sum(t["duplicate"] is None for t in wire) == 1
    assert len(wire[-1]["story"]["sources"]) == 10


def test_a_wagner_burst_after_steady_mali_coverage_is_a_surge_and_nothing_else(tmp_path: Path) -> None:
    alerts, _ = replay("wagner_surge.jsonl", tmp_path)
    assert alerts, "the burst should raise a surge"
    assert {(a["rule"], a["key"]["country"], a["key"]["actor"]) for a in alerts} == {
        ("wagner-surge", "ML", "wagner_africa_corps")
    }
    first = alerts[0]
    assert first["window"]["end"].startswith("2023-09-06")
    assert first["baseline"] is not None and first["value"] >= 3 * first["baseline"]


@pytest.mark.parametrize("name", ["week_august_2023.jsonl", "wagner_surge.jsonl"])
def test_replaying_twice_gives_the_same_alert_ids(name: str, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    ids = [[a["alert_id"] for a in replay(name, tmp_path / run)[0]] for run in ("a", "b")]
    assert ids[0] and ids[0] == ids[1]
