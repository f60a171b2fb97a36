"""Attachment files: validation before any call, upload/download to pre-signed URLs.

Everything about files except the Participant Service calls themselves
(Start/CompleteAttachmentUpload, GetAttachment live in the client). The pre-signed URLs carry
their credentials in the query string, so this module never puts a URL's query into a log
line or an exception message: use :func:`redact_url` for anything that names a URL.
"""

from __future__ import annotations

import logging
import mimetypes
import os
import re
import stat
import tempfile
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import attrs

from connect_chat.enums import ATTACHMENT_CONTENT_TYPES, MAX_ATTACHMENT_BYTES
from connect_chat.errors import AttachmentError, InvalidInputError, UnsupportedAttachmentError

if TYPE_CHECKING:
    import requests  # imported on first use: the caller's session has loaded it by then

__all__ = [
    "DEFAULT_TIMEOUT",
    "EXTENSION_CONTENT_TYPES",
    "AttachmentChangedError",
    "AttachmentFile",
    "AttachmentTransferError",
    "Progress",
    "content_type_for",
    "download_file",
    "inspect_file",
    "new_http_session",
    "redact_url",
    "safe_destination",
    "save_download",
    "upload_file",
]

log = logging.getLogger(__name__)

#: ``progress(bytes_done, total)``; ``total`` is -1 when a download's size is unknown.
Progress = Callable[[int, int], None]

#: (connect, read) seconds for the PUT/GET to the pre-signed URL.
DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 60.0)

_CHUNK = 64 * 1024

#: File extension -> MIME type for every type the service accepts (the union of the client
#: lists and the Admin Guide's, which adds .jfif). Checked before ``mimetypes``, whose answer
#: depends on the machine (``/etc/mime.types``).
EXTENSION_CONTENT_TYPES: dict[str, str] = {
    ".csv": "text/csv",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".heic": "image/heic",
    ".jfif": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".jpg": "image/jpeg",
    ".mov": "video/quicktime",
    ".mp4": "video/mp4",
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".ppt": "application/vnd.ms-powerpoint",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".rtf": "application/rtf",
    ".txt": "text/plain",
    ".wav": "audio/wav",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

# Other spellings that name an accepted type (wav has several; ChatJS maps two of them).
_ALIASES: dict[str, str] = {
    "audio/x-wav": "audio/wav",
    "audio/vnd.wave": "audio/wav",
    "audio/wave": "audio/wav",
    "audio/x-pn-wav": "audio/wav",
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "text/rtf": "application/rtf",
    "application/x-rtf": "application/rtf",
}


class AttachmentTransferError(AttachmentError):
    """The PUT or GET to a pre-signed URL failed; ``status`` is the HTTP status if any."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AttachmentChangedError(AttachmentError):
    """The file is no longer the size StartAttachmentUpload was told (it shrank or grew
    meanwhile): refused at once instead of leaving the PUT waiting for bytes that never
    come. The message is FAILED; a resend starts the upload again with the new size."""


@attrs.frozen
class AttachmentFile:
    """A local file checked to be sendable: what StartAttachmentUpload needs to know."""

    path: Path
    name: str
    content_type: str
    size: int


def redact_url(url: str) -> str:
    """``url`` without its query string, fragment and credentials: safe for logs and errors."""
    try:
        parts = urlsplit(str(url))
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<unparseable URL>"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    if parts.scheme:
        return f"{parts.scheme}://{netloc}{parts.path}"
    return parts.path


def content_type_for(
    name: str, allowed: frozenset[str] | set[str] = ATTACHMENT_CONTENT_TYPES
) -> str | None:
    """The service MIME type for a file name, from its extension; ``None`` if unknown."""
    extension = os.path.splitext(name)[1].lower()
    known = EXTENSION_CONTENT_TYPES.get(extension)
    if known is not None and known in allowed:
        return known
    guessed, _ = mimetypes.guess_type("x" + extension) if extension else (None, None)
    if guessed is None:
        return known
    return _ALIASES.get(guessed, guessed)


def _allowed_extensions(allowed: frozenset[str] | set[str]) -> str:
    extensions = sorted(ext for ext, ctype in EXTENSION_CONTENT_TYPES.items() if ctype in allowed)
    return ", ".join(extensions)


def inspect_file(
    path: str | os.PathLike[str],
    *,
    max_bytes: int = MAX_ATTACHMENT_BYTES,
    allowed_types: frozenset[str] | set[str] = ATTACHMENT_CONTENT_TYPES,
) -> AttachmentFile:
    """Check a file can be sent as an attachment, before any network call.

    Raises :class:`InvalidInputError` if it is missing, not a regular file or unreadable, and
    :class:`UnsupportedAttachmentError` if its type is not accepted or its size is 0 or above
    ``max_bytes`` (the service's 20 MB by default).
    """
    try:
        file_path = Path(os.fspath(path))
    except TypeError as exc:
        raise InvalidInputError(f"not a file path: {type(path).__name__}") from exc
    name = file_path.name
    try:
        info = file_path.stat()
    except FileNotFoundError:
        raise InvalidInputError(f"no such file: {file_path}") from None
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"cannot read {file_path}: {exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise InvalidInputError(f"{file_path} is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise InvalidInputError(f"{file_path} is not a regular file")
    try:
        with open(file_path, "rb"):
            pass
    except OSError as exc:
        raise InvalidInputError(f"cannot read {file_path}: {exc.strerror or exc}") from None

    content_type = content_type_for(name, allowed_types)
    if content_type is None or content_type not in allowed_types:
        extension = os.path.splitext(name)[1] or "(no extension)"
        what = f"{extension} ({content_type})" if content_type else extension
        raise UnsupportedAttachmentError(
            f"{name}: {what} files are not accepted; allowed: {_allowed_extensions(allowed_types)}"
        )
    size = info.st_size
    if size < 1:
        raise UnsupportedAttachmentError(f"{name} is empty")
    if size > max_bytes:
        raise UnsupportedAttachmentError(
            f"{name} is {size} bytes; the limit is {max_bytes} bytes ({max_bytes / 2**20:g} MB)"
        )
    return AttachmentFile(path=file_path, name=name, content_type=content_type, size=size)


def _guarded(progress: Progress | None) -> Progress | None:
    """Wrap a user callback: an exception in it is logged once and stops further calls,
    instead of aborting the transfer from inside the HTTP stack."""
    if progress is None:
        return None
    broken = False

    def call(done: int, total: int) -> None:
        nonlocal broken
        if broken:
            return
        try:
            progress(done, total)
        except Exception:
            broken = True
            log.exception("attachment progress callback failed; no further progress reported")

    return call


class _ProgressReader:
    """A sized, readable body for ``requests``: known length (no chunked encoding, which
    pre-signed S3 PUTs refuse), read in chunks, reporting progress as bytes leave."""

    def __init__(self, file: AttachmentFile, progress: Progress | None) -> None:
        self._name = file.name
        self._total = file.size
        self._progress = _guarded(progress)
        self._sent = 0
        try:
            self._fh = open(file.path, "rb")  # noqa: SIM115 - closed by upload_file
        except OSError as exc:
            raise AttachmentChangedError(
                f"{file.name} can no longer be read: {exc.strerror or type(exc).__name__}"
            ) from None
        size = os.fstat(self._fh.fileno()).st_size
        if size != file.size:
            self._fh.close()
            raise AttachmentChangedError(
                f"{file.name} is now {size} bytes but the upload was started for {file.size}"
                " bytes (the file changed); send it again"
            )

    def __len__(self) -> int:
        return self._total

    def __iter__(self) -> Iterator[bytes]:
        while True:
            chunk = self.read(_CHUNK)
            if not chunk:
                return
            yield chunk

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return b"".join(iter(self))
        remaining = self._total - self._sent
        chunk = self._fh.read(min(size, _CHUNK, remaining)) if remaining > 0 else b""
        if remaining > 0 and not chunk:  # the server would wait for the rest until it times out
            raise AttachmentChangedError(
                f"{self._name} shrank while it was uploaded: only {self._sent} of"
                f" {self._total} bytes could be read; send it again"
            )
        if chunk:
            self._sent += len(chunk)
            if self._progress is not None:
                self._progress(self._sent, self._total)
        return chunk

    @property
    def sent(self) -> int:
        return self._sent

    def close(self) -> None:
        self._fh.close()


def new_http_session() -> requests.Session:
    """A ``requests`` session for transfers (``requests`` is imported here, on first use)."""
    import requests

    return requests.Session()


def _transport_error(what: str, url: str, exc: BaseException) -> AttachmentTransferError:
    # requests' messages quote the full URL (query included): keep only the type's name.
    return AttachmentTransferError(f"{what} {redact_url(url)} failed: {type(exc).__name__}")


def upload_file(
    session: requests.Session,
    url: str,
    headers_to_include: Mapping[str, str],
    file: AttachmentFile,
    progress: Progress | None = None,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
) -> None:
    """PUT ``file`` to the pre-signed ``url`` with exactly ``headers_to_include``.

    The body streams from disk with a Content-Length; no other header is added on top of
    HeadersToInclude except what HTTP framing needs (Host, Content-Length): the session's
    default headers are suppressed, since only the signed ones belong on a pre-signed PUT.
    A non-2xx answer raises :class:`AttachmentTransferError` carrying the status.
    """
    import requests

    included = {name.lower() for name in headers_to_include}
    # None removes a session-level header from the merged request headers.
    headers: dict[str, str | None] = {
        name: None for name in session.headers if name.lower() not in included
    }
    if "content-type" not in included:
        headers["Content-Type"] = None
    headers.update(headers_to_include)
    for name, value in headers_to_include.items():
        if name.lower() == "content-length" and value.strip() != str(file.size):
            raise AttachmentError(
                f"{file.name} is {file.size} bytes but the upload was started for {value.strip()}"
                " bytes (the file changed?)"
            )
    body = _ProgressReader(file, progress)  # AttachmentChangedError if the size changed
    where = redact_url(url)
    log.debug("uploading %s (%d bytes, %s) to %s", file.name, file.size, file.content_type, where)
    try:
        with session.put(url, data=body, headers=headers, timeout=timeout) as response:
            status = response.status_code
    except requests.RequestException as exc:
        raise _transport_error("upload to", url, exc) from None
    finally:
        body.close()
    if not 200 <= status < 300:
        raise AttachmentTransferError(
            f"upload of {file.name} to {where} failed: HTTP {status}", status=status
        )
    log.debug("uploaded %s (%d bytes)", file.name, body.sent)


_UNSAFE_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"|?*]')
_MAX_NAME_BYTES = 255


def _safe_basename(filename: str) -> str:
    name = unicodedata.normalize("NFC", str(filename))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_CHARS.sub("_", name).strip().rstrip(". ")
    if name in ("", ".", "..") or set(name) <= {"."}:
        name = "attachment"
    stem, suffix = os.path.splitext(name)
    if len(suffix.encode()) > 32:
        stem, suffix = name, ""
    while len((stem + suffix).encode()) > _MAX_NAME_BYTES - 16:  # room for " (NNN)"
        stem = stem[:-1]
    return (stem or "attachment") + suffix


def safe_destination(
    directory: str | os.PathLike[str] | None, filename: str, *, reserve: bool = True
) -> Path:
    """A path inside ``directory`` for ``filename``, whatever the name says.

    Only a cleaned basename is kept ("../../x" -> "x", "C:\\a\\b.txt" -> "b.txt", "" ->
    "attachment"); an existing file is never overwritten ("x (1).txt" ...). ``directory``
    defaults to a fresh temporary directory and is created if missing. With ``reserve`` the
    name is claimed atomically by creating an empty file there (O_EXCL), so two downloads
    cannot pick the same one; :func:`download_file` then replaces it.
    """
    if directory is None:
        base = Path(tempfile.mkdtemp(prefix="connect-chat-"))
    else:
        base = Path(os.fspath(directory))
        if base.exists() and not base.is_dir():
            raise InvalidInputError(f"{base} is not a directory")
        base.mkdir(parents=True, exist_ok=True)
    base = base.resolve()
    name = _safe_basename(filename)
    stem, suffix = os.path.splitext(name)
    for n in range(10_000):
        candidate = base / (name if n == 0 else f"{stem} ({n}){suffix}")
        if candidate.parent != base:  # cannot happen with a clean basename
            raise InvalidInputError(f"unsafe file name: {filename!r}")
        if os.path.lexists(candidate):  # files, directories, symlinks (even dangling)
            continue
        if reserve:
            try:  # O_EXCL: fails on anything that appeared meanwhile, never follows links
                fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue
            os.close(fd)
        if candidate.resolve().parent != base:
            raise InvalidInputError(f"unsafe file name: {filename!r}")
        return candidate
    raise AttachmentError(f"no free file name for {name} in {base}")


def download_file(
    session: requests.Session,
    url: str,
    destination: Path,
    progress: Progress | None = None,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    *,
    expected_size: int | None = None,
) -> Path:
    """GET ``url`` into ``destination`` (streamed to a temporary file, then renamed).

    The file appears complete or not at all. A non-2xx answer, a transport error or a short
    body raises :class:`AttachmentTransferError`; the URL's query string is never reported.
    """
    import requests

    destination = Path(destination)
    where = redact_url(url)
    progress = _guarded(progress)
    fd, tmp_name = tempfile.mkstemp(prefix=".download-", suffix=".part", dir=destination.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with session.get(url, stream=True, timeout=timeout) as response:
                    status = response.status_code
                    if not 200 <= status < 300:
                        raise AttachmentTransferError(
                            f"download from {where} failed: HTTP {status}", status=status
                        )
                    total = _content_length(response.headers.get("Content-Length"))
                    if total is None:
                        total = expected_size if expected_size is not None else -1
                    received = 0
                    for chunk in response.iter_content(_CHUNK):
                        out.write(chunk)
                        received += len(chunk)
                        if progress is not None:
                            progress(received, total)
            except requests.RequestException as exc:
                raise _transport_error("download from", url, exc) from None
            if total >= 0 and received != total:
                raise AttachmentTransferError(
                    f"download from {where} was cut short: {received} of {total} bytes"
                )
        os.replace(tmp, destination)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    log.debug("downloaded %d bytes from %s to %s", received, where, destination)
    return destination


def _content_length(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        length = int(value)
    except ValueError:
        return None
    return length if length >= 0 else None


def save_download(
    session: requests.Session,
    url: str,
    directory: str | os.PathLike[str] | None,
    filename: str,
    progress: Progress | None = None,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    *,
    expected_size: int | None = None,
) -> Path:
    """:func:`safe_destination` + :func:`download_file`, removing the reserved name on failure."""
    destination = safe_destination(directory, filename)
    try:
        return download_file(
            session, url, destination, progress, timeout, expected_size=expected_size
        )
    except BaseException:
        destination.unlink(missing_ok=True)
        raise


def checked_attachment_id(attachment_id: object) -> None:
    """An attachment id argument, checked before any request."""
    if not isinstance(attachment_id, str) or not attachment_id:
        raise InvalidInputError("attachment_id must be a non-empty string")


def checked_download(attachment_id: object, filename: object, directory: object = None) -> None:
    """The arguments of a download, checked before any request."""
    checked_attachment_id(attachment_id)
    if not isinstance(filename, str) or not filename:
        raise InvalidInputError("filename must be a non-empty string")
    if directory is not None:
        try:
            target = Path(os.fspath(directory))  # type: ignore[call-overload]
        except TypeError:
            raise InvalidInputError("directory must be a path") from None
        if target.exists() and not target.is_dir():
            raise InvalidInputError(f"the download directory is a file: {target.name}")


def download_source(answer: Mapping[str, Any]) -> tuple[str, int | None]:
    """GetAttachment's answer: the pre-signed URL (``AttachmentError`` if there is none) and
    the size the service stored (None if it did not say)."""
    url = answer.get("Url")
    if not isinstance(url, str) or not url:
        raise AttachmentError("GetAttachment returned no URL")
    size = answer.get("AttachmentSizeInBytes")
    return url, size if isinstance(size, int) and not isinstance(size, bool) else None
