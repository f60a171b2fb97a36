"""No token or pre-signed URL query ever reaches a log record, a repr, a str or an error.

Issue 8, point 2. A whole chat runs with DEBUG on for the entire ``connect_chat`` logger
tree: connect, messages both ways, an attachment up and down, a dropped socket and the
reconnect, service errors and rejected input. Then every captured record (message, args,
formatted traceback), every callback argument's repr/str, and every exception raised is
scanned for the real secret values collected along the way.
"""

from __future__ import annotations

import json
import logging
import traceback
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import attrs
import pytest

from connect_chat import AWSClient, ChatSession, ContentType, GlobalConfig
from connect_chat.errors import ConnectChatError
from connect_chat.models import ConnectionDetails
from connect_chat.resume import RestChat, SavedChat
from connect_chat.session import CALLBACK_NAMES
from tests.conftest import wait_until
from tests.hardening.support import capture_logs


class SecretCollector:
    """Every secret value the chat used, gathered from the client's own responses."""

    def __init__(self) -> None:
        self.values: set[str] = set()

    def add_token(self, token: str | None) -> None:
        if token:
            self.values.add(token)

    def add_url(self, url: str | None) -> None:
        if not url:
            return
        query = urlsplit(url).query
        if query:
            self.values.add(query)
            for _, value in parse_qsl(query):
                if len(value) >= 8:
                    self.values.add(value)


def recording_client(secrets: SecretCollector) -> type[AWSClient]:
    class RecordingClient(AWSClient):
        def create_participant_connection(self, participant_token: str) -> ConnectionDetails:
            details = super().create_participant_connection(participant_token)
            secrets.add_token(details.connection_token)
            secrets.add_url(details.websocket_url)
            return details

        def start_attachment_upload(self, *args: Any, **kwargs: Any) -> Any:
            response = super().start_attachment_upload(*args, **kwargs)
            secrets.add_url(response.get("UploadMetadata", {}).get("Url"))
            return response

        def get_attachment(self, *args: Any, **kwargs: Any) -> Any:
            response = super().get_attachment(*args, **kwargs)
            secrets.add_url(response.get("Url"))
            return response

    return RecordingClient


def texts_of_error(error: BaseException) -> list[str]:
    out = [str(error), repr(error), "".join(traceback.format_exception(error))]
    for arg in error.args:
        out.append(repr(arg))
    return out


def test_a_whole_chat_at_debug_leaks_no_secret(emu: Any, config: GlobalConfig,
                                               tmp_path: Path) -> None:
    secrets = SecretCollector()
    config = attrs.evolve(config, custom_aws_client=recording_client(secrets),
                          send_timeout=1.0, send_retry_base=0.05, send_retry_cap=0.2)
    seen: list[str] = []
    errors: list[BaseException] = []

    session = ChatSession(config)

    def recorder(name: str) -> Any:
        def record(*args: Any) -> None:
            for arg in args:
                seen.append(repr(arg))
                seen.append(str(arg))
                if hasattr(arg, "transcript_list"):
                    seen.extend(repr(i) for i in arg.transcript_list)
        return record

    for name in CALLBACK_NAMES:
        setattr(session, name, recorder(name))
    reestablished: list[int] = []
    session.on_connection_reestablished = lambda: reestablished.append(1)

    details = emu.start_chat(display_name="Ann")
    secrets.add_token(details.participant_token)
    agent = emu.agent(details.contact_id)
    attachment = tmp_path / "photo.png"
    attachment.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 2000)

    with capture_logs() as capture:
        session.connect(details)
        agent.join(display_name="Sam")
        agent.send_message("hello Ann")
        sent = session.send_message(ContentType.PLAIN_TEXT, "hi Sam")
        session.send_event(ContentType.TYPING)
        session.wait_for(lambda item: getattr(item, "text", None) == "hello Ann", timeout=5)

        # attachment up and down (pre-signed URLs with credentials in the query)
        item = session.send_attachment(attachment)
        # the program gets the URL itself (that is the point); the SDK must not log it
        assert urlsplit(session.get_attachment_download_url(item.attachment_id)).query
        session.download_attachment(item.attachment_id, str(tmp_path / "copy.png"))

        # a dropped socket: reconnect with a fresh URL and a new connection token
        emu.faults.drop_websockets(details.contact_id)
        wait_until(lambda: reestablished, timeout=10, what="reconnect")
        agent.send_message("after the reconnect")
        session.wait_for(lambda i: getattr(i, "text", None) == "after the reconnect", timeout=5)

        # service errors and rejected input
        emu.faults.http_errors(status=503, rate=1.0, operations=["SendMessage"])
        with pytest.raises(ConnectChatError) as failed:
            session.send_message(ContentType.PLAIN_TEXT, "this one fails")
        errors.append(failed.value)
        emu.faults.clear()
        for bad in (lambda: session.send_message("text/unknown", "x"),
                    lambda: session.send_message(ContentType.PLAIN_TEXT, ""),
                    lambda: session.describe_view("not-a-view-token"),
                    lambda: session.get_attachment_download_url("no-such-attachment"),
                    lambda: session.send_attachment(tmp_path / "missing.png")):
            with pytest.raises(ConnectChatError) as raised:
                bad()
            errors.append(raised.value)

        # the chat handed to another process (saved state, REST-only client)
        saved = SavedChat.from_session(session)
        seen.extend([repr(saved), str(saved),
                     json.dumps(saved.to_dict(include_secrets=False))])
        with RestChat(saved) as rest:
            rest.send_message(ContentType.PLAIN_TEXT, "from another worker")
            seen.extend(repr(i) for i in rest.new_items())
            seen.extend([repr(rest), repr(rest.saved)])

        # everything the program can print
        provider = session.get_connection_details_provider()
        seen.extend([repr(session), str(session), repr(provider), repr(details), str(details),
                     repr(provider.get_connection_details()), repr(sent), repr(config),
                     repr(session.transcript), repr(session.global_config)])
        seen.extend(repr(i) for i in session.transcript)
        session.disconnect()

    texts = capture.texts()
    assert len(texts) >= 5, "DEBUG logging must be on for the whole chat"
    assert len(secrets.values) >= 5, "the test must have seen the real secrets"
    assert any(r.levelno == logging.DEBUG for r in capture.records)
    haystacks = {"log": texts, "repr/str": seen,
                 "error": [t for e in errors for t in texts_of_error(e)]}
    for where, items in haystacks.items():
        for text in items:
            for secret in secrets.values:
                assert secret not in text, f"a secret leaked into a {where}: {text[:300]!r}"


def test_details_reprs_hide_tokens_and_urls() -> None:
    from connect_chat import ChatDetails

    token = "participant-token-SECRET-123456"
    details = ChatDetails(participant_token=token, contact_id="c", participant_id="p")
    conn = ConnectionDetails(websocket_url="wss://host/connect?X-Amz-Signature=SIGSECRET99",
                             connection_token="connection-token-SECRET-654321")
    for text in (repr(details), str(details), repr(conn), str(conn)):
        assert "SECRET" not in text


def test_botocore_parameter_errors_do_not_echo_tokens() -> None:
    """A parameter rejected by botocore's validation: the message must not carry a token."""
    client = AWSClient(endpoint_url="http://127.0.0.1:9")
    token = "connection-token-SECRET-0123456789"
    with pytest.raises(ConnectChatError) as raised:
        client.get_transcript(token, max_results="many")  # type: ignore[arg-type]
    for text in texts_of_error(raised.value):
        assert token not in text
