"""``sahelwatch topics create|delete``: the service's topics, created explicitly and repeatably."""

from __future__ import annotations

import argparse

from sahelwatch.clients import delete_topics, ensure_topics
from sahelwatch.config import Settings


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("topics", help="create (or delete) the service's topics")
    parser.add_argument(
        "action",
        choices=["create", "delete"],
        help="create: make the missing topics and report all; delete: remove them and the app's internal topics",
    )
    parser.set_defaults(run=run)


def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.action == "delete":
        for name in delete_topics(settings):
            print(f"deleted {name}")
        return 0
    for topic in ensure_topics(settings):
        state = "created" if topic.created else "exists"
        print(f"{topic.name:<32} {topic.partitions:>3} partitions  {state}")
    return 0
