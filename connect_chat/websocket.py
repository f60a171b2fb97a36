"""The socket thread: one chat WebSocket, its heartbeats, and the reconnect loop.

Why ``websocket.create_connection`` and our own receive loop rather than ``WebSocketApp``:
this thread must interleave three things -- reading frames, sending ``aws/heartbeat`` /
``aws/ping`` on time and noticing missed replies, and reacting to ``disconnect()`` /
``suspend`` -- and must reconnect as a plain loop with a fresh URL for every attempt.
``WebSocketApp`` owns its own loop, ping thread and reconnect (fixed, uninterruptible
sleep) and calls back from inside them; a raw ``WebSocket`` whose receive times out at the
next heartbeat deadline gives us all of it on one thread. websocket-client's frame reader
keeps partial frames across timeouts, so a timeout never corrupts the stream.

Idle cost: once subscribed, the thread sleeps in ``recv`` until a frame comes or the next
heartbeat is due (at most :data:`MAX_IDLE_WAIT`), not every ``socket_poll_interval``: with
hundreds of sessions in one process, polling five times a second cost ~10 % of a core.
``stop()`` / ``suspend()`` wake it at once by shutting the socket's reading side (the thread
then still sends its close frame).

Only this thread touches the socket: it is the only sender (subscribe and heartbeats; chat
messages go over REST), and the send lock of ``enable_multithread=True`` covers any future
sender. It never runs user code: frames and connection events go onto the inbox queue
through ``post``, and the dispatcher thread does the rest.

Lifecycle of :class:`SocketWorker`::

    open + subscribe --(ok)--> pump (read, heartbeats) --(dead)--> BROKEN, backoff,
      ^                                                             CreateParticipantConnection,
      +------------------------- REESTABLISHED <--------------------open + subscribe ...

``stop()`` / ``suspend()`` interrupt any wait at once (``threading.Event``, or the
socket's reading side shut); an
``AccessDeniedException`` from CreateParticipantConnection means the chat is over: the
worker posts ``ACCESS_DENIED`` and ends (no retry storm). Other failures retry with
:class:`~connect_chat.backoff.Backoff`.

Proactive refresh (:meth:`SocketWorker._refresh`), make-before-break: before the connection
token's ``Expiry`` (``GlobalConfig.connection_refresh_margin``) or after
``websocket_max_lifetime``, the pump calls CreateParticipantConnection, opens and
subscribes a second socket while the first stays open, reads what is left on the first until
it is quiet, closes it, and goes on with the second. Frames the server sent to both during the
overlap are passed on once (identical frames from the new socket are dropped for a while), so
no callback fires twice; no connection callback fires for a refresh. If the refresh fails the
old socket is kept and the refresh is tried again one heartbeat interval later.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

import websocket as wsclient

from connect_chat.backoff import Backoff
from connect_chat.bounded_socket import BoundedWebSocket, FrameTooLargeError
from connect_chat.config import GlobalConfig
from connect_chat.deadlines import SocketGuard, guard_socket
from connect_chat.errors import (
    AccessDeniedError,
    ChatEndedError,
    ConnectChatError,
    ConnectionTimeoutError,
    ParticipantTokenRefusedError,
    WebSocketError,
)
from connect_chat.handover import (
    HandOver,
    close_ws,
    frame_ends_chat,
    refresh_time,
    text_of,
)
from connect_chat.inbox import RawFrame, SocketEvent
from connect_chat.models import ConnectionDetails
from connect_chat.protocol import (
    HEARTBEAT_FRAME,
    PING_FRAME,
    SUBSCRIBE_FRAME,
    FrameKind,
    classify_frame,
    is_ping_ok,
    subscribe_status,
)

logger = logging.getLogger(__name__)

#: Longest receive wait of a subscribed socket (it is woken sooner by a frame, a heartbeat
#: deadline, ``stop()`` or ``suspend()``); a bound for platforms where shutting the reading
#: side does not wake a blocked receive.
MAX_IDLE_WAIT = 1.0


#: Every ``chat.ended`` event frame contains this text (its content type).
_ENDED_MARK = "chat.ended"


class _Exit(enum.Enum):
    STOP = "stop"
    SUSPEND = "suspend"
    DEAD = "dead"
    ENDED = "ended"


def first_open_timeout(last: BaseException | None) -> str:
    """The message of a ``connect()`` that ran out of time retrying the first open."""
    because = f" (last attempt: {last})" if last is not None else ""
    return f"the chat WebSocket could not be opened and subscribed in time{because}"


class SocketWorker:
    """Owns the socket thread of one session (see the module docstring).

    ``connector`` makes a new connection (fresh URL and token each time: the session's
    ``Credentials.renew``, which also records the new token); ``post`` hands an item to the
    inbox.
    """

    def __init__(
        self,
        *,
        name: str,
        config: GlobalConfig,
        initial: ConnectionDetails,
        connector: Callable[[], ConnectionDetails],
        post: Callable[[object], None],
        rng: random.Random | None = None,
    ) -> None:
        self._config = config
        self._details: ConnectionDetails | None = initial
        self._connector = connector
        self._post = post
        self._backoff = Backoff(
            base=config.reconnect_backoff_base,
            factor=max(1.0, config.reconnect_backoff_factor),
            cap=config.reconnect_backoff_cap,
            jitter=config.reconnect_backoff_jitter,
            first_delay=config.reconnect_first_delay,
            rng=rng,
        )
        self._wake = threading.Event()
        #: The guard of the open in progress (see ``deadlines.SocketGuard``), if any.
        self._open_guard: SocketGuard | None = None
        self._stop = False
        self._suspended = False
        self._resumed = False
        self._ws: wsclient.WebSocket | None = None
        self._ws_lock = threading.Lock()
        #: The make-before-break hand-over (and its overlap dedupe).
        self._handover = HandOver(config, post, lambda: self._stop)
        #: How many make-before-break refreshes completed (for monitoring and tests).
        self.refreshes = 0
        #: Set once the first open+subscribe finished, well or badly (``first_error``).
        self.ready = threading.Event()
        self.first_error: BaseException | None = None
        #: Until when (``time.monotonic()``) a failed first open is retried (with backoff
        #: and a fresh URL): the caller of ``connect()`` waits that long anyway. ``None``:
        #: the first failure is final. ``last_error`` is the latest failure meanwhile.
        self.first_deadline: float | None = None
        self.last_error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    @property
    def overlap_duplicates(self) -> int:
        """Frames received on both sockets of a refresh, dropped as duplicates."""
        return self._handover.duplicates

    # -- control (any thread) ------------------------------------------------------------

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        """Close the socket and end the thread (no reconnect)."""
        self._stop = True
        self._wake.set()
        self._interrupt()

    def suspend(self) -> None:
        """Close the socket and stop reconnecting until :meth:`resume`."""
        self._suspended = True
        self._wake.set()
        self._interrupt()

    def resume(self) -> None:
        """Reconnect now (fresh URL), after a suspend or after reconnecting gave up."""
        self._suspended = False
        self._resumed = True
        self._wake.set()

    def join(self, timeout: float) -> None:
        if self.thread is not threading.current_thread() and self.thread.is_alive():
            self.thread.join(timeout)

    def _interrupt(self) -> None:
        """Wake the socket thread out of ``recv``: shut the socket's reading side only
        (and wake the guard of an open in progress, which shuts its socket down).

        The thread sees end-of-stream, then its stop/suspend flag, and closes the socket
        itself (close frame included: the writing side is untouched). The plain
        ``socket.shutdown`` is called even on a TLS socket, whose own ``shutdown`` would drop
        the TLS layer under the thread's feet.
        """
        guard = self._open_guard
        if guard is not None:
            guard.trip()
        with self._ws_lock:
            ws = self._ws
        sock = getattr(ws, "sock", None) if ws is not None else None
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError, ValueError):
                socket.socket.shutdown(sock, socket.SHUT_RD)

    # -- the thread ----------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._loop()
        except Exception:  # never expected: keep the reason in the log, end cleanly
            logger.exception("socket thread failed")
            if not self.ready.is_set():
                self.first_error = WebSocketError("the socket thread failed")
                self.ready.set()
        finally:
            self._close_socket()
            self.ready.set()

    def _loop(self) -> None:
        first = True
        failures = 0
        while True:
            self._wake.clear()
            if self._stop:
                return
            if self._suspended:
                self._wake.wait()
                continue
            if (not first or failures) and not self._resumed:
                delay = self._backoff.next_delay()
                if first and self.first_deadline is not None:  # never wait past connect()'s
                    delay = min(delay, max(0.0, self.first_deadline - time.monotonic()))
                logger.debug("reconnecting in %.2f s", delay)
                if delay > 0 and self._wake.wait(delay):
                    continue  # woken: re-check stop/suspend/resume
            self._resumed = False
            details = self._details
            if details is None:
                try:
                    details = self._connector()
                except AccessDeniedError as exc:
                    logger.info("the service refused a new connection: the chat has ended")
                    if first:
                        self.first_error = ParticipantTokenRefusedError.refusing(exc)
                        self.first_error.__cause__ = exc
                        return
                    self._post(SocketEvent.ACCESS_DENIED)
                    return
                except ConnectChatError as exc:
                    failures += 1
                    logger.warning("CreateParticipantConnection failed (%s); will retry", exc)
                    if first and not self._retry_first(exc):
                        return
                    if not first:
                        self._gave_up(failures)
                    continue
                self._details = details
            # A reconnect keeps the chat frames that prove its subscription (no subscribe
            # answer) until REESTABLISHED is posted: the catch-up comes before live frames.
            early: list[str] | None = None if first else []
            try:
                ws = self._open(details, early)
            except Exception as exc:
                self._details = None  # the URL may be stale: ask for a fresh one next time
                if first:
                    failures += 1
                    if not self._retry_first(exc):
                        return
                    logger.warning("opening the WebSocket failed (%s); will retry", exc)
                    continue
                failures += 1
                logger.warning("WebSocket reconnect attempt failed (%s)", type(exc).__name__)
                self._gave_up(failures)
                continue
            failures = 0
            self._backoff.reset()
            if first:
                self._post(SocketEvent.ESTABLISHED)
                self.ready.set()
                first = False
            else:
                self._post(SocketEvent.REESTABLISHED)
                for text in early or ():
                    self._post(RawFrame(text))
            exit_reason = self._pump(ws, details)
            self._close_socket()
            self._details = None  # the next socket needs a fresh URL
            if exit_reason in (_Exit.STOP, _Exit.ENDED):
                return
            if exit_reason is _Exit.DEAD:
                self._post(SocketEvent.BROKEN)

    def _retry_first(self, exc: BaseException) -> bool:
        """A failed first open: True to try again (time is left before ``first_deadline``),
        else the failure is final (``first_error``; ``ready`` is set as the thread ends)."""
        self.last_error = exc
        final = isinstance(exc, ChatEndedError) or (
            isinstance(exc, WebSocketError) and not exc.retryable
        )
        if self._stop or self.first_deadline is None or final:
            self.first_error = exc
            return False
        if time.monotonic() >= self.first_deadline:  # retried all the time connect() waits
            self.first_error = ConnectionTimeoutError(first_open_timeout(exc))
            self.first_error.__cause__ = exc
            return False
        return True

    def _gave_up(self, failures: int) -> bool:
        limit = self._config.max_reconnect_attempts
        if limit is not None and failures >= limit:
            logger.error("reconnecting failed %d times; waiting for resume", failures)
            self._suspended = True
            return True
        return False

    def _open(
        self, details: ConnectionDetails, early: list[str] | None = None
    ) -> wsclient.WebSocket:
        """Open the URL and subscribe to ``aws/chat``; frames before the ack are forwarded
        (or, during a refresh, kept in ``early`` to pass on after the old socket's frames)."""
        url = details.websocket_url
        if not url:
            raise WebSocketError("no WebSocket URL")
        timeout = self._config.connect_timeout
        deadline = time.monotonic() + timeout
        # stop() must reach the socket during the upgrade, and the upgrade must end by the
        # deadline even when the server trickles its answer: the socket object is kept as
        # soon as websocket-client makes it, and guard_socket shuts it at the deadline.
        made: list[wsclient.WebSocket] = []

        def make(**kwargs: Any) -> wsclient.WebSocket:
            ws = BoundedWebSocket(**kwargs)
            with self._ws_lock:
                self._ws = ws
            made.append(ws)
            return ws

        try:
            try:
                with guard_socket(lambda: made[0].sock if made else None,
                                  deadline) as guard:
                    self._open_guard = guard  # stop()/suspend() trip it at once
                    if self._stop or self._suspended:  # came before the line above
                        guard.trip()
                    try:
                        ws = wsclient.create_connection(
                            url, timeout=timeout, enable_multithread=True,
                            class_=make,  # type: ignore[arg-type]  # any factory will do
                            skip_utf8_validation=True, redirect_limit=0,
                        )
                    finally:
                        self._open_guard = None
            except BaseException:
                for half in made:
                    with self._ws_lock:
                        if self._ws is half:
                            self._ws = None
                    with contextlib.suppress(Exception):
                        half.shutdown()  # type: ignore[no-untyped-call]
                raise
        except wsclient.WebSocketBadStatusException as exc:
            code = exc.status_code
            raise WebSocketError(
                f"the WebSocket upgrade was refused (HTTP {code})",
                retryable=code in (403, 408, 429) or code >= 500,
            ) from None
        except ssl.SSLError as exc:  # an untrusted certificate will not become trusted
            raise WebSocketError(
                f"the WebSocket could not be opened ({type(exc).__name__})", retryable=False
            ) from None
        except (OSError, wsclient.WebSocketException) as exc:
            raise WebSocketError(
                f"the WebSocket could not be opened ({type(exc).__name__})"
            ) from None
        if self._stop:
            raise WebSocketError("stopped")
        ws.settimeout(self._config.socket_poll_interval)
        ws.send(SUBSCRIBE_FRAME)
        # The reference does not promise an answer to aws/subscribe (ChatJS, iOS and Android
        # ignore it): the answer to a heartbeat sent after it, or a chat frame, proves the
        # subscription just as well (the service handles a socket's frames in order).
        ws.send(HEARTBEAT_FRAME)
        next_beat = time.monotonic() + self._config.heartbeat_interval
        while True:
            if self._stop or self._suspended:
                raise WebSocketError("stopped while subscribing")
            now = time.monotonic()
            if now >= deadline:
                self._close_socket()
                raise ConnectionTimeoutError("no subscribe acknowledgement in time")
            if now >= next_beat:  # the last one may have gone unanswered
                next_beat = now + self._config.heartbeat_interval
                try:
                    ws.send(HEARTBEAT_FRAME)
                except (OSError, wsclient.WebSocketException) as exc:
                    self._close_socket()
                    raise WebSocketError(
                        f"the WebSocket closed while subscribing ({type(exc).__name__})"
                    ) from None
            try:
                opcode, data = ws.recv_data()
            except (wsclient.WebSocketTimeoutException, TimeoutError):
                continue
            except (OSError, wsclient.WebSocketException) as exc:
                self._close_socket()
                raise WebSocketError(
                    f"the WebSocket closed while subscribing ({type(exc).__name__})"
                ) from None
            if opcode == wsclient.ABNF.OPCODE_CLOSE:
                self._close_socket()
                raise WebSocketError("the WebSocket closed while subscribing")
            if opcode != wsclient.ABNF.OPCODE_TEXT:
                self._post(RawFrame("", binary=True))
                continue
            text = text_of(data)
            if text is None:
                self._post(_INVALID_UTF8)
                continue
            frame = classify_frame(text)
            if frame.kind is FrameKind.SUBSCRIBE:
                status = subscribe_status(frame)
                if status == "success" or status is None:
                    return ws
                self._close_socket()
                raise WebSocketError(f"subscription refused ({status})")
            if frame.kind is FrameKind.HEARTBEAT:
                logger.debug("subscribed (no subscribe answer; the heartbeat was answered)")
                return ws
            if early is not None:
                early.append(text)
            else:
                self._post(RawFrame(text))
            if frame.kind is FrameKind.CHAT:
                logger.debug("subscribed (no subscribe answer; a chat frame came)")
                return ws

    def _pump(self, ws: wsclient.WebSocket, details: ConnectionDetails) -> _Exit:
        """Read frames and keep the heartbeats until the socket dies or we are told to stop.

        Miss detection: a heartbeat with no reply one interval after it was sent (or after
        the last frame received, whichever is later: a socket delivering frames is alive,
        its reply may just be queued behind them) means the socket is dead. Misses are only
        judged when nothing is waiting to be read, so a thread that was starved of CPU reads
        the replies already received before it decides anything. A half-open socket (nothing
        received, no close) is thus detected at most two intervals after it went silent.
        """
        interval = self._config.heartbeat_interval
        next_beat = time.monotonic() + interval
        heartbeat_sent: float | None = None
        ping_sent: float | None = None
        last_frame = time.monotonic()
        refresh_at = refresh_time(self._config, details, last_frame)
        while True:
            if self._stop:
                return _Exit.STOP
            if self._suspended:
                return _Exit.SUSPEND
            now = time.monotonic()
            if refresh_at is not None and now >= refresh_at:
                outcome = self._refresh(ws)
                if isinstance(outcome, _Exit):
                    return outcome
                now = time.monotonic()
                if outcome is None:
                    refresh_at = now + interval  # keep the old socket; try again later
                    continue
                ws, details = outcome
                next_beat = now + interval
                heartbeat_sent = ping_sent = None
                last_frame = now
                refresh_at = refresh_time(self._config, details, now)
                continue
            try:
                if now >= next_beat:
                    next_beat = now + interval
                    if heartbeat_sent is None:
                        ws.send(HEARTBEAT_FRAME)
                        heartbeat_sent = now
                    if ping_sent is None:
                        ws.send(PING_FRAME)
                        ping_sent = now
                # Sleep in recv until a frame comes or the next deadline (see MAX_IDLE_WAIT).
                wake_at = next_beat
                if heartbeat_sent is not None:
                    wake_at = min(wake_at, max(heartbeat_sent, last_frame) + interval)
                if ping_sent is not None:
                    wake_at = min(wake_at, max(ping_sent, last_frame) + interval)
                if refresh_at is not None:
                    wake_at = min(wake_at, refresh_at)
                ws.settimeout(min(MAX_IDLE_WAIT, max(0.001, wake_at - now)))
                opcode, data = ws.recv_data()
            except (wsclient.WebSocketTimeoutException, TimeoutError):
                now = time.monotonic()
                if ping_sent is not None and now - max(ping_sent, last_frame) >= interval:
                    logger.warning("deep heartbeat (aws/ping) missed")
                    self._post(SocketEvent.DEEP_HEARTBEAT_FAILURE)
                    ping_sent = None
                if heartbeat_sent is not None and now - max(heartbeat_sent, last_frame) >= interval:
                    logger.warning("heartbeat missed: the WebSocket is dead, reconnecting")
                    return _Exit.DEAD
                continue
            except (OSError, wsclient.WebSocketException) as exc:
                if self._stop:
                    return _Exit.STOP
                if self._suspended:  # woken by suspend(): not a failure
                    return _Exit.SUSPEND
                if isinstance(exc, FrameTooLargeError):  # closed (1009) before its payload
                    self._post(RawFrame("", binary=True, reason=str(exc)))
                    logger.warning("the server sent an over-long frame; reconnecting")
                    return _Exit.DEAD
                logger.warning("the WebSocket failed (%s)", type(exc).__name__)
                return _Exit.DEAD
            last_frame = time.monotonic()
            if opcode == wsclient.ABNF.OPCODE_CLOSE:
                if self._stop:
                    return _Exit.STOP
                if self._suspended:
                    return _Exit.SUSPEND
                logger.info("the server closed the WebSocket")
                return _Exit.DEAD
            if opcode != wsclient.ABNF.OPCODE_TEXT:
                self._post(RawFrame("", binary=True))  # counted and logged by the dispatcher
                continue
            text = text_of(data)
            if text is None:
                self._post(_INVALID_UTF8)  # counted and dropped, the socket goes on
                continue
            frame = classify_frame(text)
            kind = frame.kind
            if kind is FrameKind.HEARTBEAT:
                heartbeat_sent = None
            elif kind is FrameKind.PING:
                if is_ping_ok(frame):
                    ping_sent = None
                else:
                    logger.warning("deep heartbeat answered with an error status")
                    self._post(SocketEvent.DEEP_HEARTBEAT_FAILURE)
                    ping_sent = None
            elif kind is FrameKind.CHAT:
                if not self._handover.seen(text):
                    self._post(frame)
                # Decode the item only when it may be the end (the dispatcher decodes it anyway).
                if _ENDED_MARK in text and frame_ends_chat(frame):
                    return _Exit.ENDED
            elif kind is FrameKind.SUBSCRIBE:
                logger.debug("subscribe acknowledged again")
            else:  # refused, or an unknown topic: the dispatcher counts it (logged once)
                self._post(RawFrame(text))

    # -- proactive refresh (make-before-break) -----------------------------------------------

    def _refresh(
        self, old: wsclient.WebSocket
    ) -> tuple[wsclient.WebSocket, ConnectionDetails] | _Exit | None:
        """Replace ``old`` by a new subscribed socket; None if that failed (``old`` kept)."""
        try:
            details = self._connector()
        except AccessDeniedError:
            logger.info("the service refused a new connection: the chat has ended")
            self._post(SocketEvent.ACCESS_DENIED)
            return _Exit.ENDED
        except ConnectChatError as exc:
            logger.warning("refreshing the connection failed (%s); keeping the socket", exc)
            return None
        self._details = details  # (the connector made its token the one in use)
        early: list[str] = []
        try:
            new = self._open(details, early)
        except Exception as exc:
            with self._ws_lock:
                half, self._ws = self._ws, old
            if half is not None and half is not old:
                close_ws(half)
            if self._stop:
                return _Exit.STOP
            if self._suspended:
                return _Exit.SUSPEND
            logger.warning("opening the refreshed WebSocket failed (%s); keeping the old one",
                           type(exc).__name__)
            return None
        ended = self._handover.run(old, new, early)
        close_ws(old)
        self.refreshes += 1
        logger.info("the WebSocket was refreshed (make-before-break)")
        for text in early:
            if not self._handover.seen(text):
                self._post(RawFrame(text))
        if ended:
            return _Exit.ENDED
        return new, details

    def _close_socket(self) -> None:
        with self._ws_lock:
            ws, self._ws = self._ws, None
        if ws is not None:
            close_ws(ws)


#: Posted for a text frame that is not valid UTF-8 (websocket-client's own check is off).
_INVALID_UTF8 = RawFrame("", binary=True, reason="a text frame that is not valid UTF-8")
