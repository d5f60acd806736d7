"""kafka-python's failed connections: their reasons are kept, their retries are not printed, and a
CLI failure ends with one line that carries them."""

from __future__ import annotations

import logging

import pytest
from kafka.errors import KafkaConnectionError, KafkaTimeoutError

from sahelwatch.cli import main
from sahelwatch.clients import ConnectionErrors, connection_errors

NET = logging.getLogger("kafka.net.manager")
UNTRUSTED = KafkaConnectionError("Handshake failed: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
DISCONNECTED = KafkaConnectionError("socket disconnected")


def failed(*reasons: BaseException) -> None:
    """What kafka-python logs for each failed bootstrap attempt, then when it gives up."""
    for reason in reasons:
        NET.warning("Bootstrap connection to %s failed: %s (backoff %.2f secs)", "bootstrap-0", reason, 0.1)
    NET.error("Bootstrap failed: %s", KafkaTimeoutError("Unable to bootstrap"))


def test_reasons_are_distinct_latest_last_and_limited() -> None:
    seen = ConnectionErrors()
    for reason in (UNTRUSTED, DISCONNECTED, UNTRUSTED, KafkaConnectionError("111 ECONNREFUSED")):
        seen.handle(logging.LogRecord("kafka.net", logging.ERROR, __file__, 1, "failed: %s", (reason,), None))
    assert seen.summary() == f"{DISCONNECTED}; {UNTRUSTED}; KafkaConnectionError: 111 ECONNREFUSED"
    assert seen.summary(limit=1) == "KafkaConnectionError: 111 ECONNREFUSED"


def test_the_final_timeout_and_messages_without_an_exception_are_no_reasons() -> None:
    seen = ConnectionErrors()
    for args in ((KafkaTimeoutError("Unable to bootstrap"),), ("bootstrap-0", 0.1), None):
        seen.handle(logging.LogRecord("kafka.net", logging.WARNING, __file__, 1, "msg", args, None))
    assert seen.summary() == ""


def test_retries_are_kept_out_of_the_output_while_collecting(caplog: pytest.LogCaptureFixture) -> None:
    with connection_errors() as seen:
        failed(UNTRUSTED)
    assert seen.summary() == str(UNTRUSTED)
    assert caplog.records == []
    failed(DISCONNECTED)  # outside: printed as before, no longer collected
    assert seen.summary() == str(UNTRUSTED)
    assert len(caplog.records) == 2


def test_retries_are_still_printed_when_asked(caplog: pytest.LogCaptureFixture) -> None:
    with connection_errors(show=True) as seen:
        failed(UNTRUSTED)
    assert seen.summary() == str(UNTRUSTED)
    assert [r.levelname for r in caplog.records] == ["WARNING", "ERROR"]


def test_a_kafka_failure_ends_the_cli_with_one_line_and_its_reasons(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refused(settings: object) -> None:
        failed(UNTRUSTED, DISCONNECTED)
        raise KafkaTimeoutError("Unable to bootstrap from ['127.0.0.1:9093']")

    monkeypatch.setattr("sahelwatch.cli.topics.ensure_topics", refused)
    assert main(["topics", "create"]) == 1
    assert capsys.readouterr().err == (
        "sahelwatch: Kafka error: KafkaTimeoutError: Unable to bootstrap from ['127.0.0.1:9093'] "
        f"(connection errors: {UNTRUSTED}; {DISCONNECTED})\n"
    )
