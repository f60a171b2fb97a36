"""A file that changes size after StartAttachmentUpload fails at once, typed, and resendable.

Issue 16, item 14. The PUT declares the size StartAttachmentUpload was given; a file that then
shrank used to leave the request waiting for bytes that never came, until the 60 s read
timeout (``ReadTimeout``). Now the short read (or the changed size at open) raises
:class:`~connect_chat.attachments.AttachmentChangedError` at once; the message is FAILED and
``resend_failed_message`` sends it again with its new size.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import attrs
import pytest

from connect_chat import AWSClient, ChatSession, GlobalConfig, MessageStatus
from connect_chat.attachments import AttachmentChangedError, AttachmentFile, upload_file
from connect_chat.errors import AttachmentError
from tests.conftest import connected_session, wait_until
from tests.hardening.support import returns_within

PNG = b"\x89PNG\r\n\x1a\n"


def shrinking_client(path: Path, keep: int) -> type[AWSClient]:
    """Cuts ``path`` to ``keep`` bytes right after the first StartAttachmentUpload answered."""
    cut: list[bool] = []

    class Shrinking(AWSClient):
        def start_attachment_upload(self, *args: Any, **kwargs: Any) -> Any:
            response = super().start_attachment_upload(*args, **kwargs)
            if not cut:
                cut.append(True)
                with open(path, "r+b") as fh:
                    fh.truncate(keep)
            return response

    return Shrinking


def failed_attachments(session: ChatSession) -> list[Any]:
    return [i for i in session.transcript
            if getattr(i, "status", None) is MessageStatus.FAILED]


@pytest.mark.parametrize("keep", [0, 100])
def test_a_file_that_shrank_after_start_fails_at_once_and_resends(
        emu: Any, config: GlobalConfig, tmp_path: Path, keep: int) -> None:
    path = tmp_path / "photo.png"
    content = PNG + b"0" * 5000
    path.write_bytes(content)
    config = attrs.evolve(config, custom_aws_client=shrinking_client(path, keep),
                          send_timeout=30.0)
    with connected_session(emu, config, details=emu.start_chat(display_name="Ann")) as chat:
        session = chat.session
        started = time.monotonic()
        with pytest.raises(AttachmentChangedError) as raised:
            returns_within(lambda: session.send_attachment(path), 10, "send_attachment")
        assert time.monotonic() - started < 5, "the failure must not wait for a timeout"
        assert "photo.png" in str(raised.value) and "send it again" in str(raised.value)
        wait_until(lambda: len(failed_attachments(session)) == 1, what="a FAILED attachment")
        (failed,) = failed_attachments(session)
        path.write_bytes(content)  # the program puts the file back and resends
        resent = session.resend_failed_message(failed.persistent_id or failed.id)
        assert resent.attachment_id


def test_a_file_that_shrinks_during_the_put_fails_at_once(
        emu: Any, config: GlobalConfig, tmp_path: Path) -> None:
    """Cut after the first 64 KiB chunk left: the next read comes up short."""
    path = tmp_path / "big.png"
    path.write_bytes(PNG + b"1" * (300 * 1024))

    def progress(done: int, total: int) -> None:
        if done < total:
            with open(path, "r+b") as fh:
                fh.truncate(done)

    with connected_session(emu, attrs.evolve(config, send_timeout=30.0),
                           details=emu.start_chat(display_name="Ann")) as chat:
        session = chat.session
        started = time.monotonic()
        with pytest.raises(AttachmentChangedError) as raised:
            returns_within(lambda: session.send_attachment(path, progress=progress), 10,
                           "send_attachment")
        assert time.monotonic() - started < 5
        assert "shrank" in str(raised.value)
        assert isinstance(raised.value, AttachmentError)
        wait_until(lambda: len(failed_attachments(session)) == 1, what="a FAILED attachment")


def test_upload_file_refuses_a_grown_file_before_any_request(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(PNG + b"2" * 10)
    file = AttachmentFile(path=path, name="a.png", content_type="image/png", size=5)

    class NoRequests:
        headers: dict[str, str] = {}

        def put(self, *args: Any, **kwargs: Any) -> Any:
            raise AssertionError("no request may be made")

    with pytest.raises(AttachmentChangedError, match="now 18 bytes"):
        upload_file(NoRequests(), "https://bucket.example/key?X-Amz-Signature=s",  # type: ignore[arg-type]
                    {}, file)
