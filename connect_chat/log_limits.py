"""Rate-limited warnings: a flood of the same problem writes a bounded number of log lines.

Why: a hostile or broken server can send hundreds of thousands of junk frames; one WARNING
each filled the disk with 300,000 identical lines and cost more than dropping the frames.
:class:`RepeatedWarnings` writes the first ``burst`` warnings of a kind in each ``window``
seconds, counts the rest, and says how many it held back with the next warning it writes
(the exact count is kept elsewhere, e.g. ``SessionStats.bad_frames``). The clock is
injected, so the limits are unit-tested without sleeping.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

__all__ = ["DEFAULT_BURST", "DEFAULT_WINDOW", "RepeatedWarnings"]

#: Warnings of one kind written per window before the rest are only counted.
DEFAULT_BURST = 20
#: Seconds of one window.
DEFAULT_WINDOW = 60.0


class _Kind:
    __slots__ = ("held", "started", "written")

    def __init__(self, started: float) -> None:
        self.started = started
        self.written = 0
        self.held = 0


class RepeatedWarnings:
    """At most ``burst`` WARNING records per kind per ``window`` seconds on ``logger``.

    Thread-safe. A held-back warning is counted; the next one written after the window ends
    carries the count (``"... (N similar warnings suppressed in the last 60 s)"``). At most
    ``max_kinds`` kinds are tracked (the oldest is forgotten), so the state stays bounded.
    """

    def __init__(
        self,
        logger: logging.Logger,
        *,
        burst: int = DEFAULT_BURST,
        window: float = DEFAULT_WINDOW,
        clock: Callable[[], float] = time.monotonic,
        max_kinds: int = 64,
    ) -> None:
        if burst < 1 or window <= 0 or max_kinds < 1:
            raise ValueError("burst and max_kinds must be >= 1 and window > 0")
        self._logger = logger
        self._burst = burst
        self._window = window
        self._clock = clock
        self._max_kinds = max_kinds
        self._kinds: dict[str, _Kind] = {}
        self._lock = threading.Lock()

    def warning(self, kind: str, message: str, *args: object) -> bool:
        """Log ``message % args`` at WARNING unless ``kind`` is over its limit; True if written."""
        with self._lock:
            now = self._clock()
            state = self._kinds.get(kind)
            if state is None:
                if len(self._kinds) >= self._max_kinds:
                    self._kinds.pop(next(iter(self._kinds)))
                state = self._kinds[kind] = _Kind(now)
            held = 0
            if now - state.started >= self._window:
                held, state.held, state.written, state.started = state.held, 0, 0, now
            if state.written >= self._burst:
                state.held += 1
                return False
            state.written += 1
        if held:
            note = f" ({held} similar warnings suppressed in the last {self._window:g} s)"
            self._logger.warning("%s%s", message % args if args else message, note,
                                 stacklevel=2)
        else:
            self._logger.warning(message, *args, stacklevel=2)
        return True

    def suppressed(self, kind: str) -> int:
        """How many warnings of ``kind`` are held back in the current window."""
        with self._lock:
            state = self._kinds.get(kind)
            return state.held if state is not None else 0
