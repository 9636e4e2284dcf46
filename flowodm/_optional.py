"""Import optional dependencies with one clear error that names the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from flowodm.exceptions import MissingExtraError


def require(module: str, *, extra: str) -> ModuleType:
    """Import ``module`` or raise ``MissingExtraError`` naming ``pip install 'flowodm[extra]'``.

    ``MissingExtraError`` is an ``ImportError`` too, so ``except ImportError`` still works.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"{module!r} is not installed; install it with: pip install 'flowodm[{extra}]'",
            module=module,
            extra=extra,
        ) from exc
