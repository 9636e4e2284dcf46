"""``--model`` resolution: both spellings, and a clear message for every way it can be wrong."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from flowodm.cli.modelspec import load_model
from flowodm.cli.usage import UsageError
from flowodm.exceptions import SettingsError
from tests.cli import cli_models

MODELS_FILE = Path(cli_models.__file__)


def test_module_spec_returns_the_class() -> None:
    assert load_model("tests.cli.cli_models:CliOrder") is cli_models.CliOrder


def test_file_path_under_sys_path_is_imported_as_the_same_module(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(MODELS_FILE.parents[2])
    assert load_model("tests/cli/cli_models.py:CliOrder") is cli_models.CliOrder
    assert load_model(f"{MODELS_FILE}:CliOrder") is cli_models.CliOrder


def test_stand_alone_file_is_loaded_under_a_private_name(tmp_path: Path) -> None:
    file = tmp_path / "my_models.py"
    file.write_text(
        "from flowodm.model import FlowBaseModel\n"
        "class Ping(FlowBaseModel):\n"
        "    class Settings:\n"
        "        topic = 'pings'\n"
        "    n: int\n"
    )
    model = load_model(f"{file}:Ping")
    assert model.__name__ == "Ping"
    assert model.__module__ == "_flowodm_model_file_my_models"
    assert model.flow_settings().topic == "pings"
    assert load_model(f"{file}:Ping") is model  # loaded once


@pytest.mark.parametrize(
    "spec", ["tests.cli.cli_models", "tests.cli.cli_models:", ":CliOrder", "a:b-c"]
)
def test_malformed_spec(spec: str) -> None:
    with pytest.raises(UsageError, match=r"must look like package\.module:ClassName"):
        load_model(spec)


def test_missing_module_says_how_to_make_it_importable() -> None:
    with pytest.raises(UsageError, match=r"no module named 'no_such_pkg\.models'.*PYTHONPATH"):
        load_model("no_such_pkg.models:Order")


def test_missing_file() -> None:
    with pytest.raises(UsageError, match=r"file 'nowhere/models\.py' does not exist"):
        load_model("nowhere/models.py:Order")


def test_missing_attribute_suggests_a_close_model() -> None:
    with pytest.raises(
        UsageError, match="has no attribute 'CliOrdr' \\(did you mean 'CliOrder'\\?\\)"
    ):
        load_model("tests.cli.cli_models:CliOrdr")


def test_missing_attribute_lists_the_models_when_nothing_is_close() -> None:
    with pytest.raises(
        UsageError,
        match=r"module 'tests\.cli\.cli_models' has no attribute 'Zzz'; the FlowBaseModel "
        r"classes there are CliOrder, Untopiced",
    ):
        load_model("tests.cli.cli_models:Zzz")


def test_missing_attribute_of_a_file_names_the_file_and_its_models(tmp_path: Path) -> None:
    file = tmp_path / "shop.py"
    file.write_text(
        "from flowodm.model import FlowBaseModel\n"
        "class OrderEvent(FlowBaseModel):\n"
        "    class Settings:\n"
        "        topic = 'orders'\n"
        "    n: int\n"
    )
    with pytest.raises(UsageError) as info:
        load_model(f"{file}:Nope")
    message = str(info.value)
    assert f"file '{file}' has no attribute 'Nope'" in message
    assert "the FlowBaseModel classes there are OrderEvent" in message
    assert "_flowodm_model_file" not in message  # the private module name stays private


def test_a_module_without_models_says_so(tmp_path: Path) -> None:
    file = tmp_path / "empty_models.py"
    file.write_text("x = 1\n")
    with pytest.raises(UsageError, match="has no attribute 'Order'; it defines no FlowBaseModel"):
        load_model(f"{file}:Order")


def test_a_module_spec_is_found_in_the_working_directory_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As under the console script: the working directory is not on sys.path.
    package = tmp_path / "cwd_shop_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "events.py").write_text(
        "from flowodm.model import FlowBaseModel\n"
        "class OrderEvent(FlowBaseModel):\n"
        "    class Settings:\n"
        "        topic = 'orders'\n"
        "    n: int\n"
    )
    monkeypatch.chdir(tmp_path)
    cwd = str(tmp_path.resolve())
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".", cwd)])
    for name in ("cwd_shop_pkg", "cwd_shop_pkg.events"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    model = load_model("cwd_shop_pkg.events:OrderEvent")
    assert model.__module__ == "cwd_shop_pkg.events"
    assert sys.path[0] == cwd
    load_model("cwd_shop_pkg.events:OrderEvent")
    assert sys.path.count(cwd) == 1  # put there once, not once per call


@pytest.mark.parametrize(
    ("attribute", "kind"), [("NotAModel", "class NotAModel"), ("NOT_A_CLASS", "int")]
)
def test_not_a_flow_model(attribute: str, kind: str) -> None:
    with pytest.raises(UsageError, match=f"is a {kind}, not a subclass of flowodm.FlowBaseModel"):
        load_model(f"tests.cli.cli_models:{attribute}")


def test_error_inside_the_module_names_the_exception_and_line(tmp_path: Path) -> None:
    file = tmp_path / "broken_models.py"
    file.write_text("x = 1\nraise RuntimeError('boom')\n")
    with pytest.raises(UsageError, match=r"RuntimeError: boom \(at .*broken_models\.py:2\)"):
        load_model(f"{file}:Order")


def test_missing_dependency_inside_the_module_is_not_reported_as_the_module(tmp_path: Path) -> None:
    file = tmp_path / "needs_dep.py"
    file.write_text("import not_installed_dependency\n")
    with pytest.raises(UsageError, match="ModuleNotFoundError: No module named 'not_installed"):
        load_model(f"{file}:Order")


def test_bad_settings_keep_flowodms_own_error(tmp_path: Path) -> None:
    file = tmp_path / "bad_settings.py"
    file.write_text(
        "from flowodm.model import FlowBaseModel\n"
        "class Order(FlowBaseModel):\n"
        "    class Settings:\n"
        "        topik = 'orders'\n"
        "    n: int\n"
    )
    with pytest.raises(SettingsError, match="topik"):
        load_model(f"{file}:Order")
