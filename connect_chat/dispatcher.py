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

State of a :class:`Dispatcher`, owned by / read by:

=========================  ======================  ==========================================
state                      written by              read by
=========================  ======================  ==========================================
``transcript``             dispatcher thread       dispatcher (others read ``view``)
``view``                   dispatcher (replaced)   any thread (``session.transcript``)
``_typing.view``           dispatcher (replaced)   any thread (``typing_participants()``)
``participants.view``      dispatcher (replaced)   any thread (``participants()``)
timers, typing, receipts   dispatcher thread       dispatcher thread
``_gap_pending``           socket thread (set),    socket thread (``post``)
                           dispatcher (cleared)
``_running``               dispatcher thread       any thread (``post``, ``alive``)
``stats``                  any thread (``incr``)   any thread
=========================  ======================  ==========================================
"""

from __future__ import annotations

import heapq
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from connect_chat.callbacks import EVENT_CALLBACKS, Announcements
from connect_chat.enums import ContentType, ScanDirection
from connect_chat.errors import ChatEndedError, ConnectChatError, SessionClosedError
from connect_chat.gapfill import DEFAULT_MAX_PAGES, catch_up
from connect_chat.inbox import (
    GAP,
    Call,
    EndSession,
    HistoryPage,
    InboxLike,
    LocalKind,
    LocalUpdate,
    RawFrame,
    SocketEvent,
)
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
    ParsedItem,
    TranscriptPage,
    parse_chat_frame,
    synthesized_chat_ended,
)
from connect_chat.participants import Participants
from connect_chat.protocol import Frame, FrameKind, classify_frame, refusal_reason
from connect_chat.receipts import ReceiptBatch, ReceiptThrottle
from connect_chat.stats import SessionStats
from connect_chat.streams import Subscribers
from connect_chat.timestamps import now_timestamp
from connect_chat.transcript import Change, Transcript
from connect_chat.transcript_view import TranscriptView
from connect_chat.typing_indicators import TypingBoard

logger = logging.getLogger(__name__)

#: How long a send finishing after the end waits for the dispatcher thread to stop.
STOP_SETTLE_TIMEOUT = 2.0

_ENDED = ContentType.ENDED.value


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
        on_fatal: Callable[[], None] | None = None,
        max_items: int | None = None,
    ) -> None:
        self.inbox = inbox
        self.stats = stats if stats is not None else SessionStats()
        #: Bad frames are all counted, but a flood of them writes a bounded number of lines.
        self._warnings = RepeatedWarnings(logger)
        #: Who is in the chat (the customer's own typing echoes are not indicators).
        self.participants = Participants(own_participant_id, self._own_name)
        self._typing = TypingBoard(typing_expiry, lambda e: self._fire("on_typing_stopped", e))
        self._announcements = Announcements()
        #: ``GlobalConfig.transcript_max_items``: the transcript keeps the newest this many.
        self._max_items = max_items
        #: Ids the newest history page added before their live frame came (see _handle_live).
        self._unheard: set[str] = set()
        self._on_incoming_message = on_incoming_message
        #: Ends the session when a callback raised SystemExit or KeyboardInterrupt.
        self._on_fatal = on_fatal
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

    def post(self, item: object) -> None:
        """Queue an item without ever blocking (see :class:`Inbox` for the overflow policy)."""
        if not self._running:
            self._answer_after_stop(item)
            return
        if not isinstance(item, (Frame, RawFrame)):  # not a live frame
            self.inbox.put(item)  # never refused, never blocking (see Inbox)
            if not self._running:  # the thread stopped after the check above: see drain
                self._drain_after_stop()
            return
        if self._gap_pending:  # a catch-up will fetch it (see inbox.GapMarker)
            self.stats.incr("inbox_overflows")
            return
        try:
            self.inbox.put_nowait(item)
            self._overflow_warned = False
        except queue.Full:
            self.stats.incr("inbox_overflows")
            self._gap_pending = True
            self.inbox.put(GAP)
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
            if update.kind in (LocalKind.SENT, LocalKind.FAILED):
                self.join(STOP_SETTLE_TIMEOUT)
                if not self.thread.is_alive() or self.thread is threading.current_thread():
                    self._apply_local(update)
                    self.view = self.transcript.view()
        finally:
            self._settled(update)

    def _drain_after_stop(self) -> None:
        """Answer what was queued but never handled once the thread stopped: a send's
        outcome still shows (and its caller stops waiting), a history page's waiter wakes.

        Why: ``post`` checks ``_running`` before it queues, so an item could land just as
        the thread left its loop; its caller then waited its whole timeout (a send ended by
        ``reset()`` held its caller ``join_timeout`` instead of returning at once). Both
        sides drain after their own write (the thread after it stops, ``post`` after it
        queues), so whichever comes last finds the item; each item is taken once.
        """
        while True:
            try:
                item = self.inbox.get(block=False)
            except queue.Empty:
                return
            self._answer_after_stop(item)

    def _answer_after_stop(self, item: object) -> None:
        """An item the stopped thread will never handle: a send's outcome still shows (and
        its caller stops waiting), a history page's waiter wakes; anything else is dropped."""
        if isinstance(item, LocalUpdate):
            self._settle_after_stop(item)
        elif isinstance(item, HistoryPage) and item.done is not None:
            item.done.set()

    def _settled(self, update: LocalUpdate) -> None:
        """Tell the caller waiting on ``update`` (if any) the transcript's row for it."""
        outcome = update.outcome
        if outcome is not None:
            row_id = update.server_id if update.kind is LocalKind.SENT else update.message.id
            outcome.item = self.transcript.get(row_id or update.message.id)
            outcome.done.set()

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
                try:
                    if item is not None:
                        try:
                            self._handle(item)
                        except Exception:
                            logger.exception(
                                "the dispatcher failed to handle %s", type(item).__name__
                            )
                    if self._timers:
                        self._run_due_timers()
                except BaseException as exc:  # SystemExit, KeyboardInterrupt from a callback
                    self._fatal(exc)
                    return
        finally:
            self._running = False
            self._drain_after_stop()
            self._subscribers.end()
            if self._receipts is not None:
                self._receipts.cancel(SessionClosedError("the chat session ended"))
                self.stats.release_receipts(self._receipts)  # a reused session keeps no throttle

    def _fatal(self, exc: BaseException) -> None:
        """A callback raised ``SystemExit``/``KeyboardInterrupt`` (or another non-Exception):
        the session ends like ``disconnect()`` -- the participant leaves, ``on_chat_ended``
        fires, ``wait_for``/``messages()`` end -- and the error is logged. Never a dispatcher
        that died while the session still looks active."""
        logger.error(
            "a callback raised %s: the session ends (as with disconnect())",
            type(exc).__name__, exc_info=exc,
        )
        if self._on_fatal is not None:
            try:
                self._on_fatal()
            except Exception:
                logger.exception("ending the session after %s failed", type(exc).__name__)
        try:
            self._end_chat()
        except BaseException:
            logger.exception("on_chat_ended raised after %s", type(exc).__name__)
        self._running = False

    def _run_due_timers(self) -> None:
        now = time.monotonic()
        while self._timers and self._timers[0][0] <= now:
            _, _, fn = heapq.heappop(self._timers)
            try:
                fn()
            except Exception:
                logger.exception("a dispatcher timer failed")

    def _fire(self, name: str, *args: object) -> None:
        try:
            callback = getattr(self._callbacks, name, None)
        except ReferenceError:  # the session was dropped (a weak proxy): nobody listens
            return
        if callback is None:
            return
        try:
            callback(*args)
        except Exception:
            logger.exception("the %s callback raised; delivery continues", name)

    def _publish_view(self) -> TranscriptData:
        if self._max_items is not None and len(self.transcript) > self._max_items:
            self._announcements.forget(self.transcript.trim(self._max_items))
        self.view = self.transcript.view()
        return TranscriptData(
            transcript_list=self.view,
            previous_transcript_next_token=self.transcript.previous_transcript_next_token,
        )

    def _deliver(self, changes: list[Change], *, items: bool = True, force: bool = False) -> None:
        """After a merge: each change announced (:meth:`_announce`; a history page's
        silently), then one ``on_transcript_updated``."""
        if not changes and not force:
            return
        data = self._publish_view()
        for change in changes:
            self._announce(change, silent=not items)
        self._fire("on_transcript_updated", data)

    def _announce(self, change: Change, *, silent: bool = False) -> bool:
        """Fire ``on_message_received`` or ``on_message_updated`` for ``change`` as
        :class:`~connect_chat.callbacks.Announcements` decides; True for a new item."""
        which = self._announcements.which(change, silent=silent)
        if which == "on_message_received":
            self._fire(which, change.item)
            self._subscribers.publish(change.item)
            return True
        if which is not None:
            self._fire(which, change.item)
        return False

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
                change = self._apply_local(item)
                self._deliver([change] if change is not None else [])
            finally:
                self._settled(item)
        elif isinstance(item, Call):
            item.fn()
        elif item is GAP:
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
        self.stats.incr("bad_frames")
        self._warnings.warning("bad frame", "dropping a malformed frame: %s", reason)

    def _handle_frame(self, text: str) -> None:
        """A frame as text: classified, then handled as a chat frame (anything else refused)."""
        frame = classify_frame(text)
        if frame.kind is not FrameKind.CHAT:
            self._bad_frame(refusal_reason(frame, text))
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
            key = Participants.key(item)
            if key is not None and not self.participants.is_own(item):  # not its own echo
                self._typing.started(key, item)
                self.call_later(self._typing.expiry, self._typing.expire)
            self._fire("on_typing", item)
            self._fire("on_message_received", item)
            self._subscribers.publish(item)
            return
        item = self._learn(item, live=True)
        if (
            self._typing  # somebody is typing (else there is nothing to end)
            and isinstance(item, (Message, Event))
            and (isinstance(item, Message) or item.content_type == ContentType.LEFT.value)
        ):
            self._typing.message(Participants.key(item))
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

    @property
    def typing_view(self) -> tuple[Event, ...]:
        """The typing events of the participants typing now (any thread; a snapshot)."""
        return self._typing.view

    @property
    def participants_view(self) -> dict[str, Participant]:
        """Known participants by id (any thread; a snapshot replaced at each change)."""
        return self.participants.view

    def _own_name(self, name: str) -> None:
        self.transcript.customer_display_name = name

    def _learn(self, item: TranscriptItem, *, live: bool) -> TranscriptItem:
        return self.participants.learn(item, live=live)

    def _incoming(self, item: TranscriptItem) -> None:
        """A new message entered the transcript (live or gap fill)."""
        if not isinstance(item, Message) or item.participant == "CUSTOMER":
            return
        self.stats.incr("messages_received")
        if self._on_incoming_message is not None:
            try:
                self._on_incoming_message(item)
            except Exception:
                logger.exception("handling an incoming message failed")

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
            self.stats.incr("reconnects")
            self._fire("on_connection_reestablished")
            self._gap_fill()
        elif event is SocketEvent.DEEP_HEARTBEAT_FAILURE:
            self._fire("on_deep_heartbeat_failure")
        elif event is SocketEvent.GAP:
            self._gap_fill()
        elif event is SocketEvent.ACCESS_DENIED:
            ended = synthesized_chat_ended(now_timestamp())
            change = self.transcript.merge(ended)
            self._deliver([change] if change is not None else [])
            self._end_chat()
            self._running = False

    def _end_chat(self) -> None:
        if self._chat_ended_fired:
            return
        self._chat_ended_fired = True
        self._typing.end_all()
        self._on_ended()
        self._fire("on_chat_ended")
        self._subscribers.end()

    def _handle_history(self, history: HistoryPage) -> None:
        if history.page.skipped:
            self.stats.incr("bad_history_items", history.page.skipped)
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

    def _apply_local(self, update: LocalUpdate) -> Change | None:
        """Apply a change this program made to its own message to the transcript."""
        kind, message_id = update.kind, update.message.id
        if kind is LocalKind.PLACEHOLDER:
            return self.transcript.add_placeholder(update.message)
        if kind is LocalKind.ATTACHMENT_STARTED:
            assert update.server_id is not None
            self.transcript.attachment_started(message_id, update.server_id)
            return None
        if kind is LocalKind.SENT:
            assert update.server_id is not None
            return self.transcript.confirm_sent(message_id, update.server_id, update.time_stamp)
        if kind is LocalKind.RESENDING:
            return self.transcript.mark_sending(message_id)
        return self.transcript.mark_failed(
            message_id, update.time_stamp or now_timestamp()
        )

    def _gap_fill(self) -> None:
        """After a reconnect or an overflow: fetch what was missed (``gapfill.catch_up``)."""
        self.stats.incr("gap_fills")
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
            self.stats.incr("gap_fills_truncated")
            logger.warning(
                "the catch-up stopped after %d pages (gap_fill_max_pages): older missed "
                "items were not delivered; get_transcript() still reaches them",
                result.pages,
            )
        self._merge_missed(result.items, result.next_token)

    def _holds(self, parsed: ParsedItem) -> bool:
        return self.transcript.seen(parsed.item)

    def _fetch_older_items(
        self, next_token: str | None
    ) -> tuple[tuple[ParsedItem, ...], str | None]:
        page = self._fetch_older(next_token)
        self.stats.incr("bad_history_items", page.skipped)
        return page.items, page.next_token

    def _merge_missed(self, missed: list[ParsedItem], next_token: str | None) -> None:
        """Merge caught-up items, oldest first, and announce each new one like a live item."""
        stored = [p for p in missed if not p.is_typing]  # an indicator from the past is stale
        changes = self.transcript.merge_page(
            [self._learn(p.item, live=False) for p in stored],
            scan_direction=ScanDirection.BACKWARD.value,
            next_token=next_token,
        )
        data = self._publish_view() if changes else None
        for change in changes:
            if change.added:
                self._incoming(change.item)
        ended = False
        for change in changes:
            item = change.item
            if self._announce(change) and isinstance(item, Event):
                callback = EVENT_CALLBACKS.get(item.content_type)
                if callback is not None:
                    self._fire(callback, item)
                ended = ended or item.content_type == _ENDED
        if data is not None:
            self._fire("on_transcript_updated", data)
        if ended:
            self._end_chat()
            self._running = False


def _parsed_id(parsed: ParsedItem) -> str:
    return parsed.item.id
