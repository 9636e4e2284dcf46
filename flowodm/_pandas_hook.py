"""Register the ``df.flowodm`` accessor when pandas is imported, without importing pandas ourselves.

``import flowodm`` must make ``df.flowodm`` available, yet processes that never touch pandas (the
sandbox registry, ``flowodm sandbox status``) should not pay pandas' import time and memory. So
the accessor is registered at once if pandas is already loaded, and otherwise right after pandas
finishes loading, by a one-shot import hook. The Dask accessor (``ddf.flowodm``,
``flowodm.dask``) is registered the same way once ``dask.dataframe`` is imported.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import logging
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

_log = logging.getLogger("flowodm")


def register_accessor_with_pandas() -> None:
    """Make ``df.flowodm`` available now, or as soon as pandas is imported (and ``ddf.flowodm``
    as soon as ``dask.dataframe`` is)."""
    _watch("pandas", _register)
    _watch("dask.dataframe", _register_dask)


def _watch(name: str, register: Callable[[], None]) -> None:
    if name in sys.modules:
        register()
    elif not any(
        isinstance(finder, _PandasImportWatcher) and finder.name == name for finder in sys.meta_path
    ):
        sys.meta_path.insert(0, _PandasImportWatcher(name, register))


def _register() -> None:
    try:
        import flowodm.pandas  # noqa: F401  (the import registers the accessor)
    except ImportError as exc:  # pandas without numpy/pyarrow: the kit is simply unavailable
        _log.debug("df.flowodm not registered: %s", exc)


def _register_dask() -> None:
    try:
        import flowodm.dask  # noqa: F401  (the import registers ddf.flowodm)
    except ImportError as exc:  # dask.dataframe without a usable pandas kit
        _log.debug("ddf.flowodm not registered: %s", exc)


class _PandasImportWatcher(importlib.abc.MetaPathFinder):
    """Finds nothing itself; wraps the loader of module ``name`` (pandas, or dask.dataframe)
    so that ``register`` runs right after that module loads."""

    def __init__(self, name: str = "pandas", register: Callable[[], None] | None = None) -> None:
        self.name = name
        self._on_load = register or _register

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)  # one shot: the real finders locate the module
        spec = importlib.util.find_spec(self.name)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        load_module, on_load = loader.exec_module, self._on_load

        def exec_module(module: ModuleType) -> None:
            load_module(module)
            on_load()

        loader.exec_module = exec_module  # type: ignore[method-assign]  # this one loader only
        return spec
