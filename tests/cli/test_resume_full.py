"""Full resumption: another session (or process) reconnects the WebSocket and fills the gap."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connect_chat import ChatSession, ContentType, GlobalConfig, Message
from connect_chat.emulator import Emulator
from connect_chat.errors import InvalidInputError, SessionClosedError
from connect_chat.resume import RestChat, SavedChat, resume_session, resumed_session
from connect_chat.testing import wait_until

pytestmark = pytest.mark.behaviour_matrix


@pytest.fixture
def emulator(emu_behaviour: Any) -> Iterator[Emulator]:
    with Emulator(behaviour=emu_behaviour) as emu:
        yield emu


def texts(items: object) -> list[str]:
    return [i.text for i in items if isinstance(i, Message)]  # type: ignore[attr-defined]


def test_a_session_saves_its_chat_and_another_goes_on_with_it(emulator: Emulator) -> None:
    details = emulator.start_chat(display_name="Ann")
    assert details.contact_id is not None
    agent = emulator.agent(details.contact_id)
    agent.join(display_name="Sam")
    first = ChatSession(GlobalConfig(endpoint_url=emulator.endpoint_url))
    first.connect(details)
    first.send_message(ContentType.PLAIN_TEXT, "before the hand-over")
    first.wait_for(lambda i: isinstance(i, Message) and i.text == "before the hand-over"
                   and i.status is not None and i.status.value != "Sending", timeout=10)
    stored = json.dumps(SavedChat.from_session(first).to_dict())
    first.reset()  # let go of the chat without leaving it

    agent.send_message("missed 1")
    agent.send_message("missed 2")

    second, missed = resumed_session(SavedChat.from_dict(json.loads(stored)))
    with second:
        assert texts(missed) == ["missed 1", "missed 2"]
        live: list[str] = []
        second.on_message_received = lambda i: live.append(getattr(i, "text", ""))
        agent.send_message("live again")
        wait_until(lambda: "live again" in live, timeout=10)
        second.send_message(ContentType.PLAIN_TEXT, "after the hand-over")
        expected = ["missed 1", "missed 2", "live again", "after the hand-over"]
        wait_until(lambda: texts(second.transcript)[-4:] == expected, timeout=10)
    assert emulator.contact(details.contact_id)["State"] == "ENDED"


def test_from_session_needs_a_chat() -> None:
    with pytest.raises(SessionClosedError):
        SavedChat.from_session(ChatSession())


def test_without_a_last_item_the_whole_history_is_returned(emulator: Emulator) -> None:
    details = emulator.start_chat(display_name="Ann")
    assert details.contact_id is not None
    emulator.agent(details.contact_id).send_message("hello")
    saved = SavedChat.from_chat_details(details, endpoint_url=emulator.endpoint_url)
    session, missed = resumed_session(saved)
    with session:
        assert texts(missed) == ["hello"]


def test_the_session_must_point_where_the_chat_lives(emulator: Emulator) -> None:
    saved = SavedChat.from_chat_details(
        emulator.start_chat(), endpoint_url=emulator.endpoint_url
    )
    with pytest.raises(InvalidInputError, match="endpoint_url"):
        resume_session(ChatSession(GlobalConfig(region="eu-west-1")), saved)


def test_rest_in_one_process_then_full_resume_in_another(
    emulator: Emulator, tmp_path: Path
) -> None:
    """A web worker used REST only; a separate program picks the chat up live."""
    details = emulator.start_chat(display_name="Ann")
    assert details.contact_id is not None
    agent = emulator.agent(details.contact_id)
    agent.join(display_name="Sam")
    with RestChat(SavedChat.from_chat_details(details, endpoint_url=emulator.endpoint_url)) as rest:
        rest.send_message(ContentType.PLAIN_TEXT, "from the web worker")
        rest.new_items()
        state = tmp_path / "chat.json"
        state.write_text(json.dumps(rest.saved.to_dict()), encoding="utf-8")
    agent.send_message("answer while nobody listens")
    program = textwrap.dedent(
        """
        import json, sys
        from connect_chat import ContentType
        from connect_chat.resume import SavedChat, resumed_session

        saved = SavedChat.from_dict(json.load(open(sys.argv[1])))
        session, missed = resumed_session(saved)
        with session:
            # Messages only: the customer's own joined event may be stored only now, when
            # its first socket subscribes (behaviour customer_joined_at=subscribe).
            print(json.dumps([i.text for i in missed if i.content_type == "text/plain"]))
            session.send_message(ContentType.PLAIN_TEXT, "from the other process")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", program, str(state)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == ["answer while nobody listens"]
    stored = [i.get("Content") for i in emulator.transcript(details.contact_id)]
    assert "from the other process" in stored


def test_resuming_an_ended_chat_raises_chat_ended(emulator: Emulator) -> None:
    from connect_chat.errors import ChatEndedError

    details = emulator.start_chat()
    assert details.contact_id is not None
    saved = SavedChat.from_chat_details(details, endpoint_url=emulator.endpoint_url)
    emulator.end_chat(details.contact_id)
    with pytest.raises(ChatEndedError, match="has ended"):
        resumed_session(saved)
