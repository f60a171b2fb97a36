"""Argument checks shared by every API that sends messages and events (before any request)."""

from __future__ import annotations

from connect_chat.enums import (
    EVENT_CONTENT_TYPES,
    MAX_CONTENT_LENGTH,
    MESSAGE_CONTENT_LIMITS,
    MESSAGE_CONTENT_TYPES,
    ContentType,
)
from connect_chat.errors import InvalidInputError


def checked_message(content_type: ContentType | str, message: object) -> str:
    """The content type of a valid SendMessage; ``InvalidInputError`` otherwise."""
    content_type = str(content_type)
    if content_type not in MESSAGE_CONTENT_TYPES:
        raise InvalidInputError(f"{content_type!r} is not a message content type")
    if not isinstance(message, str) or not message:
        raise InvalidInputError("the message must be a non-empty string")
    limit = MESSAGE_CONTENT_LIMITS.get(content_type, MAX_CONTENT_LENGTH)
    if len(message) > limit:
        raise InvalidInputError(f"the message is longer than {limit} characters")
    return content_type


def checked_event(content_type: ContentType | str, content: object) -> str:
    """The content type of a valid SendEvent; ``InvalidInputError`` otherwise."""
    content_type = str(content_type)
    if content_type not in EVENT_CONTENT_TYPES:
        raise InvalidInputError(f"{content_type!r} is not an event content type")
    if not isinstance(content, str) or len(content) > MAX_CONTENT_LENGTH:
        raise InvalidInputError(
            f"the event content must be a string of at most {MAX_CONTENT_LENGTH} characters"
        )
    return content_type
