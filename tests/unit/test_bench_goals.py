"""The goal verdicts that ``make bench`` prints last: each figure judged against the issue's bound."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "stream.py"


def _bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench_stream", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def _results(rate: float, share: float, p99: float, pss: float) -> dict[str, Any]:
    return {
        "workload": {"articles": 100_000},
        "one_worker": {"articles_per_s": rate, "peak_pss_mib": pss},
        "share_of_passthrough": share,
        "latency": {"200_per_s": {"to_tagged_ms": {"p99": p99}}},
    }


def test_each_goal_is_judged_against_its_bound_at_the_edge() -> None:
    bench = _bench()
    passing = bench.goals(_results(1000.0, 0.5, 49.0, 381.0))
    failing = bench.goals(_results(999.9, 0.49, 50.0, 382.0))  # 400 MB is 381.5 MiB
    assert [v["met"] for v in passing] == [True, True, True, True]
    assert [v["met"] for v in failing] == [False, False, False, False]
    assert passing[0]["figure"] == "1000 articles/s on 100,000 articles"
    assert failing[2]["figure"] == "50 ms"


def test_goals_a_run_did_not_measure_are_left_out() -> None:
    bench = _bench()
    only_latency = {"workload": {"articles": 3}, "latency": {"200_per_s": {"to_tagged_ms": {"p99": 12.0}}}}
    assert bench.goals(only_latency) == [
        {"goal": "p99 publish -> articles.tagged at 200 articles/s, under 50 ms", "figure": "12 ms", "met": True}
    ]
    assert bench.goals({"workload": {"articles": 3}, "latency": {"100_per_s": {}}}) == []


def test_verdicts_of_a_run_on_cut_bodies_say_so() -> None:
    bench = _bench()
    results = _results(1500.0, 0.26, 30.0, 220.0)
    results["workload"]["body_words"] = 30
    verdicts = bench.goals(results)
    assert verdicts[0]["figure"] == "1500 articles/s on 100,000 articles, bodies cut to 30 words"
    assert all(v["figure"].endswith(", bodies cut to 30 words") for v in verdicts)


def test_the_workload_cut_to_a_few_words_keeps_its_articles_and_their_order() -> None:
    bench = _bench()
    if not bench.CORPUS.is_file():
        pytest.skip(f"the background corpus is not at {bench.CORPUS}")
    full, cut = bench.workload(300), bench.workload(300, body_words=5)
    assert [(i.id, i.published_at) for i in cut] == [(i.id, i.published_at) for i in full]
    pairs = zip(full, cut, strict=True)
    bodies = [(orjson.loads(a.raw).get("body"), orjson.loads(b.raw).get("body")) for a, b in pairs]
    assert all(short == " ".join(whole.split()[:5]) for whole, short in bodies if whole is not None)
    assert any(len(whole.split()) > 5 for whole, _ in bodies if whole is not None)
