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

UTF-8: the socket thread opens its sockets with ``skip_utf8_validation=True`` and decodes text
frames itself, so one invalid frame is dropped and counted instead of killing the connection
(websocket-client's pure-Python check also cost about a third of ingest).
"""

from __future__ import annotations

import contextlib
from typing import Any

import websocket as wsclient
from websocket._abnf import ABNF, continuous_frame, frame_buffer
from websocket._handshake import SUPPORTED_REDIRECT_STATUSES

__all__ = [
    "MAX_FRAME_BYTES",
    "STATUS_MESSAGE_TOO_BIG",
    "BoundedWebSocket",
    "FrameTooLargeError",
]

#: Largest frame (or fragmented message, in total) a chat socket accepts, in bytes. The
#: service's items are far smaller (``Content`` <= 16384 characters, a few times that once
#: JSON-escaped twice); the same 2 MiB as the SDK's text limit.
MAX_FRAME_BYTES = 2 * 1024 * 1024

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
        self.frame_buffer = _BoundedFrameBuffer(self._recv, skip, max_frame_bytes)
        self.cont_frame = _BoundedContinuation(fire, skip, max_frame_bytes)

    def connect(self, url: str, **options: Any) -> None:
        """Open ``url``; a 3xx answer to the upgrade is a refusal (never followed)."""
        options["redirect_limit"] = 0
        try:
            super().connect(url, **options)  # type: ignore[no-untyped-call]
        except wsclient.WebSocketBadStatusException:
            raise
        except wsclient.WebSocketException:
            response = self.handshake_response
            status = getattr(response, "status", None)
            if status is not None and status in SUPPORTED_REDIRECT_STATUSES:
                raise wsclient.WebSocketBadStatusException(
                    f"the upgrade was answered with a redirect (HTTP {int(status)}),"
                    " which is not followed",
                    int(status),
                ) from None
            raise

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
