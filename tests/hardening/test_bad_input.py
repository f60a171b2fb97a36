"""Bad input: a typed error with a clear message, before any network call, nothing lost.

Issue 8, point 3. Each case runs against a connected session on the emulator and checks
that the emulator saw no request (REST, upload, WebSocket) because of the bad call, that the
error is a ``ConnectChatError`` subclass naming what was wrong, and that the transcript held
before the call is still all there afterwards.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from connect_chat import (
    ChatDetails,
    ChatSession,
    ContentType,
    Features,
    GlobalConfig,
    MessageReceipts,
    MessageReceiptType,
    MessageStatus,
    StartPosition,
)
from connect_chat.enums import MAX_ATTACHMENT_BYTES, MAX_CONTENT_LENGTH
from connect_chat.errors import (
    ChatEndedError,
    ConnectChatError,
    InvalidInputError,
    SessionClosedError,
    UnsupportedAttachmentError,
)
from tests.conftest import connected_session, wait_until

Call = Callable[[ChatSession, Path], Any]

BAD_CALLS: list[tuple[str, Call, type[ConnectChatError], str]] = [
    # send_message
    ("empty message", lambda s, p: s.send_message(ContentType.PLAIN_TEXT, ""),
     InvalidInputError, "message"),
    ("oversized plain text", lambda s, p: s.send_message(ContentType.PLAIN_TEXT, "x" * 1025),
     InvalidInputError, "1024"),
    ("oversized json", lambda s, p: s.send_message(ContentType.JSON, "x" * 12001),
     InvalidInputError, "12000"),
    ("unknown content type", lambda s, p: s.send_message("text/html", "<b>hi</b>"),
     InvalidInputError, "text/html"),
    ("event type as message", lambda s, p: s.send_message(ContentType.TYPING, "x"),
     InvalidInputError, "content type"),
    ("message is None", lambda s, p: s.send_message(ContentType.PLAIN_TEXT, None),
     InvalidInputError, "message"),
    ("message is bytes", lambda s, p: s.send_message(ContentType.PLAIN_TEXT, b"hi"),
     InvalidInputError, "message"),
    ("message is int", lambda s, p: s.send_message(ContentType.PLAIN_TEXT, 42),
     InvalidInputError, "message"),
    ("content type is None", lambda s, p: s.send_message(None, "hi"),
     InvalidInputError, "content type"),
    ("content type is int", lambda s, p: s.send_message(7, "hi"),
     InvalidInputError, "content type"),
    # send_event
    ("message type as event", lambda s, p: s.send_event(ContentType.PLAIN_TEXT),
     InvalidInputError, "event content type"),
    ("event content is int", lambda s, p: s.send_event(ContentType.TYPING, 5),
     InvalidInputError, "content"),
    ("oversized event content",
     lambda s, p: s.send_event(ContentType.TYPING, "x" * (MAX_CONTENT_LENGTH + 1)),
     InvalidInputError, str(MAX_CONTENT_LENGTH)),
    # receipts
    ("unknown receipt type", lambda s, p: s.send_message_receipt("read-ish", "m1"),
     InvalidInputError, "receipt"),
    ("receipt for nothing", lambda s, p: s.send_message_receipt(
        MessageReceiptType.MESSAGE_READ, ""), InvalidInputError, "message"),
    ("receipt for an int", lambda s, p: s.send_message_receipt(
        MessageReceiptType.MESSAGE_READ, 5), InvalidInputError, "message"),
    # attachments
    ("missing file", lambda s, p: s.send_attachment(p / "nope.png"),
     InvalidInputError, "no such file"),
    ("directory", lambda s, p: s.send_attachment(p), InvalidInputError, "directory"),
    ("unsupported type", lambda s, p: s.send_attachment(_file(p, "tool.exe", 10)),
     UnsupportedAttachmentError, r"\.exe"),
    ("empty file", lambda s, p: s.send_attachment(_file(p, "empty.png", 0)),
     UnsupportedAttachmentError, "empty"),
    ("oversized file", lambda s, p: s.send_attachment(
        _file(p, "huge.png", MAX_ATTACHMENT_BYTES + 1)), UnsupportedAttachmentError, "limit"),
    ("path is int", lambda s, p: s.send_attachment(5), InvalidInputError, "path"),
    ("path is None", lambda s, p: s.send_attachment(None), InvalidInputError, "path"),
    ("empty attachment id", lambda s, p: s.get_attachment_download_url(""),
     InvalidInputError, "attachment_id"),
    ("attachment id is int", lambda s, p: s.get_attachment_download_url(5),
     InvalidInputError, "attachment_id"),
    ("download without id", lambda s, p: s.download_attachment("", "a.png"),
     InvalidInputError, "attachment_id"),
    ("download filename is int", lambda s, p: s.download_attachment("att", 5),
     InvalidInputError, "filename"),
    ("download into a file", lambda s, p: s.download_attachment(
        "att", "a.png", _file(p, "plain.txt", 3)), InvalidInputError, "directory"),
    # views
    ("empty view token", lambda s, p: s.describe_view(""), InvalidInputError, "view_token"),
    ("view token is None", lambda s, p: s.describe_view(None), InvalidInputError, "view_token"),
    # history
    ("scan direction", lambda s, p: s.get_transcript(scan_direction="UP"),
     InvalidInputError, "scan_direction"),
    ("sort order", lambda s, p: s.get_transcript(sort_order="RANDOM"),
     InvalidInputError, "sort_order"),
    ("max_results too big", lambda s, p: s.get_transcript(max_results=101),
     InvalidInputError, "max_results"),
    ("max_results negative", lambda s, p: s.get_transcript(max_results=-1),
     InvalidInputError, "max_results"),
    ("max_results is str", lambda s, p: s.get_transcript(max_results="5"),
     InvalidInputError, "max_results"),
    ("max_results is bool", lambda s, p: s.get_transcript(max_results=True),
     InvalidInputError, "max_results"),
    ("next_token is int", lambda s, p: s.get_transcript(next_token=5),
     InvalidInputError, "next_token"),
    ("start_position is int", lambda s, p: s.get_transcript(start_position=5),
     InvalidInputError, "start_position"),
    ("start_position two anchors", lambda s, p: s.get_transcript(
        start_position=StartPosition(id="a", most_recent=3)), InvalidInputError, "only one"),
    # pull API and session management
    ("wait_for without predicate", lambda s, p: s.wait_for(None, timeout=0.1),
     InvalidInputError, "predicate"),
    ("messages timeout is str", lambda s, p: s.messages(timeout="soon"),
     InvalidInputError, "timeout"),
    ("configure with a dict", lambda s, p: s.configure({"region": "us-east-1"}),
     InvalidInputError, "GlobalConfig"),
    ("connect twice", lambda s, p: s.connect(ChatDetails(participant_token="x")),
     ConnectChatError, "already connected"),
]


def _file(directory: Path, name: str, size: int) -> Path:
    path = directory / name
    with open(path, "wb") as out:
        if size:
            out.truncate(size)  # sparse: cheap even at 20 MB
    return path


def _requests_seen(emu: Any) -> int:
    return len(emu.calls())


@pytest.fixture
def connected(emu: Any, config: GlobalConfig) -> Iterator[tuple[ChatSession, Any]]:
    """A connected session with two messages; no automatic receipts (no request of its own),
    and a short outbox deadline (a send the service keeps failing becomes FAILED quickly)."""
    quiet = MessageReceipts(should_send_message_receipts=False)
    config = attrs.evolve(config, features=Features(message_receipts=quiet),
                          send_timeout=1.0, send_retry_base=0.05, send_retry_cap=0.2)
    with connected_session(emu, config, details=emu.start_chat(display_name="Ann"),
                           agent_joins="Sam") as chat:
        _add_history(chat.session, chat.agent)
        yield chat.session, emu


def _add_history(session: ChatSession, agent: Any) -> None:
    agent_id = agent.send_message("something to keep")
    mine = session.send_message(ContentType.PLAIN_TEXT, "mine to keep")

    def settled() -> bool:
        items = list(session.transcript)
        ids = [i.id for i in items]
        texts = [getattr(i, "text", None) for i in items]
        return agent_id in ids and mine.id in ids and texts.count("mine to keep") == 1

    wait_until(settled, what="both messages in the transcript, the sent one confirmed")


@pytest.mark.parametrize("label, call, error, message", BAD_CALLS,
                         ids=[case[0] for case in BAD_CALLS])
def test_bad_argument_raises_typed_error_before_any_request(
        connected: tuple[ChatSession, Any], tmp_path: Path, label: str, call: Call,
        error: type[ConnectChatError], message: str) -> None:
    session, emu = connected
    before_items = list(session.transcript)
    before_calls = _requests_seen(emu)
    before_sockets = emu.websocket_count()
    with pytest.raises(error) as raised:
        call(session, tmp_path)
    assert re.search(message, str(raised.value), re.IGNORECASE), str(raised.value)
    assert _requests_seen(emu) == before_calls, f"{label}: a request went out"
    assert emu.websocket_count() == before_sockets
    assert session.is_chat_session_active()
    after = list(session.transcript)
    assert {i.id for i in before_items} <= {i.id for i in after}, "the transcript lost items"
    assert len(after) == len(before_items), "the bad call added an item"
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".download-")]


def test_a_failed_send_keeps_the_transcript_and_marks_the_message(
        connected: tuple[ChatSession, Any]) -> None:
    session, emu = connected
    before = {i.id for i in session.transcript}
    emu.faults.http_errors(status=503, rate=1.0, operations=["SendMessage"])
    with pytest.raises(ConnectChatError):
        session.send_message(ContentType.PLAIN_TEXT, "will fail")
    emu.faults.clear()
    wait_until(lambda: any(getattr(i, "status", None) is MessageStatus.FAILED
                           for i in session.transcript), what="FAILED placeholder")
    assert before <= {i.id for i in session.transcript}
    assert session.is_chat_session_active()
    sent = session.send_message(ContentType.PLAIN_TEXT, "works again")
    wait_until(lambda: any(i.id == sent.id for i in session.transcript))


def _sending_calls(tmp_path: Path) -> list[tuple[str, Call]]:
    png = _file(tmp_path, "ok.png", 10)
    return [
        ("send_message", lambda s, p: s.send_message(ContentType.PLAIN_TEXT, "hi")),
        ("send_event", lambda s, p: s.send_event(ContentType.TYPING)),
        ("send_message_receipt",
         lambda s, p: s.send_message_receipt(MessageReceiptType.MESSAGE_READ, "m1")),
        ("send_attachment", lambda s, p: s.send_attachment(png)),
        ("get_attachment_download_url", lambda s, p: s.get_attachment_download_url("a1")),
        ("download_attachment", lambda s, p: s.download_attachment("a1", "a.png", p)),
        ("describe_view", lambda s, p: s.describe_view("view-token")),
        ("get_transcript", lambda s, p: s.get_transcript()),
    ]


def test_closed_session_raises_session_closed_before_any_request(
        connected: tuple[ChatSession, Any], tmp_path: Path) -> None:
    session, emu = connected
    kept = {i.id for i in session.transcript}
    session.disconnect()
    assert kept <= {i.id for i in session.transcript}, "disconnect lost items"
    kept = {i.id for i in session.transcript}
    before = _requests_seen(emu)
    for name, call in _sending_calls(tmp_path):
        with pytest.raises(SessionClosedError, match=r"(not connected|ended)"):
            call(session, tmp_path)
        assert _requests_seen(emu) == before, f"{name} made a request on a closed session"
    assert kept <= {i.id for i in session.transcript}


def test_never_connected_session_raises_session_closed(tmp_path: Path) -> None:
    session = ChatSession(GlobalConfig(endpoint_url="http://127.0.0.1:9"))
    for name, call in _sending_calls(tmp_path):
        with pytest.raises(SessionClosedError):
            call(session, tmp_path)
        assert name


def test_ended_chat_raises_chat_ended(connected: tuple[ChatSession, Any]) -> None:
    session, emu = connected
    contact = session.get_connection_details_provider().get_chat_details().contact_id
    kept = {i.id for i in session.transcript}
    emu.end_chat(contact)
    wait_until(lambda: not session.is_chat_session_active(), what="chat ended")
    with pytest.raises(ChatEndedError):
        session.send_message(ContentType.PLAIN_TEXT, "too late")
    assert kept <= {i.id for i in session.transcript}


@pytest.mark.parametrize("details", [None, "token", {"participant_token": "x"},
                                     ChatDetails(participant_token="")])
def test_connect_rejects_bad_details_before_any_request(emu: Any, session: ChatSession,
                                                        details: Any) -> None:
    before = _requests_seen(emu)
    with pytest.raises(InvalidInputError, match="ChatDetails"):
        session.connect(details)
    assert _requests_seen(emu) == before
    assert not session.is_chat_session_active()


@pytest.mark.parametrize("changes, word", [
    ({"heartbeat_interval": 0}, "heartbeat_interval"),
    ({"connect_timeout": -1}, "connect_timeout"),
    ({"join_timeout": "2"}, "join_timeout"),
    ({"inbox_size": 1}, "inbox_size"),
    ({"region": ""}, "region"),
    ({"region": 5}, "region"),
    ({"endpoint_url": 5}, "endpoint_url"),
    ({"endpoint_url": "127.0.0.1:8000"}, "endpoint_url"),
    ({"transcript_page_size": 0}, "transcript_page_size"),
    ({"features": "receipts please"}, "features"),
    ({"botocore_config": {"retries": 3}}, "botocore_config"),
    ({"max_reconnect_attempts": -1}, "max_reconnect_attempts"),
    ({"max_reconnect_attempts": "3"}, "max_reconnect_attempts"),
    ({"custom_aws_client": 5}, "custom_aws_client"),
    ({"reconnect_backoff_factor": 0.5}, "reconnect_backoff_factor"),
])
def test_global_config_rejects_bad_values(changes: dict[str, Any], word: str) -> None:
    with pytest.raises(InvalidInputError, match=word):
        GlobalConfig(**changes)


def test_session_rejects_a_config_of_the_wrong_type() -> None:
    with pytest.raises(InvalidInputError, match="GlobalConfig"):
        ChatSession({"region": "us-east-1"})  # type: ignore[arg-type]


@pytest.mark.parametrize("timeout", ["soon", -1, True])
def test_connect_rejects_a_bad_timeout_before_any_request(emu: Any, session: ChatSession,
                                                          timeout: Any) -> None:
    details = emu.start_chat(display_name="Ann")
    before = _requests_seen(emu)
    with pytest.raises(InvalidInputError, match="timeout"):
        session.connect(details, timeout=timeout)
    assert _requests_seen(emu) == before
