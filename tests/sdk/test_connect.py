"""connect(): CreateParticipantConnection, subscribed socket, first history page."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from connect_chat import (
    ChatDetails,
    ChatSession,
    ConnectionDetails,
    GlobalConfig,
    Message,
)
from connect_chat.errors import (
    AccessDeniedError,
    ChatEndedError,
    ConnectChatError,
    EndpointUnreachableError,
    InvalidInputError,
    ParticipantTokenRefusedError,
)
from tests.conftest import connected_session, sdk_threads


def test_connect_subscribes_and_exposes_connection_details(emu: Any) -> None:
    with connected_session(emu, details=emu.start_chat(display_name="Ann"), connect=False) as chat:
        session, details = chat.session, chat.details
        assert not session.is_chat_session_active()
        session.connect(details)
        assert session.is_chat_session_active()
        assert emu.websocket_count(details.contact_id) == 1
        call = emu.calls("CreateParticipantConnection", details.contact_id)[0]
        assert sorted(call.body["Type"]) == ["CONNECTION_CREDENTIALS", "WEBSOCKET"]
        provider = session.get_connection_details_provider()
        assert provider.get_chat_details() == details
        conn = provider.get_connection_details()
        assert isinstance(conn, ConnectionDetails)
        assert conn.get_websocket_url() and conn.get_websocket_url().startswith("ws://127.0.0.1:")
        assert conn.get_connection_token()
        expiry = conn.get_expiry()
        assert isinstance(expiry, datetime.datetime)
        assert expiry > datetime.datetime.now(datetime.timezone.utc)
        assert conn.get_connection_token() not in repr(conn)
        assert sorted(t.name for t in sdk_threads()) == [
            f"connect-chat-dispatch-{details.contact_id}", f"connect-chat-ws-{details.contact_id}"
        ]


def test_first_history_page_is_loaded_without_live_callbacks(emu: Any) -> None:
    with connected_session(
            emu, details=emu.start_chat(display_name="Ann"), agent_joins="Sam",
            record=True, connect=False) as chat:
        session, details, agent, recorder = chat.session, chat.details, chat.agent, chat.recorder
        ids = [agent.send_message(f"earlier {i}") for i in range(3)]
        session.connect(details)
        transcript_ids = [item.id for item in session.transcript]
        assert all(i in transcript_ids for i in ids)
        positions = [transcript_ids.index(i) for i in ids]
        assert positions == sorted(positions)
        history = [item for item in session.transcript if isinstance(item, Message)]
        assert all(item.is_from_history for item in history)
        received = [a[0].id for a in recorder.args("on_message_received")]
        assert not set(ids) & set(received)
        assert recorder.count("on_connection_established") == 1
        update = recorder.wait("on_transcript_updated")[-1][0]
        assert [i.id for i in update.transcript_list] == transcript_ids
        call = emu.calls("GetTranscript", details.contact_id)[0]
        assert call.body["ScanDirection"] == "BACKWARD"


def test_connect_with_a_bad_token_raises_access_denied(session: ChatSession) -> None:
    with pytest.raises(AccessDeniedError) as caught:
        session.connect(ChatDetails(participant_token="not-a-token"))
    assert caught.value.code == "AccessDeniedException" and caught.value.status == 403
    assert isinstance(caught.value, ChatEndedError)  # the same cause, the same error
    assert "not-a-token" not in str(caught.value)
    assert not session.is_chat_session_active()
    assert sdk_threads() == []


def test_connect_to_an_unreachable_endpoint() -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = GlobalConfig(endpoint_url=f"http://127.0.0.1:{port}",
                          botocore_config=__import__("botocore.config").config.Config(
                              retries={"mode": "standard", "total_max_attempts": 1}))
    with pytest.raises(EndpointUnreachableError):
        ChatSession(config).connect(ChatDetails(participant_token="t"))
    assert sdk_threads() == []


def test_connect_rejects_bad_input_and_double_connect(emu: Any, session: ChatSession) -> None:
    with pytest.raises(InvalidInputError):
        session.connect("token")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        session.connect(ChatDetails(participant_token=""))
    details = emu.start_chat()
    session.connect(details)
    with pytest.raises(ConnectChatError):
        session.connect(details)
    assert len(emu.calls("CreateParticipantConnection", details.contact_id)) == 1


def test_sessions_are_independent(emu: Any) -> None:
    d1, d2 = emu.start_chat(display_name="A"), emu.start_chat(display_name="B")
    with connected_session(emu, details=d1) as a, connected_session(emu, details=d2) as b:
        first, second = a.session, b.session
        a.agent.join()
        mid = a.agent.send_message("only for A")
        first.wait_for(lambda i: i.id == mid, timeout=5)
        assert all(item.id != mid for item in second.transcript)
        second.disconnect()
        assert first.is_chat_session_active() and not second.is_chat_session_active()


def test_shared_is_one_instance() -> None:
    assert ChatSession.shared() is ChatSession.shared()
    assert ChatSession() is not ChatSession.shared()


def test_configure_at_any_time_switches_endpoint(emu: Any) -> None:
    session = ChatSession(GlobalConfig(endpoint_url="http://127.0.0.1:9"))
    session.configure(GlobalConfig(endpoint_url=emu.endpoint_url))
    try:
        session.connect(emu.start_chat())
        assert session.is_chat_session_active()
        assert session.global_config.endpoint_url == emu.endpoint_url
    finally:
        session.reset()


def test_connect_to_an_ended_chat_raises_chat_ended_and_says_so(
        emu: Any, session: ChatSession) -> None:
    """Issue 14, item 2: connect() to an ended chat raised AccessDeniedError ("You do not
    have sufficient access..."), where a send and RestChat raise ChatEndedError."""
    details = emu.start_chat()
    emu.end_chat(details.contact_id)
    with pytest.raises(ChatEndedError) as caught:
        session.connect(details)
    assert isinstance(caught.value, ParticipantTokenRefusedError)
    assert "the chat has ended" in str(caught.value)
    assert "sufficient access" not in str(caught.value)
    assert not session.is_chat_session_active()
    assert sdk_threads() == []
