"""``RegistryAdapter`` against the real sandbox registry over HTTP, and against dead endpoints."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient

from flowodm.exceptions import ConfigurationError, SchemaRegistryError
from flowodm.sandbox import Sandbox
from flowodm.sandbox.registry import serve
from flowodm.serde.registry import RegistryAdapter
from tests.core.helpers import free_port
from tests.core.registry_spy import RequestLog

SECRET = "hunter2-secret"


def _record(*fields: tuple[str, Any], name: str = "Order") -> dict[str, Any]:
    return {
        "type": "record",
        "name": name,
        "namespace": "test.flowodm",
        "fields": [{"name": n, "type": t} for n, t in fields],
    }


V1 = _record(("order_id", "string"), ("amount", "double"))


def _subject() -> str:
    return f"adapter-{uuid.uuid4().hex[:12]}-value"


@pytest.fixture
def adapter(sandbox: Sandbox) -> Iterator[RegistryAdapter]:
    registry = RegistryAdapter(sandbox.schema_registry_url, config={}, timeout=5.0)
    yield registry
    registry.close()


@pytest.mark.integration
def test_register_returns_the_id_the_registry_knows(
    adapter: RegistryAdapter, registry_client: SchemaRegistryClient
) -> None:
    subject = _subject()

    schema_id = adapter.register(subject, V1)

    latest = registry_client.get_latest_version(subject)
    assert latest.schema_id == schema_id


@pytest.mark.integration
def test_register_twice_gives_the_same_id_with_one_request(adapter: RegistryAdapter) -> None:
    subject = _subject()
    log = RequestLog(adapter)

    first = adapter.register(subject, V1)
    second = adapter.register(subject, dict(V1))  # equal content, different object

    assert first == second
    assert log.matching("POST", f"/subjects/{subject}/versions") == [
        f"POST /subjects/{subject}/versions"
    ]


@pytest.mark.integration
def test_same_schema_in_a_fresh_adapter_gets_the_same_id(
    adapter: RegistryAdapter, sandbox: Sandbox
) -> None:
    subject = _subject()
    schema_id = adapter.register(subject, V1)

    other = RegistryAdapter(sandbox.schema_registry_url, config={}, timeout=5.0)
    try:
        assert other.register(subject, V1) == schema_id
        assert other.lookup(subject, V1) == schema_id
    finally:
        other.close()


@pytest.mark.integration
def test_lookup_of_missing_subject_says_to_register_or_enable_auto_register(
    adapter: RegistryAdapter, sandbox: Sandbox
) -> None:
    subject = _subject()

    with pytest.raises(SchemaRegistryError) as info:
        adapter.lookup(subject, V1)

    error = info.value
    assert error.subject == subject
    assert error.url == sandbox.schema_registry_url
    assert error.http_status == 404
    assert error.error_code == 40401
    assert subject in str(error)
    assert sandbox.schema_registry_url in str(error)
    assert "auto_register" in str(error)
    assert "register_schema" in str(error)
    # The registry's sentence ends with a period; it is joined to ours with exactly one.
    assert f"Subject '{subject}' not found. Fix: the schema is not registered" in str(error)
    assert ".." not in str(error).replace("...", "")


@pytest.mark.integration
def test_lookup_of_unregistered_schema_in_existing_subject(adapter: RegistryAdapter) -> None:
    subject = _subject()
    adapter.register(subject, V1)
    v2 = _record(("order_id", "string"), ("amount", "double"), ("note", ["null", "string"]))

    with pytest.raises(SchemaRegistryError, match="auto_register") as info:
        adapter.lookup(subject, v2)

    assert info.value.http_status == 404


@pytest.mark.integration
def test_incompatible_schema_error_names_subject_and_url(
    adapter: RegistryAdapter, sandbox: Sandbox
) -> None:
    subject = _subject()
    adapter.register(subject, V1)
    incompatible = _record(("order_id", "long"), ("amount", "double"))

    with pytest.raises(SchemaRegistryError) as info:
        adapter.register(subject, incompatible)

    error = info.value
    assert error.http_status == 409
    assert error.subject == subject
    assert f"subject {subject!r}" in str(error)
    assert sandbox.schema_registry_url in str(error)
    assert "incompatible" in str(error)


@pytest.mark.integration
def test_get_schema_returns_the_schema_and_is_cached(adapter: RegistryAdapter) -> None:
    schema_id = adapter.register(_subject(), V1)
    log = RequestLog(adapter)

    first = adapter.get_schema(schema_id)
    second = adapter.get_schema(schema_id)

    assert first == V1
    assert second is first
    assert len(log.matching("GET", f"/schemas/ids/{schema_id}")) <= 1


@pytest.mark.integration
def test_unknown_schema_id(adapter: RegistryAdapter) -> None:
    with pytest.raises(SchemaRegistryError) as info:
        adapter.get_schema(987_654_321)

    assert info.value.http_status == 404
    assert "987654321" in str(info.value)


@pytest.fixture
def auth_registry(tmp_path: Path) -> Iterator[str]:
    server = serve("127.0.0.1", port=0, data_dir=tmp_path, basic_auth=f"user:{SECRET}")
    try:
        yield server.url
    finally:
        server.shutdown()


@pytest.mark.integration
def test_basic_auth_with_right_credentials_works(auth_registry: str) -> None:
    adapter = RegistryAdapter(
        auth_registry, config={"basic.auth.user.info": f"user:{SECRET}"}, timeout=5.0
    )
    try:
        assert adapter.register(_subject(), V1) >= 0
    finally:
        adapter.close()


@pytest.mark.integration
@pytest.mark.parametrize("where", ["config", "url"])
def test_wrong_credentials_give_our_error_without_the_password(
    auth_registry: str, where: str
) -> None:
    wrong = "wrong-" + SECRET
    if where == "config":
        adapter = RegistryAdapter(
            auth_registry, config={"basic.auth.user.info": f"user:{wrong}"}, timeout=5.0
        )
    else:
        adapter = RegistryAdapter(
            auth_registry.replace("http://", f"http://user:{wrong}@"), config={}, timeout=5.0
        )
    subject = _subject()
    try:
        with pytest.raises(SchemaRegistryError) as info:
            adapter.register(subject, V1)
    finally:
        adapter.close()

    error = info.value
    assert error.http_status == 401
    assert error.url == auth_registry
    assert "authentication failed" in str(error)
    for text in (str(error), repr(error), repr(adapter), str(error.url)):
        assert SECRET not in text
        assert "wrong-" not in text


@pytest.mark.timeout(20)  # hang guard: the default client would wait forever
def test_closed_port_fails_fast_with_our_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    adapter = RegistryAdapter(url, config={}, timeout=3.0)

    with pytest.raises(SchemaRegistryError) as info:
        adapter.register("orders-value", V1)

    error = info.value
    assert error.url == url
    assert error.subject == "orders-value"
    assert error.http_status is None
    assert "ConnectError" in str(error)
    assert "schema_registry_url" in str(error)


@pytest.mark.timeout(20)  # hang guard: a silent peer must not block forever
def test_black_holed_registry_times_out_with_our_error() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # accepts TCP connections (kernel backlog) but never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        adapter = RegistryAdapter(url, config={}, timeout=1.0)

        with pytest.raises(SchemaRegistryError) as info:
            adapter.lookup("orders-value", V1)

    assert "no answer within 1 s" in str(info.value)
    assert info.value.subject == "orders-value"
    assert info.value.url == url


def test_unknown_client_property_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match=r"Unrecognized properties: timeout\.ms"):
        RegistryAdapter("http://127.0.0.1:1", config={"timeout.ms": 5}, timeout=1.0)


@pytest.mark.integration
def test_a_url_that_is_not_a_registry_says_so(sandbox: Sandbox) -> None:
    url = f"{sandbox.schema_registry_url}/not/a/registry"
    adapter = RegistryAdapter(url, config={}, timeout=5.0)
    try:
        with pytest.raises(SchemaRegistryError) as info:
            adapter.register(_subject(), V1)
    finally:
        adapter.close()

    message = str(info.value)
    assert info.value.http_status == 404
    assert f"{url} does not look like a Schema Registry" in message
    assert "check schema_registry_url" in message
    assert "above" not in message


def test_url_in_config_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="must not contain 'url'"):
        RegistryAdapter("http://127.0.0.1:1", config={"url": "http://x"}, timeout=1.0)


def test_repr_and_url_hide_embedded_credentials() -> None:
    adapter = RegistryAdapter(f"http://user:{SECRET}@127.0.0.1:1", config={}, timeout=1.0)

    assert adapter.url == "http://127.0.0.1:1"
    assert SECRET not in repr(adapter)
