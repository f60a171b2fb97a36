"""Fault injection: what the emulator does wrong on purpose, set from any thread."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from connect_chat.emulator.errors import code_for_status


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


class Faults:
    """The fault switches of one emulator (``emu.faults``).

    Socket faults act on the server's event loop through the callbacks the server installs;
    the rest are flags the request handlers read.
    """

    def __init__(
        self,
        drop: Callable[[str | None], int],
        expire: Callable[[str | None], int],
        close: Callable[[int, str | None], int],
    ) -> None:
        self._lock = threading.Lock()
        self._drop = drop
        self._close = close
        self._expire = expire
        self._rules: list[HttpErrorRule] = []
        self._silence_all_until = 0.0
        self._silence_until: dict[str, float] = {}

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
        if not (code == 1000 or 1001 <= code <= 1014 or 3000 <= code <= 4999):
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

    # --- tokens --------------------------------------------------------------------------
    def expire_connection_tokens(self, contact_id: str | None = None) -> int:
        """Invalidate every current connection token (or one contact's) on the server side.

        Later calls with them get ``AccessDeniedException``; participant tokens stay valid,
        so a new CreateParticipantConnection works. Returns how many tokens were expired.
        """
        return self._expire(contact_id)

    # --- REST errors ---------------------------------------------------------------------
    def http_errors(
        self,
        status: int = 503,
        rate: float = 0.3,
        count: int | None = None,
        operations: Iterable[str] | None = None,
        seed: int | None = None,
        contact_id: str | None = None,
    ) -> None:
        """Fail REST calls with ``status`` and the matching error type.

        With ``count``, exactly the next ``count`` matching calls fail (``rate`` is ignored);
        otherwise each matching call fails with probability ``rate`` (``seed`` makes the draw
        reproducible). ``operations`` restricts it to operation names (``"SendMessage"``...).
        """
        if not 400 <= status <= 599:
            raise ValueError("status must be a 4xx or 5xx code")
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

    def clear(self) -> None:
        """Remove every fault: REST errors and heartbeat silence (dropped sockets stay dropped)."""
        with self._lock:
            self._rules.clear()
            self._silence_all_until = 0.0
            self._silence_until.clear()
