"""More fault knobs: latency, ping errors, refused upgrades, duplicated and reordered frames,
the SendMessage response/echo order, socket lifetime, and the bounded request log.

Long delays (60 s) make the "still waiting" checks deterministic; ``faults.clear()`` releases
what they hold, so no test waits for them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import websocket

from connect_chat.emulator import Emulator
from connect_chat.emulator.calls import CallLog, CallRecord
from connect_chat.emulator.standalone import build_parser, emulator_from_args
from tests.emulator.conftest import (
    Customer,
    Socket,
    connect_customer,
    make_acps,
    make_connect,
    wait_until,
)

LONG = 60.0


def _fault(emu: Emulator, **body: Any) -> requests.Response:
    return requests.post(f"{emu.endpoint_url}/emulator/faults", json=body, timeout=5)


def _send(acps: Any, who: Customer, text: str) -> dict[str, Any]:
    return acps.send_message(  # type: ignore[no-any-return]
        ConnectionToken=who.connection_token, ContentType="text/plain", Content=text
    )


class InBackground:
    """Runs one call on a thread; ``done`` is set when it returned or raised."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None
        self.elapsed = 0.0

        def run() -> None:
            start = time.monotonic()
            try:
                self.result = fn()
            except BaseException as exc:  # re-raised by get()
                self.error = exc
            finally:
                self.elapsed = time.monotonic() - start
                self.done.set()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def get(self, timeout: float = 5.0) -> Any:
        assert self.done.wait(timeout), "the background call did not finish"
        self.thread.join(timeout)
        if self.error is not None:
            raise self.error
        return self.result


def _texts(sock: Socket) -> list[str]:
    return [i["Content"] for i in sock.items() if i["Type"] == "MESSAGE"]


def _wait_text(sock: Socket, text: str) -> dict[str, Any]:
    return sock.wait_item(lambda i: i["Type"] == "MESSAGE" and i.get("Content") == text)


@pytest.fixture
def joined_socket(
    emu: Emulator, customer: Customer, open_socket: Callable[..., Socket]
) -> Iterator[Socket]:
    """The customer's subscribed socket, past its ``participant.joined`` replay, with an agent
    already in the chat (so no more join frames come)."""
    emu.agent(customer.contact_id).join("Sam")
    sock = open_socket(customer.ws_url)
    sock.wait_item(lambda i: i["ContentType"].endswith("participant.joined"))
    yield sock


# --- latency ---------------------------------------------------------------------------------
def test_latency_holds_matching_calls_while_others_are_served(emu: Emulator, acps: Any) -> None:
    ann, bob = connect_customer(emu, acps, "Ann"), connect_customer(emu, acps, "Bob")
    emu.faults.latency(LONG, operations=["SendMessage"], contact_id=ann.contact_id)
    held = InBackground(lambda: _send(acps, ann, "slow"))
    wait_until(lambda: emu.faults.held_calls() == 1)
    # The loop is free: another contact, and another operation of the same contact, go through.
    _send(acps, bob, "bob is not delayed")
    acps.get_transcript(ConnectionToken=ann.connection_token)
    assert not held.done.is_set()
    assert "slow" not in [i.get("Content") for i in emu.transcript(ann.contact_id)]
    emu.faults.clear()  # answers the waiting call now
    answer = held.get()
    assert emu.transcript(ann.contact_id)[-1]["Id"] == answer["Id"]
    assert emu.faults.held_calls() == 0
    _send(acps, ann, "not delayed after clear")  # would hang for 60 s otherwise


def test_latency_count_delays_only_the_next_calls(
    emu: Emulator, customer: Customer, acps: Any
) -> None:
    emu.faults.latency(LONG, count=1)
    first = InBackground(lambda: acps.get_transcript(ConnectionToken=customer.connection_token))
    wait_until(lambda: emu.faults.held_calls() == 1)
    acps.get_transcript(ConnectionToken=customer.connection_token)  # the count is used up
    assert not first.done.is_set()
    emu.faults.clear()
    first.get()


def test_stop_answers_held_calls_instead_of_cutting_them_off() -> None:
    emulator = Emulator()
    with emulator:
        acps = make_acps(emulator.endpoint_url)
        customer = connect_customer(emulator, acps)
        emulator.faults.latency(LONG)
        held = InBackground(lambda: acps.get_transcript(ConnectionToken=customer.connection_token))
        wait_until(lambda: emulator.faults.held_calls() == 1)
    assert held.get()["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_latency_over_http_on_start_chat_contact(emu: Emulator) -> None:
    answer = _fault(emu, Fault="latency", Seconds=0.2, Operations=["StartChatContact"], Count=1)
    assert answer.status_code == 200 and answer.json() == {}
    connect = make_connect(emu.endpoint_url)
    start = time.monotonic()
    started = connect.start_chat_contact(
        InstanceId="i", ContactFlowId="f", ParticipantDetails={"DisplayName": "Ann"}
    )
    assert time.monotonic() - start >= 0.2
    assert emu.contact(started["ContactId"])["State"] == "ACTIVE"
    assert _fault(emu, Fault="latency").status_code == 400  # Seconds is required


# --- ping errors -----------------------------------------------------------------------------
def test_ping_errors_count_and_heartbeats_still_answered(
    emu: Emulator, acps: Any, open_socket: Callable[..., Socket]
) -> None:
    ann, bob = connect_customer(emu, acps, "Ann"), connect_customer(emu, acps, "Bob")
    ann_sock, bob_sock = open_socket(ann.ws_url), open_socket(bob.ws_url)
    emu.faults.ping_errors(count=2, contact_id=ann.contact_id)
    bob_sock.send({"topic": "aws/ping"})
    assert bob_sock.wait_for(lambda f: f.get("topic") == "aws/ping")["statusCode"] == 200
    for _ in range(3):
        ann_sock.send({"topic": "aws/ping"})
    ann_sock.send({"topic": "aws/heartbeat"})
    ann_sock.wait_for(lambda f: f.get("topic") == "aws/heartbeat")
    pings = [f for f in ann_sock.frames if f.get("topic") == "aws/ping"]
    assert pings == [
        {"topic": "aws/ping", "statusCode": 500, "statusContent": "Internal Server Error"},
        {"topic": "aws/ping", "statusCode": 500, "statusContent": "Internal Server Error"},
        {"topic": "aws/ping", "statusCode": 200, "statusContent": "OK"},
    ]


def test_ping_errors_over_http_until_cleared(
    emu: Emulator, customer: Customer, open_socket: Callable[..., Socket]
) -> None:
    sock = open_socket(customer.ws_url)
    armed = _fault(emu, Fault="ping_errors", Status=503, Content="Service Unavailable")
    assert armed.status_code == 200
    for _ in range(2):
        sock.send({"topic": "aws/ping"})
        reply = sock.wait_for(lambda f: f.get("topic") == "aws/ping")
        assert (reply["statusCode"], reply["statusContent"]) == (503, "Service Unavailable")
    assert _fault(emu, Fault="clear").status_code == 200
    sock.send({"topic": "aws/ping"})
    reply = sock.wait_for(lambda f: f.get("topic") == "aws/ping")
    assert (reply["statusCode"], reply["statusContent"]) == (200, "OK")


# --- refused upgrades ------------------------------------------------------------------------
def test_refuse_upgrades_count_and_contact(
    emu: Emulator, acps: Any, open_socket: Callable[..., Socket]
) -> None:
    ann, bob = connect_customer(emu, acps, "Ann"), connect_customer(emu, acps, "Bob")
    emu.faults.refuse_upgrades(count=1, status=503, contact_id=ann.contact_id)
    open_socket(bob.ws_url)  # another contact's upgrade is not refused
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        websocket.create_connection(ann.ws_url, timeout=5)
    assert info.value.status_code == 503
    open_socket(ann.ws_url)  # the same URL works: the refusal used up the count
    assert emu.websocket_count(ann.contact_id) == 1


def test_refuse_upgrades_over_http_until_cleared(
    emu: Emulator, customer: Customer, open_socket: Callable[..., Socket]
) -> None:
    assert _fault(emu, Fault="refuse_upgrades").status_code == 200
    for _ in range(2):
        with pytest.raises(websocket.WebSocketBadStatusException) as info:
            websocket.create_connection(customer.ws_url, timeout=5)
        assert info.value.status_code == 403
    emu.faults.clear()
    open_socket(customer.ws_url)


# --- duplicated and reordered frames ---------------------------------------------------------
def test_duplicate_chat_frames_count_on_every_socket(
    emu: Emulator, customer: Customer, joined_socket: Socket, open_socket: Callable[..., Socket]
) -> None:
    second = open_socket(customer.ws_url)
    agent = emu.agent(customer.contact_id)
    emu.faults.duplicate_chat_frames(count=1, contact_id=customer.contact_id)
    for text in ("one", "two", "three"):
        agent.send_message(text)
    for sock in (joined_socket, second):
        _wait_text(sock, "three")
        assert _texts(sock) == ["one", "one", "two", "three"]
    assert emu.frames_sent(customer.contact_id) == 1 + 2 * (2 + 1 + 1)  # joined + copies


def test_duplicate_chat_frames_over_http_until_cleared(
    emu: Emulator, customer: Customer, joined_socket: Socket
) -> None:
    agent = emu.agent(customer.contact_id)
    armed = _fault(emu, Fault="duplicate_chat_frames", ContactId=customer.contact_id)
    assert armed.status_code == 200
    agent.send_message("a")
    agent.send_message("b")
    _wait_text(joined_socket, "b")
    emu.faults.clear()
    agent.send_message("c")
    agent.send_message("d")
    _wait_text(joined_socket, "d")
    assert _texts(joined_socket) == ["a", "a", "b", "b", "c", "d"]


def test_reorder_chat_frames_swaps_the_next_pair(
    emu: Emulator, customer: Customer, joined_socket: Socket
) -> None:
    agent = emu.agent(customer.contact_id)
    emu.faults.reorder_chat_frames(count=1, contact_id=customer.contact_id, hold=LONG)
    for text in ("a", "b", "c"):
        agent.send_message(text)
    _wait_text(joined_socket, "c")
    assert _texts(joined_socket) == ["b", "a", "c"]


def test_reorder_chat_frames_over_http_two_pairs(
    emu: Emulator, customer: Customer, joined_socket: Socket
) -> None:
    agent = emu.agent(customer.contact_id)
    answer = _fault(
        emu, Fault="reorder_chat_frames", Count=2, Hold=LONG, ContactId=customer.contact_id
    )
    assert answer.status_code == 200
    for text in ("a", "b", "c", "d", "e"):
        agent.send_message(text)
    _wait_text(joined_socket, "e")
    assert _texts(joined_socket) == ["b", "a", "d", "c", "e"]


def test_a_lone_held_frame_is_not_lost(
    emu: Emulator, customer: Customer, joined_socket: Socket
) -> None:
    agent = emu.agent(customer.contact_id)
    emu.faults.reorder_chat_frames(hold=0.05)
    agent.send_message("alone")
    _wait_text(joined_socket, "alone")  # flushed after the hold, no second frame needed
    emu.faults.reorder_chat_frames(hold=LONG)
    agent.send_message("held")
    emu.faults.clear()  # releases the held frame now
    _wait_text(joined_socket, "held")
    assert _texts(joined_socket) == ["alone", "held"]


def test_a_held_frame_goes_out_before_the_socket_closes(
    emu: Emulator, customer: Customer, joined_socket: Socket
) -> None:
    emu.faults.reorder_chat_frames(hold=LONG)
    emu.agent(customer.contact_id).send_message("last words")
    emu.faults.close_websockets(code=4001, contact_id=customer.contact_id)
    _wait_text(joined_socket, "last words")
    joined_socket.ws.settimeout(5)
    opcode, frame = joined_socket.ws.recv_data_frame(control_frame=True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    assert int.from_bytes(frame.data[:2], "big") == 4001


# --- SendMessage: HTTP response and echo order ------------------------------------------------
def test_delay_echo_sends_the_echo_after_the_response(
    emu: Emulator, customer: Customer, acps: Any, joined_socket: Socket
) -> None:
    emu.faults.delay_echo(LONG, count=1, contact_id=customer.contact_id)
    late = _send(acps, customer, "late")
    on_time = _send(acps, customer, "on time")  # the count is used up
    # Frames reach a socket in the order they are pushed: "on time" overtook "late".
    _wait_text(joined_socket, "on time")
    assert "late" not in _texts(joined_socket)
    stored = [i.get("Content") for i in emu.transcript(customer.contact_id)]
    assert stored[-2:] == ["late", "on time"]  # stored before the response, only the frame waits
    emu.faults.clear()  # pushes the delayed echo now
    assert _wait_text(joined_socket, "late")["Id"] == late["Id"]
    assert _texts(joined_socket) == ["on time", "late"] and on_time["Id"] != late["Id"]


def test_delay_echo_over_http(
    emu: Emulator, customer: Customer, acps: Any, joined_socket: Socket
) -> None:
    body = {"Fault": "delay_echo", "Seconds": LONG, "Count": 1, "ContactId": customer.contact_id}
    assert _fault(emu, **body).status_code == 200
    _send(acps, customer, "delayed")
    emu.agent(customer.contact_id).send_message("agent after the response")
    _wait_text(joined_socket, "agent after the response")
    assert "delayed" not in _texts(joined_socket)
    assert _fault(emu, Fault="clear").status_code == 200
    _wait_text(joined_socket, "delayed")


def test_delay_response_after_echo_sends_the_echo_first(
    emu: Emulator, customer: Customer, acps: Any, joined_socket: Socket
) -> None:
    emu.faults.delay_response_after_echo(LONG, count=1, contact_id=customer.contact_id)
    held = InBackground(lambda: _send(acps, customer, "echo first"))
    echo = _wait_text(joined_socket, "echo first")
    wait_until(lambda: emu.faults.held_calls() == 1)
    assert not held.done.is_set()
    _send(acps, customer, "next one is answered at once")  # the count is used up
    assert not held.done.is_set()
    emu.faults.clear()
    assert held.get()["Id"] == echo["Id"]
    assert [c.status for c in emu.calls("SendMessage", customer.contact_id)] == [200, 200]


def test_delay_response_after_echo_over_http(
    emu: Emulator, customer: Customer, acps: Any, joined_socket: Socket
) -> None:
    assert _fault(emu, Fault="delay_response_after_echo", Seconds=0.2, Count=1).status_code == 200
    start = time.monotonic()
    answer = _send(acps, customer, "slow answer")
    assert time.monotonic() - start >= 0.2
    assert _wait_text(joined_socket, "slow answer")["Id"] == answer["Id"]


# --- socket lifetime (a setting) ---------------------------------------------------------------
def test_max_socket_lifetime_from_the_command_line() -> None:
    args = build_parser().parse_args(
        ["--port", "0", "--max-socket-lifetime", "0.3", "--socket-lifetime-close-code", "4002"]
    )
    emulator = emulator_from_args(args)
    assert emulator.settings.max_socket_lifetime == 0.3
    assert emulator.settings.socket_lifetime_close_code == 4002
    with emulator:
        customer = connect_customer(emulator, make_acps(emulator.endpoint_url))
        opened = time.monotonic()
        sock = Socket(customer.ws_url)
        try:
            sock.ws.settimeout(5)
            opcode, frame = sock.ws.recv_data_frame(control_frame=True)
            while opcode == websocket.ABNF.OPCODE_TEXT:  # the joined item comes first
                opcode, frame = sock.ws.recv_data_frame(control_frame=True)
            assert opcode == websocket.ABNF.OPCODE_CLOSE
            assert int.from_bytes(frame.data[:2], "big") == 4002
            assert time.monotonic() - opened >= 0.3
        finally:
            sock.close()
        wait_until(lambda: emulator.websocket_count() == 0)


def test_setting_checks() -> None:
    assert Emulator().settings.max_socket_lifetime is None  # sockets live on by default
    with pytest.raises(ValueError):
        Emulator(max_socket_lifetime=0)
    with pytest.raises(ValueError):
        Emulator(socket_lifetime_close_code=999)
    with pytest.raises(ValueError):
        Emulator(max_call_records=0)


# --- the request log ---------------------------------------------------------------------------
def test_python_start_chat_is_recorded_as_start_chat_contact(emu: Emulator) -> None:
    details = emu.start_chat("Ann", initial_message="hello")
    (record,) = emu.calls("StartChatContact")
    assert record.contact_id == details.contact_id and record.status == 200
    assert record.body["ParticipantDetails"] == {"DisplayName": "Ann"}
    assert record.body["InitialMessage"]["Content"] == "hello"
    assert record.headers == {} and record.attempt is None  # no HTTP request to PUT /contact/chat
    with pytest.raises(ValueError):
        emu.start_chat("Bob", supported_content_types=["text/markdown"])
    failed = emu.calls("StartChatContact")[-1]
    assert (failed.status, failed.error_code) == (400, "InvalidParameterException")
    over_http = requests.post(
        f"{emu.endpoint_url}/emulator/contacts", json={"DisplayName": "Cy"}, timeout=5
    ).json()
    assert emu.calls("StartChatContact")[-1].contact_id == over_http["ContactId"]
    assert len(emu.calls("StartChatContact")) == 3


def test_the_request_log_is_bounded() -> None:
    with Emulator(max_call_records=3) as emu:
        contact_ids = [emu.start_chat(f"C{n}").contact_id for n in range(5)]
        assert [c.contact_id for c in emu.calls()] == contact_ids[-3:]
    args = build_parser().parse_args(["--max-call-records", "7"])
    assert emulator_from_args(args).settings.max_call_records == 7
    assert Emulator().settings.max_call_records == 10_000


def test_call_log_drops_the_oldest_first() -> None:
    log = CallLog(max_records=2)
    for n in range(3):
        log.append(CallRecord(f"Op{n}", None, None, {}, 200, None))
    assert [r.operation for r in log.select()] == ["Op1", "Op2"]
    with pytest.raises(ValueError):
        CallLog(max_records=0)


# --- argument checks ---------------------------------------------------------------------------
def test_argument_checks(emu: Emulator) -> None:
    faults = emu.faults
    for call in (
        lambda: faults.latency(-1),
        lambda: faults.latency(1, count=-1),
        lambda: faults.ping_errors(status=99),
        lambda: faults.refuse_upgrades(status=200),
        lambda: faults.reorder_chat_frames(hold=0),
        lambda: faults.duplicate_chat_frames(count=-1),
        lambda: faults.delay_echo(-1),
        lambda: faults.delay_response_after_echo(-0.5),
    ):
        with pytest.raises(ValueError):
            call()
    assert _fault(emu, Fault="ping_errors", Count="many").status_code == 400
    assert _fault(emu, Fault="refuse_upgrades", Status=200).status_code == 400
    assert _fault(emu, Fault="delay_echo").status_code == 400


def test_faults_never_reach_the_wire_unarmed(
    emu: Emulator, customer: Customer, acps: Any, joined_socket: Socket
) -> None:
    """Armed for another contact, no knob touches this one."""
    other = "not-" + customer.contact_id
    emu.faults.latency(LONG, contact_id=other)
    emu.faults.ping_errors(contact_id=other)
    emu.faults.refuse_upgrades(contact_id=other)
    emu.faults.duplicate_chat_frames(contact_id=other)
    emu.faults.reorder_chat_frames(contact_id=other, hold=LONG)
    emu.faults.delay_echo(LONG, contact_id=other)
    emu.faults.delay_response_after_echo(LONG, contact_id=other)
    answer = _send(acps, customer, "plain")
    assert _wait_text(joined_socket, "plain")["Id"] == answer["Id"]
    emu.agent(customer.contact_id).send_message("reply")
    _wait_text(joined_socket, "reply")
    assert _texts(joined_socket) == ["plain", "reply"]
    joined_socket.send({"topic": "aws/ping"})
    assert joined_socket.wait_for(lambda f: f.get("topic") == "aws/ping")["statusCode"] == 200
    fresh = acps.create_participant_connection(
        ParticipantToken=customer.participant_token, Type=["WEBSOCKET"]
    )["Websocket"]["Url"]
    Socket(fresh).close()
    assert emu.faults.held_calls() == 0


# --- ended contacts ----------------------------------------------------------------------------
def test_the_oldest_ended_contacts_are_forgotten_beyond_the_bound() -> None:
    with Emulator(max_ended_contacts=2) as emulator:
        acps = make_acps(emulator.endpoint_url)
        customers = [connect_customer(emulator, acps, f"C{n}") for n in range(3)]
        live = connect_customer(emulator, acps, "still chatting")
        for customer in customers:
            acps.disconnect_participant(ConnectionToken=customer.connection_token)
        first, second, third = customers
        assert first.contact_id not in emulator.contact_ids()  # the oldest ended: forgotten
        assert {second.contact_id, third.contact_id, live.contact_id} <= set(
            emulator.contact_ids())
        assert emulator.contact(second.contact_id)["State"] == "ENDED"
        # Its tokens are unknown now: refused as for any ended chat.
        with pytest.raises(acps.exceptions.AccessDeniedException):
            acps.get_transcript(ConnectionToken=first.connection_token)
        with pytest.raises(acps.exceptions.AccessDeniedException):
            acps.create_participant_connection(
                ParticipantToken=first.participant_token, Type=["CONNECTION_CREDENTIALS"])
        # A chat that has not ended is never forgotten, however many end after it.
        assert acps.get_transcript(ConnectionToken=live.connection_token)["Transcript"]
    assert build_parser().parse_args(["--max-ended-contacts", "5"]).max_ended_contacts == 5
    assert emulator_from_args(
        build_parser().parse_args(["--max-ended-contacts", "5"])).settings.max_ended_contacts == 5
    assert Emulator().settings.max_ended_contacts == 1000
    with pytest.raises(ValueError):
        Emulator(max_ended_contacts=0)
