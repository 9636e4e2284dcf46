"""Credentials in URLs and server lists never reach a log record, a repr or an error."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from flowodm._secrets import safe_servers
from flowodm.exceptions import ConfigurationError, SchemaRegistryError
from flowodm.kafka.config import build_config
from flowodm.kafka.connection import Connection, connect
from flowodm.model import FlowBaseModel
from flowodm.sandbox import Sandbox
from flowodm.sandbox.registry import serve
from flowodm.serde.registry import RegistryAdapter
from flowodm.testing import TopicFactory

SECRET = "hunter2-topsecret"
# A password that must be percent-encoded in a URL.
ODD_SECRET = "p@ss:w/rd-" + SECRET


@pytest.fixture
def auth_registry(tmp_path: Path) -> Iterator[str]:
    """An in-process registry that requires ``alice:<ODD_SECRET>``."""
    server = serve("127.0.0.1", port=0, data_dir=tmp_path, basic_auth=f"alice:{ODD_SECRET}")
    try:
        yield server.url
    finally:
        server.shutdown()


def _with_userinfo(url: str, password: str) -> str:
    return url.replace("http://", f"http://alice:{quote(password, safe='')}@")


@pytest.mark.integration
def test_registry_credentials_in_the_url_reach_no_log_record(
    sandbox: Sandbox,
    make_topic: TopicFactory,
    auth_registry: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, the HTTP libraries' too
    topic_name = make_topic(prefix="secret")

    class Secretive(FlowBaseModel):
        class Settings:
            topic = topic_name

        a: str

    texts: list[str] = []
    good = Connection(
        build_config(
            bootstrap_servers=sandbox.bootstrap_servers,
            schema_registry_url=_with_userinfo(auth_registry, ODD_SECRET),
        )
    )
    with good:
        result = Secretive(a="x").produce(connection=good)
        texts += [repr(good), repr(good.config), repr(good.registry), repr(result)]
    wrong = Connection(
        build_config(
            bootstrap_servers=sandbox.bootstrap_servers,
            schema_registry_url=_with_userinfo(auth_registry, "WRONG-" + SECRET),
        )
    )
    with wrong, pytest.raises(SchemaRegistryError) as info:
        Secretive(a="y").produce(connection=wrong)
    texts += [str(info.value), repr(info.value), str(vars(info.value))]
    for record in caplog.records:
        texts += [record.getMessage(), str(record.args)]

    assert info.value.http_status == 401
    assert any("HTTP Request: POST" in text for text in texts), "the HTTP library logged"
    for text in texts:
        assert SECRET not in text
        assert quote(ODD_SECRET, safe="") not in text


def test_url_credentials_and_other_credentials_must_agree() -> None:
    url = f"http://alice:{SECRET}@127.0.0.1:1"

    with pytest.raises(ConfigurationError, match="credentials are given twice") as info:
        RegistryAdapter(url, config={"basic.auth.user.info": "bob:other"}, timeout=1.0)
    assert SECRET not in str(info.value)
    same = RegistryAdapter(url, config={"basic.auth.user.info": f"alice:{SECRET}"}, timeout=1.0)
    assert same.url == "http://127.0.0.1:1"
    same.close()
    with pytest.raises(ConfigurationError, match="different credentials"):
        RegistryAdapter(f"{url},http://bob:x@127.0.0.1:2", config={}, timeout=1.0)


def test_credentials_in_bootstrap_servers_are_refused_without_echoing_them() -> None:
    with pytest.raises(ConfigurationError) as info:
        connect(bootstrap_servers=f"alice:{SECRET}@127.0.0.1:9092")

    message = str(info.value)
    assert "bootstrap_servers" in message
    assert "sasl_username/sasl_password" in message
    assert SECRET not in message
    assert "alice" not in message


def test_safe_servers_strips_userinfo_from_each_server() -> None:
    shown = safe_servers(f"alice:{SECRET}@a:9092, SASL_SSL://bob:{SECRET}@b:9093,c:9094")

    assert shown == "a:9092,SASL_SSL://b:9093,c:9094"


def test_secret_in_an_unrelated_error_is_masked() -> None:
    # A value given for a non-secret key that happens to be the password is masked too.
    with pytest.raises(ConfigurationError) as info:
        connect(
            bootstrap_servers="127.0.0.1:1",
            security_protocol="SASL_PLAINTEXT",
            sasl_mechanism="PLAIN",
            sasl_username="alice",
            sasl_password=SECRET,
            producer_config={"linger.ms": SECRET},
        )

    assert "'linger.ms'" in str(info.value)
    assert SECRET not in str(info.value)


def test_client_error_texts_are_scrubbed(caplog: pytest.LogCaptureFixture) -> None:
    from confluent_kafka import KafkaError

    from flowodm.kafka.logs import ClientErrorLog

    log = ClientErrorLog([SECRET])
    with caplog.at_level(logging.WARNING, logger="flowodm.connection"):
        log(KafkaError(KafkaError._RESOLVE, f"Failed to resolve 'alice:{SECRET}@host'"))

    assert log.last is not None
    assert log.last.name == "_RESOLVE"
    assert SECRET not in log.last.reason
    assert [SECRET in r.getMessage() for r in caplog.records] == [False]
