"""How the command prints a chat: pure formatting, and one line per item whatever the thread."""

from __future__ import annotations

import io
import json
import threading

from connect_chat.cli.render import (
    ChatPrinter,
    clock,
    describe_interactive,
    describe_interactive_response,
    human_size,
    progress_bar,
)
from connect_chat.enums import ContentType, MessageStatus
from connect_chat.models import Event, Message, Metadata


def message(item_id: str, text: str, role: str = "AGENT", **kwargs: object) -> Message:
    name = "Ann" if role == "CUSTOMER" else "Sam"  # the names the service stored
    return Message(id=item_id, time_stamp="2025-05-24T21:41:03.512Z", content_type="text/plain",
                   participant=role, text=text, display_name=name, **kwargs)  # type: ignore[arg-type]


def test_sizes_and_progress_bars() -> None:
    assert human_size(512) == "512 B"
    assert human_size(1536) == "1.5 KiB"
    assert human_size(3 * 2**20) == "3.0 MiB"
    assert progress_bar(0, 100, width=10) == "[..........]   0% 0 B / 100 B"
    assert progress_bar(50, 100, width=10) == "[#####.....]  50% 50 B / 100 B"
    assert progress_bar(7, 0, width=4) == "[####] 100% 7 B / 0 B"


def test_clock_reads_service_times_and_keeps_what_it_cannot() -> None:
    assert len(clock("2025-05-24T21:41:03.512Z")) == 8
    assert clock("") == "--:--:--"
    assert clock("not a time") == "not a ti"


def test_interactive_messages_are_summarised() -> None:
    picker = {"templateType": "ListPicker", "version": "1.0", "data": {"content": {
        "title": "Pick one", "elements": [{"title": "A"}, {"title": "B"}]}}}
    assert describe_interactive(json.dumps(picker)) == "[ListPicker] Pick one  1) A  2) B"
    assert describe_interactive("plain words") == "plain words"
    answer = {"templateType": "ViewResource", "data": {"content": {"title": "Yes"}}}
    assert describe_interactive_response(json.dumps(answer)) == "chose: Yes"
    assert describe_interactive_response("{") == "{"


def test_each_item_is_printed_once_and_placeholders_wait_for_the_service() -> None:
    out = io.StringIO()
    printer = ChatPrinter(out, me="Ann")
    sending = message("local-1", "hi", role="CUSTOMER", metadata=Metadata(
        id="local-1", time_stamp="t", content_type="text/plain", status=MessageStatus.SENDING))
    printer.item(sending)
    assert out.getvalue() == ""
    sent = message("m-1", "hi", role="CUSTOMER")
    printer.item(sent)
    printer.item(sent)
    assert out.getvalue().count("Ann: hi") == 1


def test_events_and_typing() -> None:
    out = io.StringIO()
    printer = ChatPrinter(out)
    joined = Event(id="e1", time_stamp="", content_type=ContentType.JOINED.value,
                   participant="AGENT", display_name="Sam")
    ended = Event(id="e2", time_stamp="", content_type=ContentType.ENDED.value)
    typing = Event(id="e3", time_stamp="", content_type=ContentType.TYPING.value,
                   participant="AGENT", display_name="Sam")
    printer.item(joined)
    printer.item(typing)  # typing is shown by typing(), not as a transcript line
    printer.typing(typing)
    printer.typing(Event(id="e4", time_stamp="", content_type=ContentType.TYPING.value,
                         participant="CUSTOMER"))
    printer.item(ended)
    assert out.getvalue().splitlines() == [
        "--:--:--  -- Sam (agent) joined the chat",
        "--:--:--  Sam (agent) is typing...",
        "--:--:--  -- the chat has ended --",
    ]


def test_receipts_say_who_read_what() -> None:
    out = io.StringIO()
    printer = ChatPrinter(out, me="Ann")
    printer.item(message("mine", "my question", role="CUSTOMER"))
    printer.item(message("theirs", "their answer"))
    read = ContentType.MESSAGE_READ.value
    printer.receipt(Event(id="mine", time_stamp="", content_type=read), read=True)
    printer.receipt(Event(id="theirs", time_stamp="", content_type=read), read=True)
    lines = out.getvalue().splitlines()[2:]
    assert lines == [
        '--:--:--  vv read by the agent: "my question"',
        '--:--:--  vv Ann read: "their answer"',
    ]


def test_lines_from_many_threads_never_interleave() -> None:
    out = io.StringIO()
    printer = ChatPrinter(out)

    def shout(n: int) -> None:
        for i in range(200):
            printer.line(f"thread {n} line {i} " + "x" * 50)

    threads = [threading.Thread(target=shout, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = out.getvalue().splitlines()
    assert len(lines) == 800
    assert all(line.endswith("x" * 50) and line.startswith("thread ") for line in lines)


def test_colors_only_when_asked() -> None:
    plain, colored = io.StringIO(), io.StringIO()
    ChatPrinter(plain).line("hi", style="agent")
    ChatPrinter(colored, color=True).line("hi", style="agent")
    assert plain.getvalue() == "hi\n"
    assert colored.getvalue().startswith("\x1b[") and "hi" in colored.getvalue()


def test_hostile_answers_and_receipts_never_raise() -> None:
    deep = "[" * 5_000
    assert describe_interactive_response(deep) == deep
    assert describe_interactive_response('["a list"]') == '["a list"]'
    assert describe_interactive(deep) == deep
    out = io.StringIO()
    ChatPrinter(out).receipt(
        Event(id="x", time_stamp="", content_type=ContentType.MESSAGE_READ.value, text=deep),
        read=True,
    )
    assert out.getvalue().endswith("vv read\n")


def test_the_customers_name_is_the_one_the_service_stored() -> None:
    out = io.StringIO()
    printer = ChatPrinter(out, me="Customer")  # the default of --display-name
    joined = Event(id="e1", time_stamp="", content_type=ContentType.JOINED.value,
                   participant="CUSTOMER", display_name="Ann")
    printer.item(joined)
    assert printer.me == "Ann"
    printer.item(message("m-1", "hi", role="CUSTOMER"))
    assert "Ann: hi" in out.getvalue() and "Customer" not in out.getvalue()


def test_a_receipt_quotes_an_interactive_message_by_its_title() -> None:
    out = io.StringIO()
    printer = ChatPrinter(out, me="Ann")
    picker = {"templateType": "ListPicker", "version": "1.0", "data": {"content": {
        "title": "Pick <one>", "elements": [{"title": "A"}, {"title": "B"}]}}}
    printer.item(Message(id="q", time_stamp="", participant="SYSTEM", text=json.dumps(picker),
                         content_type=ContentType.INTERACTIVE_TEXT.value))
    read = ContentType.MESSAGE_READ.value
    printer.receipt(Event(id="q", time_stamp="", content_type=read), read=True)
    assert out.getvalue().splitlines()[-1] == '--:--:--  vv Ann read: "Pick <one>"'
