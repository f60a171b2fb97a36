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

from connect_chat.interactive.parse import parse_interactive_content
from connect_chat.interactive.replies import (
    InteractiveReply,
    carousel_response,
    list_picker_response,
    option_response,
    panel_response,
    quick_reply_response,
    time_picker_response,
    view_resource_response,
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
from connect_chat.interactive.view import ViewResource

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
