"""``Emulator``: the aiohttp server on its own event loop in a background thread.

``start()`` returns once the port accepts connections; ``stop()`` closes every socket, stops
the loop and joins the thread. Every state change happens on the loop thread; the Python
control API hops onto it and waits for the answer.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import web

from connect_chat.emulator.agent import AgentHandle
from connect_chat.emulator.behaviour import Behaviour, resolve
from connect_chat.emulator.calls import CallLog, CallRecord
from connect_chat.emulator.control import Control, ControlRoutes
from connect_chat.emulator.faults import Faults
from connect_chat.emulator.guard import Guard
from connect_chat.emulator.http_api import RestApi
from connect_chat.emulator.settings import Settings, settings_from
from connect_chat.emulator.state import State
from connect_chat.emulator.websocket import SocketServer
from connect_chat.models import ChatDetails

logger = logging.getLogger(__name__)

T = TypeVar("T")

_CONTROL_TIMEOUT = 30.0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Emulator:
    """A local Amazon Connect Participant Service + StartChatContact + chat WebSocket.

    Its knobs are one :class:`~connect_chat.emulator.settings.Settings` (``emu.settings``),
    where their defaults are written: ``Emulator(settings=Settings(...))``, or any setting as a
    keyword (``Emulator(connection_token_ttl=3.0)``), applied over ``settings`` when both are
    given; an unknown keyword is a ``TypeError`` naming it and the valid ones.
    ``agent="echo"``: an agent joins every chat and answers each customer message with the
    same text (``None``: the settings' agent, none by default). Timings are in seconds except
    ``chat_duration_minutes``. ``max_socket_lifetime``: the server closes each chat WebSocket
    with ``socket_lifetime_close_code`` once it has been open that long. ``max_call_records``
    bounds the request log (oldest records dropped first), ``max_ended_contacts`` the ended
    chats kept (the oldest ended one is forgotten first: its tokens become unknown).
    """

    def __init__(
        self,
        agent: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        settings: Settings | None = None,
        allow_non_loopback: bool = False,
        **overrides: Any,
    ) -> None:
        if agent is not None:
            overrides["agent"] = agent
        self.settings = settings_from(settings, overrides, caller="Emulator()")
        if not _is_loopback(host) and not allow_non_loopback:
            raise ValueError(
                f"refusing to bind non-loopback host {host!r}; pass allow_non_loopback=True"
            )
        if not 0 <= port <= 65535:
            raise ValueError("port must be between 0 and 65535")
        self.host = host
        self._requested_port = port
        self._behaviour_lock = threading.Lock()
        self._calls = CallLog(self.settings.max_call_records)
        self.faults = Faults(
            self._drop_sockets, self._expire_tokens, self._close_sockets, self._release_delayed
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._state: State | None = None
        self._control: Control | None = None
        self._sockets: SocketServer | None = None
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._lifecycle = threading.Lock()

    # --- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the emulator is not running")
        return self._port

    @property
    def advertised_host(self) -> str:
        """The host in URLs handed out: numeric loopback unless bound to a specific address."""
        if self.host in ("localhost", "0.0.0.0", "::", "") or _is_loopback(self.host):
            return "127.0.0.1"
        return self.host

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:<port>``: the ACPS and Connect endpoint for botocore."""
        return f"http://{self.advertised_host}:{self.port}"

    def start(self) -> None:
        """Bind and serve; returns once connections are accepted. Raises ``OSError`` on bind."""
        with self._lifecycle:
            if self._thread is not None:
                raise RuntimeError("the emulator is already running")
            ready = threading.Event()
            failure: list[BaseException] = []
            loop = asyncio.new_event_loop()
            self._loop = loop

            def main() -> None:
                asyncio.set_event_loop(loop)
                try:
                    loop.run_until_complete(self._startup())
                except BaseException as exc:
                    failure.append(exc)
                    loop.run_until_complete(loop.shutdown_default_executor())
                    loop.close()
                    ready.set()
                    return
                ready.set()
                try:
                    loop.run_forever()
                finally:
                    pending = asyncio.all_tasks(loop)
                    for task in pending:
                        task.cancel()
                    if pending:
                        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                    loop.run_until_complete(loop.shutdown_asyncgens())
                    loop.run_until_complete(loop.shutdown_default_executor())
                    loop.close()

            thread = threading.Thread(target=main, name="connect-chat-emulator", daemon=True)
            self._thread = thread
            thread.start()
            ready.wait()
            if failure:
                thread.join()
                self._thread = None
                self._loop = None
                raise failure[0]
            logger.info("emulator listening on %s", self.endpoint_url)

    async def _startup(self) -> None:
        loop = asyncio.get_running_loop()
        state = State(self.settings, loop, self.faults)
        self._state = state
        self._control = Control(state, self._calls)
        self._sockets = SocketServer(state, self.faults)
        guard = Guard(self.host, lambda: state.settings.control_allowed_origins)
        app = web.Application(
            middlewares=guard.middlewares,
            client_max_size=self.settings.max_attachment_bytes + 1024 * 1024,
        )
        RestApi(state, self.faults, self._calls).add_routes(app)
        self._sockets.add_routes(app)
        ControlRoutes(
            self._control,
            self.faults,
            self._calls,
            behaviour=lambda: self.behaviour,
            set_behaviour=self._set_behaviour_from_http,
        ).add_routes(app)
        # keepalive_timeout also bounds a connection whose request line/headers never finish
        # (aiohttp closes a connection idle in the parser); bodies: guard.read_body.
        runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=2.0,
            keepalive_timeout=self.settings.request_timeout,
            # After an early answer (408...), unread body bytes are drained this long at most.
            lingering_time=self.settings.request_timeout,
        )
        await runner.setup()
        self._runner = runner
        site = web.TCPSite(runner, self.host, self._requested_port, backlog=1024)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        address = runner.addresses[0]
        self._port = int(address[1])
        http_host = f"{self.advertised_host}:{self._port}"
        state.http_base = f"http://{http_host}"
        state.ws_base = f"ws://{http_host}"

    async def _shutdown(self) -> None:
        self.faults.wake_held_calls()  # REST calls held by latency are answered, not cut off
        if self._state is not None:
            self._state.shutdown()
        if self._sockets is not None:
            await self._sockets.close_all(1001)
        if self._runner is not None:
            await self._runner.cleanup()

    def stop(self) -> None:
        """Close every socket, stop serving and join the thread (idempotent)."""
        with self._lifecycle:
            thread, loop = self._thread, self._loop
            if thread is None or loop is None:
                return
            try:
                asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=15)
            except Exception:
                logger.exception("error while stopping the emulator")
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=15)
            self._thread = None
            self._loop = None
            self._port = None
            logger.info("emulator stopped")

    @property
    def running(self) -> bool:
        return self._thread is not None

    # --- running things on the loop --------------------------------------------------------
    def _on_loop(self, fn: Callable[[], T]) -> T:
        loop = self._loop
        if loop is None:
            raise RuntimeError("the emulator is not running")
        if self._thread is threading.current_thread():
            return fn()

        async def call() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(call(), loop).result(timeout=_CONTROL_TIMEOUT)

    def _run(self, fn: Callable[[Control], T]) -> T:
        def call() -> T:
            assert self._control is not None
            return fn(self._control)

        return self._on_loop(call)

    def _drop_sockets(self, contact_id: str | None) -> int:
        return self._on_loop(lambda: self._require_state().delivery.drop_sockets(contact_id))

    def _close_sockets(self, code: int, contact_id: str | None) -> int:
        return self._on_loop(lambda: self._require_state().delivery.close_sockets(code, contact_id))

    def _expire_tokens(self, contact_id: str | None) -> int:
        return self._on_loop(lambda: self._require_state().expire_connection_tokens(contact_id))

    def _release_delayed(self) -> None:
        if self._loop is not None and self._state is not None:
            self._on_loop(self._state.delivery.release_delayed)

    def _require_state(self) -> State:
        if self._state is None:
            raise RuntimeError("the emulator is not running")
        return self._state

    # --- behaviour ---------------------------------------------------------------------------
    @property
    def behaviour(self) -> Behaviour:
        """The current answers to what the service reference leaves open."""
        return self.settings.behaviour

    def set_behaviour(
        self, behaviour: Behaviour | str | None = None, **changes: object
    ) -> Behaviour:
        """Switch behaviour at run time: ``behaviour`` (a Behaviour or a profile name; ``None``:
        keep the current one) with ``changes`` (knob=value) applied. Takes effect for the
        requests and frames handled after it returns; safe from any thread (the change is
        made on the server's loop, in order with requests). Returns the new behaviour;
        ``ValueError`` for an unknown knob or value (nothing changes then)."""
        base = None if behaviour is None else resolve(behaviour)

        def change() -> Behaviour:
            current = self._state.settings if self._state is not None else self.settings
            new = Behaviour.from_mapping(changes, base or current.behaviour)
            settings = dataclasses.replace(current, behaviour=new)
            if self._state is not None:
                self._state.settings = settings
            self.settings = settings
            return new

        if self._loop is not None and self._state is not None:
            new = self._on_loop(change)  # the loop serialises changes (and HTTP ones)
        else:
            with self._behaviour_lock:
                new = change()
        logger.info("emulator behaviour: %s", new.to_mapping())
        return new

    def _set_behaviour_from_http(self, body: dict[str, Any]) -> Behaviour:
        """``POST /emulator/behaviour``: knobs (and an optional ``Profile``) as JSON."""
        changes = dict(body)
        name = changes.pop("Profile", None)
        if name is not None and not isinstance(name, str):
            raise ValueError("Profile must be a profile name")
        return self.set_behaviour(name, **changes)

    # --- control API -------------------------------------------------------------------------
    def start_chat(
        self,
        display_name: str = "Customer",
        *,
        initial_message: str | dict[str, str] | None = None,
        supported_content_types: list[str] | None = None,
        chat_duration_minutes: float | None = None,
        persistent_chat: str | dict[str, str] | None = None,
    ) -> ChatDetails:
        """A new chat, as StartChatContact creates it; ``persistent_chat`` = a source contact id
        (ENTIRE_PAST_SESSION) or a ``PersistentChat`` dict. Any positive duration is allowed.
        Recorded in :meth:`calls` as a ``StartChatContact`` call."""
        answer = self._run(
            lambda c: c.start_chat(
                display_name,
                initial_message,
                supported_content_types,
                chat_duration_minutes,
                persistent_chat,
            )
        )
        return ChatDetails(
            participant_token=answer["ParticipantToken"],
            contact_id=answer["ContactId"],
            participant_id=answer["ParticipantId"],
        )

    def agent(self, contact_id: str) -> AgentHandle:
        """The agent side of ``contact_id``."""
        self._run(lambda c: c.customer_id(contact_id))
        return AgentHandle(self, contact_id)

    def end_chat(self, contact_id: str) -> None:
        """End the contact: agents leave, ``chat.ended``, sockets close, tokens stop working."""
        self._run(lambda c: c.end_chat(contact_id))

    def transcript(self, contact_id: str) -> list[dict[str, Any]]:
        """The stored transcript, oldest first, in GetTranscript item form."""
        return self._run(lambda c: c.transcript(contact_id))

    def contact(self, contact_id: str) -> dict[str, Any]:
        """``{"ContactId", "State": "ACTIVE"|"ENDED", "Transcript": [...]}``."""
        return self._run(lambda c: c.contact_view(contact_id))

    def contacts(self) -> list[dict[str, Any]]:
        """Every contact kept, oldest first: ``{"ContactId", "State", "CustomerParticipantId",
        "CustomerDisplayName", "AgentParticipantId", "WebSockets", "Items"}``."""
        return self._run(lambda c: c.contacts())

    def contact_ids(self) -> list[str]:
        return self._on_loop(lambda: list(self._require_state().contacts))

    def emit_event(
        self,
        contact_id: str,
        content_type: str,
        content: str | None = None,
        *,
        participant_id: str | None = None,
        display_name: str | None = None,
        participant_role: str | None = None,
        store: bool | None = None,
    ) -> str:
        """Push any EVENT item (idle, returned, invited, transfer, rehydrated, ...).

        The subject is ``participant_id`` (use ``"customer"`` for the chat's customer); its
        name and role fill the item unless given. ``store=None`` keeps the item in the
        transcript when the service does (joined, left, invited, ended, transfer).
        """
        if participant_id == "customer":
            participant_id = self._run(lambda c: c.customer_id(contact_id))
        answer = self._run(
            lambda c: c.emit_event(
                contact_id,
                str(content_type),
                content,
                participant_id,
                display_name,
                participant_role,
                store,
            )
        )
        return str(answer["Id"])

    def system_event(
        self,
        contact_id: str,
        content_type: str,
        content: str | None = None,
        participant_role: str = "SYSTEM",
    ) -> str:
        """An EVENT with no participant subject and role ``participant_role``."""
        return self.emit_event(contact_id, content_type, content, participant_role=participant_role)

    def start_authentication(self, contact_id: str) -> str:
        """Push ``authentication.initiated`` with a new SessionId (for GetAuthenticationUrl)."""
        return self._run(lambda c: c.start_authentication(contact_id))

    def calls(
        self, operation: str | None = None, contact_id: str | None = None
    ) -> list[CallRecord]:
        """The REST requests answered so far (optionally one operation / one contact), oldest
        first; the last ``max_call_records`` only. Chats started through the control API are
        recorded as ``StartChatContact`` calls with no headers and no attempt number."""
        return self._calls.select(operation, contact_id)

    def clear_calls(self) -> None:
        self._calls.clear()

    def websocket_count(self, contact_id: str | None = None) -> int:
        """Open, subscribed chat WebSockets (all, or one contact's)."""
        return self._on_loop(lambda: self._require_state().delivery.socket_count(contact_id))

    def frames_sent(self, contact_id: str | None = None) -> int:
        """``aws/chat`` frames pushed so far (all, or one contact's)."""
        return self._on_loop(lambda: self._require_state().delivery.frame_count(contact_id))
