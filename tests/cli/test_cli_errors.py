"""Failures a user can cause end as one line on stderr and exit code 1, never a traceback."""

from __future__ import annotations

import io
import socket

import pytest

from connect_chat import cli
from connect_chat.cli import command
from connect_chat.errors import AccessDeniedError, EndpointUnreachableError


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), stdin=io.StringIO(""), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def closed_port() -> int:
    """A loopback port nothing listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def no_aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.mark.usefixtures("no_aws_credentials")
def test_a_real_chat_without_credentials_says_how_to_configure_them() -> None:
    code, out, err = run(
        "chat", "--instance-id", "i-1", "--contact-flow-id", "f-1", "--region", "us-east-1"
    )
    assert code == cli.EXIT_FAILURE
    assert err.startswith("connect-chat: error: no AWS credentials found")
    assert "aws configure" in err
    assert err.count("\n") == 1
    assert "Traceback" not in out + err


@pytest.mark.usefixtures("no_aws_credentials")
def test_an_unknown_profile_is_one_line() -> None:
    code, _, err = run(
        "chat", "--instance-id", "i", "--contact-flow-id", "f", "--profile", "nobody-here"
    )
    assert code == cli.EXIT_FAILURE
    assert "nobody-here" in err and err.count("\n") == 1


def test_an_unreachable_endpoint_is_one_line() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    code, out, err = run("chat", "--endpoint-url", url)
    assert code == cli.EXIT_FAILURE
    assert err.startswith("connect-chat: error: cannot reach the endpoint")
    assert err.count("\n") == 1
    assert "Traceback" not in out + err


def test_describe_error_maps_sdk_errors_and_leaves_bugs_alone() -> None:
    assert cli.describe_error(EndpointUnreachableError("down")) == (
        "cannot reach the endpoint: down"
    )
    refused = AccessDeniedError("expired", operation="SendMessage")
    assert cli.describe_error(refused) == (
        "the service refused: SendMessage: AccessDeniedException: expired"
    )
    assert cli.describe_error(ZeroDivisionError("bug")) is None


def test_a_bug_keeps_its_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> int:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(command, "_run_demo", broken)
    with pytest.raises(ZeroDivisionError):
        run("demo")


def test_ctrl_c_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: object, **kwargs: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(command, "_run_demo", interrupted)
    code, _, err = run("demo")
    assert code == cli.EXIT_INTERRUPTED
    assert err == "interrupted\n"


def test_verbose_shows_sdk_logs_but_never_tokens() -> None:
    from connect_chat.emulator import Emulator

    with Emulator() as emulator:
        details = emulator.start_chat(display_name="Ann")
        out, err = io.StringIO(), io.StringIO()
        code = cli.main(
            ["-v", "chat", "--participant-token", details.participant_token,
             "--endpoint-url", emulator.endpoint_url],
            stdin=io.StringIO("hello\n"), stdout=out, stderr=err,
        )
    assert code == 0, err.getvalue()
    logs = err.getvalue()
    assert "connect_chat." in logs and "DEBUG" in logs
    assert details.participant_token not in logs + out.getvalue()
    import logging

    assert logging.getLogger("connect_chat").handlers[-1].__class__ is logging.NullHandler
