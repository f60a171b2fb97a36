"""A callback after a delay, cancellable: what bounds a blocking call at its deadline.

Why a module of its own: every REST call, upload and WebSocket open of the SDK arms one
(:mod:`connect_chat.deadlines`), and almost none fires. With plain threads it is a
``threading.Timer`` (a short-lived thread, joined when cancelled, so none outlives the call).
Under gevent (Locust monkey-patches it in) a thread is a greenlet, and starting one per call
was a visible share of a load generator's CPU: there the alarm is a timer of the hub's event
loop (no greenlet until it fires, then one to run the callback, which may block).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

#: Name of the timer thread of an alarm (alive only while a bounded call runs).
TIMER_THREAD_NAME = "connect-chat-deadline"


def gevent_loop() -> Any | None:
    """The gevent hub's loop if gevent has patched ``threading`` in this process, else None."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is None or not monkey.is_module_patched("threading"):
        return None
    import gevent  # type: ignore[import-untyped]

    return gevent.get_hub().loop


class Alarm:
    """Run ``fn()`` once, ``seconds`` from now, unless :meth:`cancel` comes first."""

    def __init__(self, seconds: float, fn: Callable[[], Any]) -> None:
        self._fn = fn
        self._cancelled = False
        self._thread: threading.Timer | None = None
        self._timer: Any = None
        loop = gevent_loop()
        if loop is not None:
            self._timer = loop.timer(max(0.0, seconds))
            # update=True: the loop's idea of "now" is as old as its last iteration (seconds,
            # after a long import); gevent's own Timeout starts its timers the same way.
            self._timer.start(self._fire_in_greenlet, update=True)
        else:
            self._thread = threading.Timer(max(0.0, seconds), fn)
            self._thread.name = TIMER_THREAD_NAME
            self._thread.daemon = True
            self._thread.start()

    def _fire_in_greenlet(self) -> None:
        # The hub runs this: the callback itself (locks, logging) runs in a greenlet of its
        # own, where blocking is allowed.
        import gevent

        gevent.spawn(self._run)

    def _run(self) -> None:
        if not self._cancelled:  # a cancel between the timer and this greenlet wins
            self._fn()

    def cancel(self) -> None:
        """Not after all; with a timer thread, it has ended when this returns."""
        self._cancelled = True
        if self._timer is not None:
            self._timer.stop()
            self._timer.close()
            self._timer = None
        if self._thread is not None:
            self._thread.cancel()
            if self._thread is not threading.current_thread():
                self._thread.join()
