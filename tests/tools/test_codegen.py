"""Code generation: hand-written schemas round-trip, load, encode; unsupported constructs fail.

The shared helpers here (``import_source``, ``assert_round_trip``, ``assert_ruff_clean``) are
also used by the property test in ``test_codegen_properties.py``.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import inspect
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import UUID

import pytest
from fastavro.schema import to_parsing_canonical_form

from flowodm import FlowBaseModel
from flowodm.exceptions import InvalidArgumentError, SchemaGenerationError, SchemaRegistryError
from flowodm.serde.avro import AvroCodec
from flowodm.tools.codegen import (
    full_canonical_form,
    generate_model,
    generate_source,
    generate_source_from_registry,
    load_schema_file,
)

SCHEMA_DIR = Path(__file__).parent / "schemas"
SCHEMA_FILES = sorted(SCHEMA_DIR.glob("*.avsc"))
# What the generated code is checked with: ruff's defaults (it lands in users' projects, whose
# settings are unknown) plus the rule sets FlowODM itself uses that apply to generated code,
# except RUF, whose ambiguous-unicode rules would flag docs written in other scripts.
RUFF_RULES = ["--extend-select", "W,I,B,UP,SIM,A"]


def import_source(source: str, directory: Path, name: str) -> ModuleType:
    """Write ``source`` to ``directory/name.py`` and import it as a real module."""
    path = directory / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


def top_model(module: ModuleType, schema: dict[str, Any]) -> type[FlowBaseModel]:
    """The class of the schema's top record in a generated module."""
    name = str(schema["name"]).rpartition(".")[2]
    cls = getattr(module, name, None) or getattr(module, f"{name}_")
    assert isinstance(cls, type) and issubclass(cls, FlowBaseModel)
    return cls


def assert_round_trip(source: Any, model: type[FlowBaseModel]) -> None:
    """The model's schema equals ``source`` in PCF and with defaults, docs and logical types."""
    generated = model.avro_schema()
    assert to_parsing_canonical_form(generated) == to_parsing_canonical_form(source)
    assert full_canonical_form(generated) == full_canonical_form(source)


def assert_ruff_clean(directory: Path) -> None:
    """``ruff check`` and ``ruff format --check`` pass on every file in ``directory``."""
    for command in (
        ["check", "--isolated", *RUFF_RULES, "--no-cache", "."],
        ["format", "--isolated", "--check", "--no-cache", "."],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "ruff", *command],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, f"ruff {command[0]}:\n{done.stdout}{done.stderr}"


# ------------------------------------------------------------------------------ sample data


def named_types(
    schema: Any, namespace: str | None = None, found: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Every named type of ``schema`` by full and short name (to resolve references)."""
    found = {} if found is None else found
    if isinstance(schema, list):
        for branch in schema:
            named_types(branch, namespace, found)
    elif isinstance(schema, dict):
        kind = schema.get("type")
        if kind in ("record", "enum"):
            name = schema["name"]
            ns = schema.get("namespace", namespace) if "." not in name else name.rpartition(".")[0]
            full = name if "." in name or not ns else f"{ns}.{name}"
            found[full] = found[name.rpartition(".")[2]] = schema
            for field in schema.get("fields", []):
                named_types(field["type"], ns, found)
        elif kind == "array":
            named_types(schema["items"], namespace, found)
        elif kind == "map":
            named_types(schema["values"], namespace, found)
    return found


_LOGICAL_SAMPLES: dict[str, Any] = {
    "date": dt.date(2024, 2, 29),
    "timestamp-millis": dt.datetime(2024, 1, 2, 3, 4, 5, 123000, tzinfo=dt.UTC),
    "timestamp-micros": dt.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=dt.UTC),
    "time-millis": dt.time(12, 34, 56, 789000),
    "time-micros": dt.time(12, 34, 56, 789123),
    "uuid": UUID("7d1b5a8e-31f4-4c8e-9b7a-0d2c3e4f5a6b"),
}
_PRIMITIVE_SAMPLES: dict[str, Any] = {
    "string": "text",
    "long": 2**40,
    "int": -7,
    "double": 1.25,
    "float": 0.5,
    "boolean": True,
    "bytes": b"\x00\xff",
}


def sample_value(schema: Any, named: dict[str, Any], depth: int = 0) -> Any:
    """A valid Python value for ``schema`` (recursion stops at depth 3 via null / empty)."""
    if isinstance(schema, list):
        if "null" in schema and depth >= 3:
            return None
        return sample_value(next(b for b in schema if b != "null"), named, depth)
    if isinstance(schema, str):
        if schema in _PRIMITIVE_SAMPLES:
            return _PRIMITIVE_SAMPLES[schema]
        return sample_value(named[schema.rpartition(".")[2]], named, depth)
    kind = schema["type"]
    logical = schema.get("logicalType")
    if logical == "decimal":
        return Decimal(1).scaleb(-schema.get("scale", 0))
    if logical in _LOGICAL_SAMPLES:
        return _LOGICAL_SAMPLES[logical]
    if kind == "enum":
        return schema["symbols"][-1]
    if kind == "array":
        return [] if depth >= 3 else [sample_value(schema["items"], named, depth + 1)]
    if kind == "map":
        return {} if depth >= 3 else {"k": sample_value(schema["values"], named, depth + 1)}
    if kind == "record":
        return {f["name"]: sample_value(f["type"], named, depth + 1) for f in schema["fields"]}
    return _PRIMITIVE_SAMPLES[kind]


def assert_encodes_and_decodes(model: type[FlowBaseModel], schema: dict[str, Any]) -> None:
    """An instance survives to_avro_dict → Avro bytes → from_avro_dict unchanged."""
    instance = model.model_validate(sample_value(schema, named_types(schema)), by_name=True)
    codec = AvroCodec(model.avro_schema())
    decoded = model.from_avro_dict(codec.decode(codec.encode(instance.to_avro_dict())))
    assert decoded == instance


# ------------------------------------------------------------------------------ hand-written


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.stem)
def test_hand_written_schema_is_generated_imported_and_round_tripped(
    path: Path, tmp_path: Path
) -> None:
    schema = load_schema_file(path)
    source = generate_source(schema, topic=f"topic-{path.stem}")
    assert "Differences from the source schema" not in source
    model = top_model(import_source(source, tmp_path, f"gen_{path.stem}"), schema)
    assert model.flow_settings().topic == f"topic-{path.stem}"
    assert_round_trip(schema, model)
    assert_encodes_and_decodes(model, schema)


def test_there_are_at_least_five_hand_written_schemas() -> None:
    assert len(SCHEMA_FILES) >= 5


def _long_lines_schema() -> dict[str, Any]:
    """Names, unions and defaults long enough that every layout rule has to split a line."""
    records = [
        {"type": "record", "name": f"CustomerLifecycleEventVariantNumber{i}", "fields": []}
        for i in range(4)
    ]
    long_text = "a description long enough that it cannot share a line with anything else"
    return {
        "type": "record",
        "name": "LongLines",
        "fields": [
            {
                "name": "a_rather_long_field_name_for_a_union_of_records",
                "type": ["null", *records],
                "default": None,
            },
            {"name": "described", "type": "string", "default": "x" * 30, "doc": long_text},
            {"name": "only_doc", "type": "string", "doc": long_text + long_text},
            {"name": "wrapped_default", "type": "string", "default": "y" * 70},
            {"name": "unsplittable_default", "type": "string", "default": "z" * 100},
            {"name": "n" * 60, "type": "long", "default": 1234567890},
            {
                "name": "many_strings",
                "type": {"type": "array", "items": "string"},
                "default": [f"value-number-{i}" for i in range(12)],
            },
            {
                "name": "nested_defaults",
                "type": {"type": "map", "values": {"type": "array", "items": "long"}},
                "default": {"first_key_of_the_map": list(range(30)), "second": [1, 2]},
            },
        ],
    }


def test_generated_sources_pass_ruff(tmp_path: Path) -> None:
    schemas = {path.stem: load_schema_file(path) for path in SCHEMA_FILES}
    schemas["long_lines"] = _long_lines_schema()
    for stem, schema in schemas.items():
        source = generate_source(schema, topic="t")
        (tmp_path / f"gen_{stem}.py").write_text(source, encoding="utf-8")
    assert_ruff_clean(tmp_path)
    assert_round_trip(schemas["long_lines"], generate_model(schemas["long_lines"]))


def test_ruff_check_catches_unformatted_code(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("x = {  'a':1}\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="ruff format"):
        assert_ruff_clean(tmp_path)


def test_nested_types_recursion_and_unions_become_classes(tmp_path: Path) -> None:
    tree = load_schema_file(SCHEMA_DIR / "category_tree.avsc")
    module = import_source(generate_source(tree), tmp_path, "gen_tree")
    leaf = module.Category(slug="leaf")
    history = {"name": "r", "changed_on": "2024-01-01"}
    root = module.Category(slug="root", children=[leaf], history=history)
    assert root.children == [leaf]
    assert isinstance(root.history, module.Revision)

    payment = load_schema_file(SCHEMA_DIR / "payment_event.avsc")
    source = generate_source(payment)
    assert "method: Card | BankTransfer | Wallet = Field(" in source
    assert 'fallback: Wallet | Card = Wallet(provider="acme-pay", account="house")' in source
    assert "class CardNetwork(StrEnum):" in source


def test_shop_order_source_reads_like_hand_written_models() -> None:
    source = generate_source(load_schema_file(SCHEMA_DIR / "shop_order.avsc"), topic="orders")
    for line in [
        "class OrderPlaced(FlowBaseModel):",
        '    """An order a customer placed in the web shop."""',
        '        topic = "orders"',
        '        namespace = "com.acme.shop.events"',
        "    placed_at: datetime",
        "    email: str | None = None",
        "    tier: Tier = Tier.BRONZE",
        "    accuracy_m: Float32 = 10.5",
        "    quantity: Int32 = 1",
        "    unit_price: DecimalP12S2",
        "DecimalP12S2 = Annotated[Decimal, Field(max_digits=12, decimal_places=2)]",
        '    attributes: dict[str, str] = Field(default={"channel": "web"})',
        "    coupon_codes: list[str] = Field(default_factory=list)",
    ]:
        assert line in source.splitlines(), line


def test_generate_model_builds_the_classes_without_a_file() -> None:
    schema = load_schema_file(SCHEMA_DIR / "shop_order.avsc")
    model = generate_model(schema, topic="orders")
    assert model.__name__ == "OrderPlaced"
    assert model.flow_settings().topic == "orders"
    assert_round_trip(schema, model)
    assert_encodes_and_decodes(model, schema)
    again = generate_model(schema)
    assert again is not model and again.__module__ != "__main__"


def test_class_name_keeps_the_record_name_through_settings() -> None:
    schema = {"type": "record", "name": "Order", "namespace": "a.b", "fields": []}
    source = generate_source(json.dumps(schema), class_name="LegacyOrder")
    assert "class LegacyOrder(FlowBaseModel):" in source
    assert '        record_name = "Order"' in source
    model = generate_model(schema, class_name="LegacyOrder")
    assert model.avro_schema() == schema


def test_a_keyword_record_name_gets_a_python_name() -> None:
    schema = {"type": "record", "name": "class", "fields": [{"name": "x", "type": "long"}]}
    model = generate_model(schema)
    assert model.__name__ == "class_"
    assert to_parsing_canonical_form(model.avro_schema()) == to_parsing_canonical_form(schema)


# ------------------------------------------------------------------------------ differences


def _record(*fields: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "record", "name": "Event", "namespace": "ns", **extra, "fields": list(fields)}


@pytest.mark.parametrize(
    ("field", "note"),
    [
        ({"name": "n", "type": ["null", "string"]}, "Event.n: no default in the source"),
        ({"name": "n", "type": "string", "connect.name": "x"}, "properties connect.name"),
        (
            {"name": "n", "type": {"type": "string", "logicalType": "iso-datetime"}},
            "logicalType 'iso-datetime' on 'string' is not carried over",
        ),
    ],
)
def test_what_the_mapping_adds_or_drops_is_listed_and_pcf_still_matches(
    field: dict[str, Any], note: str
) -> None:
    schema = _record(field)
    source = generate_source(schema)
    assert "# Differences from the source schema" in source
    assert note in source
    model = generate_model(schema)
    assert to_parsing_canonical_form(model.avro_schema()) == to_parsing_canonical_form(schema)


def test_a_nullable_union_without_default_gets_null_as_default() -> None:
    model = generate_model(_record({"name": "n", "type": ["null", "string"]}))
    assert model.avro_schema()["fields"][0] == {
        "name": "n",
        "type": ["null", "string"],
        "default": None,
    }
    assert getattr(model(), "n") is None  # noqa: B009 - a generated field mypy cannot see


def test_an_indented_doc_is_kept_clean() -> None:
    schema = _record({"name": "n", "type": "long"}, doc="  Indented.\n    More.  ")
    source = generate_source(schema)
    assert "Event: the doc is kept without its surrounding whitespace" in source
    assert generate_model(schema).avro_schema()["doc"] == inspect.cleandoc(schema["doc"])


def test_docs_that_a_docstring_cannot_hold_verbatim_are_assigned() -> None:
    doc = 'Ends with a quote "x"'
    source = generate_source(_record({"name": "n", "type": "long"}, doc=doc))
    assert "    __doc__ = 'Ends with a quote \"x\"'" in source
    assert generate_model(_record({"name": "n", "type": "long"}, doc=doc)).__doc__ == doc


# ------------------------------------------------------------------------------ errors


def _nested(field_type: Any) -> dict[str, Any]:
    """A schema with ``field_type`` at ``Event.inner.value``."""
    inner = {"type": "record", "name": "Inner", "fields": [{"name": "value", "type": field_type}]}
    return _record({"name": "inner", "type": inner})


@pytest.mark.parametrize(
    ("schema", "path", "says"),
    [
        (_nested({"type": "fixed", "name": "F", "size": 4}), "inner.value", "Avro fixed"),
        (
            _nested({"type": "long", "logicalType": "local-timestamp-millis"}),
            "inner.value",
            "'local-timestamp-millis'",
        ),
        (
            _nested(
                {
                    "type": "fixed",
                    "name": "D",
                    "size": 8,
                    "logicalType": "decimal",
                    "precision": 4,
                    "scale": 2,
                }
            ),
            "inner.value",
            "Avro fixed",
        ),
        (
            _nested({"type": "enum", "name": "E", "symbols": ["A", "B"], "default": "A"}),
            "inner.value",
            "default symbol",
        ),
        (
            _nested({"type": "enum", "name": "E", "symbols": ["A"], "aliases": ["Old"]}),
            "inner.value",
            "aliases",
        ),
        (
            _nested({"type": "enum", "name": "E", "namespace": "other", "symbols": ["A"]}),
            "inner.value",
            "namespace 'other'",
        ),
        (_nested(["string", "null", "long"]), "inner.value", "reorder the branches"),
        (_nested({"type": "array", "items": ["string", "null"]}), "inner.value", "null first"),
        (_nested(["string"]), "inner.value", "two or more branches"),
        (_nested("null"), "inner.value", "'null'"),
        (
            _nested({"type": "map", "values": ["null", "string"]}) | {},
            "inner.value",
            None,
        ),
    ],
)
def test_unsupported_constructs_name_the_field(
    schema: dict[str, Any], path: str, says: str | None
) -> None:
    if says is None:  # the control case: a nullable map value is fine
        generate_model(schema)
        return
    with pytest.raises(SchemaGenerationError) as caught:
        generate_source(schema)
    assert caught.value.model == "Event"
    assert caught.value.field == path
    assert f"Event.{path}:" in str(caught.value)
    assert says in str(caught.value)


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("from", "Python keyword"),
        ("produce", "FlowBaseModel has an attribute"),
        ("model_config", "FlowBaseModel has an attribute"),
        ("Settings", "FlowBaseModel has an attribute"),
        ("_private", "private attributes"),
    ],
)
def test_field_names_a_model_cannot_have_are_refused(name: str, says: str) -> None:
    with pytest.raises(SchemaGenerationError, match=f"Event.{name}: .*{says}.*aliases") as caught:
        generate_source(_record({"name": name, "type": "string"}))
    assert caught.value.field == name


@pytest.mark.parametrize(
    ("field", "says"),
    [
        ({"name": "n", "type": ["null", "string"], "default": "x"}, "must be null"),
        ({"name": "n", "type": ["string", "null", "long"], "default": "x"}, "reorder"),
        (
            {
                "name": "u",
                "type": {"type": "string", "logicalType": "uuid"},
                "default": "7D1B5A8E-31F4-4C8E-9B7A-0D2C3E4F5A6B",
            },
            "lowercase hyphenated",
        ),
        (
            {
                "name": "d",
                "type": {"type": "bytes", "logicalType": "decimal", "precision": 4, "scale": 2},
                "default": "\u0000\u0001",
            },
            "minimal encoding",
        ),
        (
            {"name": "m", "type": {"type": "array", "items": ["null", "long"]}, "default": [1]},
            "must be null",
        ),
    ],
)
def test_defaults_that_cannot_be_reproduced_are_refused(field: dict[str, Any], says: str) -> None:
    with pytest.raises(SchemaGenerationError, match=says) as caught:
        generate_source(_record(field))
    assert caught.value.field == field["name"]


def test_a_top_level_union_or_primitive_is_refused() -> None:
    with pytest.raises(SchemaGenerationError, match="not a record"):
        generate_source(["null", _record()])
    with pytest.raises(SchemaGenerationError, match="not a record"):
        generate_source('"string"')


@pytest.mark.parametrize(
    "schema",
    ["{not json", {"type": "record", "name": "R", "fields": [{"name": "a", "type": "Nope"}]}],
)
def test_invalid_input_is_an_argument_error(schema: Any) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        generate_source(schema)
    assert caught.value.argument == "schema"


def test_load_schema_file_errors_name_the_path(tmp_path: Path) -> None:
    path = tmp_path / "broken.avsc"
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(InvalidArgumentError, match=r"broken\.avsc"):
        load_schema_file(path)
    with pytest.raises(InvalidArgumentError, match=r"missing\.avsc"):
        load_schema_file(tmp_path / "missing.avsc")


# ------------------------------------------------------------------------------ registry


@pytest.mark.integration
def test_generates_from_a_registered_subject(
    registry_client: Any, flowodm_connection: Any, make_topic: Any, tmp_path: Path
) -> None:
    from confluent_kafka.schema_registry import Schema

    topic = make_topic(prefix="codegen")
    schema = load_schema_file(SCHEMA_DIR / "payment_event.avsc")
    registry_client.register_schema(f"{topic}-value", Schema(json.dumps(schema), "AVRO"))
    evolved = _record({"name": "n", "type": "long"})
    registry_client.register_schema(f"{topic}-other", Schema(json.dumps(evolved), "AVRO"))

    source = generate_source_from_registry(f"{topic}-value", connection=flowodm_connection)
    assert f"{topic}-value" in source.splitlines()[0]
    model = top_model(import_source(source, tmp_path, "gen_registry"), schema)
    assert model.flow_settings().topic == topic  # the TopicNameStrategy subject's topic
    assert_round_trip(schema, model)

    by_version = generate_source_from_registry(
        f"{topic}-other", version=1, connection=flowodm_connection.registry, topic="x"
    )
    assert 'topic = "x"' in by_version and "class Event(FlowBaseModel):" in by_version

    with pytest.raises(SchemaRegistryError) as caught:
        generate_source_from_registry(f"{topic}-missing", connection=flowodm_connection)
    assert caught.value.subject == f"{topic}-missing"
