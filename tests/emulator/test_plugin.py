"""The pytest plugin's ``connect_emulator`` fixture gives a running emulator."""

from __future__ import annotations

from connect_chat.emulator import Emulator
from tests.emulator.conftest import make_acps


def test_connect_emulator_fixture(connect_emulator: Emulator) -> None:
    details = connect_emulator.start_chat("Ann")
    answer = make_acps(connect_emulator.endpoint_url).create_participant_connection(
        ParticipantToken=details.participant_token, Type=["CONNECTION_CREDENTIALS"]
    )
    assert answer["ConnectionCredentials"]["ConnectionToken"]
