"""``sahelwatch subscribe``: print what arrives on the alert topics, or any topics."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from typing import Any

import orjson
from kafka import KafkaConsumer
from kafka.consumer.fetcher import ConsumerRecord

from sahelwatch.cli.render import render
from sahelwatch.clients import consumer
from sahelwatch.config import Settings


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("subscribe", help="print messages from the alert topics (default) or other topics")
    parser.add_argument(
        "--topic", action="append", dest="topics", metavar="T", help="topic to read; repeat for several"
    )
    parser.add_argument("--from-beginning", action="store_true", help="read from the oldest message, not only new ones")
    parser.add_argument("--max", type=int, metavar="N", help="stop after N messages")
    parser.add_argument("--timeout", type=float, metavar="S", help="stop after S seconds")
    parser.add_argument(
        "--format", choices=["json", "pretty"], default="json", help="json: one message per line (default)"
    )
    parser.set_defaults(run=run)


def run(settings: Settings, args: argparse.Namespace) -> int:
    topics = args.topics or list(settings.topics.alerts())
    kafka = consumer(settings, topics, from_beginning=args.from_beginning)
    received = 0
    try:
        for record in _records(kafka, args.timeout):
            _print(record, args.format)
            received += 1
            if args.max is not None and received >= args.max:
                break
    except KeyboardInterrupt:
        pass
    finally:
        kafka.close()
    print(f"received {received} message(s)", file=sys.stderr)
    return 0


def _records(kafka: KafkaConsumer, timeout: float | None) -> Iterator[ConsumerRecord]:
    """Records as they arrive, until ``timeout`` seconds have passed (forever when None)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while deadline is None or time.monotonic() < deadline:
        remaining_ms = 500 if deadline is None else int((deadline - time.monotonic()) * 1000)
        for records in kafka.poll(timeout_ms=max(1, min(500, remaining_ms))).values():
            yield from records


def _print(record: Any, fmt: str) -> None:
    try:
        value: Any = orjson.loads(record.value) if record.value is not None else None
    except orjson.JSONDecodeError:
        value = record.value.decode("utf-8", errors="replace")
    key = record.key.decode("utf-8", errors="replace") if record.key is not None else None
    if fmt == "pretty":
        print(render(record.topic, value), flush=True)
    else:
        envelope = {
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "key": key,
            "value": value,
        }
        print(orjson.dumps(envelope).decode(), flush=True)
