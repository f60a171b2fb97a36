"""``connect-chat demo``: a whole chat, scripted, against the embedded emulator.

The customer side is a real :class:`~connect_chat.session.ChatSession` talking to the emulator
over HTTP and a WebSocket; the agent side is the emulator's control API, driven step by step
from here. Each step waits (with a deadline, never blindly) for the customer session to see
its effect, so the printed transcript is what the SDK delivered, in the order it delivered it.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import attrs

from connect_chat.cli.render import ChatPrinter, human_size, progress_bar
from connect_chat.config import Features, GlobalConfig, MessageReceipts
from connect_chat.enums import ContentType, MessageReceiptType, MessageStatus
from connect_chat.errors import ConnectChatError
from connect_chat.interactive import ListPicker, list_picker_response, parse_interactive_content
from connect_chat.models import Event, Message, TranscriptItem

if TYPE_CHECKING:
    from connect_chat.emulator import AgentHandle
    from connect_chat.session import ChatSession

CUSTOMER = "Ann"
AGENT = "Sam"

#: The list picker the agent's bot sends (the wire format of an interactive message).
DELIVERY_PICKER = {
    "templateType": "ListPicker",
    "version": "1.0",
    "templateIdentifier": "redelivery-slot",
    "data": {
        "content": {
            "title": "When should we deliver it again?",
            "subtitle": "Tap to select a slot",
            "elements": [
                {"title": "Tomorrow morning", "subtitle": "8:00-12:00"},
                {"title": "Tomorrow afternoon", "subtitle": "12:00-18:00"},
                {"title": "Saturday", "subtitle": "9:00-13:00"},
            ],
        }
    },
}

SHIPPING_LABEL = b"%PDF-1.4\n% connect-chat demo: a new shipping label\n%%EOF\n"
RECEIPT_TEXT = "Order 1234 - 1 parcel - paid 25 EUR\n" * 40


class DemoError(ConnectChatError):
    """A demo step did not happen in time (the emulator or the SDK misbehaved)."""


def demo_config(endpoint_url: str) -> GlobalConfig:
    """Service timings shortened so that the whole demo takes a few seconds."""
    return GlobalConfig(
        endpoint_url=endpoint_url,
        features=Features(
            message_receipts=MessageReceipts(should_send_message_receipts=True, throttle_time=0.1)
        ),
        typing_throttle=0.0,
        delivered_receipt_delay=0.0,
        heartbeat_interval=5.0,
        join_timeout=5.0,
    )


class Recorder:
    """Every item the session delivered, so a step can wait for one that came before it
    started waiting (typing indicators never enter the transcript)."""

    def __init__(self, printer: ChatPrinter) -> None:
        self._printer = printer
        self._items: list[TranscriptItem] = []
        self._changed = threading.Condition()

    def __call__(self, item: TranscriptItem) -> None:
        self._record(item)
        self._printer.item(item)

    def updated(self, *args: object) -> None:
        """A changed item (``on_message_updated``, when the session has it): the new version
        is the last item argument; recorded so that a step waiting for a status sees it."""
        items = [arg for arg in args if isinstance(arg, TranscriptItem)]
        if items:
            self(items[-1])

    def receipt(self, event: Event | None, *, read: bool) -> None:
        if event is not None:
            self._record(event)
        self._printer.receipt(event, read=read)

    def _record(self, item: TranscriptItem) -> None:
        with self._changed:
            self._items.append(item)
            self._changed.notify_all()

    def wait_for(
        self, predicate: Callable[[TranscriptItem], bool], timeout: float
    ) -> TranscriptItem | None:
        deadline = time.monotonic() + timeout
        checked = 0
        with self._changed:
            while True:
                for item in self._items[checked:]:
                    if predicate(item):
                        return item
                checked = len(self._items)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._changed.wait(remaining)


@attrs.define
class Demo:
    """The scripted conversation: the agent acts, the customer session reacts."""

    session: ChatSession
    agent: AgentHandle
    printer: ChatPrinter
    recorder: Recorder
    workdir: Path
    pace: float
    timeout: float = 10.0

    def pause(self) -> None:
        if self.pace > 0:
            time.sleep(self.pace)

    def expect(self, what: str, predicate: Callable[[TranscriptItem], bool]) -> TranscriptItem:
        """The first item (already seen or coming) that matches, or :class:`DemoError`."""
        item = self.recorder.wait_for(predicate, self.timeout)
        if item is None:
            raise DemoError(f"the demo got stuck waiting for {what}")
        return item

    def run(self) -> None:
        self.agent.join(display_name=AGENT)
        self.expect("the agent to join", _event(ContentType.JOINED, "AGENT"))
        self.pause()

        self.agent.send_event(ContentType.TYPING)
        self.expect("the agent's typing indicator", _event(ContentType.TYPING, "AGENT"))
        self.pause()
        hello = self.agent.send_message(f"Hi {CUSTOMER}, I'm {AGENT}. How can I help you today?")
        self.expect("the agent's greeting", lambda i: i.id == hello)
        self.send_read_receipt(hello)
        self.pause()

        self.session.send_event(ContentType.TYPING)
        question = self.session.send_message(
            ContentType.PLAIN_TEXT, "Hi Sam! My parcel hasn't arrived yet."
        )
        self.agent.send_receipt(question.id, read=False)
        self.expect("the delivered receipt", _status(question.id, MessageStatus.DELIVERED))
        self.agent.send_receipt(question.id, read=True)
        self.expect("the read receipt", _status(question.id, MessageStatus.READ))
        self.pause()

        ask = self.agent.send_message("Sorry to hear that! Could you send me your receipt?")
        self.expect("the agent's question", lambda i: i.id == ask)
        self.pause()
        self.send_receipt_file()
        self.pause()

        label_id = self.agent.send_attachment(
            "shipping-label.pdf", SHIPPING_LABEL, "application/pdf"
        )
        label = self.expect(
            "the agent's attachment",
            lambda i: isinstance(i, Message) and i.attachment_id == label_id,
        )
        self.download(label_id, label)
        self.pause()

        picker_id = self.agent.send_interactive(DELIVERY_PICKER)
        picker = self.expect("the list picker", lambda i: i.id == picker_id)
        self.answer_picker(picker)
        self.pause()

        done = self.agent.send_message(
            "Done: it will be there tomorrow afternoon. Anything else?"
        )
        self.expect("the agent's confirmation", lambda i: i.id == done)
        self.send_read_receipt(done)
        self.session.send_message(ContentType.PLAIN_TEXT, "No, that's all. Thank you!")
        bye = self.agent.send_message("You're welcome, have a nice day!")
        self.expect("the agent's goodbye", lambda i: i.id == bye)
        self.pause()

    def send_read_receipt(self, message_id: str) -> None:
        """The customer has read a message: tell the agent (the SDK batches receipts)."""
        ticket = self.session.send_message_receipt(MessageReceiptType.MESSAGE_READ, message_id)
        outcome = ticket.wait(self.timeout)
        if outcome is None or outcome.value != "Sent":
            raise DemoError(f"the read receipt was not sent ({outcome}: {ticket.reason})")
        self.expect(
            "the read receipt to come back",
            lambda i: isinstance(i, Event)
            and i.content_type == ContentType.MESSAGE_READ.value
            and i.id == message_id,
        )

    def send_receipt_file(self) -> None:
        path = self.workdir / "receipt.txt"
        path.write_text(RECEIPT_TEXT, encoding="utf-8")
        size = path.stat().st_size

        def progress(done: int, total: int) -> None:
            bar = f"{'':8}  {progress_bar(done, total)}"
            self.printer.progress(bar, final=done >= total)

        self.printer.note(f"{CUSTOMER} uploads {path.name} ({human_size(size)})")
        sent = self.session.send_attachment(path, progress)
        self.expect(
            "the uploaded attachment",
            lambda i: isinstance(i, Message)
            and i.attachment_id == sent.attachment_id
            and i.status not in (None, MessageStatus.SENDING),
        )

    def download(self, attachment_id: str, item: TranscriptItem) -> None:
        name = item.text if isinstance(item, Message) and item.text else "attachment"
        path = self.session.download_attachment(attachment_id, name, self.workdir / "downloads")
        data = path.read_bytes()
        if data != SHIPPING_LABEL:
            raise DemoError(f"the downloaded {name} is not what the agent sent")
        self.printer.note(f"{CUSTOMER} downloaded {path.name} ({human_size(len(data))})")

    def answer_picker(self, item: TranscriptItem) -> None:
        text = item.text if isinstance(item, Message) else ""
        template = parse_interactive_content(text)
        if not isinstance(template, ListPicker):
            raise DemoError("the list picker could not be read")
        reply = list_picker_response(1, template)  # "Tomorrow afternoon"
        sent = self.session.send_message(reply.content_type, reply.content)
        self.expect("the answer to the list picker", lambda i: i.id == sent.id)


def _event(content_type: ContentType, role: str) -> Callable[[TranscriptItem], bool]:
    def matches(item: TranscriptItem) -> bool:
        return (
            isinstance(item, Event)
            and item.content_type == content_type.value
            and item.participant == role
        )

    return matches


def _status(message_id: str, status: MessageStatus) -> Callable[[TranscriptItem], bool]:
    def matches(item: TranscriptItem) -> bool:
        return (
            isinstance(item, Message)
            and item.id == message_id
            and MessageStatus.rank_of(item.status) >= status.rank
        )

    return matches


def run_demo(stdout: TextIO, *, pace: float = 0.3, color: bool = False) -> int:
    """Run the demo, printing the chat as it happens; returns the exit code (0)."""
    from connect_chat.emulator import Emulator
    from connect_chat.session import ChatSession

    printer = ChatPrinter(stdout, color=color, me=CUSTOMER)
    printer.line("connect-chat demo: a customer chat against the embedded emulator")
    with Emulator() as emulator, tempfile.TemporaryDirectory(prefix="connect-chat-demo-") as tmp:
        printer.note(f"emulator listening on {emulator.endpoint_url}")
        details = emulator.start_chat(display_name=CUSTOMER)
        assert details.contact_id is not None
        printer.note(f"{CUSTOMER} started contact {details.contact_id}")
        ended = []
        recorder = Recorder(printer)
        with ChatSession(demo_config(emulator.endpoint_url)) as session:
            session.on_message_received = recorder
            if hasattr(session, "on_message_updated"):  # status changes, where split out
                session.on_message_updated = recorder.updated
            session.on_typing = printer.typing
            session.on_read_receipt = lambda event: recorder.receipt(event, read=True)
            session.on_delivered_receipt = lambda event: recorder.receipt(event, read=False)
            session.on_connection_established = lambda: printer.note("connected")
            session.on_chat_ended = lambda: ended.append(True)
            session.connect(details)
            for item in session.transcript:  # the history loaded on connect (no callbacks)
                printer.item(item)
            demo = Demo(
                session=session,
                agent=emulator.agent(details.contact_id),
                printer=printer,
                recorder=recorder,
                workdir=Path(tmp),
                pace=pace,
            )
            demo.run()
            emulator.end_chat(details.contact_id)
            demo.expect("the end of the chat", lambda i: i.content_type == ContentType.ENDED)
            items = list(session.transcript)
        stored = emulator.transcript(details.contact_id)
    messages = sum(1 for i in items if isinstance(i, Message))
    printer.note(
        f"done: {messages} messages and files in the customer's transcript, {len(stored)} "
        f"items stored by the emulator; chat ended: {'yes' if ended else 'no'}"
    )
    return 0
