"""backoff.py: exponential delays with a cap and jitter."""

from __future__ import annotations

import random

import pytest

from connect_chat.backoff import Backoff
from connect_chat.errors import InvalidInputError


def delays(backoff: Backoff, count: int) -> list[float]:
    return [backoff.next_delay() for _ in range(count)]


def test_backoff_grows_to_the_cap_without_jitter() -> None:
    backoff = Backoff(base=0.5, factor=2.0, cap=4.0, jitter=0.0, first_delay=0.1)
    assert delays(backoff, 7) == [0.1, 0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    backoff.reset()
    assert delays(backoff, 3) == [0.1, 0.5, 1.0]  # from the quick first delay again


def test_backoff_jitter_stays_within_bounds_and_varies() -> None:
    backoff = Backoff(base=1.0, factor=2.0, cap=30.0, jitter=0.5, rng=random.Random(7))
    backoff.next_delay()
    nominal = 1.0
    seen = []
    for _ in range(200):
        delay = backoff.next_delay()
        assert nominal * 0.5 <= delay <= nominal <= 30.0
        seen.append(delay)
        nominal = min(30.0, nominal * 2)
    assert len(set(seen[-50:])) > 1


def test_backoff_survives_many_attempts() -> None:
    backoff = Backoff(jitter=1.0, rng=random.Random(1))
    assert all(0.0 <= d <= 30.0 for d in delays(backoff, 5000))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"base": 0},
        {"factor": 0.5},
        {"cap": 0.1, "base": 1.0},
        {"jitter": 1.5},
        {"first_delay": -1},
    ],
)
def test_backoff_rejects_bad_settings(kwargs: dict[str, float]) -> None:
    with pytest.raises(InvalidInputError):
        Backoff(**kwargs)  # type: ignore[arg-type]
