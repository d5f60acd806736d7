"""``sahelwatch tag`` and ``sahelwatch replay``: the core pipeline without Kafka.

They read files through the same reader as ``publish`` and feed the message
bytes to the same core as the worker, so they are the reference the stream
must agree with.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import IO, Any

import orjson

from sahelwatch.config import Settings
from sahelwatch.core.dedup import Bands
from sahelwatch.core.intake import Rejected
from sahelwatch.core.model import Origin
from sahelwatch.core.pipeline import Pipeline
from sahelwatch.inputs import Record, Refusal, read_records

Step = Callable[[bytes, Origin], dict[str, Any]]


def register_tag(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("tag", help="clean and tag articles offline; tagged articles as JSON Lines on stdout")
    parser.add_argument("paths", nargs="+", metavar="FILE", help=".jsonl, .json, .txt or .html files, or -")
    parser.set_defaults(run=run_tag)


def register_replay(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("replay", help="run the whole pipeline offline over a JSON Lines file")
    parser.add_argument("paths", nargs="+", metavar="FILE.jsonl", help="articles in publication order, or -")
    parser.add_argument(
        "--tagged-out", metavar="F", help="write every processed article (duplicates flagged) as JSON Lines"
    )
    parser.set_defaults(run=run_replay)


def run_tag(settings: Settings, args: argparse.Namespace) -> int:
    pipeline = Pipeline(settings.max_message_bytes)
    return _drive(
        args.paths, sys.stdout, lambda raw, origin: pipeline.prepare(raw, datetime.now(UTC), origin).to_json()
    )


def run_replay(settings: Settings, args: argparse.Namespace) -> int:
    pipeline = Pipeline(settings.max_message_bytes, timedelta(hours=settings.dedup_retention_hours))
    state: dict[str, Any] = {}
    bands: Bands = {}
    outcomes: Counter[str] = Counter()

    def step(raw: bytes, origin: Origin) -> dict[str, Any]:
        article = pipeline.run(raw, datetime.now(UTC), origin, state, bands)
        outcomes["duplicate" if article.duplicate else "tagged"] += 1
        return article.to_json()

    with ExitStack() as stack:
        tagged_out = stack.enter_context(open(args.tagged_out, "w", encoding="utf-8")) if args.tagged_out else None
        code = _drive(args.paths, tagged_out, step)
    print(f"replay: {outcomes['tagged']} first occurrences, {outcomes['duplicate']} duplicates", file=sys.stderr)
    return code


def _drive(paths: list[str], out: IO[str] | None, step: Step) -> int:
    refused: Counter[str] = Counter()
    for item in read_records(paths):
        if isinstance(item, Refusal):
            refused["unreadable"] += 1
            print(f"refused {item.where}: {item.reason}", file=sys.stderr)
            continue
        assert isinstance(item, Record)
        try:
            result = step(item.value, Origin(topic=item.where))
        except Rejected as exc:
            refused[exc.reason] += 1
            print(f"refused {item.where}: {exc.reason}: {exc.message}", file=sys.stderr)
            continue
        if out is not None:
            out.write(orjson.dumps(result).decode() + "\n")
    if refused:
        print("refused: " + ", ".join(f"{n} {reason}" for reason, n in refused.most_common()), file=sys.stderr)
    return 0
