"""A hostile WebSocket server: junk frames over a real socket never break the session.

Issue 8, point 1, end to end. REST goes to the emulator (so GetTranscript and sends work);
the chat WebSocket URL points at a small server of our own that subscribes and answers
heartbeats like the service, and then sends junk: binary frames, non-JSON, truncated and
type-confused chat frames, an item over the service's size limits. The session stays
active, never reports a broken connection, counts each junk frame once, and delivers the
good frame that follows.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
from aiohttp import WSMsgType, web

from connect_chat import AWSClient, GlobalConfig
from connect_chat.enums import MAX_CONTENT_LENGTH
from connect_chat.models import ConnectionDetails
from tests.conftest import connected_session, wait_until
from tests.hardening.strategies import chat_frame
from tests.hardening.support import capture_logs

GOOD = {"Id": "good-after-junk", "Type": "MESSAGE", "ContentType": "text/plain",
        "Content": "still talking", "AbsoluteTime": "2030-01-01T00:00:00.000Z",
        "ParticipantRole": "AGENT", "DisplayName": "Sam", "ParticipantId": "agent-1"}

JUNK_TEXT = [
    "",
    "not json at all",
    "{",
    "[1, 2, 3]",
    "null",
    chat_frame(GOOD)[:40],
    json.dumps({"topic": "aws/chat", "content": 12}),
    json.dumps({"topic": "aws/chat", "content": "{\"Type\": \"MESSAGE\"}"}),
    json.dumps({"topic": "aws/chat", "content": json.dumps({**GOOD, "Id": 5})}),
    json.dumps({"topic": "aws/chat", "content": json.dumps({**GOOD, "Type": "WHAT"})}),
    json.dumps({"topic": "aws/chat", "content": json.dumps({"Type": "ATTACHMENT",
                                                            "Id": "a", "Attachments": 3})}),
    # over the service's 16384-character Content limit (an over-long *frame* closes the
    # socket with 1009 instead: test_wire_limits)
    chat_frame({**GOOD, "Id": "too-big", "Content": "x" * (MAX_CONTENT_LENGTH + 1)}),
    "[" * 100_000,  # nesting deep enough to make json.loads raise RecursionError
    json.dumps({"topic": "aws/chat", "content": '{"a":' * 100_000}),
]
JUNK_BINARY = [b"\x00\x01\x02", b"\xff" * 64]


class HostileServer:
    """A chat WebSocket endpoint on 127.0.0.1 that behaves, then sends junk on request."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.sockets: list[web.WebSocketResponse] = []
        self.port = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="hostile-ws", daemon=True)
        self._runner: web.AppRunner | None = None

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self._ready.set()
        self.loop.run_forever()

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/ws", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        self.sockets.append(ws)
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            topic = json.loads(msg.data).get("topic")
            if topic == "aws/subscribe":
                await ws.send_str(json.dumps({"topic": "aws/subscribe", "content": {
                    "status": "success", "topics": ["aws/chat"]}}))
            elif topic == "aws/heartbeat":
                await ws.send_str(json.dumps({"topic": "aws/heartbeat"}))
            elif topic == "aws/ping":
                await ws.send_str(json.dumps({"topic": "aws/ping", "statusCode": 200,
                                              "statusContent": "OK"}))
        return ws

    def send_junk_then_good(self) -> None:
        async def run() -> None:
            for ws in self.sockets:
                for text in JUNK_TEXT:
                    await ws.send_str(text)
                for data in JUNK_BINARY:
                    await ws.send_bytes(data)
                await ws.send_str(chat_frame(GOOD))

        asyncio.run_coroutine_threadsafe(run(), self.loop).result(30)

    def __enter__(self) -> HostileServer:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            for ws in self.sockets:
                await ws.close()
            if self._runner is not None:
                await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    with HostileServer() as server:
        yield server


def test_junk_frames_over_a_real_socket_are_counted_and_survived(
        emu: Any, config: GlobalConfig, hostile: HostileServer) -> None:
    url = f"ws://127.0.0.1:{hostile.port}/ws"

    class ToHostile(AWSClient):
        def create_participant_connection(self, participant_token: str) -> ConnectionDetails:
            real = super().create_participant_connection(participant_token)
            return attrs.evolve(real, websocket_url=url)

    config = attrs.evolve(config, custom_aws_client=ToHostile, heartbeat_interval=0.3)
    with connected_session(emu, config, details=emu.start_chat(display_name="Ann"),
                           record=True) as chat:
        session, recorder = chat.session, chat.recorder
        with capture_logs() as logs:
            hostile.send_junk_then_good()
            item = recorder.wait("on_message_received", where=lambda i: i.id == GOOD["Id"],
                                 timeout=10)[0][0]
            assert item.text == "still talking"
            junk = len(JUNK_TEXT) + len(JUNK_BINARY)
            wait_until(lambda: session.stats.bad_frames == junk, timeout=5,
                       what=f"{junk} bad frames counted")
        warnings = logs.matching("connect_chat", level=logging.WARNING)
        assert len(warnings) == junk, "each junk frame logged exactly once, nothing else warned"
        assert all(len(r.getMessage()) < 300 for r in warnings), "a log quoted a frame"
        assert session.is_chat_session_active()
        assert recorder.count("on_connection_broken") == 0
        assert not any(i.id == "too-big" for i in session.transcript)
