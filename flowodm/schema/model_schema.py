"""A model class's Avro schema and datum converter, each built once per class and process.

Contract (used by ``FlowBaseModel``, the model codec and the DataFrame kit):

- ``model_schema(model_cls)`` returns the schema from ``Settings.schema_path`` (the file is read
  once per class and process, by ``read_schema_file``) or generated from the model's fields
  with its ``namespace``/``record_name``. The dict is shared: copy it before changing it.
- ``model_converter(model_cls)`` returns the ``DatumConverter`` for that schema (which also
  checks that a ``schema_path`` file describes the model).
- Both are cached per class (weakly) for the class's current parsed settings
  (``settings_of``), so every connection's codec and the model's own methods share them.
- ``read_schema_file(model_name, path)`` is the one reader of ``.avsc`` files: a missing,
  non-JSON or non-record file is a ``SettingsError`` naming ``Model.Settings.schema_path``.
"""

from __future__ import annotations

import json
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from flowodm.exceptions import SettingsError
from flowodm.schema.build import build_avro_schema
from flowodm.schema.datum import DatumConverter
from flowodm.settings import ModelSettings, display_name, settings_of

__all__ = ["model_converter", "model_schema", "read_schema_file"]


@dataclass
class _Entry:
    settings: ModelSettings
    schema: dict[str, Any]
    converter: DatumConverter[Any] | None = None


_entries: weakref.WeakKeyDictionary[type, _Entry] = weakref.WeakKeyDictionary()
_lock = threading.RLock()


def model_schema(
    model_cls: type[BaseModel], settings: ModelSettings | None = None
) -> dict[str, Any]:
    """Return the model's Avro schema (``schema_path`` file or generated), built once.

    Args:
        model_cls: The model class.
        settings: Its parsed settings (default: ``settings_of(model_cls)``).

    Raises:
        SettingsError: the ``schema_path`` file cannot be read as an Avro record schema.
        SchemaGenerationError: a field has no Avro form (names the field).
    """
    return _entry(model_cls, settings).schema


def model_converter(
    model_cls: type[BaseModel], settings: ModelSettings | None = None
) -> DatumConverter[Any]:
    """Return the model's ``DatumConverter`` for ``model_schema(model_cls)``, built once.

    Raises:
        SettingsError: as ``model_schema``.
        SchemaGenerationError: the schema does not describe the model (e.g. a ``schema_path``
            file with other fields).
    """
    entry = _entry(model_cls, settings)
    if entry.converter is None:
        with _lock:
            if entry.converter is None:
                entry.converter = DatumConverter(
                    model_cls, entry.schema, generated=entry.settings.schema_path is None
                )
    return entry.converter


def read_schema_file(model_name: str, path: Path) -> dict[str, Any]:
    """Read an ``.avsc`` file holding an Avro record schema.

    Raises:
        SettingsError: the file cannot be read, is not JSON or is not a record schema; names
            ``<model_name>.Settings.schema_path``.
    """
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SettingsError(
            f"{model_name}.Settings.schema_path: cannot read an Avro schema from {str(path)!r}: "
            f"{exc}",
            model=model_name,
            option="schema_path",
        ) from None
    if not isinstance(schema, dict) or schema.get("type") != "record":
        raise SettingsError(
            f"{model_name}.Settings.schema_path: {str(path)!r} does not hold an Avro record "
            'schema (a JSON object with "type": "record")',
            model=model_name,
            option="schema_path",
        )
    return schema


def _entry(model_cls: type[BaseModel], settings: ModelSettings | None) -> _Entry:
    if settings is None:
        settings = settings_of(model_cls)
    entry = _entries.get(model_cls)
    if entry is not None and (entry.settings is settings or entry.settings == settings):
        return entry
    with _lock:
        entry = _entries.get(model_cls)
        if entry is None or entry.settings != settings:
            if settings.schema_path is not None:
                schema = read_schema_file(display_name(model_cls), settings.schema_path)
            else:
                schema = build_avro_schema(
                    model_cls, namespace=settings.namespace, name=settings.record_name
                )
            entry = _Entry(settings, schema)
            _entries[model_cls] = entry
        return entry
