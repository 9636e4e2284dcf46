"""Message-key serializers, chosen by the model's ``key_serializer`` setting.

Contract (used by the model codec):

- ``KEY_SERIALIZERS`` maps ``"string"``, ``"json"`` and ``"bytes"`` to plain callables
  ``(value) -> bytes``:
  ``string``: ``str`` as UTF-8; ``int`` and ``UUID`` via ``str()``; an ``Enum`` by its value
  (so a ``(str, Enum)`` gives ``b"red"``, never ``b"Color.RED"``); anything else (``bool``,
  ``float``, ``bytes`` …) is refused rather than guessed.
  ``json``: compact JSON with sorted object keys (equal keys give equal bytes, hence the same
  partition); enums, UUIDs, datetimes and models as pydantic renders them in JSON mode.
  ``bytes``: ``bytes``/``bytearray``/``memoryview`` only.
- ``avro_key(value)`` returns ``(schema, datum)`` for the ``avro`` serializer: a primitive Avro
  schema (``string``, ``long``, ``double``, ``boolean``, ``bytes``; a UUID as ``string`` with
  logical type ``uuid``) chosen from the value's type. The codec registers it under
  ``<topic>-key`` and frames the body like a value.
- ``serialize_key(name, value, where=…)`` runs a non-Avro serializer and turns every failure into
  ``SerializationError`` naming ``where`` (e.g. ``OrderEvent.order_id``). A ``None`` key is
  ``None`` (no key) for every serializer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import Enum
from typing import Any
from uuid import UUID

from pydantic_core import PydanticSerializationError, to_jsonable_python

from flowodm.exceptions import DeserializationError, SerializationError

__all__ = ["KEY_SERIALIZERS", "KeySerializer", "avro_key", "deserialize_key", "serialize_key"]

KeySerializer = Callable[[Any], bytes]

_INT64 = (-(2**63), 2**63 - 1)


class _KeyTypeError(TypeError):
    """A key value the chosen serializer cannot represent (message says which and why)."""


def _plain(value: Any) -> Any:
    """Unwrap enums to their values (recursively: an Enum may wrap another)."""
    while isinstance(value, Enum):
        value = value.value
    return value


def string_key(value: Any) -> bytes:
    """Encode a str, int, UUID or Enum (by value) as UTF-8 text."""
    plain = _plain(value)
    if isinstance(plain, str):
        return plain.encode("utf-8")
    if isinstance(plain, int) and not isinstance(plain, bool):
        return str(plain).encode("ascii")
    if isinstance(plain, UUID):
        return str(plain).encode("ascii")
    raise _KeyTypeError(
        f"key_serializer 'string' accepts str, int, UUID and Enum values, not "
        f"{type(value).__name__}; use key_serializer = 'json' (or 'bytes' for raw bytes)"
    )


def json_key(value: Any) -> bytes:
    """Encode any JSON-representable value as compact JSON with sorted object keys."""
    try:
        jsonable = to_jsonable_python(value)
    except PydanticSerializationError as exc:
        raise _KeyTypeError(
            f"key_serializer 'json' cannot encode a {type(value).__name__}: {exc}"
        ) from exc
    return json.dumps(jsonable, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def bytes_key(value: Any) -> bytes:
    """Pass bytes-like keys through unchanged."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise _KeyTypeError(
        f"key_serializer 'bytes' accepts bytes, bytearray or memoryview, not "
        f"{type(value).__name__}; use key_serializer = 'string' or 'json' for other values"
    )


KEY_SERIALIZERS: dict[str, KeySerializer] = {
    "string": string_key,
    "json": json_key,
    "bytes": bytes_key,
}


def avro_key(value: Any, *, where: str) -> tuple[str | dict[str, Any], Any]:
    """Return the primitive Avro schema and datum for a key value.

    Plain primitives use the bare type name (``"string"``), the canonical form Confluent's
    serializers register, so keys written by either share one schema id.

    Raises:
        SerializationError: the value has no primitive Avro form (names ``where``).
    """
    plain = _plain(value)
    if isinstance(plain, bool):
        return "boolean", plain
    if isinstance(plain, int):
        if not _INT64[0] <= plain <= _INT64[1]:
            raise SerializationError(
                f"{where}: key {plain} does not fit an Avro long (64-bit)", **_context(where)
            )
        return "long", plain
    if isinstance(plain, float):
        return "double", plain
    if isinstance(plain, str):
        return "string", plain
    if isinstance(plain, UUID):
        return {"type": "string", "logicalType": "uuid"}, str(plain)
    if isinstance(plain, bytes | bytearray | memoryview):
        return "bytes", bytes(plain)
    raise SerializationError(
        f"{where}: key_serializer 'avro' supports str, int, float, bool, bytes, UUID and Enum "
        f"keys, not {type(value).__name__}; use key_serializer = 'json' for structured keys",
        **_context(where),
    )


def serialize_key(name: str, value: Any, *, where: str) -> bytes | None:
    """Serialize ``value`` with the non-Avro serializer ``name``; ``None`` stays ``None``.

    Args:
        name: ``"string"``, ``"json"`` or ``"bytes"``.
        value: The key value.
        where: What the key belongs to, for error messages (``"OrderEvent.order_id"``).

    Raises:
        SerializationError: the value does not fit the serializer (names ``where``).
    """
    if value is None:
        return None
    try:
        serializer = KEY_SERIALIZERS[name]
    except KeyError:
        raise SerializationError(
            f"{where}: unknown key serializer {name!r}; use one of "
            f"{', '.join(sorted([*KEY_SERIALIZERS, 'avro']))}",
            **_context(where),
        ) from None
    try:
        return serializer(value)
    except _KeyTypeError as exc:
        raise SerializationError(f"{where}: {exc}", **_context(where)) from None


def deserialize_key(name: str, data: bytes | None, *, where: str) -> Any:
    """Read a key written by the non-Avro serializer ``name``; ``None`` (no key) stays ``None``.

    ``string`` gives ``str`` (an int or UUID key comes back as its text: the bytes do not say
    which it was), ``json`` the parsed JSON value, ``bytes`` the bytes unchanged.

    Raises:
        DeserializationError: the bytes are not valid UTF-8 / JSON (names ``where``).
    """
    if data is None or name == "bytes":
        return data
    try:
        text = data.decode("utf-8")
        return json.loads(text) if name == "json" else text
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        context = _context(where)
        raise DeserializationError(
            f"{where}: {len(data)} key bytes are not a {name} key ({exc}); check the model's "
            "key_serializer against what the producer wrote",
            model=context["model"],
            field=context["field"],
        ) from None


def _context(where: str) -> dict[str, str | None]:
    """Split ``Model.field`` (or ``Model key``) into the error's ``model`` and ``field``."""
    model, dot, field = where.partition(".")
    return {"model": model.split(" ", 1)[0], "field": field if dot else None}
