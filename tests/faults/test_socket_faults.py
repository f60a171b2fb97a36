"""Socket faults (issue 4, faults (a), (b), (e)): dropped sockets under load, silent
heartbeats, and a chat that ended while the socket was down."""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import pytest

from connect_chat import ChatSession, GlobalConfig, Message, MessageReceipts
from connect_chat.config import Features
from tests.conftest import Recorder, fast, sdk_threads, wait_until
from tests.faults.support import received_ids

#: Fault (a): agent messages, and one socket drop per this many of them.
MESSAGES = 500
DROP_EVERY = 50

pytestmark = pytest.mark.behaviour_matrix(profiles_only=True)


def _quiet(config: GlobalConfig, **changes: Any) -> GlobalConfig:
    """No receipts, so each agent message reaches on_message_received exactly once."""
    return fast(config, features=Features(
        message_receipts=MessageReceipts(should_send_message_receipts=False)), **changes)


def _outages(recorder: Recorder) -> list[str]:
    return [n for n in recorder.names()
            if n in ("on_connection_broken", "on_connection_reestablished")]


def test_500_agent_messages_with_the_socket_dropped_every_50_arrive_once_in_order(
        emu: Any, config: GlobalConfig) -> None:
    """Fault (a)."""
    session = ChatSession(_quiet(config))
    recorder = Recorder(session)
    try:
        details = emu.start_chat()
        cid = details.contact_id
        agent = emu.agent(cid)
        agent.join()
        session.connect(details)
        sent: list[str] = []
        drops = 0
        for n in range(MESSAGES):
            if n % DROP_EVERY == 0:
                # The previous outage is over: this drop starts a new one, held open (no
                # reconnect can succeed) for the next half block of messages.
                recorder.wait("on_connection_reestablished", count=drops, timeout=15)
                wait_until(lambda: emu.websocket_count(cid) == 1, timeout=15)
                emu.faults.http_errors(status=503, rate=1.0,
                                       operations=["CreateParticipantConnection"])
                assert emu.faults.drop_websockets(cid) == 1
                drops += 1
            if n % DROP_EVERY == DROP_EVERY // 2:
                emu.faults.clear()  # the outage ends: reconnect, then gap fill
            sent.append(agent.send_message(f"agent {n}"))
        wait_until(lambda: received_ids(recorder)[-1:] == sent[-1:], timeout=30,
                   what="the last agent message")
        recorder.wait("on_connection_reestablished", count=drops, timeout=15)
        assert drops == MESSAGES // DROP_EVERY
        assert received_ids(recorder) == sent  # all 500, once each, in order
        assert [a[0].text for a in recorder.args("on_message_received")
                if isinstance(a[0], Message) and a[0].participant == "AGENT"] == [
            f"agent {n}" for n in range(MESSAGES)]
        shown = [i.id for i in session.transcript
                 if isinstance(i, Message) and i.participant == "AGENT"]
        assert shown == sent
        assert _outages(recorder) == ["on_connection_broken",
                                      "on_connection_reestablished"] * drops
        refused = [c for c in emu.calls("CreateParticipantConnection", cid) if c.status != 200]
        assert len(emu.calls("CreateParticipantConnection", cid)) - len(refused) == 1 + drops
        # Exact: each reconnect runs its catch-up before any frame of the new socket is
        # passed on, so the last message cannot arrive before the last catch-up (a frame
        # proving an unanswered subscription used to: 9 catch-ups seen for 10 drops).
        fills = [c for c in emu.calls("GetTranscript", cid)
                 if c.body.get("ScanDirection") == "BACKWARD" and c.body.get("MaxResults") == 100]
        assert len(fills) >= drops  # each outage's messages came from GetTranscript
        assert session.stats.gap_fills == drops
        assert session.is_chat_session_active()
    finally:
        session.reset()


def test_silent_heartbeats_replace_the_socket_within_two_intervals_and_lose_nothing(
        emu: Any, config: GlobalConfig) -> None:
    """Fault (b): a half-open socket (no heartbeat or ping replies, no close)."""
    interval = 0.5
    margin = 1.0  # scheduling on a loaded machine: poll interval, thread wake-ups
    session = ChatSession(_quiet(config, heartbeat_interval=interval))
    recorder = Recorder(session)
    broken_at: list[float] = []
    try:
        details = emu.start_chat()
        cid = details.contact_id
        agent = emu.agent(cid)
        agent.join()
        session.connect(details)
        sent = [agent.send_message("before")]
        session.wait_for(lambda i: i.id == sent[0], timeout=5)

        def broken() -> None:
            broken_at.append(time.monotonic())

        session.on_connection_broken = broken
        silenced_at = time.monotonic()
        emu.faults.silence_heartbeats(seconds=2 * interval, contact_id=cid)
        sent.append(agent.send_message("during the silence"))  # still flows on the socket
        wait_until(lambda: broken_at, timeout=10, what="the dead socket to be noticed")
        assert broken_at[0] - silenced_at <= 2 * interval + margin
        recorder.wait("on_deep_heartbeat_failure")
        recorder.wait("on_connection_reestablished")
        sent.append(agent.send_message("right after"))
        wait_until(lambda: not emu.faults.heartbeats_silenced(cid))
        wait_until(lambda: len(broken_at) == recorder.count("on_connection_reestablished"),
                   timeout=10, what="the last replacement")
        sent.append(agent.send_message("after"))
        wait_until(lambda: received_ids(recorder)[-1:] == sent[-1:], timeout=10)
        assert received_ids(recorder) == sent
        names = [n for n in recorder.names() if n == "on_connection_reestablished"]
        assert len(names) == len(broken_at) >= 1
        assert len(emu.calls("CreateParticipantConnection", cid)) == 1 + len(broken_at)
        wait_until(lambda: emu.websocket_count(cid) == 1)
        assert session.is_chat_session_active()
    finally:
        session.reset()


def test_chat_ended_while_disconnected_ends_the_session_without_a_reconnect_loop(
        emu: Any, config: GlobalConfig) -> None:
    """Fault (e): the socket is down and reconnecting when the chat ends."""
    session = ChatSession(_quiet(config))
    recorder = Recorder(session)
    try:
        details = emu.start_chat()
        cid = details.contact_id
        session.connect(details)
        broken = threading.Event()
        session.on_connection_broken = broken.set
        emu.faults.http_errors(status=503, rate=1.0, operations=["CreateParticipantConnection"])
        emu.faults.drop_websockets(cid)
        assert broken.wait(5)
        wait_until(lambda: len(emu.calls("CreateParticipantConnection", cid)) >= 3,
                   what="the reconnect loop to be running")
        emu.end_chat(cid)
        emu.faults.clear()
        recorder.wait("on_chat_ended", timeout=10)
        wait_until(lambda: sdk_threads() == [], what="the session's threads to stop")
        calls = emu.calls("CreateParticipantConnection", cid)
        assert [c.status for c in calls if c.status != 503] == [200, 403]  # connect, the end
        assert calls[-1].status == 403  # nothing after the refusal
        assert recorder.count("on_chat_ended") == 1
        assert recorder.count("on_connection_reestablished") == 0
        ended = [i for i in session.transcript if i.id == "chat-ended-event"]
        assert len(ended) == 1
        assert not session.is_chat_session_active()
        session.disconnect()
        assert recorder.count("on_chat_ended") == 1
        assert len(emu.calls("CreateParticipantConnection", cid)) == len(calls)
    finally:
        session.reset()


def test_reconnects_alternate_broken_and_reestablished_across_many_outages(
        emu: Any, config: GlobalConfig) -> None:
    """Point 2: one broken and one reestablished per outage, even for long outages."""
    session = ChatSession(_quiet(config))
    recorder = Recorder(session)
    try:
        details = emu.start_chat()
        cid = details.contact_id
        session.connect(details)
        for round_ in range(1, 4):
            emu.faults.http_errors(status=503, count=3 * round_,
                                   operations=["CreateParticipantConnection"])
            emu.faults.drop_websockets(cid)
            recorder.wait("on_connection_reestablished", count=round_, timeout=10)
            wait_until(lambda: emu.websocket_count(cid) == 1)
        assert _outages(recorder) == ["on_connection_broken",
                                      "on_connection_reestablished"] * 3
        statuses = [c.status for c in emu.calls("CreateParticipantConnection", cid)]
        assert statuses.count(503) == 3 + 6 + 9 and statuses.count(200) == 1 + 3
        assert all(a != b for a, b in itertools.pairwise(_outages(recorder)))
    finally:
        session.reset()
