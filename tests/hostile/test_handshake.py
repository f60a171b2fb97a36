"""A trickling WebSocket upgrade leaves no thread behind (issue 16, item 7).

Before, ``create_connection`` read the upgrade answer with a per-read timeout only, and
``stop()`` could not reach its socket: each ``connect()`` attempt against a server trickling
the answer left its socket thread alive (30 s later and more).
"""

from __future__ import annotations

import threading
from typing import Any

from connect_chat import ChatSession, GlobalConfig
from connect_chat.deadlines import TIMER_THREAD_NAME
from connect_chat.errors import ConnectionTimeoutError
from tests.conftest import wait_until
from tests.hostile.conftest import SLACK, evolve, returns_within
from tests.hostile.server import WEBSOCKET, HostileServer, trickle


def _sdk_thread_names() -> list[str]:
    return [t.name for t in threading.enumerate()
            if t.name.startswith(("connect-chat-ws-", "connect-chat-dispatch-"))
            or t.name == TIMER_THREAD_NAME]


def test_connect_against_a_trickling_upgrade_times_out_and_leaves_no_thread(
        emu: Any, hostile: HostileServer, hconfig: GlobalConfig) -> None:
    hostile.set(WEBSOCKET, trickle(0.5))
    for attempt in range(3):
        session = ChatSession(evolve(hconfig, connect_timeout=1.5))
        details = emu.start_chat(display_name=f"attempt {attempt}")
        outcome = returns_within(lambda: session.connect(details), 1.5 + SLACK,  # noqa: B023
                                 "connect() against a trickling WebSocket upgrade")
        assert isinstance(outcome.error, ConnectionTimeoutError), outcome.error
        wait_until(lambda: not _sdk_thread_names(), timeout=3,
                   what="the socket thread of the attempt to end")
    assert hostile.requests[WEBSOCKET] >= 3


def test_the_upgrade_is_bounded_by_connect_timeout_inside_the_socket_thread(
        emu: Any, hostile: HostileServer, hconfig: GlobalConfig) -> None:
    """The socket thread's own bound (``connect_timeout`` per open): with connect()'s wait
    longer than it, the thread gives up the trickled upgrade and tries a fresh one."""
    hostile.set(WEBSOCKET, trickle(0.5))
    session = ChatSession(evolve(hconfig, connect_timeout=1.0))
    try:
        details = emu.start_chat(display_name="Ann")
        outcome = returns_within(lambda: session.connect(details, timeout=3.5), 3.5 + SLACK,
                                 "connect(timeout=3.5)")
        assert isinstance(outcome.error, ConnectionTimeoutError), outcome.error
        assert hostile.requests[WEBSOCKET] >= 2, "the first upgrade was never given up"
    finally:
        session.reset()
    wait_until(lambda: not _sdk_thread_names(), timeout=3, what="the threads to end")
