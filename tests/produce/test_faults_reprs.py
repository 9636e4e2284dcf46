"""Reprs of results and errors stay short however large the models, keys or messages are.

Issue 13: a ``ProduceManyResult`` of failed models displayed in a notebook printed every model
in full (a 2 MB repr). Reprs now summarise (counts, the first few items, truncated values);
the attributes still hold everything.
"""

from __future__ import annotations

import pickle

from confluent_kafka import KafkaError

from flowodm.exceptions import PartialDeliveryError, ProducerError, SerializationError
from flowodm.model import FlowBaseModel
from flowodm.produce.results import (
    BulkResult,
    DeliveryResult,
    FailedDelivery,
    FailedMessage,
    ProduceManyResult,
)

_BIG = 2_000_000
# Generous: a few items of a few hundred characters each, never the data itself.
_MAX_REPR = 2_000


class Blob(FlowBaseModel):
    """A model whose one field is as large as the caller makes it."""

    class Settings:
        topic = "blobs"
        confluent_wire_format = False

    data: str


def _failures(count: int, model: Blob) -> list[FailedMessage[Blob]]:
    error = KafkaError(KafkaError._MSG_TIMED_OUT)
    return [FailedMessage(i, model, error, True) for i in range(count)]


def test_failed_message_repr_truncates_the_model() -> None:
    model = Blob(data="x" * _BIG)
    failure = FailedMessage(7, model, KafkaError(KafkaError._MSG_TIMED_OUT), True)

    text = repr(failure)

    assert len(text) < _MAX_REPR
    assert text.startswith("FailedMessage(index=7, model=Blob(")
    assert "_MSG_TIMED_OUT" in text
    assert "maybe_written=True" in text
    assert failure.model is model


def test_produce_many_result_repr_summarises_failures() -> None:
    model = Blob(data="y" * _BIG)
    result = ProduceManyResult("blobs", 5, _failures(1_000, model))

    text = repr(result)

    assert len(text) < _MAX_REPR
    assert "topic='blobs'" in text
    assert "delivered=5" in text
    assert "1000 failed" in text
    assert "#0" in text and "#999" not in text  # the first few, then a count
    assert "997 more" in text
    assert len(result.failed) == 1_000
    assert result.failed[999].model is model


def test_bulk_result_repr_summarises_failures() -> None:
    error = KafkaError(KafkaError._PURGE_QUEUE)
    result = BulkResult(3, [FailedDelivery(("row", "z" * _BIG), error, False)] * 500)

    text = repr(result)

    assert len(text) < _MAX_REPR
    assert "delivered=3" in text
    assert "500 failed" in text
    assert "497 more" in text
    assert result.failed[0].ref[1] == "z" * _BIG


def test_delivery_result_repr_truncates_the_key() -> None:
    key = b"k" * _BIG
    result = DeliveryResult("orders", 2, 41, 1_700_000_000_000, key)

    text = repr(result)

    assert len(text) < _MAX_REPR
    assert text.startswith("DeliveryResult(topic='orders', partition=2, offset=41, ")
    assert f"{_BIG} bytes" in text
    assert result.key == key


def test_small_delivery_result_repr_is_unchanged() -> None:
    result = DeliveryResult("orders", 0, 1, None, b"ORD-1")

    assert repr(result) == (
        "DeliveryResult(topic='orders', partition=0, offset=1, timestamp=None, key=b'ORD-1')"
    )


def test_error_reprs_are_bounded_and_keep_their_attributes() -> None:
    model = Blob(data="w" * _BIG)
    result = ProduceManyResult("blobs", 0, _failures(100, model))
    partial = PartialDeliveryError("some failed: " + "v" * _BIG, result=result, topic="blobs")
    producer = ProducerError("refused " + "u" * _BIG, key=b"q" * _BIG, topic="blobs")
    serialization = SerializationError("bad value " + "t" * _BIG, model="Blob", field="data")

    for error in (partial, producer, serialization):
        text = repr(error)
        assert len(text) < _MAX_REPR
        assert text.startswith(f"{type(error).__name__}(")
        assert "chars" in text  # says how much was left out

    assert partial.result is result
    assert producer.key == b"q" * _BIG
    assert str(serialization).endswith("t" * 10)  # the message itself is kept whole
    restored = pickle.loads(pickle.dumps(serialization))
    assert (restored.field, str(restored)) == ("data", str(serialization))
