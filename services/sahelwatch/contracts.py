"""Message contracts: the JSON Schemas in ``schemas/`` are the one source of truth.

They are read and compiled once, at import of the first validator, and the same
validators check input in the worker, in the CLI and in the tests.
"""

from __future__ import annotations

import functools
from datetime import datetime
from importlib import resources
from typing import Any

import orjson
from jsonschema import Draft202012Validator, FormatChecker

SCHEMA_NAMES = ("article", "tagged_article", "alert", "dead_letter")
SCHEMA_VERSION = 1

_format_checker = FormatChecker(formats=())


@_format_checker.checks("date-time", raises=ValueError)
def _is_rfc3339(value: object) -> bool:
    """RFC 3339 needs a date, a time and an explicit offset; a naive time is ambiguous."""
    if not isinstance(value, str):
        return True
    if "T" not in value.upper():
        raise ValueError("a date-time needs a 'T' between date and time")
    parsed = datetime.fromisoformat(value.replace("z", "Z"))
    if parsed.tzinfo is None:
        raise ValueError("a date-time needs a UTC offset, such as Z or +01:00")
    return True


def load_schema(name: str) -> dict[str, Any]:
    if name not in SCHEMA_NAMES:
        raise KeyError(f"no schema named {name!r}; known: {', '.join(SCHEMA_NAMES)}")
    path = resources.files("sahelwatch") / "schemas" / f"{name}.schema.json"
    schema: dict[str, Any] = orjson.loads(path.read_bytes())
    return schema


@functools.cache
def validator(name: str) -> Draft202012Validator:
    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=_format_checker)


def schema_errors(name: str, instance: object, limit: int = 5) -> list[str]:
    """Readable violations, each prefixed with the JSON path it concerns."""
    errors = sorted(validator(name).iter_errors(instance), key=lambda e: list(e.absolute_path))
    messages = []
    for error in errors[:limit]:
        path = "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        messages.append(f"{path.lstrip('.') or '(root)'}: {_short(error.message)}")
    return messages


def _short(message: str, width: int = 200) -> str:
    return message if len(message) <= width else message[: width - 1] + "…"
