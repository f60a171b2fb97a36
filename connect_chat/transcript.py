"""The in-memory transcript: items indexed by id, ordered by time, never duplicated.

Pure and single-owner: only the dispatcher thread mutates a :class:`Transcript`; other
threads read the immutable :class:`TranscriptView` it publishes after each change.

Layout: a sorted sequence of ``(time, arrival)`` keys split into chunks of at most
``2 * CHUNK`` items, each chunk's items held in a tuple. An incoming item costs a bisect over
chunk boundaries, a bisect in one chunk and the rebuild of that one chunk (bounded size), so
the cost does not grow with the transcript; appending the newest item (the common case) hits
the last chunk. A snapshot for callbacks is the tuple of chunk tuples: ``O(n / CHUNK)``
pointers, shared with the transcript, never a copy of every item.
"""

from __future__ import annotations

import bisect
import itertools
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from connect_chat.enums import MessageStatus, ScanDirection
from connect_chat.models import Message, Metadata, TranscriptItem
from connect_chat.timestamps import time_key
from connect_chat.transcript_view import TranscriptView as TranscriptView  # re-exported

#: Chunk size of the transcript layout (a chunk splits when it reaches twice this).
CHUNK = 128

#: How many receipts for messages not (yet) in the transcript are remembered.
MAX_PENDING_STATUS = 1024

_Key = tuple[float, int]


# Made for every frame: slotted, not frozen (a frozen attrs ``__init__`` costs twice as
# much); nothing changes one after it is built.
@attrs.define
class Change:
    """One effect of a merge: ``item`` was added (``added``) or replaced an older version.

    ``replaced_id`` is set when the item took over another id (a placeholder confirmed with
    the server's id); ``removed`` marks an item that left the transcript.
    """

    item: TranscriptItem
    added: bool = False
    replaced_id: str | None = None
    removed: bool = False


def answered(placeholder: Message, server_id: str, time_stamp: str | None) -> Message:
    """The customer's message as SendMessage's answer describes it (before its echo)."""
    return attrs.evolve(placeholder, id=server_id, time_stamp=time_stamp or placeholder.time_stamp)


def sent_row(placeholder: Message, echo: Message) -> Message:
    """The transcript row of a sent message: the service's copy (``echo``, or what the
    answer said), the placeholder's ``persistent_id``, the better status and at least SENT."""
    row = attrs.evolve(_merge_status(placeholder, echo), persistent_id=placeholder.id)
    return Transcript._with_status(row, MessageStatus.SENT) or row


@attrs.define
class _SendGroup:
    """Sends of one (content type, text) still in flight (see ``Transcript._regroup``)."""

    locals: list[str] = attrs.field(factory=list)
    placeholders: dict[str, Message] = attrs.field(factory=dict)
    answers: dict[str, tuple[str, str | None]] = attrs.field(factory=dict)
    echoes: dict[str, Message] = attrs.field(factory=dict)
    failed: set[str] = attrs.field(factory=set)
    rows: list[str] = attrs.field(factory=list)


def _merge_status(old: Message, new: Message) -> Message:
    """``new`` with the better delivery state of the two, and the old ``persistent_id``."""
    old_status, new_status = old.status, new.status
    metadata = new.metadata
    if MessageStatus.rank_of(old_status) >= MessageStatus.rank_of(new_status):
        metadata = old.metadata
    return attrs.evolve(
        new,
        persistent_id=old.persistent_id,
        metadata=metadata,
        message_direction=new.message_direction or old.message_direction,
        display_name=new.display_name or old.display_name,
        is_from_history=old.is_from_history and new.is_from_history,
    )


class Transcript:
    """The transcript of one chat session (see the module docstring)."""

    def __init__(self) -> None:
        self._chunks: list[tuple[TranscriptItem, ...]] = []
        self._keys: list[list[_Key]] = []
        self._last_keys: list[_Key] = []
        self._by_id: dict[str, tuple[_Key, TranscriptItem]] = {}
        self._seq = itertools.count()
        self._len = 0
        self._view: TranscriptView | None = TranscriptView()
        self._pending_status: OrderedDict[str, MessageStatus] = OrderedDict()
        self._local_ids: set[str] = set()
        self._aliases: dict[str, str] = {}
        self._attachment_placeholders: dict[str, str] = {}
        # Text messages in flight, grouped by (content type, text): see _SendGroup.
        self._groups: dict[tuple[str, str], _SendGroup] = {}
        self._group_of: dict[str, tuple[str, str]] = {}
        #: Token for the next older history page (iOS ``previousTranscriptNextToken``).
        self.previous_transcript_next_token: str | None = None
        self._oldest_history: float | None = None
        #: The time of the newest item :meth:`trim` let go (every older one went too).
        self.trimmed_until: float | None = None
        #: Display name of the newest customer message seen (for placeholders).
        self.customer_display_name: str | None = None

    # -- reading -------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._len

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._by_id

    def seen(self, item: TranscriptItem) -> bool:
        """Held, or let go by :meth:`trim` (no newer than what it let go): not news."""
        if item.id in self._by_id:
            return True
        return self.trimmed_until is not None and time_key(item.time_stamp) <= self.trimmed_until

    def get(self, item_id: str) -> TranscriptItem | None:
        entry = self._by_id.get(self._aliases.get(item_id, item_id))
        return entry[1] if entry is not None else None

    def view(self) -> TranscriptView:
        """The current snapshot (cached until the next change)."""
        if self._view is None:
            self._view = TranscriptView(tuple(self._chunks), self._len)
        return self._view

    def newest_server_item(self) -> TranscriptItem | None:
        """The newest item known to the service (not a local placeholder): the gap-fill anchor."""
        for chunk in reversed(self._chunks):
            for item in reversed(chunk):
                if item.id not in self._local_ids:
                    return item
        return None

    # -- layout primitives ---------------------------------------------------------------

    def _insert(self, key: _Key, item: TranscriptItem) -> None:
        self._view = None
        self._len += 1
        if not self._chunks:
            self._chunks.append((item,))
            self._keys.append([key])
            self._last_keys.append(key)
            return
        if key > self._last_keys[-1]:
            # The newest item (nearly every live one): one copy of the last chunk, no search.
            which = len(self._chunks) - 1
            keys = self._keys[which]
            keys.append(key)
            self._chunks[which] += (item,)
        else:
            which = bisect.bisect_left(self._last_keys, key)
            keys = self._keys[which]
            pos = bisect.bisect_left(keys, key)
            keys.insert(pos, key)
            chunk = self._chunks[which]
            self._chunks[which] = (*chunk[:pos], item, *chunk[pos:])
        self._last_keys[which] = keys[-1]
        if len(keys) >= 2 * CHUNK:
            self._chunks[which : which + 1] = [
                self._chunks[which][:CHUNK],
                self._chunks[which][CHUNK:],
            ]
            self._keys[which : which + 1] = [keys[:CHUNK], keys[CHUNK:]]
            self._last_keys[which : which + 1] = [keys[CHUNK - 1], keys[-1]]

    def _locate(self, key: _Key) -> tuple[int, int]:
        which = bisect.bisect_left(self._last_keys, key)
        pos = bisect.bisect_left(self._keys[which], key)
        return which, pos

    def _remove(self, key: _Key) -> None:
        self._view = None
        self._len -= 1
        which, pos = self._locate(key)
        keys = self._keys[which]
        del keys[pos]
        chunk = self._chunks[which]
        if not keys:
            del self._chunks[which], self._keys[which], self._last_keys[which]
            return
        self._chunks[which] = chunk[:pos] + chunk[pos + 1 :]
        self._last_keys[which] = keys[-1]

    def _replace(self, key: _Key, item: TranscriptItem) -> None:
        self._view = None
        which, pos = self._locate(key)
        chunk = self._chunks[which]
        self._chunks[which] = (*chunk[:pos], item, *chunk[pos + 1 :])

    def _put(self, item: TranscriptItem, old_key: _Key | None) -> None:
        """Store ``item`` under its id, moving it if its time changed."""
        if old_key is not None and old_key[0] == time_key(item.time_stamp):
            self._replace(old_key, item)
            self._by_id[item.id] = (old_key, item)
            return
        if old_key is not None:
            self._remove(old_key)
        key = (time_key(item.time_stamp), next(self._seq))
        self._insert(key, item)
        self._by_id[item.id] = (key, item)

    def _drop(self, item_id: str) -> TranscriptItem | None:
        entry = self._by_id.pop(item_id, None)
        if entry is None:
            return None
        self._remove(entry[0])
        self._local_ids.discard(item_id)
        return entry[1]

    # -- merging -------------------------------------------------------------------------

    def merge(self, item: TranscriptItem) -> Change | None:
        """Merge one service item (live or from history). ``None`` when nothing changed.

        A ``Metadata`` item updates the status of its message (or is remembered until that
        message arrives). Any other item is added, or replaces the item with its id, keeping
        its ``persistent_id`` and never lowering a message's delivery state.
        """
        if isinstance(item, Metadata):
            return self.apply_status(item.id, item.status)
        if isinstance(item, Message) and item.participant == "CUSTOMER" and item.display_name:
            self.customer_display_name = item.display_name
        entry = self._by_id.get(item.id)
        if (
            entry is None
            and isinstance(item, Message)
            and item.attachment_id in self._attachment_placeholders
        ):
            replaced = self._replace_attachment_placeholder(item)
            if replaced is not None:
                return replaced
        if (
            isinstance(item, Message)
            and item.participant == "CUSTOMER"
            and item.attachment_id is None
            and (item.content_type, item.text) in self._groups
        ):
            group = self._groups[(item.content_type, item.text)]
            if entry is None or item.id in group.echoes:
                group.echoes[item.id] = item
                return self._regroup((item.content_type, item.text), item.id)
        if entry is None:
            pending = self._pending_status.pop(item.id, None)
            if pending is not None and isinstance(item, Message):
                item = self._with_status(item, pending) or item
            self._put(item, None)
            return Change(item=item, added=True)
        old_key, old = entry
        if isinstance(old, Message) and isinstance(item, Message):
            merged: TranscriptItem = _merge_status(old, item)
        else:
            merged = attrs.evolve(
                item,
                persistent_id=old.persistent_id,
                is_from_history=old.is_from_history and item.is_from_history,
            )
        if merged == old:
            return None
        self._put(merged, old_key)
        return Change(item=merged)

    @staticmethod
    def _with_status(
        message: Message, status: MessageStatus, *, force: bool = False
    ) -> Message | None:
        if not force and status.rank <= MessageStatus.rank_of(message.status):
            return None
        metadata = Metadata(
            id=message.id,
            time_stamp=message.time_stamp,
            content_type=message.metadata.content_type if message.metadata else "",
            status=status,
        )
        return attrs.evolve(message, metadata=metadata)

    def arrived_live(self, item_id: str) -> Change | None:
        """An item a history page added has now come as a live frame too: that is its arrival.

        The stored item stops being ``is_from_history``; the change is ``added`` because the
        program hears of the item only now. ``None`` if the item is not held.
        """
        entry = self._by_id.get(item_id)
        if entry is None:
            return None
        key, item = entry
        if item.is_from_history:
            item = attrs.evolve(item, is_from_history=False)
            self._put(item, key)
        return Change(item=item, added=True)

    def apply_status(self, message_id: str, status: MessageStatus | None) -> Change | None:
        """Move a message's delivery state forward (a receipt); never backwards."""
        if status is None:
            return None
        message_id = self._aliases.get(message_id, message_id)
        entry = self._by_id.get(message_id)
        if entry is None:
            if status.rank > MessageStatus.rank_of(self._pending_status.get(message_id)):
                self._pending_status[message_id] = status
                self._pending_status.move_to_end(message_id)
                while len(self._pending_status) > MAX_PENDING_STATUS:
                    self._pending_status.popitem(last=False)
            return None
        key, old = entry
        if not isinstance(old, Message):
            return None
        updated = self._with_status(old, status)
        if updated is None:
            return None
        self._put(updated, key)
        return Change(item=updated)

    def merge_page(
        self,
        items: Iterable[TranscriptItem],
        *,
        scan_direction: ScanDirection | str = ScanDirection.BACKWARD,
        next_token: str | None = None,
        start_position_given: bool = False,
        requested_token: str | None = None,
    ) -> list[Change]:
        """Merge one GetTranscript page and update ``previous_transcript_next_token``.

        Token rules (after iOS §4.7; BACKWARD scans only): the page continuing the chain
        (requested with the current token) moves it on; so does a page when no history is
        held yet, an empty page, or a page reaching back to (or past) the oldest history item
        held. A newer page leaves it alone, and so does an empty page for an explicit start
        position (an invalid anchor). FORWARD scans never touch it. Live items do not count
        as history here: one that arrived before the first page does not hide older history.
        """
        page = list(items)
        times = [time_key(i.time_stamp) for i in page]
        if str(scan_direction) == ScanDirection.BACKWARD.value and not (
            start_position_given and not page
        ):
            oldest_held = self._oldest_history
            if (
                (requested_token is not None
                 and requested_token == self.previous_transcript_next_token)
                or oldest_held is None
                or not page
                or min(times) <= oldest_held
            ):
                self.previous_transcript_next_token = next_token
        if times:
            oldest_page = min(times)
            if self._oldest_history is None or oldest_page < self._oldest_history:
                self._oldest_history = oldest_page
        changes = []
        for item in page:
            change = self.merge(item)
            if change is not None:
                changes.append(change)
        return changes

    # -- local messages ------------------------------------------------------------------

    def add_placeholder(self, message: Message) -> Change:
        """A message being sent: shown at once (status SENDING) under a local id."""
        if message.attachment_id is not None:
            self._local_ids.add(message.id)
            self._put(message, None)
            return Change(item=message, added=True)
        key = (message.content_type, message.text)
        group = self._groups.setdefault(key, _SendGroup())
        group.locals.append(message.id)
        group.placeholders[message.id] = message
        self._group_of[message.id] = key
        change = self._regroup(key, message.id)
        assert change is not None
        return attrs.evolve(change, added=True)

    def confirm_sent(
        self, placeholder_id: str, server_id: str, time_stamp: str | None
    ) -> Change | None:
        """SendMessage succeeded: the message takes the server's id (and time).

        Whether the service's echo of the message came first or comes later, the message is
        shown once, keeps the placeholder's ``persistent_id``, and is at least SENT.
        """
        key = self._group_of.get(placeholder_id)
        if key is None:
            return None
        group = self._groups[key]
        group.answers[placeholder_id] = (server_id, time_stamp)
        return self._regroup(key, server_id)

    def _regroup(self, key: tuple[str, str], focus: str) -> Change | None:
        """Lay out the rows of one group of identical messages in flight.

        A group holds this program's sends of one (type, text) whose SendMessage answer or
        echo is still missing, and the customer echoes of that text seen meanwhile. An answer
        maps a send to its server id for certain; echoes nobody claimed are paired with the
        unanswered sends in order (the service echoes in the order it stores). So each
        message is shown exactly once at every moment, whichever order echoes and answers
        come in; extra echoes (the same text sent from elsewhere) are shown on their own.
        Sends whose answer and echo are both in are settled and leave the group.
        """
        group = self._groups[key]
        before: dict[str, TranscriptItem] = {}
        for row_id in group.rows:
            entry = self._by_id.get(row_id)
            if entry is not None:
                before[row_id] = entry[1]
                self._drop(row_id)
        claimed = {server for server, _ in group.answers.values()}
        free_echoes = [e for sid, e in group.echoes.items() if sid not in claimed]
        unanswered = [lid for lid in group.locals if lid not in group.answers]
        pairing = dict(zip(unanswered, free_echoes, strict=False))
        rows: list[Message] = []
        for local_id in group.locals:
            placeholder = group.placeholders[local_id]
            echo: Message | None
            if local_id in group.answers:
                server_id, stamp = group.answers[local_id]
                echo = group.echoes.get(server_id) or answered(placeholder, server_id, stamp)
            else:
                echo = pairing.get(local_id)
            if echo is None:
                row = placeholder
                if local_id in group.failed:
                    row = (
                        self._with_status(placeholder, MessageStatus.FAILED, force=True)
                        or placeholder
                    )
                self._local_ids.add(local_id)
            else:
                row = sent_row(placeholder, echo)
                self._aliases[local_id] = row.id
            rows.append(row)
        rows.extend(free_echoes[len(unanswered):])  # sent from elsewhere
        group.rows = []
        shown_before = {item.persistent_id for item in before.values()}
        changed: Change | None = None
        for row in rows:
            old = before.get(row.id)
            if old is not None and isinstance(old, Message) and row.id not in group.placeholders:
                row = attrs.evolve(_merge_status(old, row), persistent_id=row.persistent_id)
            pending = self._pending_status.pop(row.id, None)
            if pending is not None:
                row = self._with_status(row, pending) or row
            self._put(row, None)
            group.rows.append(row.id)
            is_focus = row.id == focus or (changed is None and row.persistent_id == focus)
            if is_focus and row != old:
                changed = Change(
                    item=row,
                    added=row.persistent_id not in shown_before,
                    replaced_id=row.persistent_id if row.persistent_id != row.id else None,
                )
        self._settle(key)
        return changed

    def _settle(self, key: tuple[str, str]) -> None:
        group = self._groups[key]
        for local_id in list(group.locals):
            answer = group.answers.get(local_id)
            if answer is not None and answer[0] in group.echoes:
                group.locals.remove(local_id)
                del group.placeholders[local_id], group.answers[local_id]
                group.echoes.pop(answer[0])
                group.rows.remove(answer[0])
                del self._group_of[local_id]
        unanswered = [lid for lid in group.locals if lid not in group.answers]
        if not unanswered:
            claimed = {server for server, _ in group.answers.values()}
            for server_id in [sid for sid in group.echoes if sid not in claimed]:
                group.echoes.pop(server_id)  # from elsewhere: an ordinary item now
                group.rows.remove(server_id)
        if not group.locals:
            del self._groups[key]

    def attachment_started(self, placeholder_id: str, attachment_id: str) -> None:
        """StartAttachmentUpload gave ``attachment_id``: its echo will replace the placeholder."""
        if placeholder_id in self._by_id:
            self._attachment_placeholders[attachment_id] = placeholder_id

    def _replace_attachment_placeholder(self, echo: Message) -> Change | None:
        assert echo.attachment_id is not None
        placeholder_id = self._attachment_placeholders.pop(echo.attachment_id)
        entry = self._by_id.get(placeholder_id)
        if entry is None or not isinstance(entry[1], Message):
            return None
        placeholder = entry[1]
        self._drop(placeholder_id)
        self._aliases[placeholder_id] = echo.id
        merged = _merge_status(placeholder, echo)
        sent = self._with_status(merged, MessageStatus.SENT) or merged
        self._put(sent, None)
        return Change(item=sent, replaced_id=placeholder_id)

    def mark_failed(self, placeholder_id: str, time_stamp: str) -> Change | None:
        """SendMessage failed: the placeholder stays, with status FAILED.

        (If the service's echo shows the message was stored after all, it stays SENT.)
        """
        key = self._group_of.get(placeholder_id)
        if key is not None:
            self._groups[key].failed.add(placeholder_id)
            return self._regroup(key, placeholder_id)
        entry = self._by_id.get(placeholder_id)
        if entry is None or not isinstance(entry[1], Message):
            return None
        old = entry[1]
        metadata = Metadata(
            id=old.id,
            time_stamp=time_stamp,
            content_type=old.metadata.content_type if old.metadata else "",
            status=MessageStatus.FAILED,
        )
        failed = attrs.evolve(old, metadata=metadata)
        self._put(failed, entry[0])
        return Change(item=failed)

    def mark_sending(self, placeholder_id: str) -> Change | None:
        """A FAILED message is sent again (``resend_failed_message``): SENDING once more.

        Nothing changes for a message the service's echo already showed as stored.
        """
        key = self._group_of.get(placeholder_id)
        if key is not None:
            group = self._groups[key]
            if placeholder_id not in group.failed:
                return None
            group.failed.discard(placeholder_id)
            return self._regroup(key, placeholder_id)
        entry = self._by_id.get(placeholder_id)
        if entry is None or not isinstance(entry[1], Message):
            return None
        old = entry[1]
        if old.status is not MessageStatus.FAILED:
            return None
        sending = self._with_status(old, MessageStatus.SENDING, force=True)
        assert sending is not None
        self._put(sending, entry[0])
        return Change(item=sending)

    def remove(self, item_id: str) -> Change | None:
        item = self._drop(item_id)
        return Change(item=item, removed=True) if item is not None else None

    def trim(self, max_items: int) -> list[TranscriptItem]:
        """Keep at most ``max_items`` items in memory: the oldest go (a message still being
        sent never does); they stay reachable with ``get_transcript``. Returns them."""
        excess = self._len - max_items
        if excess <= 0:
            return []
        in_flight = self._local_ids | self._group_row_ids()
        gone: list[TranscriptItem] = []
        for chunk in self._chunks:
            for item in chunk:
                if len(gone) == excess:
                    break
                if item.id not in in_flight:
                    gone.append(item)
            if len(gone) == excess:
                break
        for item in gone:
            self._drop(item.id)
            stamp = time_key(item.time_stamp)
            if self.trimmed_until is None or stamp > self.trimmed_until:
                self.trimmed_until = stamp
        dropped = {item.id for item in gone}
        self._aliases = {a: t for a, t in self._aliases.items() if t not in dropped}
        return gone

    def _group_row_ids(self) -> set[str]:
        return {row for group in self._groups.values() for row in group.rows}

    def items(self) -> Sequence[TranscriptItem]:
        return self.view()

    def debug_check(self) -> dict[str, Any]:
        """Internal invariants (for tests): sorted keys, index and layout agree."""
        flat = [k for keys in self._keys for k in keys]
        return {
            "sorted": flat == sorted(flat),
            "length": len(flat) == self._len == len(self._by_id),
            "chunks": [len(c) for c in self._chunks] == [len(k) for k in self._keys],
        }
