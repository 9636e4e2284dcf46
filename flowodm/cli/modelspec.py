"""Resolve ``--model`` (``package.module:Class`` or ``path/to/file.py:Class``) to a model class.

Modules are looked up in the current working directory first, whether the command runs as the
``flowodm`` console script or as ``python -m flowodm``: like uvicorn's ``--app-dir .`` default,
the working directory is put at the front of ``sys.path`` (once) before importing. A file path
that is also importable as a module (it lies under a ``sys.path`` entry, such as the working
directory) is imported under that dotted name, so the model is the same class whichever
spelling is used. Any other file is loaded on its own under a private module name.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from flowodm._arguments import did_you_mean
from flowodm.cli.usage import UsageError
from flowodm.exceptions import FlowODMError

if TYPE_CHECKING:
    from flowodm.model import FlowBaseModel

__all__ = ["load_model", "working_directory_first"]

_FORMS = "package.module:ClassName or path/to/file.py:ClassName"
_PRIVATE_PREFIX = "_flowodm_model_file_"  # module names of stand-alone files


def load_model(spec: str) -> type[FlowBaseModel]:
    """Import the ``FlowBaseModel`` subclass named by ``spec``.

    Raises:
        UsageError: the spec is malformed, the module or file cannot be found or imported,
            the attribute is missing, or it is not a ``FlowBaseModel`` subclass.
        FlowODMError: the module defines the model wrongly (for instance a bad inner
            ``Settings``); FlowODM's own message names the model and the option.
    """
    from flowodm.model import FlowBaseModel

    target, _, attribute = spec.rpartition(":")
    if not target or not attribute or not all(p.isidentifier() for p in attribute.split(".")):
        raise UsageError(f"--model {spec!r} must look like {_FORMS}")
    working_directory_first()
    module = _import_target(spec, target)
    found: Any = module
    where = _describe_target(target)
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise UsageError(
                f"--model {spec!r}: {where} has no attribute {part!r}"
                f"{_did_you_mean(part, found, FlowBaseModel)}"
            )
        found = getattr(found, part)
        where = f"class {found.__qualname__!r}" if isinstance(found, type) else repr(part)
    if not (isinstance(found, type) and issubclass(found, FlowBaseModel)):
        kind = f"class {found.__name__}" if isinstance(found, type) else type(found).__name__
        raise UsageError(f"--model {spec!r} is a {kind}, not a subclass of flowodm.FlowBaseModel")
    return found


def working_directory_first() -> None:
    """Put the current working directory at the front of ``sys.path`` unless it is there.

    ``python -m`` does this itself (with ``""``); the console script does not, so without it
    ``--model shop.events:OrderEvent`` would not find ``./shop/events.py``.
    """
    cwd = Path.cwd().resolve()
    for entry in sys.path:
        try:
            if Path(entry or os.curdir).resolve() == cwd:
                return
        except OSError:  # an entry that cannot be resolved is simply not the working directory
            continue
    sys.path.insert(0, str(cwd))


def _describe_target(target: str) -> str:
    """Name the module as the user spelled it (never by the private name a file is loaded as)."""
    return f"file {target!r}" if _is_path(target) else f"module {target!r}"


def _did_you_mean(name: str, namespace: Any, base: type) -> str:
    models = [
        attr
        for attr, value in vars(namespace).items()
        if isinstance(value, type) and issubclass(value, base) and value is not base
    ]
    listing = (
        f"the FlowBaseModel classes there are {', '.join(sorted(models))}"
        if models
        else "it defines no FlowBaseModel class"
    )
    return f"{did_you_mean(name, models)}; {listing}"


def _is_path(target: str) -> bool:
    return target.endswith(".py") or "/" in target or os.sep in target


def _import_target(spec: str, target: str) -> ModuleType:
    if _is_path(target):
        file = Path(target)
        if not file.is_file():
            raise UsageError(f"--model {spec!r}: file {target!r} does not exist")
        name = _importable_name(file.resolve())
        if name is None:
            return _guarded(spec, target, lambda: _load_file(file.resolve()))
        target = name
    return _guarded(spec, target, lambda: importlib.import_module(target))


def _guarded(spec: str, target: str, load: Any) -> ModuleType:
    """Run ``load`` and turn import failures into messages that say what to fix."""
    try:
        module: ModuleType = load()
    except FlowODMError:
        raise  # e.g. a SettingsError raised while the model class is defined: already clear
    except ModuleNotFoundError as exc:
        if exc.name is not None and (target == exc.name or target.startswith(f"{exc.name}.")):
            raise UsageError(
                f"--model {spec!r}: no module named {target!r} in the working directory "
                f"({os.getcwd()}) or on sys.path; check the spelling, run from the directory "
                "that holds the package, install it, or add its directory to PYTHONPATH (or "
                "pass the .py file's path)"
            ) from exc
        raise UsageError(_failure(spec, target, exc)) from exc
    except Exception as exc:  # any error in the user's module is reported, not raised
        raise UsageError(_failure(spec, target, exc)) from exc
    return module


def _failure(spec: str, target: str, exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"--model {spec!r}: importing {target!r} failed: {type(exc).__name__}: {exc}{where}"


def _importable_name(file: Path) -> str | None:
    """Return the dotted name under which ``file`` is imported from ``sys.path``, if any."""
    for entry in sys.path:
        base = Path(entry or os.getcwd()).resolve()
        try:
            relative = file.relative_to(base)
        except ValueError:
            continue
        parts = relative.with_suffix("").parts
        if not parts or not all(part.isidentifier() for part in parts):
            continue
        name = ".".join(parts)
        try:
            found = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if found is not None and found.origin and Path(found.origin).resolve() == file:
            return name
    return None


def _load_file(file: Path) -> ModuleType:
    """Execute a stand-alone ``.py`` file as a module registered under a private name."""
    name = f"{_PRIVATE_PREFIX}{file.stem}" if file.stem.isidentifier() else _PRIVATE_PREFIX[:-1]
    if name in sys.modules and getattr(sys.modules[name], "__file__", None) == str(file):
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise UsageError(f"{str(file)!r} cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    # Registered before running so pydantic can resolve the module's annotations.
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
