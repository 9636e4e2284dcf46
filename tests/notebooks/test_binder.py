"""binder/: the environment pins the locked versions, and the scripts start the sandbox.

repo2docker reads only binder/ when it exists: ``environment.yml`` (Python and pip from
conda-forge, every dependency pinned under ``pip:``), ``postBuild`` (installs FlowODM itself, with
``--no-deps``, so the pins must cover every dependency) and ``start`` (runs on every launch:
starts the sandbox, exports its address, then ``exec "$@"`` hands over to Jupyter).
``repo2docker --no-build --no-run --debug`` (no Docker needed) prints the Dockerfile Binder would
build: it must take those three files and none of the repository root's.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from flowodm import sandbox as sandbox_api

ROOT = Path(__file__).resolve().parents[2]
BINDER = ROOT / "binder"
LOCK = ROOT / "requirements" / "dev.lock"
SCRIPTS = ("postBuild", "start")
_RUN_TIMEOUT = 60.0  # seconds for one launch of binder/start; it takes well under one here


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("binder_env", ROOT / "scripts" / "binder_env.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


binder_env = _load_generator()


def _pyproject() -> str:
    return (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def _environment() -> dict[str, Any]:
    loaded = yaml.safe_load((BINDER / "environment.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _pip_specs() -> list[str]:
    [pip_section] = [d for d in _environment()["dependencies"] if isinstance(d, dict)]
    specs = pip_section["pip"]
    assert isinstance(specs, list) and specs
    return [str(spec) for spec in specs]


def _pins() -> dict[str, Requirement]:
    pins = {str(canonicalize_name(Requirement(s).name)): Requirement(s) for s in _pip_specs()}
    assert len(pins) == len(_pip_specs()), "a package is pinned twice"
    return pins


def _pinned_version(requirement: Requirement) -> str:
    [specifier] = requirement.specifier
    return specifier.version


# ---------------------------------------------------------------------- environment.yml


def test_environment_is_python_and_pip_from_conda_forge() -> None:
    environment = _environment()
    assert environment["channels"] == ["conda-forge"]
    conda = [d for d in environment["dependencies"] if not isinstance(d, dict)]
    assert sorted(conda) == ["pip", "python=3.11"]


def test_every_pip_dependency_is_pinned_exactly() -> None:
    for spec in _pip_specs():
        assert not re.search(r"(^-e\b|^\.|git\+|://|\s@\s)", spec), f"{spec!r} is a local ref"
        requirement = Requirement(spec)
        assert requirement.url is None and requirement.marker is None, spec
        operators = [s.operator for s in requirement.specifier]
        assert operators == ["=="], f"{spec!r} must be pinned with a single =="
        assert "*" not in _pinned_version(requirement), f"{spec!r} must pin one version"


def test_jupyter_itself_is_left_to_repo2docker() -> None:
    assert not {"jupyterlab", "notebook", "jupyter-server"} & set(_pins())


def test_pins_are_the_locked_versions() -> None:
    # Checked against the lock, not the installed packages: the suite's outcome must not depend
    # on what the package index released today (and a lane runs other versions on purpose).
    locked = binder_env.locked_versions(LOCK.read_text(encoding="utf-8"))
    drift = {
        name: f"pinned {_pinned_version(requirement)}, locked {locked.get(name, 'not locked')}"
        for name, requirement in _pins().items()
        if locked.get(name) != _pinned_version(requirement)
    }
    assert not drift, f"run scripts/lock (binder/environment.yml is generated): {drift}"


def test_environment_yml_is_what_the_generator_writes() -> None:
    wanted = binder_env.render(LOCK.read_text(encoding="utf-8"), _pyproject())
    assert (BINDER / "environment.yml").read_text(encoding="utf-8") == wanted, (
        "binder/environment.yml is generated from requirements/dev.lock: run scripts/lock"
    )


def test_the_generator_skips_pins_for_other_platforms() -> None:
    lock = (
        "numpy==2.4.6 ; python_full_version < '3.12' \\\n"
        "numpy==2.5.5 ; python_full_version >= '3.12' \\\n"
        "appnope==1.0.0 ; sys_platform == 'darwin' \\\n"
        "pandas==3.1.1 \\\n"
    )
    assert binder_env.locked_versions(lock) == {"numpy": "2.4.6", "pandas": "3.1.1"}


def test_every_runtime_dependency_is_pinned_with_its_extras() -> None:
    # postBuild installs flowodm with --no-deps: a dependency missing here is missing on Binder.
    pins = _pins()
    for requirement in binder_env.runtime_requirements(_pyproject()):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} (pyproject.toml) is not pinned in environment.yml"
        pin = pins[name]
        assert requirement.specifier.contains(_pinned_version(pin)), f"{pin} vs {requirement}"
        assert requirement.extras <= pin.extras, f"{pin} lacks the extras of {requirement}"


# ---------------------------------------------------------------------- scripts


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_parses(script: str) -> None:
    result = subprocess.run(
        ["bash", "-n", str(BINDER / script)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_is_executable_in_git(script: str) -> None:
    path = BINDER / script
    assert path.stat().st_mode & stat.S_IXUSR, f"chmod +x binder/{script}"
    assert path.read_text(encoding="utf-8").startswith("#!/bin/bash\n")
    # The mode git records: from the index once the file is tracked (as in CI's clone).
    listed = subprocess.run(
        ["git", "ls-files", "--stage", "--", f"binder/{script}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if listed.returncode == 0 and listed.stdout:
        assert listed.stdout.split()[0] == "100755", f"git update-index --chmod=+x binder/{script}"


def test_post_build_installs_flowodm_without_unpinned_dependencies() -> None:
    commands = [
        line
        for line in (BINDER / "postBuild").read_text(encoding="utf-8").splitlines()
        if "pip install" in line and not line.lstrip().startswith("#")
    ]
    assert len(commands) == 1 and "--no-deps" in commands[0].split(), commands


def test_start_hands_over_with_exec() -> None:
    lines = [
        line.strip()
        for line in (BINDER / "start").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert lines[-1] == 'exec "$@"'


# ---------------------------------------------------------------------- what repo2docker picks

# Root files Binder must ignore once binder/ exists; their markers must not reach the Dockerfile.
_DECOY_ENVIRONMENT = "dependencies:\n  - python=3.12\n  - pip:\n      - decoy-root-environment==0\n"
_DECOY_REQUIREMENTS = "decoy-root-requirements==0\n"
_R2D_TIMEOUT = 60.0  # seconds; it prints the Dockerfile in about one


def _repo2docker_dockerfile(repo: Path, cwd: Path) -> str:
    """What ``repo2docker --no-build --no-run --debug repo`` prints (no Docker needed)."""
    executable = Path(sys.executable).parent / "repo2docker"  # from requirements/dev.lock
    assert executable.is_file(), f"no repo2docker in {executable.parent}: reinstall flowodm[dev]"
    result = subprocess.run(
        [str(executable), "--no-build", "--no-run", "--debug", str(repo)],
        cwd=cwd,  # it looks for a repo2docker_config file in the working directory
        capture_output=True,
        text=True,
        timeout=_R2D_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def _checkout_with_decoys(tmp_path: Path, *, with_binder: bool = True) -> Path:
    """A copy of what repo2docker reads: binder/ and pyproject.toml, plus root decoys."""
    repo = tmp_path / "repo"
    repo.mkdir()
    if with_binder:
        shutil.copytree(BINDER, repo / "binder")
    shutil.copy2(ROOT / "pyproject.toml", repo / "pyproject.toml")
    (repo / "environment.yml").write_text(_DECOY_ENVIRONMENT, encoding="utf-8")
    (repo / "requirements.txt").write_text(_DECOY_REQUIREMENTS, encoding="utf-8")
    return repo


def test_repo2docker_reads_one_config_folder() -> None:
    assert not (ROOT / ".binder").exists(), "binder/ and .binder/ together: repo2docker fails"
    # A Dockerfile would replace environment.yml, postBuild and start; a requirements.txt next
    # to environment.yml would be silently ignored.
    assert not (BINDER / "Dockerfile").exists()
    assert not (BINDER / "requirements.txt").exists()


def test_repo2docker_builds_from_binder_only(tmp_path: Path) -> None:
    dockerfile = _repo2docker_dockerfile(_checkout_with_decoys(tmp_path), tmp_path)
    assert "Building conda environment for python=3.11" in dockerfile
    assert "COPY --chown=0:0 src/binder/environment.yml" in dockerfile
    assert '--file "binder/environment.yml"' in dockerfile
    assert "RUN ./binder/postBuild" in dockerfile
    assert 'ENV R2D_ENTRYPOINT="${REPO_DIR}/binder/start"' in dockerfile
    # The root's conda file, requirements and package are not used.
    assert '--file "environment.yml"' not in dockerfile
    assert "python=3.12" not in dockerfile
    assert "requirements.txt" not in dockerfile
    assert "pip install" not in dockerfile  # FlowODM comes from postBuild, with --no-deps


def test_repo2docker_would_take_the_root_files_without_binder(tmp_path: Path) -> None:
    # The control for the test above: the decoys are what repo2docker uses when binder/ is gone,
    # so their absence there means binder/ won, not that the check cannot see them.
    dockerfile = _repo2docker_dockerfile(
        _checkout_with_decoys(tmp_path, with_binder=False), tmp_path
    )
    assert '--file "environment.yml"' in dockerfile
    assert "Building conda environment for python=3.12" in dockerfile
    assert "binder/" not in dockerfile


# ---------------------------------------------------------------------- binder/start, for real


def _launch(tmp_path: Path, *command: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``binder/start COMMAND`` with a private HOME and sandbox dir, as Binder would."""
    bin_dir = Path(sys.executable).parent  # this venv's bin: flowodm's console script
    assert shutil.which("flowodm", path=str(bin_dir)), f"no flowodm script in {bin_dir}"
    base = {
        "PATH": os.pathsep.join([str(bin_dir), os.environ.get("PATH", os.defpath)]),
        "HOME": str(tmp_path / "home"),
        "FLOWODM_SANDBOX_DIR": str(tmp_path / "sandbox"),
        "FLOWODM_SANDBOX_BROKER_PORT": "0",  # free ports: never the developer's 9092/8081
        "FLOWODM_SANDBOX_REGISTRY_PORT": "0",
    }
    return subprocess.run(
        [str(BINDER / "start"), *command],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=_RUN_TIMEOUT,
        check=False,
    )


@pytest.mark.integration
def test_start_runs_the_sandbox_and_exports_its_address(tmp_path: Path) -> None:
    data_dir = tmp_path / "sandbox"
    try:
        first = _launch(tmp_path, "env")
        assert first.returncode == 0, first.stderr
        running = sandbox_api.status(data_dir)  # both processes answer
        assert running is not None, first.stdout + first.stderr
        exported = dict(
            line.split("=", 1)
            for line in first.stdout.splitlines()
            if line.startswith(
                ("KAFKA_BOOTSTRAP_SERVERS=", "SCHEMA_REGISTRY_URL=", "FLOWODM_CONSUMER_CONFIG=")
            )
        )
        assert exported == running.env()
        assert not running.bootstrap_servers.endswith(":9092")

        # A relaunch reuses the running sandbox, and the command's exit status is the script's.
        again = _launch(tmp_path, "sh", "-c", "exit 7")
        assert again.returncode == 7, again.stderr
        assert sandbox_api.status(data_dir) == running  # same ports and processes
    finally:
        sandbox_api.stop(data_dir)


@pytest.mark.integration
def test_start_still_starts_jupyter_when_the_sandbox_cannot_start(tmp_path: Path) -> None:
    result = _launch(tmp_path, "env", FLOWODM_BROKER_BIN=str(tmp_path / "no-such-broker"))
    assert result.returncode == 0, result.stderr
    assert "FLOWODM_BROKER_BIN" in result.stderr  # flowodm's own error, naming the cause
    assert "the FlowODM sandbox did not start" in result.stderr
    assert "KAFKA_BOOTSTRAP_SERVERS=" not in result.stdout
    assert "HOME=" in result.stdout  # the command ran
    assert sandbox_api.status(tmp_path / "sandbox") is None
