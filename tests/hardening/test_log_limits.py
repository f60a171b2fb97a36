"""``RepeatedWarnings``: a flood of one warning writes at most ``burst`` lines per window.

Issue 16, item 12. The clock is a plain variable the test moves, so no test sleeps.
"""

from __future__ import annotations

import logging

import pytest

from connect_chat.log_limits import DEFAULT_BURST, RepeatedWarnings
from tests.hardening.support import capture_logs


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limiter(clock: Clock, **kwargs: object) -> RepeatedWarnings:
    return RepeatedWarnings(logging.getLogger("connect_chat.test_limits"), clock=clock,
                            **kwargs)  # type: ignore[arg-type]


def test_the_first_burst_is_written_then_only_counted() -> None:
    clock = Clock()
    warnings = limiter(clock, burst=3, window=10.0)
    with capture_logs() as logs:
        written = [warnings.warning("junk", "dropping frame %d", n) for n in range(300_000)]
    assert written[:3] == [True, True, True] and not any(written[3:])
    assert [r.getMessage() for r in logs.records] == [
        "dropping frame 0", "dropping frame 1", "dropping frame 2"]
    assert warnings.suppressed("junk") == 300_000 - 3


def test_the_next_window_writes_again_and_says_how_many_were_held() -> None:
    clock = Clock()
    warnings = limiter(clock, burst=2, window=10.0)
    with capture_logs() as logs:
        for _ in range(5):
            warnings.warning("junk", "dropping a frame")
        clock.now += 9.99
        assert not warnings.warning("junk", "dropping a frame")
        clock.now += 0.01
        assert warnings.warning("junk", "dropping a frame")
    messages = [r.getMessage() for r in logs.records]
    assert messages == ["dropping a frame", "dropping a frame",
                        "dropping a frame (4 similar warnings suppressed in the last 10 s)"]
    assert all(r.levelno == logging.WARNING for r in logs.records)
    assert warnings.suppressed("junk") == 0


def test_kinds_are_limited_separately_and_the_state_stays_bounded() -> None:
    clock = Clock()
    warnings = limiter(clock, burst=1, window=10.0, max_kinds=4)
    with capture_logs() as logs:
        assert warnings.warning("a", "a")
        assert warnings.warning("b", "b")
        assert not warnings.warning("a", "a")
        for n in range(100):
            warnings.warning(f"kind-{n}", "other")
    assert len(warnings._kinds) == 4
    assert len(logs.records) == 102


def test_records_point_at_the_caller() -> None:
    warnings = limiter(Clock())
    with capture_logs() as logs:
        warnings.warning("x", "here")
    assert logs.records[0].pathname == __file__


def test_defaults_and_bad_arguments() -> None:
    assert 1 <= DEFAULT_BURST <= 100
    for bad in ({"burst": 0}, {"window": 0.0}, {"max_kinds": 0}):
        with pytest.raises(ValueError):
            limiter(Clock(), **bad)
