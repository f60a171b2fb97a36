"""``GlobalConfig.transcript_max_items`` bounds the transcript a long-running bot keeps
(issue 16, item 6): the newest N stay in memory, every item is still delivered once, a
reconnect still catches up exactly once, and older items stay reachable with get_transcript.
Before, the transcript had no cap (+106 MB for 50,000 messages)."""

from __future__ import annotations

from typing import Any

import pytest

from connect_chat import GlobalConfig, Message, ScanDirection
from connect_chat.errors import InvalidInputError
from tests.conftest import connected_session, fast, wait_until


def test_the_newest_items_stay_and_every_item_is_delivered_once(
        emu: Any, config: GlobalConfig) -> None:
    received: list[str] = []

    def on_message_received(item: Any) -> None:
        if isinstance(item, Message) and item.participant == "AGENT":
            received.append(item.id)

    with connected_session(emu, fast(config, transcript_max_items=50), agent_joins=True,
                           on_message_received=on_message_received) as chat:
        sent = [chat.agent.send_message(f"m{n}") for n in range(150)]
        wait_until(lambda: received[-1:] == sent[-1:], timeout=10, what="the last message")
        emu.faults.drop_websockets(chat.contact_id)
        sent += [chat.agent.send_message(f"after {n}") for n in range(30)]
        wait_until(lambda: received[-1:] == sent[-1:], timeout=15, what="the caught-up ones")
        assert received == sent  # each once, in order, the reconnect included
        held = [i.id for i in chat.session.transcript]
        assert len(held) == 50
        assert held[-30:] == sent[-30:]
        page = chat.session.get_transcript(ScanDirection.BACKWARD, max_results=100)
        older = chat.session.get_transcript(ScanDirection.BACKWARD, max_results=100,
                                            next_token=page.next_token)
        assert sent[0] in [i.id for i in older.transcript]  # still reachable
        assert len(chat.session.transcript) == 50


def test_a_bad_cap_is_refused() -> None:
    for bad in (0, -1, 2.5, True, "10"):
        with pytest.raises(InvalidInputError):
            GlobalConfig(transcript_max_items=bad)  # type: ignore[arg-type]
