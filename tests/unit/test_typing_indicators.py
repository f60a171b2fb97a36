"""typing_indicators.py: the outgoing typing throttle and the incoming indicators' expiry."""

from __future__ import annotations

import pytest

from connect_chat.typing_indicators import TypingIndicators, TypingThrottle
from tests.unit.fake_clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


# -- TypingThrottle ----------------------------------------------------------------------------


def test_typing_sends_at_most_once_per_interval(clock: FakeClock) -> None:
    typing = TypingThrottle(interval=10.0, clock=clock)
    assert typing.should_send()
    results = []
    for _ in range(9):
        clock.advance(1.0)
        results.append(typing.should_send())
    assert results == [False] * 9
    clock.advance(0.999)
    assert not typing.should_send()
    clock.advance(0.001)
    assert typing.should_send()
    assert (typing.sent, typing.skipped) == (2, 10)


def test_typing_failed_send_reopens_the_window(clock: FakeClock) -> None:
    typing = TypingThrottle(interval=10.0, clock=clock)
    assert typing.should_send()
    clock.advance(3)
    typing.send_failed()
    assert typing.should_send()
    assert (typing.sent, typing.skipped) == (1, 0)  # the failed one is not counted
    assert not typing.should_send()  # the retry opened a new window


# -- TypingIndicators --------------------------------------------------------------------------


def test_typing_indicator_expires_after_expiry(clock: FakeClock) -> None:
    indicators: TypingIndicators[str] = TypingIndicators(expiry=12.0, clock=clock)
    assert indicators.on_typing("agent")
    assert indicators.next_deadline() == clock.now + 12.0
    clock.advance(11.9)
    assert indicators.expired() == []
    assert indicators.active() == ["agent"]
    clock.advance(0.1)
    assert indicators.expired() == ["agent"]
    assert indicators.active() == []
    assert indicators.next_deadline() is None


def test_typing_again_restarts_the_timer(clock: FakeClock) -> None:
    indicators: TypingIndicators[str] = TypingIndicators(expiry=12.0, clock=clock)
    indicators.on_typing("agent")
    clock.advance(10)
    assert not indicators.on_typing("agent")  # already active
    clock.advance(10)
    assert indicators.expired() == []
    clock.advance(2)
    assert indicators.expired() == ["agent"]


def test_message_clears_only_that_participants_indicator(clock: FakeClock) -> None:
    indicators: TypingIndicators[str] = TypingIndicators(expiry=12.0, clock=clock)
    indicators.on_typing("agent")
    indicators.on_typing("bot")
    assert indicators.on_message("agent")
    assert not indicators.on_message("agent")
    assert indicators.active() == ["bot"]
    assert indicators.clear() == ["bot"]
    assert indicators.next_deadline() is None
