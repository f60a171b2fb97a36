"""A websocket-client ``WebSocket`` that bounds memory per frame and never follows redirects.

Why a subclass: websocket-client reads a whole frame payload (``frame_buffer.recv_strict``)
before anyone can look at its size, so a hostile server that announces a 400 MB frame gets
400 MB buffered (and copied) before the SDK's own size check runs. Here the length is checked
as soon as the frame header has been read: an over-long frame raises
:class:`FrameTooLargeError` and the socket is closed with status 1009 ("message too big")
before a byte of its payload is read; fragmented messages are bounded the same way in total.
The socket thread then treats the socket as broken: it reconnects and gap-fills from the
transcript.

Redirects: the chat WebSocket URL comes from CreateParticipantConnection and carries its
credentials in the query. websocket-client follows a 301/302/303 answer to the upgrade to any
host (3 times by default); :class:`BoundedWebSocket` never does. A redirect is reported as a
refused upgrade (:class:`websocket.WebSocketBadStatusException` with the 3xx status) and the
``Location`` is never contacted.

The upgrade answer is read in chunks, not a byte at a time: websocket-client reads the response
headers with one ``recv(1)`` per byte (a system call and, under gevent, a hub round trip each:
about a tenth of a chat's connect CPU under Locust). Here they are read 4 KiB at a time, the
bytes after the blank line (the first frames, if the server sent them at once) are kept and
read first by the frame reader, and the headers are bounded (:data:`MAX_HANDSHAKE_BYTES`): a
server that never ends its headers gets a :class:`websocket.WebSocketException`, not unbounded
memory. A refused upgrade's body is not read (websocket-client buffers its whole announced
``Content-Length``): only the status matters to the socket thread.

UTF-8: the socket thread opens its sockets with ``skip_utf8_validation=True`` and decodes text
frames itself, so one invalid frame is dropped and counted instead of killing the connection
(websocket-client's pure-Python check also cost about a third of ingest).
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

import websocket as wsclient
from websocket import _http, _logging
from websocket._abnf import ABNF, continuous_frame, frame_buffer
from websocket._handshake import (
    SUCCESS_STATUSES,
    SUPPORTED_REDIRECT_STATUSES,
    _get_handshake_headers,
    _validate,
    handshake_response,
)
from websocket._socket import recv, send

__all__ = [
    "MAX_FRAME_BYTES",
    "MAX_HANDSHAKE_BYTES",
    "STATUS_MESSAGE_TOO_BIG",
    "BoundedWebSocket",
    "FrameTooLargeError",
]

#: Largest frame (or fragmented message, in total) a chat socket accepts, in bytes. The
#: service's items are far smaller (``Content`` <= 16384 characters, a few times that once
#: JSON-escaped twice); the same 2 MiB as the SDK's text limit.
MAX_FRAME_BYTES = 2 * 1024 * 1024

#: Largest upgrade answer head (status line and headers) accepted, in bytes. The service's is
#: a few hundred bytes; HTTP servers commonly cap request heads at 8-64 KiB.
MAX_HANDSHAKE_BYTES = 64 * 1024

#: Bytes asked of the socket per read of the upgrade answer.
_HEAD_CHUNK = 4096

#: The blank line that ends an HTTP head (CRLF, or a bare LF as websocket-client accepts).
_END_OF_HEAD = re.compile(rb"(?:^|\n)\r?\n")

#: RFC 6455 close status: "a message that is too big for it to process".
STATUS_MESSAGE_TOO_BIG = 1009


class FrameTooLargeError(wsclient.WebSocketProtocolException):
    """The server announced a frame (or message) longer than the socket accepts."""

    def __init__(self, length: int, limit: int) -> None:
        super().__init__(f"a frame of {length} bytes, over the {limit} byte limit")
        self.length = length
        self.limit = limit


class _BoundedFrameBuffer(frame_buffer):
    """Refuses an over-long frame from its header, before its payload is read."""

    def __init__(self, recv_fn: Any, skip_utf8_validation: bool, limit: int) -> None:
        super().__init__(recv_fn, skip_utf8_validation)
        self.limit = limit

    def recv_length(self) -> None:
        super().recv_length()
        length = self.length
        if length is not None and length > self.limit:
            raise FrameTooLargeError(length, self.limit)


class _BoundedContinuation(continuous_frame):
    """Bounds a fragmented message in total (each fragment is bounded by the buffer)."""

    def __init__(self, fire_cont_frame: bool, skip_utf8_validation: bool, limit: int) -> None:
        super().__init__(fire_cont_frame, skip_utf8_validation)
        self.limit = limit

    def add(self, frame: ABNF) -> None:
        held = len(self.cont_data[1]) if self.cont_data else 0
        total = held + len(frame.data)
        if total > self.limit:
            self.cont_data = None
            self.recving_frames = None
            raise FrameTooLargeError(total, self.limit)
        super().add(frame)


class BoundedWebSocket(wsclient.WebSocket):
    """``websocket.WebSocket`` with a frame size bound and no redirects (module docstring).

    Use it through ``websocket.create_connection(url, class_=BoundedWebSocket, ...)``;
    ``max_frame_bytes`` (default :data:`MAX_FRAME_BYTES`) sets the bound.
    """

    def __init__(self, *args: Any, max_frame_bytes: int = MAX_FRAME_BYTES,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        skip = bool(kwargs.get("skip_utf8_validation", False))
        fire = bool(kwargs.get("fire_cont_frame", False))
        self.max_frame_bytes = max_frame_bytes
        self._unread = b""  # read past the upgrade answer's head; served first by _recv
        self.frame_buffer = _BoundedFrameBuffer(self._recv, skip, max_frame_bytes)
        self.cont_frame = _BoundedContinuation(fire, skip, max_frame_bytes)

    def connect(self, url: str, **options: Any) -> None:
        """Open ``url``; a 3xx answer to the upgrade is a refusal (never followed).

        websocket-client's own ``connect`` with its ``handshake`` replaced: the socket (proxy
        and TLS included) is websocket-client's, the request is its, the answer is read here.
        """
        options.pop("redirect_limit", None)
        self._unread = b""
        self.sock_opt.timeout = options.get("timeout", self.sock_opt.timeout)
        proxy = _http.proxy_info(**options)  # type: ignore[no-untyped-call]
        self.sock, addrs = _http.connect(url, self.sock_opt, proxy, options.pop("socket", None))
        try:
            self.handshake_response = self._handshake(url, *addrs, **options)
            self.connected = True
        except BaseException:
            if self.sock:
                self.sock.close()
                self.sock = None
            raise

    def _handshake(self, url: str, hostname: str, port: int, resource: str,
                   **options: Any) -> handshake_response:
        headers, key = _get_handshake_headers(resource, url, hostname, port, options)
        request = "\r\n".join(headers)
        sock = self.sock
        assert sock is not None  # set by connect() just before
        send(sock, request)
        _logging.dump("request header", request)
        status, message, answer = self._read_answer_head(sock)
        if status in SUPPORTED_REDIRECT_STATUSES:
            raise wsclient.WebSocketBadStatusException(
                f"the upgrade was answered with a redirect (HTTP {status}), which is not"
                " followed", status, message, answer)
        if status not in SUCCESS_STATUSES:
            raise wsclient.WebSocketBadStatusException(
                f"Handshake status {status} {message}", status, message, answer)
        valid, subprotocol = _validate(answer, key, options.get("subprotocols"))
        if not valid:
            raise wsclient.WebSocketException("Invalid WebSocket Header")
        return handshake_response(status, answer, subprotocol)

    def _read_answer_head(self, sock: Any) -> tuple[int, str | None, dict[str, str]]:
        """The upgrade answer's status, reason and headers, read a chunk at a time; what
        follows the head stays in ``_unread`` for the frame reader."""
        head = b""
        while True:
            end = _END_OF_HEAD.search(head)
            if end is not None and end.end() <= MAX_HANDSHAKE_BYTES:
                break
            if end is not None or len(head) > MAX_HANDSHAKE_BYTES:
                raise wsclient.WebSocketException(
                    f"the upgrade answer's headers exceed {MAX_HANDSHAKE_BYTES} bytes")
            head += recv(sock, _HEAD_CHUNK)  # raises on a closed socket or a timeout
        self._unread = head[end.end():]
        return _parse_head(head[:end.end()])

    def _recv(self, bufsize: int) -> bytes:
        """The frame reader's bytes: first what came after the upgrade answer's head."""
        unread = self._unread
        if unread:
            self._unread = unread[bufsize:]
            return unread[:bufsize]
        data: bytes = super()._recv(bufsize)  # type: ignore[no-untyped-call]
        return data

    def recv_frame(self) -> ABNF:
        """One frame; an over-long one closes the socket (1009) and raises."""
        try:
            received: ABNF = super().recv_frame()  # type: ignore[no-untyped-call]
            return received
        except FrameTooLargeError:
            self._refuse()
            raise

    def recv_data_frame(self, control_frame: bool = False) -> tuple[int, ABNF]:
        try:
            result: tuple[int, ABNF] = super().recv_data_frame(control_frame)
        except FrameTooLargeError:
            self._refuse()
            raise
        return result

    def _refuse(self) -> None:
        """Say why (close 1009) and drop the connection without reading any further."""
        if not self.connected:
            return
        with contextlib.suppress(Exception):  # the peer may be gone already
            self.settimeout(0.5)
            self.send_close(status=STATUS_MESSAGE_TOO_BIG, reason=b"frame too big")
        with contextlib.suppress(Exception):
            self.shutdown()  # type: ignore[no-untyped-call]


def _parse_head(head: bytes) -> tuple[int, str | None, dict[str, str]]:
    """Status, reason and headers (names lower-cased) of an HTTP answer head, with
    websocket-client's rules: lines end at LF, ``Set-Cookie`` values are joined."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise wsclient.WebSocketException(
            f"Invalid header line, not valid UTF-8 at byte {exc.start}") from None
    _logging.trace("--- response header ---")
    lines = [line.strip() for line in text.split("\n")]
    status_line = lines[0]
    _logging.trace(status_line)
    parts = status_line.split(" ", 2)
    try:
        status = int(parts[1])
    except (IndexError, ValueError):
        raise wsclient.WebSocketException(f"Invalid status line: {status_line!r}") from None
    message = parts[2] if len(parts) > 2 else None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            break
        _logging.trace(line)
        name, colon, value = line.partition(":")
        if not colon:
            raise wsclient.WebSocketException("Invalid header")
        name, value = name.lower(), value.strip()
        if name == "set-cookie" and headers.get(name):
            headers[name] = f"{headers[name]}; {value}"
        else:
            headers[name] = value
    _logging.trace("-----------------------")
    return status, message, headers
