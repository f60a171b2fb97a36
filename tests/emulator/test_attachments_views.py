"""Attachments through pre-signed-style URLs, interactive messages and DescribeView."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from connect_chat.emulator import Emulator
from connect_chat.enums import ContentType
from tests.emulator.conftest import Customer, Socket, connect_customer

DATA = b"hello attachment"


def _start_upload(acps: Any, customer: Customer, **overrides: Any) -> dict[str, Any]:
    params = {
        "ConnectionToken": customer.connection_token,
        "ContentType": "text/plain",
        "AttachmentSizeInBytes": len(DATA),
        "AttachmentName": "a.txt",
    }
    params.update(overrides)
    return acps.start_attachment_upload(**params)  # type: ignore[no-any-return]


def test_upload_complete_download_round_trip(
    emu: Emulator, customer: Customer, acps: Any, open_socket: Callable[..., Socket]
) -> None:
    sock = open_socket(customer.ws_url)
    started = _start_upload(acps, customer)
    meta = started["UploadMetadata"]
    assert meta["Url"].startswith(f"http://127.0.0.1:{emu.port}/")
    assert meta["HeadersToInclude"]["Content-Type"] == "text/plain"
    # A PUT without the signed headers is refused.
    assert requests.put(meta["Url"], data=DATA, timeout=5).status_code == 403
    put = requests.put(meta["Url"], data=DATA, headers=meta["HeadersToInclude"], timeout=5)
    assert put.status_code == 200
    acps.complete_attachment_upload(
        ConnectionToken=customer.connection_token, AttachmentIds=[started["AttachmentId"]]
    )
    item = sock.wait_item(lambda i: i["Type"] == "ATTACHMENT")
    assert item["Attachments"] == [
        {
            "ContentType": "text/plain",
            "AttachmentId": started["AttachmentId"],
            "AttachmentName": "a.txt",
            "Status": "APPROVED",
        }
    ]
    assert item["ParticipantId"] == customer.participant_id and "Content" not in item
    got = acps.get_attachment(
        ConnectionToken=customer.connection_token,
        AttachmentId=started["AttachmentId"],
        UrlExpiryInSeconds=60,
    )
    assert got["AttachmentSizeInBytes"] == len(DATA)
    download = requests.get(got["Url"], timeout=5)
    assert download.status_code == 200 and download.content == DATA
    assert [
        c.operation
        for c in emu.calls()
        if c.operation in ("UploadAttachment", "DownloadAttachment")
    ] == ["UploadAttachment", "UploadAttachment", "DownloadAttachment"]
    with pytest.raises(ClientError) as info:
        acps.complete_attachment_upload(
            ConnectionToken=customer.connection_token, AttachmentIds=[started["AttachmentId"]]
        )
    assert info.value.response["Error"]["Code"] == "ConflictException"
    forged = got["Url"].split("X-Amz-Signature=")[0] + "X-Amz-Signature=forged"
    assert requests.get(forged, timeout=5).status_code == 403


@pytest.mark.parametrize(
    "overrides",
    [
        {"ContentType": "application/x-msdownload"},
        {"AttachmentSizeInBytes": 20 * 1024 * 1024 + 1},
        {"AttachmentName": "n" * 257},
    ],
)
def test_start_upload_validation(
    customer: Customer, raw_acps: Any, overrides: dict[str, Any]
) -> None:
    with pytest.raises(ClientError) as info:
        _start_upload(raw_acps, customer, **overrides)
    assert info.value.response["Error"]["Code"] == "ValidationException"


def test_twenty_mebibytes_is_allowed_and_android_sends_no_client_token(
    customer: Customer, emu: Emulator
) -> None:
    answer = requests.post(
        f"{emu.endpoint_url}/participant/start-attachment-upload",
        headers={
            "X-Amz-Bearer": customer.connection_token,
            "Content-Type": "application/x-amz-json-1.1",
        },
        data=json.dumps(
            {
                "ContentType": "image/png",
                "AttachmentSizeInBytes": 20 * 1024 * 1024,
                "AttachmentName": "big.png",
            }
        ),
        timeout=5,
    )
    assert answer.status_code == 200


def test_complete_before_upload_and_size_mismatch(customer: Customer, acps: Any) -> None:
    started = _start_upload(acps, customer)
    with pytest.raises(ClientError) as info:
        acps.complete_attachment_upload(
            ConnectionToken=customer.connection_token, AttachmentIds=[started["AttachmentId"]]
        )
    assert info.value.response["Error"]["Code"] == "ValidationException"
    meta = started["UploadMetadata"]
    short = requests.put(meta["Url"], data=DATA[:3], headers=meta["HeadersToInclude"], timeout=5)
    assert short.status_code == 400


def test_attachments_are_isolated(emu: Emulator, customer: Customer, acps: Any) -> None:
    started = _start_upload(acps, customer)
    meta = started["UploadMetadata"]
    requests.put(meta["Url"], data=DATA, headers=meta["HeadersToInclude"], timeout=5)
    acps.complete_attachment_upload(
        ConnectionToken=customer.connection_token, AttachmentIds=[started["AttachmentId"]]
    )
    other = connect_customer(emu, acps, "Bob")
    with pytest.raises(ClientError) as info:
        acps.get_attachment(
            ConnectionToken=other.connection_token, AttachmentId=started["AttachmentId"]
        )
    assert info.value.response["Error"]["Code"] == "ValidationException"


def test_agent_attachment_downloadable(
    emu: Emulator, customer: Customer, acps: Any, open_socket: Callable[..., Socket]
) -> None:
    sock = open_socket(customer.ws_url)
    attachment_id = emu.agent(customer.contact_id).send_attachment(
        "r.pdf", b"%PDF-1", "application/pdf"
    )
    item = sock.wait_item(lambda i: i["Type"] == "ATTACHMENT")
    assert item["ParticipantRole"] == "AGENT"
    url = acps.get_attachment(
        ConnectionToken=customer.connection_token, AttachmentId=attachment_id
    )["Url"]
    assert requests.get(url, timeout=5).content == b"%PDF-1"


TEMPLATES: list[dict[str, Any]] = [
    {
        "templateType": "ListPicker",
        "version": "1.0",
        "data": {
            "content": {"title": "Pick", "elements": [{"title": "Apple"}, {"title": "Orange"}]}
        },
    },
    {
        "templateType": "QuickReply",
        "version": "1.0",
        "data": {"content": {"title": "How was it?", "elements": [{"title": "Great"}]}},
    },
    {
        "templateType": "TimePicker",
        "version": "1.0",
        "data": {
            "content": {
                "title": "When?",
                "timeslots": [{"date": "2026-01-02T00:00+00:00", "duration": 60}],
            }
        },
    },
    {
        "templateType": "Panel",
        "version": "1.0",
        "data": {"content": {"title": "Panel", "elements": [{"title": "A"}]}},
    },
    {
        "templateType": "Carousel",
        "version": "1.0",
        "data": {
            "content": {
                "title": "Carousel",
                "elements": [
                    {"templateType": "Panel", "version": "1.0", "data": {"content": {"title": "x"}}}
                ],
            }
        },
    },
]


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t["templateType"])
def test_interactive_messages(
    emu: Emulator, customer: Customer, open_socket: Callable[..., Socket], template: dict[str, Any]
) -> None:
    sock = open_socket(customer.ws_url)
    item_id = emu.agent(customer.contact_id).send_interactive(template)
    item = sock.wait_item(lambda i: i["Id"] == item_id)
    assert item["ContentType"] == ContentType.INTERACTIVE_TEXT.value
    assert item["ParticipantRole"] == "SYSTEM" and item["DisplayName"] == "BOT"
    assert json.loads(item["Content"]) == template


def test_view_resource_and_describe_view(
    emu: Emulator, customer: Customer, acps: Any, open_socket: Callable[..., Socket]
) -> None:
    sock = open_socket(customer.ws_url)
    sent = emu.agent(customer.contact_id).send_view(
        view_id="confirm",
        name="Confirmation",
        template={"Head": "Confirm?"},
        actions=["submit", "cancel"],
        view_data={"order": 7},
    )
    item = sock.wait_item(lambda i: i["Id"] == sent.message_id)
    content = json.loads(item["Content"])
    assert content["templateType"] == "ViewResource"
    view_token = content["data"]["content"]["viewToken"]
    assert view_token == sent.view_token and content["data"]["content"]["viewId"] == "confirm"
    view = acps.describe_view(ConnectionToken=customer.connection_token, ViewToken=view_token)[
        "View"
    ]
    assert view["Id"] == "confirm" and view["Name"] == "Confirmation" and view["Version"] == 1
    assert json.loads(view["Content"]["Template"]) == {"Head": "Confirm?"}
    assert view["Content"]["Actions"] == ["submit", "cancel"]
    with pytest.raises(ClientError) as info:
        acps.describe_view(ConnectionToken=customer.connection_token, ViewToken="unknown/token")
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"
    other = connect_customer(emu, acps, "Bob")
    with pytest.raises(ClientError) as info:
        acps.describe_view(ConnectionToken=other.connection_token, ViewToken=view_token)
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"
    reply = acps.send_message(
        ConnectionToken=customer.connection_token,
        ContentType=ContentType.INTERACTIVE_RESPONSE.value,
        Content=json.dumps(
            {"action": "submit", "data": {}, "templateType": "ViewResource", "version": "1.0"}
        ),
    )
    assert reply["Id"]


@pytest.mark.parametrize(("mode", "verdict"), [("approve", "APPROVED"), ("reject", "REJECTED")])
def test_attachment_scanner_mode(
    open_socket: Callable[..., Socket], mode: str, verdict: str
) -> None:
    from tests.emulator.conftest import make_acps

    with Emulator(attachment_scan=mode, attachment_scan_delay=0.05) as emu:
        acps = make_acps(emu.endpoint_url)
        customer = connect_customer(emu, acps)
        sock = open_socket(customer.ws_url)
        started = _start_upload(acps, customer)
        meta = started["UploadMetadata"]
        requests.put(meta["Url"], data=DATA, headers=meta["HeadersToInclude"], timeout=5)
        acps.complete_attachment_upload(
            ConnectionToken=customer.connection_token, AttachmentIds=[started["AttachmentId"]]
        )
        first = sock.wait_item(lambda i: i["Type"] == "ATTACHMENT")
        assert first["Attachments"][0]["Status"] == "IN_PROGRESS"
        final = sock.wait_item(lambda i: i["Type"] == "ATTACHMENT")
        assert final["Id"] == first["Id"] and final["Attachments"][0]["Status"] == verdict
        assert emu.transcript(customer.contact_id)[-1]["Attachments"][0]["Status"] == verdict
        if verdict == "REJECTED":
            with pytest.raises(ClientError):
                acps.get_attachment(
                    ConnectionToken=customer.connection_token, AttachmentId=started["AttachmentId"]
                )
        else:
            acps.get_attachment(
                ConnectionToken=customer.connection_token, AttachmentId=started["AttachmentId"]
            )


def test_attachment_quota() -> None:
    from tests.emulator.conftest import make_acps

    with Emulator(max_attachments_per_contact=1) as emu:
        acps = make_acps(emu.endpoint_url)
        customer = connect_customer(emu, acps)
        _start_upload(acps, customer)
        with pytest.raises(ClientError) as info:
            _start_upload(acps, customer)
        assert info.value.response["Error"]["Code"] == "ServiceQuotaExceededException"
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 402
