"""The outbox: messages not confirmed by the service yet, and how their sends are retried.

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
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import attrs

from connect_chat.backoff import Backoff
from connect_chat.deadlines import bounded
from connect_chat.errors import (
    AccessDeniedError,
    ChatEndedError,
    ConnectChatError,
    EndpointUnreachableError,
    InvalidInputError,
    MessageNotFoundError,
    ServiceError,
    SessionClosedError,
)
from connect_chat.models import Message

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
                    error: ConnectChatError = exc
                else:
                    refreshes += 1
                    continue  # the new token, at once
            except ConnectChatError as exc:
                if not is_retryable(exc):
                    raise
                error = exc
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
