"""Interactive messages end to end: every wire-protocol sample parses; views; replies."""

from __future__ import annotations

import json
from typing import Any

import pytest

from connect_chat import ContentType, Message
from connect_chat.interactive import (
    Carousel,
    ListPicker,
    Panel,
    QuickReply,
    TimePicker,
    ViewResource,
    ViewResourceContent,
    list_picker_response,
    parse_interactive_content,
    view_resource_response,
)
from tests.conftest import connected_session
from tests.unit.test_interactive import ALL_SAMPLES

EXPECTED = [ListPicker, QuickReply, TimePicker, Panel, Carousel, ViewResourceContent,
            ViewResourceContent]


@pytest.mark.parametrize("sample, kind", list(zip(ALL_SAMPLES, EXPECTED, strict=True)),
                         ids=[k.__name__ + str(i) for i, k in enumerate(EXPECTED)])
def test_every_template_sample_arrives_parsed(emu: Any, sample: str, kind: type) -> None:
    with connected_session(emu) as chat:
        session, agent = chat.session, chat.agent
        message_id = agent.send_interactive(sample)
        item = session.wait_for(lambda i: i.id == message_id, timeout=5)
        assert isinstance(item, Message)
        assert item.content_type == ContentType.INTERACTIVE_TEXT.value
        assert item.participant == "SYSTEM" and item.display_name == "BOT"
        template = item.interactive
        assert isinstance(template, kind)
        assert template == parse_interactive_content(sample)
        if kind is ViewResourceContent:
            assert item.view_resource == template
        else:
            assert item.view_resource is None
        # The same message read back from GetTranscript (history) parses the same way.
        page = session.get_transcript(max_results=50)
        (again,) = [i for i in page.transcript if i.id == message_id]
        assert isinstance(again, Message) and again.interactive == template
        assert again.view_resource == item.view_resource


def test_a_view_is_described_and_answered(emu: Any) -> None:
    with connected_session(emu) as chat:
        session, details, agent = chat.session, chat.details, chat.agent
        sent = agent.send_view(view_id="confirm", name="Confirm", actions=("submit", "cancel"),
                               template={"Head": {"Title": "Confirm"}},
                               input_schema={"type": "object"}, view_data={"amount": 5})
        item = session.wait_for(lambda i: i.id == sent.message_id, timeout=5)
        view_ref = item.view_resource
        assert isinstance(view_ref, ViewResourceContent)
        assert view_ref.view_id == "confirm" and view_ref.view_token == sent.view_token
        assert view_ref.view_data == {"amount": 5}
        assert view_ref.view_token is not None
        view = session.describe_view(view_ref.view_token)
        assert isinstance(view, ViewResource)
        assert view.name == "Confirm" and view.actions == ("submit", "cancel")
        assert view.template == {"Head": {"Title": "Confirm"}}
        assert view.input_schema == {"type": "object"}
        reply = view_resource_response("submit", {"accepted": True}, view=view)
        answer = session.send_message(reply.content_type, reply.content)
        stored = next(i for i in emu.transcript(details.contact_id) if i["Id"] == answer.id)
        assert stored["ContentType"] == ContentType.INTERACTIVE_RESPONSE.value
        assert json.loads(stored["Content"]) == {
            "templateType": "ViewResource", "version": "1.0", "action": "submit",
            "data": {"accepted": True}}


def test_a_list_picker_is_answered_with_the_option_title(emu: Any) -> None:
    with connected_session(emu) as chat:
        session, details, agent = chat.session, chat.details, chat.agent
        message_id = agent.send_interactive(ALL_SAMPLES[0])
        item = session.wait_for(lambda i: i.id == message_id, timeout=5)
        assert isinstance(item, Message)
        picker = item.interactive
        assert isinstance(picker, ListPicker) and picker.options == ("Apple", "Orange", "Banana")
        reply = list_picker_response(1, picker)
        answer = session.send_message(reply.content_type, reply.content)
        stored = next(i for i in emu.transcript(details.contact_id) if i["Id"] == answer.id)
        assert (stored["ContentType"], stored["Content"]) == ("text/plain", "Orange")


def test_plain_messages_have_no_interactive_content(emu: Any) -> None:
    with connected_session(emu, agent_joins=True) as chat:
        session, agent = chat.session, chat.agent
        message_id = agent.send_message('{"templateType": "ListPicker"}')
        item = session.wait_for(lambda i: i.id == message_id, timeout=5)
        assert isinstance(item, Message)
        assert item.interactive is None and item.view_resource is None
