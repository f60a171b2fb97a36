"""The interactive templates as typed classes (what ``parse_interactive_content`` returns)."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping
from typing import Any, Union

import attrs

from connect_chat.interactive.fields import (
    field_float,
    field_int,
    field_str,
    field_strs,
)

log = logging.getLogger(__name__)


class TemplateType:
    """The ``templateType`` values the clients know (plain strings, as on the wire)."""

    LIST_PICKER = "ListPicker"
    QUICK_REPLY = "QuickReply"
    TIME_PICKER = "TimePicker"
    PANEL = "Panel"
    CAROUSEL = "Carousel"
    VIEW_RESOURCE = "ViewResource"


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
            title=field_str(raw, "title"),
            subtitle=field_str(raw, "subtitle"),
            image_type=field_str(raw, "imageType"),
            image_data=field_str(raw, "imageData"),
            image_description=field_str(raw, "imageDescription"),
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
            title=field_str(raw, "title") or "",
            subtitle=field_str(raw, "subtitle"),
            image_type=field_str(raw, "imageType"),
            image_data=field_str(raw, "imageData"),
            image_description=field_str(raw, "imageDescription"),
        )


@attrs.frozen
class QuickReplyElement:
    """One button of a QuickReply."""

    title: str

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> QuickReplyElement:
        return cls(title=field_str(raw, "title") or "")


@attrs.frozen
class PanelElement:
    """One option of a Panel (text only)."""

    title: str

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> PanelElement:
        return cls(title=field_str(raw, "title") or "")


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
        return cls(date=field_str(raw, "date") or "", duration=field_int(raw, "duration"))


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
            title=field_str(raw, "title"),
            latitude=field_float(raw, "latitude"),
            longitude=field_float(raw, "longitude"),
            radius=field_float(raw, "radius"),
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
        return field_strs(self.content, "Actions")


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
