"""Turning fetched confluent messages into ``ConsumedMessage``s, a chunk at a time.

Values are decoded by the writer's schema (the model codec resolves it by the id in the
header), then validated a chunk at a time (one pydantic call per chunk, see
``DatumConverter.from_datums``). A message that cannot be decoded or validated becomes a
``DeserializationError`` carrying its topic, partition and offset, in its place in the
result, so the caller decides what happens to it (raise, error handler, dead letter); it is
never dropped here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel

from flowodm.consume.message import ConsumedMessage, coordinates
from flowodm.exceptions import DeserializationError, FlowODMError

if TYPE_CHECKING:
    from confluent_kafka import Message

    from flowodm.serde.model_codec import ModelCodec

__all__ = ["MessageDecoder", "located"]

M = TypeVar("M", bound=BaseModel)

#: Rows validated per pydantic call: large enough to amortise the call, small enough that
#: the models of one chunk do not trigger a full garbage collection (performance-findings §5).
CHUNK_ROWS = 256


def located(exc: FlowODMError, message: Message) -> DeserializationError:
    """``exc`` as a ``DeserializationError`` naming the message's topic, partition and offset."""
    topic, partition, offset = coordinates(message)
    model = getattr(exc, "model", None)
    field = getattr(exc, "field", None)
    located_error = DeserializationError(
        f"{topic}[{partition}]@{offset}: {exc}",
        model=model,
        field=field,
        topic=topic,
        partition=partition,
        offset=offset,
    )
    located_error.__cause__ = exc
    return located_error


class MessageDecoder(Generic[M]):
    """Decodes the messages of one model's topic with the model's codec."""

    def __init__(self, codec: ModelCodec[M]) -> None:
        self.codec = codec

    def decode_values(self, messages: Sequence[Message]) -> list[M | DeserializationError | None]:
        """Only the values of ``messages``: a model, its error, or ``None`` for a tombstone.

        For callers that hand out models, not messages: no key is decoded and no
        ``ConsumedMessage`` is built.
        """
        out: list[M | DeserializationError | None] = []
        for start in range(0, len(messages), CHUNK_ROWS):
            out += self._chunk(messages[start : start + CHUNK_ROWS], with_keys=False)[1]
        return out

    def decode(
        self, messages: Sequence[Message]
    ) -> list[ConsumedMessage[M] | DeserializationError]:
        """Decode ``messages`` (no error events among them) in order, one result per message.

        A ``SchemaRegistryError`` (the writer's schema cannot be fetched) is raised, not put
        in the result: it is not the message's fault, and retrying later may succeed.
        """
        out: list[ConsumedMessage[M] | DeserializationError] = []
        for start in range(0, len(messages), CHUNK_ROWS):
            chunk = messages[start : start + CHUNK_ROWS]
            keys, results = self._chunk(chunk, with_keys=True)
            out += [
                result
                if isinstance(result, DeserializationError)
                else ConsumedMessage(result, keys[index], chunk[index])
                for index, result in enumerate(results)
            ]
        return out

    def _chunk(
        self, messages: Sequence[Message], *, with_keys: bool
    ) -> tuple[list[Any], list[Any]]:
        """Keys (if asked) and values (model, error or ``None``) of one chunk of messages."""
        codec = self.codec
        count = len(messages)
        keys: list[Any] = [None] * count
        results: list[Any] = [None] * count  # a model, a DeserializationError, or None
        datums: list[dict[str, Any]] = []
        positions: list[int] = []  # index in ``messages`` of each datum
        decode_key = codec.decode_key
        string_keys = codec.settings.key_serializer == "string"
        json_values = codec.is_json
        # The common case, decoded inline: a body framed with the model's own schema id.
        fast = codec.body_decoder if codec.framed else None
        same = codec.same_schema_prefix
        head: bytes | None = None  # the header of the last body of the model's own schema
        decode_datum = codec.decode_datum
        for index, message in enumerate(messages):
            try:
                if with_keys:
                    raw_key = message.key()
                    if raw_key is not None:
                        keys[index] = raw_key.decode() if string_keys else decode_key(raw_key)
                value = message.value()
                if value is None:
                    continue  # a tombstone: no value to decode
                if json_values:
                    results[index] = codec.decode(value)
                    continue
                if fast is not None:
                    if head is None or not value.startswith(head):
                        head = value[:5] if same(value[:5]) else None
                    if head is not None:
                        try:
                            datums.append(fast(value[5:]))
                            positions.append(index)
                            continue
                        except Exception:  # decode_datum below reports what is wrong
                            pass
                datums.append(decode_datum(value))
                positions.append(index)
            except UnicodeDecodeError:
                results[index] = self._key_error(message)
            except DeserializationError as exc:
                results[index] = located(exc, message)
        if datums:
            for index, model in zip(positions, codec.converter.from_datums(datums), strict=True):
                if isinstance(model, DeserializationError):
                    results[index] = located(model, messages[index])
                else:
                    results[index] = model
        return keys, results

    def _key_error(self, message: Message) -> DeserializationError:
        try:
            self.codec.decode_key(message.key())
        except DeserializationError as exc:
            return located(exc, message)
        return located(DeserializationError("the key is not valid UTF-8"), message)
