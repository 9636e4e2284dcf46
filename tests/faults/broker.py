"""A private Tansu broker that advertises a fault proxy's address, so no client can bypass it.

A Kafka client bootstraps at one address and then connects to the addresses the broker
advertises in its metadata. A proxy in front of a broker that advertises itself would see only
the bootstrap request. This broker listens on its own port but advertises ``advertised_port``
(the proxy's), so every connection after bootstrap (producers, admin, consumers) goes through
the proxy, whatever address they bootstrap at.

It is ``tests.kafka.private_broker.PrivateBroker`` (start, kill, stop, create_topic) with a
different command line: the sandbox's ``broker_spec`` passes one URL as both listener and
advertised listener.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from flowodm.sandbox.broker import STORAGE
from flowodm.sandbox.ports import HOST
from tests.kafka.private_broker import PrivateBroker

__all__ = ["AdvertisingBroker"]


class AdvertisingBroker(PrivateBroker):
    """A private broker on ``.port`` whose metadata names ``HOST:advertised_port``.

    Args:
        log_dir: Where the broker's log goes.
        advertised_port: The port clients are told to connect to (a ``FaultProxy``'s).
    """

    def __init__(self, log_dir: Path, advertised_port: int) -> None:
        super().__init__(log_dir)
        self.advertised_port = advertised_port
        binary = self._spec.argv(self.port)[0]

        def argv(port: int) -> list[str]:
            return [
                binary,
                "broker",
                "--listener-url",
                f"tcp://{HOST}:{port}",
                "--advertised-listener-url",
                f"tcp://{HOST}:{advertised_port}",
                "--storage-engine",
                f"{STORAGE}://tansu/",
            ]

        self._spec = dataclasses.replace(self._spec, argv=argv)
