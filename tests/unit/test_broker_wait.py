"""The worker waits for an unreachable broker (capped exponential backoff, one line per attempt, stopped
quietly by SIGTERM or Ctrl-C) but fails at once, with the usual one-line error, when the broker refuses it."""

from __future__ import annotations

import logging
import os
import signal
import socket
import ssl
import threading
from collections.abc import Callable
from typing import Any

import pytest
from kafka.errors import (
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    SaslAuthenticationFailedError,
    UnsupportedSaslMechanismError,
)

from sahelwatch.cli import main
from sahelwatch.cli.broker_wait import fetch_metadata, refused, wait_for_broker
from sahelwatch.config import Settings

NET = logging.getLogger("kafka.net.manager")
SETTINGS = Settings(broker="kafka-0.example:9092,kafka-1.example:9092")
WHERE = "kafka-0.example:9092,kafka-1.example:9092"
CONNECTION_REFUSED = KafkaConnectionError("111 ECONNREFUSED")
WRONG_PASSWORD = SaslAuthenticationFailedError("Authentication failed: Invalid username or password")
GIVE_UP = KafkaTimeoutError(f"Unable to bootstrap from {WHERE}")


def wrapped(cause: BaseException) -> KafkaConnectionError:
    """What kafka-python raises for a failed TLS handshake: its own error, the ssl error as context."""
    try:
        raise cause
    except BaseException as exc:
        try:
            raise KafkaConnectionError(f"Handshake failed: {exc}")  # implicitly chained, as kafka-python does
        except KafkaConnectionError as outer:
            return outer


UNTRUSTED = wrapped(ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"))
BAD_CERTIFICATE = ssl.SSLError(1, "[SSL: SSLV3_ALERT_BAD_CERTIFICATE] sslv3 alert bad certificate")


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(WRONG_PASSWORD, id="authentication failed"),
        pytest.param(UnsupportedSaslMechanismError("PLAIN not enabled"), id="mechanism not enabled"),
        pytest.param(UNTRUSTED, id="untrusted certificate"),
        pytest.param(wrapped(BAD_CERTIFICATE), id="alert from the broker"),
        pytest.param(wrapped(ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")), id="not TLS"),
    ],
)
def test_a_broker_that_answers_no_has_refused(failure: BaseException) -> None:
    assert refused(failure)


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(CONNECTION_REFUSED, id="nothing listening"),
        pytest.param(KafkaConnectionError("DNS Resolution failure"), id="name not resolved yet"),
        pytest.param(KafkaConnectionError("socket disconnected"), id="disconnected"),
        pytest.param(GIVE_UP, id="timeout"),
        pytest.param(wrapped(ssl.SSLEOFError(8, "[SSL: UNEXPECTED_EOF_WHILE_READING] EOF")), id="TLS cut short"),
        pytest.param(wrapped(ConnectionResetError(104, "Connection reset by peer")), id="reset"),
    ],
)
def test_a_broker_out_of_reach_has_not_refused(failure: BaseException) -> None:
    assert not refused(failure)


def test_a_cyclic_chain_of_causes_ends() -> None:
    first, second = KafkaConnectionError("a"), KafkaConnectionError("b")
    first.__context__, second.__context__ = second, first
    assert not refused(first)


def failing(*logged: BaseException, then: KafkaError = GIVE_UP, times: int = 1_000) -> Callable[[Settings], None]:
    """An attempt that fails ``times`` times as kafka-python does (the reasons logged, then a
    timeout raised), then succeeds."""
    calls = iter(range(times))

    def attempt(settings: Settings) -> None:
        assert settings is SETTINGS
        if next(calls, None) is None:
            return
        for reason in logged:
            NET.warning("Bootstrap connection to %s failed: %s (backoff %.2f secs)", "bootstrap-0", reason, 0.1)
        NET.error("Bootstrap failed: %s", then)
        raise then

    return attempt


class Sleeps(list[float]):
    """A sleep that only records how long it was asked to sleep (and ends a wait that would not)."""

    def __call__(self, seconds: float) -> None:
        assert len(self) < 50, f"still waiting after {len(self)} attempts"
        self.append(seconds)


def test_it_waits_with_a_capped_exponential_backoff_and_says_why(capsys: pytest.CaptureFixture[str]) -> None:
    sleeps = Sleeps()
    assert wait_for_broker(SETTINGS, failing(CONNECTION_REFUSED, times=7), sleeps) is True
    assert sleeps == [1, 2, 4, 8, 15, 15, 15]
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        f"sahelwatch: waiting for Kafka at {WHERE}: KafkaConnectionError: 111 ECONNREFUSED (next try in {s:g} s)"
        for s in sleeps
    ]


def test_the_reason_is_the_latest_of_the_attempt_or_else_its_error(capsys: pytest.CaptureFixture[str]) -> None:
    rounds = iter([(KafkaConnectionError("DNS Resolution failure"), CONNECTION_REFUSED), ()])

    def attempt(settings: Settings) -> None:
        logged = next(rounds, None)
        if logged is not None:  # then the broker answers
            failing(*logged, times=1)(settings)

    assert wait_for_broker(SETTINGS, attempt, Sleeps()) is True
    assert [line.split(": ", 2)[2] for line in capsys.readouterr().err.splitlines()] == [
        "KafkaConnectionError: 111 ECONNREFUSED (next try in 1 s)",
        f"{GIVE_UP} (next try in 2 s)",
    ]


def test_an_attempt_that_succeeds_at_once_says_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    sleeps = Sleeps()
    assert wait_for_broker(SETTINGS, failing(times=0), sleeps) is True
    assert sleeps == []
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    "logged",
    [
        pytest.param((CONNECTION_REFUSED, WRONG_PASSWORD), id="wrong password"),
        pytest.param((UNTRUSTED,), id="untrusted certificate"),
    ],
)
def test_a_refusal_is_raised_at_once(logged: tuple[BaseException, ...], capsys: pytest.CaptureFixture[str]) -> None:
    sleeps = Sleeps()
    with pytest.raises(KafkaTimeoutError) as raised:
        wait_for_broker(SETTINGS, failing(*logged), sleeps)
    assert raised.value is GIVE_UP
    assert sleeps == []
    assert capsys.readouterr().err == ""


def test_a_refusal_logged_as_the_records_exception_is_raised_at_once() -> None:
    """A TLS alert received after the handshake (the broker refused the client certificate) is logged
    with a traceback, not as an argument."""

    def attempt(settings: Settings) -> None:
        try:
            raise BAD_CERTIFICATE
        except ssl.SSLError:
            logging.getLogger("kafka.net.transport").exception("Error receiving network data closing socket")
        raise GIVE_UP

    sleeps = Sleeps()
    with pytest.raises(KafkaTimeoutError):
        wait_for_broker(SETTINGS, attempt, sleeps)
    assert sleeps == []


def test_a_refusal_raised_by_the_attempt_is_raised_again() -> None:
    with pytest.raises(SaslAuthenticationFailedError):
        wait_for_broker(SETTINGS, failing(then=WRONG_PASSWORD), Sleeps())


def send(sig: signal.Signals) -> Callable[..., None]:
    """A stand-in for an attempt or a sleep during which ``sig`` arrives."""

    def deliver(*args: Any, **kwargs: Any) -> None:
        os.kill(os.getpid(), sig)
        raise AssertionError("the signal handler should have interrupted this")

    return deliver


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_while_sleeping_stops_the_wait_quietly(
    sig: signal.Signals, capsys: pytest.CaptureFixture[str]
) -> None:
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    assert wait_for_broker(SETTINGS, failing(CONNECTION_REFUSED), send(sig)) is False
    assert {s: signal.getsignal(s) for s in before} == before, "the previous handlers are back"
    assert len(capsys.readouterr().err.splitlines()) == 1  # the one attempt's line, nothing after


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_an_attempt_stops_the_wait_quietly(sig: signal.Signals) -> None:
    sleeps = Sleeps()
    assert wait_for_broker(SETTINGS, send(sig), sleeps) is False
    assert sleeps == []


def test_a_failed_attempt_leaves_no_thread_behind() -> None:
    """kafka-python's admin client leaves its network thread running when its bootstrap fails."""
    with socket.socket() as sock:  # a port nothing listens on: connections are refused
        sock.bind(("127.0.0.1", 0))
        closed = Settings(broker=f"127.0.0.1:{sock.getsockname()[1]}")
    threads = threading.active_count()
    for _ in range(3):
        with pytest.raises(KafkaTimeoutError):
            fetch_metadata(closed, timeout=0.3)
    assert threading.active_count() == threads


class RefusingAdminClient:
    """kafka-python's admin client against a broker that refuses the password."""

    def __init__(self, **configs: Any) -> None:
        failing(WRONG_PASSWORD)(SETTINGS)


def test_the_worker_refused_ends_with_the_usual_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SAHELWATCH_BROKER", WHERE)
    monkeypatch.setattr("sahelwatch.cli.broker_wait.KafkaAdminClient", RefusingAdminClient)
    assert main(["worker"]) == 1
    assert capsys.readouterr().err == (f"sahelwatch: Kafka error: {GIVE_UP} (connection errors: {WRONG_PASSWORD})\n")


def test_the_worker_stopped_while_waiting_exits_0(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SAHELWATCH_BROKER", WHERE)
    monkeypatch.setattr("sahelwatch.cli.broker_wait.KafkaAdminClient", send(signal.SIGTERM))
    assert main(["worker"]) == 0
    assert capsys.readouterr().err == ""
