"""Interactive messages: typed templates, the DescribeView result, and the customer's replies.

An interactive message (``application/vnd.amazonaws.connect.message.interactive``) carries a
JSON ``Content`` with ``templateType``, ``version``, an optional ``templateIdentifier`` and
``data`` (``data.content`` plus an optional ``data.replyMessage``). Bots and flows write these
by hand, so parsing is lenient: a missing or wrong-typed field becomes ``None``/empty instead
of an error, an unknown template becomes :class:`UnknownTemplate`, and input that is not a
template at all gives ``None``. Nothing here raises on what the service sends.

Replies are what the real clients send (see :class:`InteractiveReply`): a picked option is an
ordinary text message carrying the option's title; only a ViewResource form (and the hosted
widget's paging buttons) use ``interactive.response``.
"""

from __future__ import annotations

import datetime
import json
import logging
import math
from collections.abc import Mapping
from typing import Any, Union

import attrs

from connect_chat.enums import MESSAGE_CONTENT_LIMITS, ContentType
from connect_chat.errors import InvalidInputError

__all__ = [
    "Carousel",
    "InteractiveContent",
    "InteractiveReply",
    "ListPicker",
    "ListPickerElement",
    "Location",
    "Panel",
    "PanelElement",
    "QuickReply",
    "QuickReplyElement",
    "ReplyMessage",
    "TemplateType",
    "TimePicker",
    "TimeSlot",
    "UnknownTemplate",
    "ViewResource",
    "ViewResourceContent",
    "carousel_response",
    "list_picker_response",
    "option_response",
    "panel_response",
    "parse_interactive_content",
    "quick_reply_response",
    "time_picker_response",
    "view_resource_response",
]

log = logging.getLogger(__name__)



class TemplateType:
    """The ``templateType`` values the clients know (plain strings, as on the wire)."""

    LIST_PICKER = "ListPicker"
    QUICK_REPLY = "QuickReply"
    TIME_PICKER = "TimePicker"
    PANEL = "Panel"
    CAROUSEL = "Carousel"
    VIEW_RESOURCE = "ViewResource"


# -- lenient field readers ----------------------------------------------------------------------


def _str(source: Mapping[str, Any], key: str) -> str | None:
    value = source.get(key)
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def _int(source: Mapping[str, Any], key: str) -> int | None:
    value = source.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    if isinstance(value, str):
        try:
            return int(float(value.strip()))
        except (ValueError, OverflowError):
            return None
    return None


def _float(source: Mapping[str, Any], key: str) -> float | None:
    value = source.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        result = float(value)
    elif isinstance(value, str):
        try:
            result = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return result if math.isfinite(result) else None


def _bool(source: Mapping[str, Any], key: str) -> bool | None:
    value = source.get(key)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _dict(source: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    value = source.get(key)
    return value if isinstance(value, dict) else None


def _dicts(source: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    value = source.get(key)
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict)]


def _strs(source: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = source.get(key)
    if not isinstance(value, list):
        return ()
    return tuple(item for item in value if isinstance(item, str))


# -- elements -----------------------------------------------------------------------------------


@attrs.frozen
class ReplyMessage:
    """``data.replyMessage``: what the client shows as the customer's bubble after a choice."""

    title: str | None = None
    subtitle: str | None = None
    image_type: str | None = None
    image_data: str | None = None
    image_description: str | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any] | None) -> ReplyMessage | None:
        if raw is None:
            return None
        return cls(
            title=_str(raw, "title"),
            subtitle=_str(raw, "subtitle"),
            image_type=_str(raw, "imageType"),
            image_data=_str(raw, "imageData"),
            image_description=_str(raw, "imageDescription"),
        )


@attrs.frozen
class ListPickerElement:
    """One option of a ListPicker."""

    title: str
    subtitle: str | None = None
    image_type: str | None = None
    image_data: str | None = None
    image_description: str | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> ListPickerElement:
        return cls(
            title=_str(raw, "title") or "",
            subtitle=_str(raw, "subtitle"),
            image_type=_str(raw, "imageType"),
            image_data=_str(raw, "imageData"),
            image_description=_str(raw, "imageDescription"),
        )


@attrs.frozen
class QuickReplyElement:
    """One button of a QuickReply."""

    title: str

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> QuickReplyElement:
        return cls(title=_str(raw, "title") or "")


@attrs.frozen
class PanelElement:
    """One option of a Panel (text only)."""

    title: str

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> PanelElement:
        return cls(title=_str(raw, "title") or "")


@attrs.frozen
class TimeSlot:
    """One offered appointment: ``date`` as sent (ISO-8601), ``duration`` in minutes."""

    date: str
    duration: int | None = None

    @property
    def start(self) -> datetime.datetime | None:
        """``date`` parsed, or ``None`` if it is not ISO-8601."""
        text = self.date.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            return datetime.datetime.fromisoformat(text)
        except ValueError:
            return None

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> TimeSlot:
        return cls(date=_str(raw, "date") or "", duration=_int(raw, "duration"))


@attrs.frozen
class Location:
    """A TimePicker's meeting place."""

    title: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    radius: float | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any] | None) -> Location | None:
        if raw is None:
            return None
        return cls(
            title=_str(raw, "title"),
            latitude=_float(raw, "latitude"),
            longitude=_float(raw, "longitude"),
            radius=_float(raw, "radius"),
        )


# -- templates ----------------------------------------------------------------------------------
# Every template keeps ``template_type``, ``version``, ``template_identifier``, the template's
# ``data`` object as sent, and ``raw`` (the whole decoded Content); ``data`` and ``raw`` stay
# out of ``repr`` and equality.


@attrs.frozen
class ListPicker:
    """A list of options, each with an optional subtitle and image."""

    title: str
    subtitle: str | None = None
    image_type: str | None = None
    image_data: str | None = None
    image_description: str | None = None
    elements: tuple[ListPickerElement, ...] = ()
    reply_message: ReplyMessage | None = None
    version: str | None = None
    template_identifier: str | None = None
    data: dict[str, Any] = attrs.field(repr=False, eq=False, factory=dict)
    raw: dict[str, Any] = attrs.field(repr=False, eq=False, factory=dict)
    template_type: str = attrs.field(default=TemplateType.LIST_PICKER, init=False)

    @property
    def image_url(self) -> str | None:
        """The header image (``imageData``), as iOS and Android expose it."""
        return self.image_data

    @property
    def options(self) -> tuple[str, ...]:
        """The option titles, in order."""
        return tuple(e.title for e in self.elements)


@attrs.frozen
class QuickReply:
    """A question with a row of short answer buttons."""

    title: str
    subtitle: str | None = None
    elements: tuple[QuickReplyElement, ...] = ()
    reply_message: ReplyMessage | None = None
    version: str | None = None
    template_identifier: str | None = None
    data: dict[str, Any] = attrs.field(repr=False, eq=False, factory=dict)
    raw: dict[str, Any] = attrs.field(repr=False, eq=False, factory=dict)
    template_type: str = attrs.field(default=TemplateType.QUICK_REPLY, init=False)

    @property
    def options(self) -> tuple[str, ...]:
        """The button titles, in order."""
        return tuple(e.title for e in self.elements)


@attrs.frozen
class Panel:
    """A header (title, image) over a list of text-only options."""

    title: str
    subtitle: str | None = None
    image_type: str | None = None
    image_data: str | None = None
    image_description: str | None = None
    elements: tuple[PanelElement, ...] = ()
    reply_message: ReplyMessage | None = None
    version: str | None = None
    template_identifier: str | None = None
    data: dict[str, Any] = attrs.field(repr=False, eq=False, factory=dict)
    raw: dict[str, Any] = attrs.field(repr=False, eq=False, factory=dict)
    template_type: str = attrs.field(default=TemplateType.PANEL, init=False)

    @property
    def image_url(self) -> str | None:
        """The header image (``imageData``)."""
        return self.image_data

    @property
    def options(self) -> tuple[str, ...]:
        """The option titles, in order."""
        return tuple(e.title for e in self.elements)


@attrs.frozen
class TimePicker:
    """Appointment slots to choose from, with an optional place and display time zone."""

    title: str
    subtitle: str | None = None
    time_zone_offset: int | None = None
    location: Location | None = None
    time_slots: tuple[TimeSlot, ...] = ()
    reply_message: ReplyMessage | None = None
    version: str | None = None
    template_identifier: str | None = None
    data: dict[str, Any] = attrs.field(repr=False, eq=False, factory=dict)
    raw: dict[str, Any] = attrs.field(repr=False, eq=False, factory=dict)
    template_type: str = attrs.field(default=TemplateType.TIME_PICKER, init=False)


@attrs.frozen
class Carousel:
    """Several full templates (ListPicker or Panel) side by side."""

    title: str
    omit_title_from_carousel_response: bool | None = None
    elements: tuple[InteractiveContent, ...] = ()
    reply_message: ReplyMessage | None = None
    version: str | None = None
    template_identifier: str | None = None
    data: dict[str, Any] = attrs.field(repr=False, eq=False, factory=dict)
    raw: dict[str, Any] = attrs.field(repr=False, eq=False, factory=dict)
    template_type: str = attrs.field(default=TemplateType.CAROUSEL, init=False)


@attrs.frozen
class ViewResourceContent:
    """A "Show view" message: a form the client renders from a view (see ``describe_view``).

    ``view_token`` is what DescribeView needs; ``view_data`` the runtime input (an object or
    a JSON string, as sent); ``content`` the whole ``data.content`` object (iOS keeps it all).
    """

    view_id: str | None = None
    view_token: str | None = None
    view_data: dict[str, Any] | str | None = attrs.field(default=None, hash=False)
    content: dict[str, Any] = attrs.field(factory=dict, hash=False)
    version: str | None = None
    template_identifier: str | None = None
    data: dict[str, Any] = attrs.field(repr=False, eq=False, factory=dict)
    raw: dict[str, Any] = attrs.field(repr=False, eq=False, factory=dict)
    template_type: str = attrs.field(default=TemplateType.VIEW_RESOURCE, init=False)

    @property
    def actions(self) -> tuple[str, ...]:
        """``Actions`` when the message carries them inline (the iOS test shape)."""
        return _strs(self.content, "Actions")


@attrs.frozen
class UnknownTemplate:
    """A template this SDK does not model (or a known one too damaged to read)."""

    template_type: str
    version: str | None = None
    template_identifier: str | None = None
    data: dict[str, Any] = attrs.field(repr=False, hash=False, factory=dict)
    raw: dict[str, Any] = attrs.field(repr=False, eq=False, factory=dict)


InteractiveContent = Union[  # noqa: UP007 - a runtime alias must work on 3.10
    ListPicker, QuickReply, TimePicker, Panel, Carousel, ViewResourceContent, UnknownTemplate
]


# -- parsing ------------------------------------------------------------------------------------


def parse_interactive_content(
    content: str | bytes | Mapping[str, Any],
) -> InteractiveContent | None:
    """Decode an interactive message's ``Content`` into its template; never raises.

    Returns ``None`` when the input is not a template (not JSON, not an object, no
    ``templateType``), and :class:`UnknownTemplate` for a template type this SDK does not
    model or whose ``data`` is unusable.
    """
    try:
        return _parse(content, depth=0)
    except Exception as exc:  # a parser bug must not break message delivery
        log.debug("interactive content not parsed: %s", type(exc).__name__)
        return None


def _parse(content: object, depth: int) -> InteractiveContent | None:
    template: Any = content
    if isinstance(content, (str, bytes, bytearray)):
        try:
            template = json.loads(content)
        except (ValueError, RecursionError):
            log.debug("interactive content is not JSON")
            return None
    if not isinstance(template, Mapping):
        log.debug("interactive content is not a JSON object")
        return None
    template = dict(template)
    template_type = template.get("templateType")
    if not isinstance(template_type, str) or not template_type:
        log.debug("interactive content has no templateType")
        return None
    version = _str(template, "version")
    identifier = _str(template, "templateIdentifier")
    data = template.get("data")
    unknown = UnknownTemplate(
        template_type=template_type,
        version=version,
        template_identifier=identifier,
        data=data if isinstance(data, dict) else {},
        raw=template,
    )
    parser = _PARSERS.get(template_type)
    if parser is None:
        log.debug("unknown interactive template type %r", template_type)
        return unknown
    if not isinstance(data, dict):
        log.debug("%s template without a data object", template_type)
        return unknown
    body = _dict(data, "content")
    if body is None:
        # Old ChatJS documentation puts the fields straight into ``data``.
        body = data if ("title" in data or "elements" in data or "viewId" in data) else None
    if body is None:
        log.debug("%s template without data.content", template_type)
        return unknown
    common: dict[str, Any] = {
        "version": version,
        "template_identifier": identifier,
        "data": data,
        "raw": template,
    }
    reply = ReplyMessage.parse(_dict(data, "replyMessage"))
    return parser(body, reply, common, depth)


def _list_picker(
    body: dict[str, Any], reply: ReplyMessage | None, common: dict[str, Any], depth: int
) -> InteractiveContent:
    return ListPicker(
        title=_str(body, "title") or "",
        subtitle=_str(body, "subtitle"),
        image_type=_str(body, "imageType"),
        image_data=_str(body, "imageData"),
        image_description=_str(body, "imageDescription"),
        elements=tuple(ListPickerElement.parse(e) for e in _dicts(body, "elements")),
        reply_message=reply,
        **common,
    )


def _quick_reply(
    body: dict[str, Any], reply: ReplyMessage | None, common: dict[str, Any], depth: int
) -> InteractiveContent:
    return QuickReply(
        title=_str(body, "title") or "",
        subtitle=_str(body, "subtitle"),
        elements=tuple(QuickReplyElement.parse(e) for e in _dicts(body, "elements")),
        reply_message=reply,
        **common,
    )


def _panel(
    body: dict[str, Any], reply: ReplyMessage | None, common: dict[str, Any], depth: int
) -> InteractiveContent:
    return Panel(
        title=_str(body, "title") or "",
        subtitle=_str(body, "subtitle"),
        image_type=_str(body, "imageType"),
        image_data=_str(body, "imageData"),
        image_description=_str(body, "imageDescription"),
        elements=tuple(PanelElement.parse(e) for e in _dicts(body, "elements")),
        reply_message=reply,
        **common,
    )


def _time_picker(
    body: dict[str, Any], reply: ReplyMessage | None, common: dict[str, Any], depth: int
) -> InteractiveContent:
    return TimePicker(
        title=_str(body, "title") or "",
        subtitle=_str(body, "subtitle"),
        time_zone_offset=_int(body, "timeZoneOffset"),
        location=Location.parse(_dict(body, "location")),
        time_slots=tuple(TimeSlot.parse(s) for s in _dicts(body, "timeslots")),
        reply_message=reply,
        **common,
    )


_MAX_NESTING = 4


def _carousel(
    body: dict[str, Any], reply: ReplyMessage | None, common: dict[str, Any], depth: int
) -> InteractiveContent:
    elements: list[InteractiveContent] = []
    if depth < _MAX_NESTING:
        for raw in _dicts(body, "elements"):
            element = _parse(raw, depth + 1)
            if element is not None:
                elements.append(element)
    return Carousel(
        title=_str(body, "title") or "",
        omit_title_from_carousel_response=_bool(body, "omitTitleFromCarouselResponse"),
        elements=tuple(elements),
        reply_message=reply,
        **common,
    )


def _view_resource(
    body: dict[str, Any], reply: ReplyMessage | None, common: dict[str, Any], depth: int
) -> InteractiveContent:
    view_data = body.get("viewData")
    if not isinstance(view_data, (dict, str)):
        view_data = None
    return ViewResourceContent(
        view_id=_str(body, "viewId"),
        view_token=_str(body, "viewToken"),
        view_data=view_data,
        content=body,
        **common,
    )


_PARSERS = {
    TemplateType.LIST_PICKER: _list_picker,
    TemplateType.QUICK_REPLY: _quick_reply,
    TemplateType.PANEL: _panel,
    TemplateType.TIME_PICKER: _time_picker,
    TemplateType.CAROUSEL: _carousel,
    TemplateType.VIEW_RESOURCE: _view_resource,
}


# -- DescribeView -------------------------------------------------------------------------------


@attrs.frozen
class ViewResource:
    """A view as DescribeView returns it (iOS ``ViewResource``).

    ``content`` keeps only the keys the service defines and that are present: ``Actions``
    (list of strings), ``InputSchema`` and ``Template`` (JSON documents as strings); it is
    ``None`` when none is present.
    """

    id: str | None = None
    name: str | None = None
    arn: str | None = None
    version: int | None = None
    content: dict[str, Any] | None = attrs.field(default=None, hash=False)

    @classmethod
    def from_service(cls, response: Mapping[str, Any]) -> ViewResource:
        """Build from a DescribeView response (``{"View": {...}}``) or its ``View`` object."""
        view = response.get("View", response) if isinstance(response, Mapping) else {}
        if not isinstance(view, Mapping):
            view = {}
        raw_content = view.get("Content")
        content: dict[str, Any] | None = None
        if isinstance(raw_content, Mapping):
            content = {}
            actions = raw_content.get("Actions")
            if isinstance(actions, list):
                content["Actions"] = [a for a in actions if isinstance(a, str)]
            for key in ("InputSchema", "Template"):
                if isinstance(raw_content.get(key), str):
                    content[key] = raw_content[key]
            content = content or None
        return cls(
            id=_str(view, "Id"),
            name=_str(view, "Name"),
            arn=_str(view, "Arn"),
            version=_int(view, "Version"),
            content=content,
        )

    @property
    def actions(self) -> tuple[str, ...]:
        """The view's actions (for example ``("submit", "cancel")``)."""
        return _strs(self.content or {}, "Actions")

    @property
    def template(self) -> Any:
        """``Content.Template`` decoded from JSON (``None`` if absent or not JSON)."""
        return _json_or_none((self.content or {}).get("Template"))

    @property
    def input_schema(self) -> Any:
        """``Content.InputSchema`` decoded from JSON (``None`` if absent or not JSON)."""
        return _json_or_none((self.content or {}).get("InputSchema"))


def _json_or_none(text: object) -> Any:
    if not isinstance(text, str):
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: hostile nesting depth
        return None


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
