"""connect-chat: the Python client SDK for Amazon Connect Chat (customer side)."""

from __future__ import annotations

import logging

from connect_chat.enums import (
    ContentType,
    MessageDirection,
    MessageReceiptType,
    MessageStatus,
    ParticipantRole,
    ScanDirection,
    SortKey,
)
from connect_chat.models import ChatDetails

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "ChatDetails",
    "ContentType",
    "MessageDirection",
    "MessageReceiptType",
    "MessageStatus",
    "ParticipantRole",
    "ScanDirection",
    "SortKey",
    "__version__",
]
