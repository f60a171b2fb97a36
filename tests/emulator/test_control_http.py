"""The HTTP form of the control API (DESIGN.md table) and the echo agent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from connect_chat.emulator import Emulator
from tests.emulator.conftest import Customer, Socket, connect_customer, make_acps

EVT = "application/vnd.amazonaws.connect.event."


def _post(emu: Emulator, path: str, body: dict[str, Any] | None = None) -> requests.Response:
    return requests.post(f"{emu.endpoint_url}{path}", json=body or {}, timeout=5)


def test_agent_over_http(
    emu: Emulator, customer: Customer, open_socket: Callable[..., Socket]
) -> None:
    sock = open_socket(customer.ws_url)
    base = f"/emulator/contacts/{customer.contact_id}"
    joined = _post(emu, f"{base}/agent/join", {"DisplayName": "Sam"})
    assert joined.status_code == 200
    agent_id = joined.json()["ParticipantId"]
    message = _post(emu, f"{base}/agent/message", {"Content": "hi", "ContentType": "text/markdown"})
    assert set(message.json()) == {"Id", "AbsoluteTime"}
    item = sock.wait_item(lambda i: i["Type"] == "MESSAGE")
    assert item["Id"] == message.json()["Id"] and item["ParticipantId"] == agent_id
    typing = _post(emu, f"{base}/agent/event", {"ContentType": EVT + "typing"})
    assert sock.wait_item(lambda i: i["ContentType"] == EVT + "typing")["Id"] == typing.json()["Id"]
    state = requests.get(f"{emu.endpoint_url}{base}", timeout=5).json()
    assert state["ContactId"] == customer.contact_id and state["State"] == "ACTIVE"
    assert state["Transcript"][-1]["Content"] == "hi"
    assert _post(emu, f"{base}/end").json() == {}
    sock.wait_item(lambda i: i["ContentType"] == EVT + "chat.ended")
    assert requests.get(f"{emu.endpoint_url}{base}", timeout=5).json()["State"] == "ENDED"


def test_control_errors(emu: Emulator) -> None:
    assert _post(emu, "/emulator/contacts/nope/agent/join").status_code == 404
    assert requests.get(f"{emu.endpoint_url}/emulator/contacts/nope", timeout=5).status_code == 404
    assert _post(emu, "/emulator/faults", {"Fault": "unplug"}).status_code == 400


def test_faults_over_http(
    emu: Emulator, customer: Customer, open_socket: Callable[..., Socket]
) -> None:
    acps = make_acps(emu.endpoint_url)
    assert (
        _post(
            emu,
            "/emulator/faults",
            {"Fault": "http_errors", "Status": 429, "Count": 1, "Operations": ["GetTranscript"]},
        ).json()
        == {}
    )
    failed = requests.post(
        f"{emu.endpoint_url}/participant/transcript",
        headers={"X-Amz-Bearer": customer.connection_token},
        timeout=5,
    )
    assert failed.status_code == 429 and failed.headers["x-amzn-ErrorType"] == "ThrottlingException"
    open_socket(customer.ws_url)
    _post(emu, "/emulator/faults", {"Fault": "drop_websockets", "ContactId": customer.contact_id})
    assert emu.websocket_count() == 0
    _post(emu, "/emulator/faults", {"Fault": "silence_heartbeats", "Seconds": 30})
    sock = open_socket(customer.ws_url)
    sock.send({"topic": "aws/ping"})
    _post(emu, "/emulator/faults", {"Fault": "clear"})
    sock.send({"topic": "aws/heartbeat"})
    sock.wait_for(lambda f: f.get("topic") == "aws/heartbeat")
    assert not any(f.get("topic") == "aws/ping" for f in sock.frames)
    _post(emu, "/emulator/faults", {"Fault": "expire_connection_tokens"})
    denied = requests.post(
        f"{emu.endpoint_url}/participant/transcript",
        headers={"X-Amz-Bearer": customer.connection_token},
        timeout=5,
    )
    assert denied.status_code == 403
    acps.create_participant_connection(
        ParticipantToken=customer.participant_token, Type=["CONNECTION_CREDENTIALS"]
    )
    calls = requests.get(
        f"{emu.endpoint_url}/emulator/calls", params={"operation": "GetTranscript"}, timeout=5
    ).json()["Calls"]
    assert [c["status"] for c in calls] == [429, 403]


def test_start_chat_over_http(emu: Emulator) -> None:
    answer = _post(emu, "/emulator/contacts", {"DisplayName": "Zoe", "InitialMessage": "hey"})
    assert answer.status_code == 200
    body = answer.json()
    items = emu.transcript(body["ContactId"])
    assert items[-1]["Content"] == "hey" and items[-1]["DisplayName"] == "Zoe"


def test_echo_agent(open_socket: Callable[..., Socket]) -> None:
    with Emulator(agent="echo") as emu:
        acps = make_acps(emu.endpoint_url)
        customer = connect_customer(emu, acps)
        sock = open_socket(customer.ws_url)
        acps.send_message(
            ConnectionToken=customer.connection_token, ContentType="text/plain", Content="ping?"
        )
        reply = sock.wait_item(lambda i: i["Type"] == "MESSAGE" and i["ParticipantRole"] == "AGENT")
        assert reply["Content"] == "ping?"
        roles = [i.get("ParticipantRole") for i in emu.transcript(customer.contact_id)]
        assert roles.count("AGENT") == 2  # joined + reply


def test_more_control_routes(
    emu: Emulator, customer: Customer, open_socket: Callable[..., Socket]
) -> None:
    sock = open_socket(customer.ws_url)
    base = f"/emulator/contacts/{customer.contact_id}"
    acps = make_acps(emu.endpoint_url)
    mine = acps.send_message(
        ConnectionToken=customer.connection_token, ContentType="text/plain", Content="read me"
    )["Id"]
    receipt = _post(emu, f"{base}/agent/receipt", {"MessageId": mine})
    assert receipt.status_code == 200
    meta = sock.wait_item(lambda i: i["Type"] == "MESSAGEMETADATA")
    assert meta["Id"] == receipt.json()["Id"]
    interactive = _post(
        emu,
        f"{base}/agent/interactive",
        {
            "Template": {
                "templateType": "QuickReply",
                "version": "1.0",
                "data": {"content": {"title": "?", "elements": []}},
            }
        },
    )
    assert sock.wait_item(lambda i: i["Id"] == interactive.json()["Id"])["DisplayName"] == "BOT"
    event = _post(
        emu,
        f"{base}/events",
        {
            "ContentType": EVT + "transfer.succeeded",
            "Content": "Transfer completed successfully",
            "ParticipantRole": "SYSTEM",
            "Store": True,
        },
    )
    assert (
        sock.wait_item(lambda i: i["Id"] == event.json()["Id"])["Content"]
        == "Transfer completed successfully"
    )
    assert emu.transcript(customer.contact_id)[-1]["Id"] == event.json()["Id"]
    agent = emu.agent(customer.contact_id)
    assert agent.participant_id is not None
    assert _post(emu, f"{base}/agent/leave").json() == {}
    assert agent.participant_id is None
    assert emu.frames_sent(customer.contact_id) >= 5
    assert requests.delete(f"{emu.endpoint_url}/emulator/calls", timeout=5).json() == {}
    assert emu.calls() == []
