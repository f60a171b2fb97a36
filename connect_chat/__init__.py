"""connect-chat: the Python client SDK for Amazon Connect Chat (customer side)."""

from __future__ import annotations

import logging

from connect_chat._version import __version__

logging.getLogger(__name__).addHandler(logging.NullHandler())

from connect_chat.client import AWSClient  # noqa: E402
from connect_chat.config import Features, GlobalConfig, MessageReceipts  # noqa: E402
from connect_chat.contact import start_chat_contact  # noqa: E402
from connect_chat.enums import (  # noqa: E402
    ContentType,
    MessageDirection,
    MessageReceiptType,
    MessageStatus,
    ParticipantRole,
    ScanDirection,
    SortKey,
)
from connect_chat.models import (  # noqa: E402
    ChatDetails,
    ConnectionDetails,
    Event,
    Message,
    Metadata,
    Participant,
    StartPosition,
    TranscriptData,
    TranscriptItem,
    TranscriptResponse,
)
from connect_chat.sdk_logger import SDKLogger  # noqa: E402
from connect_chat.session import ChatSession, ConnectionDetailsProvider  # noqa: E402
from connect_chat.stats import SessionStats  # noqa: E402
from connect_chat.streams import ItemStream  # noqa: E402
from connect_chat.transcript_view import TranscriptView  # noqa: E402

__all__ = [
    "AWSClient",
    "ChatDetails",
    "ChatSession",
    "ConnectionDetails",
    "ConnectionDetailsProvider",
    "ContentType",
    "Event",
    "Features",
    "GlobalConfig",
    "ItemStream",
    "Message",
    "MessageDirection",
    "MessageReceiptType",
    "MessageReceipts",
    "MessageStatus",
    "Metadata",
    "Participant",
    "ParticipantRole",
    "SDKLogger",
    "ScanDirection",
    "SessionStats",
    "SortKey",
    "StartPosition",
    "TranscriptData",
    "TranscriptItem",
    "TranscriptResponse",
    "TranscriptView",
    "__version__",
    "start_chat_contact",
]
