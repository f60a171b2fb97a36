"""Any interleaving of the newest history page, its repeats and live frames (duplicates
included): every item that came live is announced exactly once, history alone never.

`connect()` subscribes and then loads the newest history page, so items sent in between are
in that page and on their way live; the dispatcher may see either first.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from connect_chat.enums import ContentType
from connect_chat.models import Message
from tests.features.test_dispatcher_rules import (
    ME,
    _latest_page,
    dispatcher,
    drain,
    frame,
    item,
)
from tests.hardening.support import fuzz

TEXT = ContentType.PLAIN_TEXT.value


def agent_message(n: int) -> dict[str, Any]:
    return item(n, "MESSAGE", TEXT, pid="agent", role="AGENT", content=f"agent {n}")


def own_message(n: int) -> dict[str, Any]:
    return item(n, "MESSAGE", TEXT, pid=ME, role="CUSTOMER", content=f"mine {n}")


# A step: ("page", subset of item numbers) or ("live", item number).
steps = st.lists(
    st.one_of(
        st.tuples(st.just("page"), st.frozensets(st.integers(0, 5), max_size=6)),
        st.tuples(st.just("live"), st.integers(0, 5)),
    ),
    max_size=14,
)


@fuzz(300)
@given(steps, st.frozensets(st.integers(0, 5)))
def test_each_item_that_came_live_is_announced_once(
        script: list[tuple[str, Any]], own: frozenset[int]) -> None:
    def raw(n: int) -> dict[str, Any]:
        return own_message(n) if n in own else agent_message(n)

    with dispatcher() as (d, callbacks, incoming):
        for kind, arg in script:
            if kind == "page":
                d.post(_latest_page(*(raw(n) for n in sorted(arg))))
            else:
                d.post(frame(raw(arg)))
        drain(d)
        came_live = {f"id-{n}" for kind, n in script if kind == "live"}
        announced = [i.id for name, i in callbacks.calls
                     if name == "on_message_received" and isinstance(i, Message)]
        # Once each: the first time the item reached the program (no receipts here, so no
        # status changes re-announce anything).
        assert sorted(announced) == sorted(came_live)
        assert sorted(m.id for m in incoming) == sorted(
            i for i in came_live if int(i.split("-")[1]) not in own)
        held = {i.id: i for i in d.view if isinstance(i, Message)}
        for item_id in came_live:
            assert not held[item_id].is_from_history
