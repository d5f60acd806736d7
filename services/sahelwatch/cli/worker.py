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

    from sahelwatch.clients import ensure_topics
    from sahelwatch.streaming.app import create_app

    if settings.create_topics:
        created = [t.name for t in ensure_topics(settings) if t.created]
        if created:
            print(f"created topics: {', '.join(created)}", file=sys.stderr)
    app = create_app(settings)
    worker = faust.Worker(app, loglevel=settings.log_level, workdir=None)
    worker.execute_from_commandline()
    return 0
