"""A tqdm class that draws into memory and remembers what it was told (``progress=…``)."""

from __future__ import annotations

import io
from typing import Any

from tqdm.std import tqdm


class RecordingBar(tqdm):  # type: ignore[type-arg]  # tqdm is generic only in its stubs
    """Writes to a private buffer; ``instances`` keeps every bar made, for assertions."""

    instances: list[RecordingBar] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["file"] = io.StringIO()
        kwargs.setdefault("mininterval", 0)
        self.postfixes: list[dict[str, Any]] = []
        self.closed = False
        super().__init__(*args, **kwargs)
        RecordingBar.instances.append(self)

    def set_postfix(
        self, ordered_dict: Any = None, refresh: bool | None = True, **kwargs: Any
    ) -> None:
        self.postfixes.append(dict(kwargs))
        super().set_postfix(ordered_dict, refresh, **kwargs)

    def close(self) -> None:
        self.closed = True
        super().close()
