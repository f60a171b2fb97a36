"""get_transcript(...) with every argument; pages merge into the right places."""

from __future__ import annotations

from typing import Any

from connect_chat import (
    ChatSession,
    GlobalConfig,
    Message,
    ScanDirection,
    SortKey,
    StartPosition,
    TranscriptResponse,
)
from tests.conftest import connected_session, fast


def _chat_with_history(emu: Any, count: int) -> tuple[Any, list[str]]:
    details = emu.start_chat(display_name="Ann")
    agent = emu.agent(details.contact_id)
    agent.join(display_name="Sam")
    return details, [agent.send_message(f"h{i}") for i in range(count)]


def _message_ids(session: ChatSession) -> list[str]:
    return [i.id for i in session.transcript if isinstance(i, Message)]


def test_paging_older_history_backward_descending(emu: Any, config: GlobalConfig) -> None:
    details, ids = _chat_with_history(emu, 25)
    with connected_session(
            emu, fast(config, transcript_page_size=5), details=details,
            record=True) as chat:
        session, recorder = chat.session, chat.recorder
        assert _message_ids(session) == ids[-5:]
        token = session.previous_transcript_next_token
        assert token
        pages = 0
        while token:
            page = session.get_transcript(scan_direction=ScanDirection.BACKWARD,
                                          sort_order=SortKey.DESCENDING, max_results=7,
                                          next_token=token)
            assert isinstance(page, TranscriptResponse)
            assert page.initial_contact_id == details.contact_id
            times = [i.time_stamp for i in page.transcript]
            assert times == sorted(times, reverse=True)
            token = session.previous_transcript_next_token
            assert token == (page.next_token or None)
            pages += 1
        assert pages >= 3
        assert _message_ids(session) == ids  # every page landed in time order
        last = recorder.args("on_transcript_updated")[-1][0]
        assert last.previous_transcript_next_token is None
        history_ids = {a[0].id for a in recorder.args("on_message_received")}
        assert not history_ids & set(ids)
        call = emu.calls("GetTranscript", details.contact_id)[-1]
        assert call.body["SortOrder"] == "DESCENDING" and call.body["MaxResults"] == 7
        assert call.body["NextToken"]


def test_forward_from_a_start_position(emu: Any) -> None:
    details, ids = _chat_with_history(emu, 6)
    with connected_session(emu, details=details) as chat:
        session = chat.session
        page = session.get_transcript(scan_direction=ScanDirection.FORWARD,
                                      sort_order=SortKey.ASCENDING, max_results=3,
                                      start_position=ids[1])
        got = [i.id for i in page.transcript if isinstance(i, Message)]
        assert got and got[0] in (ids[1], ids[2])
        assert [ids.index(i) for i in got] == sorted(ids.index(i) for i in got)
        call = emu.calls("GetTranscript", details.contact_id)[-1]
        assert call.body["StartPosition"] == {"Id": ids[1]}
        assert call.body["ScanDirection"] == "FORWARD"
        page = session.get_transcript(start_position=StartPosition(most_recent=2), max_results=2)
        assert emu.calls("GetTranscript", details.contact_id)[-1].body["StartPosition"] == {
            "MostRecent": 2}
        stamp = emu.transcript(details.contact_id)[3]["AbsoluteTime"]
        session.get_transcript(scan_direction="FORWARD",
                               start_position=StartPosition(absolute_time=stamp))
        assert emu.calls("GetTranscript", details.contact_id)[-1].body["StartPosition"] == {
            "AbsoluteTime": stamp}
        assert len(_message_ids(session)) == len(set(_message_ids(session)))
