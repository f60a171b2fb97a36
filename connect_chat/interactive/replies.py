"""The customer's replies to interactive messages (what the real clients send)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import attrs

from connect_chat.enums import MESSAGE_CONTENT_LIMITS, ContentType
from connect_chat.errors import InvalidInputError
from connect_chat.interactive.templates import (
    Carousel,
    ListPicker,
    Panel,
    QuickReply,
    TemplateType,
    TimePicker,
    TimeSlot,
)
from connect_chat.interactive.view import ViewResource

log = logging.getLogger(__name__)


# -- the customer's replies ---------------------------------------------------------------------


@attrs.frozen
class InteractiveReply:
    """A SendMessage the customer makes to answer an interactive message.

    Use: ``session.send_message(reply.content_type, reply.content)``. The shapes are what the
    real clients send (wire-protocol §6.2.1): a picked option is a plain-text message with the
    option's title (Amazon's hosted widget; the Android sample app uses markdown), a carousel
    choice is plain text holding ``{"templateIdentifier", "listTitle", "selectionText"}``, a
    time slot is plain text holding the slot's ``date`` (hosted widget's TimePicker), and a
    view form is ``interactive.response`` with ``{"templateType":"ViewResource", ...}``.
    """

    content_type: ContentType
    content: str


def _text_reply(text: str, what: str) -> InteractiveReply:
    if not isinstance(text, str) or not text.strip():
        raise InvalidInputError(f"{what} must be a non-empty string")
    limit = MESSAGE_CONTENT_LIMITS[ContentType.PLAIN_TEXT.value]
    if len(text) > limit:
        raise InvalidInputError(f"{what} is {len(text)} characters; the limit is {limit}")
    return InteractiveReply(ContentType.PLAIN_TEXT, text)


def _pick(
    template: ListPicker | QuickReply | Panel | None, choice: str | int, what: str
) -> str:
    options = template.options if template is not None else None
    if isinstance(choice, bool) or not isinstance(choice, (str, int)):
        raise InvalidInputError(f"{what}: choose an option by title or index")
    if isinstance(choice, int):
        if options is None:
            raise InvalidInputError(f"{what}: an index needs the template")
        if not 0 <= choice < len(options):
            raise InvalidInputError(f"{what}: no option {choice} (there are {len(options)})")
        return options[choice]
    if options is not None and choice not in options:
        raise InvalidInputError(f"{what}: {choice!r} is not one of the options")
    return choice


def option_response(
    choice: str | int, template: ListPicker | QuickReply | Panel | None = None
) -> InteractiveReply:
    """Reply with an option of a ListPicker, QuickReply or Panel (by title, or by index).

    With ``template`` given the choice is checked against its options.
    """
    return _text_reply(_pick(template, choice, "option"), "option title")


def list_picker_response(
    choice: str | int, template: ListPicker | None = None
) -> InteractiveReply:
    """Reply to a ListPicker: the chosen element's title as a text message."""
    return option_response(choice, template)


def quick_reply_response(
    choice: str | int, template: QuickReply | None = None
) -> InteractiveReply:
    """Reply to a QuickReply: the chosen button's title as a text message."""
    return option_response(choice, template)


def panel_response(choice: str | int, template: Panel | None = None) -> InteractiveReply:
    """Reply to a Panel: the chosen option's title as a text message."""
    return option_response(choice, template)


def time_picker_response(
    slot: TimeSlot | str | int, template: TimePicker | None = None
) -> InteractiveReply:
    """Reply to a TimePicker with a slot (a :class:`TimeSlot`, its ``date``, or an index)."""
    if isinstance(slot, TimeSlot):
        date = slot.date
    elif isinstance(slot, int) and not isinstance(slot, bool):
        if template is None or not 0 <= slot < len(template.time_slots):
            raise InvalidInputError(f"time slot: no slot {slot}")
        date = template.time_slots[slot].date
    elif isinstance(slot, str):
        date = slot
    else:
        raise InvalidInputError("time slot: give a TimeSlot, its date or an index")
    if template is not None and date not in {s.date for s in template.time_slots}:
        raise InvalidInputError(f"time slot: {date!r} is not one of the offered slots")
    return _text_reply(date, "time slot date")


def carousel_response(
    carousel: Carousel,
    element: int,
    choice: str | int,
) -> InteractiveReply:
    """Reply to a Carousel: pick option ``choice`` of the ``element``-th card."""
    if not 0 <= element < len(carousel.elements):
        raise InvalidInputError(f"carousel: no card {element} (there are {len(carousel.elements)})")
    card = carousel.elements[element]
    if not isinstance(card, (ListPicker, Panel, QuickReply)):
        raise InvalidInputError(f"carousel: card {element} is a {card.template_type}")
    selection = _pick(card, choice, "carousel option")
    payload = {
        "templateIdentifier": card.template_identifier or "",
        "listTitle": "" if carousel.omit_title_from_carousel_response else card.title,
        "selectionText": selection,
    }
    return _text_reply(json.dumps(payload, separators=(",", ":")), "carousel reply")


def view_resource_response(
    action: str,
    data: Mapping[str, Any] | None = None,
    *,
    version: str = "1.0",
    view: ViewResource | None = None,
) -> InteractiveReply:
    """Reply to a ViewResource form: ``interactive.response`` with the action and its output.

    With ``view`` given, ``action`` must be one of the view's actions (when it lists any).
    """
    if not isinstance(action, str) or not action:
        raise InvalidInputError("view action must be a non-empty string")
    if view is not None and view.actions and action not in view.actions:
        raise InvalidInputError(f"view action {action!r} is not one of {list(view.actions)}")
    payload = {
        "templateType": TemplateType.VIEW_RESOURCE,
        "version": version,
        "action": action,
        "data": dict(data or {}),
    }
    try:
        content = json.dumps(payload, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"view output is not JSON-serialisable: {exc}") from None
    limit = MESSAGE_CONTENT_LIMITS[ContentType.INTERACTIVE_RESPONSE.value]
    if len(content) > limit:
        raise InvalidInputError(f"view response is {len(content)} characters; the limit is {limit}")
    return InteractiveReply(ContentType.INTERACTIVE_RESPONSE, content)
