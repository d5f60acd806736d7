"""Alerts, measured (``make bench``): how many alerts the default rules raise on
the background corpus (real news that is almost never a Sahel security story),
each printed with its evidence for examination; the time the alert stage takes
to decide per article; and the state it keeps per alert key.

The corpus has no usable publication times, so its articles are spread evenly
over 30 days in file order (about 135 a day, a busy feed).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from sahelwatch.core.dedup import Index
from sahelwatch.core.model import Origin
from sahelwatch.core.pipeline import Pipeline, minhash
from sahelwatch.core.preparation import Preparation

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "background_news.jsonl"
SCENARIOS = ROOT / "tests" / "fixtures" / "scenarios"
START = datetime(2024, 3, 1, tzinfo=UTC)


def run(pipeline: Pipeline, raws: list[bytes]) -> tuple[list[dict[str, Any]], list[float], dict[str, Any]]:
    dedup: dict[str, Any] = {}
    index = Index()
    state: dict[str, Any] = {}
    alerts, timings = [], []
    received = datetime(2030, 1, 1, tzinfo=UTC)
    preparation = Preparation(max_message_bytes=2**21)
    for position, raw in enumerate(raws):
        article = preparation.prepare(raw, received, Origin("bench", 0, position))
        pipeline.deduplicate(article, dedup, index, minhash(article))
        started = time.perf_counter()
        observation = pipeline.alert(article, state)
        timings.append((time.perf_counter() - started) * 1e6)
        alerts += [a.to_json() for a in observation.alerts]
    return alerts, timings, state


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / ".local" / "bench" / "alerts.json")
    args = parser.parse_args()
    pipeline = Pipeline()
    results: dict[str, Any] = {"rules_version": pipeline.rules.version}

    if CORPUS.is_file():
        rows = [orjson.loads(line) for line in CORPUS.read_bytes().splitlines()]
        rows = [r for r in rows if r.get("text")]
        step = timedelta(days=30) / len(rows)
        raws = [
            orjson.dumps(
                {
                    "id": r["id"],
                    "url": r.get("url") or f"https://corpus.example/{r['id']}",
                    "title": r.get("title") or "(untitled)",
                    "published_at": (START + i * step).isoformat(),
                    "source": r.get("source") or "corpus",
                    "body": r["text"],
                    "language": r.get("lang") or "en",
                }
            )
            for i, r in enumerate(rows)
        ]
        relaxed = replace(
            pipeline,
            rules=replace(pipeline.rules, rules=tuple(replace(r, min_sources=1) for r in pipeline.rules.rules)),
        )
        relaxed_alerts, _, _ = run(relaxed, raws)
        alerts, timings, state = run(pipeline, raws)
        results["corpus"] = {
            "alerts_if_one_source_were_enough": len(relaxed_alerts),
            "articles": len(raws),
            "alerts": len(alerts),
            "firing": sum(a["status"] == "firing" for a in alerts),
            "decide_us_mean": round(statistics.mean(timings), 1),
            "decide_us_p95": round(sorted(timings)[int(0.95 * len(timings))], 1),
        }
        results["corpus_alerts"] = [
            {
                "rule": a["rule"],
                "status": a["status"],
                "severity": a["severity"],
                "key": a["key"],
                "window_end": a["window"]["end"],
                "value": a["value"],
                "evidence": [
                    f"{e['source']}: {e['title']} [{', '.join(m['term'] for m in e['matches'])}]" for e in a["evidence"]
                ],
            }
            for a in alerts or relaxed_alerts
        ]

    scenario = sorted(
        (line for p in SCENARIOS.glob("*.jsonl") for line in p.read_bytes().splitlines() if line.strip()),
        key=lambda line: orjson.loads(line)["published_at"],
    )
    alerts, timings, state = run(pipeline, scenario)
    keys = {k: len(orjson.dumps(v)) for k, v in state.items() if k.startswith("key:")}
    results["scenarios"] = {
        "articles": len(scenario),
        "alerts": len(alerts),
        "decide_us_mean": round(statistics.mean(timings), 1),
        "state_keys_at_end": len(keys),
        "state_bytes_per_key_mean": round(statistics.mean(keys.values()), 1) if keys else 0,
        "state_bytes_per_key_max": max(keys.values(), default=0),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
