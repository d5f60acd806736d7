"""Tagging, measured (``make bench``): precision and recall per tag type on the
labelled set in ``tests/fixtures/tagging/labelled.jsonl`` (written for the
project, half hard negatives), Niger/Nigeria confusions, and the cost of
tagging a 3,000-character article and of building the matcher.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from sahelwatch.core.cleaning import normalize_line, normalize_text
from sahelwatch.core.tagging import Tagger
from sahelwatch.core.tagging.knowledge import load_knowledge
from sahelwatch.core.tagging.tags import Tags

ROOT = Path(__file__).resolve().parents[1]
LABELLED = ROOT / "tests" / "fixtures" / "tagging" / "labelled.jsonl"
CORPUS = ROOT.parent / "shared" / "corpus" / "background_news.jsonl"
SAHEL = ("NE", "ML", "BF")
# The actors the labelled set was written to label; others the tagger finds are not judged.
LABELLED_ACTORS = frozenset(
    [
        "bazoum",
        "tchiani",
        "cnsp",
        "goita",
        "traore",
        "damiba",
        "ecowas",
        "ecowas_standby_force",
        "tinubu",
        "blinken",
        "nuland",
        "macron",
        "wagner",
        "africa_corps",
        "jnim",
        "islamic_state_sahel",
        "aes",
        "african_union",
        "un",
        "minusma",
        "barkhane",
        "french_army",
        "us_forces",
        "africom",
    ]
)


def predicted(tags: Tags, min_confidence: float = 1.0) -> dict[str, set[str]]:
    return {
        "countries": {c.code for c in tags.countries},
        "actors": {a.id for a in tags.actors if a.confidence >= min_confidence and a.id in LABELLED_ACTORS},
        "categories": {k.category for k in tags.keywords},
    }


def score(items: list[dict[str, Any]], tagger: Tagger, only: set[str] | None = None) -> dict[str, Any]:
    """Micro precision and recall per tag type; ``only`` restricts countries to those codes."""
    counts: dict[str, Counter[str]] = {kind: Counter() for kind in ("countries", "actors", "categories")}
    confusions: list[str] = []
    for item in items:
        tags = tagger.tag(normalize_line(item["title"]), normalize_text(item["body"]))
        got = predicted(tags)
        for kind, counter in counts.items():
            truth = set(item["labels"][kind])
            guess = got[kind]
            if kind == "countries" and only is not None:
                truth, guess = truth & only, guess & only
            counter["tp"] += len(truth & guess)
            counter["fp"] += len(guess - truth)
            counter["fn"] += len(truth - guess)
            if kind == "countries" and ("NE" in guess) != ("NE" in truth) and ("NG" in guess or "NG" in truth):
                confusions.append(item["id"])
    result: dict[str, Any] = {}
    for kind, c in counts.items():
        precision = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 1.0
        recall = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 1.0
        result[kind] = {"precision": round(precision, 4), "recall": round(recall, 4), **c}
    result["niger_nigeria_confusions"] = confusions
    return result


BASELINE = {
    code: re.compile(rf"\b{name}", re.IGNORECASE) for code, name in (("NE", "niger"), ("ML", "mali"), ("BF", "burkina"))
}


def regex_baseline(items: list[dict[str, Any]]) -> dict[str, Any]:
    """What a plain keyword regex (word start, any ending) gets on the Sahel countries: the bar to clear."""
    tp = fp = fn = 0
    for item in items:
        text = f"{item['title']} {item['body']}"
        guess = {code for code, pattern in BASELINE.items() if pattern.search(text)}
        truth = set(item["labels"]["countries"]) & set(SAHEL)
        tp, fp, fn = tp + len(guess & truth), fp + len(guess - truth), fn + len(truth - guess)
    return {"precision": round(tp / (tp + fp), 4), "recall": round(tp / (tp + fn), 4), "tp": tp, "fp": fp, "fn": fn}


def errors(items: list[dict[str, Any]], tagger: Tagger) -> list[str]:
    lines = []
    for item in items:
        got = predicted(tagger.tag(normalize_line(item["title"]), normalize_text(item["body"])))
        for kind in ("countries", "actors", "categories"):
            truth = set(item["labels"][kind])
            if got[kind] != truth:
                lines.append(
                    f"{item['id']} {kind}: missing {sorted(truth - got[kind])} extra {sorted(got[kind] - truth)}"
                )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--show", action="store_true", help="print every item whose tags differ from its labels")
    parser.add_argument("--out", type=Path, default=ROOT / ".local" / "bench" / "tagging.json")
    args = parser.parse_args()

    started = time.perf_counter()
    knowledge = load_knowledge()
    loaded = time.perf_counter()
    tagger = Tagger(knowledge)
    built = time.perf_counter()
    items = [orjson.loads(line) for line in LABELLED.read_bytes().splitlines() if line.strip()]
    results: dict[str, Any] = {
        "knowledge": {
            "versions": knowledge.versions,
            "actors": len(knowledge.actors),
            "actor_aliases": sum(len(a.aliases) for a in knowledge.actors),
            "places": len(knowledge.places),
            "lexicon_terms": sum(len(e.terms) for e in knowledge.lexicon),
        },
        "startup_seconds": {"load_and_validate": round(loaded - started, 3), "build_matcher": round(built - loaded, 3)},
        "labelled_items": len(items),
        "all": score(items, tagger),
        "sahel_countries_only": score(items, tagger, only=set(SAHEL))["countries"],
    }
    for lang in ("en", "fr"):
        results[lang] = score([i for i in items if i["lang"] == lang], tagger)
    results["plain_regex_baseline_sahel_countries"] = regex_baseline(items)

    if CORPUS.is_file():
        rows = [orjson.loads(line) for line in CORPUS.read_bytes().splitlines()]
        texts = [normalize_text(r["text"]) for r in rows if r.get("text") and 2500 <= len(r["text"]) <= 3500]
        tagger.tag("", texts[0])
        timings = []
        for text in texts:
            begin = time.perf_counter()
            tagger.tag("", text)
            timings.append((time.perf_counter() - begin) * 1e6)
        timings.sort()
        results["tag_us_3000_chars"] = {
            "articles": len(texts),
            "mean": round(statistics.mean(timings), 1),
            "p50": round(timings[len(timings) // 2], 1),
            "p95": round(timings[int(len(timings) * 0.95)], 1),
        }

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    if args.show:
        print("\n".join(errors(items, tagger)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
