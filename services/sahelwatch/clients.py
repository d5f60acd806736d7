"""kafka-python clients for the CLI side (publish, subscribe, topic admin).

One place builds their connection options from the settings, so the CLI, the
tests and the worker's topic set-up reach the broker the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError, TopicAlreadyExistsError, for_code

from sahelwatch.config import Settings

#: Room for oversized input to reach the worker, which refuses it with a reason.
MAX_REQUEST_BYTES = 16 * 1024 * 1024


def connection_options(settings: Settings) -> dict[str, Any]:
    sec = settings.security
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "security_protocol": sec.protocol,
        "client_id": f"{settings.app_id}-cli",
    }
    if sec.uses_sasl:
        options |= {
            "sasl_mechanism": sec.sasl_mechanism,
            "sasl_plain_username": sec.sasl_username,
            "sasl_plain_password": sec.sasl_password,
        }
    if sec.uses_ssl:
        options |= {
            "ssl_cafile": sec.ssl_cafile,
            "ssl_certfile": sec.ssl_certfile,
            "ssl_keyfile": sec.ssl_keyfile,
            "ssl_check_hostname": True,
        }
    return options


class ConnectionErrors(logging.Handler):
    """Why kafka-python's connections failed, kept from its log records.

    kafka-python logs every failed connection attempt (TLS alerts with a traceback) while it
    retries, then gives up with only "Unable to bootstrap": the reason (an untrusted broker
    certificate, a refused password) is in those records, as the exception among their arguments.
    """

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self._reasons: dict[str, None] = {}  # distinct reasons, the latest last

    def emit(self, record: logging.LogRecord) -> None:
        for arg in record.args if isinstance(record.args, tuple) else ():
            # The final "Unable to bootstrap" (a timeout) is the verdict, raised anyway: not a reason.
            if isinstance(arg, BaseException) and not isinstance(arg, KafkaTimeoutError):
                self._reasons.pop(str(arg), None)
                self._reasons[str(arg)] = None

    def summary(self, limit: int = 3) -> str:
        """The ``limit`` latest distinct reasons, oldest first ("" if none)."""
        return "; ".join(list(self._reasons)[-limit:])


@contextmanager
def connection_errors(show: bool = False) -> Iterator[ConnectionErrors]:
    """Collect the reasons of failed connections instead of printing kafka-python's retries
    (``kafka.net`` logs); with ``show`` they are printed as well."""
    logger = logging.getLogger("kafka.net")
    handler, propagate = ConnectionErrors(), logger.propagate
    logger.addHandler(handler)
    logger.propagate = show
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def producer(settings: Settings) -> KafkaProducer:
    return KafkaProducer(
        acks="all",
        linger_ms=5,
        max_request_size=MAX_REQUEST_BYTES,
        **connection_options(settings),
    )


def consumer(settings: Settings, topics: list[str], from_beginning: bool) -> KafkaConsumer:
    """A group-less consumer: it reads without committing, so it disturbs no one."""
    return KafkaConsumer(
        *topics,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest" if from_beginning else "latest",
        fetch_max_bytes=MAX_REQUEST_BYTES,
        max_partition_fetch_bytes=MAX_REQUEST_BYTES,
        **connection_options(settings),
    )


@dataclass(frozen=True)
class TopicState:
    name: str
    partitions: int
    created: bool


def topic_plan(settings: Settings) -> dict[str, dict[str, Any]]:
    """Every topic the service reads or writes, with its partitions and configs."""
    t = settings.topics
    plan: dict[str, dict[str, Any]] = {}
    for name in t.all():
        configs = {}
        if name == t.raw:
            configs["max.message.bytes"] = str(MAX_REQUEST_BYTES)
        plan[name] = {
            "num_partitions": settings.partitions,
            "replication_factor": settings.replication_factor,
            "configs": configs,
        }
    return plan


def admin_client(settings: Settings) -> KafkaAdminClient:
    return KafkaAdminClient(request_timeout_ms=15000, **connection_options(settings))


def ensure_topics(settings: Settings) -> list[TopicState]:
    """Create the missing topics; existing ones are left as they are and reported."""
    admin = admin_client(settings)
    try:
        plan = topic_plan(settings)
        existing = set(admin.list_topics())
        missing = {name: spec for name, spec in plan.items() if name not in existing}
        if missing:
            response = admin.create_topics(missing, raise_errors=False, wait_for_metadata=True)
            for topic in response["topics"]:
                error = for_code(topic["error_code"])
                if error is not None and error is not TopicAlreadyExistsError and topic["error_code"] != 0:
                    raise KafkaError(
                        f"cannot create topic {topic['name']}: {error.__name__} {topic.get('error_message') or ''}"
                    )
        described = {d["name"]: len(d["partitions"]) for d in admin.describe_topics(list(plan))}
        return [TopicState(name, described.get(name, 0), name in missing) for name in plan]
    finally:
        admin.close()


def delete_topics(settings: Settings) -> list[str]:
    """Delete the service's topics and the application's internal ones (changelogs, repartitions)."""
    admin = admin_client(settings)
    try:
        ours = set(settings.topics.all())
        doomed = sorted(t for t in admin.list_topics() if t in ours or t.startswith(f"{settings.app_id}-"))
        if doomed:
            admin.delete_topics(doomed)
        return doomed
    finally:
        admin.close()
