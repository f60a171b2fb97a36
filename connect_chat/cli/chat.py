"""``connect-chat chat``: an interactive chat in the terminal.

Lines typed are sent as messages; what the other side does (messages, typing, receipts,
joins, the end of the chat) and the connection's state are printed as they happen, from the
session's dispatcher thread. Standard input is read on a helper thread so that the chat ending
on the other side ends the command without waiting for a line.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import attrs

from connect_chat.cli.render import ChatPrinter, progress_bar
from connect_chat.config import DEFAULT_REGION, Features, GlobalConfig, MessageReceipts
from connect_chat.contact import start_chat_contact
from connect_chat.enums import ContentType, MessageReceiptType
from connect_chat.errors import ConnectChatError
from connect_chat.interactive import ListPicker, Panel, QuickReply, option_response
from connect_chat.models import ChatDetails, Event, Message, TranscriptItem

if TYPE_CHECKING:
    from connect_chat.session import ChatSession

logger = logging.getLogger(__name__)

HELP = (
    "type a message and press Enter to send it; commands: "
    "/attach PATH (send a file), /transcript (reprint the chat), /help, /quit"
)

_EOF = object()

#: Interactive messages answered by picking one of their numbered options.
_CHOOSABLE = (ListPicker, QuickReply, Panel)

#: How long read receipts are batched before going out (the service's recommended 5 s).
RECEIPT_THROTTLE_TIME = 5.0


def chat_config(region: str | None = None, endpoint_url: str | None = None) -> GlobalConfig:
    """The session configuration of the interactive chat."""
    receipts = MessageReceipts(
        should_send_message_receipts=True, throttle_time=RECEIPT_THROTTLE_TIME
    )
    return GlobalConfig(
        region=region or DEFAULT_REGION,
        endpoint_url=endpoint_url,
        features=Features(message_receipts=receipts),
    )


@attrs.frozen(kw_only=True)
class ChatOptions:
    """What ``connect-chat chat`` was asked to do (validated by the argument parser)."""

    display_name: str = "Customer"
    instance_id: str | None = None
    contact_flow_id: str | None = None
    region: str | None = None
    profile: str | None = None
    participant_token: str | None = attrs.field(default=None, repr=False)
    contact_id: str | None = None
    endpoint_url: str | None = None
    color: bool = False


def start(
    options: ChatOptions, stack: contextlib.ExitStack, printer: ChatPrinter
) -> tuple[ChatDetails, GlobalConfig]:
    """Where the chat comes from: a real instance, a token, a standalone or embedded emulator."""
    region = options.region
    if options.instance_id is not None and options.contact_flow_id is not None:
        printer.note(f"starting a chat on instance {options.instance_id}")
        details = start_chat_contact(
            instance_id=options.instance_id,
            contact_flow_id=options.contact_flow_id,
            display_name=options.display_name,
            region=region,
            endpoint_url=options.endpoint_url,
            profile=options.profile,
        )
        region = region or _configured_region(options.profile)
        return details, chat_config(region, options.endpoint_url)
    if options.participant_token is not None:
        details = ChatDetails(
            participant_token=options.participant_token, contact_id=options.contact_id
        )
        region = region or _configured_region(options.profile)
        return details, chat_config(region, options.endpoint_url)
    if options.endpoint_url is not None:
        printer.note(f"starting a chat on {options.endpoint_url}")
        details = start_chat_contact(  # an emulator: no AWS credentials needed
            display_name=options.display_name,
            region=region,
            endpoint_url=options.endpoint_url,
            anonymous=True,
        )
        return details, chat_config(region, options.endpoint_url)
    from connect_chat.emulator import Emulator

    emulator = stack.enter_context(Emulator(agent="echo"))
    printer.note(f"embedded emulator on {emulator.endpoint_url} with an echo agent")
    details = emulator.start_chat(display_name=options.display_name)
    return details, chat_config(region, emulator.endpoint_url)


def _configured_region(profile: str | None) -> str:
    import botocore.session

    region = botocore.session.Session(profile=profile).get_config_variable("region")
    return str(region) if region else "us-west-2"


class TerminalChat:
    """Wires a session's callbacks to a printer and runs the input loop."""

    def __init__(self, session: ChatSession, printer: ChatPrinter) -> None:
        self.session = session
        self.printer = printer
        self.ended = threading.Event()
        self._lock = threading.Lock()
        self._leaving = False
        self._left_shown = False
        self._ended_shown = False
        #: The newest question with numbered options (ListPicker, QuickReply, Panel).
        self._question: ListPicker | QuickReply | Panel | None = None
        self._question_id: str | None = None
        session.on_message_received = self._on_message
        if hasattr(session, "on_message_updated"):  # changes, where the SDK splits them out
            session.on_message_updated = self._on_update
        session.on_typing = printer.typing
        session.on_read_receipt = lambda event: printer.receipt(event, read=True)
        session.on_delivered_receipt = lambda event: printer.receipt(event, read=False)
        session.on_connection_established = lambda: printer.note("connected")
        session.on_connection_broken = lambda: printer.note("connection lost, reconnecting...")
        session.on_connection_reestablished = lambda: printer.note("reconnected")
        session.on_chat_ended = self._on_chat_ended

    def _on_message(self, item: TranscriptItem) -> None:
        with self._lock:
            if self._leaving:
                return  # the lines of our own leaving are printed by leave()
        self.show(item)
        if (
            isinstance(item, Message)
            and item.participant not in ("CUSTOMER", "")
            and not item.is_from_history
        ):
            # The person at the terminal has seen it: say so to the agent.
            try:
                self.session.send_message_receipt(MessageReceiptType.MESSAGE_READ, item)
            except ConnectChatError as error:
                logger.debug("read receipt not sent: %s", error)

    def _on_update(self, item: TranscriptItem) -> None:
        """A known item changed: a sent message confirmed (printed now), a status moved."""
        with self._lock:
            if self._leaving:
                return
        self.show(item)

    def show(self, item: TranscriptItem) -> None:
        """Print an item (live or from history) and remember what it changes."""
        self.printer.item(item)
        if isinstance(item, Event):
            if item.content_type == ContentType.ENDED.value:
                self._ended_shown = True
                self.ended.set()
            elif item.content_type == ContentType.LEFT.value and item.participant == "CUSTOMER":
                self._left_shown = True
        elif isinstance(item, Message) and item.participant != "CUSTOMER":
            question = item.interactive
            if isinstance(question, _CHOOSABLE) and question.options:
                with self._lock:
                    is_new = item.persistent_id != self._question_id
                    if is_new:
                        self._question, self._question_id = question, item.persistent_id
                if is_new and not item.is_from_history:
                    count = len(question.options)
                    numbers = f"1-{count}" if count > 1 else "1"
                    self.printer.note(f"type {numbers} to answer")

    def _on_chat_ended(self) -> None:
        with self._lock:
            if self._leaving:
                return
        if not self._ended_shown:  # found ended (on reconnect) without the event
            self._ended_shown = True
            self.printer.chat_ended()
        self.ended.set()

    def leave(self) -> None:
        """Leave the chat (``/quit``, end of input) and say so, as the other side's end does."""
        with self._lock:
            self._leaving = True
        if self.ended.is_set():
            self.session.disconnect()
            return
        if not self.session.disconnect():
            self.printer.note("leaving the chat could not be confirmed")
            return
        if not self._left_shown:
            self.printer.left(self.printer.me)
        if not self._ended_shown:
            self.printer.chat_ended()

    def handle(self, line: str) -> bool:
        """Act on one input line; ``False`` to stop."""
        text = line.strip()
        if not text:
            return True
        if text in ("/quit", "/exit"):
            return False
        if text == "/help":
            self.printer.note(HELP)
        elif text == "/transcript":
            self.print_transcript()
        elif text.startswith("/attach"):
            self.attach(text[len("/attach") :].strip())
        elif text.startswith("/") and not text.startswith("//"):
            self.printer.note(f"unknown command {text.split()[0]}: {HELP}")
        elif self.answer(text):
            pass
        else:
            self.send(text[1:] if text.startswith("//") else text)
        return True

    def answer(self, text: str) -> bool:
        """``2`` answers the newest question with options by its second option's title."""
        with self._lock:
            question = self._question
        if question is None or not text.isdigit():
            return False
        number = int(text)
        if not 1 <= number <= len(question.options):
            return False
        reply = option_response(number - 1, question)
        try:
            self.session.send_message(reply.content_type, reply.content)
        except ConnectChatError as error:
            self.printer.note(f"not sent: {error}")
            return True
        with self._lock:
            if self._question is question:
                self._question = None  # answered: a number typed now is just a number
        return True

    def send(self, text: str) -> None:
        try:
            self.session.send_event(ContentType.TYPING, "")
            self.session.send_message(ContentType.PLAIN_TEXT, text)
        except ConnectChatError as error:
            self.printer.note(f"not sent: {error}")

    def attach(self, argument: str) -> None:
        if not argument:
            self.printer.note("usage: /attach PATH")
            return
        path = Path(argument).expanduser()

        def progress(done: int, total: int) -> None:
            bar = f"{'':8}  {progress_bar(done, total)}"
            self.printer.progress(bar, final=done >= total)

        try:
            self.session.send_attachment(path, progress)
        except ConnectChatError as error:
            self.printer.progress("", final=False)
            self.printer.note(f"not sent: {error}")

    def print_transcript(self) -> None:
        try:
            response = self.session.get_transcript(max_results=100)
        except ConnectChatError as error:
            self.printer.note(f"transcript unavailable: {error}")
            return
        self.printer.note(f"transcript ({len(response.transcript)} items)")
        for item in response.transcript:
            line = self.printer.format(item)
            if line is not None:
                self.printer.line(line)

    def run(self, stdin: TextIO) -> None:
        """Read lines until /quit, end of input, or the end of the chat."""
        lines: queue.Queue[object] = queue.Queue()

        def read() -> None:
            try:
                for line in stdin:
                    lines.put(line)
            finally:
                lines.put(_EOF)

        threading.Thread(target=read, name="connect-chat-stdin", daemon=True).start()
        while not self.ended.is_set():
            try:
                line = lines.get(timeout=0.1)
            except queue.Empty:
                continue
            if line is _EOF or not self.handle(str(line)):
                break


def run_chat(options: ChatOptions, stdin: TextIO, stdout: TextIO) -> int:
    """The ``chat`` command; returns the exit code."""
    printer = ChatPrinter(stdout, color=options.color, me=options.display_name)
    with contextlib.ExitStack() as stack:
        details, config = start(options, stack, printer)
        from connect_chat.session import ChatSession

        session = ChatSession(config)
        stack.callback(session.disconnect)
        chat = TerminalChat(session, printer)
        printer.note("connecting...")
        session.connect(details)
        for item in session.transcript:  # the history loaded on connect (no callbacks)
            chat.show(item)
        printer.note(f"in contact {details.contact_id or '?'}; {HELP}")
        chat.run(stdin)
        chat.leave()
        printer.note("disconnected")
    return 0
