"""send_attachment / download_attachment / get_attachment_download_url / describe_view."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from connect_chat import Message, MessageStatus
from connect_chat.errors import ResourceNotFoundError, UnsupportedAttachmentError
from tests.conftest import connected_session, wait_until


def test_send_attachment_placeholder_becomes_the_service_item(
        emu: Any, tmp_path: Path) -> None:
    with connected_session(emu, record=True) as chat:
        session, details, recorder = chat.session, chat.details, chat.recorder
        path = tmp_path / "notes.txt"
        path.write_bytes(b"hello attachment")
        progress: list[tuple[int, int]] = []
        sent = session.send_attachment(path, progress=lambda done, total: progress.append(
            (done, total)))
        assert sent.attachment_id and sent.text == "notes.txt"
        assert progress and progress[-1] == (16, 16)
        assert [c.operation for c in emu.calls(contact_id=details.contact_id)
                if "Attachment" in c.operation] == [
            "StartAttachmentUpload", "UploadAttachment", "CompleteAttachmentUpload"]
        first = recorder.wait(
            "on_message_received",
            where=lambda i: isinstance(i, Message) and i.text == "notes.txt")[0][0]
        assert first.status is MessageStatus.SENDING and first.id == sent.persistent_id
        wait_until(lambda: any(isinstance(i, Message) and i.attachment_id == sent.attachment_id
                               and i.status is MessageStatus.SENT for i in session.transcript))
        items = [i for i in session.transcript if isinstance(i, Message) and i.text == "notes.txt"]
        assert len(items) == 1 and items[0].persistent_id == sent.persistent_id
        assert sent.attachment_id is not None
        url = session.get_attachment_download_url(sent.attachment_id)
        assert url.startswith("http://127.0.0.1:")
        saved = session.download_attachment(sent.attachment_id, "../../copy.txt", tmp_path / "dl")
        assert saved.parent == tmp_path / "dl" and saved.name == "copy.txt"
        assert saved.read_bytes() == b"hello attachment"


def test_agent_attachment_arrives_and_downloads(emu: Any,
                                                tmp_path: Path) -> None:
    with connected_session(emu, agent_joins=True) as chat:
        session, agent = chat.session, chat.agent
        returned = agent.send_attachment("report.pdf", b"%PDF-1.4 data", "application/pdf")
        item = session.wait_for(lambda i: isinstance(i, Message) and i.text == "report.pdf",
                                timeout=5)
        assert isinstance(item, Message) and item.attachment_id
        assert returned in (item.id, item.attachment_id)
        assert item.participant == "AGENT" and item.content_type == "application/pdf"
        saved = session.download_attachment(item.attachment_id, item.text, tmp_path)
        assert saved.read_bytes() == b"%PDF-1.4 data"


def test_unsupported_file_is_rejected_before_any_call(emu: Any,
                                                      tmp_path: Path) -> None:
    with connected_session(emu) as chat:
        session, details = chat.session, chat.details
        path = tmp_path / "image.webp"
        path.write_bytes(b"RIFF....WEBP")
        with pytest.raises(UnsupportedAttachmentError):
            session.send_attachment(path)
        assert emu.calls("StartAttachmentUpload", details.contact_id) == []


def test_describe_view(emu: Any) -> None:
    with connected_session(emu) as chat:
        session, agent = chat.session, chat.agent
        view = agent.send_view(view_id="detail", name="Detail", actions=("submit",),
                               template={"Head": "x"})
        message = session.wait_for(lambda i: i.id == view.message_id, timeout=5)
        assert isinstance(message, Message)
        token = json.loads(message.text)["data"]["content"]["viewToken"]
        assert token == view.view_token
        resource = session.describe_view(token)
        assert resource.name == "Detail" and resource.actions == ("submit",)
        assert resource.template == {"Head": "x"}
        with pytest.raises(ResourceNotFoundError):
            session.describe_view("no-such-view")
