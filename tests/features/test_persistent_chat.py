"""Persistent chat: on_chat_rehydrated, and the previous contact's items shown as history."""

from __future__ import annotations

from typing import Any

from connect_chat import ContentType, Message
from tests.conftest import connected_session


def test_rehydrated_chat_shows_the_previous_contact_as_history(
        emu: Any) -> None:
    first = emu.start_chat(display_name="Ann")
    old_agent = emu.agent(first.contact_id)
    old_agent.join(display_name="Sam")
    old_ids = [old_agent.send_message("your order shipped"),
               old_agent.send_message("anything else?")]
    emu.end_chat(first.contact_id)

    details = emu.start_chat(display_name="Ann", persistent_chat=first.contact_id)
    with connected_session(emu, details=details, record=True) as chat:
        session, recorder = chat.session, chat.recorder
        (event,) = recorder.wait("on_chat_rehydrated")[0]
        assert event.content_type == ContentType.CHAT_REHYDRATED.value

        history = [i for i in session.transcript if i.id in old_ids]
        assert [i.id for i in history] == old_ids
        assert all(isinstance(i, Message) and i.is_from_history for i in history)
        assert [i.text for i in history if isinstance(i, Message)] == [
            "your order shipped", "anything else?"]
        old_ended = [i for i in session.transcript if i.content_type == ContentType.ENDED.value]
        assert old_ended and all(i.is_from_history for i in old_ended)

        # History makes no live callbacks: no message, join/leave or chat-ended callback for it,
        # and the old contact's chat.ended does not end this chat.
        old_items = {i.id for i in session.transcript if i.is_from_history}
        live = {a[0].id for n, a, _ in recorder.events if a and hasattr(a[0], "id")
                and n != "on_transcript_updated"}
        assert not (live & old_items)
        assert recorder.count("on_chat_ended") == 0
        assert session.is_chat_session_active()

        agent = emu.agent(details.contact_id)
        agent.join(display_name="Kim")
        new_id = agent.send_message("welcome back")
        received = recorder.wait("on_message_received", where=lambda i: i.id == new_id)
        assert not received[0][0].is_from_history
        ordered = [i.id for i in session.transcript if i.id in (*old_ids, new_id)]
        assert ordered == [*old_ids, new_id]
