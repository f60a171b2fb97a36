"""The emulator against botocore's service models: limits, enums, error shapes, statuses."""

from __future__ import annotations

import json
from typing import Any

import botocore.loaders
import pytest
import requests

from connect_chat.emulator import Emulator
from connect_chat.emulator.errors import COMMON_STATUSES, MODEL_STATUSES, possible_statuses
from tests.emulator.conftest import Customer, make_connect

START = {"InstanceId": "i", "ContactFlowId": "f", "ParticipantDetails": {"DisplayName": "Ann"}}


def _model(service: str) -> dict[str, Any]:
    return botocore.loaders.Loader().load_service_model(service, "service-2")  # type: ignore[no-any-return]


def _error_statuses(model: dict[str, Any], operation: str) -> set[int]:
    shapes = model["shapes"]
    return {
        shapes[e["shape"]]["error"]["httpStatusCode"]
        for e in model["operations"][operation].get("errors", [])
    }


def test_status_table_matches_the_models() -> None:
    acps = _model("connectparticipant")
    assert set(MODEL_STATUSES) - {"StartChatContact"} == set(acps["operations"])
    for operation in acps["operations"]:
        assert MODEL_STATUSES[operation] == _error_statuses(acps, operation), operation
    assert MODEL_STATUSES["StartChatContact"] == _error_statuses(
        _model("connect"), "StartChatContact"
    )
    assert possible_statuses("SendEvent") == MODEL_STATUSES["SendEvent"] | COMMON_STATUSES
    assert possible_statuses("UploadAttachment") is None


# --- http_errors refuses statuses an operation cannot answer --------------------------------
def test_http_errors_refuses_impossible_statuses(emu: Emulator) -> None:
    with pytest.raises(ValueError, match="SendMessage cannot answer HTTP 409"):
        emu.faults.http_errors(status=409, count=1, operations=["SendMessage"])
    with pytest.raises(ValueError, match="cannot answer HTTP 404"):
        emu.faults.http_errors(status=404, count=1)  # all operations: only DescribeView can
    with pytest.raises(ValueError, match="StartChatContact cannot answer HTTP 402"):
        emu.faults.http_errors(status=402, count=1, operations=["StartChatContact"])
    with pytest.raises(ValueError, match="unknown operation 'SendMesage'"):
        emu.faults.http_errors(status=500, count=1, operations=["SendMesage"])
    # What the models (or the AWS common errors) allow is taken.
    emu.faults.http_errors(status=409, count=1, operations=["SendEvent"])
    emu.faults.http_errors(status=402, count=1, operations=["CompleteAttachmentUpload"])
    emu.faults.http_errors(status=404, count=1, operations=["DescribeView"])
    emu.faults.http_errors(status=503, count=1)
    emu.faults.http_errors(status=418, count=1, operations=["UploadAttachment"])  # S3: any
    emu.faults.clear()


def test_allow_any_status_forces_one(emu: Emulator, customer: Customer, acps: Any) -> None:
    emu.faults.http_errors(status=409, count=1, operations=["SendMessage"], allow_any_status=True)
    with pytest.raises(acps.exceptions.ClientError) as info:
        acps.send_message(
            ConnectionToken=customer.connection_token, ContentType="text/plain", Content="x"
        )
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409


def test_http_errors_over_http(emu: Emulator) -> None:
    url = f"{emu.endpoint_url}/emulator/faults"
    refused = requests.post(
        url, json={"Fault": "http_errors", "Status": 409, "Operations": ["GetTranscript"]},
        timeout=5,
    )  # fmt: skip
    assert refused.status_code == 400 and "cannot answer HTTP 409" in refused.json()["message"]
    forced = requests.post(
        url,
        json={"Fault": "http_errors", "Status": 409, "Operations": ["GetTranscript"],
              "AllowAnyStatus": True},
        timeout=5,
    )  # fmt: skip
    assert forced.status_code == 200


# --- the bearer header -----------------------------------------------------------------------
def test_a_bearer_over_1000_characters_is_a_validation_error(
    emu: Emulator, customer: Customer
) -> None:
    for path in ("/participant/message", "/participant/connection", "/participant/transcript"):
        answer = requests.post(
            f"{emu.endpoint_url}{path}", headers={"X-Amz-Bearer": "A" * 1001}, json={}, timeout=5
        )
        assert answer.status_code == 400, path
        assert answer.headers["x-amzn-ErrorType"] == "ValidationException"
    view = requests.get(
        f"{emu.endpoint_url}/participant/views/v1", headers={"X-Amz-Bearer": "A" * 1001}, timeout=5
    )
    assert view.status_code == 400
    unknown = requests.post(
        f"{emu.endpoint_url}/participant/message", headers={"X-Amz-Bearer": "A" * 1000},
        json={"ContentType": "text/plain", "Content": "x"}, timeout=5,
    )  # fmt: skip
    assert unknown.status_code == 403  # at the limit: an unknown token, as before


# --- StartChatContact members ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"DisconnectOnCustomerExit": ["AGENT", "AGENT"]}, "disconnectOnCustomerExit"),
        ({"DisconnectOnCustomerExit": []}, "disconnectOnCustomerExit"),
        ({"DisconnectOnCustomerExit": ["CUSTOMER"]}, "enum value set: [AGENT]"),
        ({"CustomerId": "c" * 129}, "customerId"),
        ({"CustomerId": ""}, "customerId"),
        ({"RelatedContactId": "r" * 257}, "relatedContactId"),
        ({"ClientToken": "t" * 501}, "clientToken"),
        ({"Attributes": {"k": "v" * 32768}}, "Attributes"),
        ({"Attributes": {"": "v"}}, "Attributes"),
        ({"Attributes": {"a": "v" * 20000, "b": "v" * 20000}}, "32768 bytes"),
        ({"Attributes": {"k": 1}}, "strings"),
        ({"ParticipantConfiguration": {"ResponseMode": "STREAM"}}, "responseMode"),
        ({"ConnectionTypes": ["WEBSOCKET", "CONNECTION_CREDENTIALS", "WEBRTC_CONNECTION"]},
         "ConnectionTypes"),
        ({"ConnectionTypes": ["SMS"]}, "ConnectionTypes"),
        ({"ChatStreamingConfiguration": {}}, "streamingEndpointArn"),
        ({"SegmentAttributes": {"s" * 129: {"ValueString": "x"}}}, "SegmentAttributes"),
        ({"SegmentAttributes": {"k": {"ValueString": "x" * 1025}}}, "valueString"),
    ],
)  # fmt: skip
def test_start_chat_contact_members(emu: Emulator, extra: dict[str, Any], words: str) -> None:
    answer = requests.put(f"{emu.endpoint_url}/contact/chat", json={**START, **extra}, timeout=5)
    assert answer.status_code == 400
    assert answer.headers["x-amzn-ErrorType"] == "InvalidParameterException"
    assert words in answer.json()["message"]


def test_start_chat_contact_accepts_what_the_model_allows(emu: Emulator) -> None:
    connect = make_connect(emu.endpoint_url)
    answer = connect.start_chat_contact(
        **START,
        DisconnectOnCustomerExit=["AGENT"],
        CustomerId="c" * 128,
        Attributes={"k" * 100: "v" * 16000, "x": ""},
        ParticipantConfiguration={"ResponseMode": "INCREMENTAL"},
        ConnectionTypes=["WEBSOCKET", "CONNECTION_CREDENTIALS"],
        SegmentAttributes={"connect:Subtype": {"ValueString": "connect:Guide"}},
        ClientToken="t" * 500,
    )
    assert answer["ContactId"]


# --- error shapes ----------------------------------------------------------------------------
def test_describe_view_404_carries_the_resource_type(
    emu: Emulator, customer: Customer, acps: Any
) -> None:
    with pytest.raises(acps.exceptions.ResourceNotFoundException) as info:
        acps.describe_view(ViewToken="no-such-view", ConnectionToken=customer.connection_token)
    response = info.value.response
    assert response["ResourceId"] == "no-such-view"
    assert response["ResourceType"] == "CONTACT"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/participant/nothing", 404),
        ("GET", "/participant/message", 405),
        ("DELETE", "/contact/chat", 405),
        ("GET", "/", 404),
    ],
)
def test_unknown_paths_and_methods_answer_json(
    emu: Emulator, method: str, path: str, status: int
) -> None:
    answer = requests.request(method, f"{emu.endpoint_url}{path}", timeout=5)
    assert answer.status_code == status
    assert answer.headers["x-amzn-ErrorType"] == "UnknownOperationException"
    assert answer.headers["Content-Type"].startswith("application/json")
    assert path in json.loads(answer.text)["message"]
    assert "x-amzn-RequestId" in answer.headers


def test_an_unknown_path_body_has_the_service_error_form(emu: Emulator) -> None:
    answer = requests.post(f"{emu.endpoint_url}/participant/nothing", json={}, timeout=5)
    assert answer.json() == {"message": "No operation at POST /participant/nothing"}


# --- GetAttachment UrlContentDisposition -----------------------------------------------------
def test_get_attachment_content_disposition(
    emu: Emulator, customer: Customer, acps: Any, raw_acps: Any
) -> None:
    attachment_id = emu.agent(customer.contact_id).send_attachment("a.txt", b"hi", "text/plain")
    for disposition, expected in ((None, "attachment"), ("INLINE", "inline"),
                                  ("ATTACHMENT", "attachment")):  # fmt: skip
        extra = {"UrlContentDisposition": disposition} if disposition else {}
        url = acps.get_attachment(
            AttachmentId=attachment_id, ConnectionToken=customer.connection_token, **extra
        )["Url"]
        fetched = requests.get(url, timeout=5)
        assert fetched.content == b"hi"
        assert fetched.headers["Content-Disposition"] == f'{expected}; filename="a.txt"'
    with pytest.raises(raw_acps.exceptions.ValidationException):
        raw_acps.get_attachment(
            AttachmentId=attachment_id,
            ConnectionToken=customer.connection_token,
            UrlContentDisposition="DOWNLOAD",
        )
