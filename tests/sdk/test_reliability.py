"""Heartbeats, reconnect loop, gap fill, suspend/resume, chat ended while away."""

from __future__ import annotations

import itertools
import threading
from typing import Any

import pytest

from connect_chat import ContentType, GlobalConfig, Message
from tests.conftest import Recorder, connected_session, fast, sdk_threads, wait_until

pytestmark = pytest.mark.behaviour_matrix


def _agent_ids(recorder: Recorder, text: str) -> list[str]:
    return [a[0].id for a in recorder.args("on_message_received")
            if isinstance(a[0], Message) and a[0].text == text]


def test_dropped_socket_reconnects_with_a_fresh_url_and_fills_the_gap(
        emu: Any) -> None:
    with connected_session(emu, agent_joins=True, record=True) as chat:
        session, details, agent, recorder = chat.session, chat.details, chat.agent, chat.recorder
        first_url = session.get_connection_details_provider().get_connection_details()
        broken = threading.Event()
        session.on_connection_broken = broken.set
        # Keep the outage open: every CreateParticipantConnection fails until we clear it.
        emu.faults.http_errors(status=503, rate=1.0, operations=["CreateParticipantConnection"])
        assert emu.faults.drop_websockets(details.contact_id) == 1
        assert broken.wait(5)
        wait_until(lambda: len(emu.calls("CreateParticipantConnection", details.contact_id)) >= 4,
                   what="reconnect attempts to keep going")
        missed = agent.send_message("while you were away")
        emu.faults.clear()
        recorder.wait("on_connection_reestablished")
        wait_until(lambda: missed in _agent_ids(recorder, "while you were away"))
        assert _agent_ids(recorder, "while you were away") == [missed]
        assert [i.id for i in session.transcript].count(missed) == 1
        assert recorder.count("on_connection_reestablished") == 1
        assert recorder.count("on_chat_ended") == 0
        names = [n for n in recorder.names()
                 if n in ("on_connection_broken", "on_connection_reestablished")]
        assert names == ["on_connection_reestablished"]  # broken went to the Event above
        new_url = session.get_connection_details_provider().get_connection_details()
        assert new_url is not None and first_url is not None
        assert new_url.get_websocket_url() != first_url.get_websocket_url()
        assert session.is_chat_session_active()
        gap = emu.calls("GetTranscript", details.contact_id)[-1]
        # The catch-up anchors on nothing: the newest page, BACKWARD, no start position.
        assert gap.body["ScanDirection"] == "BACKWARD" and "StartPosition" not in gap.body
        # the new socket works
        live = agent.send_message("after")
        session.wait_for(lambda i: i.id == live, timeout=5)
        assert len(sdk_threads()) == 2


def test_one_broken_and_one_reestablished_per_outage(emu: Any) -> None:
    with connected_session(emu, record=True) as chat:
        details, recorder = chat.details, chat.recorder
        for round_ in range(1, 4):
            emu.faults.drop_websockets(details.contact_id)
            recorder.wait("on_connection_reestablished", count=round_)
            wait_until(lambda: emu.websocket_count(details.contact_id) == 1)
        names = [n for n in recorder.names()
                 if n in ("on_connection_broken", "on_connection_reestablished")]
        assert names == ["on_connection_broken", "on_connection_reestablished"] * 3


def test_silent_heartbeats_are_detected_and_the_socket_replaced(
        emu: Any, config: GlobalConfig) -> None:
    with connected_session(emu, fast(config, heartbeat_interval=0.2), record=True) as chat:
        session, details, recorder = chat.session, chat.details, chat.recorder
        emu.faults.silence_heartbeats(seconds=2.0, contact_id=details.contact_id)
        recorder.wait("on_deep_heartbeat_failure")
        recorder.wait("on_connection_broken")
        recorder.wait("on_connection_reestablished")
        wait_until(lambda: not emu.faults.heartbeats_silenced(details.contact_id))
        assert len(emu.calls("CreateParticipantConnection", details.contact_id)) >= 2
        names = [n for n in recorder.names()
                 if n in ("on_connection_broken", "on_connection_reestablished")]
        assert all(a != b for a, b in itertools.pairwise(names))  # strictly alternating
        assert session.is_chat_session_active()


def test_suspend_stops_the_socket_and_resume_reconnects_and_fills_the_gap(
        emu: Any) -> None:
    with connected_session(emu, agent_joins=True, record=True) as chat:
        session, details, agent, recorder = chat.session, chat.details, chat.agent, chat.recorder
        session.suspend_websocket_connection()
        wait_until(lambda: emu.websocket_count(details.contact_id) == 0)
        missed = agent.send_message("sent while suspended")
        assert recorder.count("on_connection_broken") == 0
        session.resume_websocket_connection()
        recorder.wait("on_connection_reestablished")
        wait_until(lambda: missed in _agent_ids(recorder, "sent while suspended"))
        assert _agent_ids(recorder, "sent while suspended") == [missed]
        assert len(emu.calls("CreateParticipantConnection", details.contact_id)) == 2
        assert emu.websocket_count(details.contact_id) == 1


def test_chat_ended_while_suspended_ends_the_session_once(emu: Any) -> None:
    with connected_session(emu, record=True) as chat:
        session, details, recorder = chat.session, chat.details, chat.recorder
        session.suspend_websocket_connection()
        wait_until(lambda: emu.websocket_count(details.contact_id) == 0)
        emu.end_chat(details.contact_id)
        session.resume_websocket_connection()
        recorder.wait("on_chat_ended")
        wait_until(lambda: sdk_threads() == [], what="threads to stop")
        assert recorder.count("on_chat_ended") == 1
        refused = [c for c in emu.calls("CreateParticipantConnection", details.contact_id)
                   if c.status == 403]
        assert len(refused) == 1  # no retry storm
        assert any(i.id == "chat-ended-event" for i in session.transcript)
        assert not session.is_chat_session_active()
        session.disconnect()
        assert recorder.count("on_chat_ended") == 1


def test_send_after_reconnect_uses_the_new_token(emu: Any) -> None:
    with connected_session(emu, record=True) as chat:
        session, details, recorder = chat.session, chat.details, chat.recorder
        emu.faults.drop_websockets(details.contact_id)
        recorder.wait("on_connection_reestablished")
        emu.faults.expire_connection_tokens(details.contact_id)
        emu.faults.drop_websockets(details.contact_id)
        recorder.wait("on_connection_reestablished", count=2)
        sent = session.send_message(ContentType.PLAIN_TEXT, "still here")
        assert any(i.get("Id") == sent.id for i in emu.transcript(details.contact_id))
