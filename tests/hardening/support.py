"""Helpers of the hardening tests: deadlines that fail instead of hanging, log capture, fds."""

from __future__ import annotations

import logging
import os
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from hypothesis import HealthCheck, settings

#: Deterministic hypothesis settings: the same examples on every run, no per-example deadline
#: (a loaded 2-core CI box must not turn a slow example into a failure).
FUZZ = settings(
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def fuzz(max_examples: int) -> settings:
    """:data:`FUZZ` with a number of examples chosen per test (seconds, not minutes)."""
    return settings(FUZZ, max_examples=max_examples)


def returns_within(fn: Callable[[], Any], seconds: float, what: str) -> Any:
    """Run ``fn`` on a helper thread; fail if it has not returned after ``seconds``.

    A hang fails the test (instead of hanging the suite), and the helper thread is a daemon,
    so a stuck call cannot keep the interpreter alive either. Re-raises ``fn``'s exception.
    """
    done = threading.Event()
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            done.set()

    thread = threading.Thread(target=run, name=f"hardening-{what}", daemon=True)
    thread.start()
    if not done.wait(seconds):
        frames = sys._current_frames()
        stacks = "".join(
            f"\n--- {t.name}\n" + "".join(traceback.format_stack(frames[t.ident]))
            for t in threading.enumerate()
            if t.ident in frames
        )
        raise AssertionError(f"{what} did not return within {seconds} s{stacks}")
    thread.join(1.0)
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def open_fds() -> set[str]:
    """The open file descriptors of this process, as ``fd -> target`` strings."""
    found = set()
    for name in os.listdir("/proc/self/fd"):
        try:
            found.add(f"{name}->{os.readlink(f'/proc/self/fd/{name}')}")
        except OSError:  # the fd listing the directory itself, closed meanwhile
            continue
    return found


def fd_count() -> int:
    return len(open_fds())


class Capture(logging.Handler):
    """Keeps every record emitted on a logger tree, formatted the way a handler would."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.records: list[logging.LogRecord] = []
        self._lock2 = threading.Lock()
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        # format now: args may be mutable objects that change later
        text = self.format(record)
        with self._lock2:
            self.records.append(record)
            record.captured_text = text  # type: ignore[attr-defined]

    def texts(self) -> list[str]:
        with self._lock2:
            return [getattr(r, "captured_text", r.getMessage()) for r in self.records]

    def matching(self, name_prefix: str = "", level: int = logging.NOTSET,
                 contains: str = "") -> list[logging.LogRecord]:
        with self._lock2:
            return [
                r for r in self.records
                if r.name.startswith(name_prefix) and r.levelno >= level
                and contains in getattr(r, "captured_text", r.getMessage())
            ]


@contextmanager
def capture_logs(name: str = "connect_chat", level: int = logging.DEBUG) -> Iterator[Capture]:
    """Capture every record of the ``name`` logger tree at ``level`` and above."""
    logger = logging.getLogger(name)
    handler = Capture()
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
