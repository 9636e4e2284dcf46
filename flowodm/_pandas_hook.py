"""Register the ``df.flowodm`` accessor when pandas is imported, without importing pandas ourselves.

``import flowodm`` must make ``df.flowodm`` available, yet processes that never touch pandas (the
sandbox registry, ``flowodm sandbox status``) should not pay pandas' import time and memory. So
the accessor is registered at once if pandas is already loaded, and otherwise right after pandas
finishes loading, by a one-shot import hook.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import logging
import sys
from collections.abc import Sequence
from types import ModuleType

_log = logging.getLogger("flowodm")


def register_accessor_with_pandas() -> None:
    """Make ``df.flowodm`` available now, or as soon as pandas is imported."""
    if "pandas" in sys.modules:
        _register()
    elif not any(isinstance(finder, _PandasImportWatcher) for finder in sys.meta_path):
        sys.meta_path.insert(0, _PandasImportWatcher())


def _register() -> None:
    try:
        import flowodm.pandas  # noqa: F401  (the import registers the accessor)
    except ImportError as exc:  # pandas without numpy/pyarrow: the kit is simply unavailable
        _log.debug("df.flowodm not registered: %s", exc)


class _PandasImportWatcher(importlib.abc.MetaPathFinder):
    """Finds nothing itself; wraps pandas' own loader so registration runs after pandas loads."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "pandas":
            return None
        sys.meta_path.remove(self)  # one shot: the real finders locate pandas
        spec = importlib.util.find_spec("pandas")
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        load_pandas = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            load_pandas(module)
            _register()

        loader.exec_module = exec_module  # type: ignore[method-assign]  # this one loader only
        return spec
