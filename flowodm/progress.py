"""Progress bars for long sends: pick a tier once (widget, text or none) and count acknowledgements.

``progress=`` accepts ``None`` (decide from ``FLOWODM_PROGRESS`` and the environment), ``False``
(no bar), ``True`` or ``"auto"`` (a widget in Jupyter, text in a terminal), ``"text"``,
``"widget"``, or a tqdm-compatible class (tests pass one that records its counts). Detection is
cheap: like ``tqdm.autonotebook`` it looks at ``sys.modules`` and never imports IPython itself.
tqdm is optional (the ``notebook`` extra): the automatic tier degrades to no bar without it,
while an explicit request raises an error naming the extra.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeAlias

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from flowodm._optional import require
from flowodm.exceptions import ArgumentTypeError, ConfigurationError, InvalidArgumentError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "DeliveryProgress",
    "ProgressBar",
    "ProgressOption",
    "open_bar",
    "open_progress",
    "progress_factory",
]

Tier = Literal["auto", "text", "widget"]


class ProgressBar(Protocol):
    """The slice of tqdm's interface FlowODM uses; any tqdm subclass satisfies it."""

    n: float

    def update(self, n: float | None = 1) -> bool | None:
        """Advance the bar by ``n``."""

    def set_postfix(
        self, ordered_dict: Any = None, refresh: bool | None = True, **kwargs: Any
    ) -> None:
        """Show extra counters after the bar."""

    def close(self) -> None:
        """Finish the bar and release its output."""


ProgressOption: TypeAlias = "bool | Tier | Callable[..., ProgressBar] | None"


class _ProgressEnv(BaseSettings):
    """``FLOWODM_PROGRESS``: ``0``/``false``/``off`` disables bars; a tier name forces it."""

    model_config = SettingsConfigDict(env_prefix="FLOWODM_", extra="ignore", frozen=True)

    progress: bool | Tier = "auto"


def _in_notebook() -> bool:
    # The same signal tqdm.autonotebook uses: a Jupyter kernel has loaded its ZMQ shell.
    return "ipykernel.zmqshell" in sys.modules


def _env_choice() -> bool | Tier:
    try:
        return _ProgressEnv().progress
    except ValidationError as exc:
        raise ConfigurationError(
            "FLOWODM_PROGRESS must be 0/1, true/false, 'auto', 'text' or 'widget'"
        ) from exc


def _bar_class(tier: Tier, *, explicit: bool) -> Callable[..., ProgressBar] | None:
    """Return the tqdm class for ``tier``; ``None`` when the automatic tier has nothing to show."""
    if not explicit:
        try:
            import tqdm  # noqa: F401
        except ImportError:
            return None  # optional extra missing: the automatic tier degrades to no bar
    if tier == "widget":
        require("ipywidgets", extra="notebook")
        cls: Callable[..., ProgressBar] = require("tqdm.notebook", extra="notebook").tqdm
        return cls
    if tier == "auto" and _in_notebook():
        cls = require("tqdm.auto", extra="notebook").tqdm
        return cls
    if tier == "auto" and not explicit and not sys.stderr.isatty():
        return None  # CI logs and pipes: a text bar would only add noise
    cls = require("tqdm.std", extra="notebook").tqdm
    return cls


def progress_factory(progress: ProgressOption) -> Callable[..., ProgressBar] | None:
    """Decide what ``progress`` asks for: the bar class to open later, or ``None`` for no bar.

    Deciding apart from opening lets a caller reject a bad option before it does any work.

    Raises:
        ConfigurationError: a tier was requested explicitly but tqdm/ipywidgets are missing,
            ``FLOWODM_PROGRESS`` has an unknown value, or ``progress`` is not understood.
    """
    if progress is False:
        return None
    if callable(progress) and not isinstance(progress, bool):
        return progress
    if progress is None:
        choice = _env_choice()
        if choice is False:
            return None
        return _bar_class(
            "auto" if choice is True else choice, explicit=choice not in (True, "auto")
        )
    if progress is True or progress in ("auto", "text", "widget"):
        tier: Tier = "auto" if progress is True else progress
        return _bar_class(tier, explicit=True)
    error = InvalidArgumentError if isinstance(progress, str) else ArgumentTypeError
    raise error(
        f"progress={progress!r} is not understood: use None, True, False, 'auto', 'text', "
        "'widget' or a tqdm class",
        argument="progress",
    )


def open_progress(
    progress: ProgressOption, *, total: int | None, desc: str, unit: str = "row"
) -> ProgressBar | None:
    """Open a bar for ``total`` rows as ``progress`` asks, or return ``None`` for no bar.

    Args:
        progress: ``None`` (environment decides), ``False``, ``True``, a tier name, or a
            tqdm-compatible class called as ``cls(total=…, desc=…, unit=…, leave=True)``.
        total: Number of rows expected, if known.
        desc: Label shown before the bar.
        unit: What one step counts.

    Raises:
        ConfigurationError: as ``progress_factory``.
    """
    factory = progress_factory(progress)
    return open_bar(factory, total=total, desc=desc, unit=unit)


def open_bar(
    factory: Callable[..., ProgressBar] | None, *, total: int | None, desc: str, unit: str = "row"
) -> ProgressBar | None:
    """Open a bar with ``factory`` (from ``progress_factory``); ``None`` gives no bar."""
    if factory is None:
        return None
    return factory(total=total, desc=desc, unit=unit, leave=True)


class DeliveryProgress:
    """Drive a bar that counts acknowledged rows and shows invalid and failed counts as a postfix.

    Invalid rows are never sent, so each one found lowers the bar's total: a run whose valid rows
    were all delivered ends full (not as a "failed" red notebook bar) while the postfix still
    shows how many rows were invalid. All calls come from the thread that polls the producer,
    never from librdkafka's threads.
    """

    __slots__ = ("_bar", "_shown")

    def __init__(self, bar: ProgressBar | None) -> None:
        self._bar = bar
        self._shown: tuple[int, int] = (0, 0)

    def _drop_from_total(self, rows: int) -> None:
        bar: Any = self._bar
        if rows <= 0 or not getattr(bar, "total", None):
            return
        bar.total = max(0, bar.total - rows)
        # tqdm.notebook draws its widget from the max it was created with; keep them in step.
        children: Any = getattr(getattr(bar, "container", None), "children", ())
        if len(children) == 3 and hasattr(children[1], "max"):
            children[1].max = max(1, bar.total)

    def acked(self, n: int) -> None:
        """Count ``n`` more rows acknowledged by the broker."""
        if self._bar is not None and n:
            self._bar.update(n)

    def counts(self, *, invalid: int, failed: int) -> None:
        """Show the running invalid and failed counts (redrawn with the next update)."""
        if self._bar is not None and (invalid, failed) != self._shown:
            self._drop_from_total(invalid - self._shown[0])
            self._shown = (invalid, failed)
            self._bar.set_postfix(invalid=invalid, failed=failed, refresh=False)

    def close(self) -> None:
        """Close the bar; safe to call twice."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
