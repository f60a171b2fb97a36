"""The emulator's frames on their way out: every ``aws/chat`` frame goes to the contact's
subscribed sockets here, at once or later, and the frame faults act here (a push delayed by
``delay_echo``, a frame held by ``reorder_chat_frames``, doubled by ``duplicate_chat_frames``).
It also keeps each contact's open sockets and counts the frames sent.

Why a module of its own: what the service stores (:mod:`connect_chat.emulator.state`) and
how its frames reach the sockets change for different reasons. The contacts are
:class:`~connect_chat.emulator.state.State`'s; this asks it for them through the shared dict.
Loop thread only, like the state.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

from connect_chat.emulator import items as it
from connect_chat.emulator.faults import Faults
from connect_chat.emulator.records import Contact, HeldFrame, Subscriber
from connect_chat.emulator.settings import Settings


class Delivery:
    """Pushes items to the contacts' sockets and keeps those sockets (loop thread only)."""

    def __init__(
        self,
        contacts: dict[str, Contact],
        settings: Callable[[], Settings],
        loop: asyncio.AbstractEventLoop,
        faults: Faults,
    ) -> None:
        self._contacts = contacts  # the state's: read here, never changed
        self._settings = settings  # asked each time: the state owns them
        self._loop = loop
        self._faults = faults
        #: Frames sent per contact (``Emulator.frames_sent``).
        self.frames_sent: dict[str, int] = {}
        #: Pushes postponed by ``delay_echo``: key -> (timer, contact id, item, exclude).
        self.delayed_pushes: dict[
            int, tuple[asyncio.TimerHandle, str, dict[str, Any], str | None]
        ] = {}
        self._push_keys = itertools.count()

    def send(
        self, contact: Contact, item: dict[str, Any], *, exclude: str | None, delay: float
    ) -> None:
        """Push the item now, or ``delay`` seconds later when positive."""
        if delay > 0:
            key = next(self._push_keys)
            timer = self._loop.call_later(delay, self._push_later, key)
            self.delayed_pushes[key] = (timer, contact.contact_id, item, exclude)
        else:
            self.push(contact, item, exclude=exclude)

    def forget(self, contact_id: str) -> None:
        """An evicted contact: its frame count goes."""
        self.frames_sent.pop(contact_id, None)

    def _push_later(self, key: int) -> None:
        entry = self.delayed_pushes.pop(key, None)
        if entry is None:
            return
        timer, contact_id, item, exclude = entry
        timer.cancel()
        contact = self._contacts.get(contact_id)
        if contact is not None:
            self.push(contact, item, exclude=exclude)

    def release_delayed(self) -> None:
        """Send now what faults hold back: delayed echoes (in order), then held frames."""
        for key in list(self.delayed_pushes):
            self._push_later(key)
        for contact in self._contacts.values():
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
        copies = 2 if self._faults.take_duplicate(cid) else 1
        held = contact.held
        if held is not None:  # the second frame of a swapped pair goes out first
            contact.held = None
            held.timer.cancel()
            self._deliver(contact, frame, copies, exclude)
            self._deliver(contact, held.frame, held.copies, held.exclude)
            return
        hold = self._faults.take_reorder(cid)
        if hold is not None:
            timer = self._loop.call_later(hold, self.flush_held, cid)
            contact.held = HeldFrame(frame, copies, exclude, timer)
            return
        self._deliver(contact, frame, copies, exclude)

    def flush_held(self, contact_id: str) -> None:
        """Send the frame ``reorder_chat_frames`` holds for the contact, if any."""
        contact = self._contacts.get(contact_id)
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

    def add_socket(self, sock: Subscriber) -> None:
        self._contacts[sock.contact_id].sockets.add(sock)

    def remove_socket(self, sock: Subscriber) -> None:
        contact = self._contacts.get(sock.contact_id)
        if contact is not None:
            contact.sockets.discard(sock)

    def drop_sockets(self, contact_id: str | None) -> int:
        """Drop sockets as ``socket_drop`` says: a TCP abort, or a close frame with its code."""
        how = self._settings().behaviour.socket_drop
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
            return list(self._contacts.values())
        contact = self._contacts.get(contact_id)
        return [contact] if contact is not None else []
