"""An S3 endpoint of the test's own (moto's server), so a Tansu broker's data survives a restart.

Tansu's memory storage loses every topic, row and producer id when the broker stops; its
``s3://`` engine keeps them in a bucket. ``moto_server`` (moto with flask, in the dev venv)
serves that bucket from memory: the data outlives any number of broker restarts, not a restart
of moto itself. Start it once per module and always stop it in a ``finally``.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import boto3  # type: ignore[import-untyped]  # (no stubs in the venv)

from flowodm.sandbox.ports import HOST, accepts_connections, free_port
from flowodm.sandbox.process import ProcessRef, StopPolicy, exit_code, spawn, stop_each, tail

__all__ = ["MotoS3"]

_START_TIMEOUT = 15.0
# Fake credentials: moto accepts any; Tansu's S3 client and boto3 must both send the same ones.
_KEY = "flowodm-test"
_REGION = "us-east-1"
_STOP = StopPolicy(signal.SIGTERM, grace=2.0)


class MotoS3:
    """``moto_server`` on a free port with one bucket, and the variables Tansu needs to use it.

    Args:
        log_dir: Where the server's log goes (quoted when it does not start).
        bucket: The bucket created at start (the broker's ``s3://BUCKET/``).
    """

    def __init__(self, log_dir: Path, bucket: str = "tansu") -> None:
        self.port = free_port()
        self.bucket = bucket
        self.endpoint = f"http://{HOST}:{self.port}"
        self._log = log_dir / "moto.log"
        self._ref: ProcessRef | None = None

    @property
    def storage(self) -> str:
        """Tansu's ``--storage-engine`` URL for the bucket."""
        return f"s3://{self.bucket}/"

    def broker_env(self) -> dict[str, str]:
        """The environment that points Tansu's S3 engine at this server (plain HTTP)."""
        return {
            "AWS_ACCESS_KEY_ID": _KEY,
            "AWS_SECRET_ACCESS_KEY": _KEY,
            "AWS_DEFAULT_REGION": _REGION,
            "AWS_ENDPOINT": self.endpoint,
            "AWS_ALLOW_HTTP": "true",
        }

    def start(self) -> None:
        """Start the server, wait until it accepts connections, and create the bucket."""
        binary = str(Path(sys.executable).with_name("moto_server"))
        self._ref = ref = spawn(
            [binary, "-H", HOST, "-p", str(self.port)], log_path=self._log, env=dict(os.environ)
        )
        deadline = time.monotonic() + _START_TIMEOUT
        while not accepts_connections(self.port):
            if exit_code(ref) is not None or time.monotonic() > deadline:
                raise AssertionError(f"moto_server did not start:\n{tail(self._log)}")
            time.sleep(0.05)
        client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=_KEY,
            aws_secret_access_key=_KEY,
            region_name=_REGION,
        )
        client.create_bucket(Bucket=self.bucket)

    def stop(self) -> None:
        """Stop the server if it runs (for ``finally`` blocks; safe to call twice)."""
        ref, self._ref = self._ref, None
        if ref is not None:
            stop_each([(ref, _STOP)])
