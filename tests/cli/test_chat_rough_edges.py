"""`connect-chat chat` as a new user meets it: leaving, receipts of interactive messages, the
customer's own name when joining with a token, numbered answers. Driven through a pipe."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from connect_chat import cli
from connect_chat.cli import chat as cli_chat
from connect_chat.emulator import Emulator
from connect_chat.testing import wait_until
from tests.cli.test_chat_command import Terminal

QUICK_REPLY = {
    "templateType": "QuickReply",
    "version": "1.0",
    "data": {
        "content": {
            "title": "Was this helpful?",
            "elements": [{"title": "Yes"}, {"title": "No"}],
        }
    },
}


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


def leaving_lines(screen: str) -> list[str]:
    """The lines about leaving, in order, without their times."""
    wanted = ("left the chat", "the chat has ended", "Ctrl-D to leave", "[disconnected]")
    return [
        line.split("  ", 1)[-1].strip()
        for line in screen.splitlines()
        if any(text in line for text in wanted)
    ]


def test_quit_says_who_left_and_that_the_chat_ended_even_if_the_socket_is_down(
    emulator: Emulator,
) -> None:
    details = emulator.start_chat(display_name="Ann")
    term = Terminal(
        "chat", "--participant-token", details.participant_token,
        "--endpoint-url", emulator.endpoint_url,
    )
    term.shows("in contact")
    # No frame can reach the terminal any more: the lines must not depend on one.
    emulator.faults.refuse_upgrades(count=1000)
    emulator.faults.drop_websockets()
    term.shows("[connection lost, reconnecting...]")
    term.type("/quit")
    assert term.finish() == 0
    assert leaving_lines(term.screen.getvalue()) == [
        "-- Ann left the chat", "-- the chat has ended --", "[disconnected]"
    ]
    assert details.contact_id is not None
    assert emulator.contact(details.contact_id)["State"] == "ENDED"


def test_the_end_of_piped_input_leaves_without_asking_for_enter() -> None:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(
        ["chat", "--display-name", "Ann"], stdin=io.StringIO("hello\n"), stdout=out, stderr=err
    )
    assert code == 0, err.getvalue()
    assert "Ann: hello" in out.getvalue()
    assert leaving_lines(out.getvalue()) == [
        "-- Ann left the chat", "-- the chat has ended --", "[disconnected]"
    ]


def test_quit_after_the_agent_ended_the_chat_adds_nothing(emulator: Emulator) -> None:
    details = emulator.start_chat(display_name="Ann")
    term = Terminal(
        "chat", "--participant-token", details.participant_token,
        "--endpoint-url", emulator.endpoint_url,
    )
    term.shows("in contact")
    assert details.contact_id is not None
    emulator.end_chat(details.contact_id)
    assert term.finish() == 0
    lines = leaving_lines(term.screen.getvalue())
    assert lines.count("-- the chat has ended --") == 1
    assert "Ctrl-D to leave" not in term.screen.getvalue()


def test_the_receipt_of_an_interactive_message_shows_its_title_not_json(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_chat, "RECEIPT_THROTTLE_TIME", 0.1)
    details = emulator.start_chat(display_name="Ann")
    assert details.contact_id is not None
    term = Terminal(
        "chat", "--participant-token", details.participant_token,
        "--endpoint-url", emulator.endpoint_url,
    )
    term.shows("in contact")
    emulator.agent(details.contact_id).send_interactive(QUICK_REPLY)
    term.shows("[QuickReply] Was this helpful?  1) Yes  2) No")
    term.shows('vv Ann read: "Was this helpful?"')  # the echo of the terminal's read receipt
    term.type("/quit")
    assert term.finish() == 0
    receipts = [line for line in term.screen.getvalue().splitlines() if " vv " in line]
    assert receipts and all("templateType" not in line and "{" not in line for line in receipts)


def test_joining_with_a_token_shows_the_name_the_service_stored(emulator: Emulator) -> None:
    details = emulator.start_chat(display_name="Ann")
    term = Terminal(
        "chat", "--participant-token", details.participant_token,
        "--endpoint-url", emulator.endpoint_url,
    )
    term.shows("in contact")
    term.type("my question")
    term.shows("Ann: my question")
    term.type("/quit")
    assert term.finish() == 0
    screen = term.screen.getvalue()
    assert "Customer" not in screen
    assert "-- Ann left the chat" in screen


def test_a_number_answers_a_quick_reply_with_that_options_title(emulator: Emulator) -> None:
    details = emulator.start_chat(display_name="Ann")
    assert details.contact_id is not None
    term = Terminal(
        "chat", "--participant-token", details.participant_token,
        "--endpoint-url", emulator.endpoint_url,
    )
    term.shows("in contact")
    emulator.agent(details.contact_id).send_interactive(QUICK_REPLY)
    term.shows("2) No")
    term.shows("[type 1-2 to answer]")
    term.type("2")
    term.shows("Ann: No")
    term.type("2")  # answered: now a number is just a number
    term.shows("Ann: 2")
    term.type("/quit")
    assert term.finish() == 0

    def customer_texts() -> list[str]:
        return [
            item["Content"]
            for item in emulator.transcript(details.contact_id or "")
            if item.get("ParticipantRole") == "CUSTOMER" and item.get("Type") == "MESSAGE"
        ]

    wait_until(lambda: customer_texts() == ["No", "2"], message=repr(customer_texts()))
