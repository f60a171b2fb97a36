"""``deadlines.SocketGuard``: the socket of an open in progress is shut down at the deadline
or at a trip (a stop), and nothing polls meanwhile."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from connect_chat.deadlines import TIMER_THREAD_NAME, guard_socket


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def _blocked_recv(sock: socket.socket) -> tuple[threading.Thread, list[bytes]]:
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(sock.recv(10)), daemon=True)
    reader.start()
    return reader, got


def test_the_socket_is_shut_at_the_deadline(pair: tuple[socket.socket, socket.socket]) -> None:
    a, _ = pair
    with guard_socket(lambda: a, time.monotonic() + 0.2):
        reader, got = _blocked_recv(a)
        reader.join(10)
    assert got == [b""], "recv was not woken by the deadline"


def test_a_stop_shuts_the_socket_at_once(pair: tuple[socket.socket, socket.socket]) -> None:
    a, _ = pair
    started = time.monotonic()
    with guard_socket(lambda: a, time.monotonic() + 60) as guard:
        reader, got = _blocked_recv(a)
        guard.trip()
        reader.join(10)
    assert got == [b""]
    assert time.monotonic() - started < 30, "the stop waited for the deadline"


def test_a_stop_before_the_socket_exists_shuts_it_when_it_appears(
        pair: tuple[socket.socket, socket.socket]) -> None:
    a, _ = pair
    made: list[socket.socket] = []
    with guard_socket(lambda: made[0] if made else None, time.monotonic() + 60) as guard:
        guard.trip()
        made.append(a)  # the library made its socket only now
        reader, got = _blocked_recv(a)
        reader.join(10)
    assert got == [b""]


def test_nothing_polls_while_nothing_happens() -> None:
    """Before, a helper thread asked for the socket (and the stop flag) 20 times a second
    during every open: with thousands of opens in flight (a Locust ramp-up), a visible share
    of the CPU. Now the guard only looks at a trip or at the deadline."""
    asked = 0

    def get_socket() -> None:
        nonlocal asked
        asked += 1

    quiet = threading.Event()
    with guard_socket(get_socket, time.monotonic() + 60):
        quiet.wait(0.5)
    assert asked == 0, f"the socket was looked for {asked} times in 0.5 s"


def test_no_helper_thread_outlives_the_open() -> None:
    made: list[socket.socket] = []
    with guard_socket(lambda: made[0] if made else None, time.monotonic() + 60) as guard:
        guard.trip()  # before the socket exists: a helper looks for it
    assert not [t for t in threading.enumerate() if t.name == TIMER_THREAD_NAME]
