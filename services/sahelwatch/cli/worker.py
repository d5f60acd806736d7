"""``sahelwatch worker``: run the Faust worker until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import sys

from sahelwatch.config import Settings


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("worker", help="run the streaming worker (Faust)")
    parser.set_defaults(run=run)


def run(settings: Settings, args: argparse.Namespace) -> int:
    import faust  # the worker's heavy imports stay out of the other commands
    import mode.loop

    # uvloop runs the event loop and its sockets in C: they were a third of the worker's CPU.
    mode.loop.use("uvloop")

    from sahelwatch.cli.broker_wait import wait_for_broker
    from sahelwatch.clients import ensure_topics
    from sahelwatch.streaming.app import create_app
    from sahelwatch.streaming.logs import limit_repeats

    # Whether or not it creates topics: otherwise a worker started before its broker gives up.
    if not wait_for_broker(settings):
        return 0  # asked to stop while waiting
    if settings.create_topics:
        created = [t.name for t in ensure_topics(settings) if t.created]
        if created:
            print(f"created topics: {', '.join(created)}", file=sys.stderr)
    app = create_app(settings)
    limit_repeats("aiokafka")  # aiokafka logs each retry during a broker outage: thousands of lines a second
    limit_repeats("faust.transport.producer")  # and Faust each time its flow control waits for the producer
    worker = faust.Worker(app, loglevel=settings.log_level, workdir=None)
    # Faust's terminal spinner turns the root logger to DEBUG so that every record moves it: each of
    # Faust's and aiokafka's per-message debug calls then builds a record (a twentieth of the CPU).
    worker.spinner = None
    worker.execute_from_commandline()
    return 0
