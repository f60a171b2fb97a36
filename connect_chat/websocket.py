"""The socket thread: one chat WebSocket, its heartbeats, and the reconnect loop.

Why ``websocket.create_connection`` and our own receive loop rather than ``WebSocketApp``:
this thread must interleave three things -- reading frames, sending ``aws/heartbeat`` /
``aws/ping`` on time and noticing missed replies, and reacting to ``disconnect()`` /
``suspend`` -- and must reconnect as a plain loop with a fresh URL for every attempt.
``WebSocketApp`` owns its own loop, ping thread and reconnect (fixed, uninterruptible
sleep) and calls back from inside them; a raw ``WebSocket`` with a short receive timeout
(``socket_poll_interval``) gives us all of it on one thread. websocket-client's frame reader
keeps partial frames across timeouts, so a timeout never corrupts the stream.

Only this thread touches the socket: it is the only sender (subscribe and heartbeats; chat
messages go over REST), and the send lock of ``enable_multithread=True`` covers any future
sender. It never runs user code: frames and connection events go onto the inbox queue
through ``post``, and the dispatcher thread does the rest.

Lifecycle of :class:`SocketWorker`::

    open + subscribe --(ok)--> pump (read, heartbeats) --(dead)--> BROKEN, backoff,
      ^                                                             CreateParticipantConnection,
      +------------------------- REESTABLISHED <--------------------open + subscribe ...

``stop()`` / ``suspend()`` interrupt any wait at once (``threading.Event``); an
``AccessDeniedException`` from CreateParticipantConnection means the chat is over: the
worker posts ``ACCESS_DENIED`` and ends (no retry storm). Other failures retry with
:class:`~connect_chat.throttles.Backoff`.

Hooks for later work: proactive refresh (make-before-break before the token/URL expiry)
belongs in :meth:`SocketWorker._pump` next to the heartbeat deadlines, using
``ConnectionDetails.expiry`` / ``websocket_url_expiry``.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import random
import threading
import time
from collections.abc import Callable

import attrs
import websocket as wsclient

from connect_chat.config import GlobalConfig
from connect_chat.errors import (
    AccessDeniedError,
    ConnectChatError,
    ConnectionTimeoutError,
    WebSocketError,
)
from connect_chat.models import ConnectionDetails
from connect_chat.parsing import (
    HEARTBEAT_FRAME,
    MAX_FRAME_CHARS,
    PING_FRAME,
    SUBSCRIBE_FRAME,
    TOPIC_CHAT,
    TOPIC_HEARTBEAT,
    TOPIC_PING,
    TOPIC_SUBSCRIBE,
    chat_inner,
    is_chat_ended,
    is_ping_ok,
    parse_frame,
    subscribe_status,
)
from connect_chat.throttles import Backoff

logger = logging.getLogger(__name__)


class SocketEvent(enum.Enum):
    """Connection events the socket thread posts to the inbox."""

    ESTABLISHED = "established"
    REESTABLISHED = "reestablished"
    BROKEN = "broken"
    DEEP_HEARTBEAT_FAILURE = "deep_heartbeat_failure"
    ACCESS_DENIED = "access_denied"


@attrs.frozen
class RawFrame:
    """One frame as received, for the dispatcher to parse (``binary``: not a text frame)."""

    text: str
    binary: bool = False


class _Exit(enum.Enum):
    STOP = "stop"
    SUSPEND = "suspend"
    DEAD = "dead"
    ENDED = "ended"


class SocketWorker:
    """Owns the socket thread of one session (see the module docstring).

    ``connector`` calls CreateParticipantConnection (fresh URL and token each time);
    ``on_details`` records new connection details; ``post`` hands an item to the inbox.
    """

    def __init__(
        self,
        *,
        name: str,
        config: GlobalConfig,
        initial: ConnectionDetails,
        connector: Callable[[], ConnectionDetails],
        on_details: Callable[[ConnectionDetails], None],
        post: Callable[[object], None],
        rng: random.Random | None = None,
    ) -> None:
        self._config = config
        self._details: ConnectionDetails | None = initial
        self._connector = connector
        self._on_details = on_details
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
        self._stop = False
        self._suspended = False
        self._resumed = False
        self._ws: wsclient.WebSocket | None = None
        self._ws_lock = threading.Lock()
        #: Set once the first open+subscribe finished, well or badly (``first_error``).
        self.ready = threading.Event()
        self.first_error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    # -- control (any thread) ------------------------------------------------------------

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        """Close the socket and end the thread (no reconnect)."""
        self._stop = True
        self._wake.set()

    def suspend(self) -> None:
        """Close the socket and stop reconnecting until :meth:`resume`."""
        self._suspended = True
        self._wake.set()

    def resume(self) -> None:
        """Reconnect now (fresh URL), after a suspend or after reconnecting gave up."""
        self._suspended = False
        self._resumed = True
        self._wake.set()

    def join(self, timeout: float) -> None:
        if self.thread is not threading.current_thread() and self.thread.is_alive():
            self.thread.join(timeout)

    @property
    def suspended(self) -> bool:
        return self._suspended

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
            if not first and not self._resumed:
                delay = self._backoff.next_delay()
                logger.debug("reconnecting in %.2f s", delay)
                if delay > 0 and self._wake.wait(delay):
                    continue  # woken: re-check stop/suspend/resume
            self._resumed = False
            details = self._details
            if details is None:
                try:
                    details = self._connector()
                except AccessDeniedError:
                    logger.info("the service refused a new connection: the chat has ended")
                    self._post(SocketEvent.ACCESS_DENIED)
                    return
                except ConnectChatError as exc:
                    failures += 1
                    logger.warning("CreateParticipantConnection failed (%s); will retry", exc)
                    if self._gave_up(failures):
                        continue
                    continue
                self._details = details
                self._on_details(details)
            try:
                ws = self._open(details)
            except Exception as exc:
                self._details = None  # the URL may be stale: ask for a fresh one next time
                if first:
                    self.first_error = exc
                    self.ready.set()
                    return
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
            exit_reason = self._pump(ws)
            self._close_socket()
            self._details = None  # the next socket needs a fresh URL
            if exit_reason in (_Exit.STOP, _Exit.ENDED):
                return
            if exit_reason is _Exit.DEAD:
                self._post(SocketEvent.BROKEN)

    def _gave_up(self, failures: int) -> bool:
        limit = self._config.max_reconnect_attempts
        if limit is not None and failures >= limit:
            logger.error("reconnecting failed %d times; waiting for resume", failures)
            self._suspended = True
            return True
        return False

    def _open(self, details: ConnectionDetails) -> wsclient.WebSocket:
        """Open the URL and subscribe to ``aws/chat``; frames before the ack are forwarded."""
        url = details.websocket_url
        if not url:
            raise WebSocketError("no WebSocket URL")
        timeout = self._config.connect_timeout
        deadline = time.monotonic() + timeout
        try:
            ws = wsclient.create_connection(url, timeout=timeout, enable_multithread=True)
        except wsclient.WebSocketBadStatusException as exc:
            raise WebSocketError(
                f"the WebSocket upgrade was refused (HTTP {exc.status_code})"
            ) from None
        except (OSError, wsclient.WebSocketException) as exc:
            raise WebSocketError(
                f"the WebSocket could not be opened ({type(exc).__name__})"
            ) from None
        with self._ws_lock:
            self._ws = ws
        if self._stop:
            raise WebSocketError("stopped")
        ws.settimeout(self._config.socket_poll_interval)
        ws.send(SUBSCRIBE_FRAME)
        while True:
            if self._stop or self._suspended:
                raise WebSocketError("stopped while subscribing")
            if time.monotonic() >= deadline:
                self._close_socket()
                raise ConnectionTimeoutError("no subscribe acknowledgement in time")
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
            text = data.decode("utf-8", "replace")
            frame = parse_frame(text) if len(text) <= MAX_FRAME_CHARS else None
            if frame is not None and frame.topic == TOPIC_SUBSCRIBE:
                status = subscribe_status(frame)
                if status == "success" or status is None:
                    return ws
                self._close_socket()
                raise WebSocketError(f"subscription refused ({status})")
            self._post(RawFrame(text))

    def _pump(self, ws: wsclient.WebSocket) -> _Exit:
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
        while True:
            if self._stop:
                return _Exit.STOP
            if self._suspended:
                return _Exit.SUSPEND
            now = time.monotonic()
            try:
                if now >= next_beat:
                    next_beat = now + interval
                    if heartbeat_sent is None:
                        ws.send(HEARTBEAT_FRAME)
                        heartbeat_sent = now
                    if ping_sent is None:
                        ws.send(PING_FRAME)
                        ping_sent = now
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
                logger.warning("the WebSocket failed (%s)", type(exc).__name__)
                return _Exit.DEAD
            last_frame = time.monotonic()
            if opcode == wsclient.ABNF.OPCODE_CLOSE:
                logger.info("the server closed the WebSocket")
                return _Exit.DEAD
            if opcode != wsclient.ABNF.OPCODE_TEXT:
                self._post(RawFrame("", binary=True))  # counted and logged by the dispatcher
                continue
            text = data.decode("utf-8", "replace")
            frame = parse_frame(text) if len(text) <= MAX_FRAME_CHARS else None
            if frame is None:
                self._post(RawFrame(text))  # the dispatcher refuses it (counted, logged once)
                continue
            if frame.topic == TOPIC_HEARTBEAT:
                heartbeat_sent = None
            elif frame.topic == TOPIC_PING:
                if is_ping_ok(frame):
                    ping_sent = None
                else:
                    logger.warning("deep heartbeat answered with an error status")
                    self._post(SocketEvent.DEEP_HEARTBEAT_FAILURE)
                    ping_sent = None
            elif frame.topic == TOPIC_CHAT:
                self._post(RawFrame(text))
                inner = chat_inner(frame)
                if inner is not None and is_chat_ended(inner):
                    return _Exit.ENDED
            elif frame.topic == TOPIC_SUBSCRIBE:
                logger.debug("subscribe acknowledged again")
            else:
                self._post(RawFrame(text))  # unknown topic: the dispatcher counts it

    def _close_socket(self) -> None:
        with self._ws_lock:
            ws, self._ws = self._ws, None
        if ws is None:
            return
        try:
            ws.settimeout(0.5)
            ws.send_close(status=1000)
        except Exception:  # the socket may be gone already
            pass
        with contextlib.suppress(Exception):
            ws.shutdown()  # type: ignore[no-untyped-call]
