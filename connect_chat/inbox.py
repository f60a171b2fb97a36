"""What the socket thread and caller threads hand to the dispatcher thread.

Everything the dispatcher consumes goes through one :class:`Inbox`: live frames
(:class:`RawFrame`, or the :class:`~connect_chat.protocol.Frame` the socket thread already
decoded), :class:`SocketEvent` connection events, :class:`HistoryPage` pages fetched by a
caller, :class:`LocalUpdate` changes made by this program's sends, :class:`Call` (run a
function on the dispatcher thread) and :class:`EndSession`. Keeping this vocabulary apart
from both threads lets each thread module import it without importing the other.
"""

from __future__ import annotations

import enum
import queue
import threading
from collections.abc import Callable

import attrs

from connect_chat.models import Message, TranscriptItem
from connect_chat.parsing import TranscriptPage


class SocketEvent(enum.Enum):
    """Connection events the socket thread posts to the inbox."""

    ESTABLISHED = "established"
    REESTABLISHED = "reestablished"
    BROKEN = "broken"
    DEEP_HEARTBEAT_FAILURE = "deep_heartbeat_failure"
    ACCESS_DENIED = "access_denied"
    #: Frames may have been missed without an outage (the old socket of a refresh died
    #: before handing over): fill the gap from the transcript, no connection callback.
    GAP = "gap"


@attrs.frozen
class RawFrame:
    """A frame for the dispatcher to check and parse (``binary``: not a text frame).

    The socket thread posts this for what it could not read itself (binary, undecodable or
    unknown frames: the dispatcher counts and logs them; ``reason`` says why a frame was
    refused without any text) and for chat frames passed on during
    a refresh hand-over. A chat frame it has decoded (to read its topic) is posted as the
    :class:`~connect_chat.protocol.Frame` itself, so nothing is decoded twice.
    """

    text: str
    binary: bool = False
    #: Why the socket thread refused it (an undecodable or over-long frame), counted and
    #: logged with this reason by the dispatcher; ``""`` for the other kinds.
    reason: str = ""


@attrs.frozen
class HistoryPage:
    """A GetTranscript page fetched by a caller thread, to merge (no live callbacks)."""

    page: TranscriptPage
    scan_direction: str
    start_position_given: bool
    done: threading.Event | None = None
    requested_token: str | None = None


class LocalKind(enum.Enum):
    """What a :class:`LocalUpdate` does to the customer's own message."""

    #: Shown at once, SENDING, under a local id.
    PLACEHOLDER = "placeholder"
    #: StartAttachmentUpload answered: the placeholder learns the service's attachment id.
    ATTACHMENT_STARTED = "attachment_started"
    #: SendMessage answered: the message takes the server's id, at least SENT.
    SENT = "sent"
    #: The send gave up: FAILED (``resend_failed_message`` can retry it).
    FAILED = "failed"
    #: ``resend_failed_message``: SENDING again.
    RESENDING = "resending"


@attrs.define(eq=False)
class Outcome:
    """Where the dispatcher leaves the transcript's row for a :class:`LocalUpdate`."""

    done: threading.Event = attrs.field(factory=threading.Event)
    item: TranscriptItem | None = None


@attrs.frozen
class LocalUpdate:
    """A change made by this program to its own message (``kind``)."""

    kind: LocalKind
    message: Message
    server_id: str | None = None
    time_stamp: str | None = None
    #: Set once the transcript reflects the update (the caller may wait for it), with the
    #: transcript's row for the message.
    outcome: Outcome | None = attrs.field(default=None, eq=False)


@attrs.frozen
class EndSession:
    """Stop the dispatcher; ``chat_ended`` fires ``on_chat_ended`` first (if not yet)."""

    chat_ended: bool


@attrs.frozen
class Call:
    """Run ``fn`` on the dispatcher thread (internal)."""

    fn: Callable[[], None]


class GapMarker:
    """Queued at an inbox overflow: the frames queued before it are handled, then the gap
    is filled (live frames are dropped until then, so the walk back stays short)."""

    __slots__ = ()


#: The one overflow marker.
GAP = GapMarker()


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
