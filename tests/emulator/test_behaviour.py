"""The behaviour matrix: every knob, default and alternatives, over real sockets and HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import websocket

from connect_chat.emulator import Emulator
from connect_chat.emulator.behaviour import (
    PROFILES,
    Behaviour,
    knobs,
    parse_assignment,
    variants,
)
from connect_chat.emulator.standalone import build_parser, emulator_from_args
from tests.emulator.conftest import Customer, Socket, connect_customer, make_acps, wait_until

EVT = "application/vnd.amazonaws.connect.event."
TYPING = EVT + "typing"
READ = EVT + "message.read"
Opener = Callable[..., Socket]


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(close_delay_after_end=0.05) as emulator:
        yield emulator


def _transcript(acps: Any, customer: Customer, **kwargs: Any) -> dict[str, Any]:
    return acps.get_transcript(ConnectionToken=customer.connection_token, **kwargs)  # type: ignore[no-any-return]


def _types(items: list[dict[str, Any]]) -> list[str]:
    return [i["ContentType"] for i in items]


# --- the module: profiles, variants, mapping -----------------------------------------------------
def test_defaults_and_knobs_agree() -> None:
    default = Behaviour()
    assert PROFILES["default"] == default
    for name, values in knobs().items():
        assert getattr(default, name) == values[0]
        assert getattr(PROFILES["unusual"], name) == values[1]
        assert len(values) >= 2 and len(set(values)) == len(values)
    assert set(knobs()) == set(default.to_mapping())


def test_variants_flip_one_knob_each() -> None:
    found = variants()
    ids = [label for label, _ in found]
    assert ids[0] == "default" and ids[-1] == "unusual"
    assert len(ids) == len(set(ids))
    expected = sum(len(values) - 1 for values in knobs().values())
    assert len(found) == expected + 2
    for label, behaviour in found[1:-1]:
        name, _, _ = label.partition("=")
        changed = {k for k, v in behaviour.to_mapping().items() if v != knobs()[k][0]}
        assert changed == {name}
    assert "socket_drop=1011" in ids and "answer_subscribe=false" in ids


def test_from_mapping_round_trip_and_validation() -> None:
    unusual = PROFILES["unusual"]
    assert Behaviour.from_mapping(unusual.to_mapping()) == unusual
    assert json.loads(json.dumps(unusual.to_mapping())) == unusual.to_mapping()
    assert Behaviour.from_mapping({"socket_drop": 1001}).socket_drop == "1001"
    assert Behaviour.from_mapping({"answer_subscribe": "false"}).answer_subscribe is False
    based = Behaviour.from_mapping({"honour_unsubscribe": True}, unusual)
    assert based.honour_unsubscribe is True and based.socket_drop == unusual.socket_drop
    with pytest.raises(ValueError, match="unknown behaviour knob 'no_such'"):
        Behaviour.from_mapping({"no_such": True})
    with pytest.raises(ValueError, match="socket_drop must be one of"):
        Behaviour.from_mapping({"socket_drop": "1012"})
    with pytest.raises(ValueError, match="answer_subscribe"):
        Behaviour.from_mapping({"answer_subscribe": "maybe"})
    with pytest.raises(ValueError, match="transcript_events"):
        Behaviour(transcript_events="some")
    with pytest.raises(ValueError):
        Behaviour(answer_subscribe=1)  # type: ignore[arg-type]
    assert parse_assignment("socket-drop=1000") == ("socket_drop", "1000")
    with pytest.raises(ValueError, match="KNOB=VALUE"):
        parse_assignment("socket_drop")


def test_emulator_takes_profile_and_changes_at_run_time(emu: Emulator) -> None:
    with Emulator(behaviour="unusual") as other:
        assert other.behaviour == PROFILES["unusual"]
    with pytest.raises(ValueError, match="unknown behaviour profile"):
        Emulator(behaviour="odd")
    assert emu.behaviour == Behaviour()
    changed = emu.set_behaviour(socket_drop="1000")
    assert emu.behaviour == changed and changed.socket_drop == "1000"
    assert emu.set_behaviour("unusual", answer_subscribe=True).answer_subscribe is True
    assert emu.behaviour.socket_drop == "1011"
    with pytest.raises(ValueError):
        emu.set_behaviour(socket_drop="nope")
    assert emu.behaviour.socket_drop == "1011"  # a refused change changes nothing
    assert emu.set_behaviour("default") == Behaviour()
    idle = Emulator()
    assert idle.set_behaviour(left_before_ended=False).left_before_ended is False
    assert idle.settings.behaviour.left_before_ended is False


def test_command_line_flags() -> None:
    args = build_parser().parse_args(
        ["--port", "0", "--profile", "unusual", "--behaviour", "socket_drop=1000",
         "--behaviour", "answer_subscribe=true"]
    )  # fmt: skip
    made = emulator_from_args(args)
    assert made.behaviour.socket_drop == "1000"
    assert made.behaviour.answer_subscribe is True
    assert made.behaviour.honour_unsubscribe is False  # from the profile
    assert emulator_from_args(build_parser().parse_args([])).behaviour == Behaviour()
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--behaviour", "socket_drop=9"])
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--profile", "nope"])


def test_command_line_flags_reach_the_server(capsys: pytest.CaptureFixture[str]) -> None:
    from connect_chat import cli

    code = cli.main(["emulator", "--behaviour", "socket_drop=nope"])
    assert code == 2
    assert "socket_drop must be one of" in capsys.readouterr().err


def test_http_behaviour_endpoints(emu: Emulator) -> None:
    url = f"{emu.endpoint_url}/emulator/behaviour"
    assert requests.get(url, timeout=5).json() == Behaviour().to_mapping()
    answer = requests.post(url, json={"socket_drop": "1001"}, timeout=5)
    assert answer.status_code == 200 and answer.json()["socket_drop"] == "1001"
    assert emu.behaviour.socket_drop == "1001"
    answer = requests.post(url, json={"Profile": "unusual", "answer_subscribe": True}, timeout=5)
    assert (
        answer.json()
        == Behaviour.from_mapping({"answer_subscribe": True}, PROFILES["unusual"]).to_mapping()
    )
    for bad, words in (
        ({"nope": 1}, "unknown behaviour knob"),
        ({"socket_drop": "9"}, "socket_drop must be one of"),
        ({"Profile": "odd"}, "unknown behaviour profile"),
    ):
        refused = requests.post(url, json=bad, timeout=5)
        assert refused.status_code == 400 and words in refused.json()["message"]
    assert emu.behaviour.answer_subscribe is True  # unchanged by the refused ones


def test_http_contacts_list(emu: Emulator, acps: Any, open_socket: Opener) -> None:
    url = f"{emu.endpoint_url}/emulator/contacts"
    assert requests.get(url, timeout=5).json() == {"Contacts": []}
    ann, bob = connect_customer(emu, acps, "Ann"), connect_customer(emu, acps, "Bob")
    open_socket(ann.ws_url)
    emu.agent(ann.contact_id).join("Sam")
    emu.end_chat(bob.contact_id)
    listed = requests.get(url, timeout=5).json()["Contacts"]
    assert [c["ContactId"] for c in listed] == [ann.contact_id, bob.contact_id]
    assert [c["State"] for c in listed] == ["ACTIVE", "ENDED"]
    assert listed[0]["CustomerParticipantId"] == ann.participant_id
    assert listed[0]["CustomerDisplayName"] == "Ann" and listed[0]["WebSockets"] == 1
    assert listed[0]["AgentParticipantId"] == emu.agent(ann.contact_id).participant_id
    assert listed[1]["AgentParticipantId"] is None
    assert emu.contacts() == listed


# --- each knob ---------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["documented", "all"])
def test_transcript_events(emu: Emulator, acps: Any, customer: Customer, value: str) -> None:
    emu.set_behaviour(transcript_events=value)
    acps.send_event(ConnectionToken=customer.connection_token, ContentType=TYPING)
    emu.emit_event(customer.contact_id, EVT + "participant.idle", participant_id="customer")
    emu.start_authentication(customer.contact_id)
    agent = emu.agent(customer.contact_id)
    message_id = agent.send_message("hi")
    acps.send_event(
        ConnectionToken=customer.connection_token,
        ContentType=READ,
        Content=json.dumps({"messageId": message_id}),
    )
    items = _transcript(acps, customer, SortOrder="ASCENDING", MaxResults=100)["Transcript"]
    kinds = _types(items)
    assert EVT + "participant.joined" in kinds and "text/plain" in kinds
    live_only = [TYPING, EVT + "participant.idle", EVT + "authentication.initiated"]
    if value == "documented":
        assert not set(live_only) & set(kinds)
        assert all(i["Type"] in ("MESSAGE", "EVENT", "ATTACHMENT") for i in items)
    else:
        assert set(live_only) <= set(kinds)
        meta = [i for i in items if i["Type"] == "MESSAGEMETADATA"]
        assert meta and meta[0]["MessageMetadata"]["MessageId"] == message_id


@pytest.mark.parametrize("include", [False, True])
def test_forward_includes_start(
    emu: Emulator, acps: Any, customer: Customer, include: bool
) -> None:
    emu.set_behaviour(forward_includes_start=include)
    agent = emu.agent(customer.contact_id)
    first, second, third = (agent.send_message(t) for t in ("a", "b", "c"))
    page = _transcript(
        acps,
        customer,
        ScanDirection="FORWARD",
        SortOrder="ASCENDING",
        StartPosition={"Id": first},
        MaxResults=2,
    )
    ids = [i["Id"] for i in page["Transcript"]]
    assert ids == ([first, second] if include else [second, third])
    if include:  # the NextToken continues after the page, never repeating the start
        rest = _transcript(acps, customer, NextToken=page["NextToken"], MaxResults=10)
        assert [i["Id"] for i in rest["Transcript"]] == [third]
    else:
        assert "NextToken" not in page


@pytest.mark.parametrize("answer", [True, False])
def test_answer_subscribe(
    emu: Emulator, customer: Customer, open_socket: Opener, answer: bool
) -> None:
    emu.set_behaviour(answer_subscribe=answer)
    sock = open_socket(customer.ws_url, subscribe=False)
    sock.send({"topic": "aws/subscribe", "content": {"topics": ["aws/chat"]}})
    wait_until(lambda: emu.websocket_count(customer.contact_id) == 1)
    emu.agent(customer.contact_id).send_message("after subscribe")
    sock.wait_item(lambda i: i.get("Content") == "after subscribe")
    acks = [f for f in sock.frames if f.get("topic") == "aws/subscribe"]
    if answer:
        assert acks == [{"topic": "aws/subscribe",
                         "content": {"status": "success", "topics": ["aws/chat"]}}]  # fmt: skip
    else:
        assert acks == []  # subscribed (the message came) but never answered


@pytest.mark.parametrize("left_first", [True, False])
def test_left_before_ended(
    emu: Emulator, acps: Any, customer: Customer, open_socket: Opener, left_first: bool
) -> None:
    emu.set_behaviour(left_before_ended=left_first)
    sock = open_socket(customer.ws_url)
    agent_id = emu.agent(customer.contact_id).join("Sam")
    emu.end_chat(customer.contact_id)
    sock.wait_item(lambda i: i["ContentType"] == EVT + "chat.ended")
    live = [(i["ContentType"], i.get("ParticipantId")) for i in sock.items()]
    stored = [
        (i["ContentType"], i.get("ParticipantId")) for i in emu.transcript(customer.contact_id)
    ]
    for seen in (live, stored):
        tail = seen[seen.index((EVT + "participant.joined", agent_id)) + 1 :]
        if left_first:
            assert tail == [(EVT + "participant.left", agent_id), (EVT + "chat.ended", None)]
        else:
            assert tail == [(EVT + "chat.ended", None)]


def _receipt(acps: Any, customer: Customer, message_id: str) -> dict[str, Any]:
    return acps.send_event(  # type: ignore[no-any-return]
        ConnectionToken=customer.connection_token,
        ContentType=READ,
        Content=json.dumps({"messageId": message_id}),
    )


def _meta_frames(sock: Socket) -> list[dict[str, Any]]:
    return [i for i in sock.items() if i["Type"] == "MESSAGEMETADATA"]


def _marker(emu: Emulator, sock: Socket, contact_id: str, text: str) -> None:
    """An agent message after the frames under test: once it arrives, they have too."""
    emu.agent(contact_id).send_message(text)
    sock.wait_item(lambda i: i.get("Content") == text)


@pytest.mark.parametrize("again", [False, True])
def test_rebroadcast_unchanged_receipts(
    emu: Emulator, acps: Any, customer: Customer, open_socket: Opener, again: bool
) -> None:
    emu.set_behaviour(rebroadcast_unchanged_receipts=again)
    sock = open_socket(customer.ws_url)
    message_id = emu.agent(customer.contact_id).send_message("read me")
    _receipt(acps, customer, message_id)
    _receipt(acps, customer, message_id)
    _marker(emu, sock, customer.contact_id, "marker")
    metas = _meta_frames(sock)
    assert len(metas) == (2 if again else 1)
    assert all(m["MessageMetadata"]["MessageId"] == message_id for m in metas)


@pytest.mark.parametrize("recipients", ["all", "sender"])
def test_receipts_recipients(
    emu: Emulator, acps: Any, customer: Customer, open_socket: Opener, recipients: str
) -> None:
    emu.set_behaviour(receipts_recipients=recipients)
    sock = open_socket(customer.ws_url)
    first = emu.agent(customer.contact_id)
    first.join("Sam")
    message_id = first.send_message("for both")
    first.leave()
    second = emu.agent(customer.contact_id)
    second_id = second.join("Kim")
    second.send_receipt(message_id)
    _receipt(acps, customer, message_id)
    meta = sock.wait_item(
        lambda i: (
            i["Type"] == "MESSAGEMETADATA"
            and any(
                r["RecipientParticipantId"] == customer.participant_id
                for r in i["MessageMetadata"]["Receipts"]
            )
        )
    )
    readers = {r["RecipientParticipantId"] for r in meta["MessageMetadata"]["Receipts"]}
    assert readers == ({second_id, customer.participant_id} if recipients == "all"
                       else {customer.participant_id})  # fmt: skip
    stored = next(i for i in emu.transcript(customer.contact_id) if i["Id"] == message_id)
    assert len(stored["MessageMetadata"]["Receipts"]) == 2  # the transcript keeps every reader


@pytest.mark.parametrize("record", [False, True])
def test_record_own_receipts(
    emu: Emulator, acps: Any, customer: Customer, open_socket: Opener, record: bool
) -> None:
    emu.set_behaviour(record_own_receipts=record)
    sock = open_socket(customer.ws_url)
    own = acps.send_message(
        ConnectionToken=customer.connection_token, ContentType="text/plain", Content="mine"
    )["Id"]
    assert _receipt(acps, customer, own)["Id"]
    _marker(emu, sock, customer.contact_id, "marker")
    stored = next(i for i in emu.transcript(customer.contact_id) if i["Id"] == own)
    receipts = stored["MessageMetadata"]["Receipts"]
    if record:
        assert [m["MessageMetadata"]["MessageId"] for m in _meta_frames(sock)] == [own]
        assert [r["RecipientParticipantId"] for r in receipts] == [customer.participant_id]
    else:
        assert _meta_frames(sock) == [] and receipts == []


@pytest.mark.parametrize("replay", ["200", "403"])
def test_disconnect_replay(emu: Emulator, acps: Any, customer: Customer, replay: str) -> None:
    emu.set_behaviour(disconnect_replay=replay)
    first = acps.disconnect_participant(ConnectionToken=customer.connection_token, ClientToken="t1")
    assert first["ResponseMetadata"]["HTTPStatusCode"] == 200
    if replay == "200":
        again = acps.disconnect_participant(
            ConnectionToken=customer.connection_token, ClientToken="t1"
        )
        assert again["ResponseMetadata"]["HTTPStatusCode"] == 200
    else:
        with pytest.raises(acps.exceptions.AccessDeniedException):
            acps.disconnect_participant(ConnectionToken=customer.connection_token, ClientToken="t1")
    # Without the same ClientToken it is AccessDenied either way.
    with pytest.raises(acps.exceptions.AccessDeniedException):
        acps.disconnect_participant(ConnectionToken=customer.connection_token, ClientToken="t2")


@pytest.mark.parametrize("when", ["start", "subscribe"])
def test_customer_joined_at(emu: Emulator, acps: Any, open_socket: Opener, when: str) -> None:
    emu.set_behaviour(customer_joined_at=when)
    customer = connect_customer(emu, acps, "Ann", initial_message="first words")
    joined = (EVT + "participant.joined", customer.participant_id)

    def stored() -> list[tuple[str, str | None]]:
        return [
            (i["ContentType"], i.get("ParticipantId")) for i in emu.transcript(customer.contact_id)
        ]

    before = stored()
    if when == "start":
        assert before == [joined, ("text/plain", customer.participant_id)]
    else:
        assert before == [("text/plain", customer.participant_id)]
    emu.set_behaviour(customer_joined_at="start" if when == "subscribe" else "subscribe")
    sock = open_socket(customer.ws_url)  # a later switch does not add or lose the event
    item = sock.wait_item(lambda i: i["ContentType"] == EVT + "participant.joined")
    assert item["ParticipantId"] == customer.participant_id
    after = stored()
    assert after.count(joined) == 1
    assert after[-1 if when == "subscribe" else 0] == joined
    second = open_socket(customer.ws_url)
    _marker(emu, second, customer.contact_id, "marker")
    replayed = [i for i in second.items() if i.get("ParticipantId") == customer.participant_id]
    assert replayed == []  # only the customer's first subscription gets its joined event


def _close_of(sock: Socket) -> int | None:
    """The close code the server sent, or ``None`` if the connection just ended."""
    sock.ws.settimeout(5)
    try:
        while True:
            opcode, frame = sock.ws.recv_data_frame(control_frame=True)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                return int.from_bytes(frame.data[:2], "big")
    except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
        return None


@pytest.mark.parametrize("how", ["abort", "1011", "1000", "1001"])
def test_socket_drop(emu: Emulator, customer: Customer, open_socket: Opener, how: str) -> None:
    emu.set_behaviour(socket_drop=how)
    sock = open_socket(customer.ws_url)
    assert emu.faults.drop_websockets(customer.contact_id) == 1
    assert _close_of(sock) == (None if how == "abort" else int(how))
    wait_until(lambda: emu.websocket_count(customer.contact_id) == 0)
    assert (
        requests.post(
            f"{emu.endpoint_url}/emulator/faults", json={"Fault": "drop_websockets"}, timeout=5
        ).status_code
        == 200
    )


@pytest.mark.parametrize("reuse", [True, False])
def test_reuse_websocket_url(
    emu: Emulator, customer: Customer, open_socket: Opener, reuse: bool
) -> None:
    emu.set_behaviour(reuse_websocket_url=reuse)
    first = open_socket(customer.ws_url)
    if reuse:
        second = open_socket(customer.ws_url)
        _marker(emu, second, customer.contact_id, "to both")
        first.wait_item(lambda i: i.get("Content") == "to both")
    else:
        with pytest.raises(websocket.WebSocketBadStatusException) as info:
            open_socket(customer.ws_url)
        assert info.value.status_code == 403
        first.send({"topic": "aws/heartbeat"})  # the first socket is untouched
        first.wait_for(lambda f: f.get("topic") == "aws/heartbeat")


@pytest.mark.parametrize("honour", [True, False])
def test_honour_unsubscribe(
    emu: Emulator, customer: Customer, open_socket: Opener, honour: bool
) -> None:
    emu.set_behaviour(honour_unsubscribe=honour)
    sock = open_socket(customer.ws_url)
    sock.send({"topic": "aws/unsubscribe", "content": {"topics": ["aws/chat"]}})
    if honour:
        sock.wait_for(lambda f: f.get("topic") == "aws/unsubscribe")
        wait_until(lambda: emu.websocket_count(customer.contact_id) == 0)
    emu.agent(customer.contact_id).send_message("after unsubscribe")
    sock.send({"topic": "aws/heartbeat"})  # answered after anything queued before it
    sock.wait_for(lambda f: f.get("topic") == "aws/heartbeat")
    got = [i.get("Content") for i in sock.items()]
    assert ("after unsubscribe" in got) is (not honour)
    unsub = [f for f in sock.frames if f.get("topic") == "aws/unsubscribe"]
    assert len(unsub) == (1 if honour else 0)


@pytest.mark.parametrize("zero", ["empty_without_token", "empty_with_token"])
def test_max_results_zero(emu: Emulator, acps: Any, customer: Customer, zero: str) -> None:
    emu.set_behaviour(max_results_zero=zero)
    agent = emu.agent(customer.contact_id)
    sent = [agent.send_message(t) for t in ("a", "b")]
    page = _transcript(acps, customer, MaxResults=0)
    assert page["Transcript"] == []
    if zero == "empty_without_token":
        assert "NextToken" not in page
        return
    rest = _transcript(acps, customer, NextToken=page["NextToken"], MaxResults=2)
    assert [i["Id"] for i in rest["Transcript"]] == list(reversed(sent))  # newest first
    forward = _transcript(
        acps, customer, MaxResults=0, ScanDirection="FORWARD", StartPosition={"Id": sent[0]}
    )
    assert forward["Transcript"] == [] and "NextToken" in forward
    assert [i["Id"] for i in _transcript(acps, customer, NextToken=forward["NextToken"])[
        "Transcript"]] == [sent[1]]  # fmt: skip
    nothing = _transcript(acps, customer, MaxResults=0, ScanDirection="FORWARD")
    assert "NextToken" not in nothing  # nothing to scan: no token


def test_unusual_profile_over_the_wire(open_socket: Opener) -> None:
    """Everything flipped at once still gives a usable chat (the profile's own smoke test)."""
    with Emulator(behaviour="unusual", close_delay_after_end=0.05) as emu:
        acps = make_acps(emu.endpoint_url)
        customer = connect_customer(emu, acps, "Ann")
        sock = open_socket(customer.ws_url, subscribe=False)
        sock.send({"topic": "aws/subscribe", "content": {"topics": ["aws/chat"]}})
        joined = sock.wait_item(lambda i: i["ContentType"] == EVT + "participant.joined")
        assert joined["ParticipantId"] == customer.participant_id
        with pytest.raises(websocket.WebSocketBadStatusException):
            websocket.create_connection(customer.ws_url, timeout=5)
        assert emu.faults.drop_websockets() == 1
        assert _close_of(sock) == 1011
