"""The transcript's chat picture (``_repr_html_``): sides, names, ticks, files, interactive
messages, and nothing from the chat that the browser could read as markup."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from connect_chat.enums import ContentType, MessageStatus
from connect_chat.html_view import TICKS, render_chat
from connect_chat.models import (
    Event,
    Message,
    Metadata,
    TranscriptData,
    TranscriptItem,
    TranscriptResponse,
)
from connect_chat.transcript import TranscriptView

HOSTILE = '<script>alert("x")</script><img src=x onerror="alert(1)">'
TIME = "2025-05-24T21:41:03.512Z"


def message(text: str, role: str = "AGENT", name: str | None = "Sam", **kw: object) -> Message:
    return Message(id=f"m-{abs(hash((text, role)))}", time_stamp=TIME, participant=role,
                   text=text, display_name=name,
                   content_type=str(kw.pop("content_type", ContentType.PLAIN_TEXT.value)),
                   **kw)  # type: ignore[arg-type]


def with_status(status: MessageStatus) -> Message:
    meta = Metadata(id="mine", time_stamp=TIME, content_type="x", status=status)
    return message("my words", role="CUSTOMER", name="Ann", metadata=meta)


class Markup(HTMLParser):
    """What a browser would see: tags, attributes and text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend(attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(markup: str) -> Markup:
    parser = Markup()
    parser.feed(markup)
    parser.close()
    return parser


def test_hostile_text_names_and_file_names_stay_text() -> None:
    items: list[TranscriptItem] = [
        message(HOSTILE, name='Sam" onmouseover="alert(2)'),
        message("file", role="CUSTOMER", name="Ann", attachment_id="att-1",
                serialized_content={"Attachments": [{"AttachmentName": HOSTILE + ".pdf"}]}),
        Event(id="e", time_stamp=HOSTILE, content_type=ContentType.JOINED.value,
              participant="AGENT", display_name=HOSTILE),
    ]
    markup = render_chat(items)
    page = parse(markup)
    assert set(page.tags) <= {"style", "div", "span"}  # no script, no img
    assert not any(name.startswith("on") for name, _ in page.attributes)
    assert "javascript:" not in markup.lower()
    text = "".join(page.text)
    assert HOSTILE in text  # shown, as text
    assert 'Sam" onmouseover="alert(2) (agent)' in text
    assert HOSTILE + ".pdf" in text


def test_the_customer_is_on_one_side_and_everyone_else_on_the_other() -> None:
    markup = render_chat([
        message("hello", role="CUSTOMER", name="Ann"),
        message("hi Ann", role="AGENT", name="Sam"),
        message("a bot says", role="SYSTEM", name="BOT"),
    ])
    rows = re.findall(r'<div class="cc-row (cc-me|cc-them)">.*?<div class="cc-name">(.*?)</div>'
                      r'<div class="cc-text">(.*?)</div>', markup)
    assert rows == [
        ("cc-me", "Ann", "hello"),
        ("cc-them", "Sam (agent)", "hi Ann"),
        ("cc-them", "BOT (system)", "a bot says"),
    ]


def test_times_are_shown() -> None:
    markup = render_chat([message("hello")])
    assert re.search(r'<div class="cc-meta">\d\d:\d\d:\d\d</div>', markup)


@pytest.mark.parametrize("status", list(TICKS))
def test_the_customers_messages_carry_a_tick_per_status(status: MessageStatus) -> None:
    tick, name = TICKS[status]
    markup = render_chat([with_status(status)])
    assert f'<span class="cc-tick cc-tick-{name}" title="{name}">{tick}</span>' in markup


def test_ticks_tell_sent_delivered_read_and_failed_apart() -> None:
    shown = {status: TICKS[status] for status in TICKS}
    assert len({(tick, name) for tick, name in shown.values()}) == len(shown)
    assert shown[MessageStatus.SENT][0] == "\u2713"
    assert shown[MessageStatus.READ][0] == "\u2713\u2713"
    assert 'class="cc-tick ' not in render_chat([message("theirs")])  # none on incoming


def test_interactive_messages_show_their_title_and_options() -> None:
    picker = {"templateType": "ListPicker", "version": "1.0", "data": {"content": {
        "title": "When <now>?", "subtitle": "pick one",
        "elements": [{"title": "Morning & early"}, {"title": "Evening"}]}}}
    quick = {"templateType": "QuickReply", "version": "1.0", "data": {"content": {
        "title": "Helpful?", "elements": [{"title": "Yes"}, {"title": "No"}]}}}
    times = {"templateType": "TimePicker", "version": "1.0", "data": {"content": {
        "title": "Book a slot", "timeslots": [{"date": "2026-01-02T10:00+00:00",
                                              "duration": 60}]}}}
    interactive = ContentType.INTERACTIVE_TEXT.value
    markup = render_chat([
        message(json.dumps(picker), role="SYSTEM", name="BOT", content_type=interactive),
        message(json.dumps(quick), role="SYSTEM", name="BOT", content_type=interactive),
        message(json.dumps(times), role="SYSTEM", name="BOT", content_type=interactive),
    ])
    assert "templateType" not in markup  # not the JSON
    assert '<div class="cc-title">When &lt;now&gt;?</div>' in markup
    assert '<span class="cc-option">Morning &amp; early</span>' in markup
    assert '<span class="cc-option">Evening</span>' in markup
    assert '<div class="cc-title">Helpful?</div>' in markup
    assert '<span class="cc-option">No</span>' in markup
    assert '<span class="cc-option">2026-01-02T10:00+00:00</span>' in markup
    assert "ListPicker" in markup and "QuickReply" in markup


def test_an_answer_to_a_form_shows_the_choice() -> None:
    answer = {"templateType": "ViewResource", "data": {"content": {"title": "Yes <b>"}}}
    markup = render_chat([message(json.dumps(answer), role="CUSTOMER", name="Ann",
                                  content_type=ContentType.INTERACTIVE_RESPONSE.value)])
    assert "chose: Yes &lt;b&gt;" in markup


def test_events_are_lines_and_receipts_and_typing_are_not_rows() -> None:
    markup = render_chat([
        Event(id="1", time_stamp=TIME, content_type=ContentType.JOINED.value,
              participant="AGENT", display_name="Sam"),
        Event(id="2", time_stamp=TIME, content_type=ContentType.TYPING.value,
              participant="AGENT", display_name="Sam"),
        Event(id="3", time_stamp=TIME, content_type=ContentType.MESSAGE_READ.value,
              participant="AGENT"),
        Metadata(id="4", time_stamp=TIME, content_type="x", status=MessageStatus.READ),
        Event(id="5", time_stamp=TIME, content_type=ContentType.ENDED.value),
    ])
    events = re.findall(r'<div class="cc-event">(.*?) \u00b7', markup)
    assert events == ["Sam joined the chat", "The chat has ended"]


def test_every_transcript_shape_renders_as_the_chat() -> None:
    items = (message("one"), with_status(MessageStatus.READ))
    expected = render_chat(items)
    assert TranscriptResponse(transcript=items)._repr_html_() == expected
    assert TranscriptData(transcript_list=items)._repr_html_() == expected
    assert TranscriptView((items,))._repr_html_() == expected
    assert "<table" not in expected


def test_an_empty_transcript_says_so() -> None:
    assert "No messages yet" in render_chat([])
