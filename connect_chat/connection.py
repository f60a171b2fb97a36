"""One ``connect()``: the per-connection wiring of the socket and dispatcher threads.

A :class:`Connection` builds, for one chat connection, the token owner
(:class:`~connect_chat.credentials.Credentials`), the transcript, the inbox, the receipt
throttle, the sender, the dispatcher thread and the socket thread, and joins them: every
REST call of the connection asks the one ``Credentials`` for its token. The session
(the facade) makes one per ``connect()`` and passes in what it shares across connections
(its callbacks, pull-API streams, counters and ``ConnectionDetailsProvider`` updates).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from typing import TypeVar

import attrs

from connect_chat.callbacks import SessionCallbacks
from connect_chat.client import AWSClient
from connect_chat.config import GlobalConfig
from connect_chat.credentials import Credentials
from connect_chat.deadlines import bounded
from connect_chat.dispatcher import Dispatcher
from connect_chat.enums import MessageReceiptType, ScanDirection, SortKey
from connect_chat.errors import (
    AccessDeniedError,
    ChatEndedError,
    ConnectChatError,
    ConnectionTimeoutError,
    InvalidInputError,
    SessionClosedError,
)
from connect_chat.inbox import (
    Call,
    EndSession,
    HistoryPage,
    Inbox,
    LocalUpdate,
    Outcome,
    SocketEvent,
)
from connect_chat.models import (
    ChatDetails,
    ConnectionDetails,
    Message,
    StartPosition,
    TranscriptItem,
    TranscriptResponse,
)
from connect_chat.outbox import Retrier, Sender
from connect_chat.parsing import TranscriptPage, parse_transcript_page
from connect_chat.receipts import ReceiptBatch, ReceiptThrottle, ReceiptTicket
from connect_chat.stats import SessionStats
from connect_chat.streams import Subscribers
from connect_chat.transcript import Transcript
from connect_chat.websocket import SocketWorker, first_open_timeout

logger = logging.getLogger(__name__)

T = TypeVar("T")


def client_for(config: GlobalConfig) -> AWSClient:
    """The client ``config`` asks for: its ``custom_aws_client`` (an instance, or a subclass
    to build), else an ``AWSClient`` for its region and endpoint."""
    custom = config.custom_aws_client
    if isinstance(custom, AWSClient):
        return custom
    cls = custom if custom is not None else AWSClient
    if not (isinstance(cls, type) and issubclass(cls, AWSClient)):
        raise InvalidInputError("custom_aws_client must be an AWSClient subclass or instance")
    return cls(
        config.region, config.endpoint_url, config.botocore_config,
        disable_csm=config.disable_csm,
    )



@attrs.define(eq=False)
class ConnectAttempt:
    """A ``connect()`` in progress: a stop that comes before its connection exists is kept
    here (``stop``: "disconnect" or "reset"), and ``connect()`` obeys it."""

    thread: threading.Thread = attrs.field(factory=threading.current_thread)
    stop: str | None = None
    conn: Connection | None = None
    #: Whether the participant left (DisconnectParticipant confirmed) after such a stop.
    left: bool = False
    done: threading.Event = attrs.field(factory=threading.Event)


@attrs.define(eq=False)
class SessionResources:
    """What a session holds that runs or stays open: its connection and AWS client."""

    conn: Connection | None = None
    client: AWSClient | None = None


def release_resources(res: SessionResources) -> None:
    """The finalizer of a session dropped while connected: stop its threads, close sockets
    (no join: it may run on any thread; nothing is sent to the service)."""
    conn, client = res.conn, res.client
    if conn is not None and not conn.ended and not conn.closing:
        logger.debug("a ChatSession was dropped without disconnect() or reset(): resetting it")
        conn.closing = True
        conn.finish(chat_ended=False)
    if client is not None:  # keep-alive sockets (closing a closed client is a no-op)
        client.cancel_calls()
        client.close()


def weak_call(method: Callable[[], object]) -> Callable[[], None]:
    """``method()`` while its object lives, without keeping it alive (the threads hold it)."""
    ref = weakref.WeakMethod(method)

    def call() -> None:
        bound = ref()
        if bound is not None:
            bound()

    return call


class Connection:
    """One ``connect()``: its credentials, transcript, sender, socket and dispatcher threads.

    ``on_active(active)`` is told when the chat becomes active or ends (the session's
    ``ConnectionDetailsProvider``, which asks :attr:`credentials` for the details).
    """

    def __init__(
        self,
        *,
        chat_details: ChatDetails,
        details: ConnectionDetails,
        config: GlobalConfig,
        client: AWSClient,
        callbacks: SessionCallbacks,
        subscribers: Subscribers,
        stats: SessionStats,
        on_active: Callable[[bool], None],
        on_fatal: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self.client = client
        self.chat_details = chat_details
        self.stats = stats
        self.ended = False
        self.closing = False
        self._on_active = on_active
        self.transcript = Transcript()
        #: Set when the session closes: ends any send's wait at once.
        self.stopped = threading.Event()
        self.credentials = Credentials(
            client, chat_details.participant_token, details
        )
        self.retrier = Retrier(
            token=self.credentials.token,
            refresh=self.credentials.refresh,
            stopped=self.stopped,
            ended=lambda: self.ended,
            base=config.send_retry_base,
            cap=config.send_retry_cap,
            on_retry=lambda: stats.incr("retries"),
        )
        label = chat_details.contact_id or "unknown"
        settings = config.features.message_receipts
        self.receipts = ReceiptThrottle(
            settings.throttle_time,
            enabled=settings.should_send_message_receipts,
            delivered_delay=config.delivered_receipt_delay,
            on_schedule=self._schedule_receipts,
        )
        self.dispatcher = Dispatcher(
            name=f"connect-chat-dispatch-{label}",
            inbox=Inbox(maxsize=config.inbox_size),
            transcript=self.transcript,
            callbacks=callbacks,
            subscribers=subscribers,
            fetch_older=self._fetch_older,
            gap_fill_max_pages=config.gap_fill_max_pages,
            on_active=lambda: on_active(True),
            on_ended=self._on_ended,
            receipts=self.receipts,
            send_receipt=self._send_receipt,
            stats=stats,
            own_participant_id=chat_details.participant_id,
            typing_expiry=config.typing_expiry,
            on_incoming_message=self._auto_delivered_receipt,
            on_fatal=on_fatal,
            max_items=config.transcript_max_items,
        )
        self.sender = Sender(
            client=client,
            retrier=self.retrier,
            apply=self.apply,
            show=self.dispatcher.post,
            display_name=lambda: self.transcript.customer_display_name,
            count=stats.incr,
            chat_over=self.chat_over,
            send_timeout=config.send_timeout,
        )
        self.socket = SocketWorker(
            name=f"connect-chat-ws-{label}",
            config=config,
            initial=details,
            connector=self.credentials.renew,
            post=self.dispatcher.post,
        )

    # -- REST with the one token owner -------------------------------------------------------

    def call(self, fn: Callable[[str], T]) -> T:
        """``fn(token)``, retried once with a fresh token if refused; a refused participant
        token ends the session (``ChatEndedError`` is raised)."""
        try:
            return self.credentials.call(fn)
        except ChatEndedError:
            self.chat_over()
            raise

    def chat_over(self) -> None:
        """The participant token was refused: end the session like a chat.ended frame."""
        self.dispatcher.post(SocketEvent.ACCESS_DENIED)

    def apply(self, update: LocalUpdate) -> TranscriptItem | None:
        """Hand a local change to the dispatcher; off its thread, wait until it shows and
        return the transcript's row for it (None on the dispatcher thread itself)."""
        outcome = Outcome()
        if self._post_and_wait(attrs.evolve(update, outcome=outcome), outcome.done,
                           self.config.join_timeout):
            return outcome.item
        return None

    def merge_history(self, history: HistoryPage, timeout: float) -> None:
        """Merge a GetTranscript page (no live callbacks); off the dispatcher thread, wait
        (at most ``timeout``) until the transcript shows it."""
        done = threading.Event()
        self._post_and_wait(attrs.evolve(history, done=done), done, timeout)

    def _post_and_wait(self, item: object, done: threading.Event, timeout: float) -> bool:
        """Post ``item`` to the dispatcher; off its thread, wait (at most ``timeout``) for
        ``done``. False on the dispatcher thread itself: it handles the item after this."""
        self.dispatcher.post(item)
        if threading.current_thread() is self.dispatcher.thread:
            return False
        done.wait(timeout)
        return True

    def fetch_history(
        self,
        scan: str,
        order: str,
        max_results: int,
        next_token: str | None,
        position: StartPosition | None,
    ) -> TranscriptResponse:
        """``get_transcript()``: one page, merged into the transcript (no live callbacks)."""
        page = parse_transcript_page(self.call(lambda token: self.client.get_transcript(
            token,
            scan_direction=scan,
            sort_order=order,
            max_results=max_results,
            next_token=next_token,
            start_position=position,
        )))
        self.merge_history(HistoryPage(
            page=page,
            scan_direction=scan,
            start_position_given=bool(position and position.to_request()),
            requested_token=next_token or None,
        ), self.config.connect_timeout)
        return TranscriptResponse(
            initial_contact_id=page.initial_contact_id,
            next_token=page.next_token or "",
            transcript=tuple(p.item for p in page.items),
        )

    def _fetch_older(self, next_token: str | None) -> TranscriptPage:
        """One gap-fill page: BACKWARD from the newest item, or from ``next_token``."""
        return parse_transcript_page(self.call(lambda token: self.client.get_transcript(
            token,
            scan_direction=ScanDirection.BACKWARD.value,
            sort_order=SortKey.ASCENDING.value,
            max_results=self.config.gap_fill_page_size,
            next_token=next_token,
        )))

    def load_first_page(self, timeout: float) -> None:
        """connect(): the newest transcript page, merged before ``connect()`` returns."""
        try:
            response = self.call(lambda token: self.client.get_transcript(
                token,
                scan_direction=ScanDirection.BACKWARD.value,
                sort_order=SortKey.ASCENDING.value,
                max_results=self.config.transcript_page_size,
            ))
        except ConnectChatError as exc:
            logger.warning("loading the transcript on connect failed: %s", exc)
            return
        self.merge_history(HistoryPage(
            page=parse_transcript_page(response),
            scan_direction=ScanDirection.BACKWARD.value,
            start_position_given=False,
        ), timeout)

    def leave(self) -> bool:
        """DisconnectParticipant with a deadline (on a short-lived helper thread)."""
        outcome: dict[str, BaseException | None] = {}
        def call() -> None:
            try:
                with bounded(time.monotonic() + budget):  # no helper thread outlives it
                    self.credentials.call(self.client.disconnect_participant_connection)
                outcome["error"] = None
            except (AccessDeniedError, ChatEndedError):
                logger.info("DisconnectParticipant: the chat had already ended")
                outcome["error"] = None
            except Exception as exc:  # a custom client may raise anything
                outcome["error"] = exc

        budget = self.config.join_timeout / 2
        label = self.chat_details.contact_id or "unknown"
        helper = threading.Thread(target=call, name=f"connect-chat-leave-{label}", daemon=True)
        helper.start()
        helper.join(budget)
        if helper.is_alive():
            logger.warning(
                "DisconnectParticipant did not answer within %.1f s; "
                "the session ends locally", budget,
            )
            return False
        error = outcome.get("error")
        if error is not None:
            logger.warning(
                "DisconnectParticipant failed (%s); the session ends locally",
                type(error).__name__ if not isinstance(error, ConnectChatError) else error,
            )
            return False
        return True

    def open(self, deadline: float) -> None:
        """connect(): the threads, the subscribed WebSocket, the first transcript page, by
        ``deadline``; ``SessionClosedError`` if a stop came meanwhile."""
        # A failed first open is retried (fresh URL, backoff) as long as connect() waits.
        self.socket.first_deadline = deadline
        self.start()
        ready = self.socket.ready.wait(max(0.0, deadline - time.monotonic()))
        if ready and self.closing:
            raise SessionClosedError("disconnect() or reset() ended connect()")
        if not ready or self.socket.first_error is not None:
            error = self.socket.first_error
            last = self.socket.last_error
            if error is None:
                raise ConnectionTimeoutError(first_open_timeout(last)) from last
            if isinstance(error, ConnectChatError):
                raise error
            raise ConnectionTimeoutError("the chat WebSocket could not be opened") from error
        with bounded(deadline):
            self.load_first_page(max(0.0, deadline - time.monotonic()))
        if self.closing:
            raise SessionClosedError("disconnect() or reset() ended connect()")

    # -- receipts (dispatcher thread) ---------------------------------------------------------

    def request_receipt(
        self, kind: MessageReceiptType, message: TranscriptItem | str
    ) -> ReceiptTicket:
        """``send_message_receipt``: a receipt request for the throttle (none is sent for
        the customer's own messages)."""
        if isinstance(message, TranscriptItem):
            item: TranscriptItem | None = message
            message_id = message.id
        else:
            message_id = message
            item = self.transcript.get(message_id)
        own = message_id in self.sender.sent_ids or (
            isinstance(item, Message) and item.participant == "CUSTOMER"
        )
        return self.receipts.request(
            kind,
            message_id,
            timestamp=item.time_stamp if item is not None else None,
            own_message=own,
        )

    def _schedule_receipts(self) -> None:
        self.dispatcher.post(Call(self.dispatcher.schedule_receipts))

    def _auto_delivered_receipt(self, message: Message) -> None:
        """A new AGENT message -> a throttled Delivered receipt (Android).

        Only with ``should_send_message_receipts``; it goes through the same window as the
        program's own requests, so a Read asked for meanwhile covers it.
        """
        if not self.config.features.message_receipts.should_send_message_receipts:
            return
        if message.participant != "AGENT" or message.id in self.sender.sent_ids:
            return
        self.receipts.request_automatic(
            MessageReceiptType.MESSAGE_DELIVERED, message.id, message.time_stamp
        )

    def _send_receipt(self, batch: ReceiptBatch) -> None:
        """One throttled receipt SendEvent."""
        self.call(lambda token: self.client.send_event(
            token, batch.content_type, batch.content, client_token=batch.client_token
        ))

    # -- lifecycle ----------------------------------------------------------------------------

    def _on_ended(self) -> None:
        """Dispatcher thread: the chat is over (frame, disconnect, or access denied)."""
        self.ended = True
        self._on_active(False)
        self.socket.stop()

    @property
    def threads_alive(self) -> bool:
        return self.socket.thread.is_alive() or self.dispatcher.thread.is_alive()

    def start(self) -> None:
        self.stats.track_receipts(self.receipts)  # until the dispatcher ends (it releases)
        self.dispatcher.start()
        self.socket.start()

    def finish(self, *, chat_ended: bool) -> None:
        """Stop both threads (``chat_ended``: fire ``on_chat_ended`` first if not yet)."""
        self.stopped.set()
        self.credentials.close()  # a call still waiting for a token fails at once
        self.socket.stop()
        if self.dispatcher.alive:
            self.dispatcher.post(EndSession(chat_ended=chat_ended))

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        self.socket.join(max(0.0, deadline - time.monotonic()))
        self.dispatcher.join(max(0.0, deadline - time.monotonic()))
        here = threading.current_thread()
        if self.threads_alive and here not in (self.socket.thread, self.dispatcher.thread):
            logger.warning("the session's threads did not stop within %.1f s", timeout)

