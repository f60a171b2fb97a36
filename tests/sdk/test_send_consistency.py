"""When a send call returns, ``session.transcript`` already shows what it did."""

from __future__ import annotations

from typing import Any

import pytest

from connect_chat import ChatSession, ContentType, Message, MessageStatus
from connect_chat.errors import ServiceError
from tests.conftest import connected_session


def _copies(session: ChatSession, persistent_id: str) -> list[Message]:
    return [
        item for item in session.transcript
        if isinstance(item, Message) and item.persistent_id == persistent_id
    ]


def test_sent_message_is_in_the_transcript_exactly_once_when_send_returns(
    emu: Any
) -> None:
    with connected_session(emu, details=emu.start_chat(display_name="Ann")) as chat:
        session = chat.session
        for number in range(60):
            sent = session.send_message(ContentType.PLAIN_TEXT, f"same text {number % 3}")
            copies = _copies(session, sent.persistent_id)
            assert len(copies) == 1, (number, copies)
            assert copies[0].id == sent.id
            assert copies[0].status in (MessageStatus.SENT, MessageStatus.DELIVERED,
                                        MessageStatus.READ)
        texts = [item.text for item in session.transcript if isinstance(item, Message)]
        assert len(texts) == 60


def test_a_failed_send_is_in_the_transcript_as_failed_when_the_call_raises(
    emu: Any
) -> None:
    with connected_session(emu, details=emu.start_chat(display_name="Ann")) as chat:
        session = chat.session
        emu.faults.http_errors(status=400, count=1, operations=["SendMessage"])
        with pytest.raises(ServiceError):
            session.send_message(ContentType.PLAIN_TEXT, "will fail")
        failed = [
            item for item in session.transcript
            if isinstance(item, Message) and item.text == "will fail"
        ]
        assert len(failed) == 1
        assert failed[0].status is MessageStatus.FAILED


def test_a_send_waits_for_the_dispatcher_once_its_placeholder_shows_all_the_same(
    emu: Any
) -> None:
    """The SENDING placeholder is handed to the dispatcher without a wait (its FIFO puts it
    before the outcome and before the service's frame); only the outcome is waited for.
    Waiting for the placeholder too cost a hand-over and back per send: under gevent, two
    turns of the hub's loop, the largest part of the send's latency tail at 2,000 chats."""
    with connected_session(emu, details=emu.start_chat(display_name="Ann")) as chat:
        session = chat.session
        seen: list[MessageStatus] = []
        session.on_message_received = lambda item: seen.append(item.status)
        connection = session._active_connection()
        waits: list[str] = []
        post_and_wait = connection._post_and_wait

        def counting(item: Any, done: Any, timeout: float) -> bool:
            waits.append(type(item).__name__ + ":" + str(getattr(item, "kind", "")))
            return post_and_wait(item, done, timeout)

        connection._post_and_wait = counting  # type: ignore[method-assign]
        sent = session.send_message(ContentType.PLAIN_TEXT, "one hand-over")
        assert waits == ["LocalUpdate:LocalKind.SENT"]
        copies = _copies(session, sent.persistent_id)
        assert len(copies) == 1 and copies[0].status is not MessageStatus.SENDING
        assert seen[:1] == [MessageStatus.SENDING]  # the placeholder was announced first
