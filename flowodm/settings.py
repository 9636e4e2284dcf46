"""A model's inner ``Settings`` class, parsed once into a frozen, validated ``ModelSettings``.

Contract (used by ``FlowBaseModel.__pydantic_init_subclass__`` and the model codec):

- ``parse_model_settings(model_cls, parent)`` reads only the class's OWN inner ``Settings``
  (``model_cls.__dict__["Settings"]``), merges its public attributes over ``parent`` (the parsed
  settings of the nearest FlowBaseModel base, or ``None``) and validates the result. A subclass
  therefore inherits every option and may override single ones, unlike upstream 0.3.1 where a
  subclass's ``Settings`` replaced the parent's whole.
- Unknown options, wrong types and a ``key_field`` that names no model field raise
  ``SettingsError`` naming the model and the option, with a "did you mean" hint for typos.
  When ``model_cls`` is a pydantic model, ``key_field`` is checked against ``model_fields``
  automatically; other callers use ``check_against_fields``.
- ``schema_path`` is resolved once, at class definition: a relative path is taken relative to
  the directory of the file that defines the model, or to the current working directory when
  the model is defined interactively (notebook, REPL, ``python -c``). The file must exist then;
  the codec reads it once, lazily.
- An inner class whose name is a near miss of ``Settings`` (``settings``, ``Setting``,
  ``Setings`` ...) raises ``SettingsError`` too: FlowODM reads only ``Settings``, so such a
  class would silently leave the model without its topic. Nested pydantic models and enums,
  and pydantic's own ``model_config``/``Config``, are not settings and are left alone.
- ``ModelSettings.require_topic(model_name)`` returns the topic or raises ``SettingsError``.
- Storage convention: the model class keeps its parsed settings in the class attribute
  ``__flowodm_settings__`` (``SETTINGS_ATTRIBUTE``); ``settings_of(model_cls)`` reads it, or
  parses the class's inner ``Settings`` on the fly for a plain pydantic model.
"""

from __future__ import annotations

import difflib
import sys
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, model_validator

from flowodm._arguments import did_you_mean
from flowodm.exceptions import SettingsError

__all__ = [
    "SETTINGS_ATTRIBUTE",
    "ModelSettings",
    "check_against_fields",
    "display_name",
    "parse_model_settings",
    "settings_of",
]

SETTINGS_ATTRIBUTE = "__flowodm_settings__"

SubjectNameStrategy = Literal["topic", "record", "topic_record"]
KeySerializerName = Literal["string", "avro", "json", "bytes"]
ValueSerializerName = Literal["avro", "json"]


class ModelSettings(BaseModel):
    """The validated options of a model's inner ``Settings`` class.

    Attributes:
        topic: Kafka topic the model is produced to and consumed from.
        key_field: Name of the model field whose value becomes the message key.
        schema_subject: Registry subject; overrides ``subject_name_strategy`` when set.
        subject_name_strategy: How the subject is derived: ``topic`` (``<topic>-value``),
            ``record`` (``<namespace>.<Record>``) or ``topic_record``
            (``<topic>-<namespace>.<Record>``).
        namespace: Avro namespace of the generated record schema (default: none, so a refactor
            that moves the class to another module does not change the schema's full name).
        record_name: Avro record name (default: the class name). Lets a renamed class keep
            writing the same registered schema.
        confluent_wire_format: Prefix Avro values with magic byte 0 and the 4-byte schema id.
        auto_register: Register the schema on first use; when false it must already be
            registered and is only looked up.
        schema_path: A ``.avsc`` file to use instead of the schema generated from the model.
        key_serializer: How keys are turned into bytes: ``string``, ``avro``, ``json``, ``bytes``.
        value_serializer: How values are turned into bytes: ``avro`` or ``json``.
        consumer_group: Default consumer group for this model.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    topic: str | None = Field(default=None, min_length=1, strict=True)
    key_field: str | None = Field(default=None, min_length=1, strict=True)
    schema_subject: str | None = Field(default=None, min_length=1, strict=True)
    subject_name_strategy: SubjectNameStrategy = "topic"
    namespace: str | None = Field(default=None, min_length=1, strict=True)
    record_name: str | None = Field(default=None, min_length=1, strict=True)
    confluent_wire_format: StrictBool = True
    auto_register: StrictBool = True
    schema_path: Path | None = None
    key_serializer: KeySerializerName = "string"
    value_serializer: ValueSerializerName = "avro"
    consumer_group: str | None = Field(default=None, min_length=1, strict=True)

    @model_validator(mode="after")
    def _reject_contradictions(self) -> ModelSettings:
        # An explicit subject and a non-default strategy cannot both win; say so instead of
        # silently picking one.
        if self.schema_subject is not None and self.subject_name_strategy != "topic":
            raise ValueError(
                "set either schema_subject or subject_name_strategy, not both "
                f"(schema_subject={self.schema_subject!r}, "
                f"subject_name_strategy={self.subject_name_strategy!r})"
            )
        return self

    def require_topic(self, model_name: str) -> str:
        """Return the topic, or raise ``SettingsError`` telling how to set it.

        Raises:
            SettingsError: no topic is configured.
        """
        if self.topic is None:
            raise SettingsError(
                f"{model_name} has no topic: set `topic` in its inner Settings class",
                model=model_name,
                option="topic",
            )
        return self.topic


OPTION_NAMES: frozenset[str] = frozenset(ModelSettings.model_fields)


def parse_model_settings(model_cls: type, parent: ModelSettings | None) -> ModelSettings:
    """Parse ``model_cls``'s own inner ``Settings`` class over its parent's settings.

    Args:
        model_cls: The model class being defined.
        parent: The parsed settings of the nearest base model, or ``None`` for a root model.

    Returns:
        The merged, validated settings (``parent`` itself when the class has no own ``Settings``).

    Raises:
        SettingsError: an unknown option, a wrong type, a missing ``schema_path`` file or a
            ``key_field`` that is not a field of the model.
    """
    model_name = display_name(model_cls)
    _reject_misspelt_settings(model_name, model_cls)
    inner = model_cls.__dict__.get("Settings")
    if inner is None:
        settings = parent if parent is not None else ModelSettings()
    else:
        own = _collect_options(model_name, inner)
        if "schema_path" in own:
            own["schema_path"] = _resolve_schema_path(model_name, model_cls, own["schema_path"])
        merged = {**(parent.model_dump(exclude_unset=True) if parent else {}), **own}
        settings = _validate(model_name, merged)
    fields = getattr(model_cls, "model_fields", None)
    if isinstance(fields, dict):
        check_against_fields(model_name, settings, fields)
    return settings


def display_name(model_cls: type) -> str:
    """The class name used in messages: its qualified name without ``<locals>`` noise."""
    return model_cls.__qualname__.rsplit("<locals>.", 1)[-1]


def settings_of(model_cls: type) -> ModelSettings:
    """Return the parsed settings stored on ``model_cls`` (or parse its own ``Settings``).

    Raises:
        SettingsError: the class has no stored settings and its inner ``Settings`` is invalid.
    """
    stored = getattr(model_cls, SETTINGS_ATTRIBUTE, None)
    if isinstance(stored, ModelSettings):
        return stored
    return parse_model_settings(model_cls, None)


def check_against_fields(model_name: str, settings: ModelSettings, field_names: Any) -> None:
    """Check that ``settings.key_field`` names one of ``field_names``.

    Raises:
        SettingsError: ``key_field`` is not a field of the model.
    """
    if settings.key_field is None:
        return
    names = sorted(str(name) for name in field_names)
    if settings.key_field not in names:
        raise SettingsError(
            f"{model_name}.Settings.key_field = {settings.key_field!r} is not a field of "
            f"{model_name}{did_you_mean(settings.key_field, names)}; "
            f"fields are: {', '.join(names) or '(none)'}",
            model=model_name,
            option="key_field",
        )


def _reject_misspelt_settings(model_name: str, model_cls: type) -> None:
    """Raise if the class defines an inner class whose name is a near miss of ``Settings``.

    Only ``Settings`` is read, so ``class settings:`` would otherwise be ignored and the model
    left without its topic and key. Nested record types (pydantic models) and enums are
    legitimate inner classes whatever their name, so they are not taken for settings.

    Raises:
        SettingsError: naming the misspelt class and saying to write ``class Settings:``.
    """
    for name, value in vars(model_cls).items():
        if name == "Settings" or not isinstance(value, type):
            continue
        if issubclass(value, BaseModel | Enum) or not _looks_like_settings(name):
            continue
        raise SettingsError(
            f"{model_name}.{name} looks like a misspelt inner Settings class, which FlowODM "
            f"would ignore (the model would have no topic or key): rename it to "
            f"`class Settings:` (capital S, plural)",
            model=model_name,
            option=name,
        )


def _looks_like_settings(name: str) -> bool:
    """Whether an inner class name is ``Settings`` in another case, singular or misspelt."""
    folded = name.strip("_").lower()
    return difflib.SequenceMatcher(None, folded, "settings").ratio() >= _SETTINGS_NAME_CUTOFF


# "setting", "setings", "settigns" and "settins" score 0.93-0.88; unrelated names such as
# "seating" (0.8), "testing" (0.67) or "config" stay below.
_SETTINGS_NAME_CUTOFF = 0.85


def _collect_options(model_name: str, inner: object) -> dict[str, Any]:
    """Return the public attributes of the inner class, nearest class first (like ``dir()``)."""
    if isinstance(inner, ModelSettings):
        return inner.model_dump(exclude_unset=True)
    if not isinstance(inner, type):
        raise SettingsError(
            f"{model_name}.Settings must be a class (got {type(inner).__name__}); "
            "write `class Settings:` with options as class attributes",
            model=model_name,
            option="Settings",
        )
    options: dict[str, Any] = {}
    # Walk the MRO so `class Settings(Parent.Settings)` (the upstream idiom) keeps working.
    for klass in reversed(inner.__mro__):
        if klass is object:
            continue
        options.update({k: v for k, v in vars(klass).items() if not k.startswith("_")})
    unknown = sorted(set(options) - OPTION_NAMES)
    if unknown:
        name = unknown[0]
        raise SettingsError(
            f"{model_name}.Settings has an unknown option {name!r}"
            f"{did_you_mean(name, sorted(OPTION_NAMES))}; "
            f"valid options are: {', '.join(sorted(OPTION_NAMES))}",
            model=model_name,
            option=name,
        )
    return options


def _validate(model_name: str, options: dict[str, Any]) -> ModelSettings:
    """Validate merged options, turning pydantic's error into one naming model and option."""
    try:
        return ModelSettings.model_validate(options)
    except ValidationError as exc:
        problems = []
        first_option: str | None = None
        for error in exc.errors(include_url=False):
            option = ".".join(str(part) for part in error["loc"]) or "Settings"
            first_option = first_option or option
            given = options.get(option, "<missing>")
            problems.append(
                f"{model_name}.Settings.{option} = {given!r} ({type(given).__name__}): "
                f"{error['msg']}"
                if option in options
                else f"{model_name}.Settings: {error['msg']}"
            )
        raise SettingsError("; ".join(problems), model=model_name, option=first_option) from None


def _resolve_schema_path(model_name: str, model_cls: type, raw: object) -> Path:
    """Resolve ``schema_path`` against the defining file's directory (or the CWD) and check it."""
    if not isinstance(raw, str | Path):
        raise SettingsError(
            f"{model_name}.Settings.schema_path = {raw!r} ({type(raw).__name__}): "
            "expected a path (str or pathlib.Path) to an .avsc file",
            model=model_name,
            option="schema_path",
        )
    path = Path(raw).expanduser()
    if not path.is_absolute():
        module_file = getattr(sys.modules.get(model_cls.__module__), "__file__", None)
        base = Path(module_file).resolve().parent if module_file else Path.cwd()
        path = base / path
    if not path.is_file():
        raise SettingsError(
            f"{model_name}.Settings.schema_path = {str(raw)!r} resolves to {str(path)!r}, "
            "which is not a file; relative paths are taken from the directory of the file "
            "that defines the model (the working directory in a notebook)",
            model=model_name,
            option="schema_path",
        )
    return path
