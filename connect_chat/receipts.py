"""Message receipts: Read and Delivered requests, batched and throttled per window.

Pure logic with an injected clock: no threads are started and nothing touches the network.
Callers ask for receipts (``request()``, or ``request_automatic()`` for the SDK's own) and
keep a :class:`ReceiptTicket`; the session's dispatcher thread waits until
``next_deadline()``, calls ``flush()``, makes one SendEvent per :class:`ReceiptBatch` and
reports back. The throttle is shared between caller threads and the dispatcher, so it takes
its own lock, which is also the condition its own tickets wait on (a waiter is woken only by
its own throttle); callers never block on the network while it is held.
"""

from __future__ import annotations

import enum
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable

import attrs

from connect_chat.enums import MessageReceiptType
from connect_chat.errors import InvalidInputError
from connect_chat.timestamps import Clock

__all__ = ["ReceiptBatch", "ReceiptOutcome", "ReceiptThrottle", "ReceiptTicket"]

log = logging.getLogger(__name__)

_READ = MessageReceiptType.MESSAGE_READ
_DELIVERED = MessageReceiptType.MESSAGE_DELIVERED


class ReceiptOutcome(str, enum.Enum):
    """What became of one ``send_message_receipt`` request."""

    #: This request's receipt went out (the SendEvent succeeded).
    SENT = "Sent"
    #: A receipt for a newer message (or a Read for this one) went out and covers it.
    SUPERSEDED = "Superseded"
    #: Nothing needed sending: a duplicate, the customer's own message, or receipts disabled.
    SUPPRESSED = "Suppressed"
    #: The SendEvent that would have carried it failed (``ticket.error`` says why).
    FAILED = "Failed"

    def __str__(self) -> str:
        return self.value


_SENT = ReceiptOutcome.SENT
_SUPERSEDED = ReceiptOutcome.SUPERSEDED
_SUPPRESSED = ReceiptOutcome.SUPPRESSED
_FAILED = ReceiptOutcome.FAILED
_NEWER_COVERS = "a newer message's receipt covers it"
_READ_COVERS = "a Read receipt covers it"


class ReceiptTicket:
    """The caller's handle on one receipt request; resolved later by the dispatcher thread.

    ``wait(timeout)`` blocks until the outcome is known and returns it (``None`` on timeout).
    Tickets wait on their throttle's condition (a ``threading.Event`` each would cost more
    than the rest of the request: one is made per incoming agent message); a waiter re-checks
    its own ticket when woken.
    """

    __slots__ = (
        "_condition", "_done", "_error", "_outcome", "_reason", "message_id", "receipt_type"
    )

    def __init__(
        self, receipt_type: MessageReceiptType, message_id: str, condition: threading.Condition
    ) -> None:
        self.receipt_type = receipt_type
        self.message_id = message_id
        self._condition = condition
        self._done = False
        self._outcome: ReceiptOutcome | None = None
        self._error: BaseException | None = None
        self._reason = ""

    @property
    def done(self) -> bool:
        """True once the outcome is known."""
        return self._done

    @property
    def outcome(self) -> ReceiptOutcome | None:
        """The outcome, or ``None`` while the receipt is still pending."""
        return self._outcome if self._done else None

    @property
    def error(self) -> BaseException | None:
        """The failure, when the outcome is ``FAILED``."""
        return self._error if self._done else None

    @property
    def reason(self) -> str:
        """A short human-readable explanation of a SUPPRESSED/SUPERSEDED outcome."""
        return self._reason

    def wait(self, timeout: float | None = None) -> ReceiptOutcome | None:
        """Block until resolved (or ``timeout`` seconds); return the outcome or ``None``."""
        if not self._done:
            with self._condition:
                if not self._condition.wait_for(lambda: self._done, timeout):
                    return None
        return self._outcome

    def _resolve(
        self, outcome: ReceiptOutcome, reason: str = "", error: BaseException | None = None
    ) -> bool:
        """Record the outcome; the caller holds the condition's lock and notifies."""
        if self._done:
            return False
        self._outcome = outcome
        self._reason = reason
        self._error = error
        self._done = True
        return True

    def __repr__(self) -> str:
        state = self._outcome.value if self._done and self._outcome else "pending"
        return (
            f"ReceiptTicket({self.receipt_type.name}, message_id={self.message_id!r}, {state})"
        )


# Sort key of a message: its timestamp, a NUL, and its arrival sequence as fixed-width digits,
# so that comparing keys compares (timestamp, sequence). Timestamps are the service's ISO-8601
# AbsoluteTime strings (no NUL), which clients compare as strings; the sequence breaks ties and
# orders messages whose timestamp the caller did not give (their key starts with the NUL). A
# string rather than a tuple: one key is kept per message, and a tuple per incoming message
# costs the garbage collector more than the whole receipt request does.
_Key = str
_SEP = "\x00"


@attrs.define
class _Waiter:
    ticket: ReceiptTicket
    outcome_on_success: ReceiptOutcome
    reason: str


@attrs.define
class _Entry:
    """A receipt that is pending (waiting for its window) or in flight."""

    receipt_type: MessageReceiptType
    message_id: str
    key: _Key
    #: Earliest flush time (a Delivered waits ``delivered_delay`` for a Read to cover it).
    ready_at: float
    #: The ticket of the request the entry is for (SENT on success); ``None`` when that
    #: request is a ticketless automatic one (``request_automatic``).
    own: ReceiptTicket | None
    #: Ticketed requests riding along, with the outcome each gets on success.
    riders: list[_Waiter] = attrs.field(factory=list)
    #: Ticketless automatic requests riding along, by the outcome they get on success
    #: (counted, as their tickets would have been, when the entry is settled).
    auto_superseded: int = 0
    auto_suppressed: int = 0

    def waiters(self) -> list[_Waiter]:
        """Every ticketed request the entry settles, its own one first."""
        if self.own is None:
            return self.riders
        return [_Waiter(self.own, _SENT, ""), *self.riders]

    def automatic_requests(self) -> int:
        """How many ticketless requests this entry settles (failures count them)."""
        return self.auto_suppressed + self.auto_superseded + (1 if self.own is None else 0)

    def ride(self, ticket: ReceiptTicket | None, outcome: ReceiptOutcome, reason: str) -> None:
        """A request this entry covers gets ``outcome`` when the entry is sent."""
        if ticket is not None:
            self.riders.append(_Waiter(ticket, outcome, reason))
        elif outcome is _SUPPRESSED:
            self.auto_suppressed += 1
        else:
            self.auto_superseded += 1

    def absorb(self, old: _Entry, reason: str) -> None:
        """Take over ``old``'s requests; ``old``'s own request rides along SUPERSEDED.

        The shorter list of riders is appended to the longer one, so a burst of N requests
        in one window costs O(N log N) rather than copying a growing list N times (O(N^2)).
        """
        old.ride(old.own, _SUPERSEDED, reason)
        self.auto_superseded += old.auto_superseded
        self.auto_suppressed += old.auto_suppressed
        if len(old.riders) > len(self.riders):
            old.riders.extend(self.riders)
            self.riders = old.riders
        else:
            self.riders.extend(old.riders)
        old.riders = []


def receipt_content(message_id: str) -> str:
    """A receipt's SendEvent ``Content``: ``{"messageId":"<id>"}`` (what the clients send)."""
    return json.dumps({"messageId": message_id}, separators=(",", ":"))


@attrs.frozen
class ReceiptBatch:
    """One SendEvent the dispatcher must make now, and the tickets it settles.

    ``client_token`` is a fresh UUID per batch: retries of the same batch reuse it (the
    service's idempotency), while every new receipt gets its own (ChatJS's fixed token is a
    bug). ``content`` is the SendEvent ``Content`` the clients send: ``{"messageId": "<id>"}``.
    """

    receipt_type: MessageReceiptType
    message_id: str
    client_token: str
    tickets: tuple[ReceiptTicket, ...]

    @property
    def content_type(self) -> str:
        """The SendEvent ``ContentType`` (the receipt type's event content type)."""
        return self.receipt_type.value

    @property
    def content(self) -> str:
        """The SendEvent ``Content``: ``{"messageId":"<id>"}``."""
        return receipt_content(self.message_id)


class ReceiptThrottle:
    """Message-receipt policy: at most one Read and one Delivered SendEvent per window.

    Window: the first request after an idle period opens a window of ``throttle_time``
    seconds; everything requested inside it is sent together when it closes (trailing edge,
    the iOS fixed-window shape, not Android's debounce, which a steady stream of messages can
    postpone forever). A leading-edge send was rejected: a burst of N messages marked read at
    once would then cost two SendEvents instead of one. The latency cost is at most
    ``throttle_time`` (5 s by default) for a receipt nobody waits on interactively.

    Per window and type only the receipt of the NEWEST message goes out; receipts are
    cumulative, so it covers the older ones (their tickets resolve SUPERSEDED). A Read covers
    the Delivered of the same message and of every older one (reading implies delivery). A
    receipt never goes out twice for the same message and type, nor for a message older than
    one already receipted with that type (SUPPRESSED / SUPERSEDED at once). Receipts for the
    customer's own messages, or while disabled, are SUPPRESSED without any call.

    ``delivered_delay`` (the session passes ``GlobalConfig.delivered_receipt_delay``, iOS: 3 s)
    holds a Delivered back for that long after it was first requested, so that a Read arriving
    meanwhile covers it; one not yet ready when the window closes waits for the next window
    (never stranded, unlike iOS; never postponed by later requests, unlike Android).

    "Newest" is decided by ``timestamp`` (the message's ``AbsoluteTime``) when the caller
    gives one, otherwise by the order of first request; pass timestamps consistently.

    Use: callers ``request()`` and keep the ticket. The dispatcher waits until
    ``next_deadline()``, calls ``flush()``, makes one SendEvent per :class:`ReceiptBatch` and
    reports back with ``mark_sent(batch)`` / ``mark_failed(batch, error)``. ``on_schedule``
    (optional) is called, outside the lock, whenever a request opens a new window, so that a
    dispatcher blocked on its queue can be woken to recompute its wait.
    """

    def __init__(
        self,
        throttle_time: float = 5.0,
        clock: Clock = time.monotonic,
        *,
        enabled: bool = True,
        delivered_delay: float = 0.0,
        on_schedule: Callable[[], None] | None = None,
    ) -> None:
        if not throttle_time >= 0:
            raise InvalidInputError(f"throttle_time must be >= 0, got {throttle_time!r}")
        if not delivered_delay >= 0:
            raise InvalidInputError(f"delivered_delay must be >= 0, got {delivered_delay!r}")
        self.throttle_time = float(throttle_time)
        self.delivered_delay = float(delivered_delay)
        self.enabled = enabled
        self._clock = clock
        self._on_schedule = on_schedule
        self._lock = threading.Lock()
        #: This throttle's tickets wait on it (its lock is ``_lock``); notified once per
        #: report that resolves tickets.
        self._resolved = threading.Condition(self._lock)
        self._seq = 0
        self._keys: dict[str, _Key] = {}
        self._deadline: float | None = None
        self._pending: dict[MessageReceiptType, _Entry] = {}
        self._inflight: dict[str, tuple[_Entry, ReceiptBatch]] = {}
        # Key of the newest message whose receipt of that type is known to be sent.
        self._sent: dict[MessageReceiptType, _Key] = {}
        #: Metrics: SendEvents that succeeded, and tickets per outcome.
        self.sent = 0
        self.suppressed = 0
        self.superseded = 0
        self.failed = 0

    # -- caller side ----------------------------------------------------------------------

    def request(
        self,
        receipt_type: MessageReceiptType,
        message_id: str,
        *,
        timestamp: str | None = None,
        own_message: bool = False,
    ) -> ReceiptTicket:
        """Ask for a receipt; the returned ticket tells the outcome once it is known."""
        receipt_type = MessageReceiptType(receipt_type)
        ticket = ReceiptTicket(receipt_type, message_id, self._resolved)
        if own_message:
            self._settle(ticket, _SUPPRESSED, "the customer's own message")
        elif not self.enabled:
            self._settle(ticket, _SUPPRESSED, "message receipts are disabled")
        else:
            self._request(receipt_type, message_id, timestamp, ticket)
        return ticket

    def request_automatic(
        self, receipt_type: MessageReceiptType, message_id: str, timestamp: str | None = None
    ) -> None:
        """Like ``request()``, for a receipt the SDK asks for itself: no ticket, same policy.

        The session's automatic Delivered receipt for every incoming agent message comes
        here. Its outcome is only counted (``sent``/``suppressed``/``superseded``/``failed``
        exactly as its ticket would have been). A stream of agent messages costs no new
        objects per message: the pending entry moves on to the newest message.
        """
        if not self.enabled:
            self._settle(None, _SUPPRESSED, "message receipts are disabled")
        else:
            self._request(receipt_type, message_id, timestamp, None)

    # -- dispatcher side ------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """When the current window closes (clock time), or ``None`` if nothing is pending."""
        with self._lock:
            return self._deadline

    def flush(self, now: float | None = None, *, force: bool = False) -> list[ReceiptBatch]:
        """The SendEvents to make now (none before the window closes, unless ``force``)."""
        with self._lock:
            if self._deadline is None:
                return []
            current = self._clock() if now is None else now
            if not force and current < self._deadline:
                return []
            self._deadline = None
            batches: list[ReceiptBatch] = []
            for receipt_type in (_READ, _DELIVERED):
                entry = self._pending.get(receipt_type)
                if entry is None or (not force and entry.ready_at > current):
                    continue
                del self._pending[receipt_type]
                batch = ReceiptBatch(
                    receipt_type=receipt_type,
                    message_id=entry.message_id,
                    client_token=str(uuid.uuid4()),
                    tickets=tuple(w.ticket for w in entry.waiters()),
                )
                self._inflight[batch.client_token] = (entry, batch)
                batches.append(batch)
            if self._pending:  # a Delivered not ready yet: it goes in a later window
                ready = min(e.ready_at for e in self._pending.values())
                self._deadline = max(ready, current + self.throttle_time) if batches else ready
            return batches

    def mark_sent(self, batch: ReceiptBatch) -> None:
        """The batch's SendEvent succeeded: resolve its tickets."""
        with self._lock:
            item = self._inflight.pop(batch.client_token, None)
            if item is None:
                return
            entry = item[0]
            current = self._sent.get(entry.receipt_type)
            if current is None or current < entry.key:
                self._sent[entry.receipt_type] = entry.key
            self.sent += 1
            self.superseded += entry.auto_superseded
            self.suppressed += entry.auto_suppressed
            for waiter in entry.waiters():
                self._count(waiter.outcome_on_success)
                waiter.ticket._resolve(waiter.outcome_on_success, waiter.reason)
            self._resolved.notify_all()
        log.debug("sent %s receipt for message %s", batch.receipt_type.name, batch.message_id)

    def mark_failed(self, batch: ReceiptBatch, error: BaseException) -> None:
        """The batch's SendEvent failed: every ticket it carried resolves FAILED."""
        with self._lock:
            item = self._inflight.pop(batch.client_token, None)
            if item is None:
                return
            self._fail(item[0], "the SendEvent failed", error)
            self._resolved.notify_all()
        log.debug(
            "%s receipt for message %s failed: %s",
            batch.receipt_type.name,
            batch.message_id,
            type(error).__name__,
        )

    def cancel(self, error: BaseException) -> None:
        """Fail every pending and in-flight ticket (disconnect, reset, chat ended)."""
        with self._lock:
            entries = list(self._pending.values()) + [e for e, _ in self._inflight.values()]
            self._pending.clear()
            self._inflight.clear()
            self._deadline = None
            for entry in entries:
                self._fail(entry, "cancelled", error)
            self._resolved.notify_all()

    # -- internals (lock held) ------------------------------------------------------------

    def _request(
        self,
        receipt_type: MessageReceiptType,
        message_id: str,
        timestamp: str | None,
        ticket: ReceiptTicket | None,
    ) -> None:
        """The window logic of one request; ``ticket`` is ``None`` for an automatic one."""
        opened = False
        with self._lock:
            key = self._key_for(message_id, timestamp)
            settled = self._covered_by_sent(receipt_type, key)
            if settled is not None:
                self._count(settled[0])
                if ticket is not None:  # nobody waits on it yet: no notify
                    ticket._resolve(*settled)
                return
            covering = self._covering(receipt_type, message_id, key)
            if covering is not None:
                covering[0].ride(ticket, covering[1], covering[2])
                return
            now = self._clock()
            ready_at = now + (self.delivered_delay if receipt_type is _DELIVERED else 0.0)
            entry = self._pending.get(receipt_type)  # if any, it is for an older message
            if entry is None:
                entry = _Entry(receipt_type, message_id, key, ready_at, ticket)
                self._pending[receipt_type] = entry
            else:  # this request takes the entry over; the older one's rides SUPERSEDED
                entry.ride(entry.own, _SUPERSEDED, _NEWER_COVERS)
                entry.message_id, entry.key, entry.own = message_id, key, ticket
                entry.ready_at = min(entry.ready_at, ready_at)  # no starvation by a stream
            if receipt_type is _READ:
                delivered = self._pending.get(_DELIVERED)
                if delivered is not None and delivered.key <= key:
                    entry.absorb(delivered, _READ_COVERS)
                    del self._pending[_DELIVERED]
            if self._deadline is None:
                self._deadline = now + self.throttle_time
                opened = True
        if opened and self._on_schedule is not None:
            self._on_schedule()

    def _key_for(self, message_id: str, timestamp: str | None) -> _Key:
        key = self._keys.get(message_id)
        if key is None:
            self._seq += 1
            key = f"{timestamp or ''}{_SEP}{self._seq:015d}"
        elif timestamp and key[0] == _SEP:
            key = timestamp + key  # untimed so far: the key was the sequence part alone
        else:
            return key
        self._keys[message_id] = key
        return key

    def _covered_by_sent(
        self, receipt_type: MessageReceiptType, key: _Key
    ) -> tuple[ReceiptOutcome, str] | None:
        sent_same = self._sent.get(receipt_type)
        if sent_same is not None and key <= sent_same:
            if key == sent_same:
                return _SUPPRESSED, "already sent for this message"
            return _SUPERSEDED, "a newer message was already receipted"
        if receipt_type is _DELIVERED:
            sent_read = self._sent.get(_READ)
            if sent_read is not None and key <= sent_read:
                return _SUPERSEDED, "a Read receipt already covers it"
        return None

    def _covering(
        self, receipt_type: MessageReceiptType, message_id: str, key: _Key
    ) -> tuple[_Entry, ReceiptOutcome, str] | None:
        """A pending or in-flight receipt that covers this one (same type or Read), and the
        outcome a request riding on it gets once it is sent."""
        entries: Iterable[_Entry] = self._pending.values()
        if self._inflight:  # in-flight ones first, then pending (both are few)
            entries = [e for e, _ in self._inflight.values()] + list(entries)
        for entry in entries:
            if key > entry.key:
                continue
            if entry.receipt_type is receipt_type:
                if entry.message_id == message_id:
                    return entry, _SUPPRESSED, "duplicate request"
                return entry, _SUPERSEDED, _NEWER_COVERS
            if entry.receipt_type is _READ:  # a Read covers a Delivered, not the reverse
                return entry, _SUPERSEDED, _READ_COVERS
        return None

    def _fail(self, entry: _Entry, reason: str, error: BaseException) -> None:
        """Every request ``entry`` settles failed (tickets resolved earlier are not counted)."""
        self.failed += entry.automatic_requests()
        for waiter in entry.waiters():
            if waiter.ticket._resolve(_FAILED, reason, error):
                self.failed += 1

    def _count(self, outcome: ReceiptOutcome) -> None:
        if outcome is _SUPPRESSED:
            self.suppressed += 1
        elif outcome is _SUPERSEDED:
            self.superseded += 1

    def _settle(
        self, ticket: ReceiptTicket | None, outcome: ReceiptOutcome, reason: str
    ) -> None:
        with self._lock:
            self._count(outcome)
            if ticket is not None:  # a new ticket: nobody waits on it yet
                ticket._resolve(outcome, reason)
