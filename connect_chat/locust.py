"""connect-chat as a Locust client: ``ChatUser``, a ``locust.User`` that owns a real chat.

Why a module of its own (extra ``connect-chat[locust]``): Locust is the distributed load
engine (master and workers, web UI, CSV/HTML reports, ramp-up shapes); what it lacks is a
client for Amazon Connect chat. Each :class:`ChatUser` holds one :class:`ChatSession` and
turns its steps (``connect``, ``send``, ``reply``, ``send_attachment``, ``disconnect``) into
Locust request events (``request_type`` ``"chat"``): response time, response length and the
exception on failure. A failed step is reported, then ends the current task with
:class:`ChatStepFailed` (a ``RescheduleTask``): never an unhandled exception.

gevent: ``locust`` monkey-patches the standard library when it is imported (the ``locust``
command does so before it loads a locustfile; a script must ``import locust`` before
``connect_chat``). The SDK's threads (socket, dispatcher) are then greenlets, its
``queue.SimpleQueue``, ``threading.Event``/``Condition`` and sockets (websocket-client,
botocore, requests) are gevent's, so a session waiting on anything yields to the others.
The SDK never busy-waits: the socket greenlet sleeps in ``recv`` until a frame or its next
heartbeat.

One botocore client per process and endpoint (:func:`shared_aws_client`) serves every user,
each session seeing it through its own :class:`SessionClient`: building a botocore client
costs ~10 ms of CPU and ~0.2 MiB, most of a session's cost at ramp-up (botocore clients are
thread-safe, and under gevent each greenlet takes its own pooled HTTP connection).
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import attrs
import locust
from locust import User
from locust.exception import RescheduleTask

from connect_chat.config import GlobalConfig
from connect_chat.enums import ContentType
from connect_chat.errors import InvalidInputError
from connect_chat.heap import (
    freeze_heap,
    freeze_startup_heap,
    hold_full_collections,
    refreeze_heap,
    release_full_collections,
)
from connect_chat.locust_clients import (
    SessionClient,
    StartChatContact,
    shared_aws_client,
)
from connect_chat.models import ChatDetails, Event, Message, TranscriptItem
from connect_chat.session import ChatSession

__all__ = [
    "REQUEST_TYPE",
    "ChatStarter",
    "ChatStepFailed",
    "ChatUser",
    "SessionClient",
    "StartChatContact",
    "close_all_sessions",
    "is_answer",
    "prepare_clients",
    "shared_aws_client",
]

logger = logging.getLogger(__name__)
T = TypeVar("T")

#: The ``request_type`` (the "Type" column of Locust's statistics) of every chat step.
REQUEST_TYPE = "chat"
#: Longest idle ``recv`` of a socket greenlet under gevent (see :func:`_relax_idle_wait`).
IDLE_WAIT_UNDER_GEVENT = 10.0
#: A user function that starts a chat (calls StartChatContact, or a backend that does).
ChatStarter = Callable[["ChatUser"], ChatDetails]

_open_sessions: weakref.WeakSet[ChatSession] = weakref.WeakSet()


class ChatStepFailed(RescheduleTask):
    """A chat step failed (already reported to Locust): the current task ends here."""


def is_answer(item: TranscriptItem) -> bool:
    """An agent's or a bot's message (anything but the customer's own)."""
    return isinstance(item, Message) and str(item.participant) in ("AGENT", "SYSTEM")


#: Extra time :func:`close_all_sessions` allows beyond one session's shutdown bound.
CLOSE_ALL_SLACK = 2.0


def close_all_sessions() -> int:
    """Close every session still open in this process, all at once; returns how many.

    Each is closed on a thread of its own (a greenlet under gevent), and the whole ends
    within one session's shutdown bound (``join_timeout``, leave included) plus
    :data:`CLOSE_ALL_SLACK`, however many there are. Why: closed one after another, 2,000
    sessions of an overloaded worker each waiting for its DisconnectParticipant held the
    process at exit for many minutes.
    """
    sessions = list(_open_sessions)
    if not sessions:
        return 0
    bound = max(s.global_config.join_timeout for s in sessions) * 2 + CLOSE_ALL_SLACK
    deadline = time.monotonic() + bound
    closers = [
        threading.Thread(target=_close, args=(s,), name="connect-chat-close", daemon=True)
        for s in sessions
    ]
    for closer in closers:
        closer.start()
    for closer in closers:
        closer.join(max(0.0, deadline - time.monotonic()))
    left = sum(closer.is_alive() for closer in closers)
    if left:
        logger.warning("%d chat sessions did not close within %.1f s", left, bound)
    return len(sessions)


def _close(session: ChatSession) -> None:
    """Leave the chat and stop the session's greenlets within ``join_timeout``."""
    _open_sessions.discard(session)
    try:
        session.disconnect()
    except Exception:  # disconnect is bounded and logs; never let closing raise
        logger.exception("closing a chat session failed")
    finally:
        session.reset()


class ChatUser(User):
    """A Locust user that is one customer in a chat (a real :class:`ChatSession`).

    ``host`` is the Participant Service endpoint: the emulator's URL
    (``http://127.0.0.1:8000``), or empty for Amazon Connect in ``chat_region``. Set
    ``chat_starter`` to a :class:`StartChatContact` (or override :meth:`start_chat` for a
    backend of your own) and ``chat_config`` for timings. Write tasks with the step helpers::

        class Customer(ChatUser):
            wait_time = between(5, 15)

            @task
            def chat(self):
                self.connect()
                self.reply("Hello")
                self.disconnect()

    Extra entries (``request_type`` ``"chat"``): ``reconnect`` (response time: broken to
    re-established), ``gap_filled`` (a message a reconnect's catch-up found), ``read_receipt``
    / ``delivered_receipt`` (the other side's receipts on our messages; response time since
    we sent it) and, when a chat closes, ``receipts_sent`` (response length: the receipts
    this chat sent).
    """

    abstract = True
    #: How chats start; ``None``: the emulator's StartChatContact at ``host``.
    chat_starter: ClassVar[ChatStarter | None] = None
    #: The session's configuration (``endpoint_url`` and the client are set from ``host``).
    chat_config: ClassVar[GlobalConfig | None] = None
    chat_region: ClassVar[str] = "us-west-2"
    #: Default seconds to wait for an answer in :meth:`reply` / :meth:`wait_for`.
    reply_timeout: ClassVar[float] = 30.0
    #: At ``test_start``, freeze the objects alive then out of the garbage collector's passes
    #: (:func:`connect_chat.heap.freeze_startup_heap`, once per process): full collections
    #: then walk the chats only. ``False`` in every ``ChatUser`` class of the run leaves the
    #: collector alone.
    freeze_heap_at_test_start: ClassVar[bool] = True
    #: Once every user is spawned (``spawning_complete``), freeze the chats too, and at
    #: ``test_stop`` thaw, collect and refreeze (:func:`connect_chat.heap.freeze_heap`): for
    #: capacity tests that hold their chats for the whole run. Automatic full collections
    #: are held off meanwhile (:func:`connect_chat.heap.hold_full_collections`; the young
    #: generations are still collected): docs/load-testing.md has the figures. Reference
    #: cycles a frozen chat leaves when it ends, or that reach the oldest generation, stay in
    #: memory until the test stops: leave it off for tests whose users start and end many
    #: chats.
    freeze_chats_after_spawning: ClassVar[bool] = False

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.session: ChatSession | None = None
        self.chat_details: ChatDetails | None = None
        self._broken_at: float | None = None
        self._sent_at: dict[str, float] = {}

    # -- starting a chat -----------------------------------------------------------------

    def start_chat(self) -> ChatDetails:
        """StartChatContact (or the backend) for a new chat: override for your own backend."""
        starter = inspect.getattr_static(type(self), "chat_starter", None)
        if isinstance(starter, staticmethod):
            starter = starter.__func__
        if starter is None:
            starter = _default_starter
        result = starter(self)
        if not isinstance(result, ChatDetails):
            raise InvalidInputError("the chat starter must return ChatDetails")
        return result

    def _session_config(self) -> GlobalConfig:
        base = self.chat_config or GlobalConfig(region=self.chat_region)
        if base.custom_aws_client is not None:
            return base
        endpoint = base.endpoint_url or self.host or None
        client = SessionClient(shared_aws_client(base.region, endpoint))
        return attrs.evolve(base, endpoint_url=endpoint, custom_aws_client=client)

    # -- steps (each one Locust request event) -------------------------------------------

    def step(
        self, name: str, action: Callable[[], T], length: Callable[[T], int] | None = None
    ) -> T:
        """Run ``action`` as one reported step; on failure report it and end the task."""
        started_at = time.time()
        started = time.perf_counter()
        try:
            result = action()
        except Exception as exc:
            elapsed = (time.perf_counter() - started) * 1000.0
            self._report(name, elapsed, 0, exc, started_at)
            raise ChatStepFailed(f"{name} failed: {type(exc).__name__}: {exc}") from exc
        elapsed = (time.perf_counter() - started) * 1000.0
        self._report(name, elapsed, length(result) if length else 0, None, started_at)
        return result

    def connect(self, details: ChatDetails | None = None, timeout: float | None = None) -> None:
        """A new chat: StartChatContact (step ``start_chat``) unless given, then ``connect``.

        Any chat this user still had is closed first (without a report).
        """
        self.close_chat()
        if details is None:
            details = self.step("start_chat", self.start_chat)
        self.chat_details = details
        session = ChatSession(self._session_config())
        self._install_callbacks(session)
        self.session = session
        _open_sessions.add(session)

        def connect() -> None:
            try:
                session.connect(details, timeout=timeout)
            except BaseException:
                self.close_chat()
                raise

        self.step("connect", connect)

    def send(
        self, text: str, content_type: ContentType = ContentType.PLAIN_TEXT, name: str = "send"
    ) -> Message:
        """SendMessage, until the message is SENT (the service stored it)."""
        session = self._require()

        def send() -> Message:
            message = session.send_message(content_type, text)
            self._sent_at[message.id] = time.monotonic()
            return message

        return self.step(name, send, lambda _m: len(text.encode()))

    def reply(
        self,
        text: str,
        predicate: Callable[[TranscriptItem], bool] = is_answer,
        timeout: float | None = None,
        *,
        content_type: ContentType = ContentType.PLAIN_TEXT,
        name: str = "reply",
    ) -> TranscriptItem:
        """Send ``text`` and wait for the first answer matching ``predicate`` after it.

        The response time runs from the send to the answer's delivery; the length is the
        answer's text. ``TimeoutError`` (a failure) when none comes within ``timeout``.
        """
        session = self._require()
        wait = self.reply_timeout if timeout is None else timeout

        def reply() -> TranscriptItem:
            with session.messages() as stream:  # opened first: no answer can slip by
                started = time.monotonic()
                message = session.send_message(content_type, text)
                self._sent_at[message.id] = started
                deadline = started + wait
                while True:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutError(f"no matching answer within {wait:g} s")
                    try:
                        item = stream.get(remaining)
                    except TimeoutError:
                        raise TimeoutError(f"no matching answer within {wait:g} s") from None
                    if item.id != message.id and predicate(item):
                        return item

        return self.step(name, reply, _text_length)

    def wait_for(
        self,
        predicate: Callable[[TranscriptItem], bool],
        timeout: float | None = None,
        name: str = "wait_for",
    ) -> TranscriptItem:
        """The first item matching ``predicate`` (already in the transcript or arriving)."""
        session = self._require()
        wait = self.reply_timeout if timeout is None else timeout
        return self.step(name, lambda: session.wait_for(predicate, wait), _text_length)

    def send_attachment(self, path: str | Path, name: str = "send_attachment") -> Message:
        """Upload a file (StartAttachmentUpload, PUT, CompleteAttachmentUpload)."""
        session = self._require()
        size = Path(path).stat().st_size if Path(path).is_file() else 0
        return self.step(name, lambda: session.send_attachment(path), lambda _m: size)

    def disconnect(self, name: str = "disconnect") -> None:
        """Leave the chat (DisconnectParticipant) and stop the session."""
        session = self._require()

        def leave() -> None:
            try:
                if not session.disconnect():
                    raise ConnectionError("leaving the chat could not be confirmed")
            finally:
                self.close_chat()

        self.step(name, leave)

    # -- lifecycle -----------------------------------------------------------------------

    def close_chat(self) -> None:
        """Close this user's chat, if any, within the SDK's bound (no step reported)."""
        session, self.session = self.session, None
        if session is None:
            return
        self._report_receipts(session)
        _close(session)
        self._sent_at.clear()

    def on_stop(self) -> None:
        self.close_chat()

    # -- reporting -----------------------------------------------------------------------

    def _require(self) -> ChatSession:
        if self.session is None:
            error = ConnectionError("no chat: call connect() first")
            self._report("no_chat", 0.0, 0, error, time.time())
            raise ChatStepFailed(str(error))
        return self.session

    def _report(
        self,
        name: str,
        response_time: float,
        length: int,
        exception: BaseException | None,
        start_time: float | None = None,
    ) -> None:
        self.environment.events.request.fire(
            request_type=REQUEST_TYPE,
            name=name,
            response_time=response_time,
            response_length=length,
            response=None,
            context=self.context(),
            exception=exception,
            start_time=start_time if start_time is not None else time.time(),
            url=None,
        )

    def _report_receipts(self, session: ChatSession) -> None:
        try:
            sent = int(session.stats.receipts_sent)
        except Exception:  # stats of a session torn down half-way: nothing to report
            return
        if sent > 0:
            self._report("receipts_sent", 0.0, sent, None)

    def _install_callbacks(self, session: ChatSession) -> None:
        """Reconnects, gap fills and receipts as their own entries (dispatcher greenlet)."""

        def broken() -> None:
            self._broken_at = time.monotonic()

        def reestablished() -> None:
            since = self._broken_at
            self._broken_at = None
            elapsed = 0.0 if since is None else (time.monotonic() - since) * 1000.0
            self._report("reconnect", elapsed, 0, None)

        def received(item: TranscriptItem) -> None:
            if item.is_from_history and is_answer(item):
                self._report("gap_filled", 0.0, _text_length(item), None)

        def receipt(name: str) -> Callable[[Event], None]:
            def fire(event: Event) -> None:
                sent = self._sent_at.get(event.id)
                elapsed = 0.0 if sent is None else (time.monotonic() - sent) * 1000.0
                self._report(name, elapsed, 0, None)

            return fire

        session.on_connection_broken = broken
        session.on_connection_reestablished = reestablished
        session.on_message_received = received
        session.on_read_receipt = receipt("read_receipt")
        session.on_delivered_receipt = receipt("delivered_receipt")


def _text_length(item: object) -> int:
    text = getattr(item, "text", None)
    return len(text.encode()) if isinstance(text, str) else 0


_default_starter = StartChatContact()


def _chat_user_classes(user_classes: Any) -> Iterator[type[ChatUser]]:
    """The ``ChatUser`` classes among a run's user classes (the others are not ours)."""
    for cls in user_classes:
        if isinstance(cls, type) and issubclass(cls, ChatUser):
            yield cls


def prepare_clients(user_classes: Any, host: str | None = None) -> int:
    """Build the botocore clients the ``ChatUser`` classes will use, before any user runs.

    Building one reads botocore's service models from disk: 0.1-0.3 s during which the
    gevent hub (every user of the process) stands still. Done at ``test_start`` (before
    users spawn), the first users' ``connect`` no longer pays for it. Returns how many
    clients were built or found.
    """
    count = 0
    for cls in _chat_user_classes(user_classes):
        target = host or cls.host  # --host overrides the class's, as Locust does
        base = cls.chat_config or GlobalConfig(region=cls.chat_region)
        if base.custom_aws_client is None:
            shared_aws_client(base.region, base.endpoint_url or target or None)
            count += 1
        starter = inspect.getattr_static(cls, "chat_starter", None)
        if isinstance(starter, staticmethod):
            starter = starter.__func__
        starter = _default_starter if starter is None else starter
        if isinstance(starter, StartChatContact):
            try:
                starter.connect_client(target, cls.chat_region)
            except Exception as exc:  # no credentials yet: the first start_chat reports it
                logger.warning("StartChatContact client not ready: %s", type(exc).__name__)
            else:
                count += 1
    return count


#: What this process's ``ChatUser`` classes asked of the garbage collector (set at
#: ``test_start``; ``spawning_complete`` carries no environment) and whether chats are frozen.
_heap_policy = {"freeze_chats": False, "chats_frozen": False}


def _asked(user_classes: Any, flag: str) -> bool:
    return any(getattr(cls, flag) for cls in _chat_user_classes(user_classes))


def _prepare_on_test_start(environment: Any, **_kwargs: Any) -> None:
    prepare_clients(environment.user_classes, environment.host)
    if _asked(environment.user_classes, "freeze_heap_at_test_start"):
        freeze_startup_heap()  # after the clients: their models are startup state too
    _heap_policy["freeze_chats"] = _asked(environment.user_classes,
                                          "freeze_chats_after_spawning")


def _freeze_chats(**_kwargs: Any) -> None:
    if _heap_policy["freeze_chats"]:
        freeze_heap()
        hold_full_collections()  # else the frozen heap made full passes frequent (heap.py)
        _heap_policy["chats_frozen"] = True


def _thaw_chats(**_kwargs: Any) -> None:
    if _heap_policy["chats_frozen"]:
        _heap_policy["chats_frozen"] = False
        release_full_collections()
        refreeze_heap()  # what the ended chats left is reclaimed


def _relax_idle_wait() -> None:
    """Under gevent, let an idle socket greenlet sleep until its next heartbeat.

    The SDK bounds each idle ``recv`` by ``MAX_IDLE_WAIT`` (1 s) as a fallback for platforms
    where ``stop()``'s wake-up (shutting the socket's reading side) does not reach a blocked
    ``recv``. Under gevent it does (``tests/locust`` closes idle sessions at once), and the
    fallback costs one wake-up per chat per second: ~14 % of a core for 1,000 idle chats,
    against ~5 % with the heartbeat as the only timer.
    """
    from gevent import monkey  # type: ignore[import-untyped]

    from connect_chat import websocket as socket_module

    current = getattr(socket_module, "MAX_IDLE_WAIT", None)
    if isinstance(current, (int, float)) and monkey.is_module_patched("socket"):
        socket_module.MAX_IDLE_WAIT = max(float(current), IDLE_WAIT_UNDER_GEVENT)


_relax_idle_wait()


def _close_on_quit(**_kwargs: Any) -> None:
    """A safety net: sessions of users killed without ``on_stop`` are closed at exit."""
    closed = close_all_sessions()
    if closed:
        logger.info("closed %d chat sessions at exit", closed)


locust.events.quitting.add_listener(_close_on_quit)  # type: ignore[no-untyped-call]
locust.events.test_start.add_listener(_prepare_on_test_start)  # type: ignore[no-untyped-call]
locust.events.spawning_complete.add_listener(_freeze_chats)  # type: ignore[no-untyped-call]
locust.events.test_stop.add_listener(_thaw_chats)  # type: ignore[no-untyped-call]
