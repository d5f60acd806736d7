"""``sahelwatch publish PATH...``: send articles to the input topic, keyed by id.

Records are checked against the article contract first and refused locally
with the reason, unless ``--raw`` asks to send the bytes as they are (to
exercise the worker's dead-letter path, or to forward a dump unchanged).
``--paced`` sends a file of past articles so that the stream sees them as a
live feed would (``pacing.py``).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime

from kafka import KafkaProducer
from tqdm import tqdm

from sahelwatch.cli.pacing import send_paced
from sahelwatch.clients import producer
from sahelwatch.config import Settings
from sahelwatch.core.intake import Rejected, decode_article
from sahelwatch.inputs import FileDefaults, Record, Refusal, read_records


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("publish", help="publish articles from files or stdin to the input topic")
    parser.add_argument(
        "paths", nargs="+", metavar="PATH", help=".jsonl, .json, .txt or .html files, or - for JSON Lines on stdin"
    )
    parser.add_argument("--topic", help="target topic (default: SAHELWATCH_TOPIC_RAW)")
    parser.add_argument("--raw", action="store_true", help="send records unchecked, exactly as read")
    parser.add_argument("--source", default="local-file", help="source of .txt/.html articles (default: local-file)")
    parser.add_argument(
        "--published-at",
        type=datetime.fromisoformat,
        help="published_at of .txt/.html articles (default: the page's own date, else the file's mtime)",
    )
    parser.add_argument("--language", help="language of .txt/.html articles")
    pace = parser.add_mutually_exclusive_group()
    pace.add_argument(
        "--rate",
        type=float,
        metavar="N",
        help="send at most N articles a second, as a live feed would (default: at once)",
    )
    pace.add_argument(
        "--paced",
        action="store_true",
        help="send in steps of half the rules' allowed lateness of published_at, each once the worker has "
        "output the one before: a file of past articles then raises the alerts `replay` does",
    )
    parser.add_argument(
        "--step-timeout",
        type=float,
        default=60.0,
        metavar="S",
        help="with --paced, give up when a step's outputs take longer than S seconds (default: 60)",
    )
    parser.set_defaults(run=run)


def run(settings: Settings, args: argparse.Namespace) -> int:
    topic = args.topic or settings.topics.raw
    defaults = FileDefaults(args.source, args.published_at, args.language)
    refused: Counter[str] = Counter()

    def accepted() -> Iterator[Record]:
        for item in tqdm(
            read_records(args.paths, defaults), unit=" articles", file=sys.stderr, disable=None, mininterval=0.5
        ):
            refusal = item if isinstance(item, Refusal) else None if args.raw else _check(item, settings)
            if refusal is not None:
                refused[refusal.reason.split(":")[0]] += 1
                print(f"refused {refusal.where}: {refusal.reason}", file=sys.stderr)
                continue
            assert isinstance(item, Record)
            yield item

    kafka = producer(settings)
    try:
        if args.paced:
            sent, done = send_paced(kafka, topic, accepted(), settings, args.step_timeout)
        else:
            sent, done = _send(kafka, topic, accepted(), args.rate), True
        kafka.flush(timeout=60)
    finally:
        kafka.close(timeout=10)
    summary = ", ".join(f"{count} {reason}" for reason, count in refused.most_common())
    print(f"sent {sent} to {topic}; refused {sum(refused.values())}" + (f" ({summary})" if summary else ""))
    return 1 if not done or (sent == 0 and refused) else 0


def _send(kafka: KafkaProducer, topic: str, records: Iterable[Record], rate: float | None) -> int:
    sent = 0
    started = time.monotonic()
    for record in records:
        if rate:
            time.sleep(max(0.0, started + sent / rate - time.monotonic()))
        kafka.send(topic, key=record.key, value=record.value)
        sent += 1
    return sent


def _check(record: Record, settings: Settings) -> Refusal | None:
    try:
        decode_article(record.value, settings.max_message_bytes)
    except Rejected as exc:
        return Refusal(record.where, f"{exc.reason}: {exc.message}")
    return None
