"""Unit tests of interactive-message parsing, DescribeView results and the customer's replies."""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connect_chat.enums import ContentType
from connect_chat.errors import InvalidInputError
from connect_chat.interactive import (
    Carousel,
    InteractiveReply,
    ListPicker,
    ListPickerElement,
    Location,
    Panel,
    PanelElement,
    QuickReply,
    QuickReplyElement,
    ReplyMessage,
    TimePicker,
    TimeSlot,
    UnknownTemplate,
    ViewResource,
    ViewResourceContent,
    carousel_response,
    list_picker_response,
    option_response,
    panel_response,
    parse_interactive_content,
    quick_reply_response,
    time_picker_response,
    view_resource_response,
)

# -- the samples of wire-protocol.md §6.2.1, verbatim -------------------------------------------

# The ListPicker message envelope (its Content is the JSON string).
LIST_PICKER_ITEM = {
    "AbsoluteTime": "2025-05-24T21:40:12.101Z",
    "Content": "{\"templateIdentifier\":\"uuid\",\"templateType\":\"ListPicker\",\"version\":\"1.0\",\"data\":{\"content\":{\"title\":\"What produce would you like to buy?\",\"subtitle\":\"Tap to select option\",\"imageType\":\"URL\",\"imageData\":\"https://undefined.s3.undefined.amazonaws.com/fruits.jpg\",\"elements\":[{\"title\":\"Apple\",\"subtitle\":\"$1.00\",\"imageType\":\"URL\",\"imageData\":\"https://undefined.s3.undefined.amazonaws.com/apple.jpg\"},{\"title\":\"Orange\",\"subtitle\":\"$1.50\",\"imageType\":\"URL\",\"imageData\":\"https://undefined.s3.undefined.amazonaws.com/orange.jpg\"},{\"title\":\"Banana\",\"subtitle\":\"$2.00\",\"imageType\":\"URL\",\"imageData\":\"https://undefined.s3.undefined.amazonaws.com/banana.jpg\"}]}}}",  # noqa: E501
    "ContentType": "application/vnd.amazonaws.connect.message.interactive",
    "Id": "e1d3bc93-fc72-421b-95f6-13b37626668b",
    "Type": "MESSAGE",
    "ParticipantId": "c8528570-62e6-47d9-ab5d-b6e152a07935",
    "DisplayName": "BOT",
    "ParticipantRole": "SYSTEM",
    "InitialContactId": "f50e4cc0-b825-4da7-849a-27fa75f993de",
    "ContactId": "f50e4cc0-b825-4da7-849a-27fa75f993de",
}
LIST_PICKER = LIST_PICKER_ITEM["Content"]

QUICK_REPLY = '{"templateType":"QuickReply","version":"1.0","data":{"replyMessage":{"title":"Thanks for selecting!"},"content":{"title":"How was your experience?","elements":[{"title":"Great"},{"title":"Good"},{"title":"Ok"},{"title":"Poor"},{"title":"Terrible"}]}}}'  # noqa: E501

TIME_PICKER = '{"templateType":"TimePicker","version":"1.0","data":{"content":{"title":"Schedule appointment","subtitle":"Tap to select option","timeslots":[{"date":"2026-01-02T00:00+00:00","duration":60},{"date":"2026-01-03T00:00+00:00","duration":60},{"date":"2026-01-04T00:00+00:00","duration":60}],"location":{"title":"Oscar","latitude":47.616299,"longitude":-122.333031,"radius":1},"timeZoneOffset":-420}}}'  # noqa: E501

PANEL = '{"templateIdentifier":"uuid","templateType":"Panel","version":"1.0","data":{"content":{"title":"What produce would you like to buy?","subtitle":"Tap to select option","imageType":"URL","imageData":"https://undefined.s3.undefined.amazonaws.com/fruits.jpg","elements":[{"title":"Apple"},{"title":"Orange"},{"title":"Banana"}]}}}'  # noqa: E501


def carousel_sample() -> str:
    """The Android Carousel fixture: five copies of the ListPicker, ids 001..005."""
    elements = []
    for n in range(1, 6):
        element = json.loads(LIST_PICKER)
        element["templateIdentifier"] = f"interactiveCarousel00{n}"
        elements.append(element)
    return json.dumps(
        {
            "templateType": "Carousel",
            "version": "1.0",
            "data": {
                "content": {
                    "title": "Select from produce carousel",
                    "omitTitleFromCarouselResponse": False,
                    "elements": elements,
                }
            },
        }
    )


CAROUSEL = carousel_sample()

VIEW_RESOURCE_IOS = '{"templateType":"ViewResource","data":{"content":{"viewId":"view-123","Actions":["submit","cancel"],"InputSchema":"{}","Template":"{}"}}}'  # noqa: E501

VIEW_RESOURCE_WIDGET = '{"version":"1.0","templateType":"ViewResource","data":{"content":{"viewId":"detail","viewData":{"key":"viewData"},"viewToken":"viewToken"}}}'  # noqa: E501

DESCRIBE_VIEW = {
    "View": {
        "Id": "view-123",
        "Arn": "arn:aws:connect:us-west-2:111122223333:instance/11111111-2222-3333-4444-555555555555/view/view-123",  # noqa: E501
        "Name": "Confirmation",
        "Version": 1,
        "Content": {"InputSchema": "{}", "Template": "{}", "Actions": ["submit", "cancel"]},
    }
}

ALL_SAMPLES = [
    LIST_PICKER,
    QUICK_REPLY,
    TIME_PICKER,
    PANEL,
    CAROUSEL,
    VIEW_RESOURCE_IOS,
    VIEW_RESOURCE_WIDGET,
]

FRUITS = "https://undefined.s3.undefined.amazonaws.com/fruits.jpg"


# -- every sample parses into its typed structure -----------------------------------------------


def test_list_picker_sample() -> None:
    parsed = parse_interactive_content(LIST_PICKER)
    assert isinstance(parsed, ListPicker)
    assert parsed == ListPicker(
        title="What produce would you like to buy?",
        subtitle="Tap to select option",
        image_type="URL",
        image_data=FRUITS,
        elements=(
            ListPickerElement(
                "Apple", "$1.00", "URL", "https://undefined.s3.undefined.amazonaws.com/apple.jpg"
            ),
            ListPickerElement(
                "Orange", "$1.50", "URL", "https://undefined.s3.undefined.amazonaws.com/orange.jpg"
            ),
            ListPickerElement(
                "Banana", "$2.00", "URL", "https://undefined.s3.undefined.amazonaws.com/banana.jpg"
            ),
        ),
        version="1.0",
        template_identifier="uuid",
    )
    assert parsed.template_type == "ListPicker"
    assert parsed.image_url == FRUITS
    assert parsed.options == ("Apple", "Orange", "Banana")
    assert parsed.raw == json.loads(LIST_PICKER)
    assert parsed.data == json.loads(LIST_PICKER)["data"]
    assert parsed.reply_message is None


def test_quick_reply_sample() -> None:
    parsed = parse_interactive_content(QUICK_REPLY)
    assert parsed == QuickReply(
        title="How was your experience?",
        elements=tuple(
            QuickReplyElement(t) for t in ("Great", "Good", "Ok", "Poor", "Terrible")
        ),
        reply_message=ReplyMessage(title="Thanks for selecting!"),
        version="1.0",
    )
    assert isinstance(parsed, QuickReply)
    assert parsed.template_type == "QuickReply"
    assert parsed.options == ("Great", "Good", "Ok", "Poor", "Terrible")


def test_time_picker_sample() -> None:
    parsed = parse_interactive_content(TIME_PICKER)
    assert parsed == TimePicker(
        title="Schedule appointment",
        subtitle="Tap to select option",
        time_zone_offset=-420,
        location=Location(title="Oscar", latitude=47.616299, longitude=-122.333031, radius=1.0),
        time_slots=(
            TimeSlot("2026-01-02T00:00+00:00", 60),
            TimeSlot("2026-01-03T00:00+00:00", 60),
            TimeSlot("2026-01-04T00:00+00:00", 60),
        ),
        version="1.0",
    )
    assert isinstance(parsed, TimePicker)
    assert parsed.template_type == "TimePicker"
    start = parsed.time_slots[0].start
    assert start is not None and (start.year, start.month, start.day) == (2026, 1, 2)
    assert start.utcoffset() is not None


def test_panel_sample() -> None:
    parsed = parse_interactive_content(PANEL)
    assert parsed == Panel(
        title="What produce would you like to buy?",
        subtitle="Tap to select option",
        image_type="URL",
        image_data=FRUITS,
        elements=(PanelElement("Apple"), PanelElement("Orange"), PanelElement("Banana")),
        version="1.0",
        template_identifier="uuid",
    )
    assert isinstance(parsed, Panel)
    assert parsed.template_type == "Panel"
    assert parsed.image_url == FRUITS


def test_carousel_sample() -> None:
    parsed = parse_interactive_content(CAROUSEL)
    assert isinstance(parsed, Carousel)
    assert parsed.template_type == "Carousel"
    assert parsed.title == "Select from produce carousel"
    assert parsed.omit_title_from_carousel_response is False
    assert len(parsed.elements) == 5
    for n, element in enumerate(parsed.elements, start=1):
        assert isinstance(element, ListPicker)
        assert element.template_identifier == f"interactiveCarousel00{n}"
        assert element.options == ("Apple", "Orange", "Banana")


def test_view_resource_ios_sample() -> None:
    parsed = parse_interactive_content(VIEW_RESOURCE_IOS)
    assert isinstance(parsed, ViewResourceContent)
    assert parsed.template_type == "ViewResource"
    assert parsed.view_id == "view-123"
    assert parsed.version is None  # the iOS sample has none: still parsed
    assert parsed.actions == ("submit", "cancel")
    assert parsed.content == json.loads(VIEW_RESOURCE_IOS)["data"]["content"]
    assert parsed.view_token is None


def test_view_resource_widget_sample() -> None:
    parsed = parse_interactive_content(VIEW_RESOURCE_WIDGET)
    assert isinstance(parsed, ViewResourceContent)
    assert (parsed.view_id, parsed.view_token) == ("detail", "viewToken")
    assert parsed.view_data == {"key": "viewData"}
    assert parsed.version == "1.0"


def test_a_decoded_dict_parses_like_the_string() -> None:
    for sample in ALL_SAMPLES:
        from_text = parse_interactive_content(sample)
        from_dict = parse_interactive_content(json.loads(sample))
        assert from_text == from_dict
        assert type(from_text) is type(from_dict)
        assert from_dict is not None and from_dict.raw == json.loads(sample)


def test_bytes_content_parses() -> None:
    assert isinstance(parse_interactive_content(PANEL.encode()), Panel)


def test_old_chatjs_doc_shape_without_data_content() -> None:
    parsed = parse_interactive_content(
        {"templateType": "QuickReply", "version": "1.0",
         "data": {"title": "Pick", "elements": [{"title": "A", "id": "a"}]}}
    )
    assert isinstance(parsed, QuickReply)
    assert parsed.options == ("A",)


def test_reply_message_with_image_fields() -> None:
    template = json.loads(PANEL)
    template["data"]["replyMessage"] = {
        "title": "Thanks", "subtitle": "s", "imageType": "URL", "imageData": "u",
        "imageDescription": "d",
    }
    parsed = parse_interactive_content(template)
    assert isinstance(parsed, Panel)
    assert parsed.reply_message == ReplyMessage("Thanks", "s", "URL", "u", "d")


# -- malformed input never raises ---------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    ["", "not json", "null", "[]", "42", '"text"', "{}", '{"templateType": 5}',
     '{"templateType": ""}', '{"data": {}}', b"\xff\xfe", "{" * 5000],
)
def test_not_a_template_gives_none(content: str | bytes) -> None:
    assert parse_interactive_content(content) is None


def test_unknown_template_type_keeps_the_raw_dict() -> None:
    raw = {"templateType": "Calendar", "version": "2.0", "data": {"content": {"x": 1}}}
    parsed = parse_interactive_content(json.dumps(raw))
    assert isinstance(parsed, UnknownTemplate)
    assert parsed.template_type == "Calendar"
    assert parsed.raw == raw
    assert parsed.data == raw["data"]


@pytest.mark.parametrize(
    "content",
    [
        '{"templateType":"ListPicker"}',  # the iOS #110 test item
        '{"templateType":"ListPicker","version":"1.0","data":"oops"}',
        '{"templateType":"Panel","version":"1.0","data":{"content":[1,2]}}',
        '{"templateType":"ViewResource","data":{}}',
    ],
)
def test_known_template_without_usable_data_is_unknown(content: str) -> None:
    parsed = parse_interactive_content(content)
    assert isinstance(parsed, UnknownTemplate)
    assert parsed.raw == json.loads(content)


def test_type_confused_fields_are_dropped_not_fatal() -> None:
    parsed = parse_interactive_content(
        {"templateType": "TimePicker", "version": 1.0, "data": {"content": {
            "title": ["x"], "subtitle": 7, "timeZoneOffset": "-60",
            "location": "nowhere",
            "timeslots": [{"date": 5, "duration": "90"}, "junk", {"duration": True}, None],
        }}}
    )
    assert isinstance(parsed, TimePicker)
    assert parsed.title == ""
    assert parsed.subtitle == "7"
    assert parsed.version == "1.0"
    assert parsed.time_zone_offset == -60
    assert parsed.location is None
    assert parsed.time_slots == (TimeSlot("5", 90), TimeSlot("", None))
    assert parsed.time_slots[1].start is None


def test_carousel_elements_that_are_not_templates_are_skipped() -> None:
    parsed = parse_interactive_content(
        {"templateType": "Carousel", "version": "1.0", "data": {"content": {
            "title": "t", "omitTitleFromCarouselResponse": "true",
            "elements": [json.loads(PANEL), {"no": "type"}, 3, {"templateType": "Other"}],
        }}}
    )
    assert isinstance(parsed, Carousel)
    assert parsed.omit_title_from_carousel_response is True
    assert [type(e) for e in parsed.elements] == [Panel, UnknownTemplate]


def test_deeply_nested_carousels_stop() -> None:
    template: dict[str, Any] = json.loads(PANEL)
    for _ in range(50):
        template = {"templateType": "Carousel", "data": {"content": {"elements": [template]}}}
    parsed = parse_interactive_content(template)
    assert isinstance(parsed, Carousel)


def test_every_truncation_of_every_sample_is_safe() -> None:
    for sample in ALL_SAMPLES:
        for cut in range(len(sample)):
            result = parse_interactive_content(sample[:cut])
            assert result is None  # a cut JSON text never decodes


def _mutations(value: Any) -> list[Any]:
    """Copies of ``value`` with one node replaced by a wrong-typed value, for each node."""
    junk: list[Any] = [None, 0, -1.5, True, "", "x", [], {}, [None], {"a": None}]
    results: list[Any] = []

    def walk(node: Any, path: list[Any]) -> None:
        for replacement in junk:
            if not path:
                continue
            clone = copy.deepcopy(value)
            target = clone
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = replacement
            results.append(clone)
        if isinstance(node, dict):
            for key, child in node.items():
                walk(child, [*path, key])
        elif isinstance(node, list):
            for index, child in enumerate(node):
                walk(child, [*path, index])

    walk(value, [])
    return results


@pytest.mark.parametrize("sample", [QUICK_REPLY, TIME_PICKER, PANEL, VIEW_RESOURCE_WIDGET])
def test_every_single_field_type_confusion_is_safe(sample: str) -> None:
    for mutated in _mutations(json.loads(sample)):
        result = parse_interactive_content(mutated)
        assert parse_interactive_content(json.dumps(mutated)) == result
        template_type = mutated.get("templateType")
        if isinstance(template_type, str) and template_type:
            # None here would mean the parser itself failed (caught by its safety net).
            assert result is not None
            assert result.template_type == template_type
        else:
            assert result is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(
        st.sampled_from(["templateType", "version", "data", "content", "elements", "title",
                         "timeslots", "date", "duration", "location", "replyMessage", "viewData",
                         "viewId", "x"]),
        children,
        max_size=5,
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(
    template_type=st.sampled_from(
        ["ListPicker", "QuickReply", "TimePicker", "Panel", "Carousel", "ViewResource", "Zz"]
    ),
    data=json_values,
)
def test_random_template_bodies_never_raise(template_type: str, data: Any) -> None:
    result = parse_interactive_content({"templateType": template_type, "data": data})
    assert result is not None
    assert result.template_type == template_type


def test_a_failure_logs_once_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="connect_chat.interactive")
    parse_interactive_content("not json")
    records = [r for r in caplog.records if r.name.startswith("connect_chat.interactive")]
    assert len(records) == 1
    assert records[0].levelno == logging.DEBUG


# -- DescribeView -------------------------------------------------------------------------------


def test_view_resource_from_describe_view() -> None:
    view = ViewResource.from_service(DESCRIBE_VIEW)
    assert view == ViewResource(
        id="view-123",
        name="Confirmation",
        arn=DESCRIBE_VIEW["View"]["Arn"],
        version=1,
        content={"InputSchema": "{}", "Template": "{}", "Actions": ["submit", "cancel"]},
    )
    assert view.content == DESCRIBE_VIEW["View"]["Content"]
    assert view.actions == ("submit", "cancel")
    assert view.template == {} and view.input_schema == {}
    assert ViewResource.from_service(DESCRIBE_VIEW["View"]) == view


def test_view_resource_keeps_only_the_known_content_keys() -> None:
    view = ViewResource.from_service(
        {"View": {"Id": "v", "Content": {"Template": "not json", "Other": 1, "Actions": [1, "ok"]}}}
    )
    assert view.content == {"Template": "not json", "Actions": ["ok"]}
    assert view.template is None
    assert view.version is None and view.name is None


@pytest.mark.parametrize("response", [{}, {"View": None}, {"View": {"Content": {}}}, {"View": 3}])
def test_view_resource_tolerates_thin_responses(response: dict[str, Any]) -> None:
    view = ViewResource.from_service(response)
    assert view.content is None
    assert view.actions == ()


# -- replies ------------------------------------------------------------------------------------


def test_list_picker_reply_is_the_title_as_plain_text() -> None:
    picker = parse_interactive_content(LIST_PICKER)
    assert isinstance(picker, ListPicker)
    assert list_picker_response("Orange", picker) == InteractiveReply(
        ContentType.PLAIN_TEXT, "Orange"
    )
    assert list_picker_response(2, picker).content == "Banana"
    assert list_picker_response("Anything").content == "Anything"


def test_quick_reply_and_panel_replies() -> None:
    quick = parse_interactive_content(QUICK_REPLY)
    panel = parse_interactive_content(PANEL)
    assert isinstance(quick, QuickReply) and isinstance(panel, Panel)
    assert quick_reply_response(0, quick).content == "Great"
    assert panel_response("Apple", panel).content_type is ContentType.PLAIN_TEXT


@pytest.mark.parametrize("choice", ["Kiwi", 3, -1, "", True])
def test_invalid_option_choices_are_rejected(choice: Any) -> None:
    picker = parse_interactive_content(LIST_PICKER)
    assert isinstance(picker, ListPicker)
    with pytest.raises(InvalidInputError):
        option_response(choice, picker)


def test_an_index_needs_the_template() -> None:
    with pytest.raises(InvalidInputError):
        option_response(0)


def test_time_picker_reply_is_the_slot_date() -> None:
    picker = parse_interactive_content(TIME_PICKER)
    assert isinstance(picker, TimePicker)
    assert time_picker_response(1, picker) == InteractiveReply(
        ContentType.PLAIN_TEXT, "2026-01-03T00:00+00:00"
    )
    assert time_picker_response(picker.time_slots[0]).content == "2026-01-02T00:00+00:00"
    with pytest.raises(InvalidInputError):
        time_picker_response("2030-01-01T00:00+00:00", picker)
    with pytest.raises(InvalidInputError):
        time_picker_response(7, picker)


def test_carousel_reply_names_the_card_and_the_choice() -> None:
    carousel = parse_interactive_content(CAROUSEL)
    assert isinstance(carousel, Carousel)
    reply = carousel_response(carousel, 2, "Apple")
    assert reply.content_type is ContentType.PLAIN_TEXT
    assert json.loads(reply.content) == {
        "templateIdentifier": "interactiveCarousel003",
        "listTitle": "What produce would you like to buy?",
        "selectionText": "Apple",
    }
    with pytest.raises(InvalidInputError):
        carousel_response(carousel, 5, "Apple")


def test_view_resource_reply_is_an_interactive_response() -> None:
    view = ViewResource.from_service(DESCRIBE_VIEW)
    reply = view_resource_response("submit", {"name": "Ann"}, view=view)
    assert reply.content_type is ContentType.INTERACTIVE_RESPONSE
    assert json.loads(reply.content) == {
        "templateType": "ViewResource",
        "version": "1.0",
        "action": "submit",
        "data": {"name": "Ann"},
    }
    with pytest.raises(InvalidInputError):
        view_resource_response("delete", view=view)
    with pytest.raises(InvalidInputError):
        view_resource_response("submit", {"big": "x" * 13000})
    with pytest.raises(InvalidInputError):
        view_resource_response("submit", {"bad": object()})
