"""Where a schema comes from: a model class, a dict, JSON text or an ``.avsc`` file.

Every tool takes its schemas through :func:`resolve_schema`, so ``diff``, the compatibility
checks and the CLI accept the same four spellings and fail with the same words. A model's
schema is the one it registers (``ModelCodec.schema``: its ``schema_path`` file, else the
generated schema), never a second rendering of it (upstream checked another schema than it
registered).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowodm.exceptions import ArgumentTypeError, InvalidArgumentError

if TYPE_CHECKING:
    from flowodm.model import FlowBaseModel

__all__ = [
    "SchemaSource",
    "load_schema_from_file",
    "model_subject",
    "resolve_schema",
]

#: What a tool accepts as a schema: a model class, a parsed schema, JSON text or a file path.
SchemaSource = Any


@dataclass(frozen=True)
class ResolvedSchema:
    """A schema and how to name it in messages (``model shop.OrderEvent``, ``file a.avsc`` …)."""

    schema: Any
    label: str
    model: type[FlowBaseModel] | None = None


def is_model_class(value: object) -> bool:
    """Whether ``value`` is a ``FlowBaseModel`` subclass (imports the model layer on use)."""
    from flowodm.model import FlowBaseModel

    return isinstance(value, type) and issubclass(value, FlowBaseModel)


def model_schema_of(model: type[FlowBaseModel]) -> dict[str, Any]:
    """Return the schema ``model`` registers (its ``schema_path`` file, else the generated one).

    Raises:
        SchemaGenerationError: a field has no Avro form.
        SettingsError: ``schema_path`` cannot be read.
    """
    from flowodm.serde.model_codec import LOCAL, get_model_codec

    copied: dict[str, Any] = json.loads(json.dumps(get_model_codec(model, LOCAL).schema))
    return copied


def model_subject(model: type[FlowBaseModel]) -> str:
    """Return the registry subject of ``model``'s values (``schema_subject`` or the strategy's).

    Raises:
        SettingsError: the model has no topic and its strategy needs one; the message names
            the model and the setting.
    """
    from flowodm.serde.model_codec import LOCAL, get_model_codec

    return get_model_codec(model, LOCAL).subject


def load_schema_from_file(path: str | Path) -> Any:
    """Read an Avro schema from a ``.avsc`` (JSON) file.

    Raises:
        InvalidArgumentError: the file is missing, unreadable or not JSON; the message names it.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidArgumentError(
            f"schema file {str(file)!r} does not exist", argument="path"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidArgumentError(
            f"schema file {str(file)!r} cannot be read: {exc}", argument="path"
        ) from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidArgumentError(
            f"schema file {str(file)!r} is not JSON ({exc}); an .avsc file holds one Avro "
            "schema as JSON",
            argument="path",
        ) from None


def resolve_schema(source: SchemaSource, *, argument: str = "schema") -> ResolvedSchema:
    """Turn any accepted spelling of a schema into the parsed schema and a label.

    ``source`` may be a ``FlowBaseModel`` subclass, a schema ``dict`` (or list, for a union),
    a ``str`` of JSON text (it starts with ``{``, ``[`` or ``"``), or a path (``str`` or
    ``Path``) to an ``.avsc`` file.

    Raises:
        ArgumentTypeError: ``source`` is none of these.
        InvalidArgumentError: the JSON text or the file cannot be read as JSON.
    """
    if is_model_class(source):
        return ResolvedSchema(model_schema_of(source), f"model {source.__qualname__}", source)
    if isinstance(source, dict | list):
        return ResolvedSchema(json.loads(json.dumps(source)), "schema")
    if isinstance(source, Path):
        return ResolvedSchema(load_schema_from_file(source), f"file {str(source)!r}")
    if isinstance(source, str):
        text = source.strip()
        if text.startswith(("{", "[", '"')):
            try:
                return ResolvedSchema(json.loads(text), "schema")
            except ValueError as exc:
                raise InvalidArgumentError(
                    f"{argument} is not valid JSON ({exc}); pass a schema, its JSON text, an "
                    ".avsc path or a FlowBaseModel class",
                    argument=argument,
                ) from None
        return ResolvedSchema(load_schema_from_file(source), f"file {source!r}")
    raise ArgumentTypeError(
        f"{argument} must be a FlowBaseModel class, a schema dict, JSON text or an .avsc path, "
        f"not {type(source).__name__}",
        argument=argument,
    )
