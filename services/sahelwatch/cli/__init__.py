"""The ``sahelwatch`` command: worker, topics, publish, subscribe, tag and replay."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable

from kafka.errors import KafkaError

from sahelwatch import __version__
from sahelwatch.cli import offline, publish, subscribe, topics, worker
from sahelwatch.clients import connection_errors
from sahelwatch.config import ConfigError, load_settings
from sahelwatch.core.alerts import RulesError
from sahelwatch.core.tagging import KnowledgeError

_COMMANDS: list[tuple[str, Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]]] = [
    ("worker", worker.register),
    ("topics", topics.register),
    ("publish", publish.register),
    ("subscribe", subscribe.register),
    ("tag", offline.register_tag),
    ("replay", offline.register_replay),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sahelwatch",
        description="Streaming news monitoring for the Sahel. Settings come from SAHELWATCH_* variables (see README).",
    )
    parser.add_argument("--version", action="version", version=f"sahelwatch {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for _name, register in _COMMANDS:
        register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"sahelwatch: configuration error: {exc}", file=sys.stderr)
        return 2
    # kafka-python's retry chatter stays out of the output (unless debugging): a failure ends with
    # one line that carries its reasons.
    with connection_errors(show=settings.log_level == "debug") as failed_connections:
        try:
            code: int = args.run(settings, args)
        except (KnowledgeError, RulesError) as exc:
            print(f"sahelwatch: data file error: {exc}", file=sys.stderr)
            return 2
        except KafkaError as exc:  # unreachable broker, untrusted certificate, refused credentials, missing topic
            reasons = failed_connections.summary()
            print(
                f"sahelwatch: Kafka error: {exc}" + (f" (connection errors: {reasons})" if reasons else ""),
                file=sys.stderr,
            )
            return 1
        except BrokenPipeError:  # output piped into head or less that quit early
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
    return code


if __name__ == "__main__":
    sys.exit(main())
