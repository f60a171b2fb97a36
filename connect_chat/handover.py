"""Make-before-break: when to replace the socket, and the hand-over from the old one.

A subscribed socket is replaced before its connection token expires (or after
``websocket_max_lifetime``): a new socket is opened and subscribed while the old one stays
open, what only the old one has is passed on (:class:`HandOver`), and frames that the server
sent to both during the overlap are passed on once. The socket thread (``websocket``) drives
it; this module holds the timing rule and the hand-over's state.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import time
from collections.abc import Callable

import websocket as wsclient

from connect_chat.config import GlobalConfig
from connect_chat.inbox import RawFrame, SocketEvent
from connect_chat.models import ConnectionDetails
from connect_chat.protocol import Frame, FrameKind, chat_inner, classify_frame, is_chat_ended

logger = logging.getLogger(__name__)


class SocketGone(Exception):
    """A socket closed or failed while being read (internal)."""


def refresh_time(config: GlobalConfig, details: ConnectionDetails, opened: float) -> float | None:
    """When (monotonic) to replace the socket opened at ``opened``, or None for never.

    ``connection_refresh_margin`` before the token's ``Expiry`` -- at the latest when 3/4 of
    the remaining lifetime has passed -- or ``websocket_max_lifetime`` after opening,
    whichever comes first. An expiry already past by the local clock (clock skew) is ignored:
    the reactive paths cover it.

    Not the URL's ``ConnectionExpiry``: that is the deadline to *open* the URL (100 s, the
    reference's [DOC]), not a lifetime of the socket opened with it. Replacing the socket
    before it made every chat call CreateParticipantConnection and open a second socket every
    75 s, for nothing (an open socket outlives it; a reconnect always asks for a fresh URL).
    """
    now = time.monotonic()
    wall = datetime.datetime.now(datetime.timezone.utc)
    times: list[float] = []
    if config.websocket_max_lifetime is not None:
        times.append(opened + config.websocket_max_lifetime)
    if details.expiry is not None:
        remaining = (details.expiry - wall).total_seconds()
        if remaining > 0:
            times.append(now + max(remaining - config.connection_refresh_margin,
                                   remaining * 0.75))
        else:
            logger.debug("the token's expiry is already past by the local clock; not scheduling")
    return min(times) if times else None


class HandOver:
    """The hand-over of one socket thread: passes on what only the old socket of a refresh
    has, and drops (for a while) the copies of those frames the new socket receives.

    ``post`` hands a frame or event to the inbox; ``stopped()`` says the thread must stop.
    """

    def __init__(
        self, config: GlobalConfig, post: Callable[[object], None], stopped: Callable[[], bool]
    ) -> None:
        self._config = config
        self._post = post
        self._stopped = stopped
        self._overlap: set[str] = set()
        self._until = 0.0
        #: Frames dropped because the old socket had already passed them on.
        self.duplicates = 0

    def run(self, old: wsclient.WebSocket, new: wsclient.WebSocket, early: list[str]) -> bool:
        """Pass on what only the old socket has; True if the chat ended meanwhile.

        The server sends every item from the new socket's subscription on to both sockets,
        in the same order: the old socket's stream ends with the new one's beginning. So the
        old socket is read (and its chat frames passed on) until it is quiet or until it
        reaches the first chat frame the new socket received -- from there on the new socket
        has everything. Frames read from the new socket meanwhile are kept in ``early`` (passed
        on afterwards unless the old socket already did), and every frame passed on from the
        old socket is remembered for a while so that its copy on the new socket is dropped.
        """
        config = self._config
        deadline = time.monotonic() + config.connect_timeout
        ended = False
        with contextlib.suppress(Exception):
            old.settimeout(config.socket_poll_interval)
            new.settimeout(min(0.01, config.socket_poll_interval))
        try:
            while time.monotonic() < deadline and not self._stopped():
                with contextlib.suppress(SocketGone):  # the pump will find out
                    early.extend(read_chat(new) or [])
                try:
                    texts = read_chat(old)
                except SocketGone:
                    logger.warning("the old WebSocket failed during a refresh; filling the gap")
                    self._post(SocketEvent.GAP)
                    break
                if texts is None:
                    break  # quiet: it holds nothing the new socket lacks
                reached = False
                for text in texts:
                    if text in early:
                        reached = True
                        break
                    self._overlap.add(text)
                    self._post(RawFrame(text))
                    ended = ended or ends_chat(text)
                if reached:
                    break
        finally:
            with contextlib.suppress(Exception):
                new.settimeout(config.socket_poll_interval)
        self._until = time.monotonic() + max(config.connect_timeout, 1.0)
        return ended or any(ends_chat(text) for text in early)

    def seen(self, text: str) -> bool:
        """True if ``text`` was already passed on from the old socket of a refresh."""
        if not self._overlap:
            return False
        if time.monotonic() > self._until:
            self._overlap.clear()
            return False
        if text in self._overlap:
            self._overlap.discard(text)
            self.duplicates += 1
            logger.debug("dropped a frame received on both sockets of a refresh")
            return True
        return False


def read_chat(ws: wsclient.WebSocket) -> list[str] | None:
    """One read: the chat frame received (``[]`` for another frame), None on a timeout;
    ``SocketGone`` on a close or an error."""
    try:
        opcode, data = ws.recv_data()
    except (wsclient.WebSocketTimeoutException, TimeoutError):
        return None
    except (OSError, wsclient.WebSocketException):
        raise SocketGone from None
    if opcode == wsclient.ABNF.OPCODE_CLOSE:
        raise SocketGone
    if opcode != wsclient.ABNF.OPCODE_TEXT:
        return []
    text = text_of(data)
    if text is None:
        return []
    if classify_frame(text).kind is not FrameKind.CHAT:
        return []  # heartbeat replies and the like: nothing to pass on
    return [text]


def close_ws(ws: wsclient.WebSocket) -> None:
    """Close one socket quickly (a close frame if possible, then the TCP connection)."""
    try:
        ws.settimeout(0.5)
        ws.send_close(status=1000)
    except Exception:  # the socket may be gone already
        pass
    with contextlib.suppress(Exception):
        ws.shutdown()  # type: ignore[no-untyped-call]


def text_of(data: bytes | str) -> str | None:
    """A text frame's payload as text; None if it is not valid UTF-8 (counted, dropped)."""
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def frame_ends_chat(frame: Frame) -> bool:
    inner = chat_inner(frame)
    return inner is not None and is_chat_ended(inner)


def ends_chat(text: str) -> bool:
    return frame_ends_chat(classify_frame(text))
