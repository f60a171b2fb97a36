"""The emulated service's state: contacts, participants, tokens, items, attachments, views.

Everything here runs on the emulator's event-loop thread only (request handlers, timers and
the Python control API, which hops onto the loop), so no locks are needed. Operations raise
:class:`~connect_chat.emulator.errors.ApiError` for the service's error answers.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from connect_chat.emulator import items as it
from connect_chat.emulator.errors import access_denied, validation
from connect_chat.emulator.faults import Faults
from connect_chat.emulator.settings import Settings
from connect_chat.emulator.transcript import Entry
from connect_chat.enums import ContentType

logger = logging.getLogger(__name__)

#: Events the service keeps in the transcript (wire-protocol.md §3.5); others are only pushed.
STORED_EVENTS: frozenset[str] = frozenset(
    {
        ContentType.PARTICIPANT_INVITED.value,
        ContentType.JOINED.value,
        ContentType.LEFT.value,
        ContentType.ENDED.value,
        ContentType.TRANSFER_SUCCEEDED.value,
        ContentType.TRANSFER_FAILED.value,
    }
)


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


class State:
    """All contacts of one emulator and the operations on them (loop thread only)."""

    def __init__(self, settings: Settings, loop: asyncio.AbstractEventLoop, faults: Faults) -> None:
        self.settings = settings
        self.loop = loop
        self.faults = faults
        self.http_base = "http://127.0.0.1"
        self.ws_base = "ws://127.0.0.1"
        self.contacts: dict[str, Contact] = {}
        self.participant_tokens: dict[str, Participant] = {}
        self.connection_tokens: dict[str, ConnectionToken] = {}
        self.ws_tickets: dict[str, WebSocketTicket] = {}
        self.attachments: dict[str, Attachment] = {}
        self.replays: dict[tuple[str, str, str], tuple[str, float, dict[str, Any]]] = {}
        self.frames_sent: dict[str, int] = {}
        #: Pushes postponed by ``delay_echo``: key -> (timer, contact id, item, exclude).
        self.delayed_pushes: dict[
            int, tuple[asyncio.TimerHandle, str, dict[str, Any], str | None]
        ] = {}
        self._push_keys = itertools.count()
        #: Ended contacts, oldest first (see ``_evict_ended``).
        self._ended_order: collections.deque[str] = collections.deque()

    # --- lookups -----------------------------------------------------------------------------
    def contact(self, contact_id: str) -> Contact:
        try:
            return self.contacts[contact_id]
        except KeyError:
            raise KeyError(f"unknown contact {contact_id!r}") from None

    def identify(self, token: str | None) -> Participant | None:
        """The participant a participant or connection token belongs to, valid or not."""
        if not token:
            return None
        conn = self.connection_tokens.get(token)
        if conn is not None:
            return conn.participant
        return self.participant_tokens.get(token)

    def by_participant_token(self, token: str | None) -> Participant:
        participant = self.participant_tokens.get(token or "")
        if participant is None:
            raise access_denied()
        self._check_active(participant)
        return participant

    def by_connection_token(self, token: str | None) -> Participant:
        record = self.connection_tokens.get(token or "")
        if record is None or record.revoked or time.time() >= record.expires_at:
            raise access_denied()
        self._check_active(record.participant)
        return record.participant

    def _check_active(self, participant: Participant) -> None:
        contact = self.contacts.get(participant.contact_id)
        if contact is None or contact.ended or participant.left:
            raise access_denied()

    # --- idempotency ---------------------------------------------------------------------
    def replayed(
        self, participant_id: str, operation: str, client_token: str | None, body: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The stored answer for a repeat of the same request with the same ClientToken."""
        if not client_token:
            return None
        hit = self.replays.get((participant_id, operation, client_token))
        if hit is None or time.monotonic() - hit[1] > self.settings.replay_window:
            return None
        return hit[2] if hit[0] == _fingerprint(body) else None

    def remember(
        self,
        participant_id: str,
        operation: str,
        client_token: str | None,
        body: dict[str, Any],
        answer: dict[str, Any],
    ) -> None:
        if not client_token:
            return
        now = time.monotonic()
        if len(self.replays) > 20000:
            window = self.settings.replay_window
            self.replays = {k: v for k, v in self.replays.items() if now - v[1] <= window}
        self.replays[(participant_id, operation, client_token)] = (_fingerprint(body), now, answer)

    # --- contacts ----------------------------------------------------------------------------
    def create_contact(
        self,
        *,
        display_name: str,
        supported_types: frozenset[str] | None,
        duration_minutes: float | None,
        source_contact_id: str | None,
        rehydration_type: str | None,
        initial_message: tuple[str, str] | None,
    ) -> Contact:
        contact_id = it.new_id()
        customer = Participant(
            participant_id=it.new_id(),
            contact_id=contact_id,
            role="CUSTOMER",
            display_name=display_name,
            participant_token=new_token("PT"),
        )
        contact = Contact(
            contact_id=contact_id,
            initial_contact_id=contact_id,
            customer=customer,
            supported_types=supported_types or self.settings.default_supported_content_types,
        )
        contact.participants[customer.participant_id] = customer
        assert customer.participant_token is not None
        self.participant_tokens[customer.participant_token] = customer
        self.contacts[contact_id] = contact
        if source_contact_id is not None:
            self._rehydrate(contact, self.contacts[source_contact_id], rehydration_type)
        if self.settings.behaviour.customer_joined_at == "start":
            contact.customer_joined_stored = True
            self.publish(
                contact, self._participant_event(contact, ContentType.JOINED.value, customer)
            )
        if initial_message is not None:
            content_type, content = initial_message
            self.publish(contact, self._message(contact, customer, content_type, content))
        minutes = (
            duration_minutes
            if duration_minutes is not None
            else self.settings.chat_duration_minutes
        )
        contact.end_handle = self.loop.call_later(minutes * 60.0, self.end_chat, contact_id)
        if self.settings.agent == "echo":
            self.agent_join(contact_id, "Echo")
        logger.debug("contact %s started", contact_id)
        return contact

    def _rehydrate(self, contact: Contact, source: Contact, rehydration_type: str | None) -> None:
        past: list[tuple[dict[str, Any], str, int]] = []
        if rehydration_type == "ENTIRE_PAST_SESSION":
            past.extend(source.past)
        past.extend(
            (item, source.contact_id, entry.ms)
            for item, entry in zip(source.items, source.entries, strict=True)
        )
        contact.past = past
        contact.rehydrated_from = source.contact_id
        # Receipts of past messages stay visible through the past items' metadata.
        for message_id, recipients in source.receipts.items():
            contact.receipts[message_id] = {k: dict(v) for k, v in recipients.items()}

    def end_chat(self, contact_id: str) -> None:
        """Agents leave, ``chat.ended`` is published, sockets close after a short delay."""
        contact = self.contacts.get(contact_id)
        if contact is None or contact.ended:
            return
        announce_left = self.settings.behaviour.left_before_ended
        for participant in list(contact.participants.values()):
            if participant.role != "CUSTOMER" and not participant.left:
                participant.left = True
                if announce_left:
                    self.publish(
                        contact,
                        self._participant_event(contact, ContentType.LEFT.value, participant),
                    )
        ended = it.participant_item(
            ms=it.now_ms(),
            item_type="EVENT",
            content_type=ContentType.ENDED.value,
            participant_id=None,
            display_name=None,
            role=None,
            initial_contact_id=contact.initial_contact_id,
            contact_id=contact.contact_id,
        )
        self.publish(contact, ended)
        contact.ended = True
        for handle in (contact.idle_handle, contact.end_handle):
            if handle is not None:
                handle.cancel()
        contact.idle_handle = contact.end_handle = None
        self.loop.call_later(self.settings.close_delay_after_end, self._close_sockets, contact_id)
        logger.debug("contact %s ended", contact_id)
        self._ended_order.append(contact_id)
        while len(self._ended_order) > self.settings.max_ended_contacts:
            self._evict(self._ended_order.popleft())

    def _evict(self, contact_id: str) -> None:
        """Forget an ended contact: its transcript, tokens and attachments (memory stays
        bounded in a long-running emulator). Its tokens are then unknown: AccessDenied, as
        for an ended chat; a persistent chat from it: ResourceNotFound."""
        contact = self.contacts.pop(contact_id, None)
        if contact is None:
            return
        for participant in [contact.customer, *contact.participants.values()]:
            if participant.participant_token:
                self.participant_tokens.pop(participant.participant_token, None)
            for token in participant.connection_tokens:
                self.connection_tokens.pop(token, None)
        for attachment_id in [
            a.attachment_id for a in self.attachments.values() if a.contact_id == contact_id
        ]:
            del self.attachments[attachment_id]
        self.frames_sent.pop(contact_id, None)
        for sock in list(contact.sockets):
            sock.close(1000)
        logger.debug("ended contact %s evicted", contact_id)

    def _close_sockets(self, contact_id: str) -> None:
        contact = self.contacts.get(contact_id)
        if contact is None:
            return
        self.flush_held(contact_id)
        for sock in list(contact.sockets):
            sock.close(1000)

    def disconnect(self, participant: Participant) -> None:
        """DisconnectParticipant: the participant leaves; a leaving customer ends the chat."""
        contact = self.contacts[participant.contact_id]
        participant.left = True
        self.publish(contact, self._participant_event(contact, ContentType.LEFT.value, participant))
        if participant.role == "CUSTOMER":
            self.end_chat(contact.contact_id)

    # --- timers ------------------------------------------------------------------------------
    def _arm_idle(self, contact: Contact) -> None:
        if contact.idle_handle is not None:
            contact.idle_handle.cancel()
            contact.idle_handle = None
        if contact.ended:
            return
        if self.settings.idle_timeout is not None:
            contact.idle_handle = self.loop.call_later(
                self.settings.idle_timeout, self._on_idle, contact.contact_id
            )
        elif self.settings.auto_disconnect_timeout is not None:
            contact.idle_handle = self.loop.call_later(
                self.settings.auto_disconnect_timeout, self._on_auto_disconnect, contact.contact_id
            )

    def _on_idle(self, contact_id: str) -> None:
        contact = self.contacts[contact_id]
        if contact.ended:
            return
        contact.idle = True
        self.publish(
            contact,
            self._participant_event(contact, ContentType.PARTICIPANT_IDLE.value, contact.customer),
        )
        contact.idle_handle = None
        if self.settings.auto_disconnect_timeout is not None:
            contact.idle_handle = self.loop.call_later(
                self.settings.auto_disconnect_timeout, self._on_auto_disconnect, contact_id
            )

    def _on_auto_disconnect(self, contact_id: str) -> None:
        contact = self.contacts[contact_id]
        contact.idle_handle = None
        if contact.ended:
            return
        self.publish(
            contact,
            self._participant_event(
                contact, ContentType.AUTO_DISCONNECTION.value, contact.customer
            ),
        )
        self.disconnect(contact.customer)

    def customer_activity(self, contact: Contact) -> None:
        if contact.idle:
            contact.idle = False
            self.publish(
                contact,
                self._participant_event(
                    contact, ContentType.PARTICIPANT_RETURNED.value, contact.customer
                ),
            )
        self._arm_idle(contact)

    # --- items -------------------------------------------------------------------------------
    def _participant_event(
        self, contact: Contact, content_type: str, who: Participant, content: str | None = None
    ) -> dict[str, Any]:
        return self._item(contact, "EVENT", content_type, who, content)

    def _message(
        self, contact: Contact, who: Participant, content_type: str, content: str
    ) -> dict[str, Any]:
        return self._item(contact, "MESSAGE", content_type, who, content)

    @staticmethod
    def _item(
        contact: Contact, item_type: str, content_type: str, who: Participant, content: str | None
    ) -> dict[str, Any]:
        """An item from ``who`` in ``contact``, stamped now."""
        return it.participant_item(
            ms=it.now_ms(),
            item_type=item_type,
            content_type=content_type,
            participant_id=who.participant_id,
            display_name=who.display_name,
            role=who.role,
            initial_contact_id=contact.initial_contact_id,
            contact_id=contact.contact_id,
            content=content,
        )

    def publish(
        self,
        contact: Contact,
        item: dict[str, Any],
        *,
        store: bool | None = None,
        exclude: str | None = None,
        push_delay: float = 0.0,
    ) -> dict[str, Any]:
        """Store the item (if the service keeps its kind) and push it to subscribed sockets
        (``push_delay`` seconds later when positive)."""
        if store is None:
            store = item["Type"] in ("MESSAGE", "ATTACHMENT") or (
                item["Type"] == "EVENT"
                and (
                    self.settings.behaviour.transcript_events == "all"
                    or item["ContentType"] in STORED_EVENTS
                )
            )
        if store:
            contact.items.append(item)
            contact.entries.append(Entry(it.parse_instant(item["AbsoluteTime"]), item["Id"]))
            contact.by_id[item["Id"]] = item
        if push_delay > 0:
            key = next(self._push_keys)
            timer = self.loop.call_later(push_delay, self._push_later, key)
            self.delayed_pushes[key] = (timer, contact.contact_id, item, exclude)
        else:
            self.push(contact, item, exclude=exclude)
        return item

    def _push_later(self, key: int) -> None:
        entry = self.delayed_pushes.pop(key, None)
        if entry is None:
            return
        timer, contact_id, item, exclude = entry
        timer.cancel()
        contact = self.contacts.get(contact_id)
        if contact is not None:
            self.push(contact, item, exclude=exclude)

    def release_delayed(self) -> None:
        """Send now what faults hold back: delayed echoes (in order), then held frames."""
        for key in list(self.delayed_pushes):
            self._push_later(key)
        for contact in self.contacts.values():
            if contact.held is not None:
                self.flush_held(contact.contact_id)

    def push(self, contact: Contact, item: dict[str, Any], *, exclude: str | None = None) -> None:
        """Send the item as an ``aws/chat`` frame to every subscribed socket but ``exclude``'s.

        The frame faults act here: ``duplicate_chat_frames`` sends it twice, and
        ``reorder_chat_frames`` holds a frame until the next one has gone out.
        """
        if not any(s.subscribed and s.participant_id != exclude for s in contact.sockets):
            return
        cid = contact.contact_id
        frame = it.chat_frame(item)
        copies = 2 if self.faults.take_duplicate(cid) else 1
        held = contact.held
        if held is not None:  # the second frame of a swapped pair goes out first
            contact.held = None
            held.timer.cancel()
            self._deliver(contact, frame, copies, exclude)
            self._deliver(contact, held.frame, held.copies, held.exclude)
            return
        hold = self.faults.take_reorder(cid)
        if hold is not None:
            timer = self.loop.call_later(hold, self.flush_held, cid)
            contact.held = HeldFrame(frame, copies, exclude, timer)
            return
        self._deliver(contact, frame, copies, exclude)

    def flush_held(self, contact_id: str) -> None:
        """Send the frame ``reorder_chat_frames`` holds for the contact, if any."""
        contact = self.contacts.get(contact_id)
        if contact is None or contact.held is None:
            return
        held, contact.held = contact.held, None
        held.timer.cancel()
        self._deliver(contact, held.frame, held.copies, held.exclude)

    def _deliver(self, contact: Contact, frame: str, copies: int, exclude: str | None) -> None:
        for sock in list(contact.sockets):
            if sock.subscribed and sock.participant_id != exclude:
                for _ in range(copies):
                    sock.deliver(frame)
                self.frames_sent[contact.contact_id] = (
                    self.frames_sent.get(contact.contact_id, 0) + copies
                )

    def on_subscribed(self, sock: Subscriber) -> None:
        """The customer's first subscription replays its joined event (and ``chat.rehydrated``)."""
        contact = self.contacts.get(sock.contact_id)
        if contact is None or contact.customer_subscribed:
            return
        if sock.participant_id != contact.customer.participant_id:
            return
        contact.customer_subscribed = True
        self._arm_idle(contact)  # the idle timer runs once the customer is connected
        if not contact.customer_joined_stored:  # customer_joined_at="subscribe"
            contact.customer_joined_stored = True
            self.publish(
                contact,
                self._participant_event(contact, ContentType.JOINED.value, contact.customer),
            )
        else:  # stored at the start: replayed to the first subscribed socket
            for item in contact.items:
                if (
                    item["ContentType"] == ContentType.JOINED.value
                    and item.get("ParticipantId") == contact.customer.participant_id
                ):
                    self.push(contact, item)
                    break
        if contact.rehydrated_from is not None:
            self.publish(
                contact,
                it.participant_item(
                    ms=it.now_ms(),
                    item_type="EVENT",
                    content_type=ContentType.CHAT_REHYDRATED.value,
                    participant_id=None,
                    display_name=None,
                    role="SYSTEM",
                    initial_contact_id=contact.initial_contact_id,
                    contact_id=contact.contact_id,
                ),
            )

    def post_message(
        self,
        contact: Contact,
        who: Participant,
        content_type: str,
        content: str,
        *,
        echo_delay: float = 0.0,
    ) -> dict[str, Any]:
        """Store and push a MESSAGE (its frame ``echo_delay`` seconds later when positive)."""
        if who.role == "CUSTOMER":
            self.customer_activity(contact)  # participant.returned comes before the message
        item = self.publish(
            contact, self._message(contact, who, content_type, content), push_delay=echo_delay
        )
        if who.role == "CUSTOMER" and self.settings.agent == "echo":
            self.loop.call_soon(self._echo, contact.contact_id, content_type, content)
        return item

    def _echo(self, contact_id: str, content_type: str, content: str) -> None:
        contact = self.contacts.get(contact_id)
        if contact is None or contact.ended:
            return
        if content_type not in (ContentType.PLAIN_TEXT.value, ContentType.RICH_TEXT.value):
            content_type = ContentType.PLAIN_TEXT.value
        self.agent_message(contact_id, content, content_type)

    def typing(self, contact: Contact, who: Participant) -> dict[str, Any]:
        item = self._participant_event(contact, ContentType.TYPING.value, who)
        exclude = None if self.settings.echo_typing_to_sender else who.participant_id
        return self.publish(contact, item, exclude=exclude)

    def receipt(
        self, contact: Contact, reader: Participant, message_id: str, read: bool
    ) -> dict[str, Any] | None:
        """Record a read/delivered receipt and push a MESSAGEMETADATA item (None if no change)."""
        behaviour = self.settings.behaviour
        message = contact.by_id.get(message_id)
        if message is None or message["Type"] not in ("MESSAGE", "ATTACHMENT"):
            raise validation(f"Message {message_id} was not found in this chat")
        if message.get("ParticipantId") == reader.participant_id and not (
            behaviour.record_own_receipts
        ):
            return None
        stamps = contact.receipts.setdefault(message_id, {}).setdefault(reader.participant_id, {})
        now = it.iso_ms(it.now_ms())
        changed = False
        if "DeliveredTimestamp" not in stamps:
            stamps["DeliveredTimestamp"] = now
            changed = True
        if read and "ReadTimestamp" not in stamps:
            stamps["ReadTimestamp"] = now
            changed = True
        if not changed and not behaviour.rebroadcast_unchanged_receipts:
            return None
        receipts = self.receipt_list(contact, message_id)
        if behaviour.receipts_recipients == "sender":
            receipts = [r for r in receipts if r["RecipientParticipantId"] == reader.participant_id]
        item = it.metadata_item(
            ms=it.now_ms(),
            message_id=message_id,
            receipts=receipts,
            initial_contact_id=contact.initial_contact_id,
            contact_id=contact.contact_id,
        )
        # Stored only under transcript_events="all" (a MESSAGEMETADATA item in GetTranscript).
        self.publish(contact, item, store=behaviour.transcript_events == "all")
        return item

    def receipt_list(self, contact: Contact, message_id: str) -> list[dict[str, str]]:
        out = []
        for recipient, stamps in contact.receipts.get(message_id, {}).items():
            entry = dict(stamps)
            entry["RecipientParticipantId"] = recipient
            out.append(entry)
        return out

    def active_participants(self, contact: Contact) -> int:
        return sum(1 for p in contact.participants.values() if not p.left and p.role != "SYSTEM")

    def transcript_items(self, contact: Contact) -> tuple[list[Entry], dict[str, dict[str, Any]]]:
        """The entries GetTranscript scans (past sessions first) and their service form."""
        entries: list[Entry] = []
        forms: dict[str, dict[str, Any]] = {}
        for item, related, ms in contact.past:
            entries.append(Entry(ms, item["Id"]))
            forms[item["Id"]] = it.transcript_form(
                item, receipts=self.receipt_list(contact, item["Id"]), related_contact_id=related
            )
        for item, entry in zip(contact.items, contact.entries, strict=True):
            entries.append(entry)
            forms[item["Id"]] = it.transcript_form(
                item, receipts=self.receipt_list(contact, item["Id"])
            )
        return entries, forms

    # --- agents and system participants -------------------------------------------------------
    def agent_join(self, contact_id: str, display_name: str) -> Participant:
        contact = self.contact(contact_id)
        if contact.ended:
            raise ValueError(f"contact {contact_id} has ended")
        agent = Participant(
            participant_id=it.new_id(),
            contact_id=contact_id,
            role="AGENT",
            display_name=display_name,
        )
        contact.participants[agent.participant_id] = agent
        contact.agent = agent
        self.publish(contact, self._participant_event(contact, ContentType.JOINED.value, agent))
        return agent

    def current_agent(self, contact_id: str) -> Participant:
        contact = self.contact(contact_id)
        if contact.ended:
            raise ValueError(f"contact {contact_id} has ended")
        if contact.agent is None or contact.agent.left:
            return self.agent_join(contact_id, "Agent")
        return contact.agent

    def agent_message(
        self, contact_id: str, content: str, content_type: str = ContentType.PLAIN_TEXT.value
    ) -> dict[str, Any]:
        agent = self.current_agent(contact_id)
        contact = self.contacts[contact_id]
        return self.post_message(contact, agent, content_type, content)

    def agent_leave(self, contact_id: str) -> None:
        contact = self.contact(contact_id)
        agent = contact.agent
        if agent is None or agent.left or contact.ended:
            raise ValueError(f"no agent is in contact {contact_id}")
        agent.left = True
        self.publish(contact, self._participant_event(contact, ContentType.LEFT.value, agent))

    def emit_event(
        self,
        contact_id: str,
        content_type: str,
        *,
        content: str | None,
        participant_id: str | None,
        display_name: str | None,
        participant_role: str | None,
        store: bool | None,
    ) -> dict[str, Any]:
        """Any EVENT item: the subject is ``participant_id`` (its name/role by default)."""
        contact = self.contact(contact_id)
        who = contact.participants.get(participant_id) if participant_id else None
        if participant_id and who is None:
            raise ValueError(f"unknown participant {participant_id!r} in contact {contact_id}")
        if (
            who is not None
            and display_name is not None
            and content_type == ContentType.PARTICIPANT_DISPLAY_NAME_UPDATED.value
        ):
            who.display_name = display_name
        if content_type == ContentType.AUTHENTICATION_INITIATED.value and content:
            try:
                session_id = json.loads(content).get("SessionId")
            except (ValueError, AttributeError, RecursionError):
                session_id = None
            if isinstance(session_id, str):
                contact.auth_sessions.add(session_id)
        item = it.participant_item(
            ms=it.now_ms(),
            item_type="EVENT",
            content_type=content_type,
            participant_id=who.participant_id if who else None,
            display_name=display_name
            if display_name is not None
            else (who.display_name if who else None),
            role=participant_role if participant_role is not None else (who.role if who else None),
            initial_contact_id=contact.initial_contact_id,
            contact_id=contact.contact_id,
            content=content,
        )
        return self.publish(contact, item, store=store)

    # --- sockets -----------------------------------------------------------------------------
    def add_socket(self, sock: Subscriber) -> None:
        self.contacts[sock.contact_id].sockets.add(sock)

    def remove_socket(self, sock: Subscriber) -> None:
        contact = self.contacts.get(sock.contact_id)
        if contact is not None:
            contact.sockets.discard(sock)

    def drop_sockets(self, contact_id: str | None) -> int:
        """Drop sockets as ``socket_drop`` says: a TCP abort, or a close frame with its code."""
        how = self.settings.behaviour.socket_drop
        count = 0
        for contact in self._selected(contact_id):
            for sock in list(contact.sockets):
                if how == "abort":
                    sock.abort()
                else:
                    sock.close(int(how))
                contact.sockets.discard(sock)
                count += 1
        return count

    def close_sockets(self, code: int, contact_id: str | None) -> int:
        count = 0
        for contact in self._selected(contact_id):
            self.flush_held(contact.contact_id)
            for sock in list(contact.sockets):
                sock.close(code)
                count += 1
        return count

    def expire_connection_tokens(self, contact_id: str | None) -> int:
        count = 0
        for record in self.connection_tokens.values():
            if not record.revoked and (
                contact_id is None or record.participant.contact_id == contact_id
            ):
                record.revoked = True
                count += 1
        return count

    def socket_count(self, contact_id: str | None) -> int:
        return sum(
            1
            for contact in self._selected(contact_id)
            for sock in contact.sockets
            if sock.subscribed
        )

    def frame_count(self, contact_id: str | None) -> int:
        if contact_id is None:
            return sum(self.frames_sent.values())
        return self.frames_sent.get(contact_id, 0)

    def _selected(self, contact_id: str | None) -> list[Contact]:
        if contact_id is None:
            return list(self.contacts.values())
        contact = self.contacts.get(contact_id)
        return [contact] if contact is not None else []

    def scan_result(self, contact_id: str, item_id: str, attachment_id: str, status: str) -> None:
        """The attachment scanner's verdict: the stored item changes and is pushed again."""
        contact = self.contacts.get(contact_id)
        attachment = self.attachments.get(attachment_id)
        if contact is None or attachment is None:
            return
        attachment.status = status
        item = contact.by_id.get(item_id)
        if item is None:
            return
        item["Attachments"][0]["Status"] = status
        if not contact.ended:
            self.push(contact, item)

    def shutdown(self) -> None:
        self.release_delayed()
        for contact in self.contacts.values():
            for handle in (contact.idle_handle, contact.end_handle):
                if handle is not None:
                    handle.cancel()


def _fingerprint(body: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in body.items() if k != "ClientToken"}, sort_keys=True)
