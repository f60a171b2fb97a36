"""timestamps.py: the service's time format and the ordering keys read from it."""

from __future__ import annotations

import datetime
import math

import pytest

from connect_chat.timestamps import iso_timestamp, parse_expiry, time_key

UTC = datetime.timezone.utc


def test_time_key_orders_iso_variants() -> None:
    a = time_key("2024-07-14T22:18:39.241Z")
    b = time_key("2024-07-14T22:18:39.2415Z")
    c = time_key("2024-07-14T23:18:39+01:00")
    assert a < b
    assert c == time_key("2024-07-14T22:18:39Z")
    assert math.isinf(time_key("yesterday"))


def test_the_services_own_shape_reads_like_the_general_form() -> None:
    for stamp in ("2024-07-14T22:18:39.241Z", "2024-02-29T00:00:00.000Z",
                  "1999-12-31T23:59:59.999Z"):
        assert time_key(stamp) == time_key(stamp.replace("Z", "+00:00"))
    assert math.isinf(time_key("2024-13-45T99:99:99.999Z"))


def test_iso_timestamp_writes_the_services_format_in_utc() -> None:
    moment = datetime.datetime(2024, 7, 15, 0, 18, 39, 241_999,
                               tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
    stamp = iso_timestamp(moment)
    assert stamp == "2024-07-14T22:18:39.241Z"
    assert time_key(stamp) == pytest.approx(moment.timestamp() - 0.000999, abs=1e-6)


def test_parse_expiry_reads_datetimes_and_strings_as_utc() -> None:
    naive = datetime.datetime(2030, 1, 1, 12, 0)
    assert parse_expiry(naive) == naive.replace(tzinfo=UTC)
    aware = datetime.datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    assert parse_expiry(aware) is aware
    assert parse_expiry("2030-01-01T12:00:00.000Z") == aware
    for unreadable in ("", "soon", None, 17):
        assert parse_expiry(unreadable) is None
