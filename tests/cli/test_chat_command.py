"""`connect-chat chat`: the interactive chat, driven through a pipe as a person would type."""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from connect_chat import cli
from connect_chat.cli import chat as cli_chat
from connect_chat.emulator import Emulator
from connect_chat.enums import ContentType
from connect_chat.testing import wait_until


class Terminal:
    """``connect-chat chat`` running on a thread, with a keyboard (a pipe) and a screen."""

    def __init__(self, *argv: str) -> None:
        read_fd, write_fd = os.pipe()
        self._stdin = os.fdopen(read_fd, "r", encoding="utf-8")
        self._keyboard = os.fdopen(write_fd, "w", encoding="utf-8")
        self.screen = io.StringIO()
        self.errors = io.StringIO()
        self.code: int | None = None
        self._thread = threading.Thread(target=self._run, args=(list(argv),), daemon=True)
        self._thread.start()

    def _run(self, argv: list[str]) -> None:
        self.code = cli.main(argv, stdin=self._stdin, stdout=self.screen, stderr=self.errors)

    def type(self, line: str) -> None:
        self._keyboard.write(line + "\n")
        self._keyboard.flush()

    def shows(self, text: str, timeout: float = 10.0) -> None:
        wait_until(lambda: text in self.screen.getvalue(), timeout, message=repr(text))

    def finish(self, timeout: float = 15.0) -> int:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the chat command did not end"
        self._keyboard.close()
        self._stdin.close()
        assert self.code is not None, self.errors.getvalue()
        return self.code


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


def test_chat_with_the_embedded_echo_agent(tmp_path: Path) -> None:
    term = Terminal("chat", "--display-name", "Ann")
    term.shows("in contact")
    term.type("hello there")
    term.shows("Ann: hello there")
    term.shows("(agent): hello there")
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"\x89PNG not really" * 100)
    term.type(f"/attach {photo}")
    term.shows("] 100% 1.5 KiB / 1.5 KiB")
    term.shows("Ann sent a file: photo.png")
    term.type(f"/attach {tmp_path / 'missing.png'}")
    term.shows("[not sent: no such file")
    term.type("/nonsense")
    term.shows("[unknown command /nonsense")
    term.type("/transcript")
    term.shows("[transcript (")
    term.type("/quit")
    assert term.finish() == 0
    assert "[disconnected]" in term.screen.getvalue()
    assert term.errors.getvalue() == ""


def test_joining_an_existing_contact_shows_typing_receipts_and_the_end(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_chat, "RECEIPT_THROTTLE_TIME", 0.1)
    details = emulator.start_chat(display_name="Ann")
    assert details.contact_id is not None
    agent = emulator.agent(details.contact_id)
    term = Terminal(
        "chat",
        "--participant-token", details.participant_token,
        "--contact-id", details.contact_id,
        "--endpoint-url", emulator.endpoint_url,
        "--display-name", "Ann",
    )
    term.shows(f"in contact {details.contact_id}")
    agent.join(display_name="Sam")
    term.shows("-- Sam (agent) joined the chat")
    agent.send_event(ContentType.TYPING)
    term.shows("Sam (agent) is typing...")
    greeting = agent.send_message("Hello Ann")
    term.shows("Sam (agent): Hello Ann")
    # The person at the terminal saw it: a read receipt went to the agent.
    wait_until(
        lambda: any(
            c.body.get("ContentType") == ContentType.MESSAGE_READ.value
            and greeting in c.body.get("Content", "")
            for c in emulator.calls("SendEvent", details.contact_id)
        ),
        message="the customer's read receipt",
    )
    term.type("my question")
    term.shows("Ann: my question")
    sent = [i for i in emulator.transcript(details.contact_id) if i.get("Content") == "my question"]
    agent.send_receipt(sent[0]["Id"], read=True)
    term.shows('vv read by the agent: "my question"')
    emulator.end_chat(details.contact_id)
    term.shows("-- the chat has ended --")
    assert term.finish() == 0  # ends by itself, without /quit


def test_the_connection_state_is_shown(emulator: Emulator) -> None:
    details = emulator.start_chat(display_name="Ann")
    term = Terminal(
        "chat", "--participant-token", details.participant_token,
        "--endpoint-url", emulator.endpoint_url,
    )
    term.shows("[connected]")
    emulator.faults.drop_websockets()
    term.shows("[reconnected]")
    term.type("/quit")
    assert term.finish() == 0


def test_a_standalone_emulator_starts_the_chat_through_start_chat_contact(
    emulator: Emulator,
) -> None:
    term = Terminal("chat", "--endpoint-url", emulator.endpoint_url)
    term.shows("in contact")
    assert len(emulator.calls("StartChatContact")) == 1
    term.type("/quit")
    assert term.finish() == 0
    (contact_id,) = emulator.contact_ids()
    assert emulator.contact(contact_id)["State"] == "ENDED"  # /quit left the chat


def test_a_real_chat_is_signed_with_the_users_credentials(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    signatures: list[str] = []
    create_client = botocore.session.Session.create_client

    def spying_create_client(self: Any, service: str, *args: Any, **kwargs: Any) -> Any:
        client = create_client(self, service, *args, **kwargs)
        if service == "connect":
            client.meta.events.register(
                "before-send.connect.StartChatContact",
                lambda request, **_: signatures.append(request.headers["Authorization"].decode()),
            )
        return client

    monkeypatch.setattr(botocore.session.Session, "create_client", spying_create_client)
    term = Terminal(
        "chat",
        "--instance-id", "inst-1",
        "--contact-flow-id", "flow-1",
        "--region", "eu-central-1",
        "--endpoint-url", emulator.endpoint_url,
    )
    term.shows("in contact")
    (call,) = emulator.calls("StartChatContact")
    assert call.body["InstanceId"] == "inst-1" and call.body["ContactFlowId"] == "flow-1"
    (signature,) = signatures
    assert "Credential=AKIDEXAMPLE/" in signature
    assert "/eu-central-1/connect/aws4_request" in signature
    term.type("/quit")
    assert term.finish() == 0


def test_end_of_input_disconnects(emulator: Emulator) -> None:
    details = emulator.start_chat()
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(
        ["chat", "--participant-token", details.participant_token,
         "--endpoint-url", emulator.endpoint_url],
        stdin=io.StringIO(""), stdout=out, stderr=err,
    )
    assert code == 0, err.getvalue()
    assert details.contact_id is not None
    assert emulator.contact(details.contact_id)["State"] == "ENDED"
    assert details.participant_token not in out.getvalue() + err.getvalue()


def test_a_refused_participant_token_is_one_line(emulator: Emulator) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(
        ["chat", "--participant-token", "not-a-token", "--endpoint-url", emulator.endpoint_url],
        stdin=io.StringIO(""), stdout=out, stderr=err,
    )
    assert code == cli.EXIT_FAILURE
    assert err.getvalue().startswith("connect-chat: error: the service refused: ")
    assert "AccessDeniedException" in err.getvalue()
    assert err.getvalue().count("\n") == 1
