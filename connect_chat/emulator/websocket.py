"""The chat WebSocket: subscribe, heartbeat, deep heartbeat (ping) and ``aws/chat`` delivery.

Also where the socket faults act (refused upgrades, ping errors, silence) and where a socket
is closed once it reaches ``max_socket_lifetime``.

One :class:`ChatSocket` per open connection. Frames for the client go through a queue drained
by one writer task, so items reach each socket in publication order. The queue is bounded
(``max_socket_queue``): a client that keeps sending (heartbeats) but never reads would grow it
without end, so on overflow the socket is closed with 1008 (policy violation) and, if that
close frame cannot get through either, aborted a second later.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from aiohttp import WSMsgType, web

from connect_chat.emulator.faults import Faults
from connect_chat.emulator.state import State

logger = logging.getLogger(__name__)

_decoder = json.JSONDecoder()
_HEARTBEAT = json.dumps({"topic": "aws/heartbeat"})
_PING_OK = json.dumps({"topic": "aws/ping", "statusCode": 200, "statusContent": "OK"})
#: The largest client frame read (clients send small control frames; a subscribe is ~60 B).
_MAX_CLIENT_FRAME = 64 * 1024


def parse_client_frame(text: str) -> dict[str, Any] | None:
    """A client frame as a dict, tolerating trailing characters (iOS sends a stray ``)``)."""
    try:
        value, _ = _decoder.raw_decode(text.strip())
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


class ChatSocket:
    """An open chat WebSocket of one participant (the state's ``Subscriber``)."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        request: web.Request,
        contact_id: str,
        participant_id: str,
        max_queue: int = 1000,
    ) -> None:
        self.ws = ws
        self.request = request
        self.contact_id = contact_id
        self.participant_id = participant_id
        self.subscribed = False
        self.max_queue = max_queue
        self.overflowed = False
        self.queue: asyncio.Queue[str | int] = asyncio.Queue()

    def deliver(self, frame: str) -> None:
        if self.overflowed:
            return
        if self.queue.qsize() >= self.max_queue:
            self._overflow()
            return
        self.queue.put_nowait(frame)

    def _overflow(self) -> None:
        """The client does not read: drop what is queued, close with 1008, abort if stuck."""
        self.overflowed = True
        logger.warning(
            "closing a chat WebSocket of contact %s: %d frames unread",
            self.contact_id,
            self.queue.qsize(),
        )
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(1008)
        asyncio.get_running_loop().call_later(1.0, self.abort)

    def close(self, code: int) -> None:
        """Close cleanly with ``code`` after the frames already queued."""
        self.queue.put_nowait(code)

    def abort(self) -> None:
        """Drop the TCP connection without a close frame."""
        transport = self.request.transport
        if transport is not None:
            transport.abort()

    async def write_loop(self) -> None:
        while True:
            frame = await self.queue.get()
            if isinstance(frame, int):
                await self.ws.close(code=frame)
                return
            try:
                await self.ws.send_str(frame)
            except (ConnectionError, RuntimeError):
                return


class SocketServer:
    """Accepts the WebSocket URLs CreateParticipantConnection handed out."""

    def __init__(self, state: State, faults: Faults) -> None:
        self.state = state
        self.faults = faults
        self.sockets: set[ChatSocket] = set()

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/ws", self.handle)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ticket = self.state.ws_tickets.get(request.query.get("token", ""))
        refusal = self.faults.injected_upgrade_refusal(
            ticket.participant.contact_id if ticket is not None else None
        )
        if refusal is not None:
            return web.Response(status=refusal, text="Injected fault: upgrade refused")
        if ticket is None or time.time() >= ticket.expires_at:
            return web.Response(status=403, text="Forbidden")
        if ticket.used and not self.state.settings.behaviour.reuse_websocket_url:
            return web.Response(status=403, text="Forbidden")
        participant = ticket.participant
        contact = self.state.contacts.get(participant.contact_id)
        if contact is None or contact.ended or participant.left:
            return web.Response(status=403, text="Forbidden")
        ticket.used = True
        ws = web.WebSocketResponse(
            autoping=True, compress=False, timeout=1.0, max_msg_size=_MAX_CLIENT_FRAME
        )
        await ws.prepare(request)
        sock = ChatSocket(
            ws,
            request,
            contact.contact_id,
            participant.participant_id,
            self.state.settings.max_socket_queue,
        )
        self.sockets.add(sock)
        self.state.delivery.add_socket(sock)
        loop = asyncio.get_running_loop()
        writer = loop.create_task(sock.write_loop())
        lifetime = self.state.settings.max_socket_lifetime
        expiry = (
            loop.call_later(lifetime, sock.close, self.state.settings.socket_lifetime_close_code)
            if lifetime is not None
            else None
        )
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._on_text(sock, msg.data)
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            if expiry is not None:
                expiry.cancel()
            self.state.delivery.remove_socket(sock)
            self.sockets.discard(sock)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        return ws

    def _on_text(self, sock: ChatSocket, text: str) -> None:
        frame = parse_client_frame(text)
        if frame is None:
            logger.debug("ignoring a client frame that is not a JSON object")
            return
        topic = frame.get("topic")
        behaviour = self.state.settings.behaviour
        if topic == "aws/subscribe":
            content = frame.get("content")
            topics = content.get("topics") if isinstance(content, dict) else None
            if isinstance(topics, list) and "aws/chat" in topics:
                if behaviour.answer_subscribe:
                    sock.deliver(
                        json.dumps(
                            {
                                "topic": "aws/subscribe",
                                "content": {"status": "success", "topics": ["aws/chat"]},
                            }
                        )
                    )
                if not sock.subscribed:
                    sock.subscribed = True
                    self.state.on_subscribed(sock)
            else:
                failed = topics if isinstance(topics, list) else []
                sock.deliver(
                    json.dumps(
                        {
                            "topic": "aws/subscribe",
                            "content": {"status": "failure", "topics": failed},
                        }
                    )
                )
        elif topic == "aws/unsubscribe":
            if not behaviour.honour_unsubscribe:
                logger.debug("ignoring aws/unsubscribe (honour_unsubscribe is off)")
                return
            sock.subscribed = False
            sock.deliver(
                json.dumps(
                    {
                        "topic": "aws/unsubscribe",
                        "content": {"status": "success", "topics": ["aws/chat"]},
                    }
                )
            )
        elif topic == "aws/heartbeat":
            if not self.faults.heartbeats_silenced(sock.contact_id):
                sock.deliver(_HEARTBEAT)
        elif topic == "aws/ping":
            if not self.faults.heartbeats_silenced(sock.contact_id):
                failure = self.faults.injected_ping_error(sock.contact_id)
                if failure is None:
                    sock.deliver(_PING_OK)
                else:
                    status, content = failure
                    sock.deliver(
                        json.dumps(
                            {"topic": "aws/ping", "statusCode": status, "statusContent": content}
                        )
                    )
        else:
            logger.debug("ignoring client frame with topic %r", topic)

    async def close_all(self, code: int) -> None:
        """Close every socket with ``code`` (emulator shutdown), aborting stragglers."""
        socks = list(self.sockets)
        for sock in socks:
            sock.close(code)
        if socks:
            await asyncio.wait([asyncio.ensure_future(self._closed(s)) for s in socks], timeout=2.0)
        for sock in list(self.sockets):
            sock.abort()

    @staticmethod
    async def _closed(sock: ChatSocket) -> None:
        while not sock.ws.closed:
            await asyncio.sleep(0.02)
