"""The emulated service's records: contacts, participants, tokens, attachments, sockets.

Plain data, kept by :class:`~connect_chat.emulator.state.State` and changed only on the
emulator's event-loop thread.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from typing import Any, Protocol

from connect_chat.emulator.transcript import Entry


class Subscriber(Protocol):
    """An open chat WebSocket as the state sees it."""

    contact_id: str
    participant_id: str
    subscribed: bool

    def deliver(self, frame: str) -> None: ...

    def close(self, code: int) -> None: ...

    def abort(self) -> None: ...


@dataclass(eq=False)
class Participant:
    participant_id: str
    contact_id: str
    role: str
    display_name: str
    participant_token: str | None = None
    left: bool = False
    connection_tokens: set[str] = field(default_factory=set)


@dataclass(eq=False)
class ConnectionToken:
    participant: Participant
    expires_at: float
    revoked: bool = False


@dataclass(eq=False)
class WebSocketTicket:
    participant: Participant
    expires_at: float
    #: Opened once already (refused again when ``reuse_websocket_url`` is off).
    used: bool = False


@dataclass(eq=False)
class Attachment:
    attachment_id: str
    contact_id: str
    participant_id: str
    name: str
    content_type: str
    size: int
    upload_signature: str
    upload_expires_at: float
    headers: dict[str, str]
    data: bytes | None = None
    completed: bool = False
    status: str = "APPROVED"
    downloads: dict[str, float] = field(default_factory=dict)


@dataclass(eq=False)
class HeldFrame:
    """An ``aws/chat`` frame held back by ``reorder_chat_frames`` until the next one is sent."""

    frame: str
    copies: int
    exclude: str | None
    timer: asyncio.TimerHandle


@dataclass(eq=False)
class Contact:
    contact_id: str
    initial_contact_id: str
    customer: Participant
    supported_types: frozenset[str]
    participants: dict[str, Participant] = field(default_factory=dict)
    items: list[dict[str, Any]] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    receipts: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    past: list[tuple[dict[str, Any], str, int]] = field(default_factory=list)
    sockets: set[Subscriber] = field(default_factory=set)
    agent: Participant | None = None
    ended: bool = False
    customer_subscribed: bool = False
    rehydrated_from: str | None = None
    idle: bool = False
    idle_handle: asyncio.TimerHandle | None = None
    end_handle: asyncio.TimerHandle | None = None
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    auth_sessions: set[str] = field(default_factory=set)
    attachment_count: int = 0
    held: HeldFrame | None = None
    #: The customer's participant.joined is in the transcript (``customer_joined_at``).
    customer_joined_stored: bool = False


def new_token(prefix: str, size: int = 48) -> str:
    return prefix + secrets.token_urlsafe(size)
