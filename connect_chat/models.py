"""Model classes (attrs): what the SDK hands to the program and takes from it."""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from connect_chat.enums import ContentType, MessageDirection, MessageStatus
from connect_chat.errors import InvalidInputError
from connect_chat.interactive import InteractiveContent, parse_interactive_content


@attrs.frozen
class ChatDetails:
    """What ``StartChatContact`` returned: the customer's identity in one contact.

    ``participant_token`` is a secret: it is kept out of ``repr``.
    """

    participant_token: str = attrs.field(repr=False)
    contact_id: str | None = None
    participant_id: str | None = None


# --------------------------------------------------------------------------------------------
# Connection


@attrs.frozen(kw_only=True)
class ConnectionDetails:
    """What ``CreateParticipantConnection`` returned: the WebSocket URL and the connection token.

    Both are secrets (the URL is pre-signed): they are kept out of ``repr``. ``expiry`` is the
    connection token's expiry and ``websocket_url_expiry`` the deadline to open the URL, as
    aware UTC datetimes (``None`` when the service did not say).
    """

    websocket_url: str | None = attrs.field(default=None, repr=False)
    connection_token: str | None = attrs.field(default=None, repr=False)
    expiry: datetime.datetime | None = None
    websocket_url_expiry: datetime.datetime | None = None

    def get_websocket_url(self) -> str | None:
        return self.websocket_url

    def get_connection_token(self) -> str | None:
        return self.connection_token

    def get_expiry(self) -> datetime.datetime | None:
        return self.expiry


@attrs.frozen(kw_only=True)
class StartPosition:
    """GetTranscript ``StartPosition``: one of ``id``, ``absolute_time``, ``most_recent``."""

    id: str | None = None
    absolute_time: str | None = None
    most_recent: int | None = None

    def __attrs_post_init__(self) -> None:
        given = [v for v in (self.id, self.absolute_time, self.most_recent) if v is not None]
        if len(given) > 1:
            raise InvalidInputError(
                "StartPosition takes only one of id, absolute_time, most_recent"
            )
        if self.most_recent is not None and not 0 <= self.most_recent <= 100:
            raise InvalidInputError("StartPosition.most_recent must be 0..100")

    def to_request(self) -> dict[str, Any]:
        """The service-shaped dict (``{}`` when empty)."""
        out: dict[str, Any] = {}
        if self.id is not None:
            out["Id"] = self.id
        if self.absolute_time is not None:
            out["AbsoluteTime"] = self.absolute_time
        if self.most_recent is not None:
            out["MostRecent"] = self.most_recent
        return out


# --------------------------------------------------------------------------------------------
# Transcript items (immutable snapshots; the transcript replaces them with evolved copies)


@attrs.frozen(kw_only=True)
class TranscriptItem:
    """One item of the chat: a message, an event, or a receipt.

    ``time_stamp`` is the ISO-8601 string as the service gave it (device time for a local
    placeholder). ``persistent_id`` stays the same when a sent message's placeholder id is
    replaced by the server's id, so a UI can keep its row. ``serialized_content`` is the raw
    service dict the item was parsed from. ``is_from_history`` says the item came from
    GetTranscript rather than a live frame.
    """

    id: str
    time_stamp: str
    content_type: str
    persistent_id: str = attrs.field()
    serialized_content: Mapping[str, Any] = attrs.field(
        factory=dict, repr=False, eq=False, hash=False
    )
    view_resource: Any = attrs.field(default=None, repr=False, eq=False, hash=False)
    is_from_history: bool = attrs.field(default=False, eq=False, hash=False)

    @persistent_id.default
    def _persistent_id_default(self) -> str:
        return self.id


@attrs.frozen(kw_only=True)
class Metadata(TranscriptItem):
    """Delivery status of the message whose id is ``id`` (the MESSAGEMETADATA item)."""

    status: MessageStatus | None = None
    event_direction: MessageDirection = MessageDirection.OUTGOING


@attrs.frozen(kw_only=True)
class Message(TranscriptItem):
    """A chat message (text, markdown, JSON, interactive) or an attachment (``attachment_id``).

    ``participant`` is the sender's role (``AGENT``, ``CUSTOMER``, ``SYSTEM``...);
    ``message_direction`` is ``OUTGOING`` for this customer's messages, ``INCOMING`` otherwise.
    """

    participant: str = ""
    text: str = ""
    message_direction: MessageDirection | None = None
    attachment_id: str | None = None
    display_name: str | None = None
    metadata: Metadata | None = None
    participant_id: str | None = None

    @property
    def status(self) -> MessageStatus | None:
        """Shortcut for ``metadata.status``."""
        return self.metadata.status if self.metadata is not None else None

    @property
    def attachment_name(self) -> str | None:
        """An attachment's file name as the service stored it (None for a text message)."""
        attachments = self.serialized_content.get("Attachments")
        if isinstance(attachments, list) and attachments and isinstance(attachments[0], Mapping):
            name = attachments[0].get("AttachmentName")
            return str(name) if name else None
        return None

    @property
    def interactive(self) -> InteractiveContent | None:
        """The parsed template of an interactive message (``ListPicker``, ``QuickReply``,
        ``TimePicker``, ``Panel``, ``Carousel``, ``ViewResourceContent`` or
        ``UnknownTemplate``); ``None`` for any other message or unreadable content."""
        if self.content_type != ContentType.INTERACTIVE_TEXT.value:
            return None
        return parse_interactive_content(self.text)


@attrs.frozen(kw_only=True)
class Event(TranscriptItem):
    """A chat event (joined, left, typing, chat ended, idle...) or a receipt notification."""

    participant: str | None = None
    text: str | None = None
    display_name: str | None = None
    event_direction: MessageDirection = MessageDirection.COMMON
    participant_id: str | None = None

    @property
    def session_id(self) -> str | None:
        """The ``SessionId`` an ``authentication.initiated`` event carries in its JSON
        ``Content`` (what ``get_authentication_url`` needs); ``None`` for other events."""
        if not self.text:
            return None
        try:
            content = json.loads(self.text)
        except (ValueError, RecursionError):
            return None
        value = content.get("SessionId") if isinstance(content, dict) else None
        return value if isinstance(value, str) and value else None


@attrs.frozen(kw_only=True)
class Participant:
    """A participant of the chat as the session knows it (``ChatSession.participants()``).

    ``display_name`` is the latest name seen (a ``participant.displayname.updated`` event
    renames); ``present`` turns False after ``participant.left``. ``role`` is the
    ``ParticipantRole`` (``AGENT``, ``CUSTOMER``, ``SYSTEM``...).
    """

    participant_id: str
    role: str | None = None
    display_name: str | None = None
    present: bool = True


@attrs.frozen(kw_only=True)
class TranscriptData:
    """What ``on_transcript_updated`` receives: the ordered transcript and the paging token.

    ``transcript_list`` is an immutable sequence; ``previous_transcript_next_token`` fetches
    older history with ``get_transcript(next_token=...)`` (``None`` when there is none).
    """

    transcript_list: Sequence[TranscriptItem] = attrs.field(factory=tuple, repr=False)
    previous_transcript_next_token: str | None = attrs.field(default=None, repr=False)

    def _repr_html_(self) -> str:
        from connect_chat.html_view import render_chat  # a chat picture, for notebooks
        return render_chat(self.transcript_list)


@attrs.frozen(kw_only=True)
class TranscriptResponse:
    """The result of ``get_transcript``: one page, parsed (``next_token`` is ``""`` at the end)."""

    initial_contact_id: str = ""
    next_token: str = attrs.field(default="", repr=False)
    transcript: Sequence[TranscriptItem] = attrs.field(factory=tuple)

    def _repr_html_(self) -> str:
        from connect_chat.html_view import render_chat  # a chat picture, for notebooks
        return render_chat(self.transcript)
