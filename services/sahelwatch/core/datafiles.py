"""Reading the service's own data files (knowledge, rules): bounded, with errors that name the file."""

from __future__ import annotations

from importlib.abc import Traversable
from pathlib import Path


def read_bounded(path: Traversable | Path, limit: int, error: type[ValueError]) -> bytes:
    """The file's bytes; ``error`` naming the file when it cannot be read or is larger than ``limit``.

    Only ``limit + 1`` bytes are ever read, so an oversized file costs nothing.
    """
    try:
        with path.open("rb") as handle:
            raw: bytes = handle.read(limit + 1)
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc})") from None
    if len(raw) > limit:
        raise error(f"{path}: over the {limit:,}-byte limit")
    return raw
