"""How rows become Kafka bytes: through the model's codec, or locally for checks and dry runs.

``codec_encoding`` wraps the core ``ModelCodec`` (registry id resolved up front, so a registry
problem surfaces before anything is sent). ``local_encoding`` is the same codec on the ``LOCAL``
host: exactly the same Avro body without a registry or a connection, which ``validate()`` and
dry runs use to prove every row encodes without talking to any server.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from flowodm.serde.model_codec import LOCAL, ModelCodec, get_model_codec
from flowodm.serde.wire import frame_prefix

__all__ = ["RowEncoding", "codec_encoding", "local_encoding"]


@dataclass(frozen=True, slots=True)
class RowEncoding:
    """The encoding functions the pipeline needs for one model.

    Attributes:
        schema: The Avro schema values are written with.
        header: Bytes before each Avro body (the Confluent prefix, or nothing).
        avro_values: Whether values are Avro (so the columnar encoder may produce them).
        value: Model instance → value bytes (header included).
        values: Model instances → their value bytes, in one call (no per-row call overhead);
            raises ``SerializationError`` if any of them cannot be encoded.
        key: A key value → key bytes with the model's key serializer (``None`` → no key).
        key_field: The model's ``key_field``, if any.
        key_serializer: The model's ``key_serializer`` name.
    """

    schema: dict[str, Any]
    header: bytes
    avro_values: bool
    value: Callable[[Any], bytes]
    values: Callable[[Sequence[Any]], list[bytes]]
    key: Callable[[Any], bytes | None]
    key_field: str | None
    key_serializer: str


def codec_encoding(codec: ModelCodec[Any]) -> RowEncoding:
    """Return the encoding of ``codec``, resolving its schema id now.

    Raises:
        SchemaRegistryError: the schema could not be registered or looked up.
    """
    schema_id = codec.schema_id
    header = frame_prefix(schema_id) if codec.framed and schema_id is not None else b""
    settings = codec.settings
    return RowEncoding(
        schema=codec.schema,
        header=header,
        avro_values=settings.value_serializer == "avro",
        value=codec.value_bytes,
        values=codec.values_bytes,
        key=codec.key_bytes,
        key_field=settings.key_field,
        key_serializer=settings.key_serializer,
    )


def local_encoding(model: type[BaseModel]) -> RowEncoding:
    """Return a registry-free encoding of ``model`` (plain Avro body, same bytes after the header).

    Raises:
        SettingsError: the model's settings are invalid.
        SchemaGenerationError: the model has no Avro form.
    """
    return codec_encoding(get_model_codec(model, LOCAL))
