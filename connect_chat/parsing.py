"""Pure functions: service items (chat frames, GetTranscript pages) -> model objects.

Nothing here does I/O, reads a clock or keeps state, so every rule is unit-testable. The
framing (topics, classifying a raw frame) is :mod:`connect_chat.protocol`'s. The parser is
lenient like the iOS SDK after its #110 fix: a missing string field becomes ``""`` rather
than an exception, and an item that cannot be understood yields ``None`` (the caller logs
it) instead of breaking the stream.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from connect_chat.enums import (
    MAX_CONTENT_LENGTH,
    ContentType,
    ItemType,
    MessageDirection,
    MessageStatus,
)
from connect_chat.interactive import ViewResourceContent, parse_interactive_content
from connect_chat.models import Event, Message, Metadata, TranscriptItem
from connect_chat.protocol import TOPIC_CHAT, Frame, chat_inner

#: Id of the chat-ended event the SDK makes up when the service says the chat is over
#: (AccessDeniedException on reconnect) without a live ``chat.ended`` frame.
SYNTHESIZED_CHAT_ENDED_ID = "chat-ended-event"


# Made for every frame: slotted, not frozen (a frozen attrs ``__init__`` costs twice as
# much); nothing changes one after it is built.
@attrs.define
class ParsedItem:
    """One parsed service item.

    ``item`` is what goes into the transcript (a ``Message``, an ``Event`` or a ``Metadata``);
    ``receipts`` are the read/delivered notifications a MESSAGEMETADATA item carries (never
    stored); ``is_typing`` marks typing events (shown, never stored).
    """

    item: TranscriptItem
    receipts: tuple[Event, ...] = ()
    is_typing: bool = False


#: The service model's length limits (characters) of an item's string fields (botocore's
#: ``connectparticipant`` ``Item``): an item over any of them did not come from the service
#: and is refused whole (counted as a bad frame, or a skipped history item), so a hostile
#: peer cannot put a 1 MB id or a 2 MB message into the transcript.
ITEM_FIELD_LIMITS: tuple[tuple[str, int], ...] = (
    ("Id", 256),
    ("Content", MAX_CONTENT_LENGTH),
    ("ContentType", 100),
    ("DisplayName", 256),
    ("ParticipantId", 256),
    ("AbsoluteTime", 100),
)
#: The same for an attachment of an ATTACHMENT item and for ``MessageMetadata``.
ATTACHMENT_FIELD_LIMITS: tuple[tuple[str, int], ...] = (
    ("AttachmentId", 256),
    ("AttachmentName", 256),
    ("ContentType", 255),
)
METADATA_FIELD_LIMITS: tuple[tuple[str, int], ...] = (("MessageId", 256),)
_MAX_ID, _MAX_CONTENT, _MAX_CONTENT_TYPE, _MAX_TIME = 256, MAX_CONTENT_LENGTH, 100, 100


def within_limits(fields: Mapping[str, Any], limits: tuple[tuple[str, int], ...]) -> bool:
    """True if no string field of ``fields`` is longer than its limit in ``limits``."""
    for key, limit in limits:
        value = fields.get(key)
        if type(value) is str and len(value) > limit:
            return False
    return True


def _s(inner: Mapping[str, Any], key: str) -> str:
    value = inner.get(key)
    return value if isinstance(value, str) else ""


def _opt(inner: Mapping[str, Any], key: str) -> str | None:
    value = inner.get(key)
    return value if isinstance(value, str) and value else None


def direction_of(role: str) -> MessageDirection:
    """This SDK is the customer's: the customer's items are outgoing, everyone else's incoming."""
    return MessageDirection.OUTGOING if role == "CUSTOMER" else MessageDirection.INCOMING


def _receipts_of(meta: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    receipts = meta.get("Receipts")
    if not isinstance(receipts, list):
        return []
    return [r for r in receipts if isinstance(r, dict)]


def receipt_status(meta: Mapping[str, Any]) -> MessageStatus | None:
    """READ if any receipt has a read time, DELIVERED if any has a delivered time, else None."""
    status: MessageStatus | None = None
    for receipt in _receipts_of(meta):
        if _opt(receipt, "ReadTimestamp"):
            return MessageStatus.READ
        if _opt(receipt, "DeliveredTimestamp"):
            status = MessageStatus.DELIVERED
    return status


def _parse_metadata(
    inner: Mapping[str, Any], serialized: Mapping[str, Any], from_history: bool
) -> ParsedItem | None:
    meta = inner.get("MessageMetadata")
    if not isinstance(meta, dict) or not within_limits(meta, METADATA_FIELD_LIMITS):
        return None
    message_id = _opt(meta, "MessageId") or _s(inner, "Id")
    if not message_id:
        return None
    time_stamp = _s(inner, "AbsoluteTime")
    receipts: list[Event] = []
    for receipt in _receipts_of(meta):
        read_at, delivered_at = _opt(receipt, "ReadTimestamp"), _opt(receipt, "DeliveredTimestamp")
        if read_at:
            content_type, text, at = ContentType.MESSAGE_READ.value, "Message read", read_at
        elif delivered_at:
            content_type, text = ContentType.MESSAGE_DELIVERED.value, "Message delivered"
            at = delivered_at
        else:
            continue
        receipts.append(
            Event(
                id=message_id,
                time_stamp=at or time_stamp,
                content_type=content_type,
                serialized_content={"receipt": receipt, "originalMessage": dict(inner)},
                participant=_opt(receipt, "RecipientParticipantId") or "Unknown",
                participant_id=_opt(receipt, "RecipientParticipantId"),
                text=text,
                event_direction=MessageDirection.INCOMING,
                is_from_history=from_history,
            )
        )
    metadata = Metadata(
        id=message_id,
        time_stamp=time_stamp,
        content_type=_s(inner, "ContentType") or ContentType.META_DATA.value,
        serialized_content=serialized,
        status=receipt_status(meta),
        is_from_history=from_history,
    )
    return ParsedItem(item=metadata, receipts=tuple(receipts))


def _message_metadata(
    inner: Mapping[str, Any], message_id: str, time_stamp: str, role: str, from_history: bool
) -> Metadata | None:
    meta = inner.get("MessageMetadata")
    status = receipt_status(meta) if isinstance(meta, dict) else None
    if status is None and role == "CUSTOMER":
        status = MessageStatus.SENT  # the service has it: it was sent
    if status is None:
        return None
    return Metadata(
        id=message_id,
        time_stamp=time_stamp,
        content_type=ContentType.META_DATA.value,
        status=status,
        is_from_history=from_history,
    )


def view_resource_of(content_type: str, content: str) -> ViewResourceContent | None:
    """The ``ViewResourceContent`` of an interactive ViewResource message, else ``None``."""
    if content_type != _INTERACTIVE or "ViewResource" not in content:
        return None
    template = parse_interactive_content(content)
    return template if isinstance(template, ViewResourceContent) else None


# Plain strings: an enum member's ``.value`` is a Python-level property lookup, and
# ``parse_item`` runs for every live item.
_MESSAGE = ItemType.MESSAGE.value
_ATTACHMENT = ItemType.ATTACHMENT.value
_MESSAGEMETADATA = ItemType.MESSAGEMETADATA.value
_EVENT = ItemType.EVENT.value
_TYPING = ContentType.TYPING.value
_INTERACTIVE = ContentType.INTERACTIVE_TEXT.value
_OUTGOING, _INCOMING = MessageDirection.OUTGOING, MessageDirection.INCOMING


def parse_item(
    inner: Mapping[str, Any], serialized: Mapping[str, Any] | None = None, *,
    from_history: bool = False,
) -> ParsedItem | None:
    """A service item (WebSocket inner object or GetTranscript ``Item``) -> model objects.

    Returns ``None`` for an item with an unknown ``Type`` or without the fields its type
    needs: an ``Id`` (an item without one could not be deduplicated), attachments for an
    ATTACHMENT, ``MessageMetadata`` for a MESSAGEMETADATA; and for an item with a field over
    the service's length limit (:data:`ITEM_FIELD_LIMITS`). Other missing strings become ``""``.
    """
    serialized = inner if serialized is None else serialized
    kind = inner.get("Type")
    item_id = _s(inner, "Id")
    if not item_id and kind != _MESSAGEMETADATA:
        return None
    time_stamp = _s(inner, "AbsoluteTime")
    role = _s(inner, "ParticipantRole")
    if kind == _MESSAGE:
        # The hot path (every live message): helpers only for what most messages lack, and
        # the ITEM_FIELD_LIMITS checks on the values it reads anyway.
        content_type, text = _s(inner, "ContentType"), _s(inner, "Content")
        customer = role == "CUSTOMER"
        display_name = inner.get("DisplayName") or None
        participant_id = inner.get("ParticipantId") or None
        if (
            len(text) > _MAX_CONTENT
            or len(item_id) > _MAX_ID
            or len(content_type) > _MAX_CONTENT_TYPE
            or len(time_stamp) > _MAX_TIME
            or (type(display_name) is str and len(display_name) > _MAX_ID)
            or (type(participant_id) is str and len(participant_id) > _MAX_ID)
        ):
            return None
        return ParsedItem(
            Message(
                id=item_id,
                time_stamp=time_stamp,
                content_type=content_type,
                serialized_content=serialized,
                view_resource=(
                    view_resource_of(content_type, text) if content_type == _INTERACTIVE else None
                ),
                participant=role,
                text=text,
                message_direction=_OUTGOING if customer else _INCOMING,
                display_name=display_name if isinstance(display_name, str) else None,
                participant_id=participant_id if isinstance(participant_id, str) else None,
                metadata=_message_metadata(inner, item_id, time_stamp, role, from_history)
                if customer or "MessageMetadata" in inner
                else None,
                is_from_history=from_history,
            )
        )
    if not within_limits(inner, ITEM_FIELD_LIMITS):
        return None
    if kind == _ATTACHMENT:
        attachments = inner.get("Attachments")
        if not isinstance(attachments, list) or not attachments:
            return None
        first = attachments[0]
        if not isinstance(first, dict) or not _opt(first, "AttachmentId"):
            return None
        if not within_limits(first, ATTACHMENT_FIELD_LIMITS):
            return None
        message = Message(
            id=item_id,
            time_stamp=time_stamp,
            content_type=_s(first, "ContentType"),
            serialized_content=serialized,
            participant=role,
            text=_s(first, "AttachmentName"),
            attachment_id=_s(first, "AttachmentId"),
            message_direction=direction_of(role),
            display_name=_opt(inner, "DisplayName"),
            participant_id=_opt(inner, "ParticipantId"),
            metadata=_message_metadata({}, item_id, time_stamp, role, from_history),
            is_from_history=from_history,
        )
        return ParsedItem(item=message)
    if kind == _MESSAGEMETADATA:
        return _parse_metadata(inner, serialized, from_history)
    if kind == _EVENT:
        content_type = _s(inner, "ContentType")
        event = Event(
            id=item_id,
            time_stamp=time_stamp,
            content_type=content_type,
            serialized_content=serialized,
            participant=role or None,
            text=_opt(inner, "Content"),
            display_name=_opt(inner, "DisplayName"),
            participant_id=_opt(inner, "ParticipantId"),
            event_direction=MessageDirection.COMMON,
            is_from_history=from_history,
        )
        return ParsedItem(item=event, is_typing=content_type == _TYPING)
    return None


def parse_chat_frame(frame: Frame) -> ParsedItem | None:
    """An ``aws/chat`` frame -> parsed item (``serialized_content`` is the outer frame)."""
    inner = chat_inner(frame)
    if inner is None:
        return None
    return parse_item(inner, frame.body)


@attrs.frozen
class TranscriptPage:
    """A parsed GetTranscript response."""

    items: tuple[ParsedItem, ...]
    next_token: str | None
    initial_contact_id: str
    #: How many service items could not be read (and were left out).
    skipped: int = 0


def parse_transcript_page(response: Mapping[str, Any]) -> TranscriptPage:
    """GetTranscript output -> parsed items in the order the service gave them.

    Unreadable items are left out and counted in ``skipped``; a response that is not a JSON
    object gives an empty page.
    """
    if not isinstance(response, Mapping):
        return TranscriptPage(items=(), next_token=None, initial_contact_id="")
    raw_items = response.get("Transcript")
    parsed: list[ParsedItem] = []
    skipped = 0
    if isinstance(raw_items, list):
        for raw in raw_items:
            item = parse_item(raw, from_history=True) if isinstance(raw, dict) else None
            if item is None:
                skipped += 1
            else:
                parsed.append(item)
    token = response.get("NextToken")
    contact = response.get("InitialContactId")
    return TranscriptPage(
        items=tuple(parsed),
        next_token=token if isinstance(token, str) and token else None,
        initial_contact_id=contact if isinstance(contact, str) else "",
        skipped=skipped,
    )


def synthesized_chat_ended(time_stamp: str) -> Event:
    """The chat-ended event recorded when the service reports the chat over without a frame."""
    inner = {
        "AbsoluteTime": time_stamp,
        "ContentType": ContentType.ENDED.value,
        "Id": SYNTHESIZED_CHAT_ENDED_ID,
        "Type": ItemType.EVENT.value,
    }
    return Event(
        id=SYNTHESIZED_CHAT_ENDED_ID,
        time_stamp=time_stamp,
        content_type=ContentType.ENDED.value,
        serialized_content={
            "content": json.dumps(inner),
            "topic": TOPIC_CHAT,
            "contentType": "application/json",
        },
    )
