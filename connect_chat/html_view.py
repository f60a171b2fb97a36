"""The transcript as a chat picture, in HTML, for notebooks (``_repr_html_``).

The customer's messages sit on the right, everyone else's on the left, each with the sender's
name, the time and (for the customer's) status ticks; attachments show as files, interactive
messages as their title and options, events as small centred lines. Everything that comes
from the chat is escaped (text, names, file names, option titles), and the markup carries no
JavaScript and no event-handler attribute: a hostile message cannot run in the notebook.
"""

from __future__ import annotations

import datetime
import html
import json
from collections.abc import Iterable, Mapping
from typing import Any

from connect_chat.enums import ContentType, MessageStatus
from connect_chat.models import Event, Message, TranscriptItem

#: Ticks per status of the customer's own messages (text, tooltip).
TICKS: dict[MessageStatus, tuple[str, str]] = {
    MessageStatus.SENDING: ("\u25f7", "sending"),
    MessageStatus.SENT: ("\u2713", "sent"),
    MessageStatus.DELIVERED: ("\u2713\u2713", "delivered"),
    MessageStatus.READ: ("\u2713\u2713", "read"),
    MessageStatus.FAILED: ("\u26a0 not sent", "failed"),
}

_EVENT_TEXT = {
    ContentType.JOINED.value: "joined the chat",
    ContentType.LEFT.value: "left the chat",
    ContentType.ENDED.value: "The chat has ended",
    ContentType.TRANSFER_SUCCEEDED.value: "The chat was transferred",
    ContentType.TRANSFER_FAILED.value: "The transfer failed",
    ContentType.PARTICIPANT_IDLE.value: "is idle",
    ContentType.PARTICIPANT_RETURNED.value: "is back",
    ContentType.PARTICIPANT_INVITED.value: "was invited",
    ContentType.AUTO_DISCONNECTION.value: "was disconnected for inactivity",
    ContentType.CHAT_REHYDRATED.value: "The chat's history was restored",
    ContentType.PARTICIPANT_DISPLAY_NAME_UPDATED.value: "changed their name",
}

#: Events about the chat itself: no sender in front of the text.
_CHAT_EVENTS = frozenset({
    ContentType.ENDED.value,
    ContentType.TRANSFER_SUCCEEDED.value,
    ContentType.TRANSFER_FAILED.value,
    ContentType.CHAT_REHYDRATED.value,
})

_STYLE = """<style>
.cc-chat{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:13px;
max-width:640px;padding:8px;background:#f4f5f7;border-radius:8px;color:#1d1d1f}
.cc-row{display:flex;margin:4px 0}.cc-me{justify-content:flex-end}
.cc-them{justify-content:flex-start}
.cc-bubble{max-width:75%;padding:6px 10px;border-radius:12px;background:#fff;
box-shadow:0 1px 1px rgba(0,0,0,.08)}
.cc-me .cc-bubble{background:#d7ecff;border-bottom-right-radius:3px}
.cc-them .cc-bubble{border-bottom-left-radius:3px}
.cc-name{font-weight:600;font-size:11px;color:#555;margin-bottom:2px}
.cc-text{white-space:pre-wrap;overflow-wrap:anywhere}
.cc-meta{font-size:10px;color:#777;text-align:right;margin-top:2px}
.cc-tick-read{color:#1a7fd4}.cc-tick-failed{color:#c62828}
.cc-file{font-style:italic}
.cc-badge{font-size:10px;text-transform:uppercase;border:1px solid #999;color:#555;
border-radius:3px;padding:0 3px}
.cc-title{font-weight:600}.cc-subtitle{color:#555;font-size:12px}
.cc-options{margin-top:4px;display:flex;flex-wrap:wrap;gap:4px}
.cc-option{border:1px solid #1a7fd4;color:#1a7fd4;border-radius:10px;padding:1px 8px;
font-size:12px}
.cc-event{text-align:center;color:#777;font-size:11px;margin:6px 0}
</style>"""


def render_chat(items: Iterable[TranscriptItem]) -> str:
    """The items (a transcript, a history page) as one HTML chat; receipts and typing
    indicators show through ticks, not as rows."""
    rows = [row for row in (_row(item) for item in items) if row]
    if not rows:
        rows = ['<div class="cc-event">No messages yet</div>']
    return f'{_STYLE}<div class="cc-chat">{"".join(rows)}</div>'


def _row(item: TranscriptItem) -> str:
    if isinstance(item, Message):
        return _message(item)
    if isinstance(item, Event):
        return _event(item)
    return ""  # receipt metadata: shown as the message's ticks


def _message(item: Message) -> str:
    mine = item.participant == "CUSTOMER"
    who = item.display_name or _role(item.participant) or "someone"
    if not mine and item.participant and item.display_name:
        who = f"{item.display_name} ({_role(item.participant)})"
    meta = _e(_time(item.time_stamp))
    if mine and item.status in TICKS:
        assert item.status is not None
        tick, name = TICKS[item.status]
        meta += f' <span class="cc-tick cc-tick-{name}" title="{name}">{_e(tick)}</span>'
    return (
        f'<div class="cc-row {"cc-me" if mine else "cc-them"}">'
        f'<div class="cc-bubble" title="{_e(item.time_stamp)}">'
        f'<div class="cc-name">{_e(who)}</div>{_body(item)}'
        f'<div class="cc-meta">{meta}</div></div></div>'
    )


def _body(item: Message) -> str:
    name = item.attachment_name
    if item.attachment_id is not None or name is not None:
        return (
            '<div class="cc-text"><span class="cc-badge">file</span> '
            f'<span class="cc-file">{_e(name or item.text or "a file")}</span></div>'
        )
    if item.content_type == ContentType.INTERACTIVE_TEXT.value:
        return _interactive(item)
    if item.content_type == ContentType.INTERACTIVE_RESPONSE.value:
        return f'<div class="cc-text">{_e(_chosen(item.text))}</div>'
    return f'<div class="cc-text">{_e(item.text)}</div>'


def _interactive(item: Message) -> str:
    """A template as what it asks: its title, subtitle and choices (options, slots, panels)."""
    template = item.interactive
    if template is None:
        return f'<div class="cc-text">{_e(item.text)}</div>'
    title = getattr(template, "title", None)
    subtitle = getattr(template, "subtitle", None)
    choices: list[str] = list(getattr(template, "options", ()) or ())
    if not choices:
        choices = [slot.date for slot in getattr(template, "time_slots", ())]
    if not choices:
        elements = getattr(template, "elements", ())
        choices = [str(getattr(element, "title", "") or "") for element in elements]
    kind = str(template.template_type)
    parts = [f'<div class="cc-subtitle">{_e(kind)}</div>']
    if title:
        parts.append(f'<div class="cc-title">{_e(title)}</div>')
    if subtitle:
        parts.append(f'<div class="cc-subtitle">{_e(subtitle)}</div>')
    options = "".join(f'<span class="cc-option">{_e(c)}</span>' for c in choices if c)
    if options:
        parts.append(f'<div class="cc-options">{options}</div>')
    return "".join(parts)


def _event(item: Event) -> str:
    what = _EVENT_TEXT.get(item.content_type)
    if what is None:
        return ""  # typing, receipts
    if item.content_type not in _CHAT_EVENTS:
        what = f"{item.display_name or _role(item.participant) or 'someone'} {what}"
    return f'<div class="cc-event">{_e(what)} \u00b7 {_e(_time(item.time_stamp))}</div>'


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _role(role: str | None) -> str:
    return (role or "").lower()


def _time(time_stamp: str) -> str:
    """``HH:MM:SS`` local time of a service timestamp (the raw text if it does not parse)."""
    try:
        moment = datetime.datetime.fromisoformat(time_stamp.replace("Z", "+00:00"))
    except ValueError:
        return time_stamp
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    return moment.strftime("%H:%M:%S")


def _chosen(text: str) -> str:
    """An ``interactive.response``: what was chosen (``data.content.title``), else the text."""
    try:
        answer: Any = json.loads(text)
    except (ValueError, RecursionError):
        return text
    data = answer.get("data") if isinstance(answer, Mapping) else None
    content = data.get("content") if isinstance(data, Mapping) else None
    title = content.get("title") if isinstance(content, Mapping) else None
    return f"chose: {title}" if isinstance(title, str) else text
