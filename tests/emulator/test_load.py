"""500 concurrent chats, each with an open subscribed WebSocket, on one in-process emulator.

Bounded by a pytest timeout, never by a timed assertion; the elapsed time is printed.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import websocket

from connect_chat.emulator import Emulator
from tests.emulator.conftest import make_acps

CHATS = 500


def _recv_until(ws: websocket.WebSocket, predicate: Any, deadline: float) -> dict[str, Any]:
    while True:
        ws.settimeout(max(0.1, deadline - time.monotonic()))
        frame = json.loads(ws.recv())
        if predicate(frame):
            return frame  # type: ignore[no-any-return]


@pytest.mark.timeout(120)
def test_five_hundred_concurrent_chats() -> None:
    started = time.monotonic()
    with Emulator() as emu:
        acps = make_acps(emu.endpoint_url)
        chats = [emu.start_chat(f"c{n}") for n in range(CHATS)]

        def connect(n: int) -> tuple[str, str]:
            answer = acps.create_participant_connection(
                ParticipantToken=chats[n].participant_token,
                Type=["WEBSOCKET", "CONNECTION_CREDENTIALS"],
            )
            return answer["Websocket"]["Url"], answer["ConnectionCredentials"]["ConnectionToken"]

        with ThreadPoolExecutor(8) as pool:
            connections = list(pool.map(connect, range(CHATS)))
        sockets: list[websocket.WebSocket] = []
        try:
            for url, _ in connections:
                ws = websocket.create_connection(url, timeout=10)
                ws.send(json.dumps({"topic": "aws/subscribe", "content": {"topics": ["aws/chat"]}}))
                sockets.append(ws)
            deadline = time.monotonic() + 60
            for ws in sockets:
                _recv_until(ws, lambda f: f.get("topic") == "aws/subscribe", deadline)
            assert emu.websocket_count() == CHATS

            def send(n: int) -> str:
                return str(
                    acps.send_message(
                        ConnectionToken=connections[n][1],
                        ContentType="text/plain",
                        Content=f"hello {n}",
                    )["Id"]
                )

            with ThreadPoolExecutor(8) as pool:
                sent = list(pool.map(send, range(CHATS)))
            for n, ws in enumerate(sockets):
                ws.send(json.dumps({"topic": "aws/heartbeat"}))
                echo = _recv_until(
                    ws,
                    lambda f: (
                        f.get("topic") == "aws/chat"
                        and json.loads(f["content"])["Type"] == "MESSAGE"
                    ),
                    deadline,
                )
                item = json.loads(echo["content"])
                assert item["Id"] == sent[n] and item["Content"] == f"hello {n}"
                assert item["ContactId"] == chats[n].contact_id
                _recv_until(ws, lambda f: f.get("topic") == "aws/heartbeat", deadline)
            assert len(emu.calls("SendMessage")) == CHATS
        finally:
            for ws in sockets:
                ws.close()
    print(f"\n{CHATS} chats: {time.monotonic() - started:.1f} s")
