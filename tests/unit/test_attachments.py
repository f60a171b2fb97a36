"""Unit tests of attachment validation, upload/download to pre-signed URLs and safe paths."""

from __future__ import annotations

import http.server
import itertools
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import responses

from connect_chat.attachments import (
    AttachmentFile,
    AttachmentTransferError,
    content_type_for,
    download_file,
    inspect_file,
    redact_url,
    safe_destination,
    save_download,
    upload_file,
)
from connect_chat.enums import ATTACHMENT_CONTENT_TYPES, MAX_ATTACHMENT_BYTES
from connect_chat.errors import AttachmentError, InvalidInputError, UnsupportedAttachmentError

UPLOAD_URL = "https://bucket.s3.amazonaws.com/up/att-1?X-Amz-Signature=SECRETSIG&X-Amz-Credential=K"
DOWNLOAD_URL = "https://bucket.s3.amazonaws.com/down/att-1?X-Amz-Signature=SECRETSIG"

# The HeadersToInclude a real StartAttachmentUpload returned (ChatJS/Streams issue #712 shape).
HEADERS_TO_INCLUDE = {
    "x-amz-meta-contact_id": "3dff5a86",
    "x-amz-meta-initial_contact_id": "3dff5a86",
    "x-amz-acl": "bucket-owner-full-control",
    "Content-Disposition": 'attachment; filename="56102_file.txt"',
    "x-amz-meta-account_id": "111122223333",
    "Content-Type": "text/plain",
    "x-amz-meta-organization_id": "org-1",
}


@pytest.fixture
def web() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def make_file(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# -- inspect_file ------------------------------------------------------------------------------


def test_inspect_accepts_a_text_file(tmp_path: Path) -> None:
    path = make_file(tmp_path, "notes.TXT", b"hello")
    info = inspect_file(path)
    assert info == AttachmentFile(path=path, name="notes.TXT", content_type="text/plain", size=5)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.pdf", "application/pdf"),
        ("a.jpg", "image/jpeg"),
        ("a.jpeg", "image/jpeg"),
        ("a.jfif", "image/jpeg"),
        ("a.wav", "audio/wav"),
        ("a.heic", "image/heic"),
        ("a.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("a.csv", "text/csv"),
        ("a.mov", "video/quicktime"),
    ],
)
def test_content_types_come_from_the_service_list(name: str, expected: str) -> None:
    assert content_type_for(name) == expected
    assert expected in ATTACHMENT_CONTENT_TYPES


def test_wav_variants_map_to_the_service_type() -> None:
    # Without .wav in our own table, mimetypes says audio/x-wav: it must still be accepted.
    assert content_type_for("a.wav", allowed=frozenset()) == "audio/wav"


def test_exe_is_rejected_naming_the_type_and_the_allowed_list(tmp_path: Path) -> None:
    path = make_file(tmp_path, "setup.exe", b"MZ")
    with pytest.raises(UnsupportedAttachmentError) as info:
        inspect_file(path)
    message = str(info.value)
    assert ".exe" in message
    assert ".pdf" in message and ".txt" in message


def test_file_without_extension_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedAttachmentError, match="no extension"):
        inspect_file(make_file(tmp_path, "README", b"x"))


def test_21_mb_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "big.pdf"
    with open(path, "wb") as fh:
        fh.truncate(21 * 1024 * 1024)  # sparse: instant
    with pytest.raises(UnsupportedAttachmentError, match="limit"):
        inspect_file(path)


def test_exactly_the_limit_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "edge.pdf"
    with open(path, "wb") as fh:
        fh.truncate(MAX_ATTACHMENT_BYTES)
    assert inspect_file(path).size == MAX_ATTACHMENT_BYTES
    with pytest.raises(UnsupportedAttachmentError):
        inspect_file(path, max_bytes=MAX_ATTACHMENT_BYTES - 1)


def test_empty_file_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedAttachmentError, match="empty"):
        inspect_file(make_file(tmp_path, "empty.txt", b""))


def test_missing_file_is_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="no such file"):
        inspect_file(tmp_path / "nope.txt")


def test_directory_is_invalid_input(tmp_path: Path) -> None:
    folder = tmp_path / "folder.txt"
    folder.mkdir()
    with pytest.raises(InvalidInputError, match="directory"):
        inspect_file(folder)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_is_not_a_regular_file(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    with pytest.raises(InvalidInputError, match="regular"):
        inspect_file(fifo)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads anything")
def test_unreadable_file_is_invalid_input(tmp_path: Path) -> None:
    path = make_file(tmp_path, "secret.txt", b"x")
    path.chmod(0)
    try:
        with pytest.raises(InvalidInputError, match="cannot read"):
            inspect_file(path)
    finally:
        path.chmod(0o600)


def test_open_failure_is_invalid_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import connect_chat.attachments as attachments

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    path = make_file(tmp_path, "secret.txt", b"x")
    monkeypatch.setattr(attachments, "open", denied, raising=False)
    with pytest.raises(InvalidInputError, match="Permission denied"):
        inspect_file(path)


def test_unsupported_is_also_invalid_input() -> None:
    assert issubclass(UnsupportedAttachmentError, InvalidInputError)


# -- redact_url --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (UPLOAD_URL, "https://bucket.s3.amazonaws.com/up/att-1"),
        ("http://u:pw@127.0.0.1:8765/s3/x?sig=1#frag", "http://127.0.0.1:8765/s3/x"),
        ("http://[::1]:80/p?q", "http://[::1]:80/p"),
        ("/relative?q=1", "/relative"),
        ("http://[bad/?q=1", "<unparseable URL>"),
    ],
)
def test_redact_url_strips_query_and_credentials(url: str, expected: str) -> None:
    assert redact_url(url) == expected


# -- upload_file -------------------------------------------------------------------------------


@responses.activate
def test_upload_sends_exactly_the_headers_to_include(
    tmp_path: Path, web: requests.Session
) -> None:
    data = b"Sample text file contents"
    file = inspect_file(make_file(tmp_path, "sample.txt", data))
    responses.put(UPLOAD_URL, status=200)
    upload_file(web, UPLOAD_URL, HEADERS_TO_INCLUDE, file)
    (call,) = responses.calls
    sent = dict(call.request.headers)
    expected = dict(HEADERS_TO_INCLUDE, **{"Content-Length": str(len(data))})
    assert sent == expected
    assert call.request.body == data
    assert call.request.method == "PUT"


@responses.activate
def test_upload_never_invents_a_content_type(tmp_path: Path, web: requests.Session) -> None:
    web.headers["Content-Type"] = "application/octet-stream"  # a session default must not leak
    file = inspect_file(make_file(tmp_path, "a.txt", b"abc"))
    responses.put(UPLOAD_URL, status=200)
    upload_file(web, UPLOAD_URL, {"x-amz-acl": "private"}, file)
    headers = responses.calls[0].request.headers
    assert "Content-Type" not in headers
    assert dict(headers) == {"x-amz-acl": "private", "Content-Length": "3"}


@responses.activate
def test_upload_progress_sums_to_the_size(tmp_path: Path, web: requests.Session) -> None:
    data = os.urandom(300 * 1024 + 17)
    file = inspect_file(make_file(tmp_path, "photo.png", data))
    responses.put(UPLOAD_URL, status=200)
    calls: list[tuple[int, int]] = []
    upload_file(
        web,
        UPLOAD_URL,
        {"Content-Type": "image/png"},
        file,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert len(calls) > 1
    assert calls[-1] == (len(data), len(data))
    done = [s for s, _ in calls]
    assert done == sorted(done)
    assert sum(b - a for a, b in itertools.pairwise([0, *done])) == len(data)
    assert all(t == len(data) for _, t in calls)
    assert responses.calls[0].request.body == data


@responses.activate
def test_a_failing_progress_callback_does_not_break_the_upload(
    tmp_path: Path, web: requests.Session, caplog: pytest.LogCaptureFixture
) -> None:
    data = os.urandom(200_000)
    file = inspect_file(make_file(tmp_path, "a.pdf", data))
    responses.put(UPLOAD_URL, status=200)
    calls = []

    def progress(done: int, total: int) -> None:
        calls.append(done)
        raise RuntimeError("callback bug")

    upload_file(web, UPLOAD_URL, {}, file, progress=progress)
    assert responses.calls[0].request.body == data
    assert len(calls) == 1
    assert "callback bug" in caplog.text


@responses.activate
def test_upload_non_2xx_raises_without_the_query_string(
    tmp_path: Path, web: requests.Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    file = inspect_file(make_file(tmp_path, "a.txt", b"abc"))
    responses.put(UPLOAD_URL, status=403, body="<Error>SignatureDoesNotMatch</Error>")
    with pytest.raises(AttachmentTransferError) as info:
        upload_file(web, UPLOAD_URL, {"Content-Type": "text/plain"}, file)
    assert info.value.status == 403
    assert "403" in str(info.value)
    assert isinstance(info.value, AttachmentError)
    assert "SECRETSIG" not in str(info.value)
    assert "SECRETSIG" not in caplog.text


@responses.activate
def test_upload_transport_error_hides_the_query_string(
    tmp_path: Path, web: requests.Session
) -> None:
    file = inspect_file(make_file(tmp_path, "a.txt", b"abc"))
    responses.put(UPLOAD_URL, body=requests.ConnectionError(f"refused: {UPLOAD_URL}"))
    with pytest.raises(AttachmentTransferError) as info:
        upload_file(web, UPLOAD_URL, {}, file)
    assert "ConnectionError" in str(info.value)
    assert "SECRETSIG" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_upload_refuses_a_file_that_changed_size(tmp_path: Path, web: requests.Session) -> None:
    file = inspect_file(make_file(tmp_path, "a.txt", b"abc"))
    with pytest.raises(AttachmentError, match="changed"):
        upload_file(web, UPLOAD_URL, {"Content-Length": "9"}, file)


class _Recorder(http.server.BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []

    def do_PUT(self) -> None:
        length = int(self.headers["Content-Length"])
        body = self.rfile.read(length)
        type(self).received.append((dict(self.headers.items()), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_upload_on_the_wire_has_a_content_length_and_no_chunking(
    tmp_path: Path, web: requests.Session
) -> None:
    """Over a real loopback socket: pre-signed S3 PUTs refuse chunked bodies."""
    _Recorder.received = []
    server = http_server_start()
    try:
        data = os.urandom(200_000)
        file = inspect_file(make_file(tmp_path, "clip.mp4", data))
        url = f"http://127.0.0.1:{server.server_port}/up?X-Amz-Signature=s"
        upload_file(web, url, {"Content-Type": "video/mp4", "x-amz-acl": "private"}, file)
    finally:
        server.shutdown()
        server.server_close()
    ((headers, body),) = _Recorder.received
    assert body == data
    assert headers["Content-Length"] == str(len(data))
    assert headers["Content-Type"] == "video/mp4"
    assert headers["x-amz-acl"] == "private"
    assert "Transfer-Encoding" not in headers
    # Besides HeadersToInclude only what the HTTP transport itself needs.
    assert set(headers) - {"Content-Type", "x-amz-acl"} <= {
        "Host",
        "Content-Length",
        "User-Agent",
        "Accept-Encoding",
    }


def http_server_start() -> http.server.ThreadingHTTPServer:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# -- safe_destination --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("../../x", "x"),
        ("/etc/passwd", "passwd"),
        ("..", "attachment"),
        ("", "attachment"),
        (".", "attachment"),
        ("a\x00b.txt", "a_b.txt"),
        ("C:\\Users\\me\\evil.txt", "evil.txt"),
        ("..\\..\\win.ini", "win.ini"),
        ("report.pdf", "report.pdf"),
        ("trailing. ", "trailing"),
    ],
)
def test_safe_destination_stays_inside(tmp_path: Path, filename: str, expected: str) -> None:
    path = safe_destination(tmp_path, filename)
    assert path.name == expected
    assert path.resolve().parent == tmp_path.resolve()


def test_safe_destination_never_clobbers(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("keep")
    first = safe_destination(tmp_path, "x.txt")
    second = safe_destination(tmp_path, "../x.txt")
    assert (first.name, second.name) == ("x (1).txt", "x (2).txt")
    assert (tmp_path / "x.txt").read_text() == "keep"


def test_safe_destination_skips_symlinks(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    inside = tmp_path / "inside"
    inside.mkdir()
    (inside / "x.txt").symlink_to(outside / "target.txt")  # dangling on purpose
    path = safe_destination(inside, "x.txt")
    assert path.name == "x (1).txt"
    assert not (outside / "target.txt").exists()


def test_safe_destination_long_name_is_shortened(tmp_path: Path) -> None:
    path = safe_destination(tmp_path, "a" * 400 + ".pdf")
    assert path.suffix == ".pdf"
    assert len(path.name.encode()) <= 255


def test_safe_destination_defaults_to_a_fresh_temp_dir() -> None:
    first = safe_destination(None, "a.txt")
    second = safe_destination(None, "a.txt")
    try:
        assert first.parent != second.parent
        assert first.name == second.name == "a.txt"
    finally:
        for path in (first, second):
            path.unlink()
            path.parent.rmdir()


def test_safe_destination_rejects_a_file_as_directory(tmp_path: Path) -> None:
    blocker = make_file(tmp_path, "file", b"x")
    with pytest.raises(InvalidInputError):
        safe_destination(blocker, "a.txt")


def test_safe_destination_creates_the_directory(tmp_path: Path) -> None:
    path = safe_destination(tmp_path / "new" / "dir", "a.txt")
    assert path.parent == (tmp_path / "new" / "dir").resolve()


# -- download_file / save_download -------------------------------------------------------------


@responses.activate
def test_download_path_traversal_lands_inside(tmp_path: Path, web: requests.Session) -> None:
    target = tmp_path / "downloads"
    responses.get(DOWNLOAD_URL, body=b"payload")
    path = save_download(web, DOWNLOAD_URL, target, "../../x")
    assert path == target.resolve() / "x"
    assert path.read_bytes() == b"payload"
    assert not (tmp_path / "x").exists()
    assert sorted(p.name for p in target.iterdir()) == ["x"]  # no temp file left behind


@responses.activate
def test_download_reports_progress(tmp_path: Path, web: requests.Session) -> None:
    data = os.urandom(200_000)
    responses.get(DOWNLOAD_URL, body=data, headers={"Content-Length": str(len(data))})
    calls: list[tuple[int, int]] = []
    path = download_file(
        web, DOWNLOAD_URL, tmp_path / "f.bin", progress=lambda d, t: calls.append((d, t))
    )
    assert path.read_bytes() == data
    assert calls[-1] == (len(data), len(data))


@responses.activate
def test_download_non_2xx_raises_and_leaves_nothing(
    tmp_path: Path, web: requests.Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    responses.get(DOWNLOAD_URL, status=404, body="NoSuchKey")
    with pytest.raises(AttachmentTransferError) as info:
        save_download(web, DOWNLOAD_URL, tmp_path, "a.txt")
    assert info.value.status == 404
    assert "SECRETSIG" not in str(info.value)
    assert "SECRETSIG" not in caplog.text
    assert list(tmp_path.iterdir()) == []


@responses.activate
def test_download_short_body_is_an_error(tmp_path: Path, web: requests.Session) -> None:
    responses.get(DOWNLOAD_URL, body=b"abc")
    with pytest.raises(AttachmentTransferError, match="cut short"):
        save_download(web, DOWNLOAD_URL, tmp_path, "a.txt", expected_size=10)
    assert list(tmp_path.iterdir()) == []


@responses.activate
def test_download_transport_error_hides_the_query(tmp_path: Path, web: requests.Session) -> None:
    responses.get(DOWNLOAD_URL, body=requests.ConnectionError(DOWNLOAD_URL))
    with pytest.raises(AttachmentTransferError) as info:
        save_download(web, DOWNLOAD_URL, tmp_path, "a.txt")
    assert "SECRETSIG" not in str(info.value)
    assert list(tmp_path.iterdir()) == []
