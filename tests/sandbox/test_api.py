"""flowodm.sandbox start/status/stop against the real Tansu broker and the FlowODM registry."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from flowodm.exceptions import SandboxError
from flowodm.sandbox import Sandbox, api, start, status, stop
from flowodm.sandbox.ports import free_port
from flowodm.sandbox.process import exit_code
from flowodm.sandbox.state import load_state
from flowodm.testing import consume_all
from tests.sandbox.conftest import failing_program, pid_alive, sandbox_processes, wait_until

pytestmark = pytest.mark.integration

StartSandbox = Callable[..., Sandbox]


def _produce_and_read_back(sandbox: Sandbox, topic: str) -> None:
    admin = AdminClient({"bootstrap.servers": sandbox.bootstrap_servers})
    admin.create_topics([NewTopic(topic, num_partitions=1)])[topic].result(timeout=15)
    producer = Producer({"bootstrap.servers": sandbox.bootstrap_servers})
    producer.produce(topic, b"hello", key=b"k")
    assert producer.flush(15) == 0
    [message] = consume_all(sandbox.bootstrap_servers, topic, 1)
    assert (message.key(), message.value()) == (b"k", b"hello")


def test_start_status_stop(private_sandbox: StartSandbox, data_dir: Path) -> None:
    sandbox = private_sandbox()

    assert sandbox.data_dir == data_dir
    assert sandbox.storage == "memory"
    assert sandbox.bootstrap_servers.startswith("127.0.0.1:")
    assert sandbox.schema_registry_url.startswith("http://127.0.0.1:")
    assert sandbox.broker_pid is not None and pid_alive(sandbox.broker_pid)
    assert sandbox.registry_pid is not None and pid_alive(sandbox.registry_pid)
    assert sandbox.broker_log == data_dir / "broker.log"
    assert "tansu broker" in sandbox.broker_log.read_text()
    recorded = json.loads((data_dir / "sandbox.json").read_text())
    assert recorded["broker"]["pid"] == sandbox.broker_pid
    assert status(data_dir) == sandbox
    assert "lost when the broker stops" in sandbox.describe()
    # The orphan checks of every test rely on this marker being on both processes.
    assert sorted(sandbox_processes(data_dir)) == sorted([sandbox.broker_pid, sandbox.registry_pid])
    _produce_and_read_back(sandbox, "api-start-status-stop")

    assert stop(data_dir) is True
    assert not pid_alive(sandbox.broker_pid)
    assert not pid_alive(sandbox.registry_pid)
    assert status(data_dir) is None
    assert sandbox_processes(data_dir) == []
    assert not (data_dir / "sandbox.json").exists()
    assert stop(data_dir) is False


def test_start_is_idempotent(private_sandbox: StartSandbox) -> None:
    first = private_sandbox()
    again = private_sandbox()
    assert again == first
    assert again.notes == ("it was already running; nothing was started",)


def test_concurrent_starts_share_one_sandbox(data_dir: Path) -> None:
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = [
            pool.submit(start, broker_port=0, registry_port=0, data_dir=data_dir) for _ in range(3)
        ]
        results = [future.result(timeout=60) for future in futures]
    assert results[0] == results[1] == results[2]
    assert sum("already running" in " ".join(r.notes) for r in results) == 2
    assert len(sandbox_processes(data_dir)) == 2


def test_start_with_other_explicit_ports_than_the_running_sandbox_is_refused(
    private_sandbox: StartSandbox, data_dir: Path
) -> None:
    running = private_sandbox()
    with pytest.raises(SandboxError, match=r"already runs .* stop it first"):
        private_sandbox(broker_port=free_port())
    assert status(data_dir) == running


def test_default_ports_fall_back_to_free_ports_when_taken(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path, occupied_port: int
) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        monkeypatch.setattr(api, "DEFAULT_BROKER_PORT", occupied_port)
        monkeypatch.setattr(api, "DEFAULT_REGISTRY_PORT", other.getsockname()[1])

        sandbox = start(data_dir=data_dir)

        assert sandbox.bootstrap_servers != f"127.0.0.1:{occupied_port}"
        assert f"port {occupied_port} is taken by another program" in "\n".join(sandbox.notes)
        assert len(sandbox.notes) == 2
        assert "note: port" in sandbox.describe()
        assert status(data_dir) == sandbox


def test_an_explicit_port_in_use_is_an_error(data_dir: Path, occupied_port: int) -> None:
    with pytest.raises(SandboxError, match=f"broker port {occupied_port} is in use"):
        start(broker_port=occupied_port, registry_port=0, data_dir=data_dir)
    assert sandbox_processes(data_dir) == []
    assert status(data_dir) is None


def test_bad_port_arguments_are_rejected(data_dir: Path) -> None:
    with pytest.raises(SandboxError, match="broker_port must be a port number"):
        start(broker_port=70000, data_dir=data_dir)
    with pytest.raises(SandboxError, match="registry_port must be a port number"):
        start(registry_port="8081", data_dir=data_dir)  # type: ignore[arg-type]
    with pytest.raises(SandboxError, match="both 12345"):
        start(broker_port=12345, registry_port=12345, data_dir=data_dir)


def test_a_missing_broker_binary_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    monkeypatch.setenv("FLOWODM_BROKER_BIN", "/nonexistent")
    with pytest.raises(SandboxError, match=r"FLOWODM_BROKER_BIN.*pip install 'flowodm\[sandbox\]'"):
        start(broker_port=0, registry_port=0, data_dir=data_dir)
    assert sandbox_processes(data_dir) == []


def test_an_unwritable_data_dir_is_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SandboxError, match="not writable"):
        start(data_dir=blocker / "sandbox")


def test_a_broker_dying_at_start_is_reported_and_leaves_no_process(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, data_dir: Path
) -> None:
    fake = failing_program(tmp_path, "boom: no broker today")
    monkeypatch.setenv("FLOWODM_BROKER_BIN", str(fake))
    with pytest.raises(SandboxError) as failure:
        start(broker_port=0, registry_port=0, data_dir=data_dir)
    message = str(failure.value)
    assert "the broker exited with code 1" in message
    assert "boom: no broker today" in message  # the log's last lines
    assert sandbox_processes(data_dir) == []  # the registry was stopped too
    assert status(data_dir) is None


def test_a_registry_dying_at_start_is_reported_and_leaves_no_broker(data_dir: Path) -> None:
    (data_dir / "registry.sqlite3").mkdir(parents=True)  # the registry cannot open its DB
    broker_port = free_port()
    with pytest.raises(SandboxError, match="the registry exited with code 1") as failure:
        start(broker_port=broker_port, registry_port=0, data_dir=data_dir)
    assert "cannot use data dir" in str(failure.value)
    assert sandbox_processes(data_dir) == []
    assert not (data_dir / "sandbox.json").exists()


def test_a_state_file_that_cannot_be_written_leaves_no_process(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    def disk_full(path: Path, state: object) -> None:
        raise SandboxError("cannot write sandbox state (No space left on device)")

    monkeypatch.setattr(api, "save_state", disk_full)
    with pytest.raises(SandboxError, match="No space left"):
        start(broker_port=0, registry_port=0, data_dir=data_dir)
    assert sandbox_processes(data_dir) == []  # stop() could not have found them


def test_start_after_the_broker_was_killed_gives_a_working_sandbox(
    private_sandbox: StartSandbox, data_dir: Path
) -> None:
    before = private_sandbox()
    assert before.broker_pid is not None
    os.kill(before.broker_pid, signal.SIGKILL)
    wait_until(lambda: status(data_dir) is None)

    after = private_sandbox()

    assert after.broker_pid != before.broker_pid
    assert after.registry_pid == before.registry_pid
    assert after.bootstrap_servers == before.bootstrap_servers  # same port again
    assert any("topics and messages from before are gone" in n for n in after.notes)
    _produce_and_read_back(after, "after-broker-kill")


def test_registry_restart_keeps_ids_and_versions(
    private_sandbox: StartSandbox, data_dir: Path
) -> None:
    before = private_sandbox()
    schema = Schema(
        json.dumps({"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]}),
        "AVRO",
    )
    client = SchemaRegistryClient({"url": before.schema_registry_url, "timeout": 10})
    schema_id = client.register_schema("restart-value", schema)
    version = client.get_latest_version("restart-value").version
    client.close()
    assert before.registry_pid is not None
    os.kill(before.registry_pid, signal.SIGTERM)
    wait_until(lambda: not pid_alive(before.registry_pid or 0))

    after = private_sandbox()

    assert after.registry_pid != before.registry_pid
    assert after.broker_pid == before.broker_pid
    assert any("schemas are kept" in n for n in after.notes)
    fresh = SchemaRegistryClient({"url": after.schema_registry_url, "timeout": 10})
    latest = fresh.get_latest_version("restart-value")
    assert (latest.schema_id, latest.version) == (schema_id, version)
    assert fresh.register_schema("restart-value", schema) == schema_id
    fresh.close()


def test_sandbox_connect_points_flowodm_at_it(sandbox: Sandbox) -> None:
    import flowodm.kafka.connection

    connection = sandbox.connect()
    try:
        assert connection.config.bootstrap_servers == sandbox.bootstrap_servers
        assert connection.config.schema_registry_url == sandbox.schema_registry_url
    finally:
        flowodm.kafka.connection.disconnect()


def test_a_restarted_broker_moves_when_its_old_port_was_taken(
    private_sandbox: StartSandbox, data_dir: Path
) -> None:
    before = private_sandbox()
    assert before.broker_pid is not None
    old_port = int(before.bootstrap_servers.rsplit(":", 1)[1])
    os.kill(before.broker_pid, signal.SIGKILL)
    wait_until(lambda: status(data_dir) is None)
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", old_port))
        squatter.listen()

        after = private_sandbox()

    assert after.bootstrap_servers != before.bootstrap_servers
    assert f"port {old_port} is taken by another program" in " ".join(after.notes)
    _produce_and_read_back(after, "after-broker-moved")


def test_stop_with_a_connected_producer_ends_the_broker_promptly(
    private_sandbox: StartSandbox, data_dir: Path
) -> None:
    sandbox = private_sandbox()
    state = load_state(data_dir)
    assert state is not None
    producer = Producer({"bootstrap.servers": sandbox.bootstrap_servers})
    producer.produce("api-stop-connected", b"x")
    assert producer.flush(15) == 0  # the producer stays connected while the sandbox stops

    began = time.monotonic()
    assert stop(data_dir) is True
    elapsed = time.monotonic() - began

    # The broker ended on its stop signal (exit code 0), not by SIGKILL after a grace period;
    # the bound only guards against a hang (SIGTERM made Tansu wait 5 s for the client).
    assert exit_code(state.broker.process) == 0
    assert exit_code(state.registry.process) == 0
    assert elapsed < 4, f"stop took {elapsed:.1f} s with a client connected"
    del producer
