"""Rate policies for what the customer sends, and timers for what it receives.

Pure logic with an injected clock: no threads are started and nothing touches the network.
The session's dispatcher thread asks each policy when it next needs attention
(``next_deadline()``), waits on its queue until then, and calls back in (``flush()``,
``expired()``). The receipt policy is shared between caller threads and the dispatcher, so it
takes its own lock; callers never block on the network while it is held.

- :class:`ReceiptThrottle`: message receipts (Read / Delivered), batched per window.
- :class:`TypingThrottle`: at most one outgoing typing event per interval.
- :class:`TypingIndicators`: incoming typing indicators that expire.
- :class:`Backoff`: exponential delays with jitter and a cap (reconnect loop, outbox).
"""

from __future__ import annotations

import enum
import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

import attrs

from connect_chat.enums import MessageReceiptType
from connect_chat.errors import InvalidInputError

__all__ = [
    "Backoff",
    "Clock",
    "ReceiptBatch",
    "ReceiptOutcome",
    "ReceiptThrottle",
    "ReceiptTicket",
    "TypingIndicators",
    "TypingThrottle",
]

log = logging.getLogger(__name__)

#: A monotonic clock in seconds (``time.monotonic`` unless a test injects a fake one).
Clock = Callable[[], float]

_READ = MessageReceiptType.MESSAGE_READ
_DELIVERED = MessageReceiptType.MESSAGE_DELIVERED


# --------------------------------------------------------------------------------------------
# Message receipts
# --------------------------------------------------------------------------------------------


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


#: One condition for every ticket: a ticket is made per receipt request (per incoming agent
#: message, with the automatic Delivered receipts), and a ``threading.Event`` each cost more
#: than the rest of the request. Waiters re-check their own ticket when woken.
_TICKETS_RESOLVED = threading.Condition()


class ReceiptTicket:
    """The caller's handle on one receipt request; resolved later by the dispatcher thread.

    ``wait(timeout)`` blocks until the outcome is known and returns it (``None`` on timeout).
    """

    __slots__ = ("_done", "_error", "_outcome", "_reason", "message_id", "receipt_type")

    def __init__(self, receipt_type: MessageReceiptType, message_id: str) -> None:
        self.receipt_type = receipt_type
        self.message_id = message_id
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
            with _TICKETS_RESOLVED:
                if not _TICKETS_RESOLVED.wait_for(lambda: self._done, timeout):
                    return None
        return self._outcome

    def _resolve(
        self, outcome: ReceiptOutcome, reason: str = "", error: BaseException | None = None
    ) -> bool:
        with _TICKETS_RESOLVED:
            if self._done:
                return False
            self._outcome = outcome
            self._reason = reason
            self._error = error
            self._done = True
            _TICKETS_RESOLVED.notify_all()
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
    ready_at: float = 0.0
    waiters: list[_Waiter] = attrs.field(factory=list)
    #: The entry's own request is a ticketless automatic one (``request_automatic``): then
    #: ``waiters`` holds only riders, none of them SENT.
    auto_own: bool = False
    #: Ticketless automatic requests riding along, by the outcome they get on success
    #: (counted, as their tickets would have been, when the entry is settled).
    auto_superseded: int = 0
    auto_suppressed: int = 0

    def automatic_requests(self) -> int:
        """How many ticketless requests this entry settles (failures count them)."""
        return self.auto_suppressed + self.auto_superseded + (1 if self.auto_own else 0)


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
        ticket = ReceiptTicket(receipt_type, message_id)
        if own_message:
            self._settle(ticket, ReceiptOutcome.SUPPRESSED, "the customer's own message")
            return ticket
        if not self.enabled:
            self._settle(ticket, ReceiptOutcome.SUPPRESSED, "message receipts are disabled")
            return ticket
        opened = False
        with self._lock:
            key = self._key_for(message_id, timestamp)
            settled = self._covered_by_sent(receipt_type, message_id, key)
            if settled is not None:
                outcome, reason = settled
                self._count(outcome)
                ticket._resolve(outcome, reason)
                return ticket
            covering = self._covering(receipt_type, message_id, key)
            if covering is not None:
                entry, outcome, reason = covering
                entry.waiters.append(_Waiter(ticket, outcome, reason))
                return ticket
            now = self._clock()
            delay = self.delivered_delay if receipt_type is _DELIVERED else 0.0
            entry = _Entry(receipt_type, message_id, key, ready_at=now + delay)
            entry.waiters.append(_Waiter(ticket, ReceiptOutcome.SENT, ""))
            old = self._pending.get(receipt_type)
            if old is not None:
                self._absorb(entry, old, "a newer message's receipt covers it")
                entry.ready_at = min(entry.ready_at, old.ready_at)  # no starvation by a stream
            if receipt_type is _READ:
                delivered = self._pending.get(_DELIVERED)
                if delivered is not None and delivered.key <= key:
                    self._absorb(entry, delivered, "a Read receipt covers it")
                    del self._pending[_DELIVERED]
            self._pending[receipt_type] = entry
            if self._deadline is None:
                self._deadline = now + self.throttle_time
                opened = True
        if opened and self._on_schedule is not None:
            self._on_schedule()
        return ticket

    def request_automatic(
        self, receipt_type: MessageReceiptType, message_id: str, timestamp: str | None = None
    ) -> None:
        """Like ``request()``, for a receipt the SDK asks for itself: no ticket, same policy.

        The session's automatic Delivered receipt for every incoming agent message comes
        here. Its outcome is only counted (``sent``/``suppressed``/``superseded``/``failed``
        exactly as its ticket would have been). When a receipt of the same type is already
        pending for an older message, that entry simply moves to this newer message (its
        waiters keep the outcomes ``request()`` would have given them), so a stream of agent
        messages costs no new objects per message.
        """
        if not self.enabled:
            with self._lock:
                self.suppressed += 1
            return
        opened = False
        with self._lock:
            key = self._key_for(message_id, timestamp)
            if self._sent:
                settled = self._covered_by_sent(receipt_type, message_id, key)
                if settled is not None:
                    self._count(settled[0])
                    return
            covering = self._covering(receipt_type, message_id, key)
            if covering is not None:
                rides_on, outcome, _ = covering
                if outcome is ReceiptOutcome.SUPPRESSED:
                    rides_on.auto_suppressed += 1
                else:
                    rides_on.auto_superseded += 1
                return
            now = self._clock()
            entry = self._pending.get(receipt_type)  # if any, it is for an older message
            if entry is not None:
                if entry.auto_own:
                    entry.auto_superseded += 1
                else:  # its own request's ticket: SUPERSEDED on success, as _absorb does
                    own = entry.waiters[0]
                    entry.waiters[0] = _Waiter(
                        own.ticket, ReceiptOutcome.SUPERSEDED, "a newer message's receipt covers it"
                    )
                    entry.auto_own = True
                entry.message_id = message_id
                entry.key = key
                delay = self.delivered_delay if receipt_type is _DELIVERED else 0.0
                entry.ready_at = min(entry.ready_at, now + delay)  # no starvation by a stream
            else:
                delay = self.delivered_delay if receipt_type is _DELIVERED else 0.0
                entry = _Entry(receipt_type, message_id, key, ready_at=now + delay, auto_own=True)
                self._pending[receipt_type] = entry
            if receipt_type is _READ:
                delivered = self._pending.get(_DELIVERED)
                if delivered is not None and delivered.key <= key:
                    self._absorb(entry, delivered, "a Read receipt covers it")
                    del self._pending[_DELIVERED]
            if self._deadline is None:
                self._deadline = now + self.throttle_time
                opened = True
        if opened and self._on_schedule is not None:
            self._on_schedule()

    def note_receipted(
        self, receipt_type: MessageReceiptType, message_id: str, *, timestamp: str | None = None
    ) -> None:
        """Record a receipt this participant already sent (seen in a transcript's metadata)."""
        receipt_type = MessageReceiptType(receipt_type)
        with self._lock:
            key = self._key_for(message_id, timestamp)
            self._raise_sent(receipt_type, key)

    # -- dispatcher side ------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """When the current window closes (clock time), or ``None`` if nothing is pending."""
        with self._lock:
            return self._deadline

    def due(self, now: float | None = None) -> bool:
        """True when a window has closed: call ``flush()`` (which may still defer a Delivered
        that is not ready, moving ``next_deadline()``)."""
        with self._lock:
            return self._deadline is not None and self._now(now) >= self._deadline

    def pending_message_ids(self) -> dict[MessageReceiptType, str]:
        """The message each type's pending receipt is for (diagnostics and tests)."""
        with self._lock:
            return {t: e.message_id for t, e in self._pending.items()}

    def flush(self, now: float | None = None, *, force: bool = False) -> list[ReceiptBatch]:
        """The SendEvents to make now (none before the window closes, unless ``force``)."""
        with self._lock:
            if self._deadline is None:
                return []
            current = self._now(now)
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
                    tickets=tuple(w.ticket for w in entry.waiters),
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
            self._raise_sent(entry.receipt_type, entry.key)
            self.sent += 1
            self.superseded += entry.auto_superseded
            self.suppressed += entry.auto_suppressed
            for waiter in entry.waiters:
                self._count(waiter.outcome_on_success)
                waiter.ticket._resolve(waiter.outcome_on_success, waiter.reason)
        log.debug("sent %s receipt for message %s", batch.receipt_type.name, batch.message_id)

    def mark_failed(self, batch: ReceiptBatch, error: BaseException) -> None:
        """The batch's SendEvent failed: every ticket it carried resolves FAILED."""
        with self._lock:
            item = self._inflight.pop(batch.client_token, None)
            if item is None:
                return
            self.failed += item[0].automatic_requests()
            for waiter in item[0].waiters:
                self.failed += 1
                waiter.ticket._resolve(ReceiptOutcome.FAILED, "the SendEvent failed", error)
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
                self.failed += entry.automatic_requests()
                for waiter in entry.waiters:
                    if waiter.ticket._resolve(ReceiptOutcome.FAILED, "cancelled", error):
                        self.failed += 1

    def reset(self, error: BaseException) -> None:
        """``cancel(error)`` and forget which messages were receipted (a new chat)."""
        self.cancel(error)
        with self._lock:
            self._keys.clear()
            self._sent.clear()

    # -- internals (lock held) ------------------------------------------------------------

    def _now(self, now: float | None) -> float:
        return self._clock() if now is None else now

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

    def _raise_sent(self, receipt_type: MessageReceiptType, key: _Key) -> None:
        current = self._sent.get(receipt_type)
        if current is None or current < key:
            self._sent[receipt_type] = key

    def _covered_by_sent(
        self, receipt_type: MessageReceiptType, message_id: str, key: _Key
    ) -> tuple[ReceiptOutcome, str] | None:
        sent_same = self._sent.get(receipt_type)
        if sent_same is not None and key <= sent_same:
            if key == sent_same:
                return ReceiptOutcome.SUPPRESSED, "already sent for this message"
            return ReceiptOutcome.SUPERSEDED, "a newer message was already receipted"
        if receipt_type is _DELIVERED:
            sent_read = self._sent.get(_READ)
            if sent_read is not None and key <= sent_read:
                return ReceiptOutcome.SUPERSEDED, "a Read receipt already covers it"
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
                    return entry, ReceiptOutcome.SUPPRESSED, "duplicate request"
                return entry, ReceiptOutcome.SUPERSEDED, "a newer message's receipt covers it"
            if entry.receipt_type is _READ:  # a Read covers a Delivered, not the reverse
                return entry, ReceiptOutcome.SUPERSEDED, "a Read receipt covers it"
        return None

    @staticmethod
    def _absorb(new: _Entry, old: _Entry, reason: str) -> None:
        """``new`` takes over ``old``'s tickets; ``old``'s own request becomes SUPERSEDED.

        An entry's own (SENT) waiter is always its first one; the others ride along. The
        shorter list is appended to the longer one, so a burst of N requests in one window
        costs O(N log N) rather than copying the growing list N times (O(N^2)).
        """

        # Ticketless automatic requests (``auto_own``: the entry's own one has no waiter).
        new.auto_superseded += old.auto_superseded + (1 if old.auto_own else 0)
        new.auto_suppressed += old.auto_suppressed
        if not old.waiters:
            return
        if not old.auto_own:
            own = old.waiters[0]
            if own.outcome_on_success is ReceiptOutcome.SENT:
                old.waiters[0] = _Waiter(own.ticket, ReceiptOutcome.SUPERSEDED, reason)
        if len(old.waiters) > len(new.waiters):
            merged = old.waiters
            if new.waiters and not new.auto_own:
                merged.append(merged[0])
                merged[0] = new.waiters[0]  # new's own request stays first
                merged.extend(new.waiters[1:])
            else:
                merged.extend(new.waiters)
            new.waiters = merged
        else:
            new.waiters.extend(old.waiters)
        old.waiters = []

    def _count(self, outcome: ReceiptOutcome) -> None:
        if outcome is ReceiptOutcome.SUPPRESSED:
            self.suppressed += 1
        elif outcome is ReceiptOutcome.SUPERSEDED:
            self.superseded += 1

    def _settle(self, ticket: ReceiptTicket, outcome: ReceiptOutcome, reason: str) -> None:
        with self._lock:
            self._count(outcome)
        ticket._resolve(outcome, reason)


# --------------------------------------------------------------------------------------------
# Typing
# --------------------------------------------------------------------------------------------


class TypingThrottle:
    """Outgoing typing: at most one event per ``interval`` (leading edge, like all three SDKs).

    ``should_send()`` says whether this call must reach the network; calls inside the window
    succeed without a call. If the send then fails, ``send_failed()`` reopens the window so
    the next keystroke tries again.
    """

    def __init__(self, interval: float = 10.0, clock: Clock = time.monotonic) -> None:
        if not interval >= 0:
            raise InvalidInputError(f"interval must be >= 0, got {interval!r}")
        self.interval = float(interval)
        self._clock = clock
        self._lock = threading.Lock()
        self._last: float | None = None
        self._previous: float | None = None
        self.sent = 0
        self.skipped = 0

    def should_send(self) -> bool:
        """True if a typing event must be sent now (and starts a new window)."""
        with self._lock:
            now = self._clock()
            if self._last is not None and now - self._last < self.interval:
                self.skipped += 1
                return False
            self._previous, self._last = self._last, now
            self.sent += 1
            return True

    def send_failed(self) -> None:
        """The event ``should_send()`` let through did not go out: forget that window."""
        with self._lock:
            self._last = self._previous
            self.sent = max(0, self.sent - 1)

    def reset(self) -> None:
        """Forget the window (a new connection)."""
        with self._lock:
            self._last = self._previous = None


K = TypeVar("K", bound=Hashable)


class TypingIndicators(Generic[K]):
    """Incoming typing indicators per participant, expiring after ``expiry`` seconds.

    An indicator starts (or restarts) with ``on_typing`` and ends when that participant's
    message arrives (``on_message``) or when it expires (``expired``). Only that participant's
    indicator is cleared, unlike iOS, which drops every indicator on any agent message.
    Not thread-safe: the dispatcher thread owns it.
    """

    def __init__(self, expiry: float = 12.0, clock: Clock = time.monotonic) -> None:
        if not expiry > 0:
            raise InvalidInputError(f"expiry must be > 0, got {expiry!r}")
        self.expiry = float(expiry)
        self._clock = clock
        self._until: dict[K, float] = {}

    def on_typing(self, participant: K) -> bool:
        """Start or extend ``participant``'s indicator; True if it was not active before."""
        now = self._clock()
        was_active = self._until.get(participant, float("-inf")) > now
        self._until[participant] = now + self.expiry
        return not was_active

    def on_message(self, participant: K) -> bool:
        """``participant`` sent a message: clear its indicator; True if one was active."""
        until = self._until.pop(participant, None)
        return until is not None and until > self._clock()

    def expired(self, now: float | None = None) -> list[K]:
        """Remove and return the participants whose indicator has expired by ``now``."""
        now = self._clock() if now is None else now
        gone = [p for p, until in self._until.items() if until <= now]
        for participant in gone:
            del self._until[participant]
        return gone

    def next_deadline(self) -> float | None:
        """When the next indicator expires (clock time), or ``None``."""
        return min(self._until.values(), default=None)

    def active(self, now: float | None = None) -> list[K]:
        """Participants whose indicator is currently on."""
        now = self._clock() if now is None else now
        return [p for p, until in self._until.items() if until > now]

    def clear(self) -> list[K]:
        """Drop every indicator (reconnect, reset); return who was active."""
        gone = list(self._until)
        self._until.clear()
        return gone


# --------------------------------------------------------------------------------------------
# Backoff
# --------------------------------------------------------------------------------------------


class Backoff:
    """Exponential backoff with a cap and jitter; the first retry is quick.

    Delays: ``first_delay`` for attempt 1, then ``base``, ``base*factor``, ... capped at
    ``cap``. Each of those is jittered down by up to ``jitter`` of itself (``jitter=1`` is
    "full jitter", uniform in ``[0, d]``; ``0`` is none), so a fleet of clients that lost the
    same server does not reconnect in lock-step; the cap is never exceeded.
    """

    def __init__(
        self,
        base: float = 0.5,
        factor: float = 2.0,
        cap: float = 30.0,
        jitter: float = 0.5,
        first_delay: float = 0.0,
        rng: random.Random | None = None,
    ) -> None:
        if not base > 0:
            raise InvalidInputError(f"base must be > 0, got {base!r}")
        if not factor >= 1:
            raise InvalidInputError(f"factor must be >= 1, got {factor!r}")
        if not cap >= base:
            raise InvalidInputError(f"cap must be >= base, got cap={cap!r} base={base!r}")
        if not 0 <= jitter <= 1:
            raise InvalidInputError(f"jitter must be within [0, 1], got {jitter!r}")
        if not 0 <= first_delay <= cap:
            raise InvalidInputError(f"first_delay must be within [0, cap], got {first_delay!r}")
        self.base = float(base)
        self.factor = float(factor)
        self.cap = float(cap)
        self.jitter = float(jitter)
        self.first_delay = float(first_delay)
        self._rng = rng if rng is not None else random.Random()
        self._attempts = 0
        self._current = self.base

    @property
    def attempts(self) -> int:
        """How many delays were handed out since the last ``reset()``."""
        return self._attempts

    def next_delay(self) -> float:
        """The delay before the next attempt, in seconds."""
        self._attempts += 1
        if self._attempts == 1:
            return self.first_delay
        nominal = self._current
        self._current = min(self.cap, self._current * self.factor)
        return nominal * (1.0 - self.jitter * self._rng.random())

    def delays(self, count: int) -> list[float]:
        """The next ``count`` delays (convenience for logs and tests)."""
        return [self.next_delay() for _ in range(count)]

    def reset(self) -> None:
        """Back to the first (quick) delay, after a success."""
        self._attempts = 0
        self._current = self.base
