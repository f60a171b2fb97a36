"""Printing a chat for a person: one line per transcript item, from any thread.

The demo and the interactive chat print from the dispatcher thread (callbacks) and from the
main thread (the user's own input, progress bars) at once; :class:`ChatPrinter` serialises
them with one lock, so lines never interleave.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import threading
from collections.abc import Mapping
from typing import Any, TextIO

from connect_chat.enums import ContentType, MessageStatus
from connect_chat.models import Event, Message, Metadata, TranscriptItem

_EVENT_TEXT = {
    ContentType.JOINED.value: "joined the chat",
    ContentType.LEFT.value: "left the chat",
    ContentType.ENDED.value: "the chat has ended",
    ContentType.TRANSFER_SUCCEEDED.value: "the chat was transferred",
    ContentType.TRANSFER_FAILED.value: "the transfer failed",
    ContentType.PARTICIPANT_IDLE.value: "is idle",
    ContentType.PARTICIPANT_RETURNED.value: "is back",
    ContentType.PARTICIPANT_INVITED.value: "was invited",
    ContentType.AUTO_DISCONNECTION.value: "was disconnected for inactivity",
    ContentType.CHAT_REHYDRATED.value: "the chat's history was restored",
    ContentType.PARTICIPANT_DISPLAY_NAME_UPDATED.value: "changed their name",
}

_COLORS = {"agent": "\033[36m", "me": "\033[32m", "event": "\033[2m", "error": "\033[31m"}
_RESET = "\033[0m"


def clock(time_stamp: str | None) -> str:
    """``HH:MM:SS`` local time of a service timestamp (the raw text if it does not parse)."""
    if not time_stamp:
        return "--:--:--"
    try:
        moment = datetime.datetime.fromisoformat(time_stamp.replace("Z", "+00:00"))
    except ValueError:
        return time_stamp[:8]
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    return moment.strftime("%H:%M:%S")


def human_size(size: int) -> str:
    """``512 B``, ``1.5 KiB``, ``2.0 MiB``."""
    value = float(size)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024 or unit == "MiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} MiB"  # pragma: no cover - the loop always returns


def progress_bar(done: int, total: int, width: int = 24) -> str:
    """``[##########..............]  42% 1.0 KiB / 2.4 KiB``."""
    fraction = 1.0 if total <= 0 else min(max(done / total, 0.0), 1.0)
    filled = round(fraction * width)
    return (
        f"[{'#' * filled}{'.' * (width - filled)}] {int(fraction * 100):3d}% "
        f"{human_size(done)} / {human_size(total)}"
    )


def describe_interactive(text: str) -> str:
    """A one-line summary of an interactive message (a list picker's title and choices)."""
    from connect_chat.interactive import parse_interactive_content

    template = parse_interactive_content(text)
    if template is None:
        return text
    title = getattr(template, "title", "") or ""
    options: tuple[str, ...] = getattr(template, "options", ())
    choices = "  ".join(f"{n}) {option}" for n, option in enumerate(options, start=1))
    return f"[{template.template_type}] {title}" + (f"  {choices}" if choices else "")


def summary(item: Message) -> str:
    """A message in a few words, for a receipt line: the text, a file's name, a question's
    title or an answer's choice (never an interactive message's JSON)."""
    name = item.attachment_name
    if item.attachment_id is not None or name is not None:
        return name or item.text or "a file"
    if item.content_type == ContentType.INTERACTIVE_TEXT.value:
        from connect_chat.interactive import parse_interactive_content

        template = parse_interactive_content(item.text)
        title = getattr(template, "title", None) if template is not None else None
        return str(title) if title else "an interactive message"
    if item.content_type == ContentType.INTERACTIVE_RESPONSE.value:
        described = describe_interactive_response(item.text)
        return described if described != item.text else "an answer"
    return item.text or ""


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


def describe_interactive_response(text: str) -> str:
    """What an interactive answer chose (its ``data.content.title``); never raises."""
    answer = _json(text)
    data = answer.get("data") if isinstance(answer, Mapping) else None
    content = data.get("content") if isinstance(data, Mapping) else None
    title = content.get("title") if isinstance(content, Mapping) else None
    return f"chose: {title}" if isinstance(title, str) else text


def _json(text: object) -> Any:
    """``json.loads`` that gives ``None`` for anything it cannot read (deep nesting too)."""
    if not isinstance(text, str):
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


class ChatPrinter:
    """Formats transcript items and connection events as lines, safely from any thread."""

    def __init__(self, stream: TextIO, *, color: bool = False, me: str = "You") -> None:
        self._stream = stream
        self._color = color
        self._me = me
        self._lock = threading.Lock()
        self._seen: set[str] = set()
        self._closed = False
        self._texts: dict[str, tuple[str, str]] = {}

    def line(self, text: str, *, style: str | None = None) -> None:
        """Print one line (colored when the stream is a terminal)."""
        if self._color and style in _COLORS:
            text = f"{_COLORS[style]}{text}{_RESET}"
        with self._lock:
            self._write(text + "\n")

    def _write(self, text: str) -> None:
        """Write (lock held); a reader that went away (``| head``) just ends the output."""
        if self._closed:
            return
        try:
            self._stream.write(text)
            self._stream.flush()
        except BrokenPipeError:
            self._closed = True
            _silence(self._stream)

    def note(self, text: str) -> None:
        """A line about the connection or the program, not from the chat."""
        self.line(f"{'':8}  [{text}]", style="event")

    def progress(self, text: str, *, final: bool) -> None:
        """A progress line, redrawn in place on a terminal."""
        with self._lock:
            if self._color:
                self._write("\r" + text + ("\n" if final else ""))
            elif final:
                self._write(text + "\n")

    @property
    def me(self) -> str:
        """The customer's name: the service's (learnt from the chat), else the one given."""
        return self._me

    def left(self, name: str) -> None:
        """``-- Ann left the chat``, for a leaving the chat will not report any more."""
        self.line(f"{clock(_now())}  -- {name} {_EVENT_TEXT[ContentType.LEFT.value]}",
                  style="event")

    def chat_ended(self) -> None:
        """``-- the chat has ended --``, for an end the chat will not report any more."""
        self.line(f"{clock(_now())}  -- {_EVENT_TEXT[ContentType.ENDED.value]} --",
                  style="event")

    def sender(self, item: Message | Event) -> str:
        if isinstance(item, Message) and item.participant == "CUSTOMER":
            return item.display_name or self._me
        role = (item.participant or "").lower()
        name = item.display_name or role or "someone"
        return f"{name} ({role})" if role and role not in ("customer",) else name

    def item(self, item: TranscriptItem) -> None:
        """Print a message or an event once (repeats of an id with the same text are skipped)."""
        self._learn_my_name(item)
        text = self.format(item)
        if text is None:
            return
        key = f"{item.id}|{text}"
        with self._lock:
            if key in self._seen:
                return
            self._seen.add(key)
        if isinstance(item, Message) and item.participant == "CUSTOMER":
            style = "me"
        elif isinstance(item, Message):
            style = "agent"
        else:
            style = "event"
        if isinstance(item, Message):
            with self._lock:
                self._texts[item.id] = (item.participant, summary(item))
        self.line(text, style=style)

    def _learn_my_name(self, item: TranscriptItem) -> None:
        """The customer's name as the service stored it (joining with a token, a rename)."""
        if (
            isinstance(item, Message | Event)
            and item.participant == "CUSTOMER"
            and item.display_name
            and item.content_type != ContentType.TYPING.value
        ):
            with self._lock:
                self._me = item.display_name

    def format(self, item: TranscriptItem) -> str | None:
        """The line for an item, or ``None`` for items not worth a line (receipt metadata)."""
        when = clock(item.time_stamp)
        if isinstance(item, Message):
            if item.status == MessageStatus.SENDING:
                return None  # printed when the service confirms it
            who = self.sender(item)
            if item.attachment_id is not None or item.attachment_name is not None:
                name = item.attachment_name or item.text or "a file"
                return f"{when}  {who} sent a file: {name}"
            if item.content_type == ContentType.INTERACTIVE_TEXT.value:
                return f"{when}  {who}: {describe_interactive(item.text)}"
            if item.content_type == ContentType.INTERACTIVE_RESPONSE.value:
                return f"{when}  {who} {describe_interactive_response(item.text)}"
            return f"{when}  {who}: {item.text}"
        if isinstance(item, Event):
            if item.content_type == ContentType.TYPING.value:
                return None  # shown by typing(), not as a transcript line
            what = _EVENT_TEXT.get(item.content_type)
            if what is None:
                return None
            if item.content_type in (
                ContentType.ENDED.value,
                ContentType.TRANSFER_SUCCEEDED.value,
                ContentType.TRANSFER_FAILED.value,
                ContentType.CHAT_REHYDRATED.value,
            ):
                return f"{when}  -- {what} --"
            return f"{when}  -- {self.sender(item)} {what}"
        if isinstance(item, Metadata):
            return None
        return None

    def typing(self, event: Event | None) -> None:
        """``Sam is typing...`` (one line per typing event from someone else)."""
        if event is None or event.participant == "CUSTOMER":
            return
        self.line(f"{clock(event.time_stamp)}  {self.sender(event)} is typing...", style="event")

    def receipt(self, event: Event | None, *, read: bool) -> None:
        """``vv read by the agent: "text"`` (or ``vv Ann read: ...`` for the other way)."""
        if event is None:
            return
        message_id = _receipt_message_id(event)
        with self._lock:
            role, text = self._texts.get(message_id or "", ("", ""))
        mark = "read" if read else "delivered"
        tick = "vv" if read else "v "
        if role == "CUSTOMER":
            what = f"{mark} to the agent" if not read else "read by the agent"
        elif role:
            what = f"{self._me} {'read' if read else 'received'}"
        else:
            what = mark
        quoted = f': "{_shorten(text)}"' if text else ""
        self.line(f"{clock(event.time_stamp)}  {tick} {what}{quoted}", style="event")


def _silence(stream: TextIO) -> None:
    """Point a closed pipe's file descriptor at /dev/null, so that the interpreter's final
    flush does not print a BrokenPipeError either."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError, io.UnsupportedOperation):
        pass


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _receipt_message_id(event: Event) -> str | None:
    content: Any = event.serialized_content
    metadata = content.get("MessageMetadata") if isinstance(content, Mapping) else None
    if isinstance(metadata, Mapping) and metadata.get("MessageId"):
        return str(metadata["MessageId"])
    for text in (event.text, content.get("Content") if isinstance(content, Mapping) else None):
        value = _json(text)
        if isinstance(value, Mapping) and value.get("messageId"):
            return str(value["messageId"])
    return event.id or None
