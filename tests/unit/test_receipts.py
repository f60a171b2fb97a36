"""receipts.py: the receipt window policy and its tickets, driven by a fake clock."""

from __future__ import annotations

import itertools
import json
import random
import threading

import pytest

from connect_chat import receipts
from connect_chat.enums import MessageReceiptType
from connect_chat.errors import InvalidInputError
from connect_chat.receipts import ReceiptBatch, ReceiptOutcome, ReceiptThrottle, ReceiptTicket
from tests.unit.fake_clock import FakeClock

READ = MessageReceiptType.MESSAGE_READ
DELIVERED = MessageReceiptType.MESSAGE_DELIVERED


def ts(i: int) -> str:
    """An AbsoluteTime-style timestamp for message number ``i``."""
    return f"2025-05-24T21:40:{i // 1000:02d}.{i % 1000:03d}Z"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def throttle(clock: FakeClock) -> ReceiptThrottle:
    return ReceiptThrottle(throttle_time=5.0, clock=clock)


def flush_and_send(
    throttle: ReceiptThrottle, clock: FakeClock
) -> list[ReceiptBatch]:
    """Close the window and report every batch as sent."""
    deadline = throttle.next_deadline()
    assert deadline is not None
    clock.now = deadline
    batches = throttle.flush()
    for batch in batches:
        throttle.mark_sent(batch)
    return batches


def sent_pairs(batches: list[ReceiptBatch]) -> list[tuple[MessageReceiptType, str]]:
    return [(b.receipt_type, b.message_id) for b in batches]


# -- ReceiptThrottle ---------------------------------------------------------------------------


def test_hundred_reads_in_one_window_make_one_send_for_the_newest(
    throttle: ReceiptThrottle, clock: FakeClock
) -> None:
    tickets = []
    for i in range(100):
        tickets.append(throttle.request(READ, f"m{i}", timestamp=ts(i)))
        clock.advance(0.01)
    batches = flush_and_send(throttle, clock)
    assert sent_pairs(batches) == [(READ, "m99")]
    assert [t.wait(0) for t in tickets[:-1]] == [ReceiptOutcome.SUPERSEDED] * 99
    assert tickets[-1].wait(0) is ReceiptOutcome.SENT
    assert (throttle.sent, throttle.superseded, throttle.suppressed) == (1, 99, 0)
    assert throttle.next_deadline() is None


def test_newest_is_decided_by_timestamp_not_request_order(
    throttle: ReceiptThrottle, clock: FakeClock
) -> None:
    newer = throttle.request(READ, "new", timestamp=ts(2))
    older = throttle.request(READ, "old", timestamp=ts(1))
    assert sent_pairs(flush_and_send(throttle, clock)) == [(READ, "new")]
    assert newer.wait(0) is ReceiptOutcome.SENT
    assert older.wait(0) is ReceiptOutcome.SUPERSEDED


def test_without_timestamps_request_order_decides(
    throttle: ReceiptThrottle, clock: FakeClock
) -> None:
    throttle.request(DELIVERED, "a")
    throttle.request(DELIVERED, "b")
    assert sent_pairs(flush_and_send(throttle, clock)) == [(DELIVERED, "b")]


def test_nothing_goes_out_before_the_window_closes(
    throttle: ReceiptThrottle, clock: FakeClock
) -> None:
    ticket = throttle.request(READ, "m1", timestamp=ts(1))
    assert throttle.next_deadline() == clock.now + 5.0
    clock.advance(4.999)
    assert throttle.flush() == []
    assert not ticket.done
    clock.advance(0.001)
    assert sent_pairs(throttle.flush()) == [(READ, "m1")]


def test_read_supersedes_delivered_for_the_same_message(
    throttle: ReceiptThrottle, clock: FakeClock
) -> None:
    delivered = throttle.request(DELIVERED, "m1", timestamp=ts(1))
    read = throttle.request(READ, "m1", timestamp=ts(1))
    assert sent_pairs(flush_and_send(throttle, clock)) == [(READ, "m1")]
    assert read.wait(0) is ReceiptOutcome.SENT
    assert delivered.wait(0) is ReceiptOutcome.SUPERSEDED


def test_delivered_after_pending_read_rides_on_the_read(
    throttle: ReceiptThrottle, clock: FakeClock
) -> None:
    read = throttle.request(READ, "m2", timestamp=ts(2))
    same = throttle.request(DELIVERED, "m2", timestamp=ts(2))
    older = throttle.request(DELIVERED, "m1", timestamp=ts(1))
    assert not same.done
    assert sent_pairs(flush_and_send(throttle, clock)) == [(READ, "m2")]
    assert read.wait(0) is ReceiptOutcome.SENT
    assert same.wait(0) is ReceiptOutcome.SUPERSEDED
    assert older.wait(0) is ReceiptOutcome.SUPERSEDED


def test_read_and_delivered_for_different_messages_both_go_in_one_window(
    throttle: ReceiptThrottle, clock: FakeClock
) -> None:
    throttle.request(READ, "m1", timestamp=ts(1))
    throttle.request(DELIVERED, "m2", timestamp=ts(2))
    throttle.request(DELIVERED, "m3", timestamp=ts(3))
    assert sent_pairs(flush_and_send(throttle, clock)) == [(READ, "m1"), (DELIVERED, "m3")]


def test_message_already_read_needs_no_delivered(
    throttle: ReceiptThrottle, clock: FakeClock
) -> None:
    throttle.request(READ, "m2", timestamp=ts(2))
    flush_and_send(throttle, clock)
    for message_id, i in (("m2", 2), ("m1", 1)):
        ticket = throttle.request(DELIVERED, message_id, timestamp=ts(i))
        assert ticket.wait(0) is ReceiptOutcome.SUPERSEDED
    assert throttle.next_deadline() is None


def test_duplicate_after_send_is_suppressed_without_a_window(
    throttle: ReceiptThrottle, clock: FakeClock
) -> None:
    throttle.request(READ, "m1", timestamp=ts(1))
    flush_and_send(throttle, clock)
    dup = throttle.request(READ, "m1", timestamp=ts(1))
    assert dup.wait(0) is ReceiptOutcome.SUPPRESSED
    assert dup.reason
    assert throttle.next_deadline() is None
    assert throttle.suppressed == 1


def test_duplicate_in_the_same_window_is_suppressed_once_sent(
    throttle: ReceiptThrottle, clock: FakeClock
) -> None:
    first = throttle.request(READ, "m1", timestamp=ts(1))
    dup = throttle.request(READ, "m1", timestamp=ts(1))
    batches = flush_and_send(throttle, clock)
    assert len(batches) == 1
    assert first.wait(0) is ReceiptOutcome.SENT
    assert dup.wait(0) is ReceiptOutcome.SUPPRESSED


def test_older_than_already_receipted_is_never_sent(
    throttle: ReceiptThrottle, clock: FakeClock
) -> None:
    throttle.request(DELIVERED, "m5", timestamp=ts(5))
    flush_and_send(throttle, clock)
    older = throttle.request(DELIVERED, "m3", timestamp=ts(3))
    assert older.wait(0) is ReceiptOutcome.SUPERSEDED
    assert throttle.next_deadline() is None


def test_request_while_in_flight_learns_the_in_flight_outcome(
    throttle: ReceiptThrottle, clock: FakeClock
) -> None:
    throttle.request(READ, "m2", timestamp=ts(2))
    clock.now = throttle.next_deadline() or 0.0
    (batch,) = throttle.flush()
    older = throttle.request(READ, "m1", timestamp=ts(1))
    dup = throttle.request(READ, "m2", timestamp=ts(2))
    assert throttle.next_deadline() is None  # no new window for covered requests
    assert not older.done
    throttle.mark_sent(batch)
    assert older.wait(0) is ReceiptOutcome.SUPERSEDED
    assert dup.wait(0) is ReceiptOutcome.SUPPRESSED


def test_own_messages_never_get_receipts(throttle: ReceiptThrottle) -> None:
    ticket = throttle.request(READ, "mine", timestamp=ts(1), own_message=True)
    assert ticket.wait(0) is ReceiptOutcome.SUPPRESSED
    assert "own" in ticket.reason
    assert throttle.next_deadline() is None
    assert throttle.flush(force=True) == []


def test_disabled_sends_nothing_but_answers(clock: FakeClock) -> None:
    throttle = ReceiptThrottle(clock=clock, enabled=False)
    ticket = throttle.request(DELIVERED, "m1")
    assert ticket.wait(0) is ReceiptOutcome.SUPPRESSED
    assert throttle.next_deadline() is None


def test_at_most_one_of_each_type_per_window_across_windows(
    throttle: ReceiptThrottle, clock: FakeClock
) -> None:
    send_times: list[float] = []
    for i in range(60):  # one read request every 0.5 s for 30 s
        throttle.request(READ, f"m{i}", timestamp=ts(i))
        for batch in throttle.flush():  # nothing before the window closes
            send_times.append(clock.now)
            throttle.mark_sent(batch)
        clock.advance(0.5)
    gaps = [b - a for a, b in itertools.pairwise(send_times)]
    assert len(send_times) >= 5
    assert all(gap >= 5.0 for gap in gaps)


def test_window_reopens_after_a_flush(throttle: ReceiptThrottle, clock: FakeClock) -> None:
    throttle.request(READ, "m1", timestamp=ts(1))
    flush_and_send(throttle, clock)
    clock.advance(0.1)
    throttle.request(READ, "m2", timestamp=ts(2))
    assert throttle.next_deadline() == pytest.approx(clock.now + 5.0)
    assert sent_pairs(flush_and_send(throttle, clock)) == [(READ, "m2")]


def test_failure_resolves_every_ticket_and_allows_a_retry(
    throttle: ReceiptThrottle, clock: FakeClock
) -> None:
    older = throttle.request(READ, "m1", timestamp=ts(1))
    newest = throttle.request(READ, "m2", timestamp=ts(2))
    clock.now = throttle.next_deadline() or 0.0
    (batch,) = throttle.flush()
    error = ConnectionError("boom")
    throttle.mark_failed(batch, error)
    assert older.wait(0) is ReceiptOutcome.FAILED
    assert newest.wait(0) is ReceiptOutcome.FAILED
    assert newest.error is error
    assert throttle.failed == 2
    retry = throttle.request(READ, "m2", timestamp=ts(2))
    assert sent_pairs(flush_and_send(throttle, clock)) == [(READ, "m2")]
    assert retry.wait(0) is ReceiptOutcome.SENT


def test_each_batch_has_a_unique_client_token_and_the_clients_content(
    throttle: ReceiptThrottle, clock: FakeClock
) -> None:
    tokens = set()
    for i in range(5):
        throttle.request(READ, f"m{i}", timestamp=ts(i))
        (batch,) = flush_and_send(throttle, clock)
        tokens.add(batch.client_token)
        assert json.loads(batch.content) == {"messageId": f"m{i}"}
        assert batch.content_type == READ.value
        clock.advance(1)
    assert len(tokens) == 5


def test_cancel_fails_pending_and_in_flight_tickets(
    throttle: ReceiptThrottle, clock: FakeClock
) -> None:
    in_flight = throttle.request(READ, "m1", timestamp=ts(1))
    clock.now = throttle.next_deadline() or 0.0
    (batch,) = throttle.flush()
    pending = throttle.request(DELIVERED, "m2", timestamp=ts(2))
    closed = RuntimeError("session closed")
    throttle.cancel(closed)
    assert in_flight.wait(0) is ReceiptOutcome.FAILED
    assert pending.error is closed
    assert throttle.next_deadline() is None
    throttle.mark_sent(batch)  # a late report changes nothing
    assert in_flight.outcome is ReceiptOutcome.FAILED


def test_on_schedule_is_called_when_a_window_opens(clock: FakeClock) -> None:
    calls: list[float] = []
    throttle = ReceiptThrottle(clock=clock, on_schedule=lambda: calls.append(clock.now))
    throttle.request(READ, "m1")
    throttle.request(READ, "m2")
    assert len(calls) == 1


def test_ticket_wait_blocks_until_another_thread_resolves(
    throttle: ReceiptThrottle, clock: FakeClock
) -> None:
    ticket = throttle.request(READ, "m1")
    assert ticket.wait(0) is None
    assert ticket.outcome is None
    started = threading.Event()

    def dispatcher() -> None:
        started.set()
        flush_and_send(throttle, clock)

    worker = threading.Thread(target=dispatcher)
    worker.start()
    assert started.wait(5)
    assert ticket.wait(5) is ReceiptOutcome.SENT
    worker.join(5)
    assert "SENT" in repr(ticket) or "Sent" in repr(ticket)


class _WatchedTicket(ReceiptTicket):
    """A ticket that records every check of its state made by the thread ``watch`` names,
    and holds that thread inside its second check (made under its condition's lock) until
    ``release`` is set."""

    __slots__ = ("_value",)
    watch: int | None = None
    checks: list[bool] = []
    checking = threading.Event()
    release = threading.Event()

    @property  # type: ignore[override]
    def _done(self) -> bool:
        value: bool = self._value
        cls = _WatchedTicket
        if threading.get_ident() == cls.watch:
            cls.checks.append(value)
            if len(cls.checks) == 2:
                cls.checking.set()
                assert cls.release.wait(10)
        return value

    @_done.setter
    def _done(self, value: bool) -> None:
        self._value = value


def test_a_throttle_wakes_only_its_own_waiters(
    monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    """Each throttle has its own condition: settling B's tickets neither waits for nor wakes
    a waiter of A. The waiter is held inside its first check under the lock; B must still
    settle at once (with one condition for every ticket it would block, and then wake the
    waiter too). Then the waiter wakes once, for its own ticket."""
    monkeypatch.setattr(receipts, "ReceiptTicket", _WatchedTicket)
    for name, fresh in (("watch", None), ("checks", []), ("checking", threading.Event()),
                        ("release", threading.Event())):
        monkeypatch.setattr(_WatchedTicket, name, fresh)
    first, second = ReceiptThrottle(clock=clock), ReceiptThrottle(clock=clock)
    mine = first.request(READ, "a1")
    other = second.request(READ, "b1")
    outcome: list[ReceiptOutcome | None] = []

    def wait_for_mine() -> None:
        _WatchedTicket.watch = threading.get_ident()
        outcome.append(mine.wait(10))

    def settle(throttle: ReceiptThrottle) -> None:
        for batch in throttle.flush(force=True):
            throttle.mark_sent(batch)

    waiter = threading.Thread(target=wait_for_mine)
    other_settles = threading.Thread(target=settle, args=(second,))
    waiter.start()
    try:
        assert _WatchedTicket.checking.wait(10)
        other_settles.start()
        other_settles.join(5)
        assert not other_settles.is_alive()  # it did not need the waiter's lock
        assert other.outcome is ReceiptOutcome.SENT
    finally:
        _WatchedTicket.release.set()
        if other_settles.ident is not None:
            other_settles.join(10)
        settle(first)
        waiter.join(10)
    assert outcome == [ReceiptOutcome.SENT]
    assert _WatchedTicket.checks == [False, False, True]  # woken once: by its own throttle


def test_ticket_repr_is_informative(throttle: ReceiptThrottle) -> None:
    ticket = throttle.request(READ, "m1")
    assert "pending" in repr(ticket) and "m1" in repr(ticket)


def test_bad_receipt_settings_are_rejected() -> None:
    with pytest.raises(InvalidInputError):
        ReceiptThrottle(throttle_time=-1)
    with pytest.raises(InvalidInputError):
        ReceiptThrottle(delivered_delay=-1)


def test_delivered_delay_lets_a_later_read_cover_the_delivered(clock: FakeClock) -> None:
    throttle = ReceiptThrottle(throttle_time=5.0, clock=clock, delivered_delay=3.0)
    start = clock.now
    throttle.request(READ, "m1", timestamp=ts(1))
    clock.now = start + 4.0
    delivered = throttle.request(DELIVERED, "m2", timestamp=ts(2))  # ready at +7
    clock.now = start + 5.0
    first = throttle.flush()
    for batch in first:
        throttle.mark_sent(batch)
    assert sent_pairs(first) == [(READ, "m1")]
    assert throttle.next_deadline() == start + 10.0  # the next window, not ready_at
    clock.now = start + 6.0
    read = throttle.request(READ, "m2", timestamp=ts(2))
    assert sent_pairs(flush_and_send(throttle, clock)) == [(READ, "m2")]
    assert read.wait(0) is ReceiptOutcome.SENT
    assert delivered.wait(0) is ReceiptOutcome.SUPERSEDED
    assert throttle.sent == 2


def test_delivered_delay_is_not_postponed_by_a_stream(clock: FakeClock) -> None:
    throttle = ReceiptThrottle(throttle_time=5.0, clock=clock, delivered_delay=3.0)
    sends: list[tuple[float, str]] = []
    for i in range(30):  # a delivered request every second for 30 s
        throttle.request(DELIVERED, f"m{i}", timestamp=ts(i))
        clock.advance(1.0)
        for batch in throttle.flush():  # nothing before the window closes
            sends.append((clock.now, batch.message_id))
            throttle.mark_sent(batch)
    assert len(sends) >= 4
    assert sends[0][1] == "m4"  # the newest at the first window's end, not held back


def test_delivered_delay_longer_than_the_window(clock: FakeClock) -> None:
    throttle = ReceiptThrottle(throttle_time=0.0, clock=clock, delivered_delay=3.0)
    start = clock.now
    ticket = throttle.request(DELIVERED, "m1")
    assert throttle.flush() == []
    assert throttle.next_deadline() == start + 3.0
    clock.now = start + 3.0
    (batch,) = throttle.flush()
    throttle.mark_sent(batch)
    assert ticket.wait(0) is ReceiptOutcome.SENT


def test_force_flush_ignores_windows_and_delays(clock: FakeClock) -> None:
    throttle = ReceiptThrottle(throttle_time=5.0, clock=clock, delivered_delay=3.0)
    throttle.request(DELIVERED, "m2", timestamp=ts(2))
    throttle.request(READ, "m1", timestamp=ts(1))
    assert sent_pairs(throttle.flush(force=True)) == [(READ, "m1"), (DELIVERED, "m2")]
    assert throttle.next_deadline() is None


def test_automatic_requests_in_one_window_make_one_send_for_the_newest(
    throttle: ReceiptThrottle, clock: FakeClock
) -> None:
    user = throttle.request(DELIVERED, "m0", timestamp=ts(0))
    for i in range(1, 51):
        throttle.request_automatic(DELIVERED, f"m{i}", ts(i))
        clock.advance(0.01)
    batches = flush_and_send(throttle, clock)
    assert sent_pairs(batches) == [(DELIVERED, "m50")]
    assert batches[0].tickets == (user,)  # automatic requests carry no ticket
    assert user.outcome is ReceiptOutcome.SUPERSEDED
    assert user.reason == "a newer message's receipt covers it"
    assert (throttle.sent, throttle.superseded, throttle.suppressed) == (1, 50, 0)
    throttle.request_automatic(DELIVERED, "m50", ts(50))  # already sent: nothing pending
    assert throttle.next_deadline() is None and throttle.suppressed == 1


def test_automatic_requests_ride_on_a_read_and_fail_with_it(
    throttle: ReceiptThrottle, clock: FakeClock
) -> None:
    throttle.request_automatic(DELIVERED, "m1", ts(1))
    read = throttle.request(READ, "m2", timestamp=ts(2))
    throttle.request_automatic(DELIVERED, "m2", ts(2))  # covered by the pending Read
    deadline = throttle.next_deadline()
    assert deadline is not None
    clock.now = deadline
    batches = throttle.flush()
    assert sent_pairs(batches) == [(READ, "m2")]
    throttle.mark_failed(batches[0], OSError("boom"))
    assert read.outcome is ReceiptOutcome.FAILED
    assert throttle.failed == 3  # the Read and both automatic Delivered requests
    assert throttle.sent == 0 and throttle.superseded == 0


def _run_receipt_script(seed: int, automatic: bool) -> list[object]:
    """Drive one throttle through a random script; automatic Delivered receipts go through
    ``request_automatic`` (or ``request``, ticket dropped). Returns everything observable."""
    rng = random.Random(seed)
    clock = FakeClock()
    throttle = ReceiptThrottle(throttle_time=5.0, clock=clock, delivered_delay=3.0)
    tickets: list[ReceiptTicket] = []
    labels: dict[int, int] = {}
    trace: list[object] = []
    for _ in range(120):
        op = rng.random()
        i = rng.randrange(40)
        if op < 0.45:
            if automatic:
                throttle.request_automatic(DELIVERED, f"m{i}", ts(i))
            else:
                throttle.request(DELIVERED, f"m{i}", timestamp=ts(i))
        elif op < 0.7:
            kind = READ if rng.random() < 0.5 else DELIVERED
            ticket = throttle.request(kind, f"m{i}", timestamp=ts(i), own_message=i % 13 == 0)
            labels[id(ticket)] = len(tickets)
            tickets.append(ticket)
        elif op < 0.8:
            clock.advance(rng.choice([0.5, 2.0, 4.0]))
        elif op < 0.97:
            clock.advance(rng.choice([0.0, 3.0, 5.0]))
            batches = throttle.flush(force=rng.random() < 0.2)
            for batch in batches:
                mine = sorted(labels[id(t)] for t in batch.tickets if id(t) in labels)
                trace.append((batch.receipt_type, batch.message_id, mine))
                if rng.random() < 0.8:
                    throttle.mark_sent(batch)
                else:
                    throttle.mark_failed(batch, OSError("boom"))
        else:
            throttle.cancel(OSError("gone"))
        trace.append((throttle.sent, throttle.suppressed, throttle.superseded, throttle.failed,
                      throttle.next_deadline()))
    throttle.cancel(OSError("end"))
    trace.append([(t.outcome, t.reason) for t in tickets])
    trace.append((throttle.sent, throttle.suppressed, throttle.superseded, throttle.failed))
    return trace


@pytest.mark.parametrize("seed", range(40))
def test_automatic_requests_behave_exactly_like_ticketed_ones(seed: int) -> None:
    assert _run_receipt_script(seed, automatic=True) == _run_receipt_script(
        seed, automatic=False
    )
