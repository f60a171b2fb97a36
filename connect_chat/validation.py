"""Argument checks shared by every API that sends messages and events (before any request)."""

from __future__ import annotations

from connect_chat.enums import (
    EVENT_CONTENT_TYPES,
    MAX_CONTENT_LENGTH,
    MESSAGE_CONTENT_LIMITS,
    MESSAGE_CONTENT_TYPES,
    ContentType,
    MessageReceiptType,
    ScanDirection,
    SortKey,
)
from connect_chat.errors import InvalidInputError
from connect_chat.models import StartPosition, TranscriptItem


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


def checked_transcript_request(
    scan_direction: ScanDirection | str,
    sort_order: SortKey | str,
    max_results: object,
    next_token: object,
    start_position: StartPosition | str | None,
) -> tuple[str, str, StartPosition | None]:
    """Scan direction, sort order and start position of a valid GetTranscript request
    (a message id is taken as ``StartPosition(id=...)``); ``InvalidInputError`` otherwise."""
    scan = str(scan_direction)
    order = str(sort_order)
    if scan not in (ScanDirection.FORWARD.value, ScanDirection.BACKWARD.value):
        raise InvalidInputError(f"invalid scan_direction {scan!r}")
    if order not in (SortKey.ASCENDING.value, SortKey.DESCENDING.value):
        raise InvalidInputError(f"invalid sort_order {order!r}")
    if (
        not isinstance(max_results, int)
        or isinstance(max_results, bool)
        or not 0 <= max_results <= 100
    ):
        raise InvalidInputError(f"max_results must be an int 0..100, got {max_results!r}")
    if next_token is not None and not isinstance(next_token, str):
        raise InvalidInputError("next_token must be a string or None")
    if isinstance(start_position, str):
        return scan, order, StartPosition(id=start_position)
    if start_position is not None and not isinstance(start_position, StartPosition):
        raise InvalidInputError("start_position must be a StartPosition, a message id or None")
    return scan, order, start_position


def checked_timeout(value: object, *, positive: bool = False, optional: bool = True) -> None:
    """A timeout argument: a number of seconds (> 0 with ``positive``, else >= 0), or None
    when ``optional``."""
    if value is None and optional:
        return
    if (
        not isinstance(value, (int, float))
        or isinstance(value, bool)
        or value < 0
        or (positive and value == 0)
    ):
        bound = "a positive number" if positive else "a number >= 0"
        raise InvalidInputError(
            f"timeout must be {bound}{' or None' if optional else ''}, got {value!r}"
        )


def checked_session_id(session_id: object) -> None:
    """CancelParticipantAuthentication's argument (and GetAuthenticationUrl's first)."""
    if not isinstance(session_id, str) or len(session_id) != 36:
        raise InvalidInputError(
            "session_id must be the 36-character SessionId of the "
            "authentication.initiated event (event.session_id)"
        )


def checked_authentication(session_id: object, redirect_uri: object) -> None:
    """The arguments of GetAuthenticationUrl."""
    checked_session_id(session_id)
    if not isinstance(redirect_uri, str) or not 1 <= len(redirect_uri) <= 1024:
        raise InvalidInputError("redirect_uri must be a string of 1..1024 characters")


def checked_receipt(receipt_type: object, message: object) -> MessageReceiptType:
    """``send_message_receipt``'s arguments: a receipt type, and a message id or item."""
    try:
        kind = MessageReceiptType(str(receipt_type))
    except ValueError:
        raise InvalidInputError(f"{receipt_type!r} is not a receipt type") from None
    if not isinstance(message, TranscriptItem) and not (isinstance(message, str) and message):
        raise InvalidInputError("give a message id or a transcript item")
    return kind
