"""``ConnectionConfig``: environment variables, explicit overrides, secrets and ``redact``."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from flowodm._secrets import MASK, redact, safe_url, scrub
from flowodm.exceptions import ConfigurationError
from flowodm.kafka.config import ConnectionConfig, build_config

SECRET = "hunter2-secret"

UPSTREAM_ENV = {
    "KAFKA_BOOTSTRAP_SERVERS": "k1:9092",
    "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
    "KAFKA_SASL_USERNAME": "alice",
    "KAFKA_SASL_PASSWORD": SECRET,
    "SCHEMA_REGISTRY_URL": "http://registry:8081",
    "SCHEMA_REGISTRY_API_KEY": "key",
    "SCHEMA_REGISTRY_API_SECRET": SECRET + "-sr",
}


def test_defaults_without_environment() -> None:
    config = build_config()

    assert config.bootstrap_servers is None
    assert config.schema_registry_url is None
    assert config.producer_config == {}
    assert 0 < config.registry_timeout <= 10
    assert config.produce_timeout > 30  # longer than the producer's message.timeout.ms


def test_reads_upstream_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in UPSTREAM_ENV.items():
        monkeypatch.setenv(name, value)

    config = build_config()

    assert config.kafka_settings() == {
        "bootstrap.servers": "k1:9092",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-256",
        "sasl.username": "alice",
        "sasl.password": SECRET,
    }
    assert config.schema_registry_url == "http://registry:8081"
    assert config.registry_auth() == {"basic.auth.user.info": f"key:{SECRET}-sr"}


def test_basic_auth_user_info_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO", f"bob:{SECRET}")

    assert build_config().registry_auth() == {"basic.auth.user.info": f"bob:{SECRET}"}


def test_flowodm_names_are_read_and_win_over_upstream(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "upstream:9092")
    monkeypatch.setenv("FLOWODM_BOOTSTRAP_SERVERS", "flowodm:9092")
    monkeypatch.setenv("FLOWODM_CLIENT_ID", "my-app")
    monkeypatch.setenv("FLOWODM_PRODUCER_CONFIG", '{"linger.ms": 20}')
    monkeypatch.setenv("FLOWODM_REGISTRY_TIMEOUT", "1.5")

    config = build_config()

    assert config.bootstrap_servers == "flowodm:9092"
    assert config.client_id == "my-app"
    assert config.producer_config == {"linger.ms": 20}
    assert config.registry_timeout == 1.5


def test_unprefixed_generic_names_are_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    # CLIENT_ID or BOOTSTRAP_SERVERS in a shell belong to someone else.
    monkeypatch.setenv("CLIENT_ID", "someone-else")
    monkeypatch.setenv("BOOTSTRAP_SERVERS", "elsewhere:9092")

    config = build_config()

    assert config.client_id is None
    assert config.bootstrap_servers is None


def test_explicit_arguments_override_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "env:9092")
    monkeypatch.setenv("SCHEMA_REGISTRY_URL", "http://env:8081")

    config = build_config(bootstrap_servers="arg:9092")

    assert config.bootstrap_servers == "arg:9092"
    assert config.schema_registry_url == "http://env:8081"


def test_none_means_not_given_and_empty_string_clears(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "env:9092")
    monkeypatch.setenv("SCHEMA_REGISTRY_URL", "http://env:8081")

    config = build_config(bootstrap_servers=None, schema_registry_url="")

    assert config.bootstrap_servers == "env:9092"
    assert config.schema_registry_url is None


def test_security_protocol_is_normalised_and_checked() -> None:
    assert build_config(security_protocol="ssl").security_protocol == "SSL"
    with pytest.raises(ConfigurationError, match="security_protocol"):
        build_config(security_protocol="TLS")


def test_unknown_argument_is_an_error_that_lists_valid_names() -> None:
    with pytest.raises(
        ConfigurationError,
        match=r"bootstrap_server.*did you mean .bootstrap_servers.*valid settings",
    ):
        build_config(bootstrap_server="x:9092")


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"sasl_username": "u", "sasl_password": SECRET}, "sasl_mechanism is not"),
        ({"sasl_mechanism": "PLAIN"}, "would not use SASL"),
        ({"schema_registry_api_key": "k"}, "must be set together"),
        (
            {
                "schema_registry_basic_auth_user_info": f"u:{SECRET}",
                "schema_registry_api_key": "k",
                "schema_registry_api_secret": SECRET,
            },
            "not both",
        ),
        ({"schema_registry_basic_auth_user_info": SECRET}, "user:password"),
        ({"registry_timeout": 0}, "registry_timeout"),
    ],
)
def test_contradictions_are_errors_without_secrets(
    arguments: dict[str, object], expected: str
) -> None:
    with pytest.raises(ConfigurationError, match=expected) as info:
        build_config(**arguments)

    assert SECRET not in str(info.value)


def test_wrong_type_of_a_secret_does_not_echo_it() -> None:
    with pytest.raises(ConfigurationError, match="sasl_password") as info:
        build_config(sasl_password=["hunter2-secret"])

    assert SECRET not in str(info.value)


def test_secrets_never_appear_in_repr_or_str() -> None:
    config = build_config(
        bootstrap_servers="k:9092",
        security_protocol="SASL_SSL",
        sasl_mechanism="PLAIN",
        sasl_username="alice",
        sasl_password=SECRET,
        ssl_key_password=SECRET + "-key",
        schema_registry_url=f"http://bob:{SECRET}-url@registry:8081",
        schema_registry_config={"ssl.key.password": SECRET + "-srkey"},
        producer_config={"sasl.password": SECRET + "-p", "linger.ms": 7},
        consumer_config={"sasl.oauthbearer.client.secret": SECRET + "-c"},
    )

    for text in (repr(config), str(config), f"{config}", f"{config!r}"):
        assert SECRET not in text
        assert "http://registry:8081" in text
        assert "'linger.ms': 7" in text
    assert isinstance(config.sasl_password, SecretStr)


def test_secret_values_lists_every_secret_for_scrubbing() -> None:
    config = build_config(
        schema_registry_url=f"http://bob:{SECRET}-url@registry:8081",
        schema_registry_basic_auth_user_info=None,
        producer_config={"sasl.password": SECRET + "-p"},
        ssl_key_password=SECRET + "-key",
    )

    secrets = config.secret_values()

    assert {SECRET + "-url", SECRET + "-p", SECRET + "-key"} <= set(secrets)


def test_config_is_frozen_and_rejects_unknown_fields() -> None:
    config = build_config(bootstrap_servers="k:9092")

    with pytest.raises(ValueError, match="frozen"):
        config.bootstrap_servers = "other:9092"  # type: ignore[misc]
    with pytest.raises(ValueError, match="Extra inputs"):
        ConnectionConfig(bootstrp_servers="x")  # type: ignore[call-arg]


def test_redact_masks_secret_keys_and_url_credentials() -> None:
    shown = redact(
        {
            "bootstrap.servers": "k:9092",
            "sasl.password": SECRET,
            "ssl.key.password": SECRET,
            "basic.auth.user.info": f"u:{SECRET}",
            "sasl.oauthbearer.client.secret": SECRET,
            "some.field": SecretStr(SECRET),
            "url": f"https://u:{SECRET}@sr:8081",
            "linger.ms": 5,
        }
    )

    assert SECRET not in repr(shown)
    assert shown["sasl.password"] == MASK
    assert shown["basic.auth.user.info"] == MASK
    assert shown["some.field"] == MASK
    assert shown["url"] == "https://sr:8081"
    assert shown["bootstrap.servers"] == "k:9092"
    assert shown["linger.ms"] == 5


def test_safe_url_strips_credentials_from_each_url() -> None:
    assert safe_url("http://a:b@h1:1,https://c:d@h2:2/x") == "http://h1:1,https://h2:2/x"
    assert safe_url("http://h:8081") == "http://h:8081"


def test_scrub_replaces_every_secret() -> None:
    text = f"failed for {SECRET} and {SECRET}x"

    assert scrub(text, [SECRET, ""]) == f"failed for {MASK} and {MASK}x"
