"""A real Prometheus scrapes a real worker; every query of every Grafana panel must return data.

Also checks the shipped Prometheus configuration and operator alerting rules
with promtool, and runs their unit tests.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import KafkaProducer

from tests.conftest import ROOT, article
from tests.integration.conftest import SCENARIOS, Env, Worker, free_port, make_env, publish_paced

pytestmark = pytest.mark.integration

PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
DASHBOARDS = sorted((ROOT / "deploy" / "grafana" / "dashboards").glob("*.json"))
# Grafana's own variables, as Grafana would expand them for a short range.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1h", "${__range}": "1h"}


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: apt-get install prometheus (.ci/run installs it)")
    return path


@pytest.mark.parametrize(
    "args",
    [
        ["check", "config", str(PROMETHEUS_DIR / "prometheus.yml")],
        ["check", "rules", str(PROMETHEUS_DIR / "alerts.yml")],
        ["test", "rules", str(PROMETHEUS_DIR / "alerts_test.yml")],
    ],
    ids=["check-config", "check-rules", "test-rules"],
)
def test_promtool_accepts_the_shipped_configuration(args: list[str]) -> None:
    result = subprocess.run([tool("promtool"), *args], capture_output=True, text=True, timeout=60, cwd=PROMETHEUS_DIR)
    assert result.returncode == 0, result.stdout + result.stderr


def panel_queries() -> list[tuple[str, str, str]]:
    """(dashboard, panel title, expression) for every target of every panel, rows included."""
    found = []
    for path in DASHBOARDS:
        dashboard = orjson.loads(path.read_bytes())
        panels = list(dashboard.get("panels", []))
        while panels:
            panel = panels.pop()
            panels += panel.get("panels", [])
            for target in panel.get("targets", []):
                if target.get("expr"):
                    found.append((path.stem, panel.get("title", "?"), target["expr"]))
    return found


class Prometheus:
    def __init__(self, folder: Path, target_port: int) -> None:
        self.port = free_port()
        config = folder / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: sahelwatch\n    static_configs:\n"
            f"      - targets: ['127.0.0.1:{target_port}']\n"
        )
        self.process = subprocess.Popen(
            [
                tool("prometheus"),
                f"--config.file={config}",
                f"--storage.tsdb.path={folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(folder / "prometheus.log").open("wb"),
        )

    def query(self, expr: str) -> dict[str, Any]:
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                data: dict[str, Any] = orjson.loads(response.read())
        except urllib.error.HTTPError as exc:  # a bad query answers 400 with the reason
            data = orjson.loads(exc.read())
        return data

    def wait_for(self, expr: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.query(expr).get("data", {}).get("result"):
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"{expr} returned nothing within {timeout}s")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory, broker: str) -> Iterator[Prometheus]:
    """A worker that has seen articles, duplicates, bad input and alerts, scraped by a real Prometheus."""
    env: Env = make_env(tmp_path_factory, broker)
    folder = tmp_path_factory.mktemp("prometheus")
    worker = Worker(env, folder / "worker.log").start()
    prometheus: Prometheus | None = None
    try:
        prometheus = Prometheus(folder, worker.port)
        prometheus.wait_for('up{job="sahelwatch"} == 1')
        week = [line for line in (SCENARIOS / "week_august_2023.jsonl").read_bytes().splitlines() if line.strip()]
        publish_paced(env, week)
        publish_paced(env, [line for line in (SCENARIOS / "syndicated_wire.jsonl").read_bytes().splitlines() if line])
        producer = KafkaProducer(bootstrap_servers=env.settings.bootstrap_servers)
        for value in (b"not json", orjson.dumps(article(id="no-text") | {"body": 7})):
            producer.send(env.settings.topics.raw, value=value)
        producer.flush()
        producer.close()
        prometheus.wait_for("sahelwatch_dead_letters_total")
        prometheus.wait_for("sahelwatch_alerts_total")
        time.sleep(4)  # a few more scrapes, so rates over short windows have two points
        yield prometheus
    finally:
        if prometheus is not None:
            prometheus.stop()
        worker.stop()


def test_the_dashboards_have_panels() -> None:
    assert {path.stem for path in DASHBOARDS} >= {"pipeline-health", "sahel-watch"}
    assert len(panel_queries()) >= 12


@pytest.mark.parametrize(("dashboard", "panel", "expr"), panel_queries(), ids=lambda v: str(v)[:60])
def test_every_panel_query_returns_data(scraped: Prometheus, dashboard: str, panel: str, expr: str) -> None:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    answer = scraped.query(expr)
    assert answer["status"] == "success", f"{dashboard} / {panel}: {answer.get('error')}"
    assert answer["data"]["result"], f"{dashboard} / {panel}: no data for {expr}"
