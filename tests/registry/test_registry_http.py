"""Every endpoint and error code of the registry, driven through raw HTTP."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.registry.registry_schemas import CONTENT_TYPE, V1, V2, V3, field, record, text


def register(http: httpx.Client, subject: str, schema: Any, **body: Any) -> httpx.Response:
    payload = {"schema": schema if isinstance(schema, str) else text(schema), **body}
    return http.post(f"/subjects/{subject}/versions", json=payload)


def ok_id(http: httpx.Client, subject: str, schema: Any, **body: Any) -> int:
    response = register(http, subject, schema, **body)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"id"}
    return int(response.json()["id"])


def error(response: httpx.Response, status: int, code: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == CONTENT_TYPE
    body = response.json()
    assert body["error_code"] == code
    assert isinstance(body["message"], str) and body["message"]
    return str(body["message"])


# --- root, content types, routing ---------------------------------------------------------


def test_root_answers_empty_object_with_registry_content_type(http: httpx.Client) -> None:
    response = http.get("/")
    assert response.status_code == 200
    assert response.json() == {}
    assert response.headers["content-type"] == CONTENT_TYPE


@pytest.mark.parametrize(
    "content_type",
    [CONTENT_TYPE, "application/json", "application/json; charset=utf-8", None],
)
def test_register_accepts_registry_json_plain_json_and_no_content_type(
    http: httpx.Client, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    body = json.dumps({"schema": text(V1)}).encode()
    response = http.post("/subjects/ct/versions", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"id": 1}


def test_register_refuses_other_content_types(http: httpx.Client) -> None:
    response = http.post(
        "/subjects/ct/versions",
        content=json.dumps({"schema": text(V1)}),
        headers={"Content-Type": "text/plain"},
    )
    assert "Unsupported Media Type" in error(response, 415, 415)


def test_unknown_route_and_wrong_method_answer_error_bodies(http: httpx.Client) -> None:
    error(http.get("/no/such/route"), 404, 404)
    error(http.get("/subjects/s/versions/1/nothing"), 404, 404)
    error(http.patch("/subjects"), 405, 405)
    error(http.post("/schemas/types", json={}), 405, 405)


# --- malformed requests -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "code", "fragment"),
    [
        (b"{not json", 400, 400, "not valid JSON"),
        (b"", 400, 400, "empty"),
        (b"[1, 2]", 400, 400, "JSON object"),
        (b'{"schema": {"type": "string"}}', 400, 400, "'schema' must be a string"),
        (b'{"schema": 42}', 400, 400, "'schema' must be a string"),
        (b'{"schemaType": "AVRO"}', 422, 42201, "no 'schema'"),
        (b'{"schema": "\\"int\\"", "references": "x"}', 400, 400, "'references'"),
        (b'{"schema": "\\"int\\"", "references": [{"name": 1}]}', 400, 400, "references[0]"),
        (b'{"schema": "\\"int\\"", "schemaType": "XML"}', 422, 42201, "schemaType"),
        (b"\xff\xfe", 400, 400, "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, 400, 400, "too deeply"),
    ],
)
def test_malformed_bodies_get_confluent_error_bodies(
    http: httpx.Client, body: bytes, status: int, code: int, fragment: str
) -> None:
    response = http.post(
        "/subjects/bad/versions", content=body, headers={"Content-Type": CONTENT_TYPE}
    )
    assert fragment in error(response, status, code)


@pytest.mark.parametrize(
    ("schema", "reason"),
    [
        ('{"type": "record", "name": "R", "fields": [{"name": "a", "type": "nope"}]}', "nope"),
        ('{"type": "record", "name": "1R", "fields": []}', "1R"),
        ('{"type": "record", "name": "R", "fields": [{"name": "a"', "not valid JSON"),
        (
            '{"type": "record", "name": "R", "fields": '
            '[{"name": "a", "type": "int", "default": "x"}]}',
            "default",
        ),
        ('{"type": "enum", "name": "E", "symbols": ["A"], "default": "B"}', "default"),
        ('"wat"', "wat"),
        ("   ", "empty"),
        (
            '{"type": "record", "name": "R", "fields": '
            '[{"name": "a", "type": "double", "default": NaN}]}',
            "NaN is not a JSON value",
        ),
        ('{"type": "array", "items": ' * 3000 + '"int"' + "}" * 3000, "too deeply"),
    ],
)
def test_invalid_avro_is_42201_with_the_parsers_reason(
    http: httpx.Client, schema: str, reason: str
) -> None:
    message = error(register(http, "invalid", schema), 422, 42201)
    assert reason.lower() in message.lower()


@pytest.mark.parametrize(
    "path",
    [
        "/subjects/s/versions/0",
        "/subjects/s/versions/-2",
        "/subjects/s/versions/abc",
        "/subjects/s/versions/2147483648",
    ],
)
def test_invalid_version_strings_are_42202(http: httpx.Client, path: str) -> None:
    ok_id(http, "s", V1)
    assert "not a valid version" in error(http.get(path), 422, 42202)


def test_bad_query_flag_is_400(http: httpx.Client) -> None:
    assert "deleted" in error(http.get("/subjects", params={"deleted": "maybe"}), 400, 400)


# --- register, ids and versions -----------------------------------------------------------


def test_register_is_idempotent_and_content_addressed_across_subjects(
    http: httpx.Client,
) -> None:
    first = ok_id(http, "orders-value", V1)
    assert ok_id(http, "orders-value", V1) == first
    reformatted = json.dumps(
        {"fields": [{"type": {"type": "int"}, "name": "a"}], "name": "R", "type": "record"},
        indent=4,
    )
    assert ok_id(http, "orders-value", reformatted) == first
    assert ok_id(http, "other-subject", V1) == first
    assert http.get("/subjects/orders-value/versions").json() == [1]
    assert http.get("/subjects/other-subject/versions").json() == [1]


def test_different_defaults_or_docs_give_different_ids(http: httpx.Client) -> None:
    plain = ok_id(http, "a", record(field("x", "int")))
    http.put("/config/b", json={"compatibility": "NONE"})
    with_default = ok_id(http, "b", record(field("x", "int", default=1)))
    with_doc = ok_id(http, "c", record(field("x", "int"), doc="documented"))
    assert len({plain, with_default, with_doc}) == 3


def test_versions_count_per_subject_and_ids_are_global(http: httpx.Client) -> None:
    id1 = ok_id(http, "s1", V1)
    id2 = ok_id(http, "s1", V2)
    id3 = ok_id(http, "s2", V3)
    assert (id1, id2, id3) == (1, 2, 3)
    assert http.get("/subjects/s1/versions").json() == [1, 2]
    assert http.get("/subjects/s2/versions").json() == [1]
    assert http.get("/subjects").json() == ["s1", "s2"]
    assert http.get("/subjects", params={"subjectPrefix": "s2"}).json() == ["s2"]
    assert http.get("/subjects", params={"offset": 1, "limit": 1}).json() == ["s2"]


def test_get_version_latest_minus_one_and_number(http: httpx.Client) -> None:
    ok_id(http, "s", V1)
    ok_id(http, "s", V2)
    expected = {
        "subject": "s",
        "version": 2,
        "id": 2,
        "schema": json.dumps(V2, separators=(",", ":")),
    }
    assert http.get("/subjects/s/versions/latest").json() == expected
    assert http.get("/subjects/s/versions/-1").json() == expected
    assert http.get("/subjects/s/versions/2").json() == expected
    assert http.get("/subjects/s/versions/1").json()["id"] == 1
    raw = http.get("/subjects/s/versions/latest/schema")
    assert raw.status_code == 200
    assert raw.json() == V2


def test_missing_subject_and_version_are_40401_and_40402(http: httpx.Client) -> None:
    assert "nope" in error(http.get("/subjects/nope/versions"), 404, 40401)
    assert "nope" in error(http.get("/subjects/nope/versions/1"), 404, 40401)
    ok_id(http, "s", V1)
    error(http.get("/subjects/s/versions/7"), 404, 40402)
    error(http.get("/subjects/s/versions/7/schema"), 404, 40402)


def test_subject_names_are_percent_decoded(http: httpx.Client) -> None:
    schema_id = ok_id(http, "team%2Forders", V1)
    assert http.get("/subjects").json() == ["team/orders"]
    assert http.get("/subjects/team%2Forders/versions/1").json()["id"] == schema_id


# --- lookup -------------------------------------------------------------------------------


def test_lookup_finds_the_version_and_answers_40401_40403(http: httpx.Client) -> None:
    schema_id = ok_id(http, "s", V1)
    ok_id(http, "s", V2)
    pretty = json.dumps(V1, indent=2)
    found = http.post("/subjects/s", json={"schema": pretty})
    assert found.status_code == 200
    assert found.json() == {
        "subject": "s",
        "version": 1,
        "id": schema_id,
        "schema": json.dumps(V1, separators=(",", ":")),
    }
    error(http.post("/subjects/s", json={"schema": text(V3)}), 404, 40403)
    error(http.post("/subjects/nope", json={"schema": text(V1)}), 404, 40401)
    error(http.post("/subjects/s", json={"schema": "{broken"}), 422, 42201)


def test_lookup_of_soft_deleted_version_needs_deleted_true(http: httpx.Client) -> None:
    ok_id(http, "s", V1)
    ok_id(http, "s", V2)
    assert http.delete("/subjects/s/versions/1").json() == 1
    error(http.post("/subjects/s", json={"schema": text(V1)}), 404, 40403)
    found = http.post("/subjects/s", params={"deleted": "true"}, json={"schema": text(V1)})
    assert found.json()["version"] == 1


# --- deletes ------------------------------------------------------------------------------


def test_subject_soft_then_permanent_delete(http: httpx.Client) -> None:
    ok_id(http, "s", V1)
    ok_id(http, "s", V2)
    assert "not deleted first" in error(http.delete("/subjects/s?permanent=true"), 404, 40405)
    assert http.delete("/subjects/s").json() == [1, 2]
    assert http.get("/subjects").json() == []
    assert http.get("/subjects", params={"deleted": "true"}).json() == ["s"]
    assert http.get("/subjects", params={"deleted_only": "true"}).json() == ["s"]
    assert http.get("/subjects", params={"deletedOnly": "true"}).json() == ["s"]
    error(http.get("/subjects/s/versions"), 404, 40401)
    assert http.get("/subjects/s/versions", params={"deleted": "true"}).json() == [1, 2]
    assert http.get("/subjects/s/versions/1", params={"deleted": "true"}).json()["id"] == 1
    error(http.delete("/subjects/s"), 404, 40404)
    assert http.delete("/subjects/s", params={"permanent": "true"}).json() == [1, 2]
    assert http.get("/subjects", params={"deleted": "true"}).json() == []
    error(http.delete("/subjects/s", params={"permanent": "true"}), 404, 40401)
    error(http.delete("/subjects/never"), 404, 40401)


def test_version_soft_then_permanent_delete(http: httpx.Client) -> None:
    ok_id(http, "s", V1)
    ok_id(http, "s", V2)
    assert "not deleted first" in error(
        http.delete("/subjects/s/versions/1", params={"permanent": "true"}), 404, 40407
    )
    assert http.delete("/subjects/s/versions/1").json() == 1
    assert "soft deleted" in error(http.delete("/subjects/s/versions/1"), 404, 40406)
    assert http.get("/subjects/s/versions").json() == [2]
    assert http.delete("/subjects/s/versions/1", params={"permanent": "true"}).json() == 1
    assert http.get("/subjects/s/versions", params={"deleted": "true"}).json() == [2]
    error(http.delete("/subjects/s/versions/1", params={"permanent": "true"}), 404, 40402)
    error(http.delete("/subjects/s/versions/9"), 404, 40402)
    error(http.delete("/subjects/nope/versions/1"), 404, 40401)
    error(http.delete("/subjects/s/versions/zero"), 422, 42202)


def test_deleted_only_lists_just_the_soft_deleted_versions(http: httpx.Client) -> None:
    ok_id(http, "s", V1)
    ok_id(http, "s", V2)
    ok_id(http, "live", V1)
    http.delete("/subjects/s/versions/1")
    for name in ("deletedOnly", "deleted_only"):  # Confluent's spelling, confluent-kafka's
        assert http.get("/subjects/s/versions", params={name: "true"}).json() == [1]
        assert http.get("/subjects/live/versions", params={name: "true"}).json() == []
        assert http.get("/subjects", params={name: "true"}).json() == []
    assert http.get("/subjects/s/versions", params={"deleted": "true"}).json() == [1, 2]


def test_delete_latest_version_alias(http: httpx.Client) -> None:
    ok_id(http, "s", V1)
    ok_id(http, "s", V2)
    assert http.delete("/subjects/s/versions/latest").json() == 2
    assert http.get("/subjects/s/versions").json() == [1]


def test_versions_are_not_reused_after_soft_delete(http: httpx.Client) -> None:
    ok_id(http, "s", V1)
    ok_id(http, "s", V2)
    http.delete("/subjects/s/versions/2")
    ok_id(http, "s", V3)
    assert http.get("/subjects/s/versions").json() == [1, 3]
    http.delete("/subjects/s")
    again = ok_id(http, "s", V1)
    assert again == 1
    assert http.get("/subjects/s/versions").json() == [4]


def test_reregistering_a_soft_deleted_schema_makes_a_new_version_with_the_same_id(
    http: httpx.Client,
) -> None:
    schema_id = ok_id(http, "s", V1)
    http.delete("/subjects/s")
    assert ok_id(http, "s", V1) == schema_id
    assert http.get("/subjects/s/versions").json() == [2]


# --- schemas by id ------------------------------------------------------------------------


def test_schema_by_id_and_its_sub_resources(http: httpx.Client) -> None:
    schema_id = ok_id(http, "s1", V1)
    ok_id(http, "s2", V1)
    body = http.get(f"/schemas/ids/{schema_id}").json()
    assert body == {"schema": json.dumps(V1, separators=(",", ":"))}
    assert http.get(f"/schemas/ids/{schema_id}/schema").json() == V1
    assert http.get(f"/schemas/ids/{schema_id}", params={"subject": "s2"}).status_code == 200
    error(http.get(f"/schemas/ids/{schema_id}", params={"subject": "other"}), 404, 40403)
    assert http.get(f"/schemas/ids/{schema_id}/versions").json() == [
        {"subject": "s1", "version": 1},
        {"subject": "s2", "version": 1},
    ]
    assert http.get(f"/schemas/ids/{schema_id}/subjects").json() == ["s1", "s2"]
    http.delete("/subjects/s2")
    assert http.get(f"/schemas/ids/{schema_id}/subjects").json() == ["s1"]
    assert http.get(f"/schemas/ids/{schema_id}/subjects?deleted=true").json() == ["s1", "s2"]
    assert http.get(f"/schemas/ids/{schema_id}/versions").json() == [
        {"subject": "s1", "version": 1}
    ]


def test_unknown_schema_ids_are_40403(http: httpx.Client) -> None:
    for path in (
        "/schemas/ids/99",
        "/schemas/ids/99/schema",
        "/schemas/ids/99/versions",
        "/schemas/ids/99/subjects",
        "/schemas/ids/abc",
        "/schemas/ids/0",
        "/schemas/ids/99999999999999999999",
        "/schemas/ids/99999999999999999999/versions",
    ):
        error(http.get(path), 404, 40403)


def test_soft_deleted_schema_stays_readable_by_id_until_permanently_deleted(
    http: httpx.Client,
) -> None:
    schema_id = ok_id(http, "s", V1)
    http.delete("/subjects/s")
    assert http.get(f"/schemas/ids/{schema_id}").status_code == 200
    http.delete("/subjects/s?permanent=true")
    error(http.get(f"/schemas/ids/{schema_id}"), 404, 40403)


def test_schema_types(http: httpx.Client) -> None:
    assert sorted(http.get("/schemas/types").json()) == ["AVRO", "JSON", "PROTOBUF"]


# --- JSON Schema and Protobuf -------------------------------------------------------------


def test_json_schema_is_stored_normalised_and_returned_with_its_type(http: httpx.Client) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    schema_id = ok_id(http, "j", json.dumps(schema, indent=2), schemaType="JSON")
    reordered = json.dumps({"properties": {"a": {"type": "integer"}}, "type": "object"})
    assert ok_id(http, "j", reordered, schemaType="json") == schema_id
    body = http.get(f"/schemas/ids/{schema_id}").json()
    assert body["schemaType"] == "JSON"
    assert json.loads(body["schema"]) == schema
    assert http.get("/subjects/j/versions/1").json()["schemaType"] == "JSON"
    assert "not valid JSON" in error(register(http, "j", "{nope", schemaType="JSON"), 422, 42201)
    error(register(http, "j", "[1]", schemaType="JSON"), 422, 42201)


def test_protobuf_is_stored_verbatim_with_its_type(http: httpx.Client) -> None:
    proto = 'syntax = "proto3";\nmessage M { int32 a = 1; }\n'
    schema_id = ok_id(http, "p", proto, schemaType="PROTOBUF")
    body = http.get(f"/schemas/ids/{schema_id}").json()
    assert body == {"schema": proto, "schemaType": "PROTOBUF"}
    assert http.get(f"/schemas/ids/{schema_id}/schema").text == proto
    assert ok_id(http, "p", proto, schemaType="PROTOBUF") == schema_id


def test_changing_schema_type_within_a_subject_is_incompatible(http: httpx.Client) -> None:
    ok_id(http, "mixed", V1)
    message = error(register(http, "mixed", '{"type": "object"}', schemaType="JSON"), 409, 409)
    assert "different schema type" in message


# --- references ---------------------------------------------------------------------------


def test_references_resolve_named_types_and_block_deletion(http: httpx.Client) -> None:
    address = record(field("city", "string"), name="Address", namespace="com.acme")
    address_id = ok_id(http, "address", address)
    person = record(field("home", "com.acme.Address"), name="Person")
    refs = [{"name": "com.acme.Address", "subject": "address", "version": 1}]
    person_id = ok_id(http, "person", person, references=refs)
    assert person_id != address_id
    assert ok_id(http, "person", person, references=refs) == person_id
    body = http.get(f"/schemas/ids/{person_id}").json()
    assert body["references"] == refs
    assert http.get("/subjects/person/versions/1").json()["references"] == refs
    assert http.get("/subjects/address/versions/1/referencedby").json() == [person_id]
    assert "references exist" in error(http.delete("/subjects/address/versions/1"), 422, 42206)
    error(http.delete("/subjects/address"), 422, 42206)
    missing = [{"name": "com.acme.Address", "subject": "address", "version": 5}]
    assert "does not exist" in error(
        register(http, "person2", person, references=missing), 422, 42201
    )
    assert "com.acme.Address" in error(register(http, "person3", person), 422, 42201)
    http.delete("/subjects/person")
    assert http.delete("/subjects/address/versions/1").json() == 1


# --- config -------------------------------------------------------------------------------


def test_global_config_get_put_delete(http: httpx.Client) -> None:
    assert http.get("/config").json() == {"compatibilityLevel": "BACKWARD"}
    assert http.put("/config", json={"compatibility": "full"}).json() == {"compatibility": "FULL"}
    assert http.get("/config").json() == {"compatibilityLevel": "FULL"}
    assert http.delete("/config").json() == {"compatibilityLevel": "FULL"}
    assert http.get("/config").json() == {"compatibilityLevel": "BACKWARD"}


def test_subject_config_and_default_to_global(http: httpx.Client) -> None:
    assert "does not have subject-level" in error(http.get("/config/s"), 404, 40408)
    assert http.get("/config/s", params={"defaultToGlobal": "true"}).json() == {
        "compatibilityLevel": "BACKWARD"
    }
    assert http.put("/config/s", json={"compatibility": "NONE"}).json() == {"compatibility": "NONE"}
    assert http.get("/config/s").json() == {"compatibilityLevel": "NONE"}
    assert http.get("/config").json() == {"compatibilityLevel": "BACKWARD"}
    # As in Confluent, DELETE needs a subject-level config, not versions.
    assert http.delete("/config/s").json() == {"compatibilityLevel": "NONE"}
    error(http.get("/config/s"), 404, 40408)
    ok_id(http, "s", V1)
    assert "'s' not found" in error(http.delete("/config/s"), 404, 40401)
    http.put("/config", json={"compatibility": "FULL"})
    http.put("/config/s", json={"compatibility": "FORWARD"})
    assert http.delete("/config/s").json() == {"compatibilityLevel": "FORWARD"}
    assert http.get("/config/s", params={"defaultToGlobal": "true"}).json() == {
        "compatibilityLevel": "FULL"
    }


@pytest.mark.parametrize("body", [{"compatibility": "SIDEWAYS"}, {"compatibility": 3}, {}])
def test_unknown_compatibility_level_is_42203(http: httpx.Client, body: dict[str, Any]) -> None:
    assert "Invalid compatibility level" in error(http.put("/config", json=body), 422, 42203)
    error(http.put("/config/s", json=body), 422, 42203)


def test_unsupported_config_fields_are_refused(http: httpx.Client) -> None:
    body = {"compatibility": "NONE", "compatibilityGroup": "app"}
    assert "compatibilityGroup" in error(http.put("/config", json=body), 400, 400)


# --- compatibility ------------------------------------------------------------------------


def test_the_global_level_applies_until_a_subject_level_overrides_it(http: httpx.Client) -> None:
    widened = record(field("a", "long"))  # int -> long: backward, not forward compatible
    ok_id(http, "g", record(field("a", "int")))
    http.put("/config", json={"compatibility": "FORWARD"})
    error(register(http, "g", widened), 409, 409)
    http.put("/config/g", json={"compatibility": "BACKWARD"})
    ok_id(http, "g", widened)
    http.delete("/config/g")
    http.put("/config", json={"compatibility": "NONE"})
    ok_id(http, "g", record(field("a", "string")))
    assert http.get("/subjects/g/versions").json() == [1, 2, 3]


def test_incompatible_registration_is_409_and_names_the_subject(http: httpx.Client) -> None:
    ok_id(http, "s", V1)
    breaking = record(field("a", "int"), field("z", "string"))
    message = error(register(http, "s", breaking), 409, 409)
    assert 'subject "s"' in message
    assert "READER_FIELD_MISSING_DEFAULT_VALUE" in message
    assert http.get("/subjects/s/versions").json() == [1]


def test_compatibility_endpoints_with_verbose_messages(http: httpx.Client) -> None:
    ok_id(http, "s", V1)
    ok_id(http, "s", V2)
    breaking = {"schema": text(record(field("a", "string")))}
    fine = {"schema": text(V3)}
    url = "/compatibility/subjects/s/versions"
    assert http.post(url, json=fine).json() == {"is_compatible": True}
    assert http.post(url, params={"verbose": "true"}, json=fine).json() == {
        "is_compatible": True,
        "messages": [],
    }
    answer = http.post(url, params={"verbose": "true"}, json=breaking).json()
    assert answer["is_compatible"] is False
    assert any("TYPE_MISMATCH" in message for message in answer["messages"])
    assert "{oldSchemaVersion: 2}" in answer["messages"]
    assert http.post(url, json=breaking).json() == {"is_compatible": False}
    for version in ("latest", "-1", "1", "2"):
        assert http.post(f"{url}/{version}", json=fine).json() == {"is_compatible": True}
        assert http.post(f"{url}/{version}", json=breaking).json() == {"is_compatible": False}


def test_compatibility_against_one_specific_version(http: httpx.Client) -> None:
    http.put("/config/s", json={"compatibility": "NONE"})
    ok_id(http, "s", record(field("a", "int")))
    ok_id(http, "s", record(field("a", "string")))
    http.put("/config/s", json={"compatibility": "BACKWARD"})
    candidate = {"schema": text(record(field("a", "long")))}
    url = "/compatibility/subjects/s/versions"
    assert http.post(f"{url}/1", json=candidate).json() == {"is_compatible": True}
    assert http.post(f"{url}/2", json=candidate).json() == {"is_compatible": False}


def test_compatibility_with_unknown_subject_or_version(http: httpx.Client) -> None:
    body = {"schema": text(V1)}
    url = "/compatibility/subjects/ghost/versions"
    assert http.post(url, json=body).json() == {"is_compatible": True}
    assert http.post(f"{url}/latest", json=body).json() == {"is_compatible": True}
    error(http.post(f"{url}/3", json=body), 404, 40402)
    error(http.post(f"{url}/x", json=body), 422, 42202)
    error(http.post(url, json={"schema": "{bad"}), 422, 42201)
    ok_id(http, "real", V1)
    error(http.post("/compatibility/subjects/real/versions/4", json=body), 404, 40402)


def test_soft_deleted_versions_are_ignored_by_compatibility(http: httpx.Client) -> None:
    ok_id(http, "s", V1)
    http.delete("/subjects/s/versions/1")
    schema_id = ok_id(http, "s", record(field("a", "string")))
    assert http.get("/subjects/s/versions").json() == [2]
    assert schema_id == 2


def test_mode_is_readwrite(http: httpx.Client) -> None:
    assert http.get("/mode").json() == {"mode": "READWRITE"}
    assert http.get("/mode/s").json() == {"mode": "READWRITE"}
    assert http.put("/mode", json={"mode": "readwrite"}).json() == {"mode": "READWRITE"}
    assert "READWRITE" in error(http.put("/mode", json={"mode": "READONLY"}), 422, 42204)
    assert "JSON object" in error(http.put("/mode", json=["READWRITE"]), 400, 400)


def test_unknown_fields_are_refused_unless_the_client_accepts_unknown_properties(
    http: httpx.Client,
) -> None:
    body = {"schema": text(V1), "colour": "blue"}
    assert "Unrecognized field: colour" in error(
        http.post("/subjects/u/versions", json=body), 422, 422
    )
    lenient = http.post(
        "/subjects/u/versions",
        json=body,
        headers={"Confluent-Accept-Unknown-Properties": "true"},
    )
    assert lenient.json() == {"id": 1}


@pytest.mark.parametrize("key", ["ruleSet", "metadata", "id", "version"])
def test_unsupported_features_are_refused_not_ignored(http: httpx.Client, key: str) -> None:
    body = {"schema": text(V1), key: {"x": 1}}
    message = error(
        http.post(
            "/subjects/u/versions",
            json=body,
            headers={"Confluent-Accept-Unknown-Properties": "true"},
        ),
        422,
        422,
    )
    assert key in message
    assert http.post("/subjects/u/versions", json={"schema": text(V1), key: None}).json() == {
        "id": 1
    }
