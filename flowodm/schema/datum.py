"""Convert model instances to Avro-ready datums and decoded datums back to instances.

A converter is compiled once per (model class, schema): one closure per field that needs work,
while fields that need none are copied straight from ``obj.__dict__``. ``model_dump()`` is not
a valid Avro datum (enum members, JSON-mode decimals, ambiguous record unions), hence this module.

Rules (see ``docs/avro-mapping.md``): enums become their value; datetimes become aware UTC
stdlib datetimes, **naive datetimes are taken as UTC**; decimals are quantized to the field's
scale without rounding; records in unions with several alternatives are written in fastavro's
tuple notation ``("ns.Name", datum)`` so the right branch is encoded even when two records have
the same shape.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from enum import Enum
from typing import Any, Generic, TypeVar

import fastavro
from pydantic import BaseModel, TypeAdapter, ValidationError

from flowodm.exceptions import DeserializationError, SchemaGenerationError, SerializationError
from flowodm.schema.exact import trusted_builder
from flowodm.schema.types import (
    ArraySpec,
    EnumSpec,
    LiteralSpec,
    LogicalSpec,
    MapSpec,
    RecordSpec,
    StrLikeSpec,
    TypeSpec,
    UnionSpec,
    record_fields,
    value_matches,
)
from flowodm.schema.values import quantize_decimal, to_utc

__all__ = ["DatumConverter"]

M = TypeVar("M", bound=BaseModel)
Conv = Callable[[Any], Any]
_UTC = dt.UTC


class DatumConverter(Generic[M]):
    """Compiled conversions between instances of ``model_cls`` and datums of ``schema``.

    Args:
        model_cls: the pydantic model class.
        schema: its Avro record schema, normally ``build_avro_schema(model_cls, ...)``; it must
            have exactly the model's fields. Record full names for tuple notation come from it.

    Raises:
        SchemaGenerationError: the schema does not describe ``model_cls`` or is not valid Avro.
    """

    def __init__(
        self, model_cls: type[M], schema: dict[str, Any], *, generated: bool = False
    ) -> None:
        self.model_cls = model_cls
        self.schema = schema
        _check_schema_matches(model_cls, schema)
        compiler = _Compiler(_full_names(model_cls, schema))
        self._to = compiler.record_to(model_cls)
        self._from = compiler.record_from(model_cls)
        #: Whether ``to_datum(obj)`` differs from ``obj.__dict__`` at most by enum members
        #: (→ their values) and datetimes (→ aware UTC). A schema-specialised encoder takes
        #: those as they are and writes the same bytes, so it may encode ``obj.__dict__``
        #: directly (falling back to ``to_datum`` for anything it refuses).
        self.dict_is_datum = all(compiler.encoder_ready(f.spec) for f in record_fields(model_cls))
        self._list_adapter: TypeAdapter[list[M]] | None = None
        # Datums of a schema generated from the model need no validation when it could change
        # or reject nothing (``flowodm.schema.exact``); a schema file may differ, so never then.
        self._trusted = trusted_builder(model_cls) if generated else None

    def to_datum(self, obj: M) -> dict[str, Any]:
        """Return the Avro-ready datum of ``obj``.

        Raises:
            SerializationError: a value cannot be represented; names ``Model.field``.
        """
        out: dict[str, Any] = self._to(obj)
        return out

    def from_datum(self, datum: dict[str, Any]) -> M:
        """Build a model instance from a datum decoded by fastavro (``return_record_name=True``).

        Raises:
            DeserializationError: the datum does not validate against the model.
        """
        try:
            return _validate(self.model_cls, self._from(datum) if self._from else datum)
        except DeserializationError:
            raise
        except ValidationError as exc:
            raise self._invalid(exc) from exc
        except Exception as exc:
            raise DeserializationError(
                f"decoded record does not validate as {self.model_cls.__name__}: {exc}",
                model=self.model_cls.__name__,
            ) from exc

    def from_datums(self, datums: list[dict[str, Any]]) -> list[M | DeserializationError]:
        """``from_datum`` for many datums in one validator call: instances, or the errors.

        One ``TypeAdapter(list[Model])`` call validates a whole chunk (several times faster
        than one ``model_validate`` per datum); when it fails, each datum is validated on its
        own so that every error belongs to its datum and the others still come back.
        Callers keep chunks to a few hundred datums (building many models at once is GC-bound).
        A model whose validation could change or reject nothing (``flowodm.schema.exact``) is
        built without it, as validation would build it.
        """
        convert = self._from
        try:
            prepared = [convert(d) for d in datums] if convert else datums
        except Exception:  # one datum's conversion failed: find it below, row by row
            return [self._one(d) for d in datums]
        if self._trusted is not None:
            try:
                return list(self._trusted(prepared))
            except Exception:  # not the model's fields, or an unknown symbol: validate
                pass
        adapter = self._list_adapter
        if adapter is None:
            adapter = self._list_adapter = TypeAdapter(list[self.model_cls])  # type: ignore[name-defined]
        try:
            models: list[M] = adapter.validate_python(prepared, by_name=True, strict=False)
            return list(models)
        except ValidationError:
            return [self._one(d) for d in datums]

    def _one(self, datum: dict[str, Any]) -> M | DeserializationError:
        try:
            return self.from_datum(datum)
        except DeserializationError as exc:
            return exc

    def _invalid(self, exc: ValidationError) -> DeserializationError:
        """The error for a datum that does not validate, naming the first failing field."""
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        name = self.model_cls.__name__
        where = f" field {field!r}:" if field else ""
        return DeserializationError(
            f"decoded record does not validate as {name}:{where} {first['msg']} "
            f"({exc.error_count()} error(s))",
            model=name,
            field=field,
        )


def _validate(cls: type[M], data: Any) -> M:
    # by_name: the datum uses Python field names even when the model declares aliases.
    # strict=False: decoded Avro carries enum symbols and lists where strict models want
    # Enum members and tuples.
    return cls.model_validate(data, by_name=True, strict=False)


def _check_schema_matches(model_cls: type[BaseModel], schema: dict[str, Any]) -> None:
    fields = schema.get("fields") if isinstance(schema, dict) else None
    if not isinstance(fields, list) or schema.get("type") != "record":
        raise SchemaGenerationError(
            f"schema for {model_cls.__name__} is not an Avro record schema",
            model=model_cls.__name__,
        )
    in_schema = [f.get("name") for f in fields]
    in_model = list(model_cls.model_fields)
    if sorted(in_schema) != sorted(in_model):
        raise SchemaGenerationError(
            f"schema {schema.get('name')!r} does not describe {model_cls.__name__}: "
            f"schema fields {in_schema}, model fields {in_model}; "
            "generate it with build_avro_schema()",
            model=model_cls.__name__,
        )


def _full_names(model_cls: type[BaseModel], schema: dict[str, Any]) -> dict[str, str]:
    """Short name -> full name of every named type in ``schema`` (parses and validates it)."""
    named: dict[str, Any] = {}
    try:
        fastavro.parse_schema(schema, named_schemas=named)
    except Exception as exc:
        raise SchemaGenerationError(
            f"schema for {model_cls.__name__} is not valid Avro: {exc}", model=model_cls.__name__
        ) from exc
    names = {full.rpartition(".")[2]: full for full in named}
    top = schema.get("name")
    namespace = schema.get("namespace")
    if isinstance(top, str):  # the top-level record may be renamed (build_avro_schema name=)
        names[model_cls.__name__] = f"{namespace}.{top}" if namespace and "." not in top else top
    return names


def _field_error(where: str, exc: Exception) -> SerializationError:
    model, _, field = where.partition(".")
    if isinstance(exc, SerializationError) and exc.field:
        return SerializationError(f"{where}: {exc}", model=model, field=f"{field}.{exc.field}")
    return SerializationError(f"{where}: {exc}", model=model, field=field)


class _Compiler:
    """Builds (and caches per class) the to/from closures of one schema's model tree."""

    def __init__(self, full_names: dict[str, str]) -> None:
        self._full_names = full_names
        self._to: dict[type[BaseModel], Conv] = {}
        self._from: dict[type[BaseModel], Conv | None] = {}

    # ---- model -> datum -------------------------------------------------------------------

    def record_to(self, cls: type[BaseModel]) -> Conv:
        done = self._to.get(cls)
        if done is not None:
            return done
        late: list[Conv] = []
        self._to[cls] = lambda obj: late[0](obj)  # recursive models reach this placeholder
        late.append(self._build_record_to(cls))
        self._to[cls] = late[0]
        return late[0]

    def _build_record_to(self, cls: type[BaseModel]) -> Conv:
        fields = record_fields(cls)
        names = tuple(f.name for f in fields)
        convs = tuple(
            (f.name, f.where, conv) for f in fields if (conv := self.to(f.spec)) is not None
        )

        def record_to_datum(obj: Any) -> dict[str, Any]:
            if type(obj) is cls:
                out = dict(obj.__dict__)
            elif isinstance(obj, cls):  # a subclass instance: only the declared fields
                values = obj.__dict__
                out = {n: values[n] for n in names}
            else:
                raise SerializationError(
                    f"expected a {cls.__name__} instance, got {type(obj).__name__}",
                    model=cls.__name__,
                )
            for name, where, conv in convs:
                try:
                    out[name] = conv(out[name])
                except Exception as exc:
                    raise _field_error(where, exc) from exc
            return out

        return record_to_datum

    def to(self, spec: TypeSpec) -> Conv | None:
        """The converter for one value of ``spec``; None when the value is already Avro-ready."""
        if isinstance(spec, LogicalSpec):
            return _decimal_to(spec) if spec.logical == "decimal" else _LOGICAL_TO.get(spec.logical)
        if isinstance(spec, StrLikeSpec):
            return str
        if isinstance(spec, EnumSpec):
            return _enum_to
        if isinstance(spec, ArraySpec):
            return _array_to(self.to(spec.items))
        if isinstance(spec, MapSpec):
            return _map_to(self.to(spec.values))
        if isinstance(spec, RecordSpec):
            return self.record_to(spec.cls)
        if isinstance(spec, UnionSpec):
            return self._union_to(spec)
        return None

    def encoder_ready(self, spec: TypeSpec) -> bool:
        """Whether a value of ``spec`` needs no conversion, or only an enum/datetime one."""
        if isinstance(spec, EnumSpec):
            return True
        if isinstance(spec, LogicalSpec) and spec.logical in _TIMESTAMPS:
            return True
        if isinstance(spec, UnionSpec) and len(spec.branches) == 1:
            return self.encoder_ready(spec.branches[0])
        return self.to(spec) is None

    def _union_to(self, spec: UnionSpec) -> Conv | None:
        if len(spec.branches) == 1:
            inner = self.to(spec.branches[0])
            if inner is None:
                return None
            return lambda v: None if v is None else inner(v)
        branches = [(b, self.to(b), self._tag(b)) for b in spec.branches]
        # Exact classes first, so a subclass branch wins over its base class's branch.
        cache: dict[type, tuple[Conv | None, str | None]] = {
            b.cls: (conv, tag) for b, conv, tag in branches if isinstance(b, RecordSpec)
        }
        nullable = spec.nullable

        def union_to_datum(value: Any) -> Any:
            if value is None and nullable:
                return None
            hit = cache.get(type(value))
            if hit is None:
                for branch, conv, tag in branches:
                    if value_matches(branch, value):
                        hit = (conv, tag)
                        if not isinstance(branch, LiteralSpec):  # literals match by value
                            cache[type(value)] = hit
                        break
                else:
                    raise TypeError(f"{value!r} matches none of the union's types")
            conv, tag = hit
            out = value if conv is None else conv(value)
            return out if tag is None else (tag, out)

        return union_to_datum

    def _tag(self, spec: TypeSpec) -> str | None:
        # Only records are tagged: fastavro's union validation (used for untagged outer unions
        # and by confluent's AvroSerializer) understands tuple notation for records only.
        if isinstance(spec, RecordSpec):
            name = spec.cls.__name__
            return self._full_names.get(name, name)
        return None

    # ---- datum -> model -------------------------------------------------------------------

    def record_from(self, cls: type[BaseModel]) -> Conv | None:
        """Converter for a decoded record dict of ``cls``; None when pydantic can take it as is."""
        if cls in self._from:
            return self._from[cls]
        if not _has_record_union(RecordSpec(cls), set()):
            self._from[cls] = None
            return None
        late: list[Conv] = []
        self._from[cls] = lambda datum: late[0](datum)  # recursive models reach this placeholder
        convs = tuple(
            (f.name, conv) for f in record_fields(cls) if (conv := self.from_(f.spec)) is not None
        )

        def record_from_datum(datum: dict[str, Any]) -> dict[str, Any]:
            out = dict(datum)
            for name, conv in convs:
                if name in out:
                    out[name] = conv(out[name])
            return out

        late.append(record_from_datum)
        self._from[cls] = record_from_datum
        return record_from_datum

    def from_(self, spec: TypeSpec) -> Conv | None:
        if isinstance(spec, ArraySpec):
            item = self.from_(spec.items)
            return None if item is None else lambda v: [item(x) for x in v]
        if isinstance(spec, MapSpec):
            value = self.from_(spec.values)
            return None if value is None else lambda v: {k: value(x) for k, x in v.items()}
        if isinstance(spec, RecordSpec):
            return self.record_from(spec.cls)
        if isinstance(spec, UnionSpec):
            return self._union_from(spec)
        return None

    def _union_from(self, spec: UnionSpec) -> Conv | None:
        if not _has_record_union(spec, set()):
            return None
        records = [b.cls for b in spec.branches if isinstance(b, RecordSpec)]
        by_name: dict[str, type[BaseModel]] = {}
        for cls in records:
            by_name[cls.__name__] = cls
            by_name[self._full_names.get(cls.__name__, cls.__name__)] = cls
        # Untagged values: a dict is the only record branch, a list the array branch.
        single = self.record_from(records[0]) if len(records) == 1 else None
        arrays = [self.from_(b) for b in spec.branches if isinstance(b, ArraySpec)]
        array = arrays[0] if arrays else None

        def union_from_datum(value: Any) -> Any:
            if type(value) is tuple:  # fastavro's return_record_name: (full name, record)
                name, record = value
                cls = by_name.get(name) or by_name.get(name.rpartition(".")[2])
                if cls is None:
                    raise DeserializationError(f"record {name!r} is not a branch of the union")
                conv = self.record_from(cls)
                return _validate(cls, conv(record) if conv else record)
            if single is not None and type(value) is dict:
                return single(value)
            if array is not None and type(value) is list:
                return array(value)
            return value

        return union_from_datum


def _has_record_union(spec: TypeSpec, seen: set[type[BaseModel]]) -> bool:
    """Whether decoding ``spec`` can yield ``(name, record)`` tuples that need unwrapping."""
    if isinstance(spec, UnionSpec):
        # Any record branch: decoders other than ours (confluent's AvroDeserializer with
        # return_record_name=True) tag even the single record of ["null", Record].
        return any(isinstance(b, RecordSpec) for b in spec.branches) or any(
            _has_record_union(b, seen) for b in spec.branches
        )
    if isinstance(spec, ArraySpec):
        return _has_record_union(spec.items, seen)
    if isinstance(spec, MapSpec):
        return _has_record_union(spec.values, seen)
    if isinstance(spec, RecordSpec) and spec.cls not in seen:
        seen.add(spec.cls)
        return any(_has_record_union(f.spec, seen) for f in record_fields(spec.cls))
    return False


def _datetime_to(value: Any) -> dt.datetime:
    if type(value) is dt.datetime and value.tzinfo is _UTC:
        return value
    if not isinstance(value, dt.datetime):
        raise TypeError(f"expected a datetime, got {type(value).__name__}")
    try:
        return to_utc(value)
    except (TypeError, ValueError) as exc:  # e.g. pandas NaT
        raise TypeError(
            f"{value!r} is not a valid datetime ({exc}); use None for missing"
        ) from None


def _time_to(value: Any) -> dt.time:
    if not isinstance(value, dt.time):
        raise TypeError(f"expected a time, got {type(value).__name__}")
    if value.tzinfo is not None:
        raise ValueError(f"{value} has a time zone; Avro time values have none, pass a naive time")
    return value


def _enum_to(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def _decimal_to(spec: LogicalSpec) -> Conv:
    precision, scale = spec.precision, spec.scale

    def decimal_to_datum(value: Any) -> Decimal:
        if not isinstance(value, Decimal):
            raise TypeError(f"expected a Decimal, got {type(value).__name__}")
        return quantize_decimal(value, precision, scale)

    return decimal_to_datum


def _array_to(item: Conv | None) -> Conv:
    if item is None:
        return lambda v: v if type(v) is list else list(v)
    return lambda v: [item(x) for x in v]


def _map_to(value: Conv | None) -> Conv | None:
    if value is None:
        return None
    return lambda v: {k: value(x) for k, x in v.items()}


_TIMESTAMPS = frozenset({"timestamp-millis", "timestamp-micros"})
_LOGICAL_TO: dict[str, Conv] = {
    "timestamp-millis": _datetime_to,
    "timestamp-micros": _datetime_to,
    "time-millis": _time_to,
    "time-micros": _time_to,
}
