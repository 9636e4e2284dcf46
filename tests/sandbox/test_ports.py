"""Port checks: free or not, free port picking, which process holds a listener."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

from flowodm.sandbox.ports import accepts_connections, free_port, listener_owned_by, port_is_free


@pytest.fixture
def listening() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_a_listening_port_is_not_free(listening: int) -> None:
    assert not port_is_free(listening)
    assert accepts_connections(listening)


def test_free_port_is_free_and_honours_exclusions() -> None:
    port = free_port()
    assert port_is_free(port)
    assert not accepts_connections(port)
    assert free_port(exclude={port}) != port


def test_listener_owner_is_identified(listening: int) -> None:
    assert listener_owned_by(os.getpid(), listening) is True
    assert listener_owned_by(1, listening) is False
    assert listener_owned_by(os.getpid(), free_port()) is False
