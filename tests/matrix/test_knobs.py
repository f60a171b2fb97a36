"""One knob at a time: each behaviour the service reference leaves open, at its other value(s).

Every test here runs under the values of the knob(s) it is about (the default first, then each
alternative) and under the all-flipped ``unusual`` profile, on one emulator shared by the
module, over real sockets. Each asserts what the SDK promises whatever the service does, so it
fails if the SDK relied on the emulator's default (docs/emulator.md, "Behaviours the service
does not document", says which SDK line each one guards).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any, NamedTuple

import attrs
import pytest

from connect_chat import (
    ChatDetails,
    ChatSession,
    ContentType,
    GlobalConfig,
    Message,
    MessageReceiptType,
    MessageStatus,
)
from connect_chat.client import AWSClient
from connect_chat.config import Features, MessageReceipts
from connect_chat.emulator import AgentHandle
from connect_chat.emulator.behaviour import Behaviour, knobs
from connect_chat.resume import RestChat, SavedChat
from tests.conftest import Recorder, wait_until

KNOBS = knobs()


def settings(*names: str) -> pytest.MarkDecorator:
    """Parametrize ``knob`` over the defaults, every other value of each knob in ``names``,
    then the ``unusual`` profile (ids like ``disconnect_replay=403``)."""
    cases: list[tuple[str, Behaviour | str]] = [("default", Behaviour())]
    for name in names:
        for value in KNOBS[name][1:]:
            label = str(value).lower() if isinstance(value, bool) else str(value)
            cases.append((f"{name}={label}", Behaviour(**{name: value})))  # type: ignore[arg-type]
    cases.append(("unusual", "unusual"))
    return pytest.mark.parametrize(
        "knob", [c for _, c in cases], ids=[i for i, _ in cases], indirect=True
    )


@pytest.fixture
def emu(matrix_emu: Any) -> Iterator[Any]:
    """The module's emulator (tests/matrix/conftest.py), back to the defaults afterwards."""
    try:
        yield matrix_emu
    finally:
        matrix_emu.faults.clear()
        matrix_emu.set_behaviour("default")


@pytest.fixture
def knob(request: pytest.FixtureRequest, emu: Any) -> Behaviour:
    """This case's behaviour, set on the module's emulator."""
    return emu.set_behaviour(request.param)  # type: ignore[no-any-return]


def quick_receipts(config: GlobalConfig) -> GlobalConfig:
    """Receipts go out 0.1 s after they are asked for (not 5 s)."""
    return attrs.evolve(config, features=Features(
        message_receipts=MessageReceipts(throttle_time=0.1)))


def statuses_of(recorder: Recorder, message_id: str) -> list[MessageStatus | None]:
    """The status of each ``on_message_received``/``on_message_updated`` call for
    ``message_id``, in order."""
    return [args[0].status for name, args, _ in list(recorder.events)
            if name in ("on_message_received", "on_message_updated")
            and isinstance(args[0], Message) and args[0].id == message_id]


def settle(agent: Any, recorder: Recorder, label: str) -> None:
    """Frames arrive in order on one socket: once an agent message sent now is delivered,
    every frame pushed before it was handled."""
    marker = agent.send_message(f"settle {label}")
    recorder.wait("on_message_received", where=lambda item: item.id == marker, timeout=10)


class Chat(NamedTuple):
    recorder: Recorder
    details: ChatDetails
    cid: str
    agent: AgentHandle
    sam: str  # the agent's participant id


def chat_with_sam(emu: Any, session: ChatSession) -> Chat:
    """A new chat with Sam (an agent) in it, ``session`` connected to it as Ann, its
    callbacks recorded."""
    recorder = Recorder(session)
    details = emu.start_chat(display_name="Ann")
    agent = emu.agent(details.contact_id)
    sam = agent.join(display_name="Sam")
    session.connect(details)
    return Chat(recorder, details, details.contact_id, agent, sam)


# -- receipts: rebroadcast_unchanged_receipts, receipts_recipients, record_own_receipts ----


def changes_of(recorder: Recorder, message_id: str) -> list[MessageStatus]:
    """The statuses reported for a customer's message after its SENT (``on_message_updated``:
    the echo adding the participant id changes nothing the program sees, so fires none)."""
    return [s for s in statuses_of(recorder, message_id) if s not in (None, MessageStatus.SENT)]


def status_in_transcript(session: ChatSession, message_id: str) -> MessageStatus | None:
    found = [i for i in session.transcript if i.id == message_id]
    assert len(found) == 1 and isinstance(found[0], Message)
    return found[0].status


def customer_message(session: ChatSession, recorder: Recorder, text: str) -> str:
    mine = session.send_message(ContentType.PLAIN_TEXT, text).id
    wait_until(lambda: MessageStatus.SENT in statuses_of(recorder, mine), what="its echo")
    return mine


@settings("rebroadcast_unchanged_receipts", "record_own_receipts")
def test_a_receipt_pushed_again_or_on_ones_own_message_changes_nothing(
        emu: Any, config: GlobalConfig, knob: Behaviour) -> None:
    """A customer's message goes SENT -> DELIVERED -> READ with one ``on_message_updated``
    per step, though the service may push an unchanged receipt again
    (``rebroadcast_unchanged_receipts``); the customer's own message gets no receipt from
    the customer (the SDK sends none, so a service that records receipts on one's own
    message, ``record_own_receipts``, never marks it read before the agent does)."""
    session = ChatSession(quick_receipts(config))
    try:
        recorder, _, cid, agent, agent_id = chat_with_sam(emu, session)
        mine = customer_message(session, recorder, "where is my parcel?")
        ticket = session.send_message_receipt(MessageReceiptType.MESSAGE_READ, mine)
        outcome = ticket.wait(5)
        settle(agent, recorder, "own receipt")
        assert changes_of(recorder, mine) == []
        agent.send_receipt(mine, read=False)
        settle(agent, recorder, "delivered")
        agent.send_receipt(mine, read=True)
        settle(agent, recorder, "read")
        agent.send_receipt(mine, read=True)  # unchanged: pushed again only if rebroadcast
        agent.send_receipt(mine, read=False)  # the same
        settle(agent, recorder, "read again")

        assert changes_of(recorder, mine) == [MessageStatus.DELIVERED, MessageStatus.READ]
        assert status_in_transcript(session, mine) == MessageStatus.READ
        # on_read_receipt / on_delivered_receipt fire for each receipt pushed (docs/api.md),
        # repeats included; each names the agent, never the customer.
        readers = {event.participant_id for (event,) in recorder.args("on_read_receipt")
                   + recorder.args("on_delivered_receipt") if event.id == mine}
        assert readers == {agent_id}
        assert outcome is not None and outcome.name == "SUPPRESSED"
        assert [c for c in emu.calls("SendEvent", cid) if mine in str(c.body)] == []
        # Sam's receipt on his own message (recorded under record_own_receipts) does not
        # stand for the customer's: her Read receipt on it still goes out.
        theirs = agent.send_message("anything else?")
        recorder.wait("on_message_received", where=lambda item: item.id == theirs)
        agent.send_receipt(theirs, read=True)
        settle(agent, recorder, "Sam's own receipt")
        read = session.send_message_receipt(MessageReceiptType.MESSAGE_READ, theirs).wait(5)
        assert read is not None and read.name == "SENT"
        assert [c for c in emu.calls("SendEvent", cid) if theirs in str(c.body)] != []
    finally:
        session.reset()


@settings("receipts_recipients")
def test_a_later_receipt_without_the_read_time_never_moves_a_message_back(
        emu: Any, config: GlobalConfig, knob: Behaviour) -> None:
    """Sam reads the message, then a second agent, Kim, gets it delivered. Under
    ``receipts_recipients="sender"`` the pushed receipt lists only Kim's Delivered (no read
    time anywhere in it): the message stays READ, with no call for Kim's receipt."""
    session = ChatSession(quick_receipts(config))
    try:
        recorder, _, cid, first, sam = chat_with_sam(emu, session)
        mine = customer_message(session, recorder, "where is my parcel?")
        first.send_receipt(mine, read=True)
        settle(first, recorder, "read")
        second = emu.agent(cid)
        kim = second.join(display_name="Kim")  # a second agent: Sam stays
        second.send_receipt(mine, read=False)
        settle(second, recorder, "Kim's delivered")

        assert changes_of(recorder, mine) == [MessageStatus.READ]
        assert status_in_transcript(session, mine) == MessageStatus.READ
        delivered_to = {event.participant_id for (event,) in
                        recorder.args("on_delivered_receipt") if event.id == mine}
        assert kim in delivered_to  # Kim's receipt is reported, it just changes no status
        assert {event.participant_id for (event,) in recorder.args("on_read_receipt")
                if event.id == mine} == {sam}
    finally:
        session.reset()


# -- transcript_events ---------------------------------------------------------------------


@settings("transcript_events")
def test_typing_stored_in_the_transcript_is_not_replayed_by_a_catch_up(
        emu: Any, session: ChatSession, knob: Behaviour) -> None:
    """The agent types and then writes while the socket is down. Under
    ``transcript_events="all"`` the catch-up page holds the typing event too: it is stale,
    so it starts no indicator, fires no ``on_typing`` and is not added to the transcript;
    the message arrives once."""
    recorder, _, cid, agent, _ = chat_with_sam(emu, session)
    emu.faults.http_errors(status=500, rate=1.0, operations=["CreateParticipantConnection"])
    assert emu.faults.drop_websockets(cid) == 1
    recorder.wait("on_connection_broken")
    typing = agent.send_event(ContentType.TYPING)
    missed = agent.send_message("said while you were away")
    emu.faults.clear()
    recorder.wait("on_message_received", where=lambda item: item.id == missed, timeout=10)
    stored = [i["Id"] for i in emu.transcript(cid)]
    assert (typing in stored) == (knob.transcript_events == "all")
    assert recorder.count("on_typing") == 0
    assert session.typing_participants() == ()
    assert typing not in [i.id for i in session.transcript]
    assert [item.id for (item,) in recorder.args("on_message_received")
            if item.id in (typing, missed)] == [missed]


# -- answer_subscribe ----------------------------------------------------------------------


@settings("answer_subscribe")
def test_a_chat_frame_proving_a_new_subscription_comes_after_the_catch_up(
        emu: Any, session: ChatSession, knob: Behaviour) -> None:
    """Two messages are said while the socket is suspended; on resume the new socket's
    heartbeat goes unanswered for a moment, and a third message arrives on it. With
    ``answer_subscribe=False`` that chat frame is what proves the subscription: it must
    still come after the catch-up (docs/reliability.md, "Callback order"), so the three
    arrive once each, in order."""
    recorder, _, cid, agent, _ = chat_with_sam(emu, session)
    sent = [agent.send_message("before")]
    recorder.wait("on_message_received", where=lambda item: item.id == sent[-1])
    session.suspend_websocket_connection()
    wait_until(lambda: emu.websocket_count(cid) == 0, what="the suspended socket to close")
    sent += [agent.send_message("missed 1"), agent.send_message("missed 2")]
    emu.faults.silence_heartbeats(seconds=0.5, contact_id=cid)
    session.resume_websocket_connection()
    wait_until(lambda: emu.websocket_count(cid) == 1, what="the new socket's subscription")
    sent.append(agent.send_message("on the new socket"))
    recorder.wait("on_connection_reestablished", timeout=10)
    recorder.wait("on_message_received", where=lambda item: item.id == sent[-1], timeout=10)
    agent_ids = [item.id for (item,) in recorder.args("on_message_received")
                 if isinstance(item, Message) and item.participant == "AGENT"]
    assert agent_ids == sent
    names = [n for n in recorder.names() if n != "on_transcript_updated"]
    reestablished = names.index("on_connection_reestablished")
    assert names[reestablished + 1:] == ["on_message_received"] * 3


# -- disconnect_replay ---------------------------------------------------------------------


def lose_first_answer(client: AWSClient, operation: str) -> list[int]:
    """botocore retries ``operation`` once after its first answer, as if that answer was lost
    on the way back (the service has done the work); returns the statuses botocore saw."""
    seen: list[int] = []

    def needs_retry(response: Any, attempts: int, **_: Any) -> float | None:
        if response is not None:
            seen.append(response[0].status_code)
        if attempts == 1 and response is not None and response[0].status_code == 200:
            return 0.0  # retry now, with the same request (the same ClientToken)
        return None

    client.botocore_client.meta.events.register_first(
        f"needs-retry.connectparticipant.{operation}", needs_retry)
    return seen


@settings("disconnect_replay")
def test_disconnect_retried_after_a_lost_answer_ends_cleanly(
        emu: Any, config: GlobalConfig, knob: Behaviour, caplog: pytest.LogCaptureFixture
) -> None:
    """DisconnectParticipant succeeds but its answer is lost; botocore sends it again with
    the same ClientToken. The service replays 200, or (``disconnect_replay="403"``) answers
    AccessDenied because the participant is gone: either way ``disconnect()`` confirms,
    raises nothing, and the chat ends once."""
    client = AWSClient(endpoint_url=emu.endpoint_url)
    statuses = lose_first_answer(client, "DisconnectParticipant")
    session = ChatSession(attrs.evolve(config, custom_aws_client=client))
    try:
        recorder, _, cid, _, _ = chat_with_sam(emu, session)
        with caplog.at_level(logging.WARNING, logger="connect_chat"):
            assert session.disconnect() is True
        expected = 403 if knob.disconnect_replay == "403" else 200
        calls = emu.calls("DisconnectParticipant", cid)
        assert [c.status for c in calls] == statuses == [200, expected]
        assert len({c.client_token for c in calls}) == 1  # the same request, retried
        recorder.wait("on_chat_ended")
        assert recorder.count("on_chat_ended") == 1
        assert not session.is_chat_session_active()
        assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
        assert session.disconnect() is True  # again: nothing more is sent
        assert len(emu.calls("DisconnectParticipant", cid)) == 2
        assert recorder.count("on_chat_ended") == 1
    finally:
        session.reset()
        client.close()


# -- left_before_ended ---------------------------------------------------------------------


@settings("left_before_ended")
def test_a_chat_ended_with_or_without_the_agents_leaving_ends_once(
        emu: Any, session: ChatSession, knob: Behaviour) -> None:
    """The agent is typing when the chat ends. With ``left_before_ended`` the agent's
    ``participant.left`` comes first (delivered once, before the end); without it only
    ``chat.ended`` comes. Either way ``on_chat_ended`` fires once, the session ends, and the
    agent's typing indicator ends with ``on_typing_stopped``."""
    recorder, _, cid, agent, sam = chat_with_sam(emu, session)
    agent.send_event(ContentType.TYPING)
    recorder.wait("on_typing")
    wait_until(lambda: len(session.typing_participants()) == 1, what="Sam's typing indicator")
    emu.end_chat(cid)
    recorder.wait("on_chat_ended", timeout=10)
    wait_until(lambda: not session.is_chat_session_active(), what="the session to end")

    names = recorder.names()
    left = [event for (event,) in recorder.args("on_participant_left")]
    if knob.left_before_ended:
        assert [event.participant_id for event in left] == [sam]
        assert names.index("on_participant_left") < names.index("on_chat_ended")
    else:
        assert left == []
    assert recorder.count("on_chat_ended") == 1
    assert [event.participant_id for (event,) in recorder.args("on_typing_stopped")] == [sam]
    assert names.index("on_typing_stopped") < names.index("on_chat_ended")
    assert session.typing_participants() == ()
    ended = [i for i in session.transcript if i.content_type == ContentType.ENDED.value]
    assert len(ended) == 1
    session.disconnect()
    assert recorder.count("on_chat_ended") == 1
    assert emu.calls("DisconnectParticipant", cid) == []  # the chat was over: nothing sent


# -- max_results_zero ----------------------------------------------------------------------


def in_time(fn: Any, timeout: float = 10.0) -> Any:
    """``fn()`` on a worker thread; fail the test if it has not returned within ``timeout``
    (a paging loop that never ends)."""
    out: list[Any] = []
    worker = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        pytest.fail(f"still paging after {timeout} s")
    assert out, "the call raised (see the thread's traceback)"
    return out[0]


@settings("max_results_zero")
def test_zero_sized_transcript_pages_end_and_lose_nothing(
        emu: Any, session: ChatSession, knob: Behaviour) -> None:
    """GetTranscript with ``MaxResults=0`` answers an empty page, with a NextToken under
    ``max_results_zero="empty_with_token"`` (the token runs the same scan again). The SDK's
    paging is bounded, so zero-sized pages never loop forever; a zero-sized page merged into
    the session changes nothing; the "what did I miss" paths never ask for 0 items."""
    recorder, details, cid, agent, _ = chat_with_sam(emu, session)
    sent = [agent.send_message(f"m{n}") for n in range(3)]
    recorder.wait("on_message_received", where=lambda item: item.id == sent[-1])
    held = [i.id for i in session.transcript]
    assert set(sent) <= set(held)

    page = session.get_transcript(max_results=0)
    assert page.transcript == ()
    assert bool(page.next_token) == (knob.max_results_zero == "empty_with_token")
    if page.next_token:  # it goes on with the same scan: the newest items again
        again = session.get_transcript(max_results=15, next_token=page.next_token)
        assert set(sent) <= {i.id for i in again.transcript}
    assert [i.id for i in session.transcript] == held  # nothing added twice, nothing lost

    # A catch-up after an outage (GlobalConfig page sizes are 1..100, never 0).
    broken = recorder.count("on_connection_broken")
    emu.faults.http_errors(status=500, rate=1.0, operations=["CreateParticipantConnection"])
    assert emu.faults.drop_websockets(cid) == 1
    recorder.wait("on_connection_broken", count=broken + 1)
    missed = agent.send_message("during the outage")
    emu.faults.clear()
    recorder.wait("on_message_received", where=lambda item: item.id == missed, timeout=10)
    assert [i.id for i in session.transcript].count(missed) == 1
    sizes = [c.body.get("MaxResults") for c in emu.calls("GetTranscript", cid)]
    assert sizes.count(0) == 1  # only the test's own request

    # RestChat's paging: zero-sized pages end within max_pages, and the "last seen" mark
    # does not move on an empty answer, so the next call still finds what is new.
    with RestChat(SavedChat.from_chat_details(details, endpoint_url=emu.endpoint_url)) as chat:
        calls = len(emu.calls("GetTranscript", cid))
        assert in_time(lambda: list(chat.iter_history(page_size=0, max_pages=3))) == []
        assert len(emu.calls("GetTranscript", cid)) - calls <= 3
        assert missed in [i.id for i in in_time(chat.new_items)]
        later = agent.send_message("later")
        assert in_time(lambda: chat.new_items(page_size=0, max_pages=3)) == []
        assert [i.id for i in in_time(chat.new_items)] == [later]


# -- socket_drop, reuse_websocket_url, honour_unsubscribe ----------------------------------


@settings("socket_drop", "reuse_websocket_url", "honour_unsubscribe")
def test_a_drop_and_a_suspend_resume_each_deliver_once(
        emu: Any, session: ChatSession, knob: Behaviour, caplog: pytest.LogCaptureFixture
) -> None:
    """The socket is dropped however the service drops it (``socket_drop``: a TCP reset, or
    a close frame 1011, 1000 or 1001: none of them ends the chat), then the program suspends
    and resumes it. Each comes back on a fresh URL (``reuse_websocket_url=False`` refuses an
    old one) at the first try, the SDK never relies on ``aws/unsubscribe``
    (``honour_unsubscribe``), and what was said meanwhile arrives once, in order."""
    recorder, _, cid, agent, _ = chat_with_sam(emu, session)
    sent = [agent.send_message("before")]
    recorder.wait("on_message_received", where=lambda item: item.id == sent[-1])

    with caplog.at_level(logging.WARNING, logger="connect_chat.websocket"):
        emu.faults.http_errors(status=500, rate=1.0, operations=["CreateParticipantConnection"])
        assert emu.faults.drop_websockets(cid) == 1
        recorder.wait("on_connection_broken")
        sent.append(agent.send_message("during the drop"))
        emu.faults.clear()
        recorder.wait("on_connection_reestablished", timeout=10)
        recorder.wait("on_message_received", where=lambda item: item.id == sent[-1], timeout=10)

        session.suspend_websocket_connection()
        wait_until(lambda: emu.websocket_count(cid) == 0, what="the suspended socket to close")
        sent.append(agent.send_message("while suspended"))
        session.resume_websocket_connection()
        recorder.wait("on_connection_reestablished", count=2, timeout=10)
        recorder.wait("on_message_received", where=lambda item: item.id == sent[-1], timeout=10)
        sent.append(agent.send_message("after"))
        recorder.wait("on_message_received", where=lambda item: item.id == sent[-1])

    agent_ids = [item.id for (item,) in recorder.args("on_message_received")
                 if isinstance(item, Message) and item.participant == "AGENT"]
    assert agent_ids == sent  # each once, in order
    assert [i.id for i in session.transcript if i.id in sent] == sent
    assert recorder.count("on_chat_ended") == 0 and session.is_chat_session_active()
    failed = [r.getMessage() for r in caplog.records if "attempt failed" in r.getMessage()]
    assert failed == []  # no reconnect was refused (a reused URL would be)
    connections = [c.status for c in emu.calls("CreateParticipantConnection", cid)]
    assert connections.count(200) == 3  # connect, after the drop, at the resume
    assert emu.websocket_count(cid) == 1


# -- forward_includes_start, with RestChat's paging ----------------------------------------


@settings("forward_includes_start", "transcript_events")
@pytest.mark.parametrize("page_size", [1, 2, 3])
def test_rest_new_items_after_a_live_only_newest_item_whatever_the_page_size(
        emu: Any, knob: Behaviour, page_size: int) -> None:
    """``RestChat.new_items`` when the newest item the reader saw is one the service may
    not keep (a ``participant.idle`` event): every later message arrives once, in order,
    with pages as small as one item, whether a FORWARD page would include its start item
    (``forward_includes_start``; the SDK never scans FORWARD) and whichever events the
    transcript keeps (``transcript_events``)."""
    details = emu.start_chat(display_name="Ann")
    cid = details.contact_id
    agent = emu.agent(cid)
    agent.join(display_name="Sam")
    first = agent.send_message("first")
    saved = SavedChat.from_chat_details(details, endpoint_url=emu.endpoint_url)
    with RestChat(saved) as chat:
        assert first in [i.id for i in in_time(lambda: chat.new_items(page_size=page_size))]
        idle = emu.emit_event(cid, ContentType.PARTICIPANT_IDLE.value, participant_id="customer")
        seen = [i.id for i in in_time(lambda: chat.new_items(page_size=page_size))]
        assert seen in ([], [idle])  # stored only under transcript_events="all"
        later = [agent.send_message(f"later {n}") for n in range(3)]
        got = [i.id for i in in_time(lambda: chat.new_items(page_size=page_size))]
        assert [i for i in got if i in later] == later
        assert in_time(lambda: chat.new_items(page_size=page_size)) == []
