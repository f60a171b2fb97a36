"""``ChatSession``: the customer chat API (iOS ``ChatSession``), blocking and thread-based.

A session owns, while connected, exactly two daemon threads: the socket thread
(``connect-chat-ws-<contact>``, :mod:`connect_chat.websocket`) and the dispatcher thread
(``connect-chat-dispatch-<contact>``, :mod:`connect_chat.dispatcher`). Public methods run on
the caller's thread: they validate, make the REST call, and post what changes the transcript
to the dispatcher, which owns it. No SDK lock is held while a callback runs or while a thread
is joined, so every method may be called from a callback.

``disconnect()`` and ``reset()`` are idempotent and join the threads with a deadline
(``GlobalConfig.join_timeout``); called from a callback they never join the thread they run
on. ``on_chat_ended`` fires exactly once per connection, whichever way the chat ends.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import attrs

from connect_chat.attachments import (
    Progress,
    download_file,
    inspect_file,
    safe_destination,
    upload_file,
)
from connect_chat.client import AWSClient
from connect_chat.config import GlobalConfig
from connect_chat.deadlines import bounded, watched_http_session
from connect_chat.dispatcher import (
    Call,
    Dispatcher,
    EndSession,
    HistoryPage,
    Inbox,
    ItemStream,
    LocalUpdate,
    SessionStats,
    Subscribers,
)
from connect_chat.enums import (
    ContentType,
    MessageDirection,
    MessageReceiptType,
    MessageStatus,
    ScanDirection,
    SortKey,
)
from connect_chat.errors import (
    AccessDeniedError,
    AttachmentError,
    ChatEndedError,
    ConflictError,
    ConnectChatError,
    ConnectionTimeoutError,
    InvalidInputError,
    RequestTimeoutError,
    SessionClosedError,
)
from connect_chat.interactive import ViewResource
from connect_chat.models import (
    ChatDetails,
    ConnectionDetails,
    Event,
    Message,
    Metadata,
    Participant,
    StartPosition,
    TranscriptItem,
    TranscriptResponse,
)
from connect_chat.outbox import Outbox, OutboxEntry, Retrier
from connect_chat.parsing import TranscriptPage, parse_transcript_page
from connect_chat.receipts import ReceiptBatch, ReceiptThrottle, ReceiptTicket
from connect_chat.timestamps import iso_timestamp
from connect_chat.transcript import Transcript, TranscriptView
from connect_chat.typing_indicators import TypingThrottle
from connect_chat.validation import (
    checked_event,
    checked_message,
    checked_transcript_request,
)
from connect_chat.websocket import SocketEvent, SocketWorker, first_open_timeout

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: The callbacks a session offers (all ``None`` until the program sets them).
CALLBACK_NAMES: tuple[str, ...] = (
    "on_connection_established",
    "on_connection_broken",
    "on_connection_reestablished",
    "on_deep_heartbeat_failure",
    "on_message_received",
    "on_transcript_updated",
    "on_chat_ended",
    "on_typing",
    "on_read_receipt",
    "on_delivered_receipt",
    "on_participant_idle",
    "on_participant_returned",
    "on_auto_disconnection",
    "on_participant_invited",
    "on_chat_rehydrated",
    "on_typing_stopped",
    "on_participant_joined",
    "on_participant_left",
    "on_participant_display_name_updated",
    "on_transfer_succeeded",
    "on_transfer_failed",
    "on_authentication_initiated",
    "on_authentication_succeeded",
    "on_authentication_failed",
    "on_authentication_timeout",
    "on_authentication_expired",
    "on_authentication_cancelled",
)


def _warn_if_unverified(client: AWSClient) -> None:
    """The SDK never turns TLS verification off; say so once if a custom client did."""
    try:
        verify = client.botocore_client._endpoint.http_session._verify
    except AttributeError:
        return
    if verify is False:
        logger.warning(
            "the AWS client was built with TLS certificate verification off (verify=False); "
            "traffic to the Participant Service is not authenticated"
        )


def _count_retries(client: AWSClient, stats: SessionStats) -> None:
    """Count botocore's retried attempts (``amz-sdk-request: attempt=N``, N > 1) in ``stats``."""
    try:
        events = client.botocore_client.meta.events
    except AttributeError:
        return

    def before_send(request: Any = None, **_: Any) -> None:
        header = getattr(request, "headers", {}).get("amz-sdk-request") if request else None
        if isinstance(header, bytes):
            header = header.decode("ascii", "replace")
        if isinstance(header, str) and "attempt=" in header:
            attempt = header.split("attempt=", 1)[1].split(";", 1)[0].strip()
            if attempt.isdigit() and int(attempt) > 1:
                stats.incr("retries")

    events.register(
        "before-send.connectparticipant", before_send, unique_id=f"connect-chat-retries-{id(stats)}"
    )


class ConnectionDetailsProvider:
    """The session's chat and connection details, and whether the chat is active (iOS parity).

    Read-only for the program; the session updates it. Thread-safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._chat_details: ChatDetails | None = None
        self._connection_details: ConnectionDetails | None = None
        self._active = False

    def get_chat_details(self) -> ChatDetails | None:
        with self._lock:
            return self._chat_details

    def get_connection_details(self) -> ConnectionDetails | None:
        with self._lock:
            return self._connection_details

    def is_chat_session_active(self) -> bool:
        with self._lock:
            return self._active

    def _update(
        self,
        *,
        chat_details: ChatDetails | None = None,
        connection_details: ConnectionDetails | None = None,
    ) -> None:
        with self._lock:
            if chat_details is not None:
                self._chat_details = chat_details
            if connection_details is not None:
                self._connection_details = connection_details

    def _set_active(self, active: bool) -> None:
        with self._lock:
            self._active = active

    def _reset(self) -> None:
        with self._lock:
            self._chat_details = None
            self._connection_details = None
            self._active = False


class _Connection:
    """One ``connect()``: its transcript, inbox, socket thread and dispatcher thread."""

    def __init__(
        self,
        session: ChatSession,
        chat_details: ChatDetails,
        details: ConnectionDetails,
        config: GlobalConfig,
        client: AWSClient,
    ) -> None:
        self.config = config
        self.client = client
        self.chat_details = chat_details
        self.provider = session._provider
        self.ended = False
        self.closing = False
        #: Server ids of the messages this program sent (known before the transcript has them).
        self.sent_ids: set[str] = set()
        self.transcript = Transcript()
        #: Sends not confirmed yet (SENDING or FAILED), retried by ``retrier`` (outbox.py).
        self.outbox = Outbox()
        #: Set when the session closes: ends any outbox wait at once.
        self.stopped = threading.Event()
        self._refresh_lock = threading.Lock()
        self.retrier = Retrier(
            token=self.token,
            refresh=self.refresh_token,
            stopped=self.stopped,
            ended=lambda: self.ended,
            base=config.send_retry_base,
            cap=config.send_retry_cap,
            on_retry=lambda: session.stats.incr("retries"),
        )
        label = chat_details.contact_id or "unknown"
        inbox = Inbox(maxsize=config.inbox_size)
        settings = config.features.message_receipts
        self.receipts = ReceiptThrottle(
            settings.throttle_time,
            enabled=settings.should_send_message_receipts,
            delivered_delay=config.delivered_receipt_delay,
            on_schedule=lambda: self.dispatcher.post(Call(self.dispatcher.schedule_receipts)),
        )
        self.dispatcher = Dispatcher(
            name=f"connect-chat-dispatch-{label}",
            inbox=inbox,
            transcript=self.transcript,
            callbacks=session,
            subscribers=session._subscribers,
            fetch_older=self._fetch_older,
            gap_fill_max_pages=config.gap_fill_max_pages,
            on_active=lambda: self.provider._set_active(True),
            on_ended=self._on_ended,
            receipts=self.receipts,
            send_receipt=self._send_receipt,
            stats=session.stats,
            own_participant_id=chat_details.participant_id,
            typing_expiry=config.typing_expiry,
            on_incoming_message=self._auto_delivered_receipt,
        )
        session.stats._track_receipts(self.receipts)
        self.socket = SocketWorker(
            name=f"connect-chat-ws-{label}",
            config=config,
            initial=details,
            connector=lambda: client.create_participant_connection(
                chat_details.participant_token
            ),
            on_details=lambda d: self.provider._update(connection_details=d),
            post=self.dispatcher.post,
        )

    def token(self) -> str:
        details = self.provider.get_connection_details()
        token = details.connection_token if details is not None else None
        if not token:
            raise SessionClosedError("no connection token: the session is not connected")
        return token

    def refresh_token(self, refused: str) -> str:
        """A connection token newer than ``refused`` (which got AccessDeniedException).

        CreateParticipantConnection with the participant token, unless another thread has
        already replaced ``refused``. If the participant token is refused too, the chat is
        over: ``ChatEndedError`` is raised and the caller ends the session
        (:meth:`chat_over`) once its own transcript updates are posted.
        """
        with self._refresh_lock:
            current = self.token()
            if current != refused:
                return current
            try:
                details = self.client.create_participant_connection(
                    self.chat_details.participant_token
                )
            except AccessDeniedError as exc:
                logger.info("the service refused a new connection token: the chat has ended")
                raise ChatEndedError("the chat has ended") from exc
            logger.info("the connection token was refused; using a fresh one")
            self.provider._update(connection_details=details)
            return self.token()

    def chat_over(self) -> None:
        """The participant token was refused: end the session like a chat.ended frame."""
        self.dispatcher.post(SocketEvent.ACCESS_DENIED)

    def with_token(self, call: Callable[[str], T]) -> T:
        """``call(token)``, once more with a fresh token if the first is refused (403)."""
        token = self.token()
        try:
            return call(token)
        except AccessDeniedError:
            try:
                fresh = self.refresh_token(token)
            except ChatEndedError:
                self.chat_over()
                raise
            return call(fresh)

    def _fetch_older(self, next_token: str | None) -> TranscriptPage:
        """One gap-fill page: BACKWARD from the newest item, or from ``next_token``."""
        return self.with_token(lambda token: self._fetch_older_with(token, next_token))

    def _fetch_older_with(self, token: str, next_token: str | None) -> TranscriptPage:
        response = self.client.get_transcript(
            token,
            scan_direction=ScanDirection.BACKWARD.value,
            sort_order=SortKey.ASCENDING.value,
            max_results=self.config.gap_fill_page_size,
            next_token=next_token,
        )
        return parse_transcript_page(response)

    def _auto_delivered_receipt(self, message: Message) -> None:
        """Dispatcher thread: a new AGENT message -> a throttled Delivered receipt (Android).

        Only with ``should_send_message_receipts``; it goes through the same window as the
        program's own requests, so a Read asked for meanwhile covers it.
        """
        if not self.config.features.message_receipts.should_send_message_receipts:
            return
        if message.participant != "AGENT" or message.id in self.sent_ids:
            return
        self.receipts.request_automatic(
            MessageReceiptType.MESSAGE_DELIVERED, message.id, message.time_stamp
        )

    def _send_receipt(self, batch: ReceiptBatch) -> None:
        """Dispatcher thread: one throttled receipt SendEvent."""
        self.with_token(lambda token: self.client.send_event(
            token, batch.content_type, batch.content, client_token=batch.client_token
        ))

    def _on_ended(self) -> None:
        """Dispatcher thread: the chat is over (frame, disconnect, or access denied)."""
        self.ended = True
        self.provider._set_active(False)
        self.socket.stop()

    @property
    def threads_alive(self) -> bool:
        return self.socket.thread.is_alive() or self.dispatcher.thread.is_alive()

    def start(self) -> None:
        self.dispatcher.start()
        self.socket.start()

    def finish(self, *, chat_ended: bool) -> None:
        """Stop both threads (``chat_ended``: fire ``on_chat_ended`` first if not yet)."""
        self.stopped.set()
        self.socket.stop()
        if self.dispatcher.alive:
            self.dispatcher.post(EndSession(chat_ended=chat_ended))

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        self.socket.join(max(0.0, deadline - time.monotonic()))
        self.dispatcher.join(max(0.0, deadline - time.monotonic()))
        if self.threads_alive and threading.current_thread() not in (
            self.socket.thread,
            self.dispatcher.thread,
        ):
            logger.warning("the session's threads did not stop within %.1f s", timeout)


class ChatSession:
    """A customer's chat: connect, send, receive (callbacks or pull), disconnect.

    ``ChatSession(config)`` instances are independent; ``ChatSession.shared()`` is the
    process-wide instance of the iOS style. Use it as a context manager to be sure no thread
    is left behind.
    """

    _shared: ClassVar[ChatSession | None] = None
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    # Callbacks (set them to callables; they run on the dispatcher thread).
    on_connection_established: Callable[[], None] | None
    on_connection_broken: Callable[[], None] | None
    on_connection_reestablished: Callable[[], None] | None
    on_deep_heartbeat_failure: Callable[[], None] | None
    on_message_received: Callable[[TranscriptItem], None] | None
    on_transcript_updated: Callable[[Any], None] | None
    on_chat_ended: Callable[[], None] | None
    on_typing: Callable[[Any], None] | None
    on_read_receipt: Callable[[Any], None] | None
    on_delivered_receipt: Callable[[Any], None] | None
    on_participant_idle: Callable[[Any], None] | None
    on_participant_returned: Callable[[Any], None] | None
    on_auto_disconnection: Callable[[Any], None] | None
    on_participant_invited: Callable[[Any], None] | None
    on_chat_rehydrated: Callable[[Any], None] | None
    on_typing_stopped: Callable[[Any], None] | None
    on_participant_joined: Callable[[Any], None] | None
    on_participant_left: Callable[[Any], None] | None
    on_participant_display_name_updated: Callable[[Any], None] | None
    on_transfer_succeeded: Callable[[Any], None] | None
    on_transfer_failed: Callable[[Any], None] | None
    on_authentication_initiated: Callable[[Any], None] | None
    on_authentication_succeeded: Callable[[Any], None] | None
    on_authentication_failed: Callable[[Any], None] | None
    on_authentication_timeout: Callable[[Any], None] | None
    on_authentication_expired: Callable[[Any], None] | None
    on_authentication_cancelled: Callable[[Any], None] | None

    def __init__(self, config: GlobalConfig | None = None) -> None:
        if config is not None and not isinstance(config, GlobalConfig):
            raise InvalidInputError("ChatSession() takes a GlobalConfig (or nothing)")
        for name in CALLBACK_NAMES:
            setattr(self, name, None)
        self._lock = threading.RLock()
        self._config = config if config is not None else GlobalConfig()
        self._client: AWSClient | None = None
        self._conn: _Connection | None = None
        self._provider = ConnectionDetailsProvider()
        self._subscribers = Subscribers()
        self._typing = TypingThrottle(self._config.typing_throttle)
        #: Counters (bad frames, inbox overflows, gap fills) over all of this session's chats.
        self.stats = SessionStats()

    @classmethod
    def shared(cls) -> ChatSession:
        """The process-wide session (created on first use with the default config)."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    # -- configuration -------------------------------------------------------------------

    @property
    def global_config(self) -> GlobalConfig:
        return self._config

    def configure(self, config: GlobalConfig) -> None:
        """Use ``config`` from now on (a connected chat keeps its timings until reconnected)."""
        if not isinstance(config, GlobalConfig):
            raise InvalidInputError("configure() takes a GlobalConfig")
        with self._lock:
            self._config = config
            self._client = None
            self._typing = TypingThrottle(config.typing_throttle)

    def _aws_client(self) -> AWSClient:
        with self._lock:
            if self._client is None:
                config = self._config
                custom = config.custom_aws_client
                if isinstance(custom, AWSClient):
                    self._client = custom
                else:
                    cls = custom if custom is not None else AWSClient
                    if not (isinstance(cls, type) and issubclass(cls, AWSClient)):
                        raise InvalidInputError(
                            "custom_aws_client must be an AWSClient subclass or instance"
                        )
                    self._client = cls(
                        config.region,
                        config.endpoint_url,
                        config.botocore_config,
                        disable_csm=config.disable_csm,
                    )
                _warn_if_unverified(self._client)
                _count_retries(self._client, self.stats)
            return self._client

    # -- state ---------------------------------------------------------------------------

    def get_connection_details_provider(self) -> ConnectionDetailsProvider:
        return self._provider

    def is_chat_session_active(self) -> bool:
        """True from the subscribed WebSocket until the chat ends, ``disconnect`` or ``reset``."""
        return self._provider.is_chat_session_active()

    @property
    def transcript(self) -> TranscriptView:
        """The current transcript: an immutable, time-ordered snapshot."""
        conn = self._conn
        return conn.dispatcher.view if conn is not None else TranscriptView()

    @property
    def previous_transcript_next_token(self) -> str | None:
        conn = self._conn
        return conn.transcript.previous_transcript_next_token if conn is not None else None

    def _active_connection(self) -> _Connection:
        conn = self._conn
        if conn is None or conn.closing:
            raise SessionClosedError("the session is not connected")
        if conn.ended:
            raise ChatEndedError("the chat has ended")
        return conn

    # -- connect / disconnect ------------------------------------------------------------

    def connect(self, chat_details: ChatDetails, timeout: float | None = None) -> None:
        """Open the chat: CreateParticipantConnection, WebSocket subscribed, first history page.

        Blocks until the WebSocket is subscribed; raises ``ConnectionTimeoutError`` after
        ``timeout`` (default ``GlobalConfig.connect_timeout``) or the typed service error.
        """
        if not isinstance(chat_details, ChatDetails) or not chat_details.participant_token:
            raise InvalidInputError("connect() needs ChatDetails with a participant_token")
        if timeout is not None and (
            not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0
        ):
            raise InvalidInputError(f"timeout must be a positive number or None, got {timeout!r}")
        with self._lock:
            old = self._conn
            if old is not None and not old.ended and not old.closing:
                raise ConnectChatError(
                    "the session is already connected: disconnect() or reset() first"
                )
            config = self._config
        if old is not None:
            old.finish(chat_ended=False)
            old.join(config.join_timeout)
        wait = config.connect_timeout if timeout is None else timeout
        deadline = time.monotonic() + wait  # one budget for every step (deadlines.py)
        client = self._aws_client()
        client.call_timeout = config.request_timeout
        try:
            with bounded(deadline):
                details = client.create_participant_connection(chat_details.participant_token)
        except RequestTimeoutError as exc:
            raise ConnectionTimeoutError(f"connect() did not complete within {wait:.1f} s") from exc
        self._provider._reset()
        self._provider._update(chat_details=chat_details, connection_details=details)
        self._subscribers.reopen()
        conn = _Connection(self, chat_details, details, config, client)
        with self._lock:
            self._conn = conn
        # A failed first open is retried (fresh URL, backoff) as long as this call waits.
        conn.socket.first_deadline = deadline
        conn.start()
        ready = conn.socket.ready.wait(max(0.0, deadline - time.monotonic()))
        if ready and conn.closing:
            raise SessionClosedError("disconnect() or reset() ended connect()")
        if not ready or conn.socket.first_error is not None:
            error = conn.socket.first_error
            last = conn.socket.last_error
            self._abandon(conn)
            if error is None:
                raise ConnectionTimeoutError(first_open_timeout(last)) from last
            if isinstance(error, ConnectChatError):
                raise error
            raise ConnectionTimeoutError("the chat WebSocket could not be opened") from error
        with bounded(deadline):
            self._load_first_page(conn, max(0.0, deadline - time.monotonic()))
        if conn.closing:
            raise SessionClosedError("disconnect() or reset() ended connect()")

    def _abandon(self, conn: _Connection) -> None:
        conn.finish(chat_ended=False)
        conn.join(conn.config.join_timeout)
        with self._lock:
            if self._conn is conn:
                self._conn = None
        self._provider._reset()

    def _load_first_page(self, conn: _Connection, timeout: float) -> None:
        try:
            response = conn.client.get_transcript(
                conn.token(),
                scan_direction=ScanDirection.BACKWARD.value,
                sort_order=SortKey.ASCENDING.value,
                max_results=conn.config.transcript_page_size,
            )
        except ConnectChatError as exc:
            logger.warning("loading the transcript on connect failed: %s", exc)
            return
        done = threading.Event()
        conn.dispatcher.post(
            HistoryPage(
                page=parse_transcript_page(response),
                scan_direction=ScanDirection.BACKWARD.value,
                start_position_given=False,
                done=done,
            )
        )
        if threading.current_thread() is not conn.dispatcher.thread:
            done.wait(timeout)

    def disconnect(self) -> bool:
        """Leave the chat (DisconnectParticipant), end the session, stop its threads.

        Idempotent, callable from any thread (a callback included), and bounded in time:
        the session always ends locally -- ``on_chat_ended`` fires once (unless the chat had
        already ended), the threads stop within ``GlobalConfig.join_timeout`` -- even if the
        service fails or does not answer. Returns True when the service confirmed (or the
        chat was already over), False when leaving could not be confirmed (logged as a
        WARNING; the participant may stay in the chat until it times out).
        """
        with self._lock:
            conn = self._conn
            client = conn.client if conn is not None else self._client
            if conn is not None:
                first = not conn.closing
                conn.closing = True
        if client is not None:
            client.cancel_calls()  # a connect, sends, receipts in flight: they end at once
        if conn is None:
            return True
        confirmed = True
        if first and not conn.ended:
            confirmed = self._leave(conn)
        self._provider._set_active(False)
        conn.finish(chat_ended=True)
        conn.join(conn.config.join_timeout / 2)
        conn.client.close()  # keep-alive sockets, else open until the garbage collector runs
        return confirmed

    def _leave(self, conn: _Connection) -> bool:
        """DisconnectParticipant with a deadline (on a short-lived helper thread)."""
        outcome: dict[str, BaseException | None] = {}
        try:
            token = conn.token()
        except SessionClosedError:
            return False

        def call() -> None:
            try:
                with bounded(time.monotonic() + budget):  # no helper thread outlives it
                    conn.client.disconnect_participant_connection(token)
                outcome["error"] = None
            except AccessDeniedError:
                logger.info("DisconnectParticipant: the chat had already ended")
                outcome["error"] = None
            except Exception as exc:  # a custom client may raise anything
                outcome["error"] = exc

        budget = conn.config.join_timeout / 2
        label = conn.chat_details.contact_id or "unknown"
        helper = threading.Thread(target=call, name=f"connect-chat-leave-{label}", daemon=True)
        helper.start()
        helper.join(budget)
        if helper.is_alive():
            logger.warning(
                "DisconnectParticipant did not answer within %.1f s; "
                "the session ends locally", budget,
            )
            return False
        error = outcome.get("error")
        if error is not None:
            logger.warning(
                "DisconnectParticipant failed (%s); the session ends locally",
                type(error).__name__ if not isinstance(error, ConnectChatError) else error,
            )
            return False
        return True

    def reset(self) -> None:
        """Drop the socket, the threads and all state, without leaving the chat. Idempotent."""
        with self._lock:
            conn, self._conn = self._conn, None
            client = conn.client if conn is not None else self._client
        self._provider._reset()
        if conn is not None:
            conn.closing = True
        if client is not None:
            client.cancel_calls()  # calls in flight end at once (a send becomes FAILED)
        if conn is not None:
            conn.finish(chat_ended=False)
            conn.join(conn.config.join_timeout)
        if client is not None:
            client.close()  # keep-alive sockets, else open until the garbage collector runs

    def suspend_websocket_connection(self) -> None:
        """Close the WebSocket and stop reconnecting until ``resume_websocket_connection``."""
        conn = self._conn
        if conn is not None and not conn.ended:
            conn.socket.suspend()

    def resume_websocket_connection(self) -> None:
        """Reconnect (fresh URL) and fill the gap from the transcript."""
        conn = self._conn
        if conn is not None and not conn.ended and not conn.closing:
            conn.socket.resume()

    def __enter__(self) -> ChatSession:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.disconnect()
        finally:
            self.reset()

    # -- sending -------------------------------------------------------------------------

    @staticmethod
    def _apply_local(conn: _Connection, update: LocalUpdate) -> None:
        """Hand a local change to the dispatcher; off its thread, wait until it shows.

        The dispatcher is the transcript's only writer; waiting (bounded) means that when a
        send call returns, ``session.transcript`` already shows what it did.
        """
        on_dispatcher = threading.current_thread() is conn.dispatcher.thread
        done = None if on_dispatcher else threading.Event()
        conn.dispatcher.post(attrs.evolve(update, done=done))
        if done is not None:
            done.wait(conn.config.join_timeout)

    @classmethod
    def _send_failed(
        cls, conn: _Connection, entry: OutboxEntry, placeholder: Message, exc: Exception
    ) -> None:
        """A send gave up: FAILED in the outbox and the transcript (``resend_failed_message``
        can retry it); a chat that ended meanwhile ends the session."""
        conn.outbox.failed(entry.local_id)
        cls._apply_local(conn, LocalUpdate(
            "failed", placeholder,
            time_stamp=iso_timestamp(datetime.datetime.now(datetime.timezone.utc)),
        ))
        if isinstance(exc, ChatEndedError):
            conn.chat_over()

    @staticmethod
    def _placeholder(
        conn: _Connection, content_type: str, text: str, *, attachment: bool = False
    ) -> Message:
        """The customer's message as shown before the service has it: a local id, SENDING
        (an attachment's ``attachment_id`` is that local id until StartAttachmentUpload)."""
        now = iso_timestamp(datetime.datetime.now(datetime.timezone.utc))
        local_id = str(uuid.uuid4())
        return Message(
            id=local_id,
            time_stamp=now,
            content_type=content_type,
            participant="CUSTOMER",
            text=text,
            attachment_id=local_id if attachment else None,
            message_direction=MessageDirection.OUTGOING,
            display_name=conn.transcript.customer_display_name,
            metadata=Metadata(
                id=local_id, time_stamp=now, content_type=content_type,
                status=MessageStatus.SENDING,
            ),
        )

    def send_message(self, content_type: ContentType | str, message: str) -> Message:
        """Send a message; it shows at once in the transcript as SENDING.

        Blocks until the service stored it and returns the message as sent (server id,
        status SENT; ``persistent_id`` is the placeholder's id). Throttling, 5xx and network
        failures -- the socket being down included -- are retried with the same ClientToken
        (stored once) for up to ``GlobalConfig.send_timeout`` seconds; an expired connection
        token is replaced. When that fails the item becomes FAILED, stays in the transcript,
        and the typed error is raised: ``resend_failed_message(persistent_id)`` tries again.
        Validation errors fail at once; ``ChatEndedError`` if the chat is over.
        """
        content_type = checked_message(content_type, message)
        conn = self._active_connection()
        conn.token()
        placeholder = self._placeholder(conn, content_type, message)
        local_id = placeholder.id
        entry = OutboxEntry(
            local_id=local_id,
            content_type=content_type,
            content=message,
            client_token=str(uuid.uuid4()),
            placeholder=placeholder,
        )
        conn.outbox.add(entry)
        self._apply_local(conn, LocalUpdate("placeholder", placeholder))
        return self._deliver_message(conn, entry, placeholder)

    def _deliver_message(
        self, conn: _Connection, entry: OutboxEntry, placeholder: Message
    ) -> Message:
        """The outbox path of one text message: SendMessage with retries, then SENT/FAILED."""
        now = placeholder.time_stamp
        content_type = entry.content_type
        deadline = time.monotonic() + conn.config.send_timeout
        try:
            response = conn.retrier.run(
                "SendMessage",
                lambda token: conn.client.send_message(
                    token, content_type, entry.content, client_token=entry.client_token
                ),
                deadline,
            )
        except ConnectChatError as exc:
            self._send_failed(conn, entry, placeholder, exc)
            raise
        conn.outbox.remove(entry.local_id)
        server_id = str(response.get("Id") or "")
        time_stamp = str(response.get("AbsoluteTime") or now)
        if not server_id:
            return placeholder
        conn.sent_ids.add(server_id)
        self.stats.incr("messages_sent")
        self._apply_local(conn,
            LocalUpdate("sent", placeholder, server_id=server_id, time_stamp=time_stamp)
        )
        return attrs.evolve(
            placeholder,
            id=server_id,
            time_stamp=time_stamp,
            metadata=Metadata(
                id=server_id, time_stamp=time_stamp, content_type=content_type,
                status=MessageStatus.SENT,
            ),
        )

    def send_event(self, content_type: ContentType | str, content: str = "") -> bool:
        """Send an event (typing, a receipt). Returns False when typing was throttled.

        Typing goes out at most once per ``GlobalConfig.typing_throttle`` seconds (the
        calls in between succeed without a request), like the iOS SDK.
        """
        content_type = checked_event(content_type, content)
        conn = self._active_connection()
        conn.token()
        typing = content_type == ContentType.TYPING.value
        with self._lock:
            throttle = self._typing
        if typing and not throttle.should_send():
            self.stats.incr("typing_throttled")
            return False
        try:
            conn.with_token(
                lambda token: conn.client.send_event(token, content_type, content or None)
            )
        except ConnectChatError:
            if typing:
                throttle.send_failed()
            raise
        if typing:
            self.stats.incr("typing_sent")
        return True

    def send_message_receipt(
        self,
        receipt_type: MessageReceiptType | str,
        message: TranscriptItem | str,
    ) -> ReceiptTicket:
        """Tell the agent a message was delivered or read (throttled, iOS semantics).

        Receipts go out at most once per ``MessageReceipts.throttle_time`` window and type,
        only for the newest message asked for (it covers the older ones); a Read covers the
        Delivered. Nothing is sent for the customer's own messages or when
        ``should_send_message_receipts`` is off. Returns a ticket: ``ticket.wait(timeout)``
        gives the outcome (SENT, SUPERSEDED, SUPPRESSED, FAILED).
        """
        try:
            kind = MessageReceiptType(str(receipt_type))
        except ValueError:
            raise InvalidInputError(f"{receipt_type!r} is not a receipt type") from None
        conn = self._active_connection()
        if isinstance(message, TranscriptItem):
            item: TranscriptItem | None = message
            message_id = message.id
        elif isinstance(message, str) and message:
            message_id = message
            item = conn.transcript.get(message_id)
        else:
            raise InvalidInputError("give a message id or a transcript item")
        own = message_id in conn.sent_ids or (
            isinstance(item, Message) and item.participant == "CUSTOMER"
        )
        return conn.receipts.request(
            kind,
            message_id,
            timestamp=item.time_stamp if item is not None else None,
            own_message=own,
        )

    # -- attachments and views -----------------------------------------------------------

    def send_attachment(
        self, path: str | os.PathLike[str], progress: Progress | None = None
    ) -> Message:
        """Upload a file as an attachment; it shows at once in the transcript as SENDING.

        The file is checked first (type, size; ``UnsupportedAttachmentError`` before any
        call), then StartAttachmentUpload, the PUT to the pre-signed URL (``progress(done,
        total)`` is called as bytes go out), CompleteAttachmentUpload. Returns the message
        with the service's ``attachment_id``; it becomes SENT when the service's ATTACHMENT
        item arrives (same ``persistent_id``). The two REST calls are retried like
        ``send_message``'s; on failure the item becomes FAILED, the error is raised, and
        ``resend_failed_message(persistent_id)`` redoes what did not complete.
        """
        file = inspect_file(path)
        conn = self._active_connection()
        conn.token()
        placeholder = self._placeholder(conn, file.content_type, file.name, attachment=True)
        local_id = placeholder.id
        entry = OutboxEntry(
            local_id=local_id,
            content_type=file.content_type,
            content=file.name,
            client_token=str(uuid.uuid4()),
            placeholder=placeholder,
            path=Path(os.fspath(path)),
            complete_token=str(uuid.uuid4()),
        )
        conn.outbox.add(entry)
        self._apply_local(conn, LocalUpdate("placeholder", placeholder))
        return self._deliver_attachment(conn, entry, placeholder, progress)

    def _deliver_attachment(
        self,
        conn: _Connection,
        entry: OutboxEntry,
        placeholder: Message,
        progress: Progress | None,
    ) -> Message:
        """The outbox path of one attachment: start, PUT, complete -- each step once done."""
        deadline = time.monotonic() + conn.config.send_timeout
        assert entry.path is not None
        try:
            if entry.attachment_id is None or not entry.uploaded:
                file = inspect_file(entry.path)
                started = conn.retrier.run(
                    "StartAttachmentUpload",
                    lambda token: conn.client.start_attachment_upload(
                        token, file.content_type, file.name, file.size,
                        client_token=entry.client_token,
                    ),
                    deadline,
                )
                attachment_id = str(started.get("AttachmentId") or "")
                upload = started.get("UploadMetadata") or {}
                if not attachment_id or not upload.get("Url"):
                    raise AttachmentError("StartAttachmentUpload returned no upload URL")
                entry.attachment_id = attachment_id
                self._apply_local(conn,
                    LocalUpdate("attachment_started", placeholder, server_id=attachment_id)
                )
                with watched_http_session() as http, conn.client.calls.scope(
                    "attachment upload", max(0.0, deadline - time.monotonic())
                ):  # the PUT ends by the send deadline, or at once on disconnect()/reset()
                    upload_file(http, upload["Url"], upload.get("HeadersToInclude") or {}, file,
                                progress)
                entry.uploaded = True
            attachment_id = entry.attachment_id
            try:
                conn.retrier.run(
                    "CompleteAttachmentUpload",
                    lambda token: conn.client.complete_attachment_upload(
                        token, [attachment_id], client_token=entry.complete_token
                    ),
                    deadline,
                )
            except ConflictError:
                logger.info("the attachment was already completed")  # an earlier answer lost
        except ConnectChatError as exc:
            self._send_failed(conn, entry, placeholder, exc)
            raise
        conn.outbox.remove(entry.local_id)
        self.stats.incr("attachments_sent")
        return attrs.evolve(placeholder, attachment_id=attachment_id)

    def resend_failed_message(self, message_id: str) -> Message:
        """Send a FAILED message (or attachment) again; it is SENDING until it succeeds.

        ``message_id`` is the failed item's id (its ``persistent_id``). The same ClientToken
        as before is used, so a first attempt that did reach the service is not stored twice;
        an attachment redoes only the steps that did not complete. Blocks and retries like
        ``send_message``. ``MessageNotFoundError`` if no unsent message has that id,
        ``InvalidInputError`` if it is still being sent.
        """
        if not isinstance(message_id, str) or not message_id:
            raise InvalidInputError("message_id must be a non-empty string")
        conn = self._active_connection()
        entry = conn.outbox.claim_failed(message_id)
        placeholder = entry.placeholder
        assert placeholder is not None
        self._apply_local(conn, LocalUpdate("resending", placeholder))
        if entry.path is not None:
            return self._deliver_attachment(conn, entry, placeholder, None)
        return self._deliver_message(conn, entry, placeholder)

    def get_attachment_download_url(self, attachment_id: str) -> str:
        """The pre-signed download URL of an attachment (GetAttachment). Keep it private."""
        if not isinstance(attachment_id, str) or not attachment_id:
            raise InvalidInputError("attachment_id must be a non-empty string")
        conn = self._active_connection()
        response = conn.client.get_attachment(conn.token(), attachment_id)
        url = response.get("Url")
        if not isinstance(url, str) or not url:
            raise AttachmentError("GetAttachment returned no URL")
        return url

    def download_attachment(
        self,
        attachment_id: str,
        filename: str,
        directory: str | os.PathLike[str] | None = None,
        progress: Progress | None = None,
    ) -> Path:
        """Download an attachment to ``directory`` (default: a new temporary directory).

        Only the basename of ``filename`` is used and no existing file is overwritten.
        Returns the path of the file written.
        """
        if not isinstance(filename, str) or not filename:
            raise InvalidInputError("filename must be a non-empty string")
        if directory is not None:
            try:
                target = Path(os.fspath(directory))
            except TypeError:
                raise InvalidInputError("directory must be a path") from None
            if target.exists() and not target.is_dir():
                raise InvalidInputError(f"the download directory is a file: {target.name}")
        url = self.get_attachment_download_url(attachment_id)
        conn = self._active_connection()
        destination = safe_destination(directory, filename)
        try:  # the GET ends by GlobalConfig.transfer_timeout, or at once on disconnect()/reset()
            with watched_http_session() as http, conn.client.calls.scope(
                "attachment download", conn.config.transfer_timeout
            ):
                return download_file(http, url, destination, progress)
        except BaseException:
            with contextlib.suppress(OSError):
                if destination.exists() and destination.stat().st_size == 0:
                    destination.unlink()
            raise

    def describe_view(self, view_token: str) -> ViewResource:
        """DescribeView: the view a ``ViewResource`` interactive message refers to."""
        if not isinstance(view_token, str) or not view_token:
            raise InvalidInputError("view_token must be a non-empty string")
        conn = self._active_connection()
        return ViewResource.from_service(conn.client.describe_view(conn.token(), view_token))

    # -- authentication (Authenticate Customer flow block) -------------------------------

    @staticmethod
    def _check_session_id(session_id: str) -> None:
        if not isinstance(session_id, str) or len(session_id) != 36:
            raise InvalidInputError(
                "session_id must be the 36-character SessionId of the "
                "authentication.initiated event (event.session_id)"
            )

    def get_authentication_url(self, session_id: str, redirect_uri: str) -> str:
        """GetAuthenticationUrl: the URL where the customer signs in (after
        ``on_authentication_initiated``; ``session_id`` is that event's ``session_id``).

        The URL is a secret of this customer: open it for them, do not log it.
        """
        self._check_session_id(session_id)
        if not isinstance(redirect_uri, str) or not 1 <= len(redirect_uri) <= 1024:
            raise InvalidInputError("redirect_uri must be a string of 1..1024 characters")
        conn = self._active_connection()
        url = conn.client.get_authentication_url(conn.token(), session_id, redirect_uri)
        if not url:
            raise ConnectChatError("GetAuthenticationUrl returned no URL")
        return url

    def cancel_participant_authentication(self, session_id: str) -> None:
        """CancelParticipantAuthentication: the customer declines to sign in."""
        self._check_session_id(session_id)
        conn = self._active_connection()
        conn.client.cancel_participant_authentication(conn.token(), session_id)

    # -- who is in the chat --------------------------------------------------------------

    def typing_participants(self) -> tuple[Event, ...]:
        """The latest typing event of each other participant typing now.

        An indicator ends ``GlobalConfig.typing_expiry`` seconds (12 s) after that
        participant's last typing event, or when its message arrives (or it leaves);
        ``on_typing_stopped(event)`` fires then. The customer's own typing is not listed.
        """
        conn = self._conn
        return conn.dispatcher.typing_view if conn is not None else ()

    def participants(self) -> dict[str, Participant]:
        """Everyone seen in this chat, by participant id, with their current display name
        (``participant.displayname.updated`` renames) and whether they are still present."""
        conn = self._conn
        return dict(conn.dispatcher.participants_view) if conn is not None else {}

    # -- history -------------------------------------------------------------------------

    def get_transcript(
        self,
        scan_direction: ScanDirection | str = ScanDirection.BACKWARD,
        sort_order: SortKey | str = SortKey.ASCENDING,
        max_results: int = 15,
        next_token: str | None = None,
        start_position: StartPosition | str | None = None,
    ) -> TranscriptResponse:
        """GetTranscript; the page is also merged into the transcript (no live callbacks).

        ``start_position`` is a ``StartPosition`` or, as on iOS, a message id.
        """
        scan, order, position = checked_transcript_request(
            scan_direction, sort_order, max_results, next_token, start_position
        )
        conn = self._active_connection()
        response = conn.with_token(lambda token: conn.client.get_transcript(
            token,
            scan_direction=scan,
            sort_order=order,
            max_results=max_results,
            next_token=next_token,
            start_position=position,
        ))
        page = parse_transcript_page(response)
        done = threading.Event()
        conn.dispatcher.post(
            HistoryPage(
                page=page,
                scan_direction=scan,
                start_position_given=bool(position and position.to_request()),
                done=done,
                requested_token=next_token or None,
            )
        )
        if threading.current_thread() is not conn.dispatcher.thread:
            done.wait(conn.config.connect_timeout)
        return TranscriptResponse(
            initial_contact_id=page.initial_contact_id,
            next_token=page.next_token or "",
            transcript=tuple(p.item for p in page.items),
        )

    # -- pull API ------------------------------------------------------------------------

    def messages(self, timeout: float | None = None) -> ItemStream:
        """A stream of the items ``on_message_received`` gets from now on (see ``ItemStream``).

        Iterating it stops after ``timeout`` seconds without an item, or when the chat ends.
        """
        if timeout is not None and (
            not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout < 0
        ):
            raise InvalidInputError(f"timeout must be a number >= 0 or None, got {timeout!r}")
        with self._lock:
            size = self._config.pull_queue_size
        return self._subscribers.add(size, timeout)

    def wait_for(
        self,
        predicate: Callable[[TranscriptItem], bool],
        timeout: float = 30.0,
        *,
        include_existing: bool = True,
    ) -> TranscriptItem:
        """The first item matching ``predicate``: already in the transcript (unless
        ``include_existing=False``) or delivered within ``timeout`` seconds.

        Raises ``TimeoutError`` when none came, ``SessionClosedError`` if the chat ended first.
        """
        if not callable(predicate):
            raise InvalidInputError("wait_for needs a predicate: a callable taking an item")
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout < 0:
            raise InvalidInputError(f"timeout must be a number >= 0, got {timeout!r}")
        deadline = time.monotonic() + timeout
        with self.messages() as stream:
            if include_existing:
                for item in self.transcript:
                    if predicate(item):
                        return item
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("no matching chat item within the timeout")
                item = stream.get(remaining)
                if predicate(item):
                    return item
