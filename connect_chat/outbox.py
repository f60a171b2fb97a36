"""The sender: placeholder -> SendMessage with one ClientToken -> SENT or FAILED, and retries.

Why inline retries on the caller's thread: ``send_message`` blocks and returns the sent
message (the iOS completion, in Python), so the caller's thread is the natural place to
wait; retrying there within a bounded total time (``GlobalConfig.send_timeout``) needs no
third thread per session and keeps the dispatcher free for callbacks. While a send is
retried its message stays in the transcript as SENDING; when the budget is spent it becomes
FAILED and the last typed error is raised. The entry stays in the :class:`Outbox`, so
``resend_failed_message`` can send it again later -- with the same ClientToken, so that a
first attempt which did reach the service (its answer lost on the way back) is not stored
twice.

Error classes (:func:`is_retryable`): throttling, 5xx and unreachable endpoints are retried
with backoff; an ``AccessDeniedException`` first gets a fresh connection token
(CreateParticipantConnection) and one more try -- if the participant token is refused too,
the chat is over (``ChatEndedError``); anything else (validation, quota, conflict) fails at
once.

Deadlines: every attempt, and the token refresh between attempts, runs inside
``deadlines.bounded(deadline)``, so a server that trickles its answer or never answers ends
the send at ``send_timeout`` (``RequestTimeoutError``) instead of holding it for good; and
``disconnect()``/``reset()`` end an attempt in flight at once (``SessionClosedError``, not
retried). Either way the message becomes FAILED and ``resend_failed_message`` can retry it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import attrs

from connect_chat.attachments import Progress, inspect_file, upload_file
from connect_chat.backoff import Backoff
from connect_chat.deadlines import bounded, watched_http_session
from connect_chat.enums import MessageDirection, MessageStatus
from connect_chat.errors import (
    AccessDeniedError,
    AttachmentError,
    ChatEndedError,
    ConflictError,
    ConnectChatError,
    EndpointUnreachableError,
    InvalidInputError,
    MessageNotFoundError,
    RequestTimeoutError,
    ServiceError,
    SessionClosedError,
)
from connect_chat.inbox import LocalKind, LocalUpdate
from connect_chat.models import Message, Metadata, TranscriptItem
from connect_chat.timestamps import now_timestamp
from connect_chat.transcript import answered, sent_row

if TYPE_CHECKING:
    import requests

    from connect_chat.client import AWSClient

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: How many fresh connection tokens one send may ask for after AccessDenied answers.
MAX_TOKEN_REFRESHES = 2


def is_retryable(error: BaseException) -> bool:
    """Throttling, service-side (5xx) and network failures: worth another try."""
    if isinstance(error, EndpointUnreachableError):
        return True
    return isinstance(error, ServiceError) and error.retryable


@attrs.define
class OutboxEntry:
    """One message (or attachment) this program sent that the service has not confirmed.

    ``local_id`` is the placeholder's id (the message's ``persistent_id``); ``client_token``
    is reused by every attempt and every resend; ``placeholder`` is the transcript item
    shown meanwhile. For attachments, ``path`` is the file and
    ``attachment_id`` / ``uploaded`` record how far the upload got.
    """

    local_id: str
    content_type: str
    content: str
    client_token: str
    placeholder: Message | None = None
    path: Path | None = None
    attachment_id: str | None = None
    uploaded: bool = False
    complete_token: str | None = None
    failed: bool = False
    in_flight: bool = True


class Outbox:
    """The unconfirmed sends of one connection, by local id (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, OutboxEntry] = {}

    def add(self, entry: OutboxEntry) -> None:
        with self._lock:
            self._entries[entry.local_id] = entry

    def remove(self, local_id: str) -> None:
        with self._lock:
            self._entries.pop(local_id, None)

    def failed(self, local_id: str) -> None:
        with self._lock:
            entry = self._entries.get(local_id)
            if entry is not None:
                entry.failed, entry.in_flight = True, False

    def claim_failed(self, local_id: str) -> OutboxEntry:
        """The FAILED entry ``local_id``, now in flight again (for a resend)."""
        with self._lock:
            entry = self._entries.get(local_id)
            if entry is None:
                raise MessageNotFoundError(f"no unsent message with id {local_id}")
            if not entry.failed:
                raise InvalidInputError(f"message {local_id} is being sent, not FAILED")
            entry.failed, entry.in_flight = False, True
            return entry


class Retrier:
    """Runs one REST call with the outbox's retry rules, within a deadline.

    ``token()`` is the current connection token; ``refresh(old)`` returns a newer one (a
    CreateParticipantConnection unless another thread already refreshed ``old``) or raises
    ``ChatEndedError``; ``stopped`` is set when the session closes (a wait ends at once);
    ``ended()`` says the chat is over; ``on_retry()`` is told of each new attempt.
    """

    def __init__(
        self,
        *,
        token: Callable[[], str],
        refresh: Callable[[str], str],
        stopped: threading.Event,
        ended: Callable[[], bool],
        base: float,
        cap: float,
        on_retry: Callable[[], None] | None = None,
    ) -> None:
        self._on_retry = on_retry
        self._token = token
        self._refresh = refresh
        self._stopped = stopped
        self._ended = ended
        self._base = base
        self._cap = cap

    def run(self, operation: str, call: Callable[[str], T], deadline: float) -> T:
        """``call(token)`` until it succeeds, fails for good, or ``deadline`` passes."""
        backoff = Backoff(base=self._base, cap=self._cap, factor=2.0, jitter=0.3,
                          first_delay=min(self._base / 2, self._cap))
        refreshes = 0
        attempt = 0
        error: ConnectChatError | None = None
        while True:
            attempt += 1
            token = self._token()
            try:
                with bounded(deadline):
                    return call(token)
            except AccessDeniedError:
                if refreshes >= MAX_TOKEN_REFRESHES:
                    raise  # fresh tokens are refused too: not a token problem
                try:
                    with bounded(deadline):
                        self._refresh(token)
                except ConnectChatError as exc:
                    if not is_retryable(exc):
                        raise
                    error = exc
                else:
                    refreshes += 1
                    continue  # the new token, at once
            except RequestTimeoutError as exc:
                if error is not None and time.monotonic() >= deadline:
                    # The budget ran out during a retry: why the send failed is what made
                    # it retry (throttling, a 5xx), not the cut-short last attempt.
                    raise error from exc
                error = exc
            except ConnectChatError as exc:
                if not is_retryable(exc):
                    raise
                error = exc
            assert error is not None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                logger.warning("%s failed %d times; giving up: %s", operation, attempt, error)
                raise error
            delay = min(backoff.next_delay(), remaining)
            logger.info("%s failed (%s); retrying in %.2f s", operation, error, delay)
            if self._stopped.wait(delay):
                raise SessionClosedError("the session closed while a message was being sent")
            if time.monotonic() >= deadline:  # no time left for an attempt: the last error
                logger.warning("%s failed %d times; giving up: %s", operation, attempt, error)
                raise error
            if self._on_retry is not None:
                self._on_retry()
            if self._ended():
                raise ChatEndedError("the chat ended while a message was being sent") from error


class Runner(Protocol):
    """How one REST step runs: ``Retrier.run`` (a session) or once with a token refresh
    (``RestChat``): ``run(operation, call, deadline)`` returns ``call(token)``'s answer."""

    def __call__(self, operation: str, call: Callable[[str], Any], deadline: float) -> Any: ...


def post_message(run: Runner, client: AWSClient, entry: OutboxEntry, deadline: float) -> Any:
    """SendMessage of ``entry`` with its ClientToken (every attempt and resend reuses it)."""
    return run(
        "SendMessage",
        lambda token: client.send_message(
            token, entry.content_type, entry.content, client_token=entry.client_token
        ),
        deadline,
    )


def post_attachment(
    run: Runner,
    client: AWSClient,
    entry: OutboxEntry,
    deadline: float,
    *,
    http: requests.Session,
    progress: Progress | None = None,
    on_started: Callable[[str], None] | None = None,
) -> str:
    """StartAttachmentUpload, the PUT, CompleteAttachmentUpload: each step once done.

    ``entry`` records how far it got (``attachment_id``, ``uploaded``), so a resend redoes
    only what did not complete; the PUT ends by ``deadline`` or at once when the client's
    calls are cancelled (``disconnect()``/``reset()``). Returns the attachment id.
    """
    assert entry.path is not None
    if entry.attachment_id is None or not entry.uploaded:
        file = inspect_file(entry.path)
        started = run(
            "StartAttachmentUpload",
            lambda token: client.start_attachment_upload(
                token, file.content_type, file.name, file.size, client_token=entry.client_token
            ),
            deadline,
        )
        attachment_id = str(started.get("AttachmentId") or "")
        upload = started.get("UploadMetadata") or {}
        if not attachment_id or not upload.get("Url"):
            raise AttachmentError("StartAttachmentUpload returned no upload URL")
        entry.attachment_id = attachment_id
        if on_started is not None:
            on_started(attachment_id)
        with client.calls.scope("attachment upload", max(0.0, deadline - time.monotonic())):
            upload_file(http, upload["Url"], upload.get("HeadersToInclude") or {}, file, progress)
        entry.uploaded = True
    attachment_id = entry.attachment_id
    try:
        run(
            "CompleteAttachmentUpload",
            lambda token: client.complete_attachment_upload(
                token, [attachment_id], client_token=entry.complete_token
            ),
            deadline,
        )
    except ConflictError:
        logger.info("the attachment was already completed")  # an earlier answer lost
    return attachment_id


def message_entry(content_type: str, content: str, path: Path | None = None) -> OutboxEntry:
    """A new outbox entry with fresh ClientTokens (no placeholder)."""
    return OutboxEntry(
        local_id=str(uuid.uuid4()),
        content_type=content_type,
        content=content,
        client_token=str(uuid.uuid4()),
        path=path,
        complete_token=str(uuid.uuid4()) if path is not None else None,
    )


class Sender:
    """The send pipeline of one connection: what ``send_message``, ``send_attachment`` and
    ``resend_failed_message`` do.

    The message shows at once as a SENDING placeholder (``show`` hands a change to the
    dispatcher, the transcript's only writer, without waiting; ``apply`` also waits until it
    shows and returns the transcript's row, or None when that cannot be waited for); the
    REST steps run through ``retrier``; the result is SENT (the transcript's own row is
    returned) or FAILED (kept in the outbox for a resend, the typed error raised).
    ``chat_over()`` ends the session when a send learns that the chat has ended.
    """

    def __init__(
        self,
        *,
        client: AWSClient,
        retrier: Retrier,
        apply: Callable[[LocalUpdate], TranscriptItem | None],
        show: Callable[[LocalUpdate], None],
        display_name: Callable[[], str | None],
        count: Callable[[str], None],
        chat_over: Callable[[], None],
        send_timeout: float,
    ) -> None:
        self._client = client
        self._retrier = retrier
        self._apply = apply
        self._show = show
        self._display_name = display_name
        self._count = count
        self._chat_over = chat_over
        self._send_timeout = send_timeout
        #: Sends not confirmed yet (SENDING or FAILED).
        self.outbox = Outbox()
        #: Server ids of the messages this program sent (known before the transcript has them).
        self.sent_ids: set[str] = set()

    def send_message(self, content_type: str, text: str) -> Message:
        entry = self._queue(message_entry(content_type, text))
        return self._deliver_message(entry)

    def send_attachment(
        self, path: str | os.PathLike[str], progress: Progress | None = None
    ) -> Message:
        file = inspect_file(path)
        entry = self._queue(message_entry(file.content_type, file.name, Path(os.fspath(path))))
        return self._deliver_attachment(entry, progress)

    def resend(self, local_id: str) -> Message:
        entry = self.outbox.claim_failed(local_id)
        assert entry.placeholder is not None
        self._show(LocalUpdate(LocalKind.RESENDING, entry.placeholder))
        if entry.path is not None:
            return self._deliver_attachment(entry, None)
        return self._deliver_message(entry)

    def _queue(self, entry: OutboxEntry) -> OutboxEntry:
        """Show ``entry`` as a SENDING placeholder (an attachment's ``attachment_id`` is the
        local id until StartAttachmentUpload) and keep it in the outbox."""
        now = now_timestamp()
        entry.placeholder = Message(
            id=entry.local_id,
            time_stamp=now,
            content_type=entry.content_type,
            participant="CUSTOMER",
            text=entry.content,
            attachment_id=entry.local_id if entry.path is not None else None,
            message_direction=MessageDirection.OUTGOING,
            display_name=self._display_name(),
            metadata=Metadata(
                id=entry.local_id, time_stamp=now, content_type=entry.content_type,
                status=MessageStatus.SENDING,
            ),
        )
        self.outbox.add(entry)
        # Not waited for: the dispatcher's queue is FIFO, so the placeholder is in the
        # transcript before the send's outcome (always waited for) and before the service's
        # frame for it, which can only come after the request below. Waiting here cost a
        # hand-over to the dispatcher and back on every send (under gevent, two turns of
        # the hub's loop: the largest part of a send's latency tail at 2,000 chats).
        self._show(LocalUpdate(LocalKind.PLACEHOLDER, entry.placeholder))
        return entry

    def _deliver_message(self, entry: OutboxEntry) -> Message:
        placeholder = entry.placeholder
        assert placeholder is not None
        deadline = time.monotonic() + self._send_timeout
        try:
            response = post_message(self._retrier.run, self._client, entry, deadline)
        except ConnectChatError as exc:
            self._failed(entry, exc)
            raise
        self.outbox.remove(entry.local_id)
        server_id = str(response.get("Id") or "")
        time_stamp = str(response.get("AbsoluteTime") or placeholder.time_stamp)
        if not server_id:
            return placeholder
        self.sent_ids.add(server_id)
        self._count("messages_sent")
        row = self._apply(
            LocalUpdate(LocalKind.SENT, placeholder, server_id=server_id, time_stamp=time_stamp)
        )
        if isinstance(row, Message) and row.id == server_id:
            return row
        return sent_row(placeholder, answered(placeholder, server_id, time_stamp))

    def _deliver_attachment(self, entry: OutboxEntry, progress: Progress | None) -> Message:
        placeholder = entry.placeholder
        assert placeholder is not None
        deadline = time.monotonic() + self._send_timeout
        try:
            with watched_http_session() as http:
                attachment_id = post_attachment(
                    self._retrier.run, self._client, entry, deadline, http=http,
                    progress=progress,
                    on_started=lambda aid: self._started(
                        LocalUpdate(LocalKind.ATTACHMENT_STARTED, placeholder, server_id=aid)
                    ),
                )
        except ConnectChatError as exc:
            self._failed(entry, exc)
            raise
        self.outbox.remove(entry.local_id)
        self._count("attachments_sent")
        return attrs.evolve(placeholder, attachment_id=attachment_id)

    def _started(self, update: LocalUpdate) -> None:
        self._apply(update)

    def _failed(self, entry: OutboxEntry, exc: Exception) -> None:
        """A send gave up: FAILED in the outbox and the transcript (a resend can retry it);
        a chat that ended meanwhile ends the session."""
        assert entry.placeholder is not None
        self.outbox.failed(entry.local_id)
        self._apply(LocalUpdate(LocalKind.FAILED, entry.placeholder, time_stamp=now_timestamp()))
        if isinstance(exc, ChatEndedError):
            self._chat_over()
