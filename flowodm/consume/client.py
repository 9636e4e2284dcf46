"""The librdkafka settings of FlowODM's consumers, and the consumers made from them.

Offsets are committed **only after FlowODM stored them**: every group consumer runs with
``enable.auto.commit=true`` and ``enable.auto.offset.store=false``, so librdkafka commits, in
the background (every ``auto.commit.interval.ms``), on partition revocation and on ``close()``,
exactly the offsets FlowODM stored for messages that were processed, never what was merely
fetched (librdkafka's default auto-commit loses fetched, unprocessed messages on a crash).
A user's ``enable.auto.offset.store=true`` would undo that, so it is refused.

Order of settings, later wins: FlowODM's defaults < a profile FlowODM chose (a loop's
``LongRunningSettings``) < the connection's ``consumer_config`` < a profile the caller passed
(``settings=``) < the call's own ``consumer_config``.

Readers without a group (``read_topic``) get a private ``group.id`` (librdkafka needs one),
``enable.auto.commit=false``, and never commit: reading never moves anybody's offsets.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from confluent_kafka import Consumer

from flowodm.exceptions import ConfigurationError

if TYPE_CHECKING:
    from flowodm.consume.profiles import ConsumerProfile
    from flowodm.kafka.connection import Connection

__all__ = ["GROUP_DEFAULTS", "group_consumer", "reader_consumer", "reader_settings"]

#: FlowODM's defaults for group consumers (before profiles and the user's settings).
GROUP_DEFAULTS: dict[str, Any] = {
    "auto.offset.reset": "earliest",
    "enable.auto.commit": True,
    "auto.commit.interval.ms": 1000,
}
# Kept whatever else says otherwise: the offset store is FlowODM's (see the module docstring).
_GROUP_FIXED: dict[str, Any] = {"enable.auto.offset.store": False}

_READER_FIXED: dict[str, Any] = {
    "enable.auto.commit": False,
    "enable.auto.offset.store": False,
    # A reader stops at the end offsets it took at the start; EOF events tell it a partition
    # is exhausted without waiting for a timeout.
    "enable.partition.eof": True,
}


def group_settings(
    connection: Connection,
    group_id: str,
    *,
    profile: ConsumerProfile | None = None,
    profile_is_default: bool = False,
    config: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The merged settings of a group consumer (contains secrets: never log them raw).

    Raises:
        ConfigurationError: no bootstrap servers, or the settings turn the offset store on.
    """
    profile_config = profile.to_consumer_config() if profile is not None else {}
    base = connection.consumer_settings()
    layers: list[Mapping[str, Any]] = [GROUP_DEFAULTS]
    if profile_is_default:
        layers += [profile_config, base]
    else:
        layers += [base, profile_config]
    layers.append(config or {})
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update(layer)
    if str(merged.get("enable.auto.offset.store", False)).lower() in ("true", "1"):
        raise ConfigurationError(
            "enable.auto.offset.store=true would commit messages that were fetched but not "
            "processed; FlowODM stores offsets itself after processing. Remove it (use "
            "commit='on_receive' for at-most-once delivery)"
        )
    merged.update(_GROUP_FIXED)
    merged["group.id"] = group_id
    return merged


def group_consumer(connection: Connection, settings: Mapping[str, Any]) -> Consumer:
    """Create a group consumer from ``group_settings(...)`` (not subscribed yet).

    Raises:
        ConfigurationError: librdkafka refused a setting (named as the user wrote it).
    """
    return connection.new_consumer(settings)


def reader_settings(
    connection: Connection, config: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Settings of a group-less reader: security and ``consumer_config``, never committing."""
    merged = {**connection.consumer_settings(), **(config or {}), **_READER_FIXED}
    merged.pop("group.instance.id", None)  # static membership belongs to a group
    merged["group.id"] = f"flowodm-reader-{uuid.uuid4().hex}"
    return merged


def reader_consumer(connection: Connection, config: Mapping[str, Any] | None = None) -> Consumer:
    """Create a reader: ``assign()`` it to partitions and offsets; it commits nothing.

    Raises:
        ConfigurationError: librdkafka refused a setting (named as the user wrote it).
    """
    return connection.new_consumer(reader_settings(connection, config))
