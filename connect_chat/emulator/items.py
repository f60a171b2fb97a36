"""Shapes of the items the service hands out, section by section of wire-protocol.md §6.

Items are plain dicts in the field order of the service's frames. The WebSocket form carries
``InitialContactId`` and ``ContactId``; :func:`transcript_form` turns a stored item into the
GetTranscript form.
"""

from __future__ import annotations

import datetime as _dt
import json
import threading
import time
import uuid
from typing import Any

from connect_chat.enums import ContentType

_clock_lock = threading.Lock()
_last_ms = 0


def now_ms() -> int:
    """Wall-clock milliseconds, strictly increasing across calls (items sort by time)."""
    global _last_ms
    with _clock_lock:
        _last_ms = max(int(time.time() * 1000), _last_ms + 1)
        return _last_ms


def iso_ms(ms: int) -> str:
    """``2019-11-08T02:41:28.172Z``: the service's Instant format."""
    dt = _dt.datetime.fromtimestamp(ms / 1000, tz=_dt.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def iso_seconds(epoch: float) -> str:
    """An ISO8601Datetime for expiries."""
    return iso_ms(int(epoch * 1000))


def parse_instant(text: str) -> int:
    """Milliseconds of an ISO-8601 instant as clients send it (``Z`` or an offset)."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    parsed = _dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_dt.timezone.utc)
    return int(parsed.timestamp() * 1000)


def new_id() -> str:
    return str(uuid.uuid4())


def participant_item(
    *,
    ms: int,
    item_type: str,
    content_type: str,
    participant_id: str | None,
    display_name: str | None,
    role: str | None,
    initial_contact_id: str,
    contact_id: str,
    content: str | None = None,
    item_id: str | None = None,
) -> dict[str, Any]:
    """A MESSAGE or EVENT item (§6.2, §6.5): participant fields only when there is a subject."""
    item: dict[str, Any] = {"AbsoluteTime": iso_ms(ms)}
    if content is not None:
        item["Content"] = content
    item["ContentType"] = content_type
    item["Id"] = item_id or new_id()
    item["Type"] = item_type
    if participant_id is not None:
        item["ParticipantId"] = participant_id
    if display_name is not None:
        item["DisplayName"] = display_name
    if role is not None:
        item["ParticipantRole"] = role
    item["InitialContactId"] = initial_contact_id
    item["ContactId"] = contact_id
    return item


def attachment_item(
    *,
    ms: int,
    attachment_id: str,
    name: str,
    content_type: str,
    status: str,
    participant_id: str,
    display_name: str,
    role: str,
    initial_contact_id: str,
    contact_id: str,
    item_id: str | None = None,
) -> dict[str, Any]:
    """An ATTACHMENT item (§6.3): no ``Content``."""
    return {
        "AbsoluteTime": iso_ms(ms),
        "Attachments": [
            {
                "ContentType": content_type,
                "AttachmentId": attachment_id,
                "AttachmentName": name,
                "Status": status,
            }
        ],
        "Id": item_id or new_id(),
        "Type": "ATTACHMENT",
        "ParticipantId": participant_id,
        "DisplayName": display_name,
        "ParticipantRole": role,
        "InitialContactId": initial_contact_id,
        "ContactId": contact_id,
    }


def metadata_item(
    *,
    ms: int,
    message_id: str,
    receipts: list[dict[str, str]],
    initial_contact_id: str,
    contact_id: str,
) -> dict[str, Any]:
    """A MESSAGEMETADATA receipt item (§6.4): no participant fields.

    The iOS fixture of §6.4 has no contact ids either; the emulator adds ``InitialContactId``
    and ``ContactId`` as on every other item (the project's requirement: every item carries
    them; clients that do not expect them ignore them).
    """
    return {
        "AbsoluteTime": iso_ms(ms),
        "ContentType": ContentType.META_DATA.value,
        "Id": new_id(),
        "Type": "MESSAGEMETADATA",
        "MessageMetadata": {"MessageId": message_id, "Receipts": receipts},
        "InitialContactId": initial_contact_id,
        "ContactId": contact_id,
    }


def transcript_form(
    item: dict[str, Any],
    *,
    receipts: list[dict[str, str]] | None,
    related_contact_id: str | None = None,
) -> dict[str, Any]:
    """The GetTranscript form of a stored item (model ``Item``: no ``InitialContactId``).

    MESSAGE items always carry ``MessageMetadata`` with their own id (§3.5). Items of a past
    session of a persistent chat carry ``RelatedContactId`` instead of ``ContactId``.
    """
    out = {k: v for k, v in item.items() if k not in ("InitialContactId", "ContactId")}
    if related_contact_id is not None:
        out["RelatedContactId"] = related_contact_id
    else:
        out["ContactId"] = item["ContactId"]
    if item["Type"] == "MESSAGE":
        out["MessageMetadata"] = {"MessageId": item["Id"], "Receipts": receipts or []}
    return out


def chat_frame(item: dict[str, Any]) -> str:
    """The ``aws/chat`` envelope: ``content`` is the JSON-encoded item (§5.3)."""
    return json.dumps(
        {
            "content": json.dumps(item, separators=(",", ":")),
            "contentType": "application/json",
            "topic": "aws/chat",
        },
        separators=(",", ":"),
    )
