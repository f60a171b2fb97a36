"""A hostile HTTP/WebSocket server for deadline tests: a raw-socket proxy in front of the emulator.

Why raw sockets and threads: the behaviours under test are things no well-behaved server
library does -- answering one byte every N seconds, reading a request and never answering,
accepting a connection and never reading it. Each route (a Participant Service operation, the
WebSocket upgrade, an attachment PUT/GET) gets a :class:`Behaviour`; ``PASS`` forwards to the
upstream emulator and relays the answer, with the emulator's own address in JSON bodies
rewritten to this server's, so that WebSocket URLs and pre-signed attachment URLs lead back
here too. Behaviours can change while a test runs (``server.set(...)``, ``server.clear()``).

Every thread is named ``hostile-*`` and ends at :meth:`HostileServer.stop` (bounded join).
"""

from __future__ import annotations

import contextlib
import enum
import select
import socket
import threading
from collections import Counter
from urllib.parse import urlsplit

import attrs

#: Request path -> Participant Service operation (the routes of the service model).
OPERATIONS = {
    "/participant/connection": "CreateParticipantConnection",
    "/participant/message": "SendMessage",
    "/participant/event": "SendEvent",
    "/participant/transcript": "GetTranscript",
    "/participant/disconnect": "DisconnectParticipant",
    "/participant/start-attachment-upload": "StartAttachmentUpload",
    "/participant/complete-attachment-upload": "CompleteAttachmentUpload",
    "/participant/attachment": "GetAttachment",
    "/participant/authentication-url": "GetAuthenticationUrl",
    "/participant/cancel-authentication": "CancelParticipantAuthentication",
}

#: Route names besides the operations.
WEBSOCKET = "websocket"
UPLOAD = "upload"
DOWNLOAD = "download"


class Mode(enum.Enum):
    PASS = "pass"        # forward to the emulator, relay the answer at full speed
    TRICKLE = "trickle"  # forward, then relay the answer one byte every ``interval`` seconds
    SILENT = "silent"    # read the request, never answer
    HANG = "hang"        # accept the connection, never read it


@attrs.frozen
class Behaviour:
    mode: Mode = Mode.PASS
    interval: float = 2.0


PASS = Behaviour()
SILENT = Behaviour(Mode.SILENT)
HANG = Behaviour(Mode.HANG)


def trickle(interval: float = 2.0) -> Behaviour:
    return Behaviour(Mode.TRICKLE, interval)


def route_of(method: str, path: str, headers: dict[str, str]) -> str:
    """The route a request belongs to."""
    if headers.get("upgrade", "").lower() == "websocket":
        return WEBSOCKET
    bare = path.split("?", 1)[0]
    if bare.startswith("/participant/views/"):
        return "DescribeView"
    if bare in OPERATIONS:
        return OPERATIONS[bare]
    return UPLOAD if method == "PUT" else DOWNLOAD


class _Closed(Exception):
    """The peer closed its side (or the server is stopping)."""


class HostileServer:
    """``HostileServer(upstream_url)``; ``url`` is where to point the SDK (``endpoint_url``)."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._rewrite = (
            f"127.0.0.1:{self._upstream[1]}".encode(), f"127.0.0.1:{self.port}".encode()
        )
        self._lock = threading.Lock()
        self._rules: dict[str, Behaviour] = {}
        self._stopped = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sockets: set[socket.socket] = set()
        #: How many requests each route received (counted once the request line is read).
        self.requests: Counter[str] = Counter()
        #: Set for a route each time a request of it arrives (tests wait on it).
        self._arrived: dict[str, threading.Event] = {}
        self._accept = threading.Thread(target=self._serve, name="hostile-accept", daemon=True)
        self._accept.start()

    # -- control -----------------------------------------------------------------------------

    def set(self, route: str, behaviour: Behaviour) -> None:
        with self._lock:
            self._rules[route] = behaviour

    def clear(self) -> None:
        """Every route back to PASS (connections already hostile stay so)."""
        with self._lock:
            self._rules.clear()

    def arrived(self, route: str) -> threading.Event:
        """An event set when a request of ``route`` arrives (cleared by the test if reused)."""
        with self._lock:
            return self._arrived.setdefault(route, threading.Event())

    def stop(self) -> None:
        self._stopped.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            sockets = list(self._sockets)
            threads = list(self._threads)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._accept.join(5)
        for thread in threads:
            thread.join(5)

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _behaviour(self, route: str) -> Behaviour:
        with self._lock:
            self.requests[route] += 1
            event = self._arrived.setdefault(route, threading.Event())
            behaviour = self._rules.get(route, PASS)
        event.set()
        return behaviour

    # -- serving -------------------------------------------------------------------------------

    def _serve(self) -> None:
        n = 0
        self._listener.settimeout(0.05)  # closing a listener does not wake accept()
        while not self._stopped.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            n += 1
            thread = threading.Thread(target=self._handle, args=(conn,),
                                      name=f"hostile-conn-{n}", daemon=True)
            with self._lock:
                self._sockets.add(conn)
                self._threads.append(thread)
            thread.start()

    def _handle(self, conn: socket.socket) -> None:
        reader = _Reader(conn, self._stopped)
        try:
            while not self._stopped.is_set():
                if self._hang_first():
                    self._stopped.wait()
                    return
                request = reader.request()
                if request is None:
                    return
                method, path, headers, raw = request
                route = route_of(method, path, headers)
                behaviour = self._behaviour(route)
                if behaviour.mode is Mode.SILENT or behaviour.mode is Mode.HANG:
                    reader.wait_closed()
                    return
                if route == WEBSOCKET:
                    self._websocket(conn, raw, behaviour)
                    return
                answer = self._forward(raw)
                if behaviour.mode is Mode.TRICKLE:
                    self._trickle(conn, answer, behaviour.interval)
                    return
                conn.sendall(answer)
        except (OSError, _Closed):
            pass
        finally:
            with self._lock:
                self._sockets.discard(conn)
            with contextlib.suppress(OSError):
                conn.close()

    def _hang_first(self) -> bool:
        """HANG on the default route ("*"): never read anything of a new connection."""
        with self._lock:
            rule = self._rules.get("*")
        return rule is not None and rule.mode is Mode.HANG

    def _upstream_socket(self) -> socket.socket:
        return socket.create_connection(self._upstream, timeout=10)

    def _forward(self, raw: bytes) -> bytes:
        """The upstream's whole answer to one request, re-framed with a Content-Length."""
        with self._upstream_socket() as up:
            up.sendall(_with_header(raw, b"Connection", b"close"))
            data = bytearray()
            while True:
                chunk = up.recv(65536)
                if not chunk:
                    break
                data += chunk
        head, _, body = bytes(data).partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        keep = [line for line in lines[1:]
                if line.split(b":", 1)[0].strip().lower()
                not in (b"content-length", b"transfer-encoding", b"connection")]
        if b"transfer-encoding: chunked" in head.lower():
            body = _dechunk(body)
        if b"application/json" in head.lower() or body.startswith(b"{"):
            body = body.replace(*self._rewrite)
        keep += [b"Content-Length: " + str(len(body)).encode(), b"Connection: keep-alive"]
        return b"\r\n".join([lines[0], *keep]) + b"\r\n\r\n" + body

    def _trickle(self, conn: socket.socket, data: bytes, interval: float) -> None:
        for i in range(len(data)):
            if self._stopped.wait(interval):
                return
            conn.sendall(data[i:i + 1])
        _Reader(conn, self._stopped).wait_closed()

    def _websocket(self, conn: socket.socket, raw: bytes, behaviour: Behaviour) -> None:
        up = self._upstream_socket()
        try:
            up.sendall(raw)
            if behaviour.mode is Mode.TRICKLE:
                handshake = bytearray()
                while b"\r\n\r\n" not in handshake:
                    chunk = up.recv(4096)
                    if not chunk:
                        return
                    handshake += chunk
                self._trickle(conn, bytes(handshake), behaviour.interval)
                return
            _pipe(conn, up, self._stopped)
        finally:
            with contextlib.suppress(OSError):
                up.close()


class _Reader:
    """Reads HTTP requests off one client connection (headers, then Content-Length body)."""

    def __init__(self, conn: socket.socket, stopped: threading.Event) -> None:
        self._conn = conn
        self._stopped = stopped
        self._buffer = b""

    def _more(self) -> None:
        while True:
            if self._stopped.is_set():
                raise _Closed
            ready, _, _ = select.select([self._conn], [], [], 0.1)
            if ready:
                chunk = self._conn.recv(65536)
                if not chunk:
                    raise _Closed
                self._buffer += chunk
                return

    def request(self) -> tuple[str, str, dict[str, str], bytes] | None:
        try:
            while b"\r\n\r\n" not in self._buffer:
                self._more()
            head, _, rest = self._buffer.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path = lines[0].split(" ")[:2]
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0") or 0)
            while len(rest) < length:
                self._more()
                rest = self._buffer.partition(b"\r\n\r\n")[2]
            body, self._buffer = rest[:length], rest[length:]
            return method, path, headers, head + b"\r\n\r\n" + body
        except _Closed:
            return None

    def wait_closed(self) -> None:
        """Read and drop whatever comes until the peer closes or the server stops."""
        try:
            while True:
                self._buffer = b""
                self._more()
        except (_Closed, OSError):
            return


def _with_header(raw: bytes, name: bytes, value: bytes) -> bytes:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = [line for line in head.split(b"\r\n")
             if line.split(b":", 1)[0].strip().lower() != name.lower()]
    return b"\r\n".join([*lines, name + b": " + value]) + b"\r\n\r\n" + body


def _dechunk(body: bytes) -> bytes:
    out = bytearray()
    while body:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += body[:size]
        body = body[size + 2:]
    return bytes(out)


def _pipe(a: socket.socket, b: socket.socket, stopped: threading.Event) -> None:
    """Relay bytes both ways until either side closes or the server stops."""
    peers = {a: b, b: a}
    while not stopped.is_set():
        ready, _, _ = select.select(list(peers), [], [], 0.1)
        for sock in ready:
            data = sock.recv(65536)
            if not data:
                return
            peers[sock].sendall(data)
