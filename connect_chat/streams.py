"""The pull API: ``session.messages()`` streams and the session's set of them.

Each :class:`ItemStream` is a bounded buffer the dispatcher pushes into (never blocking: the
oldest item is dropped when a program stops pulling) and a caller thread pulls from.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator

from connect_chat.errors import SessionClosedError
from connect_chat.models import TranscriptItem

logger = logging.getLogger(__name__)

_END = object()


class ItemStream:
    """Items delivered to ``on_message_received``, for code that prefers to pull.

    Iterate it (``for item in session.messages(timeout=5): ...``: the loop ends when no item
    comes within ``timeout`` or the session ends) or call :meth:`get`. After the loop,
    :attr:`ended` says which: True when the chat session ended (nothing more will come),
    False when the stream was only idle for ``timeout`` seconds (iterate again to go on);
    :meth:`get` raises ``SessionClosedError`` and ``TimeoutError`` for the two. It holds at
    most ``maxsize`` items: beyond that the oldest is dropped and counted in ``dropped``.
    Close it (or use it as a context manager) to stop receiving.
    """

    def __init__(self, owner: Subscribers, maxsize: int, timeout: float | None) -> None:
        self._owner = owner
        self._items: collections.deque[object] = collections.deque()
        self._maxsize = maxsize
        self._cond = threading.Condition()
        self.timeout = timeout
        self.dropped = 0
        self.closed = False
        #: The session ended (or the stream was closed): no item will come any more.
        self.ended = False

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
                    self.ended = True
                    raise SessionClosedError("the stream is closed")
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError("no item within the timeout")
                self._cond.wait(remaining)
            item = self._items[0]
            if item is _END:
                self.ended = True
                raise SessionClosedError("the chat session ended")
            self._items.popleft()
        assert isinstance(item, TranscriptItem)
        return item

    def first(
        self,
        predicate: Callable[[TranscriptItem], bool],
        deadline: float,
        existing: Iterable[TranscriptItem] = (),
    ) -> TranscriptItem:
        """The first of ``existing``, then of the items pulled, that matches ``predicate``;
        ``TimeoutError`` at ``deadline`` (monotonic), ``SessionClosedError`` at the end."""
        for item in existing:
            if predicate(item):
                return item
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no matching chat item within the timeout")
            item = self.get(remaining)
            if predicate(item):
                return item

    def __iter__(self) -> Iterator[TranscriptItem]:
        while True:
            try:
                yield self.get(self.timeout)
            except TimeoutError:
                return  # idle: ``ended`` stays False
            except SessionClosedError:
                return  # ``ended`` is True

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
