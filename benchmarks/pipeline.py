"""Drive the SDK's dispatcher pipeline (parse, transcript merge, callbacks) without a socket.

A :class:`~connect_chat.dispatcher.Dispatcher` is built as a session builds one, with a
callbacks holder in place of the session, the session's receipt throttle and its handler of
incoming messages (with ``receipts=True``, what a default ``GlobalConfig`` gives, that
handler requests an automatic Delivered receipt for every incoming agent message; the
SendEvent itself is not made: ``send_receipt`` only counts). Frames go in as the socket
thread posts them (decoded :class:`~connect_chat.protocol.Frame` objects).
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

from connect_chat.config import Features, GlobalConfig, MessageReceipts
from connect_chat.dispatcher import Dispatcher
from connect_chat.inbox import Call, EndSession, Inbox, RawFrame
from connect_chat.parsing import TranscriptPage
from connect_chat.protocol import FrameKind, classify_frame
from connect_chat.receipts import ReceiptBatch, ReceiptThrottle
from connect_chat.session import CALLBACK_NAMES
from connect_chat.streams import Subscribers
from connect_chat.transcript import Transcript


class Callbacks:
    """A stand-in for the session: every ``on_*`` attribute, ``None`` unless set."""

    def __init__(self, **callbacks: Callable[..., Any]) -> None:
        for name in CALLBACK_NAMES:
            setattr(self, name, None)
        for name, fn in callbacks.items():
            if name not in CALLBACK_NAMES:
                raise ValueError(f"unknown callback {name}")
            setattr(self, name, fn)


def _no_page(*_: object) -> TranscriptPage:
    return TranscriptPage(items=(), next_token=None, initial_contact_id="")


def _auto_delivered(config: GlobalConfig, throttle: ReceiptThrottle) -> Callable[[Any], None]:
    """The session's own handler of new incoming messages (an automatic Delivered receipt)."""
    from connect_chat.connection import Connection

    handler = Connection._auto_delivered_receipt
    holder = types.SimpleNamespace(
        config=config, sender=types.SimpleNamespace(sent_ids=set()), receipts=throttle
    )
    return lambda message: handler(holder, message)  # type: ignore[arg-type]


def make_dispatcher(callbacks: Callbacks, *, receipts: bool = False) -> Dispatcher:
    """A dispatcher with a fresh transcript and an unbounded inbox (not started)."""
    config = GlobalConfig(
        features=Features(message_receipts=MessageReceipts(should_send_message_receipts=receipts))
    )
    holder: list[Dispatcher] = []
    settings = config.features.message_receipts
    throttle = ReceiptThrottle(
        settings.throttle_time,
        enabled=settings.should_send_message_receipts,
        delivered_delay=config.delivered_receipt_delay,
        on_schedule=lambda: holder[0].post(Call(holder[0].schedule_receipts)),
    )
    extra: dict[str, Any] = {
        "receipts": throttle,
        "send_receipt": _count_receipt,
        "on_incoming_message": _auto_delivered(config, throttle),
    }
    dispatcher = Dispatcher(
        name="connect-chat-dispatch-bench",
        inbox=Inbox(),
        transcript=Transcript(),
        callbacks=callbacks,
        subscribers=Subscribers(),
        fetch_older=_no_page,
        on_active=lambda: None,
        on_ended=lambda: None,
        **extra,
    )
    holder.append(dispatcher)
    return dispatcher


RECEIPTS_SENT: list[ReceiptBatch] = []


def _count_receipt(batch: ReceiptBatch) -> None:
    RECEIPTS_SENT.append(batch)


def as_posted(text: str) -> object:
    """What the socket thread posts for a frame: it decodes the outer JSON to read the topic
    and posts a chat frame decoded (anything else goes as text, for the dispatcher to count)."""
    frame = classify_frame(text)
    if frame.kind is FrameKind.CHAT:
        return frame
    return RawFrame(text)


def run_threaded(dispatcher: Dispatcher, frames: list[str]) -> None:
    """The socket thread's share (decode, post every frame, then an end marker) on this
    thread, then the dispatcher thread until it has handled them all."""
    put = dispatcher.inbox.put_nowait
    for text in frames:
        put(as_posted(text))
    put(EndSession(chat_ended=False))
    dispatcher.start()
    dispatcher.thread.join()


def feed_inline(dispatcher: Dispatcher, frames: list[str]) -> None:
    """Handle frames on this thread, one by one, as the dispatcher thread would."""
    handle = dispatcher._handle
    for text in frames:
        handle(as_posted(text))
