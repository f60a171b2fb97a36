"""Protocol enumerations: the raw values are wire facts, shared by the SDK and the emulator."""

from __future__ import annotations

import enum

_EVT = "application/vnd.amazonaws.connect.event."


class ContentType(str, enum.Enum):
    """Content types of messages and events (``ContentType`` of a transcript item)."""

    TYPING = _EVT + "typing"
    CONNECTION_ACKNOWLEDGED = _EVT + "connection.acknowledged"
    MESSAGE_DELIVERED = _EVT + "message.delivered"
    MESSAGE_READ = _EVT + "message.read"
    META_DATA = _EVT + "message.metadata"
    JOINED = _EVT + "participant.joined"
    LEFT = _EVT + "participant.left"
    ENDED = _EVT + "chat.ended"
    PLAIN_TEXT = "text/plain"
    RICH_TEXT = "text/markdown"
    JSON = "application/json"
    INTERACTIVE_TEXT = "application/vnd.amazonaws.connect.message.interactive"
    INTERACTIVE_RESPONSE = "application/vnd.amazonaws.connect.message.interactive.response"
    AUTHENTICATION_INITIATED = _EVT + "authentication.initiated"
    AUTHENTICATION_SUCCESSFUL = _EVT + "authentication.succeeded"
    AUTHENTICATION_FAILED = _EVT + "authentication.failed"
    AUTHENTICATION_TIMEOUT = _EVT + "authentication.timeout"
    AUTHENTICATION_EXPIRED = _EVT + "authentication.expired"
    AUTHENTICATION_CANCELLED = _EVT + "authentication.cancelled"
    PARTICIPANT_DISPLAY_NAME_UPDATED = _EVT + "participant.displayname.updated"
    PARTICIPANT_ACTIVE = _EVT + "participant.active"
    PARTICIPANT_INACTIVE = _EVT + "participant.inactive"
    TRANSFER_SUCCEEDED = _EVT + "transfer.succeeded"
    TRANSFER_FAILED = _EVT + "transfer.failed"
    PARTICIPANT_IDLE = _EVT + "participant.idle"
    PARTICIPANT_RETURNED = _EVT + "participant.returned"
    PARTICIPANT_INVITED = _EVT + "participant.invited"
    AUTO_DISCONNECTION = _EVT + "participant.autodisconnection"
    CHAT_REHYDRATED = _EVT + "chat.rehydrated"

    def __str__(self) -> str:
        return self.value


#: Content types a customer may send with SendMessage.
MESSAGE_CONTENT_TYPES: frozenset[str] = frozenset(
    {
        ContentType.PLAIN_TEXT.value,
        ContentType.RICH_TEXT.value,
        ContentType.JSON.value,
        ContentType.INTERACTIVE_RESPONSE.value,
    }
)


#: Event content types a customer may send with SendEvent.
EVENT_CONTENT_TYPES: frozenset[str] = frozenset(
    {
        ContentType.TYPING.value,
        ContentType.MESSAGE_DELIVERED.value,
        ContentType.MESSAGE_READ.value,
        ContentType.CONNECTION_ACKNOWLEDGED.value,
    }
)


class MessageReceiptType(str, enum.Enum):
    """The two receipt kinds a participant sends with SendEvent."""

    MESSAGE_DELIVERED = ContentType.MESSAGE_DELIVERED.value
    MESSAGE_READ = ContentType.MESSAGE_READ.value

    def __str__(self) -> str:
        return self.value


class ScanDirection(str, enum.Enum):
    """GetTranscript ``ScanDirection``."""

    FORWARD = "FORWARD"
    BACKWARD = "BACKWARD"

    def __str__(self) -> str:
        return self.value


class SortKey(str, enum.Enum):
    """GetTranscript ``SortOrder``."""

    ASCENDING = "ASCENDING"
    DESCENDING = "DESCENDING"

    def __str__(self) -> str:
        return self.value


class MessageStatus(str, enum.Enum):
    """Delivery state of a message as the customer sees it."""

    SENDING = "Sending"
    SENT = "Sent"
    DELIVERED = "Delivered"
    READ = "Read"
    FAILED = "Failed"
    UNKNOWN = "Unknown"

    def __str__(self) -> str:
        return self.value

    @property
    def rank(self) -> int:
        """Order of delivery states: a later state never goes back to an earlier one.

        FAILED and UNKNOWN rank lowest, then SENDING, SENT, DELIVERED and READ.
        """
        return _STATUS_RANK[self._value_]

    @staticmethod
    def rank_of(status: MessageStatus | None) -> int:
        """``status.rank``, or -1 for no status at all (below every status)."""
        return -1 if status is None else _STATUS_RANK[status._value_]


_STATUS_RANK: dict[str, int] = {
    MessageStatus.FAILED.value: 0,
    MessageStatus.UNKNOWN.value: 0,
    MessageStatus.SENDING.value: 1,
    MessageStatus.SENT.value: 2,
    MessageStatus.DELIVERED.value: 3,
    MessageStatus.READ.value: 4,
}


class MessageDirection(str, enum.Enum):
    """Who a transcript item is from, relative to this customer."""

    OUTGOING = "Outgoing"
    INCOMING = "Incoming"
    COMMON = "Common"

    def __str__(self) -> str:
        return self.value


class ParticipantRole(str, enum.Enum):
    """``ParticipantRole`` values of transcript items."""

    AGENT = "AGENT"
    CUSTOMER = "CUSTOMER"
    SYSTEM = "SYSTEM"
    SUPERVISOR = "SUPERVISOR"
    CUSTOM_BOT = "CUSTOM_BOT"
    UNKNOWN = "UNKNOWN"

    def __str__(self) -> str:
        return self.value


class ItemType(str, enum.Enum):
    """The inner ``Type`` field of a transcript item / ``aws/chat`` frame content."""

    MESSAGE = "MESSAGE"
    EVENT = "EVENT"
    ATTACHMENT = "ATTACHMENT"
    MESSAGEMETADATA = "MESSAGEMETADATA"
    CONNECTION_ACK = "CONNECTION_ACK"

    def __str__(self) -> str:
        return self.value


#: MIME types the service accepts for attachments (StartAttachmentUpload ``ContentType``).
ATTACHMENT_CONTENT_TYPES: frozenset[str] = frozenset(
    {
        "text/csv",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "image/heic",
        "image/jpeg",
        "video/quicktime",
        "video/mp4",
        "application/pdf",
        "image/png",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/rtf",
        "text/plain",
        "audio/wav",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
)

#: The service's attachment size limit (20 MB as the service counts it).
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024

#: The service's maximum length of any Content, in characters (the API model's limit).
MAX_CONTENT_LENGTH = 16384

#: Per-content-type limits of SendMessage ``Content`` the service documents, in characters.
MESSAGE_CONTENT_LIMITS: dict[str, int] = {
    ContentType.PLAIN_TEXT.value: 1024,
    ContentType.RICH_TEXT.value: 1024,
    ContentType.JSON.value: 12000,
    ContentType.INTERACTIVE_RESPONSE.value: 12288,
}
