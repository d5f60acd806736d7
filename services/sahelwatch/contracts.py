"""Message contracts: the JSON Schemas in ``schemas/`` are the one source of truth.

They are read, checked against the 2020-12 metaschema and compiled once, on
first use, and the same validators check input in the worker, in the CLI and
in the tests. jsonschema-rs validates an article in about a microsecond (the
pure-Python jsonschema took 50), which matters on the per-article path; it also
checks ``date-time`` strictly as RFC 3339 (a date, a time and an offset).
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import jsonschema_rs
import orjson

SCHEMA_NAMES = ("article", "tagged_article", "alert", "dead_letter", "article_batch")
SCHEMA_VERSION = 1


def load_schema(name: str) -> dict[str, Any]:
    if name not in SCHEMA_NAMES:
        raise KeyError(f"no schema named {name!r}; known: {', '.join(SCHEMA_NAMES)}")
    path = resources.files("sahelwatch") / "schemas" / f"{name}.schema.json"
    schema: dict[str, Any] = orjson.loads(path.read_bytes())
    return schema


@functools.cache
def validator(name: str) -> jsonschema_rs.Draft202012Validator:
    schema = load_schema(name)
    jsonschema_rs.meta.validate(schema)
    return jsonschema_rs.Draft202012Validator(schema, validate_formats=True)


def schema_errors(name: str, instance: object, limit: int = 5) -> list[str]:
    """Readable violations, each prefixed with the JSON path it concerns."""
    checker = validator(name)
    if checker.is_valid(instance):
        return []
    messages = []
    for error in sorted(checker.iter_errors(instance), key=lambda e: [str(p) for p in e.instance_path])[:limit]:
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.instance_path)
        messages.append(f"{path.lstrip('.') or '(root)'}: {_short(error.message)}")
    return messages


def _short(message: str, width: int = 200) -> str:
    return message if len(message) <= width else message[: width - 1] + "…"
