from pathlib import Path

import pytest

from sahelwatch.config import DOCUMENTED, ConfigError, Settings, load_settings


def test_defaults_match_the_documented_table() -> None:
    settings = load_settings({})
    assert settings == Settings()
    assert DOCUMENTED["BROKER"][1] == settings.broker
    assert DOCUMENTED["PARTITIONS"][1] == str(settings.partitions)
    assert DOCUMENTED["MAX_MESSAGE_BYTES"][1] == str(settings.max_message_bytes)
    assert DOCUMENTED["TOPIC_RAW"][1] == settings.topics.raw


def test_environment_overrides() -> None:
    settings = load_settings(
        {
            "SAHELWATCH_BROKER": "kafka://10.0.0.1:9092,10.0.0.2:9092",
            "SAHELWATCH_TOPIC_RAW": "in.articles",
            "SAHELWATCH_PARTITIONS": "8",
            "SAHELWATCH_STORE": "memory://",
            "SAHELWATCH_CREATE_TOPICS": "false",
            "SAHELWATCH_INTAKE_PROCESSES": "3",
        }
    )
    assert settings.bootstrap_servers == ["10.0.0.1:9092", "10.0.0.2:9092"]
    assert settings.faust_broker == "kafka://10.0.0.1:9092;kafka://10.0.0.2:9092"
    assert settings.topics.raw == "in.articles"
    assert settings.partitions == 8
    assert settings.store == "memory://"
    assert settings.create_topics is False
    assert settings.intake_processes == 3


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"SAHELWATCH_PARTITIONS": "four"}, "SAHELWATCH_PARTITIONS"),
        ({"SAHELWATCH_PARTITIONS": "0"}, "SAHELWATCH_PARTITIONS"),
        ({"SAHELWATCH_WEB_PORT": "70000"}, "SAHELWATCH_WEB_PORT"),
        ({"SAHELWATCH_INTAKE_PROCESSES": "0"}, "SAHELWATCH_INTAKE_PROCESSES"),
        ({"SAHELWATCH_BROKER": "localhost"}, "SAHELWATCH_BROKER"),
        ({"SAHELWATCH_STORE": "redis://"}, "SAHELWATCH_STORE"),
        ({"SAHELWATCH_TOPIC_TAGGED": "bad topic!"}, "SAHELWATCH_TOPIC_TAGGED"),
        ({"SAHELWATCH_TOPIC_TAGGED": "articles.raw"}, "distinct"),
        ({"SAHELWATCH_CREATE_TOPICS": "maybe"}, "SAHELWATCH_CREATE_TOPICS"),
        ({"SAHELWATCH_SECURITY_PROTOCOL": "SASL_PLAINTEXT"}, "SAHELWATCH_SASL_MECHANISM"),
        (
            {"SAHELWATCH_SECURITY_PROTOCOL": "SASL_SSL", "SAHELWATCH_SASL_MECHANISM": "SCRAM-SHA-512"},
            "SAHELWATCH_SASL_USERNAME",
        ),
        ({"SAHELWATCH_SSL_CAFILE": "/nonexistent/ca.pem"}, "SAHELWATCH_SSL_CAFILE"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigError, match=names):
        load_settings(env)


def test_sasl_password_from_file_is_not_in_repr(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("s3cret\n")
    settings = load_settings(
        {
            "SAHELWATCH_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "SAHELWATCH_SASL_MECHANISM": "SCRAM-SHA-512",
            "SAHELWATCH_SASL_USERNAME": "worker",
            "SAHELWATCH_SASL_PASSWORD_FILE": str(secret),
        }
    )
    assert settings.security.sasl_password == "s3cret"
    assert "s3cret" not in repr(settings)
