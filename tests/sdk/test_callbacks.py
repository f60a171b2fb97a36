"""Every callback fires for the right frame with the right model, on the dispatcher thread."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from connect_chat import ContentType, Event, Message, TranscriptData
from tests.conftest import connected_session, sdk_threads, wait_until


@pytest.mark.parametrize("content_type, callback", [
    (ContentType.PARTICIPANT_IDLE, "on_participant_idle"),
    (ContentType.PARTICIPANT_RETURNED, "on_participant_returned"),
    (ContentType.AUTO_DISCONNECTION, "on_auto_disconnection"),
    (ContentType.PARTICIPANT_INVITED, "on_participant_invited"),
    (ContentType.CHAT_REHYDRATED, "on_chat_rehydrated"),
])
def test_typed_event_callbacks(emu: Any, content_type: ContentType,
                               callback: str) -> None:
    with connected_session(emu, details=emu.start_chat(display_name="Ann"), record=True) as chat:
        details, recorder = chat.details, chat.recorder
        event_id = emu.emit_event(details.contact_id, content_type.value, participant_id="customer")
        (event,) = recorder.wait(callback)[0]
        assert isinstance(event, Event)
        assert event.id == event_id and event.content_type == content_type.value
        received = recorder.wait("on_message_received", where=lambda i: i.id == event_id)
        assert received[0][0] == event
        others = {name for name in recorder.names()} & {
            "on_participant_idle", "on_participant_returned", "on_auto_disconnection",
            "on_participant_invited", "on_chat_rehydrated"}
        assert others == {callback}


def test_typing_fires_on_typing_and_is_not_kept(emu: Any) -> None:
    with connected_session(emu, agent_joins="Sam", record=True) as chat:
        session, agent, recorder = chat.session, chat.agent, chat.recorder
        agent.send_event(ContentType.TYPING)
        (event,) = recorder.wait("on_typing")[0]
        assert isinstance(event, Event) and event.display_name == "Sam"
        assert all(item.content_type != ContentType.TYPING.value for item in session.transcript)


def test_message_and_transcript_callbacks_in_order_on_the_dispatcher(
        emu: Any) -> None:
    with connected_session(emu, agent_joins="Sam", record=True) as chat:
        details, agent, recorder = chat.details, chat.agent, chat.recorder
        ids = [agent.send_message(f"m{i}") for i in range(10)]
        recorder.wait("on_message_received", count=10,
                      where=lambda i: isinstance(i, Message) and i.participant == "AGENT")
        got = [a[0].id for a in recorder.args("on_message_received") if a[0].id in ids]
        assert got == ids
        update = recorder.args("on_transcript_updated")[-1][0]
        assert isinstance(update, TranscriptData)
        assert [i.id for i in update.transcript_list if i.id in ids] == ids
        threads = {t for _, _, t in recorder.events}
        assert threads == {f"connect-chat-dispatch-{details.contact_id}"}


def test_chat_ended_by_the_agent_side_fires_once_and_stops_threads(
        emu: Any) -> None:
    with connected_session(emu, record=True) as chat:
        session, details, recorder = chat.session, chat.details, chat.recorder
        emu.end_chat(details.contact_id)
        recorder.wait("on_chat_ended")
        wait_until(lambda: sdk_threads() == [], what="threads to stop after chat end")
        assert not session.is_chat_session_active()
        assert any(i.content_type == ContentType.ENDED.value for i in session.transcript)
        session.disconnect()  # nothing to leave: no DisconnectParticipant call
        assert emu.calls("DisconnectParticipant", details.contact_id) == []
        assert recorder.count("on_chat_ended") == 1
        assert recorder.count("on_connection_broken") == 0


def test_a_raising_callback_does_not_stop_delivery(emu: Any,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    seen: list[str] = []

    def explode(item: Any) -> None:
        seen.append(item.id)
        raise RuntimeError("boom in user code")

    with connected_session(emu, agent_joins=True, on_message_received=explode) as chat:
        agent = chat.agent
        first, second = agent.send_message("one"), agent.send_message("two")
        wait_until(lambda: first in seen and second in seen)
        assert "boom in user code" in caplog.text


def test_callback_may_send_and_disconnect(emu: Any) -> None:
    ended = threading.Event()
    replies: list[str] = []

    def on_message(item: Any) -> None:
        if isinstance(item, Message) and item.participant == "AGENT":
            if item.text == "ping":
                replies.append(session.send_message(ContentType.PLAIN_TEXT, "pong").id)
            elif item.text == "bye":
                session.disconnect()

    with connected_session(emu, agent_joins=True, on_message_received=on_message,
                           on_chat_ended=ended.set) as chat:
        session, details, agent = chat.session, chat.details, chat.agent
        agent.send_message("ping")
        wait_until(lambda: replies)
        assert any(i.get("Content") == "pong" for i in emu.transcript(details.contact_id))
        agent.send_message("bye")
        assert ended.wait(5)
        wait_until(lambda: sdk_threads() == [], what="threads to stop")
        assert len(emu.calls("DisconnectParticipant", details.contact_id)) == 1
        assert not session.is_chat_session_active()
