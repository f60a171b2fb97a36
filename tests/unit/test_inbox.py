"""The dispatcher's inbox: bounded for live frames only, FIFO, never blocking a producer."""

from __future__ import annotations

import queue
import threading

import pytest

from connect_chat.inbox import Inbox


def test_live_frames_are_refused_at_the_bound_and_everything_else_is_not() -> None:
    inbox = Inbox(maxsize=3)
    for n in range(3):
        inbox.put_nowait(n)
    with pytest.raises(queue.Full):
        inbox.put_nowait("one live frame too many")
    inbox.put("a connection event")  # never refused, even with the inbox full
    assert inbox.qsize() == 4
    assert [inbox.get() for _ in range(4)] == [0, 1, 2, "a connection event"]
    assert inbox.empty()
    inbox.put_nowait("room again")
    assert inbox.get() == "room again"


def test_an_unbounded_inbox_takes_any_number_of_live_frames() -> None:
    inbox = Inbox()
    for n in range(10_000):
        inbox.put_nowait(n)
    assert inbox.qsize() == 10_000
    assert inbox.get() == 0


def test_get_times_out_with_queue_empty() -> None:
    with pytest.raises(queue.Empty):
        Inbox().get(timeout=0.01)


def test_a_waiting_consumer_gets_an_item_put_by_another_thread() -> None:
    inbox = Inbox(maxsize=1)
    got: list[object] = []
    done = threading.Event()

    def consume() -> None:
        got.append(inbox.get(timeout=10.0))
        done.set()

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    inbox.put_nowait("frame")
    assert done.wait(10.0)
    consumer.join(10.0)
    assert got == ["frame"]
