"""The knowledge files: actors, places and the intervention lexicon.

Each is JSON Lines in ``sahelwatch/knowledge/``: a header line (kind and data
version) and one entry per line, validated at load against its schema in
``schemas/knowledge/``. A bad entry stops the start-up with the file, the line
and the entry id, so a typo in the data never turns into a silent miss.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from importlib import resources
from importlib.abc import Traversable
from typing import Any

import jsonschema_rs
import orjson

from sahelwatch.core.datafiles import read_bounded

MAX_FILE_BYTES = 16 * 1024 * 1024
_ALIAS_URN = "urn:sahelwatch:schema:knowledge:alias:1"
_ENTRY_SCHEMA = {"actors": "actor", "places": "place", "lexicon": "lexicon"}


class KnowledgeError(ValueError):
    """A knowledge file is missing, too large, or has an invalid line; the message says where."""


@dataclass(frozen=True, slots=True)
class Alias:
    text: str
    lang: str
    case_sensitive: bool = False
    demonym: bool = False
    context: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Actor:
    id: str
    name: str
    type: str
    country: str | None
    groups: tuple[str, ...]
    aliases: tuple[Alias, ...]


@dataclass(frozen=True, slots=True)
class Place:
    id: str
    geonameid: int | None
    name: str
    kind: str
    country: str | None
    lat: float
    lon: float
    aliases: tuple[Alias, ...]


@dataclass(frozen=True, slots=True)
class LexiconEntry:
    id: str
    category: str
    lang: str
    weight: float
    terms: tuple[str, ...]
    context: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class Knowledge:
    actors: tuple[Actor, ...]
    places: tuple[Place, ...]
    lexicon: tuple[LexiconEntry, ...]
    versions: dict[str, str] = field(default_factory=dict)


def load_knowledge(folder: Traversable | None = None) -> Knowledge:
    """Load and validate the three files (the package's own unless ``folder`` is given)."""
    folder = folder or resources.files("sahelwatch") / "knowledge"
    versions: dict[str, str] = {}
    actors = [_actor(e) for e in _entries(folder / "actors.jsonl", "actors", versions)]
    places = [_place(e) for e in _entries(folder / "places.jsonl", "places", versions)]
    lexicon = [_lexicon(e) for e in _entries(folder / "lexicon.jsonl", "lexicon", versions)]
    return Knowledge(tuple(actors), tuple(places), tuple(lexicon), versions)


@functools.cache
def default_knowledge() -> Knowledge:
    return load_knowledge()


def _validator(name: str) -> jsonschema_rs.Draft202012Validator:
    schemas = resources.files("sahelwatch") / "schemas" / "knowledge"
    alias = orjson.loads((schemas / "alias.schema.json").read_bytes())
    schema = orjson.loads((schemas / f"{name}.schema.json").read_bytes())
    registry = jsonschema_rs.Registry([(_ALIAS_URN, alias)])
    return jsonschema_rs.Draft202012Validator(schema, registry=registry, validate_formats=True)


def _entries(path: Traversable, kind: str, versions: dict[str, str]) -> list[dict[str, Any]]:
    raw = read_bounded(path, MAX_FILE_BYTES, KnowledgeError)
    header_check, entry_check = _validator("header"), _validator(_ENTRY_SCHEMA[kind])
    entries: list[dict[str, Any]] = []
    ids: dict[str, int] = {}
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise KnowledgeError(f"{path}:{number}: not JSON ({exc})") from None
        checker = header_check if kind not in versions else entry_check  # the first line is the header
        errors = [f"{'/'.join(map(str, e.instance_path)) or '(root)'}: {e.message}" for e in checker.iter_errors(data)]
        label = data.get("id", "?") if isinstance(data, dict) else "?"
        if errors:
            raise KnowledgeError(f"{path}:{number} (entry {label!r}): {'; '.join(errors[:3])}")
        if checker is header_check:
            if data["kind"] != kind:
                raise KnowledgeError(f"{path}:1: header says kind {data['kind']!r}, expected {kind!r}")
            versions[kind] = data["version"]
            continue
        if label in ids:
            raise KnowledgeError(f"{path}:{number}: id {label!r} already used on line {ids[label]}")
        ids[label] = number
        entries.append(data)
    if kind not in versions:
        raise KnowledgeError(f"{path}: no header line")
    return entries


def _alias(data: dict[str, Any]) -> Alias:
    return Alias(
        text=data["text"],
        lang=data["lang"],
        case_sensitive=data.get("case_sensitive", False),
        demonym=data.get("demonym", False),
        context=tuple(data.get("context", ())),
        exclude=tuple(data.get("exclude", ())),
    )


def _actor(data: dict[str, Any]) -> Actor:
    return Actor(
        id=data["id"],
        name=data["name"],
        type=data["type"],
        country=data["country"],
        groups=tuple(data.get("groups", ())),
        aliases=tuple(_alias(a) for a in data["aliases"]),
    )


def _place(data: dict[str, Any]) -> Place:
    return Place(
        id=data["id"],
        geonameid=data["geonameid"],
        name=data["name"],
        kind=data["kind"],
        country=data["country"],
        lat=data["lat"],
        lon=data["lon"],
        aliases=tuple(_alias(a) for a in data["aliases"]),
    )


def _lexicon(data: dict[str, Any]) -> LexiconEntry:
    return LexiconEntry(
        id=data["id"],
        category=data["category"],
        lang=data["lang"],
        weight=data["weight"],
        terms=tuple(data["terms"]),
        context=tuple(data.get("context", ())),
        exclude=tuple(data.get("exclude", ())),
    )
