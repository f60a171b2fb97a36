"""The pytest plugin as a user meets it: installed by entry point, fixtures in a fresh project."""

from __future__ import annotations

import shutil

import pytest

from tests.examples.support import EXAMPLES

pytest_plugins = ["pytester"]


def test_the_plugin_is_registered_by_its_entry_point(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_registered(pytestconfig):
            plugin = pytestconfig.pluginmanager.get_plugin("connect_chat")
            assert plugin is not None
            assert plugin.__name__ == "connect_chat.pytest_plugin"
        """
    )
    pytester.runpytest_subprocess("-q").assert_outcomes(passed=1)


def test_a_run_that_does_not_use_it_never_imports_the_emulator(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import sys

        def test_nothing_heavy_was_imported():
            assert "connect_chat.pytest_plugin" in sys.modules
            assert "connect_chat.emulator" not in sys.modules
            assert "aiohttp" not in sys.modules
        """
    )
    pytester.runpytest_subprocess("-q").assert_outcomes(passed=1)


def test_connect_emulator_gives_a_running_emulator_and_stops_it(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import socket
        from urllib.parse import urlsplit

        seen = []

        def test_uses_it(connect_emulator):
            url = connect_emulator.endpoint_url
            assert url.startswith("http://127.0.0.1:")
            details = connect_emulator.start_chat(display_name="Ann")
            assert details.contact_id
            seen.append(urlsplit(url).port)

        def test_it_was_stopped():
            with socket.socket() as sock:
                assert sock.connect_ex(("127.0.0.1", seen[0])) != 0
        """
    )
    pytester.runpytest_subprocess("-q").assert_outcomes(passed=2)


def test_a_failing_user_test_fails(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from connect_chat.testing import wait_until

        def test_waits_for_what_never_comes(connect_emulator):
            details = connect_emulator.start_chat()
            wait_until(lambda: connect_emulator.transcript(details.contact_id) == ["nope"],
                       timeout=0.2, message="a reply")
        """
    )
    result = pytester.runpytest_subprocess("-q")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*timed out after 0.2 s waiting for a reply*"])


def test_the_documented_example_test_passes(pytester: pytest.Pytester) -> None:
    """examples/test_my_bot.py, copied into a project of its own, as a user would."""
    for name in ("test_my_bot.py", "bot.py"):
        shutil.copy(EXAMPLES / name, pytester.path / name)
    result = pytester.runpytest_subprocess("-q", "test_my_bot.py")
    result.assert_outcomes(passed=4)


def test_a_marker_passes_options_to_the_emulator(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from connect_chat import ChatSession, ContentType, GlobalConfig, Message

        @pytest.mark.connect_emulator(agent="echo")
        def test_echo(connect_emulator):
            details = connect_emulator.start_chat()
            config = GlobalConfig(endpoint_url=connect_emulator.endpoint_url)
            with ChatSession(config) as session:
                session.connect(details)
                session.send_message(ContentType.PLAIN_TEXT, "ping")
                reply = session.wait_for(
                    lambda i: isinstance(i, Message) and i.participant == "AGENT", timeout=10)
                assert reply.text == "ping"

        def test_no_agent_by_default(connect_emulator):
            details = connect_emulator.start_chat()
            items = connect_emulator.transcript(details.contact_id)
            assert "AGENT" not in [i.get("ParticipantRole") for i in items]
        """
    )
    result = pytester.runpytest_subprocess("-q", "--strict-markers")
    result.assert_outcomes(passed=2)


def test_the_helpers_need_no_pytest() -> None:
    """A user with the emulator extra alone (no pytest) runs examples/bot.py, which uses
    connect_chat.testing.wait_until: that import failed with ModuleNotFoundError."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['pytest'] = None; "
            "from connect_chat.testing import chat_with_agent, wait_until; print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
