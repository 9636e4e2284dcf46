"""The sandbox's Schema Registry: FlowODM's own server, run as a background Python process.

Its schemas live in SQLite inside the sandbox data directory, so ids and versions survive a
restart of the registry (unlike the broker's topics).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import flowodm
from flowodm.sandbox.ports import HOST
from flowodm.sandbox.process import StopPolicy
from flowodm.sandbox.services import ServiceSpec

__all__ = [
    "DEFAULT_REGISTRY_PORT",
    "REGISTRY_STOP",
    "registry_answers",
    "registry_spec",
    "registry_url",
]

DEFAULT_REGISTRY_PORT = 8081
# A graceful stop: the server closes its connections, joins its request threads and closes
# its SQLite store (about 40 ms here, even with a client connected).
REGISTRY_STOP = StopPolicy(grace=5.0)
_BASIC_AUTH_ENV = "FLOWODM_REGISTRY_BASIC_AUTH"


def registry_url(port: int) -> str:
    """Return the URL of a sandbox registry on ``port``."""
    return f"http://{HOST}:{port}"


def registry_spec(data_dir: Path) -> ServiceSpec:
    """Describe the registry server as a sandbox service storing its data in ``data_dir``."""

    def argv(port: int) -> list[str]:
        # -P: do not put the working directory first on sys.path, so a stray "flowodm"
        # folder where the user happens to be cannot replace the installed package.
        return [
            sys.executable,
            "-P",
            "-m",
            "flowodm.sandbox.registry",
            "--host",
            HOST,
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
        ]

    env = dict(os.environ)
    # The sandbox registry is open (local only); a credential in the user's shell must not
    # silently switch on authentication that the sandbox's clients do not send.
    env.pop(_BASIC_AUTH_ENV, None)
    # Run the same FlowODM as the caller, even when it is imported from a source checkout.
    package_root = str(Path(flowodm.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"  # log lines reach the log file as they happen
    return ServiceSpec(
        name="registry", argv=argv, env=env, probe=registry_answers, stop=REGISTRY_STOP
    )


def registry_answers(port: int, timeout: float) -> bool:
    """Tell whether a registry on ``port`` answers ``GET /`` with 200 within ``timeout``."""
    import httpx

    try:
        # trust_env=False: a proxy configured in the environment must not intercept 127.0.0.1.
        response = httpx.get(registry_url(port) + "/", timeout=timeout, trust_env=False)
    except httpx.HTTPError:
        return False
    return response.status_code == 200
