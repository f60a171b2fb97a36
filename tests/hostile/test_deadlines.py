"""Every blocking call ends by its deadline, whatever the server does (issue 16, item 2).

The hostile server forwards to the emulator and then trickles the answer one byte every
0.5 s (each read succeeds well within botocore's 30 s ``read_timeout``, so only a bound on
the whole call can end it), or reads the request and never answers. Before deadlines.py,
``connect(timeout=3)`` against a trickling CreateParticipantConnection was still blocked
after 200 s, and ``send_message`` after 150 s with ``send_timeout=30``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from connect_chat import ChatSession, ContentType, GlobalConfig, Message, MessageStatus
from connect_chat.client import AWSClient
from connect_chat.deadlines import TIMER_THREAD_NAME, install_botocore_hooks
from connect_chat.errors import ConnectionTimeoutError, RequestTimeoutError
from connect_chat.resume import RestChat, SavedChat
from tests.conftest import connected_session, wait_until
from tests.hostile.conftest import SLACK, evolve, returns_within
from tests.hostile.server import DOWNLOAD, HANG, SILENT, UPLOAD, HostileServer, trickle


def _failed(session: ChatSession, text: str) -> bool:
    return any(isinstance(i, Message) and i.text == text and i.status is MessageStatus.FAILED
               for i in session.transcript)


def _no_timer_threads() -> bool:
    return not [t for t in threading.enumerate() if t.name == TIMER_THREAD_NAME]


def test_connect_against_a_trickling_create_participant_connection(
        emu: Any, hostile: HostileServer, hsession: ChatSession) -> None:
    hostile.set("CreateParticipantConnection", trickle(0.5))
    details = emu.start_chat(display_name="Ann")
    outcome = returns_within(lambda: hsession.connect(details, timeout=1.5), 1.5 + SLACK,
                             "connect(timeout=1.5) against a trickling server")
    assert isinstance(outcome.error, ConnectionTimeoutError), outcome.error
    assert isinstance(outcome.error.__cause__, RequestTimeoutError)
    assert outcome.elapsed >= 1.4
    assert not hsession.is_chat_session_active()
    assert _no_timer_threads()
    # the same session connects once the server behaves
    hostile.clear()
    hsession.connect(details, timeout=5)
    assert hsession.is_chat_session_active()


def test_send_message_against_a_trickling_send_message_fails_then_resends(
        emu: Any, hostile: HostileServer, hconfig: GlobalConfig) -> None:
    with connected_session(emu, hconfig, details=emu.start_chat(display_name="Ann")) as chat:
        hsession, details = chat.session, chat.details
        hostile.set("SendMessage", trickle(0.5))
        outcome = returns_within(
            lambda: hsession.send_message(ContentType.PLAIN_TEXT, "slow answer"),
            1.5 + SLACK, "send_message(send_timeout=1.5) against a trickling server")
        assert isinstance(outcome.error, RequestTimeoutError), outcome.error
        # The request did reach the service (its answer was what trickled): the transcript may
        # show it SENT from the WebSocket; the outbox keeps it FAILED, to be resent.
        failed = next(i for i in hsession.transcript if isinstance(i, Message)
                      and i.text == "slow answer")
        hostile.clear()
        sent = hsession.resend_failed_message(failed.persistent_id or failed.id)
        assert sent.status is MessageStatus.SENT
        # the trickled attempt did reach the service: the same ClientToken stored it once
        stored = [i for i in emu.transcript(details.contact_id)
                  if i.get("Type") == "MESSAGE" and i.get("Content") == "slow answer"]
        assert len(stored) == 1


def test_send_message_against_a_silent_server(
        emu: Any, hostile: HostileServer, hconfig: GlobalConfig) -> None:
    with connected_session(emu, hconfig, details=emu.start_chat(display_name="Ann")) as chat:
        hsession = chat.session
        hostile.set("SendMessage", SILENT)
        outcome = returns_within(lambda: hsession.send_message(ContentType.PLAIN_TEXT, "void"),
                                 1.5 + SLACK, "send_message against a server that never answers")
        assert isinstance(outcome.error, RequestTimeoutError), outcome.error
        assert _failed(hsession, "void")


def _attachment(tmp_path: Path) -> Path:
    path = tmp_path / "note.txt"
    path.write_text("hello")
    return path


@pytest.mark.parametrize("route", ["SendEvent", "GetTranscript", "DescribeView",
                                   "GetAttachment", "CreateParticipantConnection"])
def test_session_rest_calls_against_a_silent_server(
        emu: Any, hostile: HostileServer, hsession: ChatSession, route: str) -> None:
    """request_timeout (1 s here) bounds each of them; a silent CreateParticipantConnection
    is the connect() deadline."""
    details = emu.start_chat(display_name="Ann")
    if route == "CreateParticipantConnection":
        hostile.set(route, SILENT)
        outcome = returns_within(lambda: hsession.connect(details, timeout=1.0), 1.0 + SLACK,
                                 "connect against a silent server")
        assert isinstance(outcome.error, ConnectionTimeoutError), outcome.error
        return
    hsession.connect(details)
    hostile.set(route, SILENT)
    calls = {
        "SendEvent": lambda: hsession.send_event(ContentType.TYPING),
        "GetTranscript": lambda: hsession.get_transcript(),
        "DescribeView": lambda: hsession.describe_view("some-view-token"),
        "GetAttachment": lambda: hsession.get_attachment_download_url("some-attachment"),
    }
    outcome = returns_within(calls[route], 1.0 + SLACK, f"{route} against a silent server")
    assert isinstance(outcome.error, RequestTimeoutError), outcome.error
    assert outcome.elapsed >= 0.9


def test_attachment_transfers_against_a_silent_server(
        emu: Any, hostile: HostileServer, hconfig: GlobalConfig, tmp_path: Path) -> None:
    """The PUT (send_timeout) and the GET (transfer_timeout) to the pre-signed URLs."""
    with connected_session(emu, hconfig, details=emu.start_chat(display_name="Ann")) as chat:
        hsession = chat.session
        sent = hsession.send_attachment(_attachment(tmp_path))
        assert sent.attachment_id
        hostile.set(DOWNLOAD, SILENT)
        outcome = returns_within(
            lambda: hsession.download_attachment(sent.attachment_id or "", "copy.txt", tmp_path),
            1.0 + 1.0 + SLACK, "download_attachment against a silent server")
        assert isinstance(outcome.error, RequestTimeoutError), outcome.error
        assert not (tmp_path / "copy.txt").exists()
        hostile.set(UPLOAD, trickle(0.5))
        outcome = returns_within(lambda: hsession.send_attachment(_attachment(tmp_path)),
                                 1.5 + SLACK, "send_attachment against a trickling upload")
        assert isinstance(outcome.error, RequestTimeoutError), outcome.error
        assert any(isinstance(i, Message) and i.status is MessageStatus.FAILED
                   for i in hsession.transcript)


@pytest.mark.parametrize("call", ["send_message", "send_event", "get_transcript",
                                  "describe_view", "get_attachment_download_url",
                                  "download_attachment", "send_attachment", "disconnect"])
def test_rest_chat_calls_against_a_silent_server(
        emu: Any, hostile: HostileServer, tmp_path: Path, call: str) -> None:
    """RestChat: each call is bounded by its AWSClient's ``call_timeout`` (1 s here), the
    attachment transfers by ``transfer_timeout``."""
    details = emu.start_chat(display_name="Ann")
    saved = SavedChat.from_chat_details(details, endpoint_url=hostile.url)
    client = AWSClient(endpoint_url=hostile.url, call_timeout=1.0)
    with RestChat(saved, client=client, transfer_timeout=1.0) as chat:
        chat.refresh_connection()
        attachment_id = chat.send_attachment(_attachment(tmp_path)) \
            if call == "download_attachment" else ""
        routes = {"send_message": "SendMessage", "send_event": "SendEvent",
                  "get_transcript": "GetTranscript", "describe_view": "DescribeView",
                  "get_attachment_download_url": "GetAttachment",
                  "download_attachment": DOWNLOAD, "send_attachment": UPLOAD,
                  "disconnect": "DisconnectParticipant"}
        hostile.set(routes[call], SILENT)
        calls = {
            "send_message": lambda: chat.send_message(ContentType.PLAIN_TEXT, "hi"),
            "send_event": lambda: chat.send_event(ContentType.TYPING),
            "get_transcript": lambda: chat.get_transcript(),
            "describe_view": lambda: chat.describe_view("some-view-token"),
            "get_attachment_download_url": lambda: chat.get_attachment_download_url("x"),
            "download_attachment": lambda: chat.download_attachment(attachment_id, "c.txt",
                                                                    tmp_path),
            "send_attachment": lambda: chat.send_attachment(_attachment(tmp_path)),
            "disconnect": chat.disconnect,
        }
        outcome = returns_within(calls[call], 1.0 + SLACK, f"RestChat.{call}")
        assert isinstance(outcome.error, RequestTimeoutError), outcome.error


def test_a_server_that_accepts_and_never_reads(emu: Any, hostile: HostileServer) -> None:
    hostile.set("*", HANG)
    client = AWSClient(endpoint_url=hostile.url, call_timeout=1.0)
    try:
        outcome = returns_within(lambda: client.create_participant_connection("token"),
                                 1.0 + SLACK, "a call to a server that never reads")
    finally:
        client.close()
    assert isinstance(outcome.error, RequestTimeoutError), outcome.error


def test_the_botocore_hooks_are_installed() -> None:
    """If a botocore upgrade moves the internals deadlines.py relies on, this fails first."""
    client = AWSClient(endpoint_url="http://127.0.0.1:9")
    try:
        assert install_botocore_hooks(client.botocore_client)
        table = client.botocore_client._endpoint.http_session._pool_classes_by_scheme
        assert table["http"].__name__.startswith("Watched")
    finally:
        client.close()


def test_no_deadline_thread_outlives_a_call(emu: Any, config: GlobalConfig) -> None:
    with connected_session(emu, evolve(config),
                           details=emu.start_chat(display_name="Ann")) as chat:
        session = chat.session
        session.send_message(ContentType.PLAIN_TEXT, "hi")
        session.get_transcript()
        assert _no_timer_threads()
    wait_until(_no_timer_threads, timeout=2)


def test_a_client_subclass_that_skips_init_can_still_be_cancelled_and_closed() -> None:
    """disconnect()/reset() call cancel_calls() and close() on any custom client."""

    class Fake(AWSClient):
        def __init__(self) -> None:  # a fake: no botocore client at all
            pass

    fake = Fake()
    assert fake.cancel_calls() == 0
    fake.close()
    assert fake.call_timeout == 30.0
