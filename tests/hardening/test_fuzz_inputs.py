"""Fuzzing what comes from storage, bots and the service outside the chat stream.

A saved chat read back from a cookie or a cache, an interactive message's content written by
a bot, a DescribeView answer, an attachment's file name chosen by the other side: none may
raise anything but the SDK's typed errors, echo a secret, or make the SDK write outside the
directory it was given.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from connect_chat.attachments import safe_destination
from connect_chat.errors import InvalidInputError
from connect_chat.interactive import ViewResource, parse_interactive_content
from connect_chat.resume import SavedChat
from tests.hardening.strategies import json_values
from tests.hardening.support import fuzz

SECRET = "SECRET-token-value-0123456789"

saved_dicts = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={
            "version": st.one_of(st.just(1), json_values),
            "secrets": st.one_of(
                st.fixed_dictionaries({}, optional={
                    "participant_token": st.one_of(st.just(SECRET), json_values),
                    "connection_token": st.one_of(st.just(SECRET), json_values),
                    "websocket_url": st.one_of(
                        st.just(f"wss://h/x?X-Amz-Signature={SECRET}"), json_values),
                }),
                json_values,
            ),
            "contact_id": json_values,
            "region": json_values,
            "endpoint_url": json_values,
            "connection_expiry": json_values,
            "last_item_id": json_values,
        },
    ),
)


@fuzz(500)
@given(saved_dicts)
def test_saved_chat_from_anything_is_a_saved_chat_or_a_typed_error(data: Any) -> None:
    try:
        saved = SavedChat.from_dict(data)
    except InvalidInputError as error:
        assert SECRET not in str(error) and SECRET not in repr(error)
        return
    assert isinstance(saved, SavedChat)
    assert SECRET not in repr(saved)
    assert SECRET not in json.dumps(saved.to_dict(include_secrets=False))
    assert SavedChat.from_dict(saved.to_dict()) == saved


template_like = st.fixed_dictionaries(
    {"templateType": st.one_of(
        st.sampled_from(["ListPicker", "QuickReply", "Panel", "TimePicker", "Carousel",
                         "ViewResource", "Unknown"]), json_values)},
    optional={"version": json_values, "templateIdentifier": json_values,
              "data": st.one_of(json_values, st.fixed_dictionaries({}, optional={
                  "content": json_values, "replyMessage": json_values}))},
)


@fuzz(500)
@given(st.one_of(template_like, template_like.map(json.dumps), json_values,
                 json_values.map(json.dumps), st.text(max_size=100),
                 st.just("[" * 5_000), st.just('{"templateType":' * 5_000)))
def test_interactive_content_never_raises(content: Any) -> None:
    parsed = parse_interactive_content(content)
    repr(parsed)


@fuzz(300)
@given(st.one_of(json_values, st.fixed_dictionaries({}, optional={"View": st.one_of(
    json_values, st.fixed_dictionaries({}, optional={
        "Id": json_values, "Name": json_values, "Arn": json_values, "Version": json_values,
        "Content": st.one_of(json_values, st.fixed_dictionaries({}, optional={
            "Actions": json_values,
            "Template": st.one_of(json_values, st.just("[" * 5_000)),
            "InputSchema": st.one_of(json_values, st.just('{"a":' * 5_000)),
        })),
    }))})))
def test_describe_view_answers_never_raise(response: Any) -> None:
    view = ViewResource.from_service(response)
    repr(view)
    view.actions  # noqa: B018
    view.template  # noqa: B018
    view.input_schema  # noqa: B018


hostile_names = st.one_of(
    st.text(max_size=300),
    st.sampled_from([
        "../../etc/passwd", "/etc/passwd", "..", ".", "", "C:\\Windows\\system32\\x.dll",
        "a/../../b.png", "\x00evil.png", "con", "x" * 1000 + ".png", "ﬁle.png", "~/x",
        "..\\..\\up.txt", " .png", "a.png ", "a" * 300, "./././.", "/", "\\\\server\\share\\f",
    ]),
)


@fuzz(300)
@given(hostile_names)
def test_downloads_never_land_outside_their_directory(tmp_path_factory: Any,
                                                      name: str) -> None:
    root = Path(tmp_path_factory.mktemp("downloads"))
    target = root / "inside"
    path = safe_destination(target, name)
    try:
        assert path.parent == target.resolve()
        assert path.exists() and not path.is_symlink()
        assert len(path.name.encode()) <= 255
        assert os.listdir(root) == ["inside"], "something was written outside the directory"
    finally:
        path.unlink(missing_ok=True)


def test_download_name_never_follows_a_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    target = tmp_path / "inside"
    target.mkdir()
    (target / "report.pdf").symlink_to(outside)
    path = safe_destination(target, "report.pdf")
    assert path.parent == target.resolve() and path.name != "report.pdf"
    assert not outside.exists(), "the reservation followed a symlink out of the directory"


@fuzz(300)
@given(st.one_of(st.text(max_size=100), json_values.map(json.dumps), template_like.map(json.dumps),
                 st.just("[" * 5_000)))
def test_cli_rendering_of_interactive_answers_never_raises(text: str) -> None:
    from connect_chat.cli.render import describe_interactive_response

    assert isinstance(describe_interactive_response(text), str)
