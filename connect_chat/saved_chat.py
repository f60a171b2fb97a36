"""``SavedChat``: everything another process needs to go on with a chat.

Web apps run many workers, and the worker that serves the next request is rarely the one that
started the chat. A :class:`SavedChat` is a plain JSON-serialisable dict whose secrets (tokens,
the pre-signed WebSocket URL) sit under one ``"secrets"`` key, so that the app can store it
wherever it already stores things (Django's session or cache, Redis, a database row) and can
log or show the rest safely. Its "last seen" mark is a stored item (:func:`is_service_item`).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from connect_chat.config import DEFAULT_REGION
from connect_chat.enums import ContentType, MessageStatus
from connect_chat.errors import InvalidInputError
from connect_chat.models import ChatDetails, ConnectionDetails, Event, Message, TranscriptItem
from connect_chat.timestamps import iso_timestamp, parse_expiry

if TYPE_CHECKING:
    from connect_chat.session import ChatSession

#: The format version written by :meth:`SavedChat.to_dict`; older versions are read too.
SAVED_CHAT_VERSION = 1

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
    region: str = DEFAULT_REGION
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
        region: str = DEFAULT_REGION,
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
        region = values.pop("region") or DEFAULT_REGION
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
    if isinstance(item, Message):
        return item.status not in (MessageStatus.SENDING, MessageStatus.FAILED)
    if isinstance(item, Event):
        return item.content_type in STORED_EVENT_TYPES and not item.id.startswith(
            "chat-ended-event"
        )
    return False


def ended_message(saved: SavedChat) -> str:
    which = f"the chat {saved.contact_id}" if saved.contact_id else "the chat"
    return f"{which} has ended (the participant token was refused)"


