"""RestChat: going on with a saved chat in another process, over REST only, on the emulator."""

from __future__ import annotations

import datetime
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connect_chat.emulator import Emulator
from connect_chat.enums import ContentType, MessageReceiptType
from connect_chat.errors import ChatEndedError, InvalidInputError
from connect_chat.models import Message
from connect_chat.resume import RestChat, SavedChat

pytestmark = pytest.mark.behaviour_matrix


@pytest.fixture
def emulator(emu_behaviour: Any) -> Iterator[Emulator]:
    with Emulator(behaviour=emu_behaviour) as emu:
        yield emu


def new_chat(emu: Emulator) -> SavedChat:
    details = emu.start_chat(display_name="Ann")
    return SavedChat.from_chat_details(details, endpoint_url=emu.endpoint_url)


def through_json(saved: SavedChat) -> SavedChat:
    """What another process reads back from a store."""
    return SavedChat.from_dict(json.loads(json.dumps(saved.to_dict())))


def texts(items: object) -> list[str]:
    return [i.text for i in items if isinstance(i, Message)]  # type: ignore[attr-defined]


def test_a_second_process_goes_on_with_the_chat(emulator: Emulator) -> None:
    saved = new_chat(emulator)
    assert saved.contact_id is not None
    agent = emulator.agent(saved.contact_id)
    agent.join(display_name="Sam")
    with RestChat(saved) as first:
        first.send_message(ContentType.PLAIN_TEXT, "hello from worker 1")
        assert "hello from worker 1" in texts(first.new_items())
        stored = first.saved
    assert stored.connection_token is not None  # made once, reused by the next worker
    agent.send_message("hi Ann")
    with RestChat(through_json(stored)) as second:
        second.send_message(ContentType.PLAIN_TEXT, "hello from worker 2")
        assert texts(second.new_items()) == ["hi Ann", "hello from worker 2"]
        assert second.new_items() == []
        assert second.saved.connection_token == stored.connection_token
    connections = emulator.calls("CreateParticipantConnection", saved.contact_id)
    assert len(connections) == 1
    stored_texts = [i.get("Content") for i in emulator.transcript(saved.contact_id)]
    assert stored_texts.count("hello from worker 2") == 1


def test_no_thread_is_left_running(emulator: Emulator) -> None:
    before = set(threading.enumerate())
    with RestChat(new_chat(emulator)) as chat:
        chat.send_message(ContentType.PLAIN_TEXT, "x")
        chat.get_transcript()
    assert set(threading.enumerate()) <= before


def test_an_expired_connection_token_is_renewed_once(emulator: Emulator) -> None:
    with RestChat(new_chat(emulator)) as chat:
        chat.send_message(ContentType.PLAIN_TEXT, "one")
        old = chat.saved.connection_token
        emulator.faults.expire_connection_tokens()
        chat.send_message(ContentType.PLAIN_TEXT, "two")
        assert chat.saved.connection_token not in (None, old)
        assert texts(chat.new_items()) == ["one", "two"]


def test_a_token_near_its_expiry_is_replaced_before_use(emulator: Emulator) -> None:
    saved = new_chat(emulator)
    with RestChat(saved) as chat:
        chat.send_event(ContentType.TYPING)
        first = chat.saved
    expiry = datetime.datetime.fromisoformat(first.connection_expiry.replace("Z", "+00:00"))  # type: ignore[union-attr]
    late = RestChat(first, clock=lambda: expiry - datetime.timedelta(minutes=1))
    late.send_event(ContentType.TYPING)
    assert late.saved.connection_token != first.connection_token
    early = RestChat(first, clock=lambda: expiry - datetime.timedelta(hours=1))
    early.send_event(ContentType.TYPING)
    assert early.saved.connection_token == first.connection_token


def test_receipts_are_sent_when_asked(emulator: Emulator) -> None:
    saved = new_chat(emulator)
    assert saved.contact_id is not None
    agent = emulator.agent(saved.contact_id)
    agent.join(display_name="Sam")
    message_id = agent.send_message("did you get this?")
    with RestChat(saved) as chat:
        chat.send_message_receipt(MessageReceiptType.MESSAGE_READ, message_id)
        with pytest.raises(InvalidInputError):
            chat.send_message_receipt(MessageReceiptType.MESSAGE_READ, "")
    events = emulator.calls("SendEvent", saved.contact_id)
    assert [e.body.get("ContentType") for e in events] == [MessageReceiptType.MESSAGE_READ.value]
    assert json.loads(events[0].body["Content"]) == {"messageId": message_id}


def test_attachments_both_ways(emulator: Emulator, tmp_path: Path) -> None:
    saved = new_chat(emulator)
    assert saved.contact_id is not None
    source = tmp_path / "notes.txt"
    source.write_text("some notes", encoding="utf-8")
    progress: list[tuple[int, int]] = []
    with RestChat(saved) as chat:
        attachment_id = chat.send_attachment(source, progress=lambda d, t: progress.append((d, t)))
        assert progress[-1] == (10, 10)
        copy = chat.download_attachment(attachment_id, "notes.txt", tmp_path / "downloads")
        assert copy.read_text(encoding="utf-8") == "some notes"
        agent_file = emulator.agent(saved.contact_id).send_attachment(
            "label.pdf", b"%PDF-1.4 label", "application/pdf"
        )
        items = chat.new_items()
        (received,) = [i for i in items if isinstance(i, Message) and i.text == "label.pdf"]
        assert received.attachment_id == agent_file
        got = chat.download_attachment(agent_file, received.text, tmp_path / "downloads")
        assert got.read_bytes() == b"%PDF-1.4 label"


def test_after_disconnect_the_saved_chat_is_spent(emulator: Emulator) -> None:
    saved = new_chat(emulator)
    assert saved.contact_id is not None
    with RestChat(saved) as chat:
        chat.send_message(ContentType.PLAIN_TEXT, "bye")
        chat.disconnect()
        stored = chat.saved
    assert emulator.contact(saved.contact_id)["State"] == "ENDED"
    with pytest.raises(ChatEndedError):
        RestChat(through_json(stored)).send_message(ContentType.PLAIN_TEXT, "too late")
    RestChat(through_json(stored)).disconnect()  # leaving an ended chat is not an error


def test_a_chat_ended_by_the_agent_raises_chat_ended(emulator: Emulator) -> None:
    saved = new_chat(emulator)
    assert saved.contact_id is not None
    emulator.end_chat(saved.contact_id)
    with pytest.raises(ChatEndedError, match="has ended"):
        RestChat(saved).get_transcript()


def test_secrets_never_reach_the_repr(emulator: Emulator) -> None:
    chat = RestChat(new_chat(emulator))
    chat.send_event(ContentType.TYPING)
    assert chat.saved.connection_token is not None
    assert chat.saved.connection_token not in repr(chat) + repr(chat.saved)
    assert chat.saved.participant_token not in repr(chat) + repr(chat.saved)


def test_only_a_saved_chat_is_accepted() -> None:
    with pytest.raises(InvalidInputError):
        RestChat({"version": 1})  # type: ignore[arg-type]


@pytest.mark.parametrize("call", [
    lambda chat: chat.send_message("image/png", "hi"),
    lambda chat: chat.send_message(ContentType.PLAIN_TEXT, ""),
    lambda chat: chat.send_message(ContentType.PLAIN_TEXT, "x" * 1025),
    lambda chat: chat.send_event(ContentType.PLAIN_TEXT, ""),
    lambda chat: chat.send_event(ContentType.TYPING, "x" * 16385),
    lambda chat: chat.get_transcript(scan_direction="SIDEWAYS"),
    lambda chat: chat.get_transcript(sort_order="RANDOM"),
    lambda chat: chat.get_transcript(max_results=True),
    lambda chat: chat.get_transcript(max_results=101),
    lambda chat: chat.get_transcript(next_token=5),
    lambda chat: chat.get_transcript(start_position=5),
])
def test_bad_input_is_refused_before_any_request(emulator: Emulator, call: object) -> None:
    saved = new_chat(emulator)
    with RestChat(saved) as chat:
        before = len(emulator.calls())
        with pytest.raises(InvalidInputError):
            call(chat)  # type: ignore[operator]
        assert len(emulator.calls()) == before
