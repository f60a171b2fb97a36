"""Fault injection: what the emulator does wrong on purpose, set from any thread."""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from connect_chat.emulator.errors import (
    MODEL_STATUSES,
    S3_OPERATIONS,
    code_for_status,
    possible_statuses,
)

V = TypeVar("V")

#: How long ``reorder_chat_frames`` holds a frame waiting for the next one, by default.
DEFAULT_REORDER_HOLD = 0.5


def valid_close_code(code: int) -> bool:
    """A close code a server may send: 1000, 1001-1014 or an application code 3000-4999."""
    return code == 1000 or 1001 <= code <= 1014 or 3000 <= code <= 4999


@dataclass
class HttpErrorRule:
    """Fail matching REST calls with ``status``: the next ``count`` ones, or each at ``rate``."""

    status: int
    rate: float
    count: int | None
    operations: frozenset[str] | None
    contact_id: str | None
    rng: random.Random = field(repr=False)

    def matches(self, operation: str, contact_id: str | None) -> bool:
        if self.operations is not None and operation not in self.operations:
            return False
        return self.contact_id is None or self.contact_id == contact_id


@dataclass(eq=False)
class Armed(Generic[V]):
    """One armed fault: ``value`` applies to the next ``count`` matching events, or to every
    matching event until cleared (``count=None``)."""

    value: V
    count: int | None
    contact_id: str | None
    operations: frozenset[str] | None = None

    def matches(self, contact_id: str | None, operation: str | None, explicit_only: bool) -> bool:
        if self.count is not None and self.count <= 0:
            return False
        if self.contact_id is not None and self.contact_id != contact_id:
            return False
        if self.operations is None:
            return not explicit_only
        return operation in self.operations


def _check_status(status: int, operations: Iterable[str] | None, allow_any_status: bool) -> None:
    """``ValueError`` unless every operation the rule covers can answer ``status``."""
    names = list(operations) if operations is not None else list(MODEL_STATUSES)
    for name in names:
        try:
            possible = possible_statuses(name)
        except KeyError:
            known = ", ".join([*MODEL_STATUSES, *sorted(S3_OPERATIONS)])
            raise ValueError(f"unknown operation {name!r}; known: {known}") from None
        if possible is not None and status not in possible and not allow_any_status:
            raise ValueError(
                f"{name} cannot answer HTTP {status} (its model's errors and the AWS common "
                f"errors give {sorted(possible)}); pass allow_any_status=True to force it"
            )


def _check_count(count: int | None) -> None:
    if count is not None and count < 0:
        raise ValueError("count must be >= 0")


def _check_seconds(seconds: float) -> None:
    if seconds < 0:
        raise ValueError("seconds must be >= 0")


class Faults:
    """The fault switches of one emulator (``emu.faults``).

    Socket faults act on the server's event loop through the callbacks the server installs;
    the rest are rules the request handlers, the WebSocket handler and the frame fan-out take
    (under a lock) when they act. ``release`` is called by :meth:`clear` to send at once what
    the loop still holds (delayed echoes, frames held for reordering).
    """

    def __init__(
        self,
        drop: Callable[[str | None], int],
        expire: Callable[[str | None], int],
        close: Callable[[int, str | None], int],
        release: Callable[[], None] | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._drop = drop
        self._close = close
        self._expire = expire
        self._release = release
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._rules: list[HttpErrorRule] = []
        self._silence_all_until = 0.0
        self._silence_until: dict[str, float] = {}
        self._latency: list[Armed[float]] = []
        self._ping_errors: list[Armed[tuple[int, str]]] = []
        self._upgrade_refusals: list[Armed[int]] = []
        self._duplicates: list[Armed[bool]] = []
        self._reorders: list[Armed[float]] = []
        self._echo_delays: list[Armed[float]] = []
        self._response_delays: list[Armed[float]] = []

    def _arm(self, rules: list[Armed[V]], rule: Armed[V]) -> None:
        with self._lock:
            rules.append(rule)

    def _take(
        self,
        rules: list[Armed[V]],
        contact_id: str | None,
        operation: str | None = None,
        explicit_only: bool = False,
    ) -> V | None:
        """The value of the first rule matching this event (using up one of its count)."""
        with self._lock:
            for rule in rules:
                if rule.matches(contact_id, operation, explicit_only):
                    if rule.count is not None:
                        rule.count -= 1
                        if rule.count <= 0:
                            rules.remove(rule)
                    return rule.value
        return None

    # --- sockets -------------------------------------------------------------------------
    def drop_websockets(self, contact_id: str | None = None) -> int:
        """Abort every open chat WebSocket (or one contact's) at the TCP level, no close frame.

        Returns how many sockets were dropped.
        """
        return self._drop(contact_id)

    def close_websockets(self, code: int = 1011, contact_id: str | None = None) -> int:
        """Close every chat WebSocket (or one contact's) cleanly with ``code``.

        Clients react to the code (Android reconnects unless it is 1000). Returns the count.
        """
        if not valid_close_code(code):
            raise ValueError("code must be a valid WebSocket close code")
        return self._close(code, contact_id)

    def silence_heartbeats(self, seconds: float, contact_id: str | None = None) -> None:
        """Stop answering ``aws/heartbeat`` and ``aws/ping`` for ``seconds``.

        The socket stays open and ``aws/chat`` frames keep flowing; only the two heartbeat
        answers are withheld (what a client sees when the service's backend path is stuck).
        """
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        until = time.monotonic() + seconds
        with self._lock:
            if contact_id is None:
                self._silence_all_until = until
            else:
                self._silence_until[contact_id] = until

    def heartbeats_silenced(self, contact_id: str) -> bool:
        now = time.monotonic()
        with self._lock:
            return now < self._silence_all_until or now < self._silence_until.get(contact_id, 0.0)

    def ping_errors(
        self,
        status: int = 500,
        content: str = "Internal Server Error",
        count: int | None = None,
        contact_id: str | None = None,
    ) -> None:
        """Answer ``aws/ping`` with ``statusCode`` ``status`` and ``statusContent`` ``content``.

        The next ``count`` pings (or all until cleared) get
        ``{"topic": "aws/ping", "statusCode": status, "statusContent": content}``: a failed deep
        heartbeat. ``aws/heartbeat`` is still answered. ``silence_heartbeats`` wins over this.
        """
        if not 100 <= status <= 599:
            raise ValueError("status must be an HTTP status code")
        _check_count(count)
        self._arm(self._ping_errors, Armed((status, str(content)), count, contact_id))

    def injected_ping_error(self, contact_id: str) -> tuple[int, str] | None:
        """``(statusCode, statusContent)`` for this ping if ``ping_errors`` applies."""
        return self._take(self._ping_errors, contact_id)

    def refuse_upgrades(
        self, count: int | None = None, status: int = 403, contact_id: str | None = None
    ) -> None:
        """Refuse the next ``count`` WebSocket upgrades (or all until cleared) with ``status``.

        The client gets a plain HTTP answer instead of ``101 Switching Protocols``; the URL is
        not used up, so a later attempt with it can succeed. ``contact_id`` is the contact the
        URL's token belongs to (an unknown token matches only rules without a contact).
        """
        if not 400 <= status <= 599:
            raise ValueError("status must be a 4xx or 5xx code")
        _check_count(count)
        self._arm(self._upgrade_refusals, Armed(status, count, contact_id))

    def injected_upgrade_refusal(self, contact_id: str | None) -> int | None:
        """The HTTP status to refuse this upgrade with, if ``refuse_upgrades`` applies."""
        return self._take(self._upgrade_refusals, contact_id)

    # --- aws/chat frames -------------------------------------------------------------------
    def duplicate_chat_frames(
        self, count: int | None = None, contact_id: str | None = None
    ) -> None:
        """Send each of the next ``count`` ``aws/chat`` frames (or all until cleared) twice in a
        row to every socket it goes to. Frames nobody receives do not count."""
        _check_count(count)
        self._arm(self._duplicates, Armed(True, count, contact_id))

    def take_duplicate(self, contact_id: str) -> bool:
        return self._take(self._duplicates, contact_id) is not None

    def reorder_chat_frames(
        self,
        count: int | None = 1,
        contact_id: str | None = None,
        hold: float = DEFAULT_REORDER_HOLD,
    ) -> None:
        """Swap the next ``count`` pairs of consecutive ``aws/chat`` frames of a contact.

        The first frame of a pair is held until the contact's next frame, then both go out,
        the newer one first. A frame held alone for ``hold`` seconds goes out as it is (nothing
        is lost) and uses up its pair. ``count=None``: every pair until cleared.
        """
        _check_count(count)
        if hold <= 0:
            raise ValueError("hold must be > 0")
        self._arm(self._reorders, Armed(float(hold), count, contact_id))

    def take_reorder(self, contact_id: str) -> float | None:
        """The hold time if this frame starts a swapped pair, else ``None``."""
        return self._take(self._reorders, contact_id)

    # --- SendMessage: response and echo order ---------------------------------------------
    def delay_echo(
        self, seconds: float, count: int | None = None, contact_id: str | None = None
    ) -> None:
        """Push the ``aws/chat`` echo of the next ``count`` customer SendMessage calls (or all
        until cleared) ``seconds`` after the HTTP response: the response clearly comes first.

        The message is stored (GetTranscript shows it) before the response; only the frame
        waits, so later frames may overtake it.
        """
        _check_seconds(seconds)
        _check_count(count)
        self._arm(self._echo_delays, Armed(float(seconds), count, contact_id))

    def injected_echo_delay(self, contact_id: str) -> float:
        return self._take(self._echo_delays, contact_id) or 0.0

    def delay_response_after_echo(
        self, seconds: float, count: int | None = None, contact_id: str | None = None
    ) -> None:
        """Hold the HTTP response of the next ``count`` successful SendMessage calls (or all
        until cleared) for ``seconds`` after the message was pushed: the echo comes first."""
        _check_seconds(seconds)
        _check_count(count)
        self._arm(self._response_delays, Armed(float(seconds), count, contact_id))

    def injected_response_delay(self, contact_id: str | None) -> float:
        return self._take(self._response_delays, contact_id) or 0.0

    # --- tokens --------------------------------------------------------------------------
    def expire_connection_tokens(self, contact_id: str | None = None) -> int:
        """Invalidate every current connection token (or one contact's) on the server side.

        Later calls with them get ``AccessDeniedException``; participant tokens stay valid,
        so a new CreateParticipantConnection works. Returns how many tokens were expired.
        """
        return self._expire(contact_id)

    # --- REST latency and errors -----------------------------------------------------------
    def latency(
        self,
        seconds: float,
        operations: Iterable[str] | None = None,
        count: int | None = None,
        contact_id: str | None = None,
    ) -> None:
        """Answer matching REST calls only after ``seconds`` (the next ``count``, or all).

        The wait comes before the call is processed, so its effects (a stored message, its
        echo) come late too. Other requests are served meanwhile. ``operations`` restricts it
        to operation names; StartChatContact has no contact yet, so only rules without a
        ``contact_id`` delay it. Attachment transfers wait only when ``operations`` names
        ``UploadAttachment``/``DownloadAttachment``.
        """
        _check_seconds(seconds)
        _check_count(count)
        ops = frozenset(operations) if operations is not None else None
        self._arm(self._latency, Armed(float(seconds), count, contact_id, ops))

    def injected_latency(
        self, operation: str, contact_id: str | None, *, explicit_only: bool = False
    ) -> float:
        """Seconds to wait before processing this call (0.0 if no ``latency`` rule applies)."""
        return self._take(self._latency, contact_id, operation, explicit_only) or 0.0

    def http_errors(
        self,
        status: int = 503,
        rate: float = 0.3,
        count: int | None = None,
        operations: Iterable[str] | None = None,
        seed: int | None = None,
        contact_id: str | None = None,
        allow_any_status: bool = False,
    ) -> None:
        """Fail REST calls with ``status`` and the matching error type.

        With ``count``, exactly the next ``count`` matching calls fail (``rate`` is ignored);
        otherwise each matching call fails with probability ``rate`` (``seed`` makes the draw
        reproducible). ``operations`` restricts it to operation names (``"SendMessage"``...).

        ``status`` must be one every matching operation can really answer: an error shape of
        its botocore model (``errors.MODEL_STATUSES``) or an AWS common error (400, 403, 500,
        503); the attachment transfers (S3) take any 4xx/5xx. ``allow_any_status=True`` forces
        another one (a client's handling of statuses the service never sends).
        """
        if not 400 <= status <= 599:
            raise ValueError("status must be a 4xx or 5xx code")
        _check_status(status, operations, allow_any_status)
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        if count is not None and count < 0:
            raise ValueError("count must be >= 0")
        rule = HttpErrorRule(
            status=status,
            rate=rate,
            count=count,
            operations=frozenset(operations) if operations is not None else None,
            contact_id=contact_id,
            rng=random.Random(seed),
        )
        with self._lock:
            self._rules.append(rule)

    def injected_error(
        self, operation: str, contact_id: str | None, *, explicit_only: bool = False
    ) -> tuple[int, str] | None:
        """``(status, code)`` if an ``http_errors`` rule fails this call, else ``None``.

        ``explicit_only``: only rules that name ``operation`` apply (attachment transfers).
        """
        connect = operation == "StartChatContact"
        with self._lock:
            for rule in self._rules:
                if explicit_only and rule.operations is None:
                    continue
                if not rule.matches(operation, contact_id):
                    continue
                if rule.count is not None:
                    if rule.count <= 0:
                        continue
                    rule.count -= 1
                    return rule.status, code_for_status(rule.status, connect=connect)
                if rule.rng.random() < rule.rate:
                    return rule.status, code_for_status(rule.status, connect=connect)
        return None

    # --- waiting ---------------------------------------------------------------------------
    async def hold(self, seconds: float) -> None:
        """Wait ``seconds`` on the running loop (other requests go on), or until :meth:`clear`."""
        woken = asyncio.Event()
        waiter = (asyncio.get_running_loop(), woken)
        with self._lock:
            self._waiters.add(waiter)
        try:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(woken.wait(), seconds)
        finally:
            with self._lock:
                self._waiters.discard(waiter)

    def wake_held_calls(self) -> None:
        """End every wait of :meth:`hold` now (the calls go on); armed rules stay."""
        with self._lock:
            waiters = list(self._waiters)
        for loop, woken in waiters:
            with contextlib.suppress(RuntimeError):  # the loop has stopped meanwhile
                loop.call_soon_threadsafe(woken.set)

    def held_calls(self) -> int:
        """How many REST calls are waiting right now on ``latency`` or
        ``delay_response_after_echo`` (lets a test act while a call is in flight)."""
        with self._lock:
            return len(self._waiters)

    def clear(self) -> None:
        """Remove every armed fault (REST errors and latency, heartbeat silence, ping errors,
        upgrade refusals, frame duplication and reordering, echo and response delays) and
        release what they hold: waiting REST calls are answered, delayed echoes and frames
        held for reordering are sent now. Dropped or closed sockets stay closed.
        """
        with self._lock:
            self._rules.clear()
            self._silence_all_until = 0.0
            self._silence_until.clear()
            for rules in (
                self._latency,
                self._ping_errors,
                self._upgrade_refusals,
                self._duplicates,
                self._reorders,
                self._echo_delays,
                self._response_delays,
            ):
                rules.clear()
        self.wake_held_calls()
        if self._release is not None:
            self._release()
