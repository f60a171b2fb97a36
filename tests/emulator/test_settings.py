"""One ``Settings`` per emulator: passed whole, or as keywords, or built by the command line."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from connect_chat.emulator import Emulator, Settings
from connect_chat.emulator.behaviour import Behaviour, profile
from connect_chat.emulator.settings import SETTING_NAMES, settings_from
from connect_chat.emulator.standalone import build_parser, settings_from_args
from tests.emulator.conftest import connect_customer, make_acps

JOINED = "application/vnd.amazonaws.connect.event.participant.joined"


def test_an_unknown_keyword_is_a_type_error_naming_it_and_the_valid_ones() -> None:
    with pytest.raises(TypeError) as raised:
        Emulator(conection_token_ttl=3.0)
    message = str(raised.value)
    assert message.startswith("Emulator() got unexpected keyword argument 'conection_token_ttl';")
    assert "connection_token_ttl" in message.split(";", 1)[1]
    assert all(name in message for name in SETTING_NAMES)

    with pytest.raises(TypeError, match="arguments 'a', 'b';"):
        Emulator(b=1, a=2)
    with pytest.raises(TypeError, match="Settings got unexpected keyword argument 'nope'"):
        settings_from(None, {"nope": 1})


def test_settings_passed_whole_are_the_emulators_and_reach_the_server() -> None:
    settings = Settings(agent="echo", max_call_records=2)
    with Emulator(settings=settings) as emu:
        assert emu.settings == settings
        acps = make_acps(emu.endpoint_url)
        customer = connect_customer(emu, acps)
        # agent="echo": an agent has joined the chat.
        joined = [
            item["ParticipantRole"]
            for item in emu.transcript(customer.contact_id)
            if item.get("ContentType") == JOINED
        ]
        assert "AGENT" in joined
        # max_call_records=2: the request log keeps the last two calls only.
        emu.start_chat("Bo")
        emu.start_chat("Cy")
        assert [call.operation for call in emu.calls()] == ["StartChatContact"] * 2


def test_keywords_apply_over_the_settings_and_over_the_defaults() -> None:
    base = Settings(agent="echo", idle_timeout=5.0)
    emu = Emulator(settings=base, idle_timeout=1.0, max_call_records=3)  # not started
    assert emu.settings == dataclasses.replace(base, idle_timeout=1.0, max_call_records=3)
    # The positional agent overrides; None keeps the settings' agent.
    assert Emulator(None, settings=base).settings.agent == "echo"
    assert Emulator("echo").settings == Settings(agent="echo")
    assert Emulator().settings == Settings()


def test_the_keyword_form_takes_iterables_profiles_and_none_for_the_default() -> None:
    emu = Emulator(
        allowed_attachment_types=["image/png"],
        default_supported_content_types=("text/plain",),
        behaviour="unusual",
        control_allowed_origins="http://localhost:3000/",
    )
    assert emu.settings == Settings(
        allowed_attachment_types=frozenset({"image/png"}),
        default_supported_content_types=frozenset({"text/plain"}),
        behaviour=profile("unusual"),
        control_allowed_origins=frozenset({"http://localhost:3000"}),
    )
    defaults: dict[str, Any] = {
        "allowed_attachment_types": None,
        "default_supported_content_types": None,
        "behaviour": None,
    }
    assert Emulator(**defaults).settings == Settings()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"agent": "bot"}, "agent must be None or 'echo'"),
        ({"connection_token_ttl": 0}, "connection_token_ttl must be positive"),
        ({"max_call_records": 0}, "max_call_records must be >= 1"),
        ({"socket_lifetime_close_code": 999}, "valid WebSocket close code"),
    ],
)
def test_settings_check_their_values_however_they_are_given(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Settings(**options)
    with pytest.raises(ValueError, match=message):
        Emulator(**options)


def test_the_command_line_builds_the_same_settings() -> None:
    assert settings_from_args(build_parser().parse_args([])) == Settings()
    args = build_parser().parse_args(
        [
            "--agent", "echo",
            "--idle-timeout", "2",
            "--max-call-records", "7",
            "--socket-lifetime-close-code", "4002",
            "--behaviour", "socket_drop=1011",
            "--control-allow-origin", "http://localhost:3000/",
        ]
    )
    assert settings_from_args(args) == Settings(
        agent="echo",
        idle_timeout=2.0,
        max_call_records=7,
        socket_lifetime_close_code=4002,
        behaviour=Behaviour(socket_drop="1011"),
        control_allowed_origins=frozenset({"http://localhost:3000"}),
    )
