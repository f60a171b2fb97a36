"""The request log: every REST call the emulator answered, for tests to count and inspect."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CallRecord:
    """One REST request: the service operation, who made it, what it carried, what it got.

    ``body`` is the parsed JSON body (``{}`` when empty; for attachment uploads
    ``{"Size": n}``). ``attempt`` is botocore's ``amz-sdk-request`` attempt number when sent.
    """

    operation: str
    contact_id: str | None
    participant_id: str | None
    body: dict[str, Any]
    status: int
    client_token: str | None
    attempt: int | None = None
    error_code: str | None = None
    headers: dict[str, str] = field(default_factory=dict, repr=False)


#: How many records a log keeps by default; older ones are dropped first.
DEFAULT_MAX_RECORDS = 10_000


class CallLog:
    """A thread-safe log of the last ``max_records`` :class:`CallRecord`, oldest dropped first.

    Bounded so that a long-running standalone emulator does not grow without limit.
    """

    def __init__(self, max_records: int = DEFAULT_MAX_RECORDS) -> None:
        if max_records < 1:
            raise ValueError("max_records must be >= 1")
        self._lock = threading.Lock()
        self._records: deque[CallRecord] = deque(maxlen=max_records)

    def append(self, record: CallRecord) -> None:
        with self._lock:
            self._records.append(record)

    def select(
        self, operation: str | None = None, contact_id: str | None = None
    ) -> list[CallRecord]:
        with self._lock:
            return [
                r
                for r in self._records
                if (operation is None or r.operation == operation)
                and (contact_id is None or r.contact_id == contact_id)
            ]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
