"""The ONE owner of a participant's connection token and connection details.

Every REST path of a connection asks this object for the token: the session's methods,
the sender's retrier, the receipt sender, the socket thread's reconnects and refreshes, and
``RestChat``. It alone calls CreateParticipantConnection, under one lock, so two threads
that see the same token refused make one new connection, not two; and :meth:`call`
retries a call refused with AccessDeniedException once with a fresh token, so no path
fails just because the connection token expired.

(It is its own module, apart from the per-connect wiring in ``connection``, because the
sender and ``RestChat`` use it without any thread.)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol, TypeVar

from connect_chat.errors import (
    AccessDeniedError,
    ParticipantTokenRefusedError,
    SessionClosedError,
)
from connect_chat.models import ChatDetails, ConnectionDetails

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Connector(Protocol):
    """What creates a connection: ``AWSClient.create_participant_connection``."""

    def create_participant_connection(self, participant_token: str) -> ConnectionDetails: ...


class Credentials:
    """The current :class:`ConnectionDetails` of one participant, and their renewal.

    ``details`` is the connection to start from (None: none yet, the first :meth:`token`
    makes one). ``on_change(details)`` is told of each new connection (the session mirrors
    it in its ``ConnectionDetailsProvider``). ``is_fresh(details)`` may say a held token is
    about to expire, so that it is renewed before use (``RestChat``: a saved token).
    """

    def __init__(
        self,
        client: Connector,
        participant_token: str,
        details: ConnectionDetails | None = None,
        *,
        on_change: Callable[[ConnectionDetails], None] | None = None,
        is_fresh: Callable[[ConnectionDetails], bool] | None = None,
        ended_message: str = "",
    ) -> None:
        self._client = client
        self._participant_token = participant_token
        self._details = details
        self._on_change = on_change
        self._is_fresh = is_fresh
        self._ended_message = ended_message
        self._lock = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:  # never the tokens
        return f"Credentials(connected={self._details is not None})"

    def close(self) -> None:
        """No more tokens: :meth:`token` raises ``SessionClosedError`` from now on."""
        with self._lock:
            self._closed = True

    def current(self) -> ConnectionDetails | None:
        """The connection details in use (None before the first connection)."""
        return self._details

    def token(self) -> str:
        """The connection token to use now (a new connection if none is held or it is stale)."""
        with self._lock:
            details = self._details
            if self._closed:
                raise SessionClosedError("the session is not connected")
            if details is None or not details.connection_token or (
                self._is_fresh is not None and not self._is_fresh(details)
            ):
                details = self._create()
            assert details.connection_token is not None
            return details.connection_token

    def refresh(self, refused: str) -> str:
        """A connection token newer than ``refused`` (which got AccessDeniedException).

        CreateParticipantConnection, unless another thread already replaced ``refused``.
        ``ParticipantTokenRefusedError`` (a ``ChatEndedError``) if the participant token is
        refused too: the chat is over.
        """
        with self._lock:
            if self._closed:
                raise SessionClosedError("the session is not connected")
            details = self._details
            if details is not None and details.connection_token not in (None, refused):
                return details.connection_token
            logger.info("the connection token was refused; using a fresh one")
            token = self._create().connection_token
            assert token is not None
            return token

    def renew(self) -> ConnectionDetails:
        """A new connection (token and WebSocket URL) whatever is held: the socket thread's
        reconnects and make-before-break refreshes. Service errors are raised as they are
        (``AccessDeniedError``: the participant token is refused, the chat is over)."""
        with self._lock:
            return self._store(self._client.create_participant_connection(
                self._participant_token
            ))

    def call(self, fn: Callable[[str], T]) -> T:
        """``fn(token)``, once more with a fresh token if the first is refused (403)."""
        token = self.token()
        try:
            return fn(token)
        except AccessDeniedError:
            return fn(self.refresh(token))

    def _create(self) -> ConnectionDetails:
        try:
            details = self._client.create_participant_connection(self._participant_token)
        except AccessDeniedError as exc:
            logger.info("the service refused a new connection token: the chat has ended")
            raise ParticipantTokenRefusedError.refusing(exc, self._ended_message) from exc
        return self._store(details)

    def _store(self, details: ConnectionDetails) -> ConnectionDetails:
        self._details = details
        if self._on_change is not None:
            self._on_change(details)
        return details


class ConnectionDetailsProvider:
    """The session's chat and connection details, and whether the chat is active (iOS parity).

    Read-only for the program; the session updates it. The connection details are asked of
    the connection's :class:`Credentials` (their one owner) each time. Thread-safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._chat_details: ChatDetails | None = None
        self._credentials: Credentials | None = None
        self._active = False

    def get_chat_details(self) -> ChatDetails | None:
        with self._lock:
            return self._chat_details

    def get_connection_details(self) -> ConnectionDetails | None:
        with self._lock:
            credentials = self._credentials
        return credentials.current() if credentials is not None else None

    def is_chat_session_active(self) -> bool:
        with self._lock:
            return self._active

    def _attach(self, chat_details: ChatDetails, credentials: Credentials) -> None:
        with self._lock:
            self._chat_details = chat_details
            self._credentials = credentials
            self._active = False

    def _set_active(self, active: bool) -> None:
        with self._lock:
            self._active = active

    def _reset(self) -> None:
        with self._lock:
            self._chat_details = None
            self._credentials = None
            self._active = False
