"""Slow callbacks never stall the socket thread; the bounded inbox overflows explicitly.

Issue 8, point 5. The socket thread only reads frames and queues them: a callback that takes
1 s per item delays nothing but later callbacks; heartbeats keep going out and being
answered (no false reconnect), and every item is delivered, in order.

Overflow policy of the inbox (``GlobalConfig.inbox_size``): a live frame that finds the
inbox full is not queued -- the socket thread never blocks on a slow program -- and is
counted in ``ChatSession.stats.inbox_overflows`` with a WARNING; once the dispatcher has
caught up it fetches what it missed with GetTranscript (the same gap fill as after a
reconnect), so no chat item is lost and none is delivered twice. The pull API's per-stream
queue (``pull_queue_size``) drops its oldest items instead, counting them in ``dropped``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import websocket

from connect_chat import ChatSession, GlobalConfig, Message
from connect_chat.protocol import HEARTBEAT_FRAME
from tests.conftest import Recorder, connected_session, fast, wait_until
from tests.hardening.support import capture_logs


class SentFrames:
    """Records what the SDK's socket sends (wraps ``websocket.create_connection``)."""

    def __init__(self) -> None:
        self.sent: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    def heartbeats(self, since: float = 0.0, until: float = float("inf")) -> int:
        with self._lock:
            return sum(1 for at, text in self.sent
                       if text == HEARTBEAT_FRAME and since <= at <= until)

    def record(self, text: Any) -> None:
        with self._lock:
            self.sent.append((time.monotonic(), text))


@pytest.fixture
def sent_frames(monkeypatch: pytest.MonkeyPatch) -> Iterator[SentFrames]:
    frames = SentFrames()
    real = websocket.create_connection

    def create_connection(*args: Any, **kwargs: Any) -> Any:
        ws = real(*args, **kwargs)
        real_send = ws.send

        def send(payload: Any, *a: Any, **kw: Any) -> Any:
            frames.record(payload)
            return real_send(payload, *a, **kw)

        ws.send = send
        return ws

    monkeypatch.setattr(websocket, "create_connection", create_connection)
    yield frames


def _agent_texts(items: list[Any]) -> list[str]:
    return [i.text for i in items if isinstance(i, Message) and i.participant == "AGENT"]


def test_one_second_callbacks_do_not_block_heartbeats_or_lose_items(
        emu: Any, config: GlobalConfig, sent_frames: SentFrames) -> None:
    slow: list[tuple[float, float, str]] = []

    def on_message(item: Any) -> None:
        if isinstance(item, Message) and item.participant == "AGENT":
            start = time.monotonic()
            time.sleep(1.0)  # the slow program under test
            slow.append((start, time.monotonic(), item.text))

    with connected_session(
            emu, fast(config, heartbeat_interval=0.2, socket_poll_interval=0.05),
            details=emu.start_chat(display_name="Ann"), record=True) as chat:
        session, details, agent, recorder = chat.session, chat.details, chat.agent, chat.recorder
        session.on_message_received = on_message
        agent.join(display_name="Sam")
        texts = [f"slow {n}" for n in range(3)]
        for text in texts:
            agent.send_message(text)
        wait_until(lambda: len(slow) == 3, timeout=20, what="three slow callbacks")
        assert [text for _, _, text in slow] == texts, "items lost or reordered"
        busy_from, busy_to = slow[0][0], slow[-1][1]
        assert sent_frames.heartbeats(busy_from, busy_to) >= 3, "heartbeats stalled"
        assert recorder.count("on_connection_broken") == 0, "a false reconnect"
        assert len(emu.calls("CreateParticipantConnection", details.contact_id)) == 1
        assert emu.websocket_count(details.contact_id) == 1
        assert session.is_chat_session_active()


def test_inbox_overflow_never_blocks_the_socket_and_loses_nothing(
        emu: Any, config: GlobalConfig, sent_frames: SentFrames) -> None:
    session = ChatSession(fast(config, heartbeat_interval=0.2, socket_poll_interval=0.05,
                               inbox_size=16))
    recorder = Recorder(session)
    gate, blocked = threading.Event(), threading.Event()
    delivered: list[Any] = []
    replies: list[Any] = []

    def on_message(item: Any) -> None:
        if not (isinstance(item, Message) and item.participant == "AGENT"):
            return
        delivered.append(item)
        if item.text == "burst 0":
            blocked.set()
            assert gate.wait(30)
            # still on the dispatcher thread, with the inbox full: must not deadlock
            replies.append(session.send_message("text/plain", "reply from a callback"))

    details = emu.start_chat(display_name="Ann")
    agent = emu.agent(details.contact_id)
    try:
        with capture_logs() as logs:
            session.connect(details)
            session.on_message_received = on_message
            agent.join(display_name="Sam")
            texts = [f"burst {n}" for n in range(60)]
            agent.send_message(texts[0])
            assert blocked.wait(10)
            for text in texts[1:]:
                agent.send_message(text)
            wait_until(lambda: session.stats.inbox_overflows > 0, timeout=10,
                       what="the inbox to overflow")
            mark = time.monotonic()
            wait_until(lambda: sent_frames.heartbeats(since=mark) >= 5, timeout=10,
                       what="heartbeats while the inbox is full")
            assert recorder.count("on_connection_broken") == 0
            gate.set()
            wait_until(lambda: len(delivered) >= len(texts) and replies, timeout=20,
                       what="every burst item delivered")
            wait_until(lambda: set(texts) <= set(_agent_texts(list(session.transcript))),
                       timeout=10, what="every burst item in the transcript")
        assert [i.text for i in delivered] == texts, "each item exactly once, in order"
        assert recorder.count("on_connection_broken") == 0
        assert len(emu.calls("CreateParticipantConnection", details.contact_id)) == 1
        overflow_logs = logs.matching("connect_chat", contains="inbox")
        assert overflow_logs and all(r.levelname == "WARNING" for r in overflow_logs)
        assert len(overflow_logs) < session.stats.inbox_overflows + 1
    finally:
        gate.set()
        session.reset()


def test_pull_stream_drops_oldest_beyond_its_size(emu: Any, config: GlobalConfig) -> None:
    with connected_session(emu, fast(config, pull_queue_size=5),
                           details=emu.start_chat(display_name="Ann")) as chat:
        session, agent = chat.session, chat.agent
        agent.join(display_name="Sam")
        with session.messages(timeout=0.5) as stream:
            texts = [f"pull {n}" for n in range(12)]
            for text in texts:
                agent.send_message(text)
            wait_until(lambda: set(texts) <= set(_agent_texts(list(session.transcript))))
            wait_until(lambda: stream.dropped >= 7, what="the stream to drop old items")
            kept = _agent_texts(list(stream))
        assert kept == texts[-len(kept):] and len(kept) <= 5


def test_an_overflow_of_four_thousand_messages_loses_none(emu: Any, config: GlobalConfig) -> None:
    """Issue 16, item 1: with an inbox of 64, 4,001 messages sent during a blocked callback.
    Before, the catch-up started from the last item handled (behind the queued ones) and
    stopped at 100 pages of 30: 1,000 were never delivered and one was delivered twice."""
    session = ChatSession(fast(config, inbox_size=64))
    gate, blocked = threading.Event(), threading.Event()
    delivered: list[str] = []

    def on_message(item: Any) -> None:
        if not (isinstance(item, Message) and item.participant == "AGENT"):
            return
        delivered.append(item.id)
        if len(delivered) == 1:
            blocked.set()
            assert gate.wait(60)

    details = emu.start_chat(display_name="Ann")
    agent = emu.agent(details.contact_id)
    try:
        session.connect(details)
        session.on_message_received = on_message
        agent.join(display_name="Sam")
        sent = [agent.send_message("burst 0")]
        assert blocked.wait(10)
        sent += [agent.send_message(f"burst {n}") for n in range(1, 4001)]
        wait_until(lambda: session.stats.inbox_overflows > 0, what="the inbox to overflow")
        gate.set()
        wait_until(lambda: len(delivered) >= len(sent), timeout=60,
                   what="every message delivered")
        assert delivered == sent  # each exactly once, in order
        held = {i.id for i in session.transcript}
        assert set(sent) <= held
        assert session.stats.gap_fills >= 1 and session.stats.gap_fills_truncated == 0
    finally:
        gate.set()
        session.reset()
