"""The official JavaScript client (amazon-connect-chatjs, in Node) against the emulator.

Optional: runs when ``CONNECT_CHAT_CHATJS_DIR`` names a directory whose ``node_modules`` holds
``amazon-connect-chatjs`` (5.x) and ``ws``, e.g. after
``npm install --prefix "$CONNECT_CHAT_CHATJS_DIR" amazon-connect-chatjs@5 ws``.
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

CHATJS_DIR = os.environ.get("CONNECT_CHAT_CHATJS_DIR", "")
SCRIPT = Path(__file__).parent / "chatjs" / "customer.js"


@pytest.mark.skipif(
    not CHATJS_DIR
    or shutil.which("node") is None
    or not (Path(CHATJS_DIR) / "node_modules" / "amazon-connect-chatjs").is_dir(),
    reason="set CONNECT_CHAT_CHATJS_DIR to a directory with amazon-connect-chatjs installed",
)
def test_official_javascript_client_full_session() -> None:
    with Emulator(agent="echo", close_delay_after_end=0.2) as emu:
        details = emu.start_chat("Node")
        assert details.contact_id and details.participant_id
        env = dict(os.environ, NODE_PATH=str(Path(CHATJS_DIR) / "node_modules"))
        proc = subprocess.Popen(
            [
                "node",
                str(SCRIPT),
                emu.endpoint_url,
                details.contact_id,
                details.participant_id,
                details.participant_token,
            ],
            cwd=CHATJS_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            assert proc.stdout is not None
            assert json.loads(proc.stdout.readline()) == {"phase": "ready"}
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
