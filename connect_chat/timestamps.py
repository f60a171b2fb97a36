"""Time: the service's timestamp format, reading it into ordering keys, and the clock type.

The service stamps every item with an ISO-8601 ``AbsoluteTime`` in UTC with milliseconds
(``2024-07-14T22:18:39.241Z``). :func:`time_key` turns such a stamp into seconds since the
epoch (the transcript's ordering key), :func:`iso_timestamp` writes one, and
:func:`parse_expiry` reads the expiry times of a connection. Nothing here keeps state or
reads a clock; :data:`Clock` is the type of the monotonic clocks the timers take.
"""

from __future__ import annotations

import calendar
import datetime
import functools
import re
from collections.abc import Callable
from typing import Any

__all__ = ["Clock", "iso_timestamp", "parse_expiry", "time_key"]

#: A monotonic clock in seconds (``time.monotonic`` unless a test injects a fake one).
Clock = Callable[[], float]

_ISO = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"\s*(Z|z|[+-]\d{2}:?\d{2})?\s*$"
)

_INF = float("inf")


def time_key(time_stamp: str) -> float:
    """Seconds since the epoch for an ISO-8601 string; ``inf`` when it cannot be read.

    Accepts the service's ``2024-07-14T22:18:39.241Z`` and the usual variants (any number of
    fraction digits, ``+hh:mm`` offsets, no offset meaning UTC). Unreadable stamps sort last,
    in arrival order.
    """
    # Fast path for the service's own shape (every live item): the whole seconds come from
    # a small cache (a burst of messages shares its seconds), the milliseconds are added.
    # ``n / 1000`` and ``float("0.nnn")`` are the same correctly rounded double.
    if (
        isinstance(time_stamp, str)
        and len(time_stamp) == 24
        and time_stamp[19] == "."
        and time_stamp[23] == "Z"
        and time_stamp[20:23].isdecimal()
    ):
        whole = _whole_seconds(time_stamp[:19])
        if whole != _INF:
            return whole + int(time_stamp[20:23]) / 1000
    return _time_key(time_stamp)


@functools.lru_cache(maxsize=256)
def _whole_seconds(prefix: str) -> float:
    return _time_key(prefix + "Z")


def _time_key(time_stamp: str) -> float:
    match = _ISO.match(time_stamp or "")
    if match is None:
        return _INF
    year, month, day, hour, minute = (int(match.group(i)) for i in range(1, 6))
    second = int(match.group(6) or 0)
    fraction = match.group(7)
    try:
        seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    except (ValueError, OverflowError):
        return _INF
    value = float(seconds) + (float("0." + fraction) if fraction else 0.0)
    zone = match.group(8)
    if zone and zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        value -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return value


def iso_timestamp(moment: datetime.datetime) -> str:
    """The service's format: UTC, milliseconds, ``Z``."""
    utc = moment.astimezone(datetime.timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def utc_now() -> datetime.datetime:
    """Now, in UTC (the one wall clock of the SDK's time stamps)."""
    return datetime.datetime.now(datetime.timezone.utc)


def now_timestamp() -> str:
    """Now, in the service's time format (a local item's time stamp)."""
    return iso_timestamp(utc_now())


def parse_expiry(value: Any) -> datetime.datetime | None:
    """An ``Expiry``/``ConnectionExpiry`` value (datetime from botocore, or a string) -> UTC."""
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
    if isinstance(value, str) and value:
        key = time_key(value)
        if key != _INF:
            return datetime.datetime.fromtimestamp(key, tz=datetime.timezone.utc)
    return None
