"""send_message / send_event / receipts against the emulator."""

from __future__ import annotations

import json
from typing import Any

import pytest

from connect_chat import ChatSession, ContentType, Message, MessageStatus
from connect_chat.errors import InvalidInputError, SessionClosedError
from tests.conftest import connected_session, fast, wait_until


@pytest.mark.parametrize("content_type, text", [
    (ContentType.PLAIN_TEXT, "hello"),
    (ContentType.RICH_TEXT, "**bold** hello"),
    (ContentType.INTERACTIVE_RESPONSE,
     json.dumps({"templateType": "ListPicker", "version": "1.0", "data": {"title": "Apple"}})),
])
def test_send_message_shows_placeholder_then_sent_with_same_persistent_id(
        emu: Any, content_type: ContentType, text: str) -> None:
    with connected_session(emu, details=emu.start_chat(display_name="Ann"), record=True) as chat:
        session, details, recorder = chat.session, chat.details, chat.recorder
        sent = session.send_message(content_type, text)
        assert sent.status is MessageStatus.SENT and sent.text == text
        assert sent.content_type == content_type.value
        stored = [i for i in emu.transcript(details.contact_id) if i.get("Content") == text]
        assert [i["Id"] for i in stored] == [sent.id]
        (first,) = [i for (i,) in recorder.args("on_message_received")
                    if isinstance(i, Message) and i.text == text]  # once: the placeholder
        assert first.status is MessageStatus.SENDING and first.id == sent.persistent_id
        assert first.id != sent.id
        (update,) = recorder.wait("on_message_updated", where=lambda i: i.id == sent.id)[0]
        assert update.status is MessageStatus.SENT and update.persistent_id == sent.persistent_id
        wait_until(lambda: any(i.id == sent.id for i in session.transcript))
        items = [i for i in session.transcript if isinstance(i, Message) and i.text == text]
        assert len(items) == 1
        assert items[0].persistent_id == sent.persistent_id
        assert items[0].status in (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ)


def test_receipts_move_status_and_fire_receipt_callbacks(emu: Any) -> None:
    with connected_session(
            emu, details=emu.start_chat(display_name="Ann"), agent_joins="Sam",
            record=True) as chat:
        session, agent, recorder = chat.session, chat.agent, chat.recorder
        sent = session.send_message(ContentType.PLAIN_TEXT, "please read")
        agent.send_receipt(sent.id, read=False)
        delivered = recorder.wait("on_delivered_receipt")[0][0]
        assert delivered.id == sent.id
        wait_until(lambda: _status(session, sent.id) is MessageStatus.DELIVERED)
        agent.send_receipt(sent.id, read=True)
        read = recorder.wait("on_read_receipt")[0][0]
        assert read.id == sent.id and read.content_type == ContentType.MESSAGE_READ.value
        wait_until(lambda: _status(session, sent.id) is MessageStatus.READ)
        updates = recorder.wait("on_message_updated",
                                where=lambda i: i.id == sent.id and i.status is MessageStatus.READ)
        assert updates[0][0].persistent_id == sent.persistent_id
        statuses = [i.status for (i,) in recorder.args("on_message_updated") if i.id == sent.id]
        assert statuses == sorted(set(statuses), key=lambda s: s.rank)  # each change once
        assert [i for (i,) in recorder.args("on_message_received") if i.id == sent.id] == []


def _status(session: ChatSession, message_id: str) -> MessageStatus | None:
    for item in session.transcript:
        if item.id == message_id and isinstance(item, Message):
            return item.status
    return None


def test_typing_is_throttled_and_other_events_are_sent(emu: Any, config: Any) -> None:
    with connected_session(emu, fast(config, typing_throttle=60.0), agent_joins=True) as chat:
        session, details, agent = chat.session, chat.details, chat.agent
        assert session.send_event(ContentType.TYPING) is True
        assert session.send_event(ContentType.TYPING, "") is False
        typing_calls = [c for c in emu.calls("SendEvent", details.contact_id)
                        if c.body["ContentType"] == ContentType.TYPING.value]
        assert len(typing_calls) == 1
        mid = agent.send_message("hi")
        session.wait_for(lambda i: i.id == mid, timeout=5)
        assert session.send_event(ContentType.MESSAGE_READ, json.dumps({"messageId": mid}))
        reads = [c for c in emu.calls("SendEvent", details.contact_id)
                 if c.body["ContentType"] == ContentType.MESSAGE_READ.value]
        assert json.loads(reads[0].body["Content"]) == {"messageId": mid}


def test_bad_input_is_rejected_before_sending(emu: Any) -> None:
    with connected_session(emu) as chat:
        session, details = chat.session, chat.details
        before = len(emu.calls(contact_id=details.contact_id))
        with pytest.raises(InvalidInputError):
            session.send_message(ContentType.TYPING, "x")
        with pytest.raises(InvalidInputError):
            session.send_message(ContentType.PLAIN_TEXT, "")
        with pytest.raises(InvalidInputError):
            session.send_message(ContentType.PLAIN_TEXT, "x" * 1025)
        with pytest.raises(InvalidInputError):
            session.send_event(ContentType.PLAIN_TEXT, "x")
        assert len(emu.calls(contact_id=details.contact_id)) == before


def test_sending_without_a_connection_raises(session: ChatSession) -> None:
    with pytest.raises(SessionClosedError):
        session.send_message(ContentType.PLAIN_TEXT, "hello")
    with pytest.raises(SessionClosedError):
        session.send_event(ContentType.TYPING)
    with pytest.raises(SessionClosedError):
        session.get_transcript()


def test_failed_send_marks_the_placeholder_failed(emu: Any, config: Any) -> None:
    from botocore.config import Config

    from connect_chat.errors import InternalServerError

    with connected_session(emu, fast(config, send_timeout=0.3, botocore_config=Config(
            retries={"mode": "standard", "total_max_attempts": 1}))) as chat:
        session = chat.session
        emu.faults.http_errors(status=500, rate=1.0, operations=["SendMessage"])
        with pytest.raises(InternalServerError) as caught:
            session.send_message(ContentType.PLAIN_TEXT, "doomed")
        assert caught.value.status == 500 and caught.value.retryable
        assert caught.value.__cause__ is not None
        wait_until(lambda: any(isinstance(i, Message) and i.status is MessageStatus.FAILED
                               for i in session.transcript))
