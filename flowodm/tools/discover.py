"""Find the models a CI check covers: every ``FlowBaseModel`` in a module or package.

``flowodm schema check --models shop.events`` checks each model defined in ``shop.events``
(and, for a package, in every module below it) against its subject. A model counts where it is
defined (``cls.__module__``), so one imported into several modules is checked once.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType
from typing import TYPE_CHECKING

from flowodm.exceptions import FlowODMError, InvalidArgumentError

if TYPE_CHECKING:
    from flowodm.model import FlowBaseModel

__all__ = ["find_models"]


def find_models(module: str | ModuleType) -> list[type[FlowBaseModel]]:
    """Return every ``FlowBaseModel`` subclass defined in ``module`` (recursively for a
    package), sorted by module and class name.

    Raises:
        InvalidArgumentError: the module (or one below the package) cannot be imported; the
            message names it and the error.
        FlowODMError: a model in it is defined wrongly (its own message names the option).
    """
    from flowodm.model import FlowBaseModel

    root = _import(module) if isinstance(module, str) else module
    modules = [root]
    if hasattr(root, "__path__"):
        prefix = f"{root.__name__}."
        for info in pkgutil.walk_packages(root.__path__, prefix, onerror=_walk_error):
            modules.append(_import(info.name))
    found: dict[str, type[FlowBaseModel]] = {}
    for loaded in modules:
        for value in vars(loaded).values():
            if (
                isinstance(value, type)
                and issubclass(value, FlowBaseModel)
                and value is not FlowBaseModel
                and value.__module__ == loaded.__name__
            ):
                found[f"{value.__module__}:{value.__qualname__}"] = value
    return [found[name] for name in sorted(found)]


def _import(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except FlowODMError:
        raise
    except ModuleNotFoundError as exc:
        raise InvalidArgumentError(
            f"no module named {exc.name!r} (while importing {name!r}); check the spelling, run "
            "from the directory that holds the package, or add it to PYTHONPATH",
            argument="module",
        ) from None
    except Exception as exc:  # the user's module failed: say where, not a traceback
        raise InvalidArgumentError(
            f"importing {name!r} failed: {type(exc).__name__}: {exc}", argument="module"
        ) from None


def _walk_error(name: str) -> None:
    _import(name)  # re-raise the import failure of a sub-package as our error
