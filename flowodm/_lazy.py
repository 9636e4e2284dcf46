"""Package attributes that import their module on first use (PEP 562), for light imports.

``import flowodm`` must not load pydantic, confluent-kafka or pandas: the sandbox registry runs
as ``python -m flowodm.sandbox.registry`` and a CLI's ``--help`` should be instant. A package
lists its public names and where they live, and its public submodules (so ``flowodm.exceptions``
works after a bare ``import flowodm``, as it would with eager imports); ``attach`` returns its
``__getattr__`` and ``__dir__``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Collection, Mapping
from typing import Any

__all__ = ["attach"]


def attach(
    package: str, exports: Mapping[str, str], submodules: Collection[str] = ()
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return ``(__getattr__, __dir__)`` for ``package``, loading ``exports[name]`` on use.

    A name in ``submodules`` imports ``package.name`` itself, which binds it on the package.
    """

    def __getattr__(name: str) -> Any:
        if name in submodules:
            return importlib.import_module(f"{package}.{name}")
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # later lookups skip __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports) | set(submodules))

    return __getattr__, __dir__
