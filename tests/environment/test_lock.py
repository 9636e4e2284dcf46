"""requirements/dev.lock: complete, hashed, consistent with pyproject.toml, and the only source.

The two README commands must give the same result on any day: the bootstrap installs exactly
the lock (every package pinned, with hashes, wheels only, no build isolation), so a release on
the package index tomorrow changes nothing until scripts/lock moves the lock.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements" / "dev.lock"
BOOTSTRAP = ROOT / "scripts" / "_bootstrap.sh"
_ENTRY = re.compile(r"^(?P<spec>[A-Za-z0-9][^\s;\\]*==[^\s;\\]+)(?:\s*;[^\\]*)?\s*\\$")


def _entries() -> list[tuple[Requirement, list[str]]]:
    """Every pin of the lock with its hash lines."""
    entries: list[tuple[Requirement, list[str]]] = []
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        match = _ENTRY.match(line)
        if match:
            entries.append((Requirement(match["spec"]), []))
        elif line.strip().startswith("--hash=") and entries:
            entries[-1][1].append(line.strip())
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
