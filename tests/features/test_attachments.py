"""Attachments: checks before any request, the upload steps, FAILED, round trip, safe download."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from connect_chat import ChatSession, Message, MessageStatus
from connect_chat.errors import (
    AttachmentError,
    ConnectChatError,
    UnsupportedAttachmentError,
)
from tests.conftest import connected_session, wait_until

#: Headers urllib3 adds to frame any request (not part of what the PUT is asked to carry).
FRAMING = {"host", "content-length", "user-agent", "accept-encoding"}


def _attachment_rows(session: ChatSession, name: str) -> list[Message]:
    return [i for i in session.transcript if isinstance(i, Message) and i.text == name]


@pytest.mark.parametrize("name, size", [
    ("big.pdf", 21 * 1024 * 1024),          # over the 20 MB limit
    ("just-over.pdf", 20 * 1024 * 1024 + 1),
    ("setup.exe", 1024),                     # not a type the service accepts
    ("empty.txt", 0),
])
def test_bad_files_fail_before_any_request(emu: Any, tmp_path: Path, name: str, size: int) -> None:
    with connected_session(emu) as chat:
        session = chat.session
        path = tmp_path / name
        with open(path, "wb") as f:
            f.truncate(size)  # sparse: no 21 MB written to disk
        before = len(emu.calls())
        shown = len(session.transcript)
        with pytest.raises(UnsupportedAttachmentError):
            session.send_attachment(path)
        assert len(emu.calls()) == before  # not one request: not even StartAttachmentUpload
        assert len(session.transcript) == shown and not _attachment_rows(session, name)


def test_upload_steps_and_headers(emu: Any, tmp_path: Path) -> None:
    with connected_session(emu, record=True) as chat:
        session, details, recorder = chat.session, chat.details, chat.recorder
        path = tmp_path / "notes.txt"
        path.write_bytes(b"attachment body")
        sent = session.send_attachment(path)
        ops = [c for c in emu.calls(contact_id=details.contact_id) if "Attachment" in c.operation]
        assert [c.operation for c in ops] == [
            "StartAttachmentUpload", "UploadAttachment", "CompleteAttachmentUpload"]
        start, put, complete = ops
        assert start.body["AttachmentName"] == "notes.txt"
        assert start.body["AttachmentSizeInBytes"] == len(b"attachment body")
        assert start.body["ContentType"] == "text/plain"
        assert put.status == 200 and put.body == {"Size": len(b"attachment body")}
        # Exactly the HeadersToInclude (the emulator hands out Content-Type and the id header).
        assert {h.lower() for h in put.headers} - FRAMING == {"content-type",
                                                              "x-amz-meta-attachment-id"}
        assert put.headers["x-amz-meta-attachment-id"] == sent.attachment_id
        assert complete.body["AttachmentIds"] == [sent.attachment_id]
        first = recorder.wait(
            "on_message_received",
            where=lambda i: isinstance(i, Message) and i.text == "notes.txt")[0][0]
        assert first.status is MessageStatus.SENDING
        wait_until(lambda: [r.status for r in _attachment_rows(session, "notes.txt")]
                   == [MessageStatus.SENT], what="one SENT row")
        assert session.stats.attachments_sent == 1


def test_a_failed_put_marks_the_attachment_failed(emu: Any, tmp_path: Path) -> None:
    with connected_session(emu) as chat:
        session, details = chat.session, chat.details
        path = tmp_path / "scan.pdf"
        path.write_bytes(b"%PDF-1.4 scan")
        emu.faults.http_errors(status=403, rate=1.0, operations=["UploadAttachment"])
        with pytest.raises(AttachmentError):
            session.send_attachment(path)
        wait_until(lambda: [r.status for r in _attachment_rows(session, "scan.pdf")]
                   == [MessageStatus.FAILED], what="the row to be FAILED")
        assert emu.calls("CompleteAttachmentUpload", details.contact_id) == []
        assert all(c.status == 403 for c in emu.calls("UploadAttachment", details.contact_id))


def test_a_failed_start_marks_the_attachment_failed(emu: Any, tmp_path: Path) -> None:
    with connected_session(emu) as chat:
        session, details = chat.session, chat.details
        path = tmp_path / "table.csv"
        path.write_bytes(b"a,b\n1,2\n")
        emu.faults.http_errors(status=400, rate=1.0, operations=["StartAttachmentUpload"])
        with pytest.raises(ConnectChatError):
            session.send_attachment(path)
        wait_until(lambda: [r.status for r in _attachment_rows(session, "table.csv")]
                   == [MessageStatus.FAILED], what="the row to be FAILED")
        assert emu.calls("UploadAttachment", details.contact_id) == []


def test_an_attachment_round_trips_byte_for_byte(emu: Any, tmp_path: Path) -> None:
    with connected_session(emu) as chat:
        session = chat.session
        data = random.Random(5).randbytes(3 * 1024 * 1024 + 17)
        path = tmp_path / "photo.png"
        path.write_bytes(data)
        progress: list[tuple[int, int]] = []
        sent = session.send_attachment(path, progress=lambda done, total: progress.append(
            (done, total)))
        assert progress[-1] == (len(data), len(data))
        assert [d for d, _ in progress] == sorted(d for d, _ in progress)
        assert sent.attachment_id is not None
        wait_until(lambda: any(r.status is MessageStatus.SENT
                               for r in _attachment_rows(session, "photo.png")))
        saved = session.download_attachment(sent.attachment_id, "photo.png", tmp_path / "down")
        assert saved == (tmp_path / "down" / "photo.png").resolve()
        assert saved.read_bytes() == data
        again = session.download_attachment(sent.attachment_id, "photo.png", tmp_path / "down")
        assert again.name == "photo (1).png" and again.read_bytes() == data  # never overwritten


@pytest.mark.parametrize("filename", ["../../x", "/etc/passwd", "..\\..\\x", ".."])
def test_a_download_never_leaves_the_chosen_directory(emu: Any,
                                                      tmp_path: Path, filename: str) -> None:
    with connected_session(emu, agent_joins=True) as chat:
        session, agent = chat.session, chat.agent
        attachment_id = agent.send_attachment("report.pdf", b"%PDF agent", "application/pdf")
        session.wait_for(lambda i: isinstance(i, Message) and i.attachment_id == attachment_id,
                         timeout=5)
        target = tmp_path / "inbox" / "deep"
        saved = session.download_attachment(attachment_id, filename, target)
        assert saved.parent == target.resolve()
        assert saved.read_bytes() == b"%PDF agent"
        assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [saved.name]


def test_a_download_defaults_to_a_temporary_directory(emu: Any) -> None:
    with connected_session(emu, agent_joins=True) as chat:
        session, agent = chat.session, chat.agent
        attachment_id = agent.send_attachment("r.txt", b"plain", "text/plain")
        session.wait_for(lambda i: isinstance(i, Message) and i.attachment_id == attachment_id,
                         timeout=5)
        saved = session.download_attachment(attachment_id, "../../x")
        try:
            assert saved.name == "x" and saved.parent.name.startswith("connect-chat-")
            assert saved.read_bytes() == b"plain"
        finally:
            saved.unlink()
            saved.parent.rmdir()
