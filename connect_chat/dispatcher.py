"""The dispatcher thread: the single consumer of a session's inbox.

Everything that changes the transcript happens here, in inbox order: frames from the socket
thread, connection events, history pages and local send results posted by caller threads.
For each, the dispatcher parses (``parsing``), merges (``transcript``) and then runs the
program's callbacks -- in order, on this thread, with no SDK lock held. A callback that
raises is logged and delivery goes on. A callback may call any session method: those only
post to the inbox or make REST calls, and ``disconnect()`` from here never joins this
thread.

Timers (:meth:`Dispatcher.call_later`) run on this thread too: the inbox wait is bounded by
the next deadline, computed from ``time.monotonic()``.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import attrs

from connect_chat.enums import ContentType, ScanDirection
from connect_chat.errors import ChatEndedError, ConnectChatError, SessionClosedError
from connect_chat.gapfill import DEFAULT_MAX_PAGES, catch_up
from connect_chat.log_limits import RepeatedWarnings
from connect_chat.models import (
    Event,
    Message,
    Metadata,
    Participant,
    TranscriptData,
    TranscriptItem,
)
from connect_chat.parsing import (
    MAX_FRAME_CHARS,
    TOPIC_CHAT,
    Frame,
    ParsedItem,
    TranscriptPage,
    iso_timestamp,
    parse_chat_frame,
    parse_frame,
    synthesized_chat_ended,
    time_key,
)
from connect_chat.throttles import ReceiptBatch, ReceiptThrottle, TypingIndicators
from connect_chat.transcript import Change, Transcript, TranscriptView
from connect_chat.websocket import RawFrame, SocketEvent

logger = logging.getLogger(__name__)

#: How long a send finishing after the end waits for the dispatcher thread to stop.
STOP_SETTLE_TIMEOUT = 2.0

#: Live event content type -> the callback it fires (besides ``on_message_received``).
EVENT_CALLBACKS: dict[str, str] = {
    ContentType.TYPING.value: "on_typing",
    ContentType.PARTICIPANT_IDLE.value: "on_participant_idle",
    ContentType.PARTICIPANT_RETURNED.value: "on_participant_returned",
    ContentType.AUTO_DISCONNECTION.value: "on_auto_disconnection",
    ContentType.PARTICIPANT_INVITED.value: "on_participant_invited",
    ContentType.CHAT_REHYDRATED.value: "on_chat_rehydrated",
    ContentType.JOINED.value: "on_participant_joined",
    ContentType.LEFT.value: "on_participant_left",
    ContentType.PARTICIPANT_DISPLAY_NAME_UPDATED.value: "on_participant_display_name_updated",
    ContentType.TRANSFER_SUCCEEDED.value: "on_transfer_succeeded",
    ContentType.TRANSFER_FAILED.value: "on_transfer_failed",
    ContentType.AUTHENTICATION_INITIATED.value: "on_authentication_initiated",
    ContentType.AUTHENTICATION_SUCCESSFUL.value: "on_authentication_succeeded",
    ContentType.AUTHENTICATION_FAILED.value: "on_authentication_failed",
    ContentType.AUTHENTICATION_TIMEOUT.value: "on_authentication_timeout",
    ContentType.AUTHENTICATION_EXPIRED.value: "on_authentication_expired",
    ContentType.AUTHENTICATION_CANCELLED.value: "on_authentication_cancelled",
}

#: Events that (re)name a participant.
_NAMING_EVENTS = frozenset(
    {ContentType.JOINED.value, ContentType.PARTICIPANT_DISPLAY_NAME_UPDATED.value}
)

_ENDED = ContentType.ENDED.value


class _GapMarker:
    """Queued at an inbox overflow: the frames queued before it are handled, then the gap
    is filled (live frames are dropped until then, so the walk back stays short)."""

    __slots__ = ()


_GAP = _GapMarker()


# --------------------------------------------------------------------------------------------
# The inbox and the session's counters


class Inbox:
    """The dispatcher's FIFO. Its bound applies to live frames only.

    Overflow policy: a live frame that finds the inbox full is dropped and counted (the
    socket thread never blocks on a slow program); the dispatcher then fetches what it missed
    with GetTranscript, like after a reconnect, so no chat item is lost. Everything else
    (connection events, local sends, history pages, the end marker) is never refused: those
    are few, and some come from the dispatcher thread itself (a callback calling
    ``send_message``), which must never wait on its own queue.

    A ``queue.SimpleQueue`` underneath (one C-level lock, no task accounting): a
    ``queue.Queue`` hand-off costs about a microsecond per frame, this one a tenth of it.
    The bound is checked against ``qsize()`` before the put; only the socket thread puts
    live frames, so the check and the put cannot race with another live put.
    """

    def __init__(self, maxsize: int = 0) -> None:
        self.maxsize = maxsize
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        #: Any item, never refused, never blocking (the same call as the queue's own put).
        self.put: Callable[[object], None] = self._queue.put
        #: The next item; ``queue.Empty`` after ``timeout`` seconds (``None``: wait forever).
        self.get: Callable[..., object] = self._queue.get

    def put_nowait(self, item: object) -> None:
        """A live frame: ``queue.Full`` when ``maxsize`` items are already waiting."""
        if self.maxsize > 0 and self._queue.qsize() >= self.maxsize:
            raise queue.Full
        self._queue.put(item)

    def qsize(self) -> int:
        return self._queue.qsize()

    def empty(self) -> bool:
        return self._queue.empty()


#: What a dispatcher reads from: an :class:`Inbox`, or a plain ``queue.Queue`` (tests).
InboxLike = Inbox | queue.Queue[object]


class SessionStats:
    """Local counters of one session (all its connections), for monitoring and tests.

    Nothing here ever leaves the process. Robustness: ``bad_frames`` (frames dropped as
    unusable, each logged), ``bad_history_items`` (unreadable GetTranscript items left out),
    ``inbox_overflows`` (live frames that found the inbox full, recovered by GetTranscript),
    ``gap_fills`` (GetTranscript catch-ups after a reconnect or an overflow),
    ``gap_fills_truncated`` (catch-ups that stopped at ``gap_fill_max_pages``). Activity:
    ``messages_sent`` (SendMessage successes), ``attachments_sent`` (uploads completed),
    ``messages_received`` (new messages and attachments from other participants, live or
    gap-filled), ``reconnects`` (WebSocket re-established), ``retries`` (REST attempts
    repeated by botocore's retry policy or by the SDK), ``typing_sent`` /
    ``typing_throttled`` (typing events sent / absorbed by the throttle). Receipts, summed
    over the session's connections: ``receipts_sent`` (receipt SendEvents made),
    ``receipts_suppressed`` (requests that needed no SendEvent: duplicates, the customer's
    own messages, receipts disabled), ``receipts_superseded`` (covered by a newer receipt),
    ``receipts_failed``. ``as_dict()`` gives them all at once.
    """

    COUNTERS: tuple[str, ...] = (
        "bad_frames",
        "bad_history_items",
        "inbox_overflows",
        "gap_fills",
        "gap_fills_truncated",
        "messages_sent",
        "attachments_sent",
        "messages_received",
        "reconnects",
        "retries",
        "typing_sent",
        "typing_throttled",
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._throttles: list[ReceiptThrottle] = []
        self.bad_frames = 0
        self.bad_history_items = 0
        self.inbox_overflows = 0
        self.gap_fills = 0
        self.gap_fills_truncated = 0
        self.messages_sent = 0
        self.attachments_sent = 0
        self.messages_received = 0
        self.reconnects = 0
        self.retries = 0
        self.typing_sent = 0
        self.typing_throttled = 0

    def incr(self, name: str, amount: int = 1) -> None:
        """Add ``amount`` to the counter ``name`` (thread-safe; for any thread)."""
        if name not in self.COUNTERS:
            raise ValueError(f"no counter {name!r}")
        with self._lock:
            setattr(self, name, getattr(self, name) + amount)

    def _track_receipts(self, throttle: ReceiptThrottle) -> None:
        with self._lock:
            self._throttles.append(throttle)

    def _receipt_sum(self, field: str) -> int:
        with self._lock:
            throttles = list(self._throttles)
        return sum(int(getattr(t, field)) for t in throttles)

    @property
    def receipts_sent(self) -> int:
        return self._receipt_sum("sent")

    @property
    def receipts_suppressed(self) -> int:
        return self._receipt_sum("suppressed")

    @property
    def receipts_superseded(self) -> int:
        return self._receipt_sum("superseded")

    @property
    def receipts_failed(self) -> int:
        return self._receipt_sum("failed")

    def as_dict(self) -> dict[str, int]:
        """Every counter by name (a snapshot)."""
        out = {name: int(getattr(self, name)) for name in self.COUNTERS}
        for name in ("receipts_sent", "receipts_suppressed", "receipts_superseded",
                     "receipts_failed"):
            out[name] = int(getattr(self, name))
        return out

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v}" for k, v in self.as_dict().items())
        return f"SessionStats({fields})"


# --------------------------------------------------------------------------------------------
# Inbox items posted by other threads


@attrs.frozen
class HistoryPage:
    """A GetTranscript page fetched by a caller thread, to merge (no live callbacks)."""

    page: TranscriptPage
    scan_direction: str
    start_position_given: bool
    done: threading.Event | None = None
    requested_token: str | None = None


@attrs.frozen
class LocalUpdate:
    """A change made by this program: ``kind`` is placeholder, sent, failed or resending."""

    kind: str
    message: Message
    server_id: str | None = None
    time_stamp: str | None = None
    #: Set once the transcript reflects the update (the caller may wait for it).
    done: threading.Event | None = attrs.field(default=None, eq=False)


@attrs.frozen
class EndSession:
    """Stop the dispatcher; ``chat_ended`` fires ``on_chat_ended`` first (if not yet)."""

    chat_ended: bool


@attrs.frozen
class Call:
    """Run ``fn`` on the dispatcher thread (internal)."""

    fn: Callable[[], None]


# --------------------------------------------------------------------------------------------
# Pull API


_END = object()


class ItemStream:
    """Items delivered to ``on_message_received``, for code that prefers to pull.

    Iterate it (``for item in session.messages(timeout=5): ...``: the loop ends when no item
    comes within ``timeout`` or the session ends) or call :meth:`get`. It holds at most
    ``maxsize`` items: beyond that the oldest is dropped and counted in ``dropped``. Close it
    (or use it as a context manager) to stop receiving.
    """

    def __init__(self, owner: Subscribers, maxsize: int, timeout: float | None) -> None:
        self._owner = owner
        self._items: collections.deque[object] = collections.deque()
        self._maxsize = maxsize
        self._cond = threading.Condition()
        self.timeout = timeout
        self.dropped = 0
        self.closed = False

    def _push(self, item: object) -> None:
        with self._cond:
            if self.closed:
                return
            if item is not _END and len(self._items) >= self._maxsize:
                self._items.popleft()
                self.dropped += 1
                if self.dropped == 1 or self.dropped % 100 == 0:
                    logger.warning("pull queue full: dropped %d oldest items", self.dropped)
            self._items.append(item)
            self._cond.notify_all()

    def get(self, timeout: float | None = None) -> TranscriptItem:
        """The next item; ``TimeoutError`` after ``timeout``, ``SessionClosedError`` at the end."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._items:
                if self.closed:
                    raise SessionClosedError("the stream is closed")
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError("no item within the timeout")
                self._cond.wait(remaining)
            item = self._items[0]
            if item is _END:
                raise SessionClosedError("the chat session ended")
            self._items.popleft()
        assert isinstance(item, TranscriptItem)
        return item

    def __iter__(self) -> Iterator[TranscriptItem]:
        while True:
            try:
                yield self.get(self.timeout)
            except (TimeoutError, SessionClosedError):
                return

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()
        self._owner.remove(self)

    def __enter__(self) -> ItemStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Subscribers:
    """The pull-API streams of one session (thread-safe; pushing never blocks)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._streams: list[ItemStream] = []
        self._ended = False

    def add(self, maxsize: int, timeout: float | None) -> ItemStream:
        stream = ItemStream(self, maxsize, timeout)
        with self._lock:
            self._streams.append(stream)
            ended = self._ended
        if ended:
            stream._push(_END)
        return stream

    def remove(self, stream: ItemStream) -> None:
        with self._lock:
            if stream in self._streams:
                self._streams.remove(stream)

    def publish(self, item: TranscriptItem) -> None:
        if not self._streams:  # the usual case: nobody pulls (an atomic read of the list)
            return
        with self._lock:
            streams = list(self._streams)
        for stream in streams:
            stream._push(item)

    def end(self) -> None:
        with self._lock:
            self._ended = True
            streams = list(self._streams)
        for stream in streams:
            stream._push(_END)

    def reopen(self) -> None:
        with self._lock:
            self._ended = False


# --------------------------------------------------------------------------------------------
# The dispatcher


class Dispatcher:
    """The dispatcher thread of one connection of a session.

    ``callbacks`` is the object holding the ``on_*`` attributes (the session: they are read
    at the moment they fire, so they can be changed at any time). ``fetch_older`` runs one
    catch-up GetTranscript page (BACKWARD from the newest item, or from a ``NextToken``;
    see ``gapfill``); ``on_active`` / ``on_ended`` let
    the session track ``is_chat_session_active``.
    """

    def __init__(
        self,
        *,
        name: str,
        inbox: InboxLike,
        transcript: Transcript,
        callbacks: Any,
        subscribers: Subscribers,
        fetch_older: Callable[[str | None], TranscriptPage],
        gap_fill_max_pages: int = DEFAULT_MAX_PAGES,
        on_active: Callable[[], None],
        on_ended: Callable[[], None],
        receipts: ReceiptThrottle | None = None,
        send_receipt: Callable[[ReceiptBatch], None] | None = None,
        stats: SessionStats | None = None,
        own_participant_id: str | None = None,
        typing_expiry: float = 12.0,
        on_incoming_message: Callable[[Message], None] | None = None,
    ) -> None:
        self.inbox = inbox
        self.stats = stats if stats is not None else SessionStats()
        #: Bad frames are all counted, but a flood of them writes a bounded number of lines.
        self._warnings = RepeatedWarnings(logger)
        #: The customer's participant id (its own receipts and typing echoes are not "incoming").
        self._own_id = own_participant_id
        self._typing = TypingIndicators[str](typing_expiry)
        self._typing_events: dict[str, Event] = {}
        #: Ids the newest history page added before their live frame came (see _handle_live).
        self._unheard: set[str] = set()
        #: Typing events of the participants typing now (read by other threads; replaced).
        self.typing_view: tuple[Event, ...] = ()
        self._participants: dict[str, Participant] = {}
        self._name_times: dict[str, float] = {}
        #: Known participants by id (read by other threads; replaced atomically).
        self.participants_view: dict[str, Participant] = {}
        self._on_incoming_message = on_incoming_message
        #: Set by the socket thread at an overflow, cleared by this thread at the marker.
        self._gap_pending = False
        self._overflow_warned = False
        self.transcript = transcript
        self._callbacks = callbacks
        self._subscribers = subscribers
        self._fetch_older = fetch_older
        self._gap_fill_max_pages = gap_fill_max_pages
        self._on_active = on_active
        self._on_ended = on_ended
        self._receipts = receipts
        self._send_receipt = send_receipt
        self._receipt_timer_at: float | None = None
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._timer_seq = itertools.count()
        self._chat_ended_fired = False
        self._broken = False
        self._running = True
        #: The latest published snapshot (read by other threads; replaced atomically).
        self.view: TranscriptView = transcript.view()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    # -- any thread ----------------------------------------------------------------------

    def start(self) -> None:
        self.thread.start()

    @property
    def bad_frames(self) -> int:
        return self.stats.bad_frames

    @property
    def bad_history_items(self) -> int:
        return self.stats.bad_history_items

    def post(self, item: object) -> None:
        """Queue an item without ever blocking (see :class:`Inbox` for the overflow policy)."""
        if not self._running:
            if isinstance(item, LocalUpdate):
                self._settle_after_stop(item)
            return
        if not isinstance(item, (Frame, RawFrame)):  # not a live frame
            self.inbox.put(item)  # never refused, never blocking (see Inbox)
            return
        if self._gap_pending:  # a catch-up will fetch it (see _GapMarker)
            self.stats.inbox_overflows += 1
            return
        try:
            self.inbox.put_nowait(item)
            self._overflow_warned = False
        except queue.Full:
            self.stats.inbox_overflows += 1
            self._gap_pending = True
            self.inbox.put(_GAP)
            if not self._overflow_warned:
                self._overflow_warned = True
                logger.warning(
                    "the inbox is full (callbacks are slow): dropping live frames; "
                    "they will be fetched with GetTranscript"
                )

    def _settle_after_stop(self, update: LocalUpdate) -> None:
        """A send that finished after the session ended: its final state still shows.

        Once the dispatcher thread has stopped nobody else writes the transcript, so the
        outcome (SENT or FAILED) is applied here, without callbacks: the chat is over.
        """
        try:
            if update.kind in ("sent", "failed"):
                self.join(STOP_SETTLE_TIMEOUT)
                if not self.thread.is_alive() or self.thread is threading.current_thread():
                    if update.kind == "sent":
                        assert update.server_id is not None
                        self.transcript.confirm_sent(
                            update.message.id, update.server_id, update.time_stamp
                        )
                    else:
                        self.transcript.mark_failed(
                            update.message.id, update.time_stamp or iso_timestamp(_utcnow())
                        )
                    self.view = self.transcript.view()
        finally:
            if update.done is not None:
                update.done.set()  # don't keep the caller waiting

    def join(self, timeout: float) -> None:
        if self.thread is not threading.current_thread() and self.thread.is_alive():
            self.thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._running and self.thread.is_alive()

    # -- dispatcher thread only ----------------------------------------------------------

    def call_later(self, delay: float, fn: Callable[[], None]) -> None:
        """Run ``fn`` on this thread after ``delay`` seconds (dispatcher thread only)."""
        heapq.heappush(self._timers, (time.monotonic() + delay, next(self._timer_seq), fn))

    def schedule_receipts(self) -> None:
        """(Dispatcher thread) make sure a timer flushes the receipt window when it closes."""
        if self._receipts is None:
            return
        deadline = self._receipts.next_deadline()
        if deadline is None:
            return
        if self._receipt_timer_at is not None and self._receipt_timer_at <= deadline:
            return
        self._receipt_timer_at = deadline
        self.call_later(max(0.0, deadline - time.monotonic()), self._flush_receipts)

    def _flush_receipts(self) -> None:
        self._receipt_timer_at = None
        if self._receipts is None or self._send_receipt is None:
            return
        for batch in self._receipts.flush():
            try:
                self._send_receipt(batch)
            except ConnectChatError as exc:
                logger.warning("sending a %s receipt failed: %s", batch.receipt_type.name, exc)
                self._receipts.mark_failed(batch, exc)
            else:
                self._receipts.mark_sent(batch)
        self.schedule_receipts()

    def _run(self) -> None:
        try:
            while self._running:
                timeout = None
                if self._timers:
                    timeout = max(0.0, self._timers[0][0] - time.monotonic())
                try:
                    item = self.inbox.get(timeout=timeout)
                except queue.Empty:
                    item = None
                if item is not None:
                    try:
                        self._handle(item)
                    except Exception:
                        logger.exception("the dispatcher failed to handle %s", type(item).__name__)
                if self._timers:
                    self._run_due_timers()
        finally:
            self._running = False
            self._subscribers.end()
            if self._receipts is not None:
                self._receipts.cancel(SessionClosedError("the chat session ended"))

    def _run_due_timers(self) -> None:
        now = time.monotonic()
        while self._timers and self._timers[0][0] <= now:
            _, _, fn = heapq.heappop(self._timers)
            try:
                fn()
            except Exception:
                logger.exception("a dispatcher timer failed")

    def _fire(self, name: str, *args: object) -> None:
        callback = getattr(self._callbacks, name, None)
        if callback is None:
            return
        try:
            callback(*args)
        except Exception:
            logger.exception("the %s callback raised; delivery continues", name)

    def _publish_view(self) -> TranscriptData:
        self.view = self.transcript.view()
        return TranscriptData(
            transcript_list=self.view,
            previous_transcript_next_token=self.transcript.previous_transcript_next_token,
        )

    def _deliver(self, changes: list[Change], *, items: bool = True, force: bool = False) -> None:
        """After a merge: one ``on_message_received`` per change, then one transcript update."""
        if not changes and not force:
            return
        data = self._publish_view()
        if items:
            for change in changes:
                if not change.removed:
                    self._fire("on_message_received", change.item)
                    self._subscribers.publish(change.item)
        self._fire("on_transcript_updated", data)

    def _handle(self, item: object) -> None:
        if isinstance(item, Frame):  # a chat frame, decoded by the socket thread
            self._handle_chat(item)
        elif isinstance(item, RawFrame):
            if item.binary:
                self._bad_frame(item.reason or "a binary frame")
            else:
                self._handle_frame(item.text)
        elif isinstance(item, SocketEvent):
            self._handle_socket_event(item)
        elif isinstance(item, HistoryPage):
            self._handle_history(item)
        elif isinstance(item, LocalUpdate):
            try:
                self._handle_local(item)
            finally:
                if item.done is not None:
                    item.done.set()
        elif isinstance(item, Call):
            item.fn()
        elif item is _GAP:
            # Everything queued before the overflow is handled: live frames queue again
            # from here on (a repeat of what the catch-up brings is merged once), and the
            # catch-up walks back to the newest item held.
            self._gap_pending = False
            self._gap_fill()
        elif isinstance(item, EndSession):
            if item.chat_ended:
                self._end_chat()
            self._running = False

    def _bad_frame(self, reason: str) -> None:
        self.stats.bad_frames += 1
        self._warnings.warning("bad frame", "dropping a malformed frame: %s", reason)

    def _handle_frame(self, text: str) -> None:
        """A frame as text: checked, decoded, then handled as a chat frame."""
        if not text:
            self._bad_frame("an empty frame")
            return
        if len(text) > MAX_FRAME_CHARS:
            self._bad_frame(f"{len(text)} characters, over the {MAX_FRAME_CHARS} limit")
            return
        frame = parse_frame(text)
        if frame is None:
            self._bad_frame("not a JSON object")
            return
        if frame.topic != TOPIC_CHAT:
            self._bad_frame(f"unexpected topic {frame.topic[:40]!r}")
            return
        self._handle_chat(frame)

    def _handle_chat(self, frame: Frame) -> None:
        parsed = parse_chat_frame(frame)
        if parsed is None:
            self._bad_frame("its chat item could not be read")
            return
        self._handle_live(parsed)

    def _handle_live(self, parsed: ParsedItem) -> None:
        for receipt in parsed.receipts:
            # Every receipt is reported, the echo of the customer's own included (iOS);
            # ``receipt.participant_id`` says whose it is.
            name = (
                "on_read_receipt"
                if receipt.content_type == ContentType.MESSAGE_READ.value
                else "on_delivered_receipt"
            )
            self._fire(name, receipt)
        item = parsed.item
        if parsed.is_typing:
            assert isinstance(item, Event)
            self._typing_started(item)
            self._fire("on_typing", item)
            self._fire("on_message_received", item)
            self._subscribers.publish(item)
            return
        item = self._learn(item, live=True)
        if (
            self._typing_events  # somebody is typing (else there is nothing to end)
            and isinstance(item, (Message, Event))
            and (isinstance(item, Message) or item.content_type == ContentType.LEFT.value)
        ):
            self._typing_message(item)
        change = self.transcript.merge(item)
        if self._unheard and item.id in self._unheard and not isinstance(item, Metadata):
            # connect() subscribes, then loads the newest history page: an item sent in
            # between is in that page and on its way live. The page added it silently, so
            # this frame is its arrival for the program (once: the id leaves the set).
            self._unheard.discard(item.id)
            change = self.transcript.arrived_live(item.id)
        self._deliver([change] if change is not None else [])
        if change is not None and change.added:
            self._incoming(change.item)
        if isinstance(item, Event) and change is not None:
            callback = EVENT_CALLBACKS.get(item.content_type)
            if callback is not None:
                self._fire(callback, item)
        if item.content_type == _ENDED and isinstance(item, Event):
            self._end_chat()
            self._running = False

    # -- participants, typing indicators, incoming messages (dispatcher thread) ----------

    def _is_own(self, item: Message | Event) -> bool:
        if self._own_id is not None and item.participant_id:
            return item.participant_id == self._own_id
        return item.participant == "CUSTOMER"

    @staticmethod
    def _participant_key(item: Message | Event) -> str | None:
        if item.participant_id:
            return item.participant_id
        role, name = item.participant or "", item.display_name or ""
        return f"{role}:{name}" if role or name else None

    def _learn(self, item: TranscriptItem, *, live: bool) -> TranscriptItem:
        """Keep the participant registry current; give a live message its sender's name."""
        if not isinstance(item, (Message, Event)) or not item.participant_id:
            return item
        pid = item.participant_id
        known = self._participants.get(pid)
        is_event = isinstance(item, Event)
        if (
            known is not None
            and not is_event
            and (item.participant or known.role) == known.role
            and (known.display_name is not None or not item.display_name)
        ):
            # The usual case, a message from a participant already known: nothing to learn.
            if live and not item.display_name and known.display_name:
                return attrs.evolve(item, display_name=known.display_name)
            return item
        naming = is_event and item.content_type in _NAMING_EVENTS
        stamp = time_key(item.time_stamp) if naming else 0.0  # only naming events use it
        name = known.display_name if known is not None else None
        if item.display_name and (
            name is None or (naming and stamp >= self._name_times.get(pid, float("-inf")))
        ):
            name = item.display_name
            if naming:
                self._name_times[pid] = stamp
                if self._is_own(item):
                    self.transcript.customer_display_name = name
        present = known.present if known is not None else True
        if is_event and item.content_type == ContentType.JOINED.value:
            present = True
        elif is_event and item.content_type == ContentType.LEFT.value:
            present = False
        updated = Participant(
            participant_id=pid,
            role=item.participant or (known.role if known is not None else None),
            display_name=name,
            present=present,
        )
        if updated != known:
            self._participants[pid] = updated
            self.participants_view = dict(self._participants)
        if live and isinstance(item, Message) and not item.display_name and name:
            return attrs.evolve(item, display_name=name)
        return item

    def _incoming(self, item: TranscriptItem) -> None:
        """A new message entered the transcript (live or gap fill)."""
        if not isinstance(item, Message) or item.participant == "CUSTOMER":
            return
        self.stats.messages_received += 1
        if self._on_incoming_message is not None:
            try:
                self._on_incoming_message(item)
            except Exception:
                logger.exception("handling an incoming message failed")

    def _publish_typing(self) -> None:
        self.typing_view = tuple(self._typing_events.values())

    def _typing_started(self, event: Event) -> None:
        key = self._participant_key(event)
        if key is None or self._is_own(event):
            return  # the echo of this customer's own typing is not an indicator
        self._typing.on_typing(key)
        self._typing_events[key] = event
        self._publish_typing()
        self.call_later(self._typing.expiry, self._expire_typing)

    def _expire_typing(self) -> None:
        for key in self._typing.expired():
            self._typing_stopped(key)

    def _typing_message(self, item: Message | Event) -> None:
        """That participant's message (or departure) ends its typing indicator."""
        key = self._participant_key(item)
        if key is not None and key in self._typing_events:
            self._typing.on_message(key)
            self._typing_stopped(key)

    def _typing_stopped(self, key: str) -> None:
        event = self._typing_events.pop(key, None)
        if event is None:
            return
        self._publish_typing()
        self._fire("on_typing_stopped", event)

    def _handle_socket_event(self, event: SocketEvent) -> None:
        if event is SocketEvent.ESTABLISHED:
            self._broken = False
            self._on_active()
            self._fire("on_connection_established")
        elif event is SocketEvent.BROKEN:
            if not self._broken:
                self._broken = True
                self._fire("on_connection_broken")
        elif event is SocketEvent.REESTABLISHED:
            self._broken = False
            self.stats.reconnects += 1
            self._fire("on_connection_reestablished")
            self._gap_fill()
        elif event is SocketEvent.DEEP_HEARTBEAT_FAILURE:
            self._fire("on_deep_heartbeat_failure")
        elif event is SocketEvent.GAP:
            self._gap_fill()
        elif event is SocketEvent.ACCESS_DENIED:
            ended = synthesized_chat_ended(iso_timestamp(_utcnow()))
            change = self.transcript.merge(ended)
            self._deliver([change] if change is not None else [])
            self._end_chat()
            self._running = False

    def _end_chat(self) -> None:
        if self._chat_ended_fired:
            return
        self._chat_ended_fired = True
        for key in list(self._typing_events):  # no participant.left may come first
            self._typing_stopped(key)
        self._typing.clear()
        self._typing_events.clear()
        self._publish_typing()
        self._on_ended()
        self._fire("on_chat_ended")
        self._subscribers.end()

    def _handle_history(self, history: HistoryPage) -> None:
        if history.page.skipped:
            self.stats.bad_history_items += history.page.skipped
            logger.warning("%d unreadable transcript items left out", history.page.skipped)
        try:
            token_before = self.transcript.previous_transcript_next_token
            changes = self.transcript.merge_page(
                [self._learn(p.item, live=False) for p in history.page.items],
                scan_direction=history.scan_direction,
                next_token=history.page.next_token,
                start_position_given=history.start_position_given,
                requested_token=history.requested_token,
            )
            token_moved = self.transcript.previous_transcript_next_token != token_before
            if (
                history.scan_direction == ScanDirection.BACKWARD.value
                and not history.start_position_given
                and history.requested_token is None
            ):
                # The newest page: what it adds may still come as live frames.
                self._unheard.update(c.item.id for c in changes if c.added)
            self._deliver(changes, items=False, force=token_moved)
        finally:
            if history.done is not None:
                history.done.set()

    def _handle_local(self, update: LocalUpdate) -> None:
        change: Change | None
        if update.kind == "placeholder":
            change = self.transcript.add_placeholder(update.message)
        elif update.kind == "attachment_started":
            assert update.server_id is not None
            self.transcript.attachment_started(update.message.id, update.server_id)
            return
        elif update.kind == "sent":
            assert update.server_id is not None
            change = self.transcript.confirm_sent(
                update.message.id, update.server_id, update.time_stamp
            )
        elif update.kind == "resending":
            change = self.transcript.mark_sending(update.message.id)
        else:
            change = self.transcript.mark_failed(
                update.message.id, update.time_stamp or iso_timestamp(_utcnow())
            )
        self._deliver([change] if change is not None else [])

    def _gap_fill(self) -> None:
        """After a reconnect or an overflow: fetch what was missed (``gapfill.catch_up``)."""
        self.stats.gap_fills += 1
        try:
            result = catch_up(
                self._fetch_older_items,
                _parsed_id,
                self._holds,
                self._gap_fill_max_pages,
            )
        except (ChatEndedError, SessionClosedError):
            return
        except ConnectChatError as exc:
            logger.warning("catching up on missed chat items failed: %s", exc)
            return
        if not result.complete:
            self.stats.gap_fills_truncated += 1
            logger.warning(
                "the catch-up stopped after %d pages (gap_fill_max_pages): older missed "
                "items were not delivered; get_transcript() still reaches them",
                result.pages,
            )
        self._merge_missed(result.items, result.next_token)

    def _holds(self, parsed: ParsedItem) -> bool:
        return parsed.item.id in self.transcript

    def _fetch_older_items(
        self, next_token: str | None
    ) -> tuple[tuple[ParsedItem, ...], str | None]:
        page = self._fetch_older(next_token)
        self.stats.bad_history_items += page.skipped
        return page.items, page.next_token

    def _merge_missed(self, missed: list[ParsedItem], next_token: str | None) -> None:
        """Merge caught-up items, oldest first, and announce each new one like a live item."""
        stored = [p for p in missed if not p.is_typing]  # an indicator from the past is stale
        changes = self.transcript.merge_page(
            [self._learn(p.item, live=False) for p in stored],
            scan_direction=ScanDirection.BACKWARD.value,
            next_token=next_token,
        )
        new = [c for c in changes if c.added]
        data = self._publish_view() if changes else None
        for change in new:
            self._incoming(change.item)
        ended = False
        for change in new:
            item = change.item
            self._fire("on_message_received", item)
            self._subscribers.publish(item)
            if isinstance(item, Event):
                callback = EVENT_CALLBACKS.get(item.content_type)
                if callback is not None:
                    self._fire(callback, item)
                ended = ended or item.content_type == _ENDED
        if data is not None:
            self._fire("on_transcript_updated", data)
        if ended:
            self._end_chat()
            self._running = False


def _utcnow() -> Any:
    import datetime

    return datetime.datetime.now(datetime.timezone.utc)


def _parsed_id(parsed: ParsedItem) -> str:
    return parsed.item.id
