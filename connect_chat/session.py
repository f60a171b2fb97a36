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

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from connect_chat.attachments import (
    Progress,
    checked_attachment_id,
    checked_download,
    download_source,
    save_download,
)
from connect_chat.callbacks import CALLBACK_NAMES, SessionCallbacks
from connect_chat.client import AWSClient, count_retries, warn_if_unverified
from connect_chat.config import GlobalConfig
from connect_chat.connection import (
    ConnectAttempt,
    Connection,
    SessionResources,
    client_for,
    release_resources,
    weak_call,
)
from connect_chat.credentials import ConnectionDetailsProvider
from connect_chat.deadlines import bounded, watched_http_session
from connect_chat.enums import (
    ContentType,
    MessageReceiptType,
    ScanDirection,
    SortKey,
)
from connect_chat.errors import (
    AccessDeniedError,
    ChatEndedError,
    ConnectChatError,
    ConnectionTimeoutError,
    InvalidInputError,
    ParticipantTokenRefusedError,
    RequestTimeoutError,
    SessionClosedError,
)
from connect_chat.interactive import ViewResource
from connect_chat.models import (
    ChatDetails,
    Event,
    Message,
    Participant,
    StartPosition,
    TranscriptItem,
    TranscriptResponse,
)
from connect_chat.receipts import ReceiptTicket
from connect_chat.stats import SessionStats
from connect_chat.streams import ItemStream, Subscribers
from connect_chat.transcript_view import TranscriptView
from connect_chat.typing_indicators import TypingThrottle
from connect_chat.validation import (
    checked_authentication,
    checked_event,
    checked_message,
    checked_receipt,
    checked_session_id,
    checked_timeout,
    checked_transcript_request,
)

logger = logging.getLogger(__name__)

__all__ = ["CALLBACK_NAMES", "ChatSession", "ConnectionDetailsProvider"]


class ChatSession(SessionCallbacks):
    """A customer's chat: connect, send, receive (callbacks or pull), disconnect.

    ``ChatSession(config)`` instances are independent; ``ChatSession.shared()`` is the
    process-wide instance of the iOS style. Use it as a context manager to be sure no thread
    is left behind.
    """

    _shared: ClassVar[ChatSession | None] = None
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    # The on_* callbacks are declared once, in callbacks.SessionCallbacks.

    def __init__(self, config: GlobalConfig | None = None) -> None:
        if config is not None and not isinstance(config, GlobalConfig):
            raise InvalidInputError("ChatSession() takes a GlobalConfig (or nothing)")
        self._clear_callbacks()
        self._lock = threading.RLock()
        self._config = config if config is not None else GlobalConfig()
        #: The connection and client, apart from the session so that a finalizer can let
        #: them go when a connected session is dropped without disconnect()/reset().
        self._res = SessionResources()
        weakref.finalize(self, release_resources, self._res)
        self._connecting: ConnectAttempt | None = None
        self._provider = ConnectionDetailsProvider()
        self._subscribers = Subscribers()
        self._typing = TypingThrottle(self._config.typing_throttle)
        #: Counters (bad frames, inbox overflows, gap fills) over all of this session's chats.
        self.stats = SessionStats()

    @property
    def _conn(self) -> Connection | None:
        return self._res.conn

    @_conn.setter
    def _conn(self, conn: Connection | None) -> None:
        self._res.conn = conn

    @property
    def _client(self) -> AWSClient | None:
        return self._res.client

    @_client.setter
    def _client(self, client: AWSClient | None) -> None:
        self._res.client = client

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
                self._client = client_for(self._config)
                warn_if_unverified(self._client)
                count_retries(self._client, self.stats)  # held weakly, not the session
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

    def _active_connection(self) -> Connection:
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
        ``timeout`` (default ``GlobalConfig.connect_timeout``), ``ChatEndedError``
        (``ParticipantTokenRefusedError``) if the service refuses the participant token (the
        chat is over), or the typed service error.
        """
        if not isinstance(chat_details, ChatDetails) or not chat_details.participant_token:
            raise InvalidInputError("connect() needs ChatDetails with a participant_token")
        checked_timeout(timeout, positive=True)
        with self._lock:
            old = self._conn
            if self._connecting is not None:
                raise ConnectChatError("connect() is already in progress in another thread")
            if old is not None and not old.ended and not old.closing:
                raise ConnectChatError(
                    "the session is already connected: disconnect() or reset() first"
                )
            config = self._config
            attempt = self._connecting = ConnectAttempt()
        try:
            self._connect(chat_details, config, timeout, old, attempt)
        finally:
            with self._lock:
                self._connecting = None
            attempt.done.set()

    def _connect(
        self,
        chat_details: ChatDetails,
        config: GlobalConfig,
        timeout: float | None,
        old: Connection | None,
        attempt: ConnectAttempt,
    ) -> None:
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
        except ConnectChatError as exc:
            if attempt.stop is not None:
                raise SessionClosedError(f"{attempt.stop}() ended connect()") from exc
            if isinstance(exc, AccessDeniedError) and not isinstance(
                exc, ParticipantTokenRefusedError
            ):
                raise ParticipantTokenRefusedError.refusing(exc) from exc
            if isinstance(exc, RequestTimeoutError):
                raise ConnectionTimeoutError(
                    f"connect() did not complete within {wait:.1f} s"
                ) from exc
            raise
        self._subscribers.reopen()
        conn = Connection(
            chat_details=chat_details,
            details=details,
            config=config,
            client=client,
            callbacks=weakref.proxy(self),  # the threads never keep the session alive
            subscribers=self._subscribers,
            stats=self.stats,
            on_active=self._provider._set_active,
            on_fatal=weak_call(self.disconnect),
        )
        with self._lock:  # from here on a stop acts on the connection itself
            stop = attempt.stop
            if stop is None:
                self._conn = attempt.conn = conn
        if stop is not None:
            # A stop came while CreateParticipantConnection was answered: it wins. The
            # participant leaves if one of the stops was disconnect().
            attempt.left = stop == "disconnect" and conn.leave()
            raise SessionClosedError(f"{stop}() ended connect()")
        self._provider._attach(chat_details, conn.credentials)
        try:
            conn.open(deadline)
        except BaseException:  # an error, a timeout, Ctrl-C: nothing keeps running
            if not conn.closing:
                self._abandon(conn)
            raise

    def _abandon(self, conn: Connection) -> None:
        conn.finish(chat_ended=False)
        conn.join(conn.config.join_timeout)
        with self._lock:
            if self._conn is conn:
                self._conn = None
        self._provider._reset()

    def disconnect(self) -> bool:
        """Leave the chat (DisconnectParticipant), end the session, stop its threads.

        Idempotent, callable from any thread (a callback included), and bounded in time:
        the session always ends locally -- ``on_chat_ended`` fires once (unless the chat had
        already ended), the threads stop within ``GlobalConfig.join_timeout`` -- even if the
        service fails or does not answer. Returns True when the service confirmed (or the
        chat was already over), False when leaving could not be confirmed (logged as a
        WARNING; the participant may stay in the chat until it times out).
        """
        pending = self._stop_connecting("disconnect")
        if pending is not None:
            return pending
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
            confirmed = conn.leave()
        self._provider._set_active(False)
        conn.finish(chat_ended=True)
        conn.join(conn.config.join_timeout / 2)
        conn.client.close()  # keep-alive sockets, else open until the garbage collector runs
        return confirmed

    def reset(self) -> None:
        """Drop the socket, the threads and all state, without leaving the chat. Idempotent."""
        self._stop_connecting("reset")
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

    def _stop_connecting(self, how: str) -> bool | None:
        """A stop while ``connect()`` waits for CreateParticipantConnection wins over it.

        The call is ended at once and ``connect()`` raises ``SessionClosedError``; if the
        answer came meanwhile, ``connect()`` leaves the chat (``disconnect()``) before it
        raises. Returns None when no connect() is at that step, else (for ``disconnect()``)
        whether leaving was confirmed.
        """
        with self._lock:
            attempt = self._connecting
            if attempt is None or attempt.conn is not None:
                return None
            if attempt.stop != "disconnect":
                attempt.stop = how
            client = self._client
        if client is not None:
            client.cancel_calls()
        if threading.current_thread() is not attempt.thread:
            attempt.done.wait(self._config.join_timeout)
        self._provider._reset()
        return attempt.left if attempt.done.is_set() else False

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
        return self._active_connection().sender.send_message(content_type, message)

    def send_event(self, content_type: ContentType | str, content: str = "") -> bool:
        """Send an event (typing, a receipt). Returns False when typing was throttled.

        Typing goes out at most once per ``GlobalConfig.typing_throttle`` seconds (the
        calls in between succeed without a request), like the iOS SDK.
        """
        content_type = checked_event(content_type, content)
        conn = self._active_connection()
        typing = content_type == ContentType.TYPING.value
        with self._lock:
            throttle = self._typing
        if typing and not throttle.should_send():
            self.stats.incr("typing_throttled")
            return False
        try:
            conn.call(lambda token: conn.client.send_event(token, content_type, content or None))
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
        kind = checked_receipt(receipt_type, message)
        return self._active_connection().request_receipt(kind, message)

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
        return self._active_connection().sender.send_attachment(path, progress)

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
        return self._active_connection().sender.resend(message_id)

    def get_attachment_download_url(self, attachment_id: str) -> str:
        """The pre-signed download URL of an attachment (GetAttachment). Keep it private."""
        checked_attachment_id(attachment_id)
        conn = self._active_connection()
        return download_source(
            conn.call(lambda token: conn.client.get_attachment(token, attachment_id))
        )[0]

    def download_attachment(
        self,
        attachment_id: str,
        filename: str,
        directory: str | os.PathLike[str] | None = None,
        progress: Progress | None = None,
    ) -> Path:
        """Download an attachment to ``directory`` (default: a new temporary directory).

        Only the basename of ``filename`` is used and no existing file is overwritten; a body
        shorter or longer than the size the service stored fails. Returns the path written.
        """
        checked_download(attachment_id, filename, directory)
        conn = self._active_connection()
        url, size = download_source(
            conn.call(lambda token: conn.client.get_attachment(token, attachment_id))
        )
        # The GET ends by GlobalConfig.transfer_timeout, or at once on disconnect()/reset().
        with watched_http_session() as http, conn.client.calls.scope(
            "attachment download", conn.config.transfer_timeout
        ):
            return save_download(http, url, directory, filename, progress, expected_size=size)

    def describe_view(self, view_token: str) -> ViewResource:
        """DescribeView: the view a ``ViewResource`` interactive message refers to."""
        if not isinstance(view_token, str) or not view_token:
            raise InvalidInputError("view_token must be a non-empty string")
        conn = self._active_connection()
        return ViewResource.from_service(
            conn.call(lambda token: conn.client.describe_view(token, view_token))
        )

    # -- authentication (Authenticate Customer flow block) -------------------------------

    def get_authentication_url(self, session_id: str, redirect_uri: str) -> str:
        """GetAuthenticationUrl: the URL where the customer signs in (after
        ``on_authentication_initiated``; ``session_id`` is that event's ``session_id``).

        The URL is a secret of this customer: open it for them, do not log it.
        """
        checked_authentication(session_id, redirect_uri)
        conn = self._active_connection()
        url = conn.call(
            lambda token: conn.client.get_authentication_url(token, session_id, redirect_uri)
        )
        if not url:
            raise ConnectChatError("GetAuthenticationUrl returned no URL")
        return url

    def cancel_participant_authentication(self, session_id: str) -> None:
        """CancelParticipantAuthentication: the customer declines to sign in."""
        checked_session_id(session_id)
        conn = self._active_connection()
        conn.call(lambda token: conn.client.cancel_participant_authentication(token, session_id))

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
        return self._active_connection().fetch_history(
            scan, order, max_results, next_token, position
        )

    # -- pull API ------------------------------------------------------------------------

    def messages(self, timeout: float | None = None) -> ItemStream:
        """A stream of the items ``on_message_received`` gets from now on (see ``ItemStream``).

        Iterating it stops after ``timeout`` seconds without an item, or when the chat ends.
        """
        checked_timeout(timeout)
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
        checked_timeout(timeout, optional=False)
        deadline = time.monotonic() + timeout
        with self.messages() as stream:  # subscribed before the transcript is read: no gap
            existing = self.transcript if include_existing else ()
            return stream.first(predicate, deadline, existing)
