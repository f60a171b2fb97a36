"""``deadlines.guard_socket``: the socket of an open in progress is shut down at the deadline
or at a stop, and the helper sleeps meanwhile (no polling while nothing happens)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from connect_chat.deadlines import guard_socket


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
    with guard_socket(lambda: a, time.monotonic() + 0.2, lambda: False):
        reader, got = _blocked_recv(a)
        reader.join(10)
    assert got == [b""], "recv was not woken by the deadline"


def test_a_stop_shuts_the_socket_at_once(pair: tuple[socket.socket, socket.socket]) -> None:
    a, _ = pair
    stop = False
    started = time.monotonic()
    with guard_socket(lambda: a, time.monotonic() + 60, lambda: stop) as alarm:
        reader, got = _blocked_recv(a)
        stop = True
        alarm.set()
        reader.join(10)
    assert got == [b""]
    assert time.monotonic() - started < 30, "the stop waited for the deadline"


def test_a_stop_before_the_socket_exists_shuts_it_when_it_appears(
        pair: tuple[socket.socket, socket.socket]) -> None:
    a, _ = pair
    made: list[socket.socket] = []
    with guard_socket(lambda: made[0] if made else None, time.monotonic() + 60,
                      lambda: True) as alarm:
        alarm.set()
        made.append(a)  # the library made its socket only now
        reader, got = _blocked_recv(a)
        reader.join(10)
    assert got == [b""]


def test_the_helper_sleeps_while_nothing_happens() -> None:
    """Before, it asked ``should_stop`` 20 times a second during every open: with thousands of
    opens in flight (a Locust ramp-up), a visible share of the CPU."""
    asked = 0

    def should_stop() -> bool:
        nonlocal asked
        asked += 1
        return False

    quiet = threading.Event()
    with guard_socket(lambda: None, time.monotonic() + 60, should_stop):
        quiet.wait(0.5)
    assert asked <= 1, f"should_stop was polled {asked} times in 0.5 s"
