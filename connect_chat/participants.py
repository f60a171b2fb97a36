"""Who is in the chat: the participant registry the dispatcher keeps from items it sees.

Fed only by the dispatcher thread; other threads read :attr:`Participants.view`, a dict
replaced (never changed in place) at each change.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from connect_chat.enums import ContentType
from connect_chat.models import Event, Message, Participant, TranscriptItem
from connect_chat.timestamps import time_key

#: Events that (re)name a participant.
_NAMING_EVENTS = frozenset(
    {ContentType.JOINED.value, ContentType.PARTICIPANT_DISPLAY_NAME_UPDATED.value}
)


class Participants:
    """Participants by id, with their current display name and presence.

    ``own_id`` is the customer's participant id; ``on_own_name(name)`` is told when the
    customer is (re)named, so that its placeholders show that name.
    """

    def __init__(
        self, own_id: str | None, on_own_name: Callable[[str], None] | None = None
    ) -> None:
        self._own_id = own_id
        self._on_own_name = on_own_name
        self._known: dict[str, Participant] = {}
        self._name_times: dict[str, float] = {}
        #: Known participants by id (read by other threads; replaced atomically).
        self.view: dict[str, Participant] = {}

    def is_own(self, item: Message | Event) -> bool:
        """The item is the customer's own (by participant id, else by role)."""
        if self._own_id is not None and item.participant_id:
            return item.participant_id == self._own_id
        return item.participant == "CUSTOMER"

    @staticmethod
    def key(item: Message | Event) -> str | None:
        """Who sent ``item``: the participant id, else role and name."""
        if item.participant_id:
            return item.participant_id
        role, name = item.participant or "", item.display_name or ""
        return f"{role}:{name}" if role or name else None

    def learn(self, item: TranscriptItem, *, live: bool) -> TranscriptItem:
        """Keep the registry current; give a live message its sender's name."""
        if not isinstance(item, (Message, Event)) or not item.participant_id:
            return item
        pid = item.participant_id
        known = self._known.get(pid)
        is_event = isinstance(item, Event)
        if (
            known is not None
            and not is_event
            and (item.participant or known.role) == known.role
            and (known.display_name is not None or not item.display_name)
        ):
            # The usual case, a message from a participant already known: nothing to learn.
            if live and not item.display_name and known.display_name:
                return attrs.evolve(item, display_name=known.display_name)
            return item
        naming = is_event and item.content_type in _NAMING_EVENTS
        stamp = time_key(item.time_stamp) if naming else 0.0  # only naming events use it
        name = known.display_name if known is not None else None
        if item.display_name and (
            name is None or (naming and stamp >= self._name_times.get(pid, float("-inf")))
        ):
            name = item.display_name
            if naming:
                self._name_times[pid] = stamp
                if self.is_own(item) and self._on_own_name is not None:
                    self._on_own_name(name)
        present = known.present if known is not None else True
        if is_event and item.content_type == ContentType.JOINED.value:
            present = True
        elif is_event and item.content_type == ContentType.LEFT.value:
            present = False
        updated = Participant(
            participant_id=pid,
            role=item.participant or (known.role if known is not None else None),
            display_name=name,
            present=present,
        )
        if updated != known:
            self._known[pid] = updated
            self.view = dict(self._known)
        if live and isinstance(item, Message) and not item.display_name and name:
            return attrs.evolve(item, display_name=name)
        return item
