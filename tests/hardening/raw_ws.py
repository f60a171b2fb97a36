"""A raw-socket WebSocket server for hostile-server tests: it can send what no library would.

aiohttp and websocket-client refuse to produce a frame header announcing 400 MB without the
bytes, a text frame with invalid UTF-8, or a redirect to another host in answer to an upgrade;
this small server does exactly that, on 127.0.0.1, one thread per connection. It behaves like
the chat service otherwise (subscribe acknowledgement, heartbeat and ping replies), so a real
:class:`~connect_chat.ChatSession` connects to it, and it records what the client did: each
upgrade request, and the status of each close frame the client sent.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable, Iterator

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def frame_header(opcode: int, length: int, fin: bool = True) -> bytes:
    """An unmasked server frame header announcing ``length`` payload bytes."""
    first = (0x80 if fin else 0) | opcode
    if length < 126:
        return struct.pack("!BB", first, length)
    if length < 1 << 16:
        return struct.pack("!BBH", first, 126, length)
    return struct.pack("!BBQ", first, 127, length)


def frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    return frame_header(opcode, len(payload), fin) + payload


def _recv_exact(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError("peer closed")
        data += chunk
    return data


class Connection:
    """One accepted WebSocket connection (after a successful upgrade)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._send_lock = threading.Lock()
        #: Close statuses the client sent (1000 for a normal close, 1009 "too big"...).
        self.close_statuses: list[int] = []
        self.closed = threading.Event()
        self.subscribed = threading.Event()
        self.bytes_sent = 0

    def send_raw(self, data: bytes) -> None:
        with self._send_lock:
            self.sock.sendall(data)
            self.bytes_sent += len(data)

    def send_text(self, text: str | bytes) -> None:
        payload = text.encode() if isinstance(text, str) else text
        self.send_raw(frame(OP_TEXT, payload))

    def stream_oversized(self, announced: int, chunk: int = 64 * 1024,
                         interval: float = 0.005, limit: int = 64 * 2**20) -> int:
        """Announce an ``announced``-byte text frame, then trickle its payload until the
        client closes or ``limit`` bytes were sent; returns the payload bytes sent."""
        self.send_raw(frame_header(OP_TEXT, announced))
        sent = 0
        block = b"x" * chunk
        while sent < min(limit, announced) and not self.closed.is_set():
            try:
                self.send_raw(block)
            except OSError:
                break
            sent += chunk
            if interval:
                time.sleep(interval)  # pacing of the hostile sender, not a synchronisation
        return sent

    def serve(self) -> None:
        """Read the client's frames and answer like the service until the socket ends."""
        try:
            while True:
                head = _recv_exact(self.sock, 2)
                opcode = head[0] & 0x0F
                length = head[1] & 0x7F
                if length == 126:
                    length = struct.unpack("!H", _recv_exact(self.sock, 2))[0]
                elif length == 127:
                    length = struct.unpack("!Q", _recv_exact(self.sock, 8))[0]
                mask = _recv_exact(self.sock, 4) if head[1] & 0x80 else b"\0\0\0\0"
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(_recv_exact(self.sock,
                                                                                  length)))
                if opcode == OP_CLOSE:
                    status = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else 1005
                    self.close_statuses.append(status)
                    with contextlib.suppress(OSError):
                        self.send_raw(frame(OP_CLOSE, data[:2]))
                    break
                if opcode == OP_PING:
                    self.send_raw(frame(OP_PONG, data))
                elif opcode == OP_TEXT:
                    self._answer(data.decode("utf-8", "replace"))
        except (OSError, ConnectionError):
            pass
        finally:
            self.closed.set()
            with contextlib.suppress(OSError):
                self.sock.close()

    def _answer(self, text: str) -> None:
        try:
            topic = json.loads(text).get("topic")
        except ValueError:
            return
        if topic == "aws/subscribe":
            self.send_text(json.dumps({"topic": "aws/subscribe", "content": {
                "status": "success", "topics": ["aws/chat"]}}))
            self.subscribed.set()
        elif topic == "aws/heartbeat":
            self.send_text(json.dumps({"topic": "aws/heartbeat"}))
        elif topic == "aws/ping":
            self.send_text(json.dumps({"topic": "aws/ping", "statusCode": 200,
                                       "statusContent": "OK"}))


def accept_of(key: str) -> str:
    """The ``Sec-WebSocket-Accept`` value for a client's ``Sec-WebSocket-Key``."""
    return base64.b64encode(hashlib.sha1(key.encode() + _GUID).digest()).decode()


#: Writes the answer to an upgrade: given the accept value, the pieces to send, each with its
#: own ``sendall`` (a generator may go on until the client hangs up).
UpgradeAnswer = Callable[[str], Iterable[bytes]]


class RawWebSocketServer:
    """Listens on 127.0.0.1; answers every upgrade (or redirects it to ``redirect_to``).

    ``upgrade_answer`` replaces the 101 answer with whatever pieces it yields; the connection
    is then served as a WebSocket all the same.
    """

    def __init__(self, redirect_to: str | None = None, redirect_status: int = 301,
                 upgrade_answer: UpgradeAnswer | None = None) -> None:
        self.redirect_to = redirect_to
        self.redirect_status = redirect_status
        self.upgrade_answer = upgrade_answer
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        #: The request line of every upgrade request received (redirected ones included).
        self.requests: list[str] = []
        self.connections: list[Connection] = []
        self.connected = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._stopped = False

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def __enter__(self) -> RawWebSocketServer:
        thread = threading.Thread(target=self._accept, name="raw-ws-accept", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped = True
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        with contextlib.suppress(OSError):
            self._listener.close()
        for conn in list(self.connections):
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(5)

    def wait_connection(self, index: int, timeout: float = 10.0) -> Connection:
        """The ``index``-th connection (0 = first), once it has subscribed."""
        deadline = time.monotonic() + timeout
        with self.connected:
            while len(self.connections) <= index:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no connection #{index} within {timeout} s")
                self.connected.wait(left)
            conn = self.connections[index]
        if not conn.subscribed.wait(max(0.0, deadline - time.monotonic())):
            raise AssertionError(f"connection #{index} did not subscribe within {timeout} s")
        return conn

    def _accept(self) -> None:
        while not self._stopped:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._handle, args=(sock,), name="raw-ws-conn",
                                      daemon=True)
            thread.start()
            self._threads.append(thread)

    def _handle(self, sock: socket.socket) -> None:
        try:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = sock.recv(4096)
                if not chunk:
                    sock.close()
                    return
                request += chunk
        except OSError:
            sock.close()
            return
        lines = request.decode("latin-1").split("\r\n")
        self.requests.append(lines[0])
        headers = {k.strip().lower(): v.strip()
                   for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        if self.redirect_to is not None:
            with contextlib.suppress(OSError):
                sock.sendall(
                    f"HTTP/1.1 {self.redirect_status} Moved\r\nLocation: {self.redirect_to}\r\n"
                    "Content-Length: 0\r\nConnection: close\r\n\r\n".encode())
            sock.close()
            return
        accept = accept_of(headers.get("sec-websocket-key", ""))
        pieces = (self.upgrade_answer(accept) if self.upgrade_answer is not None else [
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n".encode()])
        try:
            for piece in pieces:
                sock.sendall(piece)
        except OSError:
            sock.close()
            return
        conn = Connection(sock)
        with self.connected:
            self.connections.append(conn)
            self.connected.notify_all()
        conn.serve()


@contextlib.contextmanager
def raw_server(redirect_to: str | None = None) -> Iterator[RawWebSocketServer]:
    with RawWebSocketServer(redirect_to) as server:
        yield server
