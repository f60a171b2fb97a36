"""Helpers of the fault suite: configs, stored-item lookups, call-log summaries."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from botocore.config import Config

from connect_chat import GlobalConfig, Message, MessageStatus
from connect_chat.models import TranscriptItem
from tests.conftest import Recorder, fast

#: botocore without its own retries: each outbox attempt is exactly one request.
ONE_ATTEMPT = Config(retries={"mode": "standard", "total_max_attempts": 1})


def outbox_config(config: GlobalConfig, **changes: Any) -> GlobalConfig:
    """Fast outbox retries (tests count requests, they never wait for real backoff)."""
    values: dict[str, Any] = {"send_retry_base": 0.02, "send_retry_cap": 0.1, "send_timeout": 10.0}
    values.update(changes)
    return fast(config, **values)


def stored_texts(emu: Any, contact_id: str, participant: str = "CUSTOMER") -> list[str]:
    """The texts of the MESSAGE items the service stored for ``participant``, oldest first."""
    return [
        i["Content"] for i in emu.transcript(contact_id)
        if i.get("Type") == "MESSAGE" and i.get("ParticipantRole") == participant
    ]


def sends_by_token(
        emu: Any, contact_id: str, operation: str = "SendMessage") -> dict[str, list[int]]:
    """HTTP statuses of each ClientToken's requests, in order."""
    out: dict[str, list[int]] = defaultdict(list)
    for call in emu.calls(operation, contact_id):
        out[call.client_token or ""].append(call.status)
    return dict(out)


def messages(items: Any, text: str | None = None) -> list[Message]:
    return [i for i in items if isinstance(i, Message) and (text is None or i.text == text)]


def received_texts(recorder: Recorder, participant: str = "AGENT") -> list[str]:
    """Texts of the new messages ``on_message_received`` delivered, in delivery order, once
    per item id (a later call for the same id is a status change, counted separately)."""
    seen: set[str] = set()
    out = []
    for (item,) in recorder.args("on_message_received"):
        if isinstance(item, Message) and item.participant == participant and item.id not in seen:
            seen.add(item.id)
            out.append(item.text or "")
    return out


def received_ids(recorder: Recorder, participant: str = "AGENT") -> list[str]:
    """Ids of every ``on_message_received`` call for ``participant``'s messages."""
    return [a[0].id for a in recorder.args("on_message_received")
            if isinstance(a[0], Message) and a[0].participant == participant]


def status_of(item: TranscriptItem | None) -> MessageStatus | None:
    return item.status if isinstance(item, Message) else None
