"""The emulated service's state: contacts, participants, tokens, items, attachments, views.

The records themselves are in :mod:`~connect_chat.emulator.records`; the sockets and the frames
pushed to them in :mod:`~connect_chat.emulator.delivery` (``State.delivery``). Everything here
runs on the emulator's event-loop thread only (request handlers, timers and the Python
control API, which hops onto the loop), so no locks are needed. Operations raise
:class:`~connect_chat.emulator.errors.ApiError` for the service's error answers.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import time
from typing import Any

from connect_chat.emulator import items as it
from connect_chat.emulator.delivery import Delivery
from connect_chat.emulator.errors import access_denied, validation
from connect_chat.emulator.faults import Faults
from connect_chat.emulator.records import (
    Attachment,
    ConnectionToken,
    Contact,
    Participant,
    Subscriber,
    WebSocketTicket,
    new_token,
)
from connect_chat.emulator.replays import Replays
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
        #: Answers kept for requests repeated with the same ClientToken.
        self.replays = Replays(self._current_settings)
        #: The sockets and the frames pushed to them (frame faults included).
        self.delivery = Delivery(self.contacts, self._current_settings, loop, faults)
        #: Ended contacts, oldest first (see ``_evict_ended``).
        self._ended_order: collections.deque[str] = collections.deque()

    def _current_settings(self) -> Settings:
        """The settings in force: ``set_behaviour`` replaces ``self.settings`` as a whole, so
        the parts that read them ask here rather than keep the object they were given."""
        return self.settings

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
        self.loop.call_later(
            self.settings.close_delay_after_end, self.delivery.close_sockets, 1000, contact_id
        )
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
        self.delivery.forget(contact_id)
        for sock in list(contact.sockets):
            sock.close(1000)
        logger.debug("ended contact %s evicted", contact_id)

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
        self.delivery.send(contact, item, exclude=exclude, delay=push_delay)
        return item

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
                    self.delivery.push(contact, item)
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

    # --- faults ------------------------------------------------------------------------------
    def expire_connection_tokens(self, contact_id: str | None) -> int:
        count = 0
        for record in self.connection_tokens.values():
            if not record.revoked and (
                contact_id is None or record.participant.contact_id == contact_id
            ):
                record.revoked = True
                count += 1
        return count

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
            self.delivery.push(contact, item)

    def shutdown(self) -> None:
        self.delivery.release_delayed()
        for contact in self.contacts.values():
            for handle in (contact.idle_handle, contact.end_handle):
                if handle is not None:
                    handle.cancel()

