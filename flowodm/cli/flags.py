"""Flags every command shares: counts and seconds as argparse types, and the connection flags.

One copy of each rule, so ``flowodm produce`` and ``flowodm consume`` refuse the same values
with the same words and connect the same way.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from flowodm._arguments import positive_seconds
from flowodm.exceptions import ConfigurationError, InvalidArgumentError

if TYPE_CHECKING:
    from flowodm.kafka.connection import Connection
    from flowodm.pandas.registry_check import RegistryCheck

__all__ = [
    "add_connection_flags",
    "add_registry_url_flag",
    "connect_from_flags",
    "dry_run_registry_check",
    "non_negative_int",
    "positive_float",
    "positive_int",
]


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    value = non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def non_negative_int(text: str) -> int:
    """An argparse type: a whole number of at least 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a finite positive number of seconds (the rule every timeout follows)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    try:
        return positive_seconds("seconds", value)
    except InvalidArgumentError:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number of seconds") from None


def add_connection_flags(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """Add ``--bootstrap-servers`` and ``--schema-registry-url``; returns their group."""
    kafka = parser.add_argument_group("connection (default: the environment, as flowodm.connect)")
    kafka.add_argument(
        "--bootstrap-servers",
        metavar="HOST:PORT",
        help="Kafka brokers (default: $KAFKA_BOOTSTRAP_SERVERS)",
    )
    add_registry_url_flag(kafka)
    return kafka


def add_registry_url_flag(group: argparse._ArgumentGroup) -> None:
    """Add ``--schema-registry-url`` to ``group`` (a Kafka connection group or a registry one)."""
    group.add_argument(
        "--schema-registry-url",
        metavar="URL",
        help="Schema Registry (default: $SCHEMA_REGISTRY_URL)",
    )


def connect_from_flags(args: argparse.Namespace) -> Connection:
    """Connect from the flags over the environment (``KAFKA_BOOTSTRAP_SERVERS`` …).

    Raises:
        ConfigurationError: no bootstrap servers come from either; the message names the flag
            and the variable (the core's own message speaks of ``flowodm.connect``).
    """
    from flowodm.kafka.config import build_config
    from flowodm.kafka.connection import connect

    given = {
        "bootstrap_servers": args.bootstrap_servers,
        "schema_registry_url": args.schema_registry_url,
    }
    # Checked before connect(), whose own message would tell a CLI user to call a function.
    if build_config(**given).bootstrap_servers is None:
        raise ConfigurationError(
            "no Kafka bootstrap servers configured: pass --bootstrap-servers HOST:PORT or set "
            "KAFKA_BOOTSTRAP_SERVERS (or FLOWODM_BOOTSTRAP_SERVERS)"
        )
    return connect(**given)


def dry_run_registry_check(
    args: argparse.Namespace, model: type[Any], topic: str
) -> RegistryCheck | None:
    """Ask the registry of the flags (or environment) whether the real run's schema would pass.

    A dry run connects to nothing else; without a registry configured there is nothing to ask
    (``None``). See ``flowodm.pandas.registry_check``.

    Raises:
        SchemaRegistryError: the registry failed or could not be reached.
        ConfigurationError: the connection settings are invalid.
    """
    from flowodm.kafka.config import build_config
    from flowodm.kafka.connection import Connection
    from flowodm.pandas.registry_check import check_registry

    config = build_config(schema_registry_url=args.schema_registry_url)
    if config.schema_registry_url is None:
        return None
    with Connection(config) as connection:
        return check_registry(model, topic=topic, connection=connection)
