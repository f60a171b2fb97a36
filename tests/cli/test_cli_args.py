"""The command line: help, version, and one-line errors for arguments that make no sense."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

import connect_chat
from connect_chat import cli


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), stdin=io.StringIO(""), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run("--version")
    assert code == 0
    assert capsys.readouterr().out.strip() == f"connect-chat {connect_chat.__version__}"


@pytest.mark.parametrize("argv", [["--help"], ["demo", "--help"], ["chat", "--help"]])
def test_help_exits_zero_and_describes_the_command(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = run(*argv)
    assert code == 0
    assert "usage: connect-chat" in capsys.readouterr().out


def test_no_command_prints_help_and_fails() -> None:
    code, out, _ = run()
    assert code == cli.EXIT_USAGE
    assert "demo" in out and "chat" in out and "emulator" in out


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run("dance")
    assert code == cli.EXIT_USAGE
    assert "invalid choice" in capsys.readouterr().err


def test_negative_pace_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run("demo", "--pace", "-1")
    assert code == cli.EXIT_USAGE
    assert "must be zero or more" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["chat", "--instance-id", "i-1"], "--instance-id and --contact-flow-id go together"),
        (["chat", "--contact-flow-id", "f-1"], "--instance-id and --contact-flow-id go together"),
        (
            ["chat", "--instance-id", "i", "--contact-flow-id", "f", "--participant-token", "t"],
            "cannot be combined",
        ),
        (["chat", "--participant-token", " "], "--participant-token must not be empty"),
        (["chat", "--endpoint-url", "localhost:8000"], "must start with http://"),
        (["chat", "--region", "eu-west-1"], "--region/--profile apply to a real chat"),
    ],
)
def test_chat_arguments_that_make_no_sense_fail_in_one_line(
    argv: list[str], message: str
) -> None:
    code, out, err = run(*argv)
    assert code == cli.EXIT_USAGE
    assert message in err
    assert err.count("\n") == 1
    assert "Traceback" not in err + out


def test_the_console_script_module_runs_as_a_program() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "connect_chat.cli", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    assert connect_chat.__version__ in result.stdout


def test_the_chat_options_never_show_the_participant_token() -> None:
    from connect_chat.cli.chat import ChatOptions

    options = ChatOptions(participant_token="secret-participant-token", contact_id="c-1")
    assert "secret-participant-token" not in repr(options)
    assert "c-1" in repr(options)
