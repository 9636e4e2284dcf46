"""``InFlight``: the committable offset never passes an unfinished message (no broker needed)."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from flowodm.consume.offsets import InFlight


def test_offsets_become_committable_only_up_to_the_oldest_unfinished() -> None:
    flight = InFlight()
    for offset in (10, 11, 12):
        flight.start("t", 0, offset)
    assert flight.finish("t", 0, 12) is None  # 10 and 11 still running
    assert flight.finish("t", 0, 10) == 11
    assert flight.finish("t", 0, 11) == 13
    assert len(flight) == 0


def test_partitions_are_independent() -> None:
    flight = InFlight()
    flight.start("t", 0, 5)
    flight.start("t", 1, 7)
    assert flight.finish("t", 1, 7) == 8
    assert len(flight) == 1


@given(st.integers(min_value=1, max_value=60), st.randoms(use_true_random=False))
def test_any_completion_order_commits_exactly_the_finished_prefix(
    count: int, rng: random.Random
) -> None:
    flight = InFlight()
    for offset in range(count):
        flight.start("t", 0, offset)
    order = list(range(count))
    rng.shuffle(order)
    done: set[int] = set()
    committable = 0
    for offset in order:
        done.add(offset)
        result = flight.finish("t", 0, offset)
        prefix = 0
        while prefix in done:
            prefix += 1
        if result is not None:
            committable = result
        assert committable == prefix  # never past an unfinished one, never behind the prefix
    assert committable == count
