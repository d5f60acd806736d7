"""Alert rules: a TOML file, validated at start-up, errors naming the rule.

TOML needs no third-party parser (tomllib is in the standard library) and
cannot execute code, so a rules file is safe to load from configuration.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema_rs
import orjson

from sahelwatch.core.datafiles import read_bounded

MAX_RULES_BYTES = 1024 * 1024
_DURATION = re.compile(r"^([0-9]+)(s|m|h|d)$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class RulesError(ValueError):
    """The rules file is unreadable or a rule is invalid; the message names the rule."""


@dataclass(frozen=True, slots=True)
class Severity:
    name: str
    at: float


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    kind: str  # keyword, actor or surge
    topic: str  # actors or intervention
    threshold: float
    window: int  # seconds
    slide: int  # seconds
    countries: tuple[str, ...]
    min_sources: int
    min_relevance: float
    severities: tuple[Severity, ...]
    cooldown: int  # seconds
    resolve_below: float
    category: str | None = None
    actors: tuple[str, ...] = ()
    ratio: float = 1.0
    baseline_windows: int = 0

    @property
    def buckets_per_window(self) -> int:
        return self.window // self.slide


@dataclass(frozen=True, slots=True)
class RuleSet:
    version: str
    allowed_lateness: int  # seconds
    rules: tuple[Rule, ...]


def seconds(text: str) -> int:
    match = _DURATION.match(text)
    if not match:
        raise RulesError(f"{text!r} is not a duration such as 90s, 5m, 1h or 7d")
    return int(match.group(1)) * _SECONDS[match.group(2)]


def load_rules(path: Path | None = None) -> RuleSet:
    """The package's default rules, or the file at ``path``."""
    source = path or resources.files("sahelwatch") / "knowledge" / "rules.toml"
    raw = read_bounded(source, MAX_RULES_BYTES, RulesError)
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RulesError(f"{source}: not valid TOML ({exc})") from None
    defaults = data.pop("defaults", {}) if isinstance(data.get("defaults"), dict) else {}
    if isinstance(data.get("rules"), list):
        data["rules"] = [defaults | rule if isinstance(rule, dict) else rule for rule in data["rules"]]
    schema = orjson.loads((resources.files("sahelwatch") / "schemas" / "knowledge" / "rules.schema.json").read_bytes())
    for error in jsonschema_rs.Draft202012Validator(schema).iter_errors(data):
        parts = list(error.instance_path)
        if len(parts) >= 2 and parts[0] == "rules" and isinstance(parts[1], int):
            rule = data["rules"][parts[1]]
            name = rule.get("id", f"#{parts[1] + 1}") if isinstance(rule, dict) else f"#{parts[1] + 1}"
            where, parts = f"rule {name!r}", parts[2:]
        else:
            where = "file"
        field = "/".join(map(str, parts))
        raise RulesError(f"{source}: {where}: {field + ': ' if field else ''}{error.message}")
    rules = tuple(_rule(entry, str(source)) for entry in data["rules"])
    ids = [rule.id for rule in rules]
    if len(set(ids)) != len(ids):
        raise RulesError(f"{source}: rule ids must be unique: {sorted({i for i in ids if ids.count(i) > 1})}")
    return RuleSet(data["version"], seconds(data.get("allowed_lateness", "10m")), rules)


def _rule(entry: dict[str, Any], source: str) -> Rule:
    name = entry["id"]
    window, slide = seconds(entry.get("window", "1h")), seconds(entry.get("slide", "5m"))
    if window % slide:
        raise RulesError(f"{source}: rule {name!r}: window must be a whole number of slides")
    kind = entry["kind"]
    if kind == "keyword" and "category" not in entry:
        raise RulesError(f"{source}: rule {name!r}: a keyword rule needs a category")
    if kind in ("actor", "surge") and not entry.get("actors"):
        raise RulesError(f"{source}: rule {name!r}: an {kind} rule needs actors")
    if kind == "surge" and ("ratio" not in entry or "baseline_windows" not in entry):
        raise RulesError(f"{source}: rule {name!r}: a surge rule needs ratio and baseline_windows")
    severities = tuple(Severity(s["name"], s["at"]) for s in entry.get("severities", [{"name": "warning", "at": 1.0}]))
    if [s.at for s in severities] != sorted(s.at for s in severities):
        raise RulesError(f"{source}: rule {name!r}: severities must be in ascending order")
    return Rule(
        id=name,
        kind=kind,
        topic=entry["topic"],
        threshold=entry["threshold"],
        window=window,
        slide=slide,
        countries=tuple(entry.get("countries", ["any"])),
        min_sources=entry.get("min_sources", 1),
        min_relevance=entry.get("min_relevance", 0.0),
        severities=severities,
        cooldown=seconds(entry.get("cooldown", "6h")),
        resolve_below=entry.get("resolve_below", 0.5),
        category=entry.get("category"),
        actors=tuple(entry.get("actors", ())),
        ratio=entry.get("ratio", 1.0),
        baseline_windows=entry.get("baseline_windows", 0),
    )
