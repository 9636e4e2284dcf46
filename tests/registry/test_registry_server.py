"""Server behaviour: persistence, concurrency, basic auth and secrets, HTTP edge cases, CLI."""

from __future__ import annotations

import base64
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from flowodm.sandbox.registry import BasicAuth, RegistryServer, main, serve
from flowodm.sandbox.registry.store import DATABASE_NAME
from tests.registry.registry_schemas import CONTENT_TYPE, V1, V2, V3, field, record, text

PASSWORD = "pa55-w0rd-never-logged"


def auth_header(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


# --- persistence --------------------------------------------------------------------------


def test_state_survives_a_restart(tmp_path: Path) -> None:
    first = serve(port=0, data_dir=tmp_path)
    with httpx.Client(base_url=first.url, timeout=5) as http:
        id1 = http.post("/subjects/a/versions", json={"schema": text(V1)}).json()["id"]
        id2 = http.post("/subjects/a/versions", json={"schema": text(V2)}).json()["id"]
        http.post("/subjects/b/versions", json={"schema": text(V1)})
        http.delete("/subjects/a/versions/2")
        http.put("/config", json={"compatibility": "FULL"})
        http.put("/config/b", json={"compatibility": "NONE"})
    first.shutdown()
    assert (tmp_path / DATABASE_NAME).is_file()

    second = serve(port=0, data_dir=tmp_path)
    try:
        with httpx.Client(base_url=second.url, timeout=5) as http:
            assert http.get("/subjects").json() == ["a", "b"]
            assert http.get("/subjects/a/versions").json() == [1]
            assert http.get("/subjects/a/versions?deleted=true").json() == [1, 2]
            assert http.get(f"/schemas/ids/{id2}").status_code == 200
            assert http.get("/subjects/b/versions/1").json()["id"] == id1
            assert http.get("/config").json() == {"compatibilityLevel": "FULL"}
            assert http.get("/config/b").json() == {"compatibilityLevel": "NONE"}
            # Same content, same id after the restart; new content gets a new, higher id.
            assert http.post("/subjects/c/versions", json={"schema": text(V1)}).json() == {
                "id": id1
            }
            id3 = http.post("/subjects/a/versions", json={"schema": text(V3)}).json()["id"]
            assert id3 == id2 + 1
            assert http.get("/subjects/a/versions").json() == [1, 3]
    finally:
        second.shutdown()


# --- concurrency --------------------------------------------------------------------------


def _in_threads(count: int, work: object) -> list[httpx.Response]:
    """Run ``work(index)`` in ``count`` threads released together; collect the responses."""
    barrier = threading.Barrier(count)
    results: list[httpx.Response | None] = [None] * count
    failures: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = work(index)  # type: ignore[operator]
        except BaseException as exc:  # re-raised in the test thread below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    if failures:
        raise failures[0]
    assert all(result is not None for result in results)
    return [result for result in results if result is not None]


def test_same_schema_from_eight_threads_gets_one_id_and_one_version(
    registry: RegistryServer,
) -> None:
    def work(index: int) -> httpx.Response:
        with httpx.Client(base_url=registry.url, timeout=10) as http:
            subject = "shared" if index % 2 else f"own-{index}"
            return http.post(f"/subjects/{subject}/versions", json={"schema": text(V1)})

    responses = _in_threads(8, work)
    assert {response.status_code for response in responses} == {200}
    assert {response.json()["id"] for response in responses} == {1}
    with httpx.Client(base_url=registry.url, timeout=5) as http:
        assert http.get("/subjects/shared/versions").json() == [1]
        assert len(http.get("/schemas/ids/1/subjects").json()) == 5


def test_different_schemas_from_eight_threads_get_distinct_versions(
    registry: RegistryServer,
) -> None:
    with httpx.Client(base_url=registry.url, timeout=5) as http:
        http.put("/config/busy", json={"compatibility": "NONE"})

    def work(index: int) -> httpx.Response:
        schema = record(field(f"f{index}", "int"))
        with httpx.Client(base_url=registry.url, timeout=10) as http:
            return http.post("/subjects/busy/versions", json={"schema": text(schema)})

    responses = _in_threads(8, work)
    assert sorted(response.json()["id"] for response in responses) == list(range(1, 9))
    with httpx.Client(base_url=registry.url, timeout=5) as http:
        assert http.get("/subjects/busy/versions").json() == list(range(1, 9))


# --- basic auth and secrets ---------------------------------------------------------------


def test_basic_auth_guards_every_route_and_never_leaks_the_password(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server = serve(port=0, data_dir=tmp_path, basic_auth=f"alice:{PASSWORD}")
    try:
        with httpx.Client(base_url=server.url, timeout=5) as http:
            for path in ("/", "/subjects", "/config", "/schemas/types"):
                anonymous = http.get(path)
                assert anonymous.status_code == 401
                assert anonymous.json() == {"error_code": 401, "message": "Unauthorized"}
                assert anonymous.headers["www-authenticate"].startswith("Basic")
            wrong = http.get("/", headers=auth_header("alice", "nope"))
            assert wrong.status_code == 401
            wrong_user = http.get("/", headers=auth_header("bob", PASSWORD))
            assert wrong_user.status_code == 401
            garbage = http.get("/", headers={"Authorization": "Basic %%%"})
            assert garbage.status_code == 401
            good = auth_header("alice", PASSWORD)
            assert http.get("/", headers=good).json() == {}
            created = http.post("/subjects/s/versions", headers=good, json={"schema": text(V1)})
            assert created.json() == {"id": 1}
            failed = http.get("/subjects/nope/versions", headers=good)
            assert PASSWORD not in failed.text
        texts = [repr(server), repr(server.app), repr(BasicAuth.parse(f"a:{PASSWORD}"))]
        texts.append(caplog.text)
        for blob in texts:
            assert PASSWORD not in blob
        assert '"GET /subjects" 401' in caplog.text
    finally:
        server.shutdown()


@pytest.mark.parametrize("value", ["no-colon", ":password-only"])
def test_malformed_basic_auth_is_refused_without_echoing_it(value: str) -> None:
    with pytest.raises(ValueError, match="USER:PASSWORD") as raised:
        BasicAuth.parse(value)
    assert value not in str(raised.value)


# --- HTTP edge cases ----------------------------------------------------------------------


def _raw_exchange(server: RegistryServer, request: bytes) -> bytes:
    """Send raw bytes and read until the server closes the connection."""
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (
            b"POST /subjects/s/versions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"Connection: close\r\n\r\n0\r\n\r\n",
            b"411",
        ),
        (
            b"POST /subjects/s/versions HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n"
            b"Connection: close\r\n\r\n",
            b"413",
        ),
        (
            b"POST /subjects/s/versions HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n"
            b"Connection: close\r\n\r\n",
            b"400",
        ),
        (b"GARBAGE\r\n\r\n", b"400"),
    ],
)
def test_requests_the_http_layer_refuses_get_json_error_bodies(
    registry: RegistryServer, request_bytes: bytes, status: bytes
) -> None:
    answer = _raw_exchange(registry, request_bytes)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == status
    assert CONTENT_TYPE.encode() in head
    assert b'"error_code": ' + status in body


def test_keep_alive_connection_serves_many_requests(registry: RegistryServer) -> None:
    with httpx.Client(base_url=registry.url, timeout=5) as http:
        for _ in range(20):
            assert http.get("/").status_code == 200


def test_shutdown_stops_every_server_thread(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    server = serve(port=0, data_dir=tmp_path)
    client = httpx.Client(base_url=server.url, timeout=5)
    assert client.get("/").status_code == 200  # leaves an idle keep-alive connection open
    server.shutdown()
    client.close()
    assert set(threading.enumerate()) <= before
    server.shutdown()  # a second call is harmless
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url, timeout=2)


# --- command line -------------------------------------------------------------------------


def test_cli_prints_ready_line_serves_and_exits_cleanly_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "FLOWODM_REGISTRY_BASIC_AUTH": f"cli:{PASSWORD}"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flowodm.sandbox.registry",
            "--port",
            "0",
            "--data-dir",
            str(tmp_path / "data"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        prefix = "flowodm-registry listening on http://127.0.0.1:"
        assert line.startswith(prefix), line
        port = int(line.removeprefix(prefix))
        assert port > 0
        url = f"http://127.0.0.1:{port}"
        assert httpx.get(url, timeout=5).status_code == 401
        good = auth_header("cli", PASSWORD)
        assert httpx.get(url, headers=good, timeout=5).json() == {}
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert stdout == ""  # exactly one line on stdout, already read
    assert '"GET /" 200' in stderr
    assert PASSWORD not in stderr
    assert (tmp_path / "data" / DATABASE_NAME).is_file()


def test_cli_port_in_use_exits_1_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["--port", str(port), "--data-dir", str(tmp_path)])
    assert code == 1
    captured = capsys.readouterr()
    assert f"cannot listen on 127.0.0.1:{port}: address already in use" in captured.err
    assert captured.out == ""


def test_cli_unusable_data_dir_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    assert main(["--port", "0", "--data-dir", str(blocker / "sub")]) == 1
    assert "cannot use data dir" in capsys.readouterr().err


def test_cli_bad_basic_auth_exits_1_without_echoing_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWODM_REGISTRY_BASIC_AUTH", "secretwithoutcolon")
    assert main(["--port", "0", "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "USER:PASSWORD" in err
    assert "secretwithoutcolon" not in err


def test_cli_rejects_out_of_range_port(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--port", "70000", "--data-dir", str(tmp_path)]) == 1
    assert "--port" in capsys.readouterr().err


def test_data_dir_is_created(tmp_path: Path) -> None:
    server = serve(port=0, data_dir=tmp_path / "deep" / "er")
    server.shutdown()
    assert (tmp_path / "deep" / "er" / DATABASE_NAME).is_file()


def test_cli_help_and_usage_errors_return_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "--data-dir" in capsys.readouterr().out
    assert main(["--port", "0"]) == 2  # --data-dir is required
    assert "--data-dir" in capsys.readouterr().err


def test_internal_failures_answer_500_error_bodies_and_are_logged(
    registry: RegistryServer,
    http: httpx.Client,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def explode(*args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(registry.app.registry, "subjects", explode)
    response = http.get("/subjects")
    assert response.status_code == 500
    assert response.json() == {"error_code": 500, "message": "Internal Server Error"}
    assert "unexpected error on GET /subjects" in caplog.text

    registry.store.close()  # every later query now fails inside SQLite
    failed = http.get("/subjects/s/versions")
    assert failed.status_code == 500
    assert failed.json()["error_code"] == 50001
    assert "registry store failed" in caplog.text


def test_serve_requires_a_data_dir() -> None:
    with pytest.raises(ValueError, match="data_dir is required"):
        serve(port=0)
