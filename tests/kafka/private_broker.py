"""A Tansu broker of a test's own, on its own port, that the test can kill and start again.

The session sandbox is shared by every test, so a test that restarts a broker starts its own
with the sandbox's launch pieces (``broker_spec``, ``spawn``, ``broker_answers``). Storage is
memory by default: a restart loses topics and data, which is exactly the case that matters for
recovery (the broker also forgets every producer id it assigned). ``storage`` picks another
engine, e.g. ``s3://BUCKET/`` (with the S3 endpoint's variables in ``env``), whose topics, data
and producer state survive a restart. Always stop it in a ``finally``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from confluent_kafka.admin import AdminClient

from flowodm.sandbox.broker import (
    BROKER_STOP,
    bootstrap_servers,
    broker_answers,
    broker_spec,
    resolve_broker_binary,
)
from flowodm.sandbox.ports import free_port
from flowodm.sandbox.process import ProcessRef, exit_code, is_running, spawn, stop_each, tail
from flowodm.sandbox.topics import create_topic

__all__ = ["PrivateBroker"]

_START_TIMEOUT = 15.0
_PROBE_TIMEOUT = 1.0


class PrivateBroker:
    """One Tansu process on a fixed free port; ``kill()`` and ``start()`` it at will.

    Args:
        log_dir: Where the broker's log goes (kept for a failing test's message).
        storage: Tansu's ``--storage-engine`` URL (``None``: the sandbox's memory storage).
        env: Variables added to the broker's environment (an S3 engine's endpoint and keys).
    """

    def __init__(
        self, log_dir: Path, *, storage: str | None = None, env: Mapping[str, str] | None = None
    ) -> None:
        self.port = free_port()
        self.bootstrap = bootstrap_servers(self.port)
        spec = broker_spec(resolve_broker_binary())
        if storage is not None:
            spec = dataclasses.replace(spec, argv=_with_storage(spec.argv, storage))
        if env:
            spec = dataclasses.replace(spec, env={**spec.env, **env})
        self._spec = spec
        self._log = log_dir / "private-broker.log"
        self._ref: ProcessRef | None = None

    def start(self) -> None:
        """Start the broker on its port and wait until it answers metadata requests.

        A port released by a killed broker a moment ago can still be busy (Tansu then exits
        with AddrInUse), so an attempt that exits is retried until ``_START_TIMEOUT``.
        """
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            ref = spawn(self._spec.argv(self.port), log_path=self._log, env=self._spec.env)
            self._ref = ref
            while time.monotonic() < deadline and exit_code(ref) is None:
                if broker_answers(self.port, _PROBE_TIMEOUT) and is_running(ref):
                    return
                time.sleep(0.05)
            time.sleep(0.2)  # it exited while starting: let the port be released
        raise AssertionError(f"the private broker did not start:\n{tail(self._log)}")

    def kill(self) -> None:
        """SIGKILL the broker (a crash: no clean shutdown) and wait until it is gone."""
        ref = self._ref
        if ref is None:
            return
        os.kill(ref.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while is_running(ref) and time.monotonic() < deadline:
            time.sleep(0.01)
        self._ref = None

    def stop(self) -> None:
        """Stop the broker if it runs (for ``finally`` blocks; safe to call twice)."""
        ref, self._ref = self._ref, None
        if ref is not None:
            stop_each([(ref, BROKER_STOP)])

    def create_topic(self, name: str, partitions: int = 1) -> None:
        """Create ``name`` on this broker and wait until metadata shows it."""
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        create_topic(admin, name, partitions)


def _with_storage(argv: Callable[[int], list[str]], storage: str) -> Callable[[int], list[str]]:
    """``argv`` with the value of its ``--storage-engine`` option replaced by ``storage``."""

    def replaced(port: int) -> list[str]:
        args = argv(port)
        args[args.index("--storage-engine") + 1] = storage
        return args

    return replaced


@contextlib.contextmanager
def running_broker(log_dir: Path) -> Iterator[PrivateBroker]:
    """A started private broker (memory storage), stopped at the end whatever happened."""
    private = PrivateBroker(log_dir)
    try:
        private.start()
        yield private
    finally:
        private.stop()
