"""Schema evolution: the generated schemas evolve compatibly under Avro's resolution rules."""

from __future__ import annotations

import json
from typing import Any

import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType
from pydantic import BaseModel, Field

from flowodm.schema import DatumConverter, build_avro_schema
from flowodm.serde.avro import AvroCodec
from tests.schema.zoo import Address, Status


class UserV1(BaseModel):
    name: str
    age: int


class UserV2(BaseModel):
    name: str
    age: int
    email: str | None = None


class UserV2Required(BaseModel):
    name: str
    age: int
    email: str | None  # required in Python, still nullable with a null default in Avro


class UserV2Rich(BaseModel):
    name: str
    age: int
    status: Status = Status.NEW
    home: Address | None = None
    tags: list[str] = Field(default_factory=list)
    score: float = 0.5


class UserV2NoDefault(BaseModel):
    name: str
    age: int
    email: str


def compatible(reader: type[BaseModel], writer: type[BaseModel]) -> bool:
    def parse(model: type[BaseModel]) -> Any:
        return avro.schema.parse(
            json.dumps(build_avro_schema(model, namespace="users", name="User"))
        )

    checker = ReaderWriterCompatibilityChecker()  # type: ignore[no-untyped-call]
    result = checker.get_compatibility(parse(reader), parse(writer))
    return bool(result.compatibility is SchemaCompatibilityType.compatible)


def test_adding_an_optional_field_is_backward_and_forward_compatible() -> None:
    assert compatible(reader=UserV2, writer=UserV1)  # backward: new readers, old data
    assert compatible(reader=UserV1, writer=UserV2)  # forward: old readers, new data


def test_adding_a_required_nullable_field_is_compatible_too() -> None:
    assert compatible(reader=UserV2Required, writer=UserV1)
    assert compatible(reader=UserV1, writer=UserV2Required)


def test_adding_fields_with_defaults_of_every_kind_is_backward_compatible() -> None:
    assert compatible(reader=UserV2Rich, writer=UserV1)


def test_checker_does_flag_a_new_field_without_default() -> None:
    assert not compatible(reader=UserV2NoDefault, writer=UserV1)


def test_old_bytes_decode_into_the_new_model() -> None:
    old_schema = build_avro_schema(UserV1, namespace="users", name="User")
    new_schema = build_avro_schema(UserV2Rich, namespace="users", name="User")
    body = AvroCodec(old_schema).encode({"name": "ann", "age": 7})
    datum = AvroCodec(new_schema).decode(body, writer_schema=old_schema)
    user = DatumConverter(UserV2Rich, new_schema).from_datum(datum)
    assert user == UserV2Rich(name="ann", age=7)


def test_new_bytes_decode_into_the_old_model() -> None:
    old_schema = build_avro_schema(UserV1, namespace="users", name="User")
    new_schema = build_avro_schema(UserV2, namespace="users", name="User")
    body = AvroCodec(new_schema).encode({"name": "ann", "age": 7, "email": "a@b.c"})
    datum = AvroCodec(old_schema).decode(body, writer_schema=new_schema)
    assert DatumConverter(UserV1, old_schema).from_datum(datum) == UserV1(name="ann", age=7)
