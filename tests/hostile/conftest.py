"""Fixtures of the hostile-server suite: the emulator behind a :class:`HostileServer`."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest

from connect_chat import ChatSession, GlobalConfig
from tests.hostile.server import HostileServer

#: What a bounded call may take past its deadline in these tests: the documented slack
#: (deadlines.DEADLINE_SLACK) plus room for a loaded 2-core CI machine.
SLACK = 1.5


@pytest.fixture
def hostile(emu: Any) -> Iterator[HostileServer]:
    with HostileServer(emu.endpoint_url) as server:
        yield server


@pytest.fixture
def hconfig(hostile: HostileServer) -> GlobalConfig:
    """The SDK pointed at the hostile server, with short deadlines (1-2 s)."""
    return GlobalConfig(
        endpoint_url=hostile.url,
        heartbeat_interval=1.0,
        connect_timeout=2.0,
        reconnect_first_delay=0.0,
        reconnect_backoff_base=0.05,
        reconnect_backoff_cap=0.3,
        join_timeout=2.0,
        socket_poll_interval=0.05,
        send_timeout=1.5,
        send_retry_base=0.05,
        send_retry_cap=0.2,
        request_timeout=1.0,
        transfer_timeout=1.0,
    )


@pytest.fixture
def hsession(hconfig: GlobalConfig) -> Iterator[ChatSession]:
    chat = ChatSession(hconfig)
    try:
        yield chat
    finally:
        chat.reset()


def evolve(config: GlobalConfig, **changes: Any) -> GlobalConfig:
    return attrs.evolve(config, **changes)


@attrs.define
class Outcome:
    value: Any = None
    error: BaseException | None = None
    elapsed: float = 0.0


def returns_within(fn: Callable[[], Any], bound: float, what: str) -> Outcome:
    """Run ``fn`` on a helper thread; fail the test if it has not returned after ``bound``
    seconds (the hostile server's teardown then unblocks it)."""
    outcome = Outcome()
    done = threading.Event()

    def run() -> None:
        start = time.monotonic()
        try:
            outcome.value = fn()
        except BaseException as exc:  # the test inspects it
            outcome.error = exc
        finally:
            outcome.elapsed = time.monotonic() - start
            done.set()

    thread = threading.Thread(target=run, name="hostile-test-call", daemon=True)
    thread.start()
    if not done.wait(bound):
        pytest.fail(f"{what}: still blocked after {bound:.1f} s")
    return outcome


def start_call(fn: Callable[[], Any]) -> tuple[Outcome, threading.Event]:
    """Start ``fn`` on a helper thread; the event is set when it has returned or raised."""
    outcome = Outcome()
    done = threading.Event()

    def run() -> None:
        start = time.monotonic()
        try:
            outcome.value = fn()
        except BaseException as exc:
            outcome.error = exc
        finally:
            outcome.elapsed = time.monotonic() - start
            done.set()

    threading.Thread(target=run, name="hostile-test-call", daemon=True).start()
    return outcome, done
