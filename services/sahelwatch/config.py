"""Settings from the environment (``SAHELWATCH_*``), validated once at start-up.

Every knob has a default that works on the local broker of ``make kafka-up``, so
nothing needs setting for the demo; deployments override what differs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

PREFIX = "SAHELWATCH_"

_TOPIC_NAME = re.compile(r"^[A-Za-z0-9._-]{1,249}$")
_SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
_SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Topics:
    raw: str = "articles.raw"
    tagged: str = "articles.tagged"
    duplicates: str = "articles.duplicates"
    deadletter: str = "articles.deadletter"
    alerts_actors: str = "alerts.actors"
    alerts_intervention: str = "alerts.intervention"

    def all(self) -> tuple[str, ...]:
        return tuple(getattr(self, f.name) for f in fields(self))

    def alerts(self) -> tuple[str, ...]:
        return (self.alerts_actors, self.alerts_intervention)


@dataclass(frozen=True)
class Security:
    """Kafka client security, shared by the worker and the CLI."""

    protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None

    @property
    def uses_sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    @property
    def uses_ssl(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")


@dataclass(frozen=True)
class Settings:
    broker: str = "127.0.0.1:9092"
    app_id: str = "sahelwatch"
    topics: Topics = Topics()
    partitions: int = 4
    replication_factor: int = 1
    create_topics: bool = True
    store: str = "rocksdb://"
    data_dir: Path = Path(".local/worker")
    web_host: str = "127.0.0.1"
    web_port: int = 6066
    max_message_bytes: int = 2 * 1024 * 1024
    dedup_retention_hours: int = 168
    session_timeout_seconds: int = 30
    intake_processes: int = 1
    rules_file: Path | None = None
    log_level: str = "info"
    security: Security = Security()

    @property
    def bootstrap_servers(self) -> list[str]:
        """host:port pairs, without Faust's ``kafka://`` scheme."""
        return [s.removeprefix("kafka://") for s in self.broker.split(",")]

    @property
    def faust_broker(self) -> str:
        return ";".join(f"kafka://{s}" for s in self.bootstrap_servers)


# name -> (help, default as text); the README's configuration table mirrors this.
DOCUMENTED: dict[str, tuple[str, str]] = {
    "BROKER": ("Kafka bootstrap servers, comma-separated host:port", "127.0.0.1:9092"),
    "APP_ID": ("Faust application id: consumer group and prefix of internal topics", "sahelwatch"),
    "TOPIC_RAW": ("Input topic of articles", "articles.raw"),
    "TOPIC_TAGGED": ("Output topic of processed first occurrences", "articles.tagged"),
    "TOPIC_DUPLICATES": ("Output topic of duplicates", "articles.duplicates"),
    "TOPIC_DEADLETTER": ("Dead-letter topic for refused input", "articles.deadletter"),
    "TOPIC_ALERTS_ACTORS": ("Alert topic for actor rules", "alerts.actors"),
    "TOPIC_ALERTS_INTERVENTION": ("Alert topic for intervention-language rules", "alerts.intervention"),
    "PARTITIONS": ("Partitions of the input and output topics at creation", "4"),
    "REPLICATION_FACTOR": ("Replication factor of created topics", "1"),
    "CREATE_TOPICS": ("Create missing topics when the worker starts (true/false)", "true"),
    "STORE": ("Table store: rocksdb:// (durable, default) or memory://", "rocksdb://"),
    "DATA_DIR": ("Folder of the worker's table stores", ".local/worker"),
    "WEB_HOST": ("Address the worker's HTTP server binds (/health, /metrics)", "127.0.0.1"),
    "WEB_PORT": ("Port of the worker's HTTP server", "6066"),
    "MAX_MESSAGE_BYTES": ("Largest accepted input message; larger ones are dead-lettered", "2097152"),
    "DEDUP_RETENTION_HOURS": ("How long, in event time, an article is remembered for deduplication", "168"),
    "INTAKE_PROCESSES": ("Processes a worker cleans and tags articles in, beside its event loop", "1"),
    "SESSION_TIMEOUT_SECONDS": ("How long the group waits for a silent worker before moving its partitions", "30"),
    "RULES_FILE": ("Alert rules (TOML); the package's rules.toml when unset", ""),
    "LOG_LEVEL": ("debug, info, warning or error", "info"),
    "SECURITY_PROTOCOL": ("PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL", "PLAINTEXT"),
    "SASL_MECHANISM": ("PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (with a SASL protocol)", ""),
    "SASL_USERNAME": ("SASL user name", ""),
    "SASL_PASSWORD": ("SASL password (or SASL_PASSWORD_FILE: a file holding it); never logged", ""),
    "SSL_CAFILE": ("PEM file of the CA that signed the broker's certificate", ""),
    "SSL_CERTFILE": ("PEM client certificate, for mutual TLS", ""),
    "SSL_KEYFILE": ("PEM client key, for mutual TLS", ""),
}


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(PREFIX + name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def _int(env: Mapping[str, str], name: str, default: int, minimum: int, maximum: int) -> int:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{PREFIX}{name}={raw!r} is not an integer") from None
    if not minimum <= value <= maximum:
        raise ConfigError(f"{PREFIX}{name}={value} is outside {minimum}..{maximum}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = _get(env, name)
    if raw is None:
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{PREFIX}{name}={raw!r} is not a boolean (true/false)")


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = _get(env, name)
    if raw is None:
        return default
    if raw not in choices:
        raise ConfigError(f"{PREFIX}{name}={raw!r} must be one of {', '.join(choices)}")
    return raw


def _topics(env: Mapping[str, str]) -> Topics:
    values: dict[str, Any] = {}
    for f in fields(Topics):
        name = f"TOPIC_{f.name.upper()}"
        raw = _get(env, name)
        if raw is None:
            continue
        if not _TOPIC_NAME.match(raw):
            raise ConfigError(f"{PREFIX}{name}={raw!r} is not a valid Kafka topic name")
        values[f.name] = raw
    topics = Topics(**values)
    if len(set(topics.all())) != len(topics.all()):
        raise ConfigError("the SAHELWATCH_TOPIC_* settings must name distinct topics")
    return topics


def _existing_file(env: Mapping[str, str], name: str) -> str | None:
    raw = _get(env, name)
    if raw is not None and not Path(raw).is_file():
        raise ConfigError(f"{PREFIX}{name}={raw!r}: no such file")
    return raw


def _security(env: Mapping[str, str]) -> Security:
    protocol = _choice(env, "SECURITY_PROTOCOL", "PLAINTEXT", _SECURITY_PROTOCOLS)
    password = _get(env, "SASL_PASSWORD")
    password_file = _existing_file(env, "SASL_PASSWORD_FILE")
    if password_file is not None:
        password = Path(password_file).read_text(encoding="utf-8").strip()
    security = Security(
        protocol=protocol,
        sasl_mechanism=_get(env, "SASL_MECHANISM"),
        sasl_username=_get(env, "SASL_USERNAME"),
        sasl_password=password,
        ssl_cafile=_existing_file(env, "SSL_CAFILE"),
        ssl_certfile=_existing_file(env, "SSL_CERTFILE"),
        ssl_keyfile=_existing_file(env, "SSL_KEYFILE"),
    )
    if security.uses_sasl:
        if security.sasl_mechanism not in _SASL_MECHANISMS:
            raise ConfigError(
                f"{PREFIX}SASL_MECHANISM must be one of {', '.join(_SASL_MECHANISMS)} "
                f"with {PREFIX}SECURITY_PROTOCOL={protocol}"
            )
        if not security.sasl_username or not security.sasl_password:
            raise ConfigError(
                f"{PREFIX}SASL_USERNAME and {PREFIX}SASL_PASSWORD (or _FILE) are required "
                f"with {PREFIX}SECURITY_PROTOCOL={protocol}"
            )
    return security


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings; raise ConfigError naming the bad variable."""
    env = os.environ if env is None else env
    broker = _get(env, "BROKER") or Settings.broker
    for server in broker.split(","):
        host, _, port = server.strip().removeprefix("kafka://").rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"{PREFIX}BROKER={broker!r}: expected host:port[,host:port...]")
    app_id = _get(env, "APP_ID") or Settings.app_id
    if not _TOPIC_NAME.match(app_id):
        raise ConfigError(f"{PREFIX}APP_ID={app_id!r} may hold only letters, digits, '.', '_' and '-'")
    store = _get(env, "STORE") or Settings.store
    if store not in ("rocksdb://", "memory://"):
        raise ConfigError(f"{PREFIX}STORE={store!r} must be rocksdb:// or memory://")
    return Settings(
        broker=broker,
        app_id=app_id,
        topics=_topics(env),
        partitions=_int(env, "PARTITIONS", Settings.partitions, 1, 1024),
        replication_factor=_int(env, "REPLICATION_FACTOR", Settings.replication_factor, 1, 16),
        create_topics=_bool(env, "CREATE_TOPICS", Settings.create_topics),
        store=store,
        data_dir=Path(_get(env, "DATA_DIR") or Settings.data_dir),
        web_host=_get(env, "WEB_HOST") or Settings.web_host,
        web_port=_int(env, "WEB_PORT", Settings.web_port, 1, 65535),
        max_message_bytes=_int(env, "MAX_MESSAGE_BYTES", Settings.max_message_bytes, 1024, 64 * 1024 * 1024),
        dedup_retention_hours=_int(env, "DEDUP_RETENTION_HOURS", Settings.dedup_retention_hours, 1, 24 * 366),
        session_timeout_seconds=_int(env, "SESSION_TIMEOUT_SECONDS", Settings.session_timeout_seconds, 6, 300),
        intake_processes=_int(env, "INTAKE_PROCESSES", Settings.intake_processes, 1, 64),
        rules_file=Path(rules) if (rules := _existing_file(env, "RULES_FILE")) else None,
        log_level=_choice(env, "LOG_LEVEL", Settings.log_level, ("debug", "info", "warning", "error")),
        security=_security(env),
    )
