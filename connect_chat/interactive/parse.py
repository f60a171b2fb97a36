"""Lenient parsing of an interactive message's JSON ``Content`` into the typed templates.

Bots and flows write templates by hand: a missing or wrong-typed field becomes ``None``/empty,
an unknown template becomes ``UnknownTemplate``, and input that is not a template gives None.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from connect_chat.interactive.fields import (
    field_bool,
    field_dict,
    field_dicts,
    field_int,
    field_str,
)
from connect_chat.interactive.templates import (
    Carousel,
    InteractiveContent,
    ListPicker,
    ListPickerElement,
    Location,
    Panel,
    PanelElement,
    QuickReply,
    QuickReplyElement,
    ReplyMessage,
    TemplateType,
    TimePicker,
    TimeSlot,
    UnknownTemplate,
    ViewResourceContent,
)

log = logging.getLogger(__name__)


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
    version = field_str(template, "version")
    identifier = field_str(template, "templateIdentifier")
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
    body = field_dict(data, "content")
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
    reply = ReplyMessage.parse(field_dict(data, "replyMessage"))
    return parser(body, reply, common, depth)


def _list_picker(
    body: dict[str, Any], reply: ReplyMessage | None, common: dict[str, Any], depth: int
) -> InteractiveContent:
    return ListPicker(
        title=field_str(body, "title") or "",
        subtitle=field_str(body, "subtitle"),
        image_type=field_str(body, "imageType"),
        image_data=field_str(body, "imageData"),
        image_description=field_str(body, "imageDescription"),
        elements=tuple(ListPickerElement.parse(e) for e in field_dicts(body, "elements")),
        reply_message=reply,
        **common,
    )


def _quick_reply(
    body: dict[str, Any], reply: ReplyMessage | None, common: dict[str, Any], depth: int
) -> InteractiveContent:
    return QuickReply(
        title=field_str(body, "title") or "",
        subtitle=field_str(body, "subtitle"),
        elements=tuple(QuickReplyElement.parse(e) for e in field_dicts(body, "elements")),
        reply_message=reply,
        **common,
    )


def _panel(
    body: dict[str, Any], reply: ReplyMessage | None, common: dict[str, Any], depth: int
) -> InteractiveContent:
    return Panel(
        title=field_str(body, "title") or "",
        subtitle=field_str(body, "subtitle"),
        image_type=field_str(body, "imageType"),
        image_data=field_str(body, "imageData"),
        image_description=field_str(body, "imageDescription"),
        elements=tuple(PanelElement.parse(e) for e in field_dicts(body, "elements")),
        reply_message=reply,
        **common,
    )


def _time_picker(
    body: dict[str, Any], reply: ReplyMessage | None, common: dict[str, Any], depth: int
) -> InteractiveContent:
    return TimePicker(
        title=field_str(body, "title") or "",
        subtitle=field_str(body, "subtitle"),
        time_zone_offset=field_int(body, "timeZoneOffset"),
        location=Location.parse(field_dict(body, "location")),
        time_slots=tuple(TimeSlot.parse(s) for s in field_dicts(body, "timeslots")),
        reply_message=reply,
        **common,
    )


_MAX_NESTING = 4


def _carousel(
    body: dict[str, Any], reply: ReplyMessage | None, common: dict[str, Any], depth: int
) -> InteractiveContent:
    elements: list[InteractiveContent] = []
    if depth < _MAX_NESTING:
        for raw in field_dicts(body, "elements"):
            element = _parse(raw, depth + 1)
            if element is not None:
                elements.append(element)
    return Carousel(
        title=field_str(body, "title") or "",
        omit_title_from_carousel_response=field_bool(body, "omitTitleFromCarouselResponse"),
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
        view_id=field_str(body, "viewId"),
        view_token=field_str(body, "viewToken"),
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
