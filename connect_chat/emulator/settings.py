"""Knobs of one emulator: service timings and limits, shortened by tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from connect_chat.emulator.behaviour import Behaviour
from connect_chat.emulator.calls import DEFAULT_MAX_RECORDS
from connect_chat.enums import ATTACHMENT_CONTENT_TYPES, MAX_ATTACHMENT_BYTES, ContentType

#: Every content type a customer may send (StartChatContact ``SupportedMessagingContentTypes``).
ALL_MESSAGE_TYPES: frozenset[str] = frozenset(
    {
        ContentType.PLAIN_TEXT.value,
        ContentType.RICH_TEXT.value,
        ContentType.JSON.value,
        ContentType.INTERACTIVE_TEXT.value,
        ContentType.INTERACTIVE_RESPONSE.value,
    }
)


#: How many ended contacts an emulator keeps by default (a long-running one stays bounded).
DEFAULT_MAX_ENDED_CONTACTS = 1000

#: Frames waiting for one WebSocket client before the server gives up on it.
DEFAULT_MAX_SOCKET_QUEUE = 1000

#: Seconds a client has to send a whole request (headers and body); also the idle keep-alive.
DEFAULT_REQUEST_TIMEOUT = 30.0


@dataclass(frozen=True)
class Settings:
    """Timings in seconds unless named otherwise; defaults are the service's (wire-protocol.md)."""

    agent: str | None = None
    connection_token_ttl: float = 86400.0
    websocket_url_ttl: float = 100.0
    chat_duration_minutes: float = 1500.0
    idle_timeout: float | None = None
    auto_disconnect_timeout: float | None = None
    max_attachment_bytes: int = MAX_ATTACHMENT_BYTES
    allowed_attachment_types: frozenset[str] = ATTACHMENT_CONTENT_TYPES
    attachment_url_ttl: float = 300.0
    close_delay_after_end: float = 0.5
    echo_typing_to_sender: bool = True
    receipt_conflict_over_two_participants: bool = True
    default_supported_content_types: frozenset[str] = field(default=ALL_MESSAGE_TYPES)
    replay_window: float = 300.0
    attachment_scan: str | None = None
    attachment_scan_delay: float = 0.1
    max_attachments_per_contact: int | None = None
    #: The server closes each chat WebSocket this long after it opened (None: never).
    max_socket_lifetime: float | None = None
    socket_lifetime_close_code: int = 1001
    #: The request log keeps this many records, dropping the oldest first.
    max_call_records: int = DEFAULT_MAX_RECORDS
    #: Ended contacts kept (transcripts, tokens, attachments); the oldest ended goes first.
    max_ended_contacts: int = DEFAULT_MAX_ENDED_CONTACTS
    #: What the emulator does where the service reference leaves it open (behaviour.py).
    behaviour: Behaviour = field(default_factory=Behaviour)
    #: Origins (``scheme://host[:port]``) besides the emulator's own that may drive the
    #: control API (``/emulator/...``) from a browser.
    control_allowed_origins: frozenset[str] = frozenset()
    #: Frames queued for one chat WebSocket before the server closes it with 1008 (a client
    #: that sends but never reads).
    max_socket_queue: int = DEFAULT_MAX_SOCKET_QUEUE
    #: A request not fully received this long after its connection went idle is dropped
    #: (headers) or answered 408 (body); idle keep-alive connections close after it too.
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
