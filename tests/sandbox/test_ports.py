"""Port checks: free or not, free port picking, which process holds a listener."""

from __future__ import annotations

import os

from flowodm.sandbox.ports import accepts_connections, free_port, listener_owned_by, port_is_free


def test_an_occupied_port_is_not_free(occupied_port: int) -> None:
    assert not port_is_free(occupied_port)
    assert accepts_connections(occupied_port)


def test_free_port_is_free_and_honours_exclusions() -> None:
    port = free_port()
    assert port_is_free(port)
    assert not accepts_connections(port)
    assert free_port(exclude={port}) != port


def test_listener_owner_is_identified(occupied_port: int) -> None:
    assert listener_owned_by(os.getpid(), occupied_port) is True
    assert listener_owned_by(1, occupied_port) is False
    assert listener_owned_by(os.getpid(), free_port()) is False
