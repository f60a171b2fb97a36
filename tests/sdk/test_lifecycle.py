"""disconnect / reset / context manager / thread hygiene / pull API."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from connect_chat import ChatSession, ContentType, GlobalConfig, Message
from connect_chat.errors import SessionClosedError
from tests.conftest import connected_session, fast, sdk_threads, wait_until


def test_disconnect_leaves_the_chat_and_ends_once(emu: Any) -> None:
    with connected_session(emu, record=True) as chat:
        session, details, recorder = chat.session, chat.details, chat.recorder
        session.disconnect()
        assert recorder.count("on_chat_ended") == 1
        assert len(emu.calls("DisconnectParticipant", details.contact_id)) == 1
        assert not session.is_chat_session_active()
        assert sdk_threads() == []
        session.disconnect()
        session.disconnect()
        assert recorder.count("on_chat_ended") == 1
        assert len(emu.calls("DisconnectParticipant", details.contact_id)) == 1
        assert len(session.transcript) >= 1  # still readable after the end
        with pytest.raises(SessionClosedError):
            session.send_message(ContentType.PLAIN_TEXT, "too late")


def test_disconnect_from_another_thread_while_callbacks_run(emu: Any) -> None:
    entered, release = threading.Event(), threading.Event()

    def slow(item: Any) -> None:
        if isinstance(item, Message) and item.text == "slow":
            entered.set()
            release.wait(5)
            session.send_event(ContentType.TYPING)  # calls back in while disconnect waits

    with connected_session(emu, agent_joins=True, on_message_received=slow) as chat:
        session, agent = chat.session, chat.agent
        agent.send_message("slow")
        assert entered.wait(5)
        worker = threading.Thread(target=session.disconnect)
        worker.start()
        release.set()
        worker.join(5)
        assert not worker.is_alive()
        wait_until(lambda: sdk_threads() == [], what="threads to stop")


def test_reset_drops_state_without_leaving(emu: Any) -> None:
    with connected_session(emu, record=True) as chat:
        session, details, recorder = chat.session, chat.details, chat.recorder
        session.send_message(ContentType.PLAIN_TEXT, "hello")
        session.reset()
        session.reset()
        assert sdk_threads() == []
        assert len(session.transcript) == 0
        assert not session.is_chat_session_active()
        assert session.get_connection_details_provider().get_connection_details() is None
        assert emu.calls("DisconnectParticipant", details.contact_id) == []
        assert recorder.count("on_chat_ended") == 0
        assert emu.contact(details.contact_id)["State"] == "ACTIVE"
        session.connect(details)  # the participant is still in the chat
        assert any(isinstance(i, Message) and i.text == "hello" for i in session.transcript)


def test_context_manager_leaves_no_thread(emu: Any, config: GlobalConfig) -> None:
    before = set(threading.enumerate())
    details = emu.start_chat()
    with ChatSession(config) as session:
        session.connect(details)
        assert len(sdk_threads()) == 2
    assert sdk_threads() == []
    assert set(threading.enumerate()) == before
    assert len(emu.calls("DisconnectParticipant", details.contact_id)) == 1


def test_fifty_connect_disconnect_cycles_leave_threads_as_they_were(
        emu: Any, config: GlobalConfig) -> None:
    before = {t.ident for t in threading.enumerate()}
    session = ChatSession(config)
    for _ in range(50):
        session.connect(emu.start_chat())
        session.disconnect()
    assert {t.ident for t in threading.enumerate()} == before


def test_pull_api_iterates_items_and_stops_at_the_end(emu: Any) -> None:
    with connected_session(emu, agent_joins=True) as chat:
        session, details, agent = chat.session, chat.details, chat.agent
        with session.messages(timeout=5) as stream:
            sent = [agent.send_message(f"m{i}") for i in range(3)]
            got: list[str] = []
            for item in stream:
                if item.id in sent:
                    got.append(item.id)
                if len(got) == 3:
                    break
            assert got == sent
        idle = session.messages(timeout=0.2)
        assert list(idle) == [] and not idle.ended  # idle for 0.2 s: the chat goes on
        stream = session.messages(timeout=5)
        emu.end_chat(details.contact_id)
        items = list(stream)  # ends when the chat ends, not after the timeout
        assert any(i.content_type == ContentType.ENDED.value for i in items)
        assert stream.ended  # ... and says so (issue 14, item 6)
        list(idle)  # what came meanwhile (the end events), then the end
        assert idle.ended


def test_wait_for_finds_existing_and_future_items(emu: Any) -> None:
    with connected_session(emu, agent_joins=True, connect=False) as chat:
        session, details, agent = chat.session, chat.details, chat.agent
        early = agent.send_message("before connect")
        session.connect(details)
        assert session.wait_for(lambda i: i.id == early, timeout=1).id == early
        with pytest.raises(TimeoutError):
            session.wait_for(lambda i: i.id == early, timeout=0.2, include_existing=False)
        later = threading.Timer(0.1, lambda: agent.send_message("later"))
        later.start()
        item = session.wait_for(lambda i: isinstance(i, Message) and i.text == "later", timeout=5)
        later.join()
        assert isinstance(item, Message) and item.participant == "AGENT"


def test_disconnect_ends_locally_when_the_service_fails(emu: Any, config: GlobalConfig,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    from botocore.config import Config

    with connected_session(emu, fast(config, botocore_config=Config(
            retries={"mode": "standard", "total_max_attempts": 1})), record=True) as chat:
        session, details, recorder = chat.session, chat.details, chat.recorder
        emu.faults.http_errors(status=500, rate=1.0, operations=["DisconnectParticipant"])
        assert session.disconnect() is False
        assert "DisconnectParticipant failed" in caplog.text
        assert recorder.count("on_chat_ended") == 1
        assert sdk_threads() == [] and not session.is_chat_session_active()
        assert session.disconnect() is True  # idempotent, nothing more to do
        assert len(emu.calls("DisconnectParticipant", details.contact_id)) == 1


def test_a_session_dropped_without_closing_lets_its_threads_go(
        emu: Any, config: GlobalConfig, caplog: pytest.LogCaptureFixture) -> None:
    """Issue 14, item 5: re-running a notebook cell that builds a session left the old one's
    two threads running for good. A dropped session is reset by its finalizer."""
    import gc
    import logging

    details = emu.start_chat()
    session = ChatSession(config)
    session.on_message_received = lambda item: None
    session.connect(details)
    label = details.contact_id
    assert any(label in t.name for t in sdk_threads())
    caplog.set_level(logging.DEBUG, logger="connect_chat")
    del session
    gc.collect()
    wait_until(lambda: not any(label in t.name for t in sdk_threads()),
               what="the dropped session's threads to end")
    assert "dropped without disconnect() or reset()" in caplog.text
    wait_until(lambda: emu.websocket_count(label) == 0, what="its WebSocket to close")
