"""``SessionStats``: a session's local counters, for monitoring and tests.

One way to bump a counter: :meth:`SessionStats.incr` (thread-safe; the socket, dispatcher
and caller threads all count). Receipt counts live in each connection's receipt throttle
and are read through; when a connection ends its counts are folded in here and the throttle
is let go, so a session reused for many chats holds no finished connection.
"""

from __future__ import annotations

import threading
from typing import Protocol


class ReceiptCounts(Protocol):
    """What a receipt throttle counts (see ``receipts``)."""

    @property
    def sent(self) -> int: ...
    @property
    def suppressed(self) -> int: ...
    @property
    def superseded(self) -> int: ...
    @property
    def failed(self) -> int: ...


_RECEIPT_FIELDS = ("sent", "suppressed", "superseded", "failed")


class SessionStats:
    """Local counters of one session (all its connections), for monitoring and tests.

    Nothing here ever leaves the process. Robustness: ``bad_frames`` (frames dropped as
    unusable, each logged), ``bad_history_items`` (unreadable GetTranscript items left out),
    ``inbox_overflows`` (live frames that found the inbox full, recovered by GetTranscript),
    ``gap_fills`` (GetTranscript catch-ups after a reconnect or an overflow),
    ``gap_fills_truncated`` (catch-ups that stopped at ``gap_fill_max_pages``). Activity:
    ``messages_sent`` (SendMessage successes), ``attachments_sent`` (uploads completed),
    ``messages_received`` (new messages and attachments from other participants, live or
    gap-filled), ``reconnects`` (WebSocket re-established), ``retries`` (REST attempts
    repeated by botocore's retry policy or by the SDK), ``typing_sent`` /
    ``typing_throttled`` (typing events sent / absorbed by the throttle). Receipts, summed
    over the session's connections: ``receipts_sent`` (receipt SendEvents made),
    ``receipts_suppressed`` (requests that needed no SendEvent: duplicates, the customer's
    own messages, receipts disabled), ``receipts_superseded`` (covered by a newer receipt),
    ``receipts_failed``. ``as_dict()`` gives them all at once.
    """

    COUNTERS: tuple[str, ...] = (
        "bad_frames",
        "bad_history_items",
        "inbox_overflows",
        "gap_fills",
        "gap_fills_truncated",
        "messages_sent",
        "attachments_sent",
        "messages_received",
        "reconnects",
        "retries",
        "typing_sent",
        "typing_throttled",
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: list[ReceiptCounts] = []
        self._receipts_done = dict.fromkeys(_RECEIPT_FIELDS, 0)
        self.bad_frames = 0
        self.bad_history_items = 0
        self.inbox_overflows = 0
        self.gap_fills = 0
        self.gap_fills_truncated = 0
        self.messages_sent = 0
        self.attachments_sent = 0
        self.messages_received = 0
        self.reconnects = 0
        self.retries = 0
        self.typing_sent = 0
        self.typing_throttled = 0

    def incr(self, name: str, amount: int = 1) -> None:
        """Add ``amount`` to the counter ``name`` (thread-safe; for any thread)."""
        if name not in self.COUNTERS:
            raise ValueError(f"no counter {name!r}")
        with self._lock:
            setattr(self, name, getattr(self, name) + amount)

    def track_receipts(self, throttle: ReceiptCounts) -> None:
        """Read ``throttle``'s receipt counts while its connection lives."""
        with self._lock:
            self._live.append(throttle)

    def release_receipts(self, throttle: ReceiptCounts) -> None:
        """The connection ended: keep its final counts, let the throttle go."""
        with self._lock:
            if any(t is throttle for t in self._live):
                self._live = [t for t in self._live if t is not throttle]
                for field in _RECEIPT_FIELDS:
                    self._receipts_done[field] += int(getattr(throttle, field))

    def _receipt_sum(self, field: str) -> int:
        with self._lock:
            live = list(self._live)
            done = self._receipts_done[field]
        return done + sum(int(getattr(t, field)) for t in live)

    @property
    def receipts_sent(self) -> int:
        return self._receipt_sum("sent")

    @property
    def receipts_suppressed(self) -> int:
        return self._receipt_sum("suppressed")

    @property
    def receipts_superseded(self) -> int:
        return self._receipt_sum("superseded")

    @property
    def receipts_failed(self) -> int:
        return self._receipt_sum("failed")

    def as_dict(self) -> dict[str, int]:
        """Every counter by name (a snapshot)."""
        out = {name: int(getattr(self, name)) for name in self.COUNTERS}
        for field in _RECEIPT_FIELDS:
            out[f"receipts_{field}"] = self._receipt_sum(field)
        return out

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v}" for k, v in self.as_dict().items())
        return f"SessionStats({fields})"
