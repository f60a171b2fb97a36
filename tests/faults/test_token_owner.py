"""One owner of the connection token (issue 13, point 1): every REST path of a session
survives an expired connection token -- the call is refused (403), the one owner makes a
new connection, and the call goes through with the new token.

Before, five paths used the token as it was and failed after it expired: the first
transcript page of ``connect()``, ``get_attachment_download_url``, ``download_attachment``,
``get_authentication_url`` and ``cancel_participant_authentication`` (``describe_view``
too). Each test below fails without the fix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from connect_chat import ChatSession, GlobalConfig, Message
from connect_chat.credentials import Credentials
from connect_chat.errors import ChatEndedError, SessionClosedError
from connect_chat.models import ConnectionDetails
from tests.conftest import Recorder


def _statuses(emu: Any, operation: str, cid: str) -> list[int]:
    return [c.status for c in emu.calls(operation, cid)]


def _renewed(emu: Any, cid: str, before: int) -> bool:
    return len(emu.calls("CreateParticipantConnection", cid)) == before + 1


def test_the_first_transcript_page_of_connect_survives_a_refused_token(
        emu: Any, session: ChatSession) -> None:
    details = emu.start_chat()
    cid = details.contact_id
    agent = emu.agent(cid)
    agent.join()
    said = agent.send_message("waiting for you")
    emu.faults.http_errors(status=403, count=1, operations=["GetTranscript"], contact_id=cid)
    session.connect(details)
    assert _statuses(emu, "GetTranscript", cid) == [403, 200]
    assert said in [item.id for item in session.transcript]
    assert len(emu.calls("CreateParticipantConnection", cid)) == 2


def test_attachment_url_and_download_survive_an_expired_token(
        emu: Any, session: ChatSession, tmp_path: Path) -> None:
    details = emu.start_chat()
    cid = details.contact_id
    agent = emu.agent(cid)
    agent.join()
    session.connect(details)
    agent.send_attachment("report.pdf", b"%PDF-1.4 data", "application/pdf")
    item = session.wait_for(lambda i: isinstance(i, Message) and i.text == "report.pdf",
                            timeout=5)
    assert isinstance(item, Message) and item.attachment_id
    before = len(emu.calls("CreateParticipantConnection", cid))
    assert emu.faults.expire_connection_tokens(cid) >= 1
    assert session.get_attachment_download_url(item.attachment_id)
    assert _statuses(emu, "GetAttachment", cid) == [403, 200]
    assert _renewed(emu, cid, before)
    assert emu.faults.expire_connection_tokens(cid) >= 1
    saved = session.download_attachment(item.attachment_id, item.text, tmp_path)
    assert saved.read_bytes() == b"%PDF-1.4 data"
    assert _statuses(emu, "GetAttachment", cid) == [403, 200, 403, 200]
    assert _renewed(emu, cid, before + 1)


def test_authentication_url_and_cancel_survive_an_expired_token(
        emu: Any, session: ChatSession) -> None:
    details = emu.start_chat()
    cid = details.contact_id
    recorder = Recorder(session)
    session.connect(details)
    session_id = emu.start_authentication(cid)
    recorder.wait("on_authentication_initiated")
    assert emu.faults.expire_connection_tokens(cid) >= 1
    assert session.get_authentication_url(session_id, "https://shop.example/signed-in")
    assert _statuses(emu, "GetAuthenticationUrl", cid) == [403, 200]
    assert emu.faults.expire_connection_tokens(cid) >= 1
    session.cancel_participant_authentication(session_id)
    assert _statuses(emu, "CancelParticipantAuthentication", cid) == [403, 200]
    recorder.wait("on_authentication_cancelled")


def test_describe_view_survives_an_expired_token(emu: Any, session: ChatSession) -> None:
    details = emu.start_chat()
    cid = details.contact_id
    agent = emu.agent(cid)
    session.connect(details)
    view = agent.send_view(view_id="detail", name="Detail", actions=("submit",),
                           template={"Head": "x"})
    message = session.wait_for(lambda i: i.id == view.message_id, timeout=5)
    assert isinstance(message, Message)
    token = json.loads(message.text)["data"]["content"]["viewToken"]
    assert emu.faults.expire_connection_tokens(cid) >= 1
    assert session.describe_view(token).name == "Detail"
    assert _statuses(emu, "DescribeView", cid) == [403, 200]


def test_concurrent_refusals_make_one_new_connection(emu: Any, config: GlobalConfig) -> None:
    """Two threads refused the same token: the one owner asks for one new connection."""
    details = emu.start_chat()
    with ChatSession(config) as session:
        session.connect(details)
        client = session._aws_client()
        conn = session._conn
        assert conn is not None
        creds = conn.credentials
        old = creds.token()
        before = len(emu.calls("CreateParticipantConnection", details.contact_id))
        first = creds.refresh(old)
        second = creds.refresh(old)  # already replaced: no second connection
        assert first == second != old
        assert len(emu.calls("CreateParticipantConnection", details.contact_id)) == before + 1
        assert client is conn.client


class _Refusing:
    """A client whose CreateParticipantConnection is refused: the chat is over."""

    def create_participant_connection(self, participant_token: str) -> ConnectionDetails:
        from connect_chat.errors import AccessDeniedError

        raise AccessDeniedError("refused", code="AccessDeniedException", status=403)


def test_a_refused_participant_token_is_chat_ended_and_a_closed_owner_refuses() -> None:
    creds = Credentials(_Refusing(), "participant-token",
                        ConnectionDetails(connection_token="old"))
    with pytest.raises(ChatEndedError):
        creds.refresh("old")
    assert "old" not in repr(creds) and "participant-token" not in repr(creds)
    creds.close()
    with pytest.raises(SessionClosedError):
        creds.token()
