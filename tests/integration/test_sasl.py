"""A second local broker that demands SASL/SCRAM-SHA-512 (users added when its storage is formatted):
the worker and the CLI work with the right credentials, are refused with wrong ones, and never log
the password."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from kafka import KafkaConsumer

from tests.conftest import article
from tests.integration.conftest import SAHELWATCH, Env, LocalBroker, Worker, make_env

pytestmark = pytest.mark.integration

PASSWORD = "worker-s3cret-Zx81"


@pytest.fixture(scope="module")
def scram_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    broker = LocalBroker(
        tmp_path_factory.mktemp("scram-broker"),
        properties="listeners=SASL_PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}\n"
        "advertised.listeners=SASL_PLAINTEXT://127.0.0.1:{port}\n"
        "listener.security.protocol.map=CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT\n"
        "inter.broker.listener.name=SASL_PLAINTEXT\n"
        "sasl.enabled.mechanisms=SCRAM-SHA-512\n"
        "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512\n"
        "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config="
        'org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="broker-pw";\n',
        format_args="--add-scram SCRAM-SHA-512=[name=broker,password=broker-pw] "
        f"--add-scram SCRAM-SHA-512=[name=worker,password={PASSWORD}]",
    ).up()
    yield broker.address
    broker.down()


def secured(tmp_path_factory: pytest.TempPathFactory, broker: str, password: str) -> Env:
    credentials = {
        "SAHELWATCH_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "SAHELWATCH_SASL_MECHANISM": "SCRAM-SHA-512",
        "SAHELWATCH_SASL_USERNAME": "worker",
        "SAHELWATCH_SASL_PASSWORD": password,
    }
    return Env(make_env(tmp_path_factory, broker).vars | credentials)


def test_right_credentials_work_end_to_end(
    scram_broker: str, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    env = secured(tmp_path_factory, scram_broker, PASSWORD)
    worker = Worker(env, tmp_path / "worker.log").start()
    try:
        batch = tmp_path / "batch.jsonl"
        batch.write_bytes(orjson.dumps(article(id="secure-1", body="Convoys reached Niamey under escort.")))
        assert "sent 1" in env.run_cli("publish", str(batch)).stdout
        consumer = KafkaConsumer(
            env.settings.topics.tagged,
            bootstrap_servers=[scram_broker],
            security_protocol="SASL_PLAINTEXT",
            sasl_mechanism="SCRAM-SHA-512",
            sasl_plain_username="worker",
            sasl_plain_password=PASSWORD,
            group_id=None,
            auto_offset_reset="earliest",
            consumer_timeout_ms=30000,
        )
        ids = [orjson.loads(m.value)["id"] for m in consumer]
        consumer.close()
        assert ids == ["secure-1"]
    finally:
        assert worker.stop() == 0, worker.log()
    assert PASSWORD not in worker.log()


def test_wrong_credentials_are_refused(scram_broker: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    env = secured(tmp_path_factory, scram_broker, "not-the-password")
    refused = env.run_cli("topics", "create", check=False)
    assert refused.returncode != 0
    assert "Kafka error" in refused.stderr
    worker = subprocess.run(
        [SAHELWATCH, "worker"], env=os.environ | env.vars, capture_output=True, text=True, timeout=120
    )
    assert worker.returncode != 0
    assert "not-the-password" not in worker.stdout + worker.stderr
