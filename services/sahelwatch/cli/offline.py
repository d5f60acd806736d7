"""``sahelwatch tag`` and ``sahelwatch replay``: the core pipeline without Kafka.

They read files through the same reader as ``publish`` and feed the message
bytes to the same core as the worker, in file order, so the replay is the
reference the stream must agree with: the same alerts, with the same ids.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import IO, Any

import orjson

from sahelwatch.config import Settings
from sahelwatch.core.dedup import Index
from sahelwatch.core.intake import Rejected
from sahelwatch.core.model import Origin, utc_iso
from sahelwatch.core.pipeline import minhash
from sahelwatch.core.preparation import Preparation
from sahelwatch.inputs import Record, Refusal, read_records
from sahelwatch.wiring import build_pipeline

Step = Callable[[bytes, Origin], None]


def register_tag(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("tag", help="clean and tag articles offline; tagged articles as JSON Lines on stdout")
    parser.add_argument("paths", nargs="+", metavar="FILE", help=".jsonl, .json, .txt or .html files, or -")
    parser.set_defaults(run=run_tag)


def register_replay(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("replay", help="run the whole pipeline offline; alerts as JSON Lines on stdout")
    parser.add_argument("paths", nargs="+", metavar="FILE.jsonl", help="articles in publication order, or -")
    parser.add_argument("--alerts-out", metavar="F", help="write the alerts here instead of stdout")
    parser.add_argument("--tagged-out", metavar="F", help="write every processed article (duplicates flagged) here")
    parser.set_defaults(run=run_replay)


def run_tag(settings: Settings, args: argparse.Namespace) -> int:
    preparation = Preparation(settings.max_message_bytes)

    def step(raw: bytes, origin: Origin) -> None:
        _write(sys.stdout, preparation.prepare(raw, datetime.now(UTC), origin).to_json())

    return _drive(args.paths, step)


def run_replay(settings: Settings, args: argparse.Namespace) -> int:
    preparation = Preparation(settings.max_message_bytes)
    pipeline = build_pipeline(settings)
    dedup_state: dict[str, Any] = {}
    index = Index()
    alert_state: dict[str, Any] = {}
    outcomes: Counter[str] = Counter()
    with ExitStack() as stack:
        alerts_out = (
            stack.enter_context(open(args.alerts_out, "w", encoding="utf-8")) if args.alerts_out else sys.stdout
        )
        tagged_out = stack.enter_context(open(args.tagged_out, "w", encoding="utf-8")) if args.tagged_out else None

        def step(raw: bytes, origin: Origin) -> None:
            now = datetime.now(UTC)
            article = preparation.prepare(raw, now, origin)
            pipeline.deduplicate(article, dedup_state, index, minhash(article))
            observation = pipeline.alert(article, alert_state)
            outcomes["duplicate" if article.duplicate else "late" if observation.late else "counted"] += 1
            if tagged_out is not None:
                _write(tagged_out, article.to_json())
            for _topic, message in observation.messages():
                outcomes["alerts"] += 1
                _write(alerts_out, message | {"emitted_at": utc_iso(now)})

        code = _drive(args.paths, step)
    print(
        f"replay: {outcomes['counted']} first occurrences counted, {outcomes['duplicate']} duplicates, "
        f"{outcomes['late']} late, {outcomes['alerts']} alerts",
        file=sys.stderr,
    )
    return code


def _write(out: IO[str], record: dict[str, Any]) -> None:
    out.write(orjson.dumps(record).decode() + "\n")


def _drive(paths: list[str], step: Step) -> int:
    refused: Counter[str] = Counter()
    for item in read_records(paths):
        if isinstance(item, Refusal):
            refused["unreadable"] += 1
            print(f"refused {item.where}: {item.reason}", file=sys.stderr)
            continue
        assert isinstance(item, Record)
        try:
            step(item.value, Origin(topic=item.where))
        except Rejected as exc:
            refused[exc.reason] += 1
            print(f"refused {item.where}: {exc.reason}: {exc.message}", file=sys.stderr)
    if refused:
        print("refused: " + ", ".join(f"{n} {reason}" for reason, n in refused.most_common()), file=sys.stderr)
    return 0
