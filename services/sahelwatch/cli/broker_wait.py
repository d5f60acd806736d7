"""The worker waits for its broker instead of giving up.

Supervisors (compose, Kubernetes, systemd) routinely start a worker before its broker,
and kafka-python or aiokafka would give up after one bootstrap timeout. So the worker
first asks for the cluster's metadata, again and again with a capped exponential backoff,
one line per failed attempt, for as long as it takes; SIGTERM or Ctrl-C meanwhile is a
request to stop, not a failure. A broker that is reached but refuses us (an untrusted
certificate, a refused client certificate, wrong credentials) is another matter: waiting
would not change its mind, so the failure is raised at once, as the existing one-line error.
"""

from __future__ import annotations

import logging
import signal
import ssl
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any, NoReturn

from kafka import KafkaAdminClient
from kafka.errors import (
    AuthorizationError,
    IllegalSaslStateError,
    KafkaError,
    SaslAuthenticationFailedError,
    UnsupportedSaslMechanismError,
)
from kafka.net.compat import KafkaNetClient

from sahelwatch.clients import ConnectionErrors, connection_options
from sahelwatch.config import Settings

FIRST_DELAY = 1.0  # seconds between the first failed attempt and the next
MAX_DELAY = 15.0
#: One attempt's bootstrap: ample for a TCP, TLS and SASL handshake and a metadata request.
ATTEMPT_SECONDS = 5.0

#: The broker answered and said no.
_REFUSALS = (SaslAuthenticationFailedError, UnsupportedSaslMechanismError, IllegalSaslStateError, AuthorizationError)
#: TLS errors of the transport (a broker going away mid-handshake), not of the certificates or the protocol.
_SSL_TRANSPORT = (ssl.SSLEOFError, ssl.SSLSyscallError, ssl.SSLZeroReturnError)


class StopRequested(BaseException):
    """SIGTERM or SIGINT while waiting. A BaseException, so that no ``except Exception`` swallows it."""


def refused(exc: BaseException) -> bool:
    """Whether the failure says the broker was reached and refused us, not that it is unreachable.

    kafka-python wraps a failed TLS handshake in a KafkaConnectionError whose context is the
    ssl error, so the chain is searched. Any ssl error but a transport one is a refusal: an
    untrusted or mismatching certificate, an alert from the broker (bad certificate), TLS
    spoken to a listener that does not speak it.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _REFUSALS):
            return True
        if isinstance(current, ssl.SSLError) and not isinstance(current, _SSL_TRANSPORT):
            return True
        current = current.__cause__ or current.__context__
    return False


class AttemptErrors(ConnectionErrors):
    """The reasons of one attempt's failed connections, and the first that is a refusal.

    kafka-python's bootstrap retries a refused connection like an unreachable one until its
    timeout and then raises the same "Unable to bootstrap": only its log records tell them
    apart, some with the exception among their arguments (what ConnectionErrors keeps), some
    (a TLS alert received after the handshake) as the record's exc_info.
    """

    def __init__(self) -> None:
        super().__init__()
        self.refusal: BaseException | None = None

    def emit(self, record: logging.LogRecord) -> None:
        super().emit(record)
        raised = [a for a in record.args if isinstance(a, BaseException)] if isinstance(record.args, tuple) else []
        if record.exc_info and record.exc_info[1] is not None:
            raised.append(record.exc_info[1])
        if self.refusal is None:
            self.refusal = next((e for e in raised if refused(e)), None)


@contextmanager
def attempt_errors() -> Iterator[AttemptErrors]:
    """Collect one attempt's failed connections from kafka-python's ``kafka.net`` logs, the logger
    ``clients.connection_errors`` watches; what is printed of them is left as that one decided."""
    logger, handler = logging.getLogger("kafka.net"), AttemptErrors()
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def fetch_metadata(settings: Settings, timeout: float = ATTEMPT_SECONDS) -> None:
    """Bootstrap a kafka-python admin client (one metadata request) and close it; raises KafkaError.

    A KafkaAdminClient whose bootstrap fails raises from its constructor and leaves its network
    thread running (kafka-python 3.0.12): the client is made through its ``kafka_client`` hook so
    that it can be closed whatever happens, or a long outage would pile up threads and sockets.
    """
    made: list[KafkaNetClient] = []

    def client(**configs: Any) -> KafkaNetClient:
        made.append(KafkaNetClient(**configs))
        return made[-1]

    try:
        KafkaAdminClient(
            bootstrap_timeout_ms=int(timeout * 1000), kafka_client=client, **connection_options(settings)
        ).close()
    finally:
        for net_client in made:
            net_client.close()


def _stop(signum: int, frame: FrameType | None) -> NoReturn:
    raise StopRequested


@contextmanager
def _stopped_by_signals() -> Iterator[None]:
    """SIGTERM and SIGINT raise StopRequested; their handlers are restored after (Faust sets its own)."""
    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            if handler is not None:
                signal.signal(sig, handler)


def wait_for_broker(
    settings: Settings,
    attempt: Callable[[Settings], None] = fetch_metadata,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Until ``attempt`` reaches the broker: True then, False if SIGTERM or SIGINT came first.

    Raises the attempt's KafkaError when the broker refused us (see ``refused``).
    """
    try:
        with _stopped_by_signals():
            _retry(settings, attempt, sleep)
            return True
    except StopRequested:
        return False


def _retry(settings: Settings, attempt: Callable[[Settings], None], sleep: Callable[[float], None]) -> None:
    where = ",".join(settings.bootstrap_servers)
    delay = FIRST_DELAY
    while True:
        with attempt_errors() as errors:
            try:
                attempt(settings)
                return
            except KafkaError as exc:
                failure = exc
        if errors.refusal is not None or refused(failure):
            raise failure
        reason = errors.summary(limit=1) or str(failure)
        print(f"sahelwatch: waiting for Kafka at {where}: {reason} (next try in {delay:g} s)", file=sys.stderr)
        sleep(delay)
        delay = min(2 * delay, MAX_DELAY)
