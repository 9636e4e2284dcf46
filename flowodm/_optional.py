"""Import optional dependencies with one clear error that names the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from flowodm.exceptions import ConfigurationError


def require(module: str, *, extra: str) -> ModuleType:
    """Import ``module`` or raise ``ConfigurationError`` naming ``pip install 'flowodm[extra]'``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigurationError(
            f"{module!r} is not installed; install it with: pip install 'flowodm[{extra}]'"
        ) from exc
