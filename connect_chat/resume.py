"""Carry a chat from one process to another: the saved state, and a REST-only client.

Web apps run many workers, and the worker that serves the next request is rarely the one that
started the chat. :class:`SavedChat` is everything another process needs to go on with a chat,
as a plain JSON-serialisable dict whose secrets (tokens, the pre-signed WebSocket URL) sit
under one ``"secrets"`` key, so that the app can store it wherever it already stores things
(Django's session or cache, Redis, a database row) and can log or show the rest safely.

:class:`RestChat` goes on with a saved chat over REST only: no WebSocket and no thread, so it
fits a request handler that sends a message, reads what is new, and returns. Full resumption
(a new WebSocket, and what was missed meanwhile fetched) is :func:`resume_session`.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from connect_chat.deadlines import DEFAULT_TRANSFER_TIMEOUT, watched_http_session
from connect_chat.enums import ContentType, MessageReceiptType, ScanDirection, SortKey
from connect_chat.errors import AccessDeniedError, ChatEndedError, InvalidInputError
from connect_chat.gapfill import after_mark, catch_up
from connect_chat.models import (
    ChatDetails,
    ConnectionDetails,
    StartPosition,
    TranscriptItem,
    TranscriptResponse,
)
from connect_chat.timestamps import iso_timestamp, parse_expiry, time_key
from connect_chat.validation import (
    checked_event,
    checked_message,
    checked_transcript_request,
)

if TYPE_CHECKING:
    import requests

    from connect_chat.attachments import Progress
    from connect_chat.client import AWSClient
    from connect_chat.config import GlobalConfig
    from connect_chat.interactive import ViewResource
    from connect_chat.session import ChatSession

logger = logging.getLogger(__name__)

#: The format version written by :meth:`SavedChat.to_dict`; older versions are read too.
SAVED_CHAT_VERSION = 1

T = TypeVar("T")

#: A connection token this close to its expiry is replaced before use.
TOKEN_EXPIRY_MARGIN = datetime.timedelta(minutes=5)

_SECRET_FIELDS = ("participant_token", "connection_token", "websocket_url")
_PLAIN_FIELDS = (
    "contact_id",
    "participant_id",
    "region",
    "endpoint_url",
    "connection_expiry",
    "websocket_url_expiry",
    "last_item_id",
    "last_item_time",
)


def _optional_str(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInputError(f"saved chat: {name} must be a string, not {type(value).__name__}")
    return value


@attrs.frozen
class SavedChat:
    """A chat's identity and connection, as one process saves it for another.

    ``participant_token``, ``connection_token`` and ``websocket_url`` are secrets: they are
    kept out of ``repr`` and written under ``"secrets"`` by :meth:`to_dict`. Times are the
    service's ISO-8601 strings, kept as they came.
    """

    participant_token: str = attrs.field(repr=False)
    contact_id: str | None = None
    participant_id: str | None = None
    region: str = "us-west-2"
    endpoint_url: str | None = None
    connection_token: str | None = attrs.field(default=None, repr=False)
    connection_expiry: str | None = None
    websocket_url: str | None = attrs.field(default=None, repr=False)
    websocket_url_expiry: str | None = None
    last_item_id: str | None = None
    last_item_time: str | None = None
    version: int = SAVED_CHAT_VERSION

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.participant_token, str) or not self.participant_token:
            raise InvalidInputError("saved chat: participant_token must be a non-empty string")

    @classmethod
    def from_chat_details(
        cls,
        details: ChatDetails,
        *,
        region: str = "us-west-2",
        endpoint_url: str | None = None,
    ) -> SavedChat:
        """The state right after StartChatContact, before any connection was made."""
        return cls(
            participant_token=details.participant_token,
            contact_id=details.contact_id,
            participant_id=details.participant_id,
            region=region,
            endpoint_url=endpoint_url,
        )

    @classmethod
    def from_session(cls, session: ChatSession) -> SavedChat:
        """What a connected :class:`~connect_chat.session.ChatSession` would hand over.

        Raises :class:`~connect_chat.errors.SessionClosedError` if it has no chat.
        """
        from connect_chat.errors import SessionClosedError

        provider = session.get_connection_details_provider()
        chat = provider.get_chat_details()
        if chat is None:
            raise SessionClosedError("the session has no chat to save: connect() first")
        config = session.global_config
        saved = cls.from_chat_details(chat, region=config.region, endpoint_url=config.endpoint_url)
        connection = provider.get_connection_details()
        if connection is not None and connection.connection_token:
            saved = saved.with_connection_details(connection)
        for item in reversed(session.transcript):
            if is_service_item(item):
                return saved.with_last_item(item.id, item.time_stamp)
        return saved

    def chat_details(self) -> ChatDetails:
        """The :class:`ChatDetails` to ``connect`` with (a new connection is created)."""
        return ChatDetails(
            participant_token=self.participant_token,
            contact_id=self.contact_id,
            participant_id=self.participant_id,
        )

    def with_connection(
        self,
        *,
        connection_token: str | None,
        connection_expiry: str | None = None,
        websocket_url: str | None = None,
        websocket_url_expiry: str | None = None,
    ) -> SavedChat:
        """A copy holding a new connection (from CreateParticipantConnection)."""
        return attrs.evolve(
            self,
            connection_token=connection_token,
            connection_expiry=connection_expiry,
            websocket_url=websocket_url,
            websocket_url_expiry=websocket_url_expiry,
        )

    def with_connection_details(self, details: ConnectionDetails) -> SavedChat:
        """A copy holding what ``create_participant_connection`` (or a session) returned."""
        return self.with_connection(
            connection_token=details.connection_token,
            connection_expiry=iso_timestamp(details.expiry) if details.expiry else None,
            websocket_url=details.websocket_url,
            websocket_url_expiry=(
                iso_timestamp(details.websocket_url_expiry)
                if details.websocket_url_expiry
                else None
            ),
        )

    def connection_details(self) -> ConnectionDetails | None:
        """The saved connection as :class:`ConnectionDetails` (``None`` if there is none)."""
        if self.connection_token is None:
            return None
        return ConnectionDetails(
            websocket_url=self.websocket_url,
            connection_token=self.connection_token,
            expiry=parse_expiry(self.connection_expiry),
            websocket_url_expiry=parse_expiry(self.websocket_url_expiry),
        )

    def with_last_item(self, item_id: str | None, item_time: str | None) -> SavedChat:
        """A copy that remembers the newest transcript item this program has seen."""
        return attrs.evolve(self, last_item_id=item_id, last_item_time=item_time)

    def to_dict(self, *, include_secrets: bool = True) -> dict[str, Any]:
        """A plain dict for ``json.dumps``; secrets under ``"secrets"`` (or left out).

        A dict written with ``include_secrets=False`` is safe to log or show, and cannot be
        resumed.
        """
        data: dict[str, Any] = {"version": self.version}
        for name in _PLAIN_FIELDS:
            data[name] = getattr(self, name)
        if include_secrets:
            data["secrets"] = {name: getattr(self, name) for name in _SECRET_FIELDS}
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SavedChat:
        """Read what :meth:`to_dict` wrote (raises :class:`InvalidInputError` otherwise)."""
        if not isinstance(data, Mapping):
            raise InvalidInputError("saved chat: expected a dict")
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise InvalidInputError("saved chat: missing or invalid 'version'")
        if version > SAVED_CHAT_VERSION or version < 1:
            raise InvalidInputError(
                f"saved chat: version {version} is not supported "
                f"(this connect-chat reads 1 to {SAVED_CHAT_VERSION})"
            )
        secrets = data.get("secrets")
        if not isinstance(secrets, Mapping):
            raise InvalidInputError(
                "saved chat: no 'secrets' (it was saved with include_secrets=False and "
                "cannot be resumed)"
            )
        values: dict[str, Any] = {}
        for name in _PLAIN_FIELDS:
            values[name] = _optional_str(data.get(name), name)
        for name in _SECRET_FIELDS:
            values[name] = _optional_str(secrets.get(name), name)
        if not values["participant_token"]:
            raise InvalidInputError("saved chat: the participant token is missing")
        region = values.pop("region") or "us-west-2"
        return cls(region=region, version=SAVED_CHAT_VERSION, **values)


#: Event types the service reference says the transcript keeps (the rest are live-only).
STORED_EVENT_TYPES: frozenset[str] = frozenset(
    {
        ContentType.JOINED.value,
        ContentType.LEFT.value,
        ContentType.PARTICIPANT_INVITED.value,
        ContentType.ENDED.value,
        ContentType.TRANSFER_SUCCEEDED.value,
        ContentType.TRANSFER_FAILED.value,
    }
)


def is_service_item(item: TranscriptItem) -> bool:
    """True for an item the service keeps in its transcript under this id (a "last seen" mark).

    Messages and attachments with a server id, and the events the reference lists as
    stored. Typing, receipts, idle/returned, auto-disconnection, name changes, rehydration
    and authentication events are live-only; a message still SENDING (or FAILED) has a local
    placeholder id; the SDK's own "chat ended" stand-in has an id of its own.
    """
    from connect_chat.enums import MessageStatus
    from connect_chat.models import Event, Message

    if isinstance(item, Message):
        return item.status not in (MessageStatus.SENDING, MessageStatus.FAILED)
    if isinstance(item, Event):
        return item.content_type in STORED_EVENT_TYPES and not item.id.startswith(
            "chat-ended-event"
        )
    return False


def _items_after(
    get_transcript: Callable[..., TranscriptResponse],
    last_id: str,
    last_time: str | None,
    page_size: int,
    max_pages: int,
) -> list[TranscriptItem]:
    """Every item after the "last seen" mark, oldest first (``gapfill.catch_up``).

    BACKWARD pages from the newest item (a RestChat's or a ChatSession's
    ``get_transcript``) until one holds the mark or an item older than its time.
    """
    mark_time = time_key(last_time) if last_time else None

    def fetch(token: str | None) -> tuple[Sequence[TranscriptItem], str | None]:
        response = get_transcript(
            ScanDirection.BACKWARD, SortKey.ASCENDING, page_size, next_token=token
        )
        return response.transcript, response.next_token or None

    def reached(item: TranscriptItem) -> bool:
        return item.id == last_id or (
            mark_time is not None and time_key(item.time_stamp) < mark_time
        )

    result = catch_up(fetch, _item_id, reached, max_pages)
    if not result.complete:
        logger.warning(
            "stopped after %d transcript pages (max_pages) before the last item seen: "
            "older items were left out",
            result.pages,
        )
    items = after_mark(
        result.fetched, _item_id, lambda item: time_key(item.time_stamp), last_id, mark_time
    )
    return [item for item in items if item.id != last_id]


def _item_id(item: TranscriptItem) -> str:
    return item.id


def _ended_message(saved: SavedChat) -> str:
    which = f"the chat {saved.contact_id}" if saved.contact_id else "the chat"
    return f"{which} has ended (the participant token was refused)"


def _utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


class RestChat:
    """Go on with a saved chat over REST only: no WebSocket, no thread, nothing left running.

    Made for request handlers: build one from the stored :class:`SavedChat`, call what the
    request needs, then store :attr:`saved` back (it changes when the connection token is
    renewed and when :meth:`new_items` moves the "last seen" mark)::

        chat = RestChat(SavedChat.from_dict(request.session["chat"]))
        chat.send_message(ContentType.PLAIN_TEXT, "hello")
        for item in chat.new_items(): ...
        request.session["chat"] = chat.saved.to_dict()

    The connection token is created (CreateParticipantConnection) when the saved state has
    none or it is about to expire, and renewed once when the service refuses it; if the
    participant token is refused too, the chat is over and :class:`ChatEndedError` is raised.
    Receipts are sent as asked (no throttling: a request handler does not live long enough
    to batch them). Not thread-safe: one ``RestChat`` per request.
    """

    def __init__(
        self,
        saved: SavedChat,
        *,
        client: AWSClient | None = None,
        http: requests.Session | None = None,
        clock: Callable[[], datetime.datetime] = _utc_now,
        transfer_timeout: float = DEFAULT_TRANSFER_TIMEOUT,
    ) -> None:
        if not isinstance(saved, SavedChat):
            raise InvalidInputError("RestChat needs a SavedChat (see SavedChat.from_dict)")
        self._saved = saved
        if client is None:
            from connect_chat.client import AWSClient

            client = AWSClient(region=saved.region, endpoint_url=saved.endpoint_url)
        self._client = client
        self._http = http
        self._owns_http = http is None
        self._clock = clock
        #: Bound of an attachment PUT/GET (REST calls: the client's ``call_timeout``).
        self._transfer_timeout = transfer_timeout

    def __repr__(self) -> str:
        return f"RestChat(contact_id={self._saved.contact_id!r})"

    def __enter__(self) -> RestChat:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP session used for attachments (if this object made it)."""
        if self._http is not None and self._owns_http:
            self._http.close()
            self._http = None
        self._client.close()  # keep-alive sockets, else open until the garbage collector runs

    @property
    def saved(self) -> SavedChat:
        """The current state: store it back after the request."""
        return self._saved

    # -- the connection token ----------------------------------------------------------------

    def _token_is_fresh(self) -> bool:
        if self._saved.connection_token is None:
            return False
        expiry = parse_expiry(self._saved.connection_expiry)
        return expiry is None or expiry - self._clock() > TOKEN_EXPIRY_MARGIN

    def refresh_connection(self) -> SavedChat:
        """Create a new connection (token and WebSocket URL) with the participant token."""
        try:
            details = self._client.create_participant_connection(self._saved.participant_token)
        except AccessDeniedError as error:
            raise ChatEndedError(_ended_message(self._saved)) from error
        self._saved = self._saved.with_connection_details(details)
        logger.debug("new connection for contact %s", self._saved.contact_id)
        return self._saved

    def _with_token(self, call: Callable[[str], T]) -> T:
        renewed = False
        if not self._token_is_fresh():
            self.refresh_connection()
            renewed = True
        token = self._saved.connection_token
        assert token is not None
        try:
            return call(token)
        except AccessDeniedError:
            if renewed:
                raise
            logger.debug("connection token refused; renewing it once")
            self.refresh_connection()
            token = self._saved.connection_token
            assert token is not None
            return call(token)

    # -- messages and events -----------------------------------------------------------------

    def send_message(self, content_type: ContentType | str, content: str) -> str:
        """SendMessage; returns the message's id."""
        content_type = checked_message(content_type, content)
        answer = self._with_token(
            lambda token: self._client.send_message(token, content_type, content)
        )
        return str(answer.get("Id", ""))

    def send_event(self, content_type: ContentType | str, content: str = "") -> str | None:
        """SendEvent (typing, receipts...); returns the event's id if the service gave one."""
        content_type = checked_event(content_type, content)
        answer = self._with_token(
            lambda token: self._client.send_event(token, content_type, content or None)
        )
        event_id = answer.get("Id")
        return str(event_id) if event_id else None

    def send_message_receipt(
        self, receipt_type: MessageReceiptType | str, message_id: str
    ) -> str | None:
        """Send one read/delivered receipt now (explicit, not throttled)."""
        kind = MessageReceiptType(str(receipt_type))
        if not isinstance(message_id, str) or not message_id:
            raise InvalidInputError("a receipt needs the message id")
        return self.send_event(kind.value, json.dumps({"messageId": message_id}))

    # -- transcript --------------------------------------------------------------------------

    def get_transcript(
        self,
        scan_direction: ScanDirection | str = ScanDirection.BACKWARD,
        sort_order: SortKey | str = SortKey.ASCENDING,
        max_results: int = 30,
        next_token: str | None = None,
        start_position: StartPosition | str | None = None,
    ) -> TranscriptResponse:
        """One GetTranscript page, parsed (``start_position`` may be a message id)."""
        from connect_chat.parsing import parse_transcript_page

        scan, order, position = checked_transcript_request(
            scan_direction, sort_order, max_results, next_token, start_position
        )
        answer = self._with_token(
            lambda token: self._client.get_transcript(
                token,
                scan_direction=scan,
                sort_order=order,
                max_results=max_results,
                next_token=next_token,
                start_position=position,
            )
        )
        page = parse_transcript_page(answer)
        return TranscriptResponse(
            initial_contact_id=page.initial_contact_id,
            next_token=page.next_token or "",
            transcript=tuple(parsed.item for parsed in page.items),
        )

    def iter_history(
        self, *, page_size: int = 100, max_pages: int = 50
    ) -> Iterator[TranscriptItem]:
        """The whole transcript, oldest first (pages fetched backward, then put in order)."""
        pages: list[tuple[TranscriptItem, ...]] = []
        token: str | None = None
        for _ in range(max_pages):
            response = self.get_transcript(
                ScanDirection.BACKWARD, SortKey.ASCENDING, page_size, next_token=token
            )
            pages.append(tuple(response.transcript))
            token = response.next_token or None
            if token is None:
                break
        seen: set[str] = set()
        for page in reversed(pages):
            for item in page:
                if item.id not in seen:
                    seen.add(item.id)
                    yield item

    def new_items(self, *, page_size: int = 100, max_pages: int = 50) -> list[TranscriptItem]:
        """Transcript items after the last one seen (all of them the first time), oldest first.

        Moves the "last seen" mark of :attr:`saved` to the newest item returned.
        """
        last_id = self._saved.last_item_id
        if last_id is None:
            items = list(self.iter_history(page_size=page_size, max_pages=max_pages))
        else:
            items = _items_after(
                self.get_transcript, last_id, self._saved.last_item_time, page_size, max_pages
            )
        items.sort(key=lambda item: time_key(item.time_stamp))
        if items:
            newest = items[-1]
            self._saved = self._saved.with_last_item(newest.id, newest.time_stamp)
        return items

    # -- attachments -------------------------------------------------------------------------

    def _session(self) -> requests.Session:
        if self._http is None:
            self._http = watched_http_session()  # transfers abortable at their deadline
            self._owns_http = True
        return self._http

    def send_attachment(
        self, path: str | os.PathLike[str], *, progress: Progress | None = None
    ) -> str:
        """Upload a file (checked first) and post it to the chat; returns the attachment id."""
        from connect_chat.attachments import inspect_file, upload_file

        file = inspect_file(path)
        started = self._with_token(
            lambda token: self._client.start_attachment_upload(
                token, file.content_type, file.name, file.size
            )
        )
        attachment_id = str(started["AttachmentId"])
        upload = started.get("UploadMetadata") or {}
        with self._client.calls.scope("attachment upload", self._transfer_timeout):
            upload_file(
                self._session(),
                str(upload.get("Url", "")),
                dict(upload.get("HeadersToInclude") or {}),
                file,
                progress,
            )
        self._with_token(
            lambda token: self._client.complete_attachment_upload(token, [attachment_id])
        )
        return attachment_id

    def get_attachment_download_url(self, attachment_id: str) -> str:
        """The pre-signed URL of an attachment (a secret: do not log it)."""
        answer = self._with_token(
            lambda token: self._client.get_attachment(token, attachment_id)
        )
        return str(answer["Url"])

    def download_attachment(
        self,
        attachment_id: str,
        filename: str,
        directory: str | os.PathLike[str] | None = None,
        *,
        progress: Progress | None = None,
    ) -> Path:
        """Download an attachment into ``directory`` (a new temporary one by default)."""
        from connect_chat.attachments import save_download

        answer = self._with_token(
            lambda token: self._client.get_attachment(token, attachment_id)
        )
        size = answer.get("AttachmentSizeInBytes")
        with self._client.calls.scope("attachment download", self._transfer_timeout):
            return save_download(
                self._session(),
                str(answer["Url"]),
                directory,
                filename,
                progress,
                expected_size=size if isinstance(size, int) else None,
            )

    def describe_view(self, view_token: str) -> ViewResource:
        """DescribeView: the form behind an interactive ViewResource message."""
        from connect_chat.interactive import ViewResource

        answer = self._with_token(lambda token: self._client.describe_view(token, view_token))
        return ViewResource.from_service(answer)

    # -- leaving -----------------------------------------------------------------------------

    def disconnect(self) -> None:
        """DisconnectParticipant: the customer leaves (nothing to do if the chat has ended).

        The saved state is spent afterwards: the service refuses its tokens.
        """
        try:
            self._with_token(
                lambda token: self._client.disconnect_participant_connection(token)
            )
        except ChatEndedError:
            logger.debug("disconnect: the chat %s had already ended", self._saved.contact_id)
        finally:
            self.close()


def resume_session(
    session: ChatSession,
    saved: SavedChat,
    *,
    timeout: float | None = None,
    max_pages: int = 50,
) -> list[TranscriptItem]:
    """Go on with a saved chat in ``session``, fully: a new WebSocket, and the gap filled.

    ``session`` must not be connected; its configuration should point where the chat lives
    (``GlobalConfig(region=saved.region, endpoint_url=saved.endpoint_url)``). The session
    connects with the saved participant token (a fresh connection: the saved WebSocket URL
    is only valid for 100 s), then fetches every item after ``saved.last_item_id`` into its
    transcript. Returns those missed items, oldest first (the live ones then arrive through
    the callbacks as usual). The process that saved the chat should have let go of it with
    ``session.reset()`` (``disconnect()`` would leave the chat). Raises
    :class:`~connect_chat.errors.ChatEndedError` if the chat is over.
    """
    if not isinstance(saved, SavedChat):
        raise InvalidInputError("resume_session needs a SavedChat (see SavedChat.from_dict)")
    config = session.global_config
    if (config.endpoint_url or None) != (saved.endpoint_url or None):
        raise InvalidInputError(
            "the session's endpoint_url is not the saved chat's: build the session with "
            "GlobalConfig(region=saved.region, endpoint_url=saved.endpoint_url)"
        )
    try:
        session.connect(saved.chat_details(), timeout=timeout)
    except AccessDeniedError as error:
        raise ChatEndedError(_ended_message(saved)) from error
    if saved.last_item_id is None:
        return [item for item in session.transcript if is_service_item(item)]
    missed = _items_after(
        session.get_transcript, saved.last_item_id, saved.last_item_time, 100, max_pages
    )
    missed.sort(key=lambda item: time_key(item.time_stamp))
    return missed


def resumed_session(
    saved: SavedChat, config: GlobalConfig | None = None, *, timeout: float | None = None
) -> tuple[ChatSession, list[TranscriptItem]]:
    """A new :class:`ChatSession` that goes on with ``saved``, and the items it missed.

    ``config`` (a ``GlobalConfig``) defaults to the saved region and endpoint; set the
    callbacks on the returned session, or pass ``config`` and use :func:`resume_session`
    on a session whose callbacks are set before it connects.
    """
    from connect_chat.config import GlobalConfig
    from connect_chat.session import ChatSession

    if config is None:
        config = GlobalConfig(region=saved.region, endpoint_url=saved.endpoint_url)
    session = ChatSession(config)
    try:
        missed = resume_session(session, saved, timeout=timeout)
    except BaseException:
        session.reset()
        raise
    return session, missed
