"""Deadlines and cancellation for the SDK's blocking HTTP calls (botocore and ``requests``).

Why: botocore's ``read_timeout`` and ``requests``' timeouts bound each socket read, not the
call. A server that trickles one byte per read, or accepts and never answers (each attempt
retried by botocore), held a caller for minutes, and ``disconnect()`` from another thread
could not end it. Here every call runs inside a :class:`CallScope` with a deadline:

* the sockets the call opens or reuses are *watched*: the scope keeps a duplicate of each
  socket's file descriptor (taken before ``connect()`` for a new connection, so even a TCP
  connect or a TLS handshake is covered);
* at the deadline (an :class:`~connect_chat.alarms.Alarm`: a timer thread joined before
  the call returns, or under gevent a timer of the hub's loop) or when
  another thread calls :meth:`CallGroup.cancel` (``disconnect()``, ``reset()``), the scope
  *aborts*: it shuts the watched sockets down. ``shutdown(2)`` acts on the connection, not on
  one descriptor, so the caller's thread blocked in connect, send or recv wakes at once;
* botocore is told not to retry an aborted call, and its retry backoff waits on the scope
  (interruptible) instead of ``time.sleep``;
* the call then raises :class:`~connect_chat.errors.RequestTimeoutError` (deadline) or
  :class:`~connect_chat.errors.SessionClosedError` (cancelled), whatever the socket error
  was; the connection it used is closed, never returned to a pool.

The call keeps running on the caller's own thread (no worker to abandon), so nothing outlives
it: the alarm and the duplicate descriptors are gone when the call returns.

The hooks: :func:`install_botocore_hooks` (pool classes whose connections register their
socket with the scope of the current thread, and two botocore event handlers) and
:func:`watched_http_session` (a ``requests.Session`` with the same pools). Not covered: a
DNS lookup (``getaddrinfo`` cannot be interrupted; the scope aborts right after it), and a
``requests.Session`` or botocore client built elsewhere (their reads keep their own
per-read timeouts).
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from connect_chat.alarms import TIMER_THREAD_NAME, Alarm
from connect_chat.errors import ConnectChatError, RequestTimeoutError, SessionClosedError

if TYPE_CHECKING:
    import requests

logger = logging.getLogger(__name__)

#: How long after its deadline a call may still take to return (documented slack): the
#: time for the woken thread to unwind through botocore / requests.
DEADLINE_SLACK = 0.5

#: Default bound of an attachment upload or download (``RestChat(transfer_timeout=...)``).
DEFAULT_TRANSFER_TIMEOUT = 300.0


#: Per thread (``threading.get_ident()``): the call in flight, and the ``bounded`` deadline.
#: Plain dicts, not a ``threading.local``: under gevent that is gevent's ``local``, whose
#: attribute reads were ~3 % of a Locust process's CPU (every pooled-connection get and put
#: and every botocore retry decision asks for the current scope). Each thread writes only its
#: own key, and removes it when it is back to None.
_scopes: dict[int, CallScope] = {}
_deadlines: dict[int, float] = {}


def _set(table: dict[int, Any], value: Any) -> None:
    if value is None:
        table.pop(threading.get_ident(), None)
    else:
        table[threading.get_ident()] = value

DEADLINE = "deadline"
CANCELLED = "cancelled"


class CallAbortedError(ConnectChatError):
    """Raised inside botocore when an aborted call would be retried (never seen outside)."""


def current_scope() -> CallScope | None:
    """The scope of the call running on this thread, if any."""
    scope: CallScope | None = _scopes.get(threading.get_ident())
    return scope


def ambient_deadline() -> float | None:
    """The deadline (``time.monotonic()``) set by :func:`bounded` on this thread, if any."""
    deadline: float | None = _deadlines.get(threading.get_ident())
    return deadline


@contextlib.contextmanager
def bounded(deadline: float | None) -> Iterator[None]:
    """Every call made on this thread inside the block ends by ``deadline`` (nested: the
    earliest wins). How a caller gives one budget to several calls (connect, a send and its
    retries)."""
    previous = ambient_deadline()
    effective = deadline
    if previous is not None and (effective is None or previous < effective):
        effective = previous
    _set(_deadlines, effective)
    try:
        yield
    finally:
        _set(_deadlines, previous)


class CallScope:
    """One blocking call: its deadline, its watched sockets, and how it ended."""

    def __init__(self, operation: str, deadline: float | None, bound: float | None) -> None:
        self.operation = operation
        self.deadline = deadline
        #: The call's time budget in seconds (for the error message).
        self.bound = bound
        self.outcome: str | None = None
        self._lock = threading.Lock()
        self._aborted = threading.Event()
        self._watched: list[socket.socket] = []
        self._connections: list[Any] = []

    @property
    def aborted(self) -> bool:
        return self._aborted.is_set()

    def watch(self, sock: socket.socket) -> None:
        """Watch ``sock`` (a duplicate descriptor); shut it at once if already aborted."""
        try:
            fd = os.dup(sock.fileno())
        except (OSError, ValueError):
            return  # already closed: nothing to wake
        try:
            dup = socket.socket(sock.family, sock.type, sock.proto, fileno=fd)
        except OSError:
            os.close(fd)
            return
        with self._lock:
            self._watched.append(dup)
            aborted = self.aborted
        if aborted:
            _shut(dup)

    def track(self, connection: Any) -> None:
        """A pooled connection this call uses: closed (not reused) if the call aborts."""
        with self._lock:
            self._connections.append(connection)

    def owns(self, connection: Any) -> bool:
        with self._lock:
            return any(c is connection for c in self._connections)

    def abort(self, outcome: str) -> bool:
        """End the call: shut its sockets down. False if it had already been aborted."""
        with self._lock:
            if self.aborted:
                return False
            self.outcome = outcome
            self._aborted.set()
            watched = list(self._watched)
        for dup in watched:
            _shut(dup)
        logger.debug("%s aborted (%s)", self.operation, outcome)
        return True

    def wait(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless aborted meanwhile (True if aborted)."""
        return self._aborted.wait(max(0.0, seconds))

    def check(self) -> None:
        if self.aborted:
            raise CallAbortedError(f"{self.operation} was aborted ({self.outcome})")

    def error(self) -> ConnectChatError:
        """The typed error an aborted call raises."""
        if self.outcome == CANCELLED:
            return SessionClosedError(
                f"{self.operation} was cancelled: the session was closed while it ran"
            )
        bound = f" within {self.bound:.1f} s" if self.bound is not None else " in time"
        return RequestTimeoutError(f"{self.operation} did not complete{bound}")

    def close(self) -> None:
        """The call is over: release the duplicate descriptors."""
        with self._lock:
            watched, self._watched = self._watched, []
            connections, self._connections = self._connections, []
        for dup in watched:
            with contextlib.suppress(OSError):
                dup.close()
        if self.aborted:
            for connection in connections:
                with contextlib.suppress(Exception):
                    connection.close()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError, ValueError):
        sock.shutdown(socket.SHUT_RDWR)


class CallGroup:
    """The calls in flight of one owner (an ``AWSClient``): :meth:`cancel` ends them all.

    ``default_timeout`` bounds a call that no :func:`bounded` block bounds more tightly
    (None: only such a block bounds it).
    """

    def __init__(self, default_timeout: float | None = None) -> None:
        self.default_timeout = default_timeout
        self._lock = threading.Lock()
        self._scopes: set[CallScope] = set()

    @property
    def in_flight(self) -> int:
        with self._lock:
            return len(self._scopes)

    def cancel(self) -> int:
        """Abort every call in flight now (they raise ``SessionClosedError`` at once).

        Calls started afterwards are not affected. Returns how many were aborted.
        """
        with self._lock:
            scopes = list(self._scopes)
        return sum(scope.abort(CANCELLED) for scope in scopes)

    @contextlib.contextmanager
    def scope(self, operation: str, timeout: float | None = None) -> Iterator[CallScope]:
        """Run the block as one call: bounded, cancellable, its sockets watched.

        The deadline is the thread's :func:`bounded` deadline if there is one (the budget of
        the public method making the call: ``connect``'s timeout, ``send_timeout``), else
        ``default_timeout`` from now; an explicit ``timeout`` is capped by the former. If
        the call is aborted, whatever the block raised or returned, :meth:`CallScope.error`
        is raised (chained to the block's error).
        """
        now = time.monotonic()
        outer = ambient_deadline()
        if timeout is None and outer is not None:
            deadline: float | None = outer  # the caller's budget replaces the default
        else:
            if timeout is None:
                timeout = self.default_timeout
            deadline = now + timeout if timeout is not None else None
            if outer is not None and (deadline is None or outer < deadline):
                deadline = outer
        bound = deadline - now if deadline is not None else None
        call = CallScope(operation, deadline, bound)
        if deadline is not None and deadline <= now:
            raise call.error()
        previous = current_scope()
        with self._lock:
            self._scopes.add(call)
        _set(_scopes, call)
        alarm = None
        if deadline is not None:
            alarm = Alarm(deadline - now, lambda: call.abort(DEADLINE))
        try:
            yield call
        except BaseException as exc:
            if call.aborted:
                raise call.error() from exc
            raise
        finally:
            if alarm is not None:
                alarm.cancel()
            _set(_scopes, previous)
            with self._lock:
                self._scopes.discard(call)
            call.close()
        if call.aborted:
            raise call.error()


# -- urllib3 hooks: connections that register their socket with the thread's scope ----------


def _connect_watched(
    scope: CallScope,
    address: tuple[str, int],
    timeout: Any,
    source_address: tuple[str, int] | None,
    socket_options: Any,
) -> socket.socket:
    """urllib3's ``create_connection``, with the socket watched before ``connect()``."""
    from urllib3.util.connection import _set_socket_options, allowed_gai_family
    from urllib3.util.timeout import _DEFAULT_TIMEOUT

    host, port = address
    if host.startswith("["):
        host = host.strip("[]")
    error: OSError | None = None
    for family, kind, proto, _, sockaddr in socket.getaddrinfo(
        host, port, allowed_gai_family(), socket.SOCK_STREAM
    ):
        scope.check()
        sock = None
        try:
            sock = socket.socket(family, kind, proto)
            _set_socket_options(sock, socket_options)
            if timeout is not _DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            scope.watch(sock)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            error = exc
            if sock is not None:
                sock.close()
    if error is not None:
        raise error
    raise OSError("getaddrinfo returns an empty list")


#: (gevent imported?, the kernel's ``poll`` or None, its ``select``): see :func:`_os_waits`.
_waits: tuple[bool, Any, Any] | None = None


def _os_waits() -> tuple[Any, Any]:
    """The unpatched ``select.poll`` (None where there is none) and ``select.select``.

    Looked up once (``gevent.monkey.get_original`` and the imports cost ~4 µs, on every REST
    call), and again only if gevent is imported after the first call: ``get_original``
    gives the originals whether or not gevent has patched the module yet.
    """
    global _waits
    gevent_seen = "gevent" in sys.modules
    waits = _waits
    if waits is None or waits[0] != gevent_seen:
        poll, pick = getattr(select, "poll", None), select.select
        if gevent_seen:
            from gevent import monkey  # type: ignore[import-untyped]

            poll = monkey.get_original("select", "poll") if poll is not None else None
            pick = monkey.get_original("select", "select")
        waits = _waits = (gevent_seen, poll, pick)
    return waits[1], waits[2]


def _readable_now(sock: socket.socket) -> bool:
    """Whether ``sock`` has something to read (or has hung up), asked of the OS at once.

    urllib3 asks this of every pooled connection it reuses (a dropped one is replaced); its
    ``wait_for_read(sock, 0)`` goes through ``select.poll``, which gevent replaces with one
    that waits a whole turn of the hub's loop even for a zero timeout: one more wait per
    REST call, behind everything else ready in the process. The unpatched ``poll`` (or
    ``select``) answers from the kernel without yielding, with or without gevent.
    """
    poll, pick = _os_waits()
    if poll is not None:
        poller = poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    return bool(pick([sock], [], [], 0)[0])


class _WatchedConnection:
    """Mixin for a urllib3 connection class: a new socket is watched by the current scope,
    and the reuse check never yields (see :func:`_readable_now`)."""

    host: str
    port: int
    timeout: Any
    source_address: tuple[str, int] | None
    socket_options: Any
    _dns_host: str
    sock: socket.socket | None

    @property
    def is_connected(self) -> bool:
        sock = self.sock
        if sock is None:
            return False
        return not _readable_now(sock)

    def _new_conn(self) -> socket.socket:
        scope = current_scope()
        if scope is None:
            sock: socket.socket = super()._new_conn()  # type: ignore[misc]
            return sock
        from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

        try:
            return _connect_watched(
                scope, (self._dns_host, self.port), self.timeout, self.source_address,
                self.socket_options,
            )
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc  # type: ignore[arg-type]
        except TimeoutError as exc:
            raise ConnectTimeoutError(
                self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
            ) from exc
        except OSError as exc:
            raise NewConnectionError(
                self, f"Failed to establish a new connection: {exc}"  # type: ignore[arg-type]
            ) from exc


class _WatchedPool:
    """Mixin for a urllib3 pool: a reused connection's socket is watched by the scope, and a
    connection used by an aborted call is closed instead of going back to the pool."""

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)  # type: ignore[misc]
        scope = current_scope()
        if scope is not None and conn is not None:
            scope.track(conn)
            sock = getattr(conn, "sock", None)
            if isinstance(sock, socket.socket):
                scope.watch(sock)
        return conn

    def _put_conn(self, conn: Any) -> None:
        scope = current_scope()
        if conn is not None and scope is not None and scope.aborted and scope.owns(conn):
            with contextlib.suppress(Exception):
                conn.close()
        super()._put_conn(conn)  # type: ignore[misc]


def _pool_classes(http_pool: type, https_pool: type) -> dict[str, type]:
    """Watched subclasses of a pair of urllib3 pool classes (and of their connections)."""
    http_conn = type(
        "Watched" + http_pool.ConnectionCls.__name__,  # type: ignore[attr-defined]
        (_WatchedConnection, http_pool.ConnectionCls),  # type: ignore[attr-defined]
        {},
    )
    https_conn = type(
        "Watched" + https_pool.ConnectionCls.__name__,  # type: ignore[attr-defined]
        (_WatchedConnection, https_pool.ConnectionCls),  # type: ignore[attr-defined]
        {},
    )
    return {
        "http": type("Watched" + http_pool.__name__, (_WatchedPool, http_pool),
                     {"ConnectionCls": http_conn}),
        "https": type("Watched" + https_pool.__name__, (_WatchedPool, https_pool),
                      {"ConnectionCls": https_conn}),
    }


_classes_lock = threading.Lock()
_botocore_classes: dict[str, type] | None = None
_urllib3_classes: dict[str, type] | None = None


def _botocore_pool_classes() -> dict[str, type]:
    global _botocore_classes
    with _classes_lock:
        if _botocore_classes is None:
            from botocore.awsrequest import AWSHTTPConnectionPool, AWSHTTPSConnectionPool

            _botocore_classes = _pool_classes(AWSHTTPConnectionPool, AWSHTTPSConnectionPool)
        return _botocore_classes


def _urllib3_pool_classes() -> dict[str, type]:
    global _urllib3_classes
    with _classes_lock:
        if _urllib3_classes is None:
            from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

            _urllib3_classes = _pool_classes(HTTPConnectionPool, HTTPSConnectionPool)
        return _urllib3_classes


# -- botocore ------------------------------------------------------------------------------


def _no_retry_when_aborted(**_: Any) -> None:
    """``needs-retry`` handler (runs first): an aborted call is not retried."""
    scope = current_scope()
    if scope is not None:
        scope.check()


def _interruptible_retry(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap botocore's retry handler: its backoff waits on the scope, not ``time.sleep``."""

    def needs_retry(**kwargs: Any) -> Any:
        delay = handler(**kwargs)
        scope = current_scope()
        if scope is None or delay is None or delay is False:
            return delay
        if scope.wait(float(delay)):
            scope.check()
        return 0  # botocore retries at once: the wait is done

    return needs_retry


def install_botocore_hooks(client: Any) -> bool:
    """Make a botocore client's calls abortable by :class:`CallScope`. True if installed.

    Swaps the pool classes of its HTTP session (and of proxy managers made later: botocore
    shares one class table) for watched ones, refuses retries of aborted calls, and makes
    the standard retry backoff interruptible. Relies on botocore internals
    (``_endpoint.http_session._pool_classes_by_scheme``, the ``retry-config-*`` handler); if
    they are missing, calls keep botocore's per-read timeouts only (logged at WARNING).
    """
    installed = True
    session = getattr(getattr(client, "_endpoint", None), "http_session", None)
    table = getattr(session, "_pool_classes_by_scheme", None)
    if isinstance(table, dict):
        table.update(_botocore_pool_classes())
    else:
        installed = False
    events = client.meta.events
    service = client.meta.service_model.service_id.hyphenize()
    # On the service's own event: botocore runs the handlers of the most specific name first.
    events.register_first(f"needs-retry.{service}", _no_retry_when_aborted,
                          unique_id="connect-chat-no-retry-when-aborted")
    unique_id = f"retry-config-{service}"
    emitter = getattr(events, "_emitter", None)
    entry = getattr(emitter, "_unique_id_handlers", {}).get(unique_id)
    if isinstance(entry, dict) and callable(entry.get("handler")):
        original = entry["handler"]
        events.unregister(f"needs-retry.{service}", unique_id=unique_id)
        events.register(f"needs-retry.{service}", _interruptible_retry(original),
                        unique_id=unique_id)
    elif getattr(client.meta.config, "retries", {}).get("mode") == "standard":
        installed = False
    if not installed:
        logger.warning("botocore internals changed: REST calls are bounded per read only")
    return installed


# -- requests ------------------------------------------------------------------------------


def watched_http_session() -> requests.Session:
    """A ``requests.Session`` whose transfers a :class:`CallScope` can abort (uploads and
    downloads of attachments)."""
    import requests
    from requests.adapters import HTTPAdapter

    class WatchedAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = _urllib3_pool_classes()

        def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
            manager = super().proxy_manager_for(proxy, **proxy_kwargs)
            if hasattr(manager, "pool_classes_by_scheme"):
                manager.pool_classes_by_scheme = _urllib3_pool_classes()
            return manager

    session = requests.Session()
    session.mount("https://", WatchedAdapter())
    session.mount("http://", WatchedAdapter())
    return session


# -- a socket opened by a library that hides it (websocket-client) -----------------------------


class SocketGuard:
    """Shuts the socket of an open in progress down at its deadline, or at :meth:`trip`.

    For a blocking open whose socket appears only partway (websocket-client sets ``ws.sock``
    after the TCP connect, before the HTTP upgrade). Why: the upgrade reads its answer with a
    per-read timeout, so a server trickling it one byte at a time held the socket thread (and
    ``stop()``) for good. The deadline is an :class:`~connect_chat.alarms.Alarm`; only a trip
    that comes before the socket exists starts a helper thread, which looks for the socket
    every ``poll`` seconds until it appears or the open ends. (It used to be a thread polling
    at 20 Hz during every open: under load, a visible share of the CPU.)
    """

    def __init__(self, get_socket: Callable[[], socket.socket | None], deadline: float,
                 poll: float = 0.05) -> None:
        self._get_socket = get_socket
        self._poll = poll
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._poller: threading.Thread | None = None
        self._alarm = Alarm(deadline - time.monotonic(), self.trip)

    def trip(self) -> None:
        """Shut the socket down now, or as soon as it exists (any thread; idempotent)."""
        if self._done.is_set() or self._shut_now():
            return
        with self._lock:
            if self._poller is not None or self._done.is_set():
                return
            self._poller = threading.Thread(target=self._wait_for_socket,
                                            name=TIMER_THREAD_NAME, daemon=True)
            self._poller.start()

    def _shut_now(self) -> bool:
        sock = self._get_socket()
        if isinstance(sock, socket.socket):
            _shut(sock)
            return True
        return False

    def _wait_for_socket(self) -> None:
        while not self._done.wait(self._poll):
            if self._shut_now():
                return

    def close(self) -> None:
        """The open is over: no alarm, no helper thread left."""
        self._alarm.cancel()
        with self._lock:
            self._done.set()
            poller = self._poller
        if poller is not None and poller is not threading.current_thread():
            poller.join()


@contextlib.contextmanager
def guard_socket(
    get_socket: Callable[[], socket.socket | None], deadline: float, poll: float = 0.05
) -> Iterator[SocketGuard]:
    """A :class:`SocketGuard` for the block (closed when it ends)."""
    guard = SocketGuard(get_socket, deadline, poll)
    try:
        yield guard
    finally:
        guard.close()
