"""requirements/dev.lock: complete, hashed, consistent with pyproject.toml, and the only source.

The two README commands must give the same result on any day: the bootstrap installs exactly
the lock (every package pinned, with hashes, wheels only, no build isolation), so a release on
the package index tomorrow changes nothing until scripts/lock moves the lock.
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements" / "dev.lock"
BOOTSTRAP = ROOT / "scripts" / "_bootstrap.sh"
sys.path.insert(0, str(ROOT / "scripts"))
import check_env  # noqa: E402  (scripts/ is not a package)

_ENTRY = re.compile(r"^(?P<spec>[A-Za-z0-9][^\s\\]*?)(?:\s*;[^\\]*)?\s*\\$")


def _entries() -> list[tuple[Requirement, list[str]]]:
    """Every requirement of the lock with its hash lines; any other kind of line fails."""
    entries: list[tuple[Requirement, list[str]]] = []
    for number, line in enumerate(LOCK.read_text(encoding="utf-8").splitlines(), 1):
        text = line.strip()
        match = _ENTRY.match(line)
        if match:
            entries.append((Requirement(match["spec"]), []))
        elif text.startswith("--hash=") and entries:
            entries[-1][1].append(text.removesuffix("\\").strip())
        elif text and not text.startswith("#"):
            pytest.fail(f"requirements/dev.lock:{number} is neither a pin nor a hash: {line!r}")
    return entries


def _locked() -> dict[str, set[str]]:
    versions: dict[str, set[str]] = {}
    for requirement, _ in _entries():
        [specifier] = requirement.specifier
        versions.setdefault(str(canonicalize_name(requirement.name)), set()).add(specifier.version)
    return versions


def _declared() -> list[Requirement]:
    """Everything the lock must satisfy: flowodm[dev] with all its extras, and tools.in."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    found = [Requirement(spec) for spec in project["dependencies"]]
    for specs in project["optional-dependencies"].values():
        found += [r for r in map(Requirement, specs) if canonicalize_name(r.name) != "flowodm"]
    tools = (ROOT / "requirements" / "tools.in").read_text(encoding="utf-8").splitlines()
    found += [Requirement(line) for line in tools if line.strip() and not line.startswith("#")]
    return found


def test_every_pin_is_exact_and_hashed() -> None:
    entries = _entries()
    assert len(entries) > 50
    for requirement, hashes in entries:
        assert [s.operator for s in requirement.specifier] == ["=="], requirement
        assert hashes and all(h.startswith("--hash=sha256:") for h in hashes), requirement


@pytest.mark.parametrize("requirement", _declared(), ids=str)
def test_the_lock_satisfies_pyproject_and_the_tools(requirement: Requirement) -> None:
    versions = _locked().get(str(canonicalize_name(requirement.name)))
    assert versions, f"{requirement} is not in requirements/dev.lock: run scripts/lock --keep"
    assert all(requirement.specifier.contains(v, prereleases=True) for v in versions), (
        f"requirements/dev.lock pins {requirement.name} {sorted(versions)}, outside "
        f"{requirement}: run scripts/lock --keep"
    )


def test_the_installed_environment_satisfies_pyproject_through_extras() -> None:
    # What the bootstrap checks after installing: every requirement of flowodm[dev], followed
    # through extras and markers, is met by the environment this suite runs in.
    assert check_env.unmet() == []


def test_the_environment_check_names_what_is_missing_or_outside_its_range(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A made-up environment: top 1.0 whose extra "x" needs child>=2 (installed: 1.5) and gone,
    # and whose extra "y" needs unused; only what top[x] reaches counts.
    requires = {
        "top": ['child>=2; extra == "x"', 'gone; extra == "x"', 'unused; extra == "y"'],
        "child": [],
    }
    versions = {"top": "1.0", "child": "1.5"}

    def distribution(name: str) -> SimpleNamespace:
        if name not in versions:
            raise importlib.metadata.PackageNotFoundError(name)
        return SimpleNamespace(version=versions[name], requires=requires[name])

    monkeypatch.setattr(importlib.metadata, "distribution", distribution)

    assert check_env.unmet("top[x]>=1") == [
        "child>=2 (needed by top 1.0): 1.5",
        "gone (needed by top 1.0) is missing",
    ]
    assert check_env.unmet("top>=2") == ["top>=2 (needed by the project): 1.0"]


def test_the_environment_check_checks_every_range_asked_of_a_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a and b both need shared; only b's range is violated, and b is walked after a.
    requires = {"root": ["a", "b"], "a": ["shared>=1"], "b": ["shared<1"], "shared": []}

    def distribution(name: str) -> SimpleNamespace:
        return SimpleNamespace(version="1.5", requires=requires[name])

    monkeypatch.setattr(importlib.metadata, "distribution", distribution)

    assert check_env.unmet("root") == ["shared<1 (needed by b 1.5): 1.5"]


def test_the_bootstrap_installs_only_the_lock() -> None:
    script = BOOTSTRAP.read_text(encoding="utf-8")
    commands = script.replace("\\\n", " ").splitlines()  # join continued lines
    installs = [line.split() for line in commands if "pip install" in line]
    assert len(installs) == 2, installs
    locked, project = installs
    assert {"--require-hashes", "--only-binary", ":all:", "-r", '"$LOCK"'} <= set(locked)
    assert {"--no-deps", "--no-build-isolation", "-e", "."} <= set(project)
    assert "--upgrade" not in script  # nothing moves to the index's newest release
    assert "LOCK=${FLOWODM_LOCK:-requirements/dev.lock}" in script
    assert '"$VENV/bin/python" scripts/check_env.py' in script
    # A changed lock makes the environment anew, so a package the lock dropped is gone too.
    assert 'rm -rf "$VENV"' in script
