"""Backoff: exponential delays with a cap and jitter, for the reconnect loop and the outbox.

Only the delays are computed here; the callers wait them out on a ``threading.Event``
(``disconnect()`` and ``suspend`` set it), so every backoff wait can be interrupted.
"""

from __future__ import annotations

import random

from connect_chat.errors import InvalidInputError

__all__ = ["Backoff"]


class Backoff:
    """Exponential backoff with a cap and jitter; the first retry is quick.

    Delays: ``first_delay`` for attempt 1, then ``base``, ``base*factor``, ... capped at
    ``cap``. Each of those is jittered down by up to ``jitter`` of itself (``jitter=1`` is
    "full jitter", uniform in ``[0, d]``; ``0`` is none), so a fleet of clients that lost the
    same server does not reconnect in lock-step; the cap is never exceeded.
    """

    def __init__(
        self,
        base: float = 0.5,
        factor: float = 2.0,
        cap: float = 30.0,
        jitter: float = 0.5,
        first_delay: float = 0.0,
        rng: random.Random | None = None,
    ) -> None:
        if not base > 0:
            raise InvalidInputError(f"base must be > 0, got {base!r}")
        if not factor >= 1:
            raise InvalidInputError(f"factor must be >= 1, got {factor!r}")
        if not cap >= base:
            raise InvalidInputError(f"cap must be >= base, got cap={cap!r} base={base!r}")
        if not 0 <= jitter <= 1:
            raise InvalidInputError(f"jitter must be within [0, 1], got {jitter!r}")
        if not 0 <= first_delay <= cap:
            raise InvalidInputError(f"first_delay must be within [0, cap], got {first_delay!r}")
        self.base = float(base)
        self.factor = float(factor)
        self.cap = float(cap)
        self.jitter = float(jitter)
        self.first_delay = float(first_delay)
        self._rng = rng if rng is not None else random.Random()
        self._attempts = 0
        self._current = self.base

    def next_delay(self) -> float:
        """The delay before the next attempt, in seconds."""
        self._attempts += 1
        if self._attempts == 1:
            return self.first_delay
        nominal = self._current
        self._current = min(self.cap, self._current * self.factor)
        return nominal * (1.0 - self.jitter * self._rng.random())

    def reset(self) -> None:
        """Back to the first (quick) delay, after a success."""
        self._attempts = 0
        self._current = self.base
