"""Typing: the outgoing typing throttle, and the incoming typing indicators that expire.

Pure logic with an injected clock: no threads are started and nothing touches the network.
:class:`TypingThrottle` is asked by caller threads; :class:`TypingIndicators` belongs to the
dispatcher thread, which waits until its ``next_deadline()`` and then asks what ``expired()``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from connect_chat.errors import InvalidInputError
from connect_chat.models import Event
from connect_chat.timestamps import Clock

__all__ = ["TypingIndicators", "TypingThrottle"]


class TypingThrottle:
    """Outgoing typing: at most one event per ``interval`` (leading edge, like all three SDKs).

    ``should_send()`` says whether this call must reach the network; calls inside the window
    succeed without a call. If the send then fails, ``send_failed()`` reopens the window so
    the next keystroke tries again.
    """

    def __init__(self, interval: float = 10.0, clock: Clock = time.monotonic) -> None:
        if not interval >= 0:
            raise InvalidInputError(f"interval must be >= 0, got {interval!r}")
        self.interval = float(interval)
        self._clock = clock
        self._lock = threading.Lock()
        self._last: float | None = None
        self._previous: float | None = None
        self.sent = 0
        self.skipped = 0

    def should_send(self) -> bool:
        """True if a typing event must be sent now (and starts a new window)."""
        with self._lock:
            now = self._clock()
            if self._last is not None and now - self._last < self.interval:
                self.skipped += 1
                return False
            self._previous, self._last = self._last, now
            self.sent += 1
            return True

    def send_failed(self) -> None:
        """The event ``should_send()`` let through did not go out: forget that window."""
        with self._lock:
            self._last = self._previous
            self.sent = max(0, self.sent - 1)


K = TypeVar("K", bound=Hashable)


class TypingIndicators(Generic[K]):
    """Incoming typing indicators per participant, expiring after ``expiry`` seconds.

    An indicator starts (or restarts) with ``on_typing`` and ends when that participant's
    message arrives (``on_message``) or when it expires (``expired``). Only that participant's
    indicator is cleared, unlike iOS, which drops every indicator on any agent message.
    Not thread-safe: the dispatcher thread owns it.
    """

    def __init__(self, expiry: float = 12.0, clock: Clock = time.monotonic) -> None:
        if not expiry > 0:
            raise InvalidInputError(f"expiry must be > 0, got {expiry!r}")
        self.expiry = float(expiry)
        self._clock = clock
        self._until: dict[K, float] = {}

    def on_typing(self, participant: K) -> bool:
        """Start or extend ``participant``'s indicator; True if it was not active before."""
        now = self._clock()
        was_active = self._until.get(participant, float("-inf")) > now
        self._until[participant] = now + self.expiry
        return not was_active

    def on_message(self, participant: K) -> bool:
        """``participant`` sent a message: clear its indicator; True if one was active."""
        until = self._until.pop(participant, None)
        return until is not None and until > self._clock()

    def expired(self, now: float | None = None) -> list[K]:
        """Remove and return the participants whose indicator has expired by ``now``."""
        now = self._clock() if now is None else now
        gone = [p for p, until in self._until.items() if until <= now]
        for participant in gone:
            del self._until[participant]
        return gone

    def next_deadline(self) -> float | None:
        """When the next indicator expires (clock time), or ``None``."""
        return min(self._until.values(), default=None)

    def active(self, now: float | None = None) -> list[K]:
        """Participants whose indicator is currently on."""
        now = self._clock() if now is None else now
        return [p for p, until in self._until.items() if until > now]

    def clear(self) -> list[K]:
        """Drop every indicator (reconnect, reset); return who was active."""
        gone = list(self._until)
        self._until.clear()
        return gone


class TypingBoard:
    """Who is typing now, for the dispatcher thread: each other participant's latest typing
    event, ended by its expiry, that participant's message or departure, or the chat's end.

    ``on_stopped(event)`` is told when an indicator ends (``on_typing_stopped``);
    :attr:`view` is the current events (read by any thread; replaced at each change).
    """

    def __init__(self, expiry: float, on_stopped: Callable[[Event], None]) -> None:
        self._indicators = TypingIndicators[str](expiry)
        self._events: dict[str, Event] = {}
        self._on_stopped = on_stopped
        self.view: tuple[Event, ...] = ()

    @property
    def expiry(self) -> float:
        return self._indicators.expiry

    def __bool__(self) -> bool:
        """Somebody is typing (else no message can end an indicator)."""
        return bool(self._events)

    def started(self, key: str, event: Event) -> None:
        """``key`` is typing (its latest event): the indicator runs for ``expiry`` seconds."""
        self._indicators.on_typing(key)
        self._events[key] = event
        self.view = tuple(self._events.values())

    def message(self, key: str | None) -> None:
        """``key``'s message (or departure) ends its indicator."""
        if key is not None and key in self._events:
            self._indicators.on_message(key)
            self._stopped(key)

    def expire(self) -> None:
        """End the indicators whose time is up."""
        for key in self._indicators.expired():
            self._stopped(key)

    def end_all(self) -> None:
        """The chat ended: every indicator ends (no participant.left may come first)."""
        for key in list(self._events):
            self._stopped(key)
        self._indicators.clear()

    def _stopped(self, key: str) -> None:
        event = self._events.pop(key, None)
        if event is None:
            return
        self.view = tuple(self._events.values())
        self._on_stopped(event)
