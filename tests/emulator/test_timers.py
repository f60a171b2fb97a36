"""Idle, returned and auto-disconnect timers (shortened through Emulator knobs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connect_chat.emulator import Emulator
from tests.emulator.conftest import Socket, connect_customer, make_acps

EVT = "application/vnd.amazonaws.connect.event."


def test_idle_then_returned(open_socket: Callable[..., Socket]) -> None:
    with Emulator(idle_timeout=0.1) as emu:
        acps = make_acps(emu.endpoint_url)
        customer = connect_customer(emu, acps)
        sock = open_socket(customer.ws_url)
        idle = sock.wait_item(lambda i: i["ContentType"] == EVT + "participant.idle")
        assert idle["ParticipantId"] == customer.participant_id
        acps.send_message(
            ConnectionToken=customer.connection_token, ContentType="text/plain", Content="back"
        )
        returned = sock.wait_item(lambda i: i["ContentType"] == EVT + "participant.returned")
        message = sock.wait_item(lambda i: i["Type"] == "MESSAGE")
        assert returned["AbsoluteTime"] < message["AbsoluteTime"]


def test_auto_disconnect_after_idle(open_socket: Callable[..., Socket]) -> None:
    with Emulator(
        idle_timeout=0.05, auto_disconnect_timeout=0.1, close_delay_after_end=0.05
    ) as emu:
        acps: Any = make_acps(emu.endpoint_url)
        customer = connect_customer(emu, acps)
        sock = open_socket(customer.ws_url)
        sock.wait_item(lambda i: i["ContentType"] == EVT + "participant.idle")
        sock.wait_item(lambda i: i["ContentType"] == EVT + "participant.autodisconnection")
        sock.wait_item(lambda i: i["ContentType"] == EVT + "participant.left")
        sock.wait_item(lambda i: i["ContentType"] == EVT + "chat.ended")
        assert emu.contact(customer.contact_id)["State"] == "ENDED"
