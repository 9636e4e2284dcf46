"""Credentials never reach a report, a run's error or the logs of a DataFrame produce."""

from __future__ import annotations

import logging
import socket

import pandas as pd
import pytest

import flowodm.pandas  # noqa: F401  (registers df.flowodm)
from flowodm.exceptions import DeliveryTimeoutError
from flowodm.kafka.config import build_config
from flowodm.kafka.connection import Connection
from flowodm.model import FlowBaseModel

SECRET = "hunter2-do-not-print"


class Plain(FlowBaseModel):
    """Unframed values, so no registry is needed."""

    class Settings:
        topic = "secret-test"
        confluent_wire_format = False

    name: str


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.timeout(60)
def test_no_password_in_reports_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    connection = Connection(
        build_config(
            bootstrap_servers=f"127.0.0.1:{_dead_port()}",
            security_protocol="SASL_PLAINTEXT",
            sasl_mechanism="PLAIN",
            sasl_username="user",
            sasl_password=SECRET,
        )
    )
    frame = pd.DataFrame({"name": ["a", "b", None]})
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    try:
        report = frame.flowodm.produce(
            Plain,
            connection=connection,
            on_invalid="report",
            timeout=1,
            stall_timeout=5,
            progress=False,
            raise_on_error=False,  # the report is what is checked for secrets
        )
        texts += [repr(report), report._repr_html_(), report.to_frame().to_string()]
        assert report.delivered == 0
        assert report.invalid == 1
        assert len(report.failed) == 2
    except DeliveryTimeoutError as exc:  # a stall is an acceptable outcome too
        texts.append(str(exc))
    finally:
        connection.close(1)
    texts.append(caplog.text)
    assert all(SECRET not in text for text in texts)
