"""``flowodm schema …`` in-process against the sandbox registry: every action and exit code."""

from __future__ import annotations

import json
import textwrap
import uuid
from pathlib import Path

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from flowodm.cli.main import main
from flowodm.sandbox import Sandbox
from tests.tools.avro_builders import one

pytestmark = pytest.mark.integration


def model_file(directory: Path, stem: str, topic: str, fields: str) -> str:
    """Write ``directory/stem.py`` with an ``Order`` model on ``topic``; return its spec."""
    directory.mkdir(parents=True, exist_ok=True)
    body = textwrap.indent(textwrap.dedent(fields).strip(), "    ")
    (directory / f"{stem}.py").write_text(
        "from flowodm import FlowBaseModel\n\n\n"
        "class Order(FlowBaseModel):\n"
        "    class Settings:\n"
        f"        topic = {topic!r}\n"
        "        record_name = 'Order'\n\n"
        f"{body}\n"
    )
    return f"{directory / stem}.py:Order"


@pytest.fixture
def registry(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> str:
    """The sandbox registry, named by the environment as a CI job would."""
    monkeypatch.setenv("SCHEMA_REGISTRY_URL", sandbox.schema_registry_url)
    return sandbox.schema_registry_url


@pytest.fixture
def topic() -> str:
    return f"cli-{uuid.uuid4().hex[:12]}"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["schema", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_check_model_exit_codes_name_the_field(
    tmp_path: Path, registry: str, topic: str, capsys: pytest.CaptureFixture[str]
) -> None:
    v1 = model_file(tmp_path / "a", "v1", topic, "order_id: str")
    assert run(capsys, "register", "--model", v1)[0] == 0
    ok = model_file(tmp_path / "b", "v2ok", topic, "order_id: str\nnote: str = ''")
    code, out, _ = run(capsys, "check", "--model", ok)
    assert code == 0 and out.startswith(f"ok    {ok} (subject '{topic}-value', BACKWARD, registry)")
    bad = model_file(tmp_path / "c", "v2bad", topic, "order_id: str\nquantity: int")
    code, out, _ = run(capsys, "check", "--model", bad)
    assert code == 1
    assert "FAIL" in out and "incompatible, field(s) quantity" in out
    assert "field 'quantity' has no default" in out
    assert out.rstrip().endswith("1 checked, 1 incompatible")
    code, out, _ = run(capsys, "check", "--model", bad, "--level", "forward", "--json")
    assert code == 0 and json.loads(out)[0]["source"] == "offline"


def test_check_a_package_of_models(
    tmp_path: Path,
    registry: str,
    topic: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    package = f"pkg_{uuid.uuid4().hex[:8]}"
    root = tmp_path / package
    model_file(root / "inner", "orders", topic, "order_id: str\nquantity: int")
    (root / "__init__.py").write_text("")
    (root / "inner" / "__init__.py").write_text("")
    (root / "base.py").write_text(
        "from flowodm import FlowBaseModel\n\n\nclass Base(FlowBaseModel):\n    x: int\n\n\n"
        f"class Item(FlowBaseModel):\n    class Settings:\n        topic = '{topic}-items'\n\n"
        "    sku: str\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    v1 = model_file(tmp_path / "old", "v1", topic, "order_id: str")
    assert run(capsys, "register", "--model", v1)[0] == 0
    code, out, _ = run(capsys, "check", "--models", package)
    lines = out.splitlines()
    assert code == 1
    assert lines[0].startswith(f"skip  {package}.base:Base: skipped: no subject")
    assert lines[1].startswith(f"ok    {package}.base:Item (subject '{topic}-items-value'")
    assert lines[2].startswith(f"FAIL  {package}.inner.orders:Order") and "quantity" in lines[2]
    assert lines[-1] == "2 checked, 1 incompatible"
    assert run(capsys, "check", "--models", "no_such_pkg_here")[0] == 2


def test_check_files_offline_and_against_a_subject(
    tmp_path: Path, registry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = tmp_path / "old.avsc", tmp_path / "new.avsc"
    old.write_text(json.dumps(one("int")))
    new.write_text(json.dumps(one("long")))
    assert run(capsys, "check", str(new), "--against", str(old))[0] == 0
    code, out, _ = run(capsys, "check", str(old), "--against", str(new), "--level", "BACKWARD")
    assert code == 1 and "reader type: int not compatible with writer type: long" in out
    subject = f"cli-{uuid.uuid4().hex[:12]}-value"
    assert run(capsys, "register", str(old), "--subject", subject)[0] == 0
    assert run(capsys, "check", str(new), "--subject", subject)[0] == 0
    assert run(capsys, "check", str(new))[0] == 2  # a file needs --subject or --against


def test_subjects_versions_show_export(
    tmp_path: Path, registry: str, topic: str, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = model_file(tmp_path, "m", topic, "order_id: str")
    code, out, _ = run(capsys, "register", "--model", spec, "--json")
    assert code == 0
    schema_id = json.loads(out)["id"]
    subject = f"{topic}-value"
    code, out, _ = run(capsys, "subjects", "--prefix", topic)
    assert (code, out) == (0, f"{subject}\n")
    assert json.loads(run(capsys, "subjects", "--json")[1]).count(subject) == 1
    assert run(capsys, "versions", subject) == (0, "1\n", "")
    assert json.loads(run(capsys, "versions", "--model", spec, "--json")[1])["versions"] == [1]
    code, out, _ = run(capsys, "show", subject)
    assert code == 0 and out.startswith(f"subject '{subject}' version 1 (id {schema_id})")
    shown = json.loads(run(capsys, "show", subject, "--json")[1])
    assert shown["schema"]["name"] == "Order" and shown["id"] == schema_id
    assert json.loads(run(capsys, "show", "--model", spec, "--json")[1])["subject"] == subject
    out_file = tmp_path / "exported.avsc"
    assert run(capsys, "export", subject, "-o", str(out_file))[0] == 0
    assert json.loads(out_file.read_text()) == shown["schema"]
    assert json.loads(run(capsys, "export", "--model", spec)[1]) == shown["schema"]
    file_shown = run(capsys, "show", str(out_file))[1]
    assert file_shown.startswith(f"file '{out_file}'")


def test_diff_models_files_and_subjects(
    tmp_path: Path, registry: str, topic: str, capsys: pytest.CaptureFixture[str]
) -> None:
    v1 = model_file(tmp_path / "a", "v1", topic, "order_id: str\nqty: int")
    v2 = model_file(tmp_path / "b", "v2", topic, "order_id: str\nnote: str = '<b>'")
    assert run(capsys, "register", "--model", v1)[0] == 0
    code, out, _ = run(capsys, "diff", "--model", v2)
    assert code == 0
    assert out.splitlines()[0] == f"subject '{topic}-value' version 1 -> model {v2}: 2 change(s)"
    assert "+ added" in out and 'note: string (default "<b>")' in out
    assert "- removed" in out and "qty: long" in out
    html = run(capsys, "diff", "--model", v2, "--html")[1]
    assert "&lt;b&gt;" in html and "<b>" not in html
    data = json.loads(run(capsys, "diff", v1, v2, "--json")[1])
    assert [change["kind"] for change in data["changes"]] == ["added", "removed"]
    assert run(capsys, "diff", f"{topic}-value@1", v1)[1].endswith("no differences\n")
    assert run(capsys, "diff", v1)[0] == 2


def test_register_refused_as_incompatible_exits_1(
    tmp_path: Path, registry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    subject = f"cli-{uuid.uuid4().hex[:12]}-value"
    old, new = tmp_path / "old.avsc", tmp_path / "new.avsc"
    old.write_text(json.dumps(one("long")))
    new.write_text(json.dumps(one("int")))
    assert run(capsys, "register", str(old), "--subject", subject, "--level", "BACKWARD")[0] == 0
    code, _, err = run(capsys, "register", str(new), "--subject", subject)
    assert code == 1 and "incompatible" in err and subject in err


def test_delete_needs_yes(
    registry: str, registry_client: SchemaRegistryClient, capsys: pytest.CaptureFixture[str]
) -> None:
    subject = f"cli-{uuid.uuid4().hex[:12]}-value"
    registry_client.register_schema(subject, Schema(json.dumps(one("int")), "AVRO"))
    code, _, err = run(capsys, "delete", subject)
    assert code == 2 and "without --yes" in err
    assert subject in registry_client.get_subjects()
    assert run(capsys, "delete", subject, "--yes") == (
        0,
        f"soft-deleted subject '{subject}': version(s) 1\n",
        "",
    )
    assert subject in registry_client.get_subjects(deleted=True)
    code, out, _ = run(capsys, "delete", subject, "--yes", "--permanent", "--json")
    assert code == 0 and json.loads(out)["permanent"] is True
    assert subject not in registry_client.get_subjects(deleted=True)
    assert run(capsys, "delete", subject, "--yes")[0] == 2  # no such subject


def test_codegen_from_a_file_and_a_subject(
    tmp_path: Path,
    registry: str,
    registry_client: SchemaRegistryClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytest.importorskip("flowodm.tools.codegen")
    schema = {"type": "record", "name": "Order", "fields": [{"name": "order_id", "type": "string"}]}
    path = tmp_path / "order.avsc"
    path.write_text(json.dumps(schema))
    code, out, _ = run(capsys, "codegen", str(path), "--topic", "orders")
    assert code == 0 and "class Order(FlowBaseModel)" in out and "order_id: str" in out
    subject = f"cli-{uuid.uuid4().hex[:12]}-value"
    registry_client.register_schema(subject, Schema(json.dumps(schema), "AVRO"))
    target = tmp_path / "generated.py"
    code, out, _ = run(capsys, "codegen", subject, "-o", str(target))
    assert (code, out) == (0, f"wrote {target}\n")
    namespace: dict[str, object] = {}
    exec(compile(target.read_text(), str(target), "exec"), namespace)
    assert "Order" in namespace


def test_usage_and_connection_errors_exit_2_without_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "subjects")
    assert code == 2 and "pass --schema-registry-url URL or set SCHEMA_REGISTRY_URL" in err
    url = "http://alice:s3cr3t-pw@127.0.0.1:9"
    code, out, err = run(
        capsys, "subjects", "--schema-registry-url", url, "--registry-timeout", "1"
    )
    assert code == 2
    assert "127.0.0.1:9" in err and "s3cr3t-pw" not in err + out and "alice" not in err + out
    assert run(capsys, "show")[0] == 2
    assert run(capsys, "show", "--model", "no_such_module:Order")[0] == 2
    assert run(capsys, "check", "--model", "x:Y", "--models", "x")[0] == 2
    with pytest.raises(SystemExit) as caught:
        main(["schema", "check", "--level"])
    assert caught.value.code == 2
    capsys.readouterr()


def test_unknown_subject_exits_2(registry: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "show", "no-such-subject-value")
    assert code == 2 and "no-such-subject-value" in err and "40401" in err
