"""Participant events: joined/left with who, display-name updates, transfers."""

from __future__ import annotations

from typing import Any

import pytest

from connect_chat import ContentType, Event, Message, Participant
from tests.conftest import connected_session, wait_until


def test_joined_and_left_say_who(emu: Any) -> None:
    with connected_session(emu, details=emu.start_chat(display_name="Ann"), record=True) as chat:
        session, details, agent, recorder = chat.session, chat.details, chat.agent, chat.recorder
        agent = emu.agent(details.contact_id)
        sam = agent.join(display_name="Sam")
        (joined,) = recorder.wait("on_participant_joined",
                                  where=lambda e: e.participant_id == sam)[0]
        assert isinstance(joined, Event)
        assert (joined.participant, joined.display_name) == ("AGENT", "Sam")
        assert session.participants()[sam] == Participant(
            participant_id=sam, role="AGENT", display_name="Sam", present=True)
        assert session.participants()[details.participant_id].display_name == "Ann"
        agent.leave()
        (left,) = recorder.wait("on_participant_left")[0]
        assert (left.participant_id, left.display_name) == (sam, "Sam")
        wait_until(lambda: not session.participants()[sam].present, what="Sam gone")
        assert any(i.id == left.id for i in session.transcript)


def test_a_display_name_update_is_reported_and_kept_current(emu: Any) -> None:
    with connected_session(emu, record=True, connect=False) as chat:
        session, details, agent, recorder = chat.session, chat.details, chat.agent, chat.recorder
        sam = agent.join(display_name="Sam")
        before = agent.send_message("hello, I am Sam")
        session.connect(details)
        session.wait_for(lambda i: i.id == before, timeout=5)
        assert session.participants()[sam].display_name == "Sam"
        agent.update_display_name("Samuel")
        (event,) = recorder.wait("on_participant_display_name_updated")[0]
        assert event.content_type == ContentType.PARTICIPANT_DISPLAY_NAME_UPDATED.value
        assert (event.participant_id, event.display_name) == (sam, "Samuel")
        assert session.participants()[sam].display_name == "Samuel"
        after = agent.send_message("same person")
        message = session.wait_for(lambda i: i.id == after, timeout=5)
        assert isinstance(message, Message) and message.display_name == "Samuel"
        earlier = next(i for i in session.transcript if i.id == before)
        assert isinstance(earlier, Message) and earlier.display_name == "Sam"  # history stays


def test_the_customers_new_name_is_used_for_its_next_messages(emu: Any) -> None:
    with connected_session(emu, details=emu.start_chat(display_name="Guest"), record=True) as chat:
        session, details, recorder = chat.session, chat.details, chat.recorder
        emu.emit_event(details.contact_id, ContentType.PARTICIPANT_DISPLAY_NAME_UPDATED.value,
                       participant_id="customer", display_name="Jane Doe")
        recorder.wait("on_participant_display_name_updated")
        assert session.participants()[details.participant_id].display_name == "Jane Doe"
        sent = session.send_message(ContentType.PLAIN_TEXT, "signed in now")
        assert sent.display_name == "Jane Doe"
        placeholder = recorder.wait(
            "on_message_received",
            where=lambda i: isinstance(i, Message) and i.text == "signed in now")[0][0]
        assert placeholder.display_name == "Jane Doe"


@pytest.mark.parametrize("content_type, content, callback", [
    (ContentType.TRANSFER_SUCCEEDED, "Transfer completed successfully", "on_transfer_succeeded"),
    (ContentType.TRANSFER_FAILED, "Transfer failed", "on_transfer_failed"),
])
def test_transfer_events(emu: Any, content_type: ContentType, content: str, callback: str) -> None:
    with connected_session(emu, record=True, connect=False) as chat:
        session, details, agent, recorder = chat.session, chat.details, chat.agent, chat.recorder
        sam = agent.join(display_name="Sam")
        session.connect(details)
        event_id = emu.emit_event(details.contact_id, content_type.value, content,
                                  participant_id=sam)
        (event,) = recorder.wait(callback)[0]
        assert (event.id, event.text, event.participant_id) == (event_id, content, sam)
        assert {n for n in recorder.names() if n.startswith("on_transfer_")} == {callback}
        assert any(i.id == event_id for i in session.transcript)  # kept, like the service
        assert session.is_chat_session_active()  # a customer's chat goes on after a transfer
