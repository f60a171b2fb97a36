"""The official JavaScript client (amazon-connect-chatjs, in Node) against the emulator.

Uses ``CONNECT_CHAT_CHATJS_DIR`` when it names a directory whose ``node_modules`` holds
``amazon-connect-chatjs`` and ``ws``; otherwise, where ``node`` and ``npm`` are on the PATH, it
installs the pinned versions once into ``~/.cache/connect-chat/`` (a few seconds). It skips only
where Node.js is missing or the npm registry cannot be reached.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from connect_chat.emulator import Emulator
from tests.emulator.conftest import wait_until

SCRIPT = Path(__file__).parent / "chatjs" / "customer.js"
PACKAGES = ("amazon-connect-chatjs@5.0.0", "ws@8.23.0")


def _installed(directory: Path) -> bool:
    return (directory / "node_modules" / "amazon-connect-chatjs").is_dir() and (
        directory / "node_modules" / "ws"
    ).is_dir()


@pytest.fixture(scope="module")
def chatjs_dir() -> Path:
    """A directory with the official JavaScript client installed (see the module docstring)."""
    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed")
    given = os.environ.get("CONNECT_CHAT_CHATJS_DIR")
    if given:
        if not _installed(Path(given)):
            pytest.fail(f"CONNECT_CHAT_CHATJS_DIR={given} holds no amazon-connect-chatjs")
        return Path(given)
    directory = Path.home() / ".cache" / "connect-chat" / "chatjs-5.0.0"
    if not _installed(directory):
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("npm is not installed")
        directory.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [npm, "install", "--prefix", str(directory), "--no-audit", "--no-fund", *PACKAGES],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0 or not _installed(directory):
            pytest.skip(f"could not install {' '.join(PACKAGES)}: {result.stderr[-500:]}")
    return directory


def test_official_javascript_client_full_session(chatjs_dir: Path) -> None:
    chatjs = str(chatjs_dir)
    with Emulator(agent="echo", close_delay_after_end=0.2) as emu:
        details = emu.start_chat("Node")
        assert details.contact_id and details.participant_id
        env = dict(os.environ, NODE_PATH=str(Path(chatjs) / "node_modules"))
        proc = subprocess.Popen(
            [
                "node",
                str(SCRIPT),
                emu.endpoint_url,
                details.contact_id,
                details.participant_id,
                details.participant_token,
            ],
            cwd=chatjs,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            if not first:  # it ended before it was ready: show why
                proc.wait(10)
                assert proc.stderr is not None
                pytest.fail(f"ChatJS exited ({proc.returncode}): {proc.stderr.read()[-2000:]}")
            assert json.loads(first) == {"phase": "ready"}
            # An abrupt drop: ChatJS fetches a new URL and reconnects by itself.
            assert emu.faults.drop_websockets(details.contact_id) == 1
            wait_until(
                lambda: (
                    len(emu.calls("CreateParticipantConnection")) >= 2
                    and emu.websocket_count(details.contact_id) == 1
                ),
                timeout=20,
            )
            emu.agent(details.contact_id).send_message("after reconnect")
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        assert proc.returncode == 0, err[-2000:]
        seen = json.loads(out.strip().splitlines()[-1])
        assert seen["echoed"] and seen["agentReply"] == ["hello from chatjs", "after reconnect"]
        assert seen["typing"] >= 1 and seen["ended"]
        assert seen["transcript"].count("hello from chatjs") == 2
        assert "after reconnect" in seen["transcript"]
        operations = {c.operation for c in emu.calls()}
        assert {
            "CreateParticipantConnection",
            "SendMessage",
            "SendEvent",
            "GetTranscript",
            "DisconnectParticipant",
        } <= operations
        assert all(c.status == 200 for c in emu.calls())
