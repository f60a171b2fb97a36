"""``TranscriptView``: the immutable, ordered snapshot of a transcript that other threads read.

The dispatcher (the transcript's only writer) publishes one after each change; it shares the
transcript's chunk tuples, so taking one costs ``O(n / CHUNK)`` pointers, never a copy.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterator, Sequence
from typing import overload

from connect_chat.models import TranscriptItem


class TranscriptView(Sequence[TranscriptItem]):
    """An immutable, ordered snapshot of the transcript (a read-only ``Sequence``)."""

    __slots__ = ("_chunks", "_len", "_offsets")

    def __init__(
        self, chunks: tuple[tuple[TranscriptItem, ...], ...] = (), length: int | None = None
    ) -> None:
        self._chunks = chunks
        # The transcript passes its length: summing the chunks is O(n / CHUNK) per message.
        self._len = sum(len(c) for c in chunks) if length is None else length
        self._offsets: list[int] | None = None

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[TranscriptItem]:
        for chunk in self._chunks:
            yield from chunk

    def __reversed__(self) -> Iterator[TranscriptItem]:
        for chunk in reversed(self._chunks):
            yield from reversed(chunk)

    @overload
    def __getitem__(self, index: int) -> TranscriptItem: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[TranscriptItem, ...]: ...
    def __getitem__(self, index: int | slice) -> TranscriptItem | tuple[TranscriptItem, ...]:
        if isinstance(index, slice):
            return tuple(self)[index]
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError("transcript index out of range")
        last = self._chunks[-1]
        last_start = self._len - len(last)
        if index >= last_start:  # the newest items (view[-1]): no offsets table needed
            return last[index - last_start]
        if self._offsets is None:
            self._offsets = list(itertools.accumulate(len(c) for c in self._chunks))
        which = bisect.bisect_right(self._offsets, index)
        start = self._offsets[which - 1] if which else 0
        return self._chunks[which][index - start]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, (str, bytes)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"TranscriptView({list(self)!r})"

    def _repr_html_(self) -> str:
        from connect_chat.html_view import render_chat  # a chat picture, for notebooks
        return render_chat(self)
