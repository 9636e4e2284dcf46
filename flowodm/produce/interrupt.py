"""Ctrl-C during a bulk produce: always a ``KeyboardInterrupt``, with what was acknowledged.

Why this exists: confluent-kafka's ``poll()``/``flush()`` can turn a SIGINT whose handler
raised inside the C call into a ``SystemError`` ("returned a result with an exception set",
chained to the ``KeyboardInterrupt``). Callers write ``except KeyboardInterrupt`` and never
expect that, so ``produce_many``, ``df.flowodm.produce`` and ``ProduceRun`` translate it back
(``interrupt_of``) and raise ``ProduceInterrupted`` instead: a ``KeyboardInterrupt`` subclass
(so the interpreter still exits as on Ctrl-C, status 130) whose ``result`` holds the outcome
so far, and whose note (``add_note``) says where to resume.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ProduceInterrupted", "interrupt_of"]

# How deep to look for the KeyboardInterrupt behind chained SystemErrors.
_CHAIN_DEPTH = 8


class ProduceInterrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) stopped a bulk produce; ``result`` is what the call had achieved.

    Attributes:
        result: A ``ProduceManyResult`` from ``produce_many``, a ``ProduceReport`` from
            ``df.flowodm.produce``/``ProduceRun``: the messages acknowledged so far (counted)
            and the ones purged by the interruption (listed as failed, may have been written).
            The exception's note says which inputs to send again.
    """

    def __init__(self, message: str = "", *, result: Any = None) -> None:
        super().__init__(message)
        self.result = result

    def __reduce__(self) -> tuple[Any, ...]:
        # KeyboardInterrupt pickles as cls(*args): carry ``result`` (and notes) as state.
        return (type(self), self.args, self.__dict__)


def interrupt_of(exc: BaseException) -> KeyboardInterrupt | None:
    """The ``KeyboardInterrupt`` that ``exc`` is, or that a C call wrapped in a ``SystemError``.

    Returns ``None`` for anything else (a real ``SystemError`` stays what it is).
    """
    current: BaseException | None = exc
    for _ in range(_CHAIN_DEPTH):
        if isinstance(current, KeyboardInterrupt):
            return current
        if not isinstance(current, SystemError):
            return None
        current = current.__cause__ or current.__context__
    return None
