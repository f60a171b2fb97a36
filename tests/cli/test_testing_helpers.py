"""connect_chat.testing.wait_until: waits for what another thread does, fails when it doesn't."""

from __future__ import annotations

import threading

import pytest

from connect_chat.testing import wait_until


def test_returns_the_first_truthy_value() -> None:
    values = iter([0, None, "", "ready"])
    assert wait_until(lambda: next(values), timeout=5) == "ready"


def test_sees_what_another_thread_does() -> None:
    done = threading.Event()
    threading.Timer(0.05, done.set).start()
    assert wait_until(done.is_set, timeout=5) is True


def test_times_out_with_a_message_naming_what_it_waited_for() -> None:
    calls: list[int] = []

    def never() -> bool:
        calls.append(1)
        return False

    with pytest.raises(AssertionError, match="waiting for the agent's reply"):
        wait_until(never, timeout=0.05, message="the agent's reply")
    assert len(calls) >= 2  # once at the start, once more at the deadline


def test_times_out_naming_the_predicate_by_default() -> None:
    def nothing_happens() -> bool:
        return False

    with pytest.raises(AssertionError, match="nothing_happens"):
        wait_until(nothing_happens, timeout=0)


def test_negative_timeout_is_refused() -> None:
    with pytest.raises(ValueError, match="timeout"):
        wait_until(lambda: True, timeout=-1)
