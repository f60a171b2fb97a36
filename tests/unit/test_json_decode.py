"""``json_decode.loads`` gives what ``json.loads`` gives: the same values, the same errors."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connect_chat import json_decode

SAME = settings(
    derandomize=True,
    deadline=None,
    database=None,
    max_examples=400,
    suppress_health_check=[HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
whitespace = st.text(alphabet=" \t\r\n", max_size=3)


def outcome(fn: Any, text: Any) -> tuple[str, Any]:
    """('ok', value) or ('error', (type, message)) of one decode."""
    try:
        value = fn(text)
    except (ValueError, TypeError) as exc:
        return "error", (type(exc), str(exc))
    return "ok", value


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


@SAME
@given(json_values, whitespace, whitespace, st.booleans())
def test_documents_decode_to_the_same_value(value: Any, before: str, after: str,
                                            ensure_ascii: bool) -> None:
    text = before + json.dumps(value, ensure_ascii=ensure_ascii) + after
    assert json_decode.loads(text) == json.loads(text)


@SAME
@given(st.text(max_size=40) | st.text(alphabet='{}[]",:0123456789.eE+-truefalsn \\', max_size=40))
def test_any_text_gives_the_same_value_or_the_same_error(text: str) -> None:
    mine, standard = outcome(json_decode.loads, text), outcome(json.loads, text)
    assert mine[0] == standard[0]
    assert same(mine[1], standard[1]) if mine[0] == "ok" else mine[1] == standard[1]


@pytest.mark.parametrize(
    "text",
    [
        '{"topic": "aws/chat"} {"extra": 1}',  # extra data
        '{"topic": "aws/chat"',  # truncated
        "",  # empty
        "   ",  # only whitespace
        " [1, 2]",  # leading whitespace (valid)
        "[1, 2]\n",  # trailing whitespace (valid)
        "NaN",  # json.loads accepts these
        '"\\ud800"',  # a lone surrogate escape
        '{"a": 1, "a": 2}',  # duplicate keys: the last one wins
    ],
)
def test_edge_cases_match_json_loads(text: str) -> None:
    assert repr(outcome(json_decode.loads, text)) == repr(outcome(json.loads, text))


def test_bytes_decode_like_json_loads() -> None:
    text = '{"topic": "aws/chat", "content": "caf\\u00e9"}'
    for encoding in ("utf-8", "utf-16", "utf-32"):
        assert json_decode.loads(text.encode(encoding)) == {"topic": "aws/chat", "content": "café"}
    assert repr(outcome(json_decode.loads, b"\xff{")) == repr(outcome(json.loads, b"\xff{"))


def test_a_recursion_error_propagates_like_json_loads() -> None:
    deep = "[" * 200_000 + "]" * 200_000
    with pytest.raises(RecursionError):
        json.loads(deep)
    with pytest.raises(RecursionError):
        json_decode.loads(deep)


def test_keys_seen_before_do_not_leak_between_documents() -> None:
    # The scanner memoises object keys within one document; each call starts afresh.
    first = json_decode.loads('{"k": 1}')
    second = json_decode.loads('{"k": 2}')
    assert (first, second) == ({"k": 1}, {"k": 2})
