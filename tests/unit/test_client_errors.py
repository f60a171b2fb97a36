"""botocore's errors become the SDK's typed errors, with the service's code and status kept."""

from __future__ import annotations

from typing import Any

import pytest
from botocore import exceptions as boto

from connect_chat.client import AWSClient
from connect_chat.errors import (
    AccessDeniedError,
    ConnectChatError,
    EndpointUnreachableError,
    InternalServerError,
    InvalidInputError,
    ServiceError,
    ThrottlingError,
)


def call_raising(exc: Exception) -> ConnectChatError:
    client = AWSClient(endpoint_url="http://127.0.0.1:9")  # never contacted

    def method(**_: Any) -> None:
        raise exc

    with pytest.raises(ConnectChatError) as caught:
        client._call("SendMessage", method)
    assert caught.value.__cause__ is exc or isinstance(exc, ConnectChatError)
    return caught.value


def client_error(code: str, status: int, message: str = "nope") -> boto.ClientError:
    return boto.ClientError(
        {"Error": {"Code": code, "Message": message},
         "ResponseMetadata": {"HTTPStatusCode": status}},
        "SendMessage",
    )


@pytest.mark.parametrize(
    ("code", "status", "cls", "retryable"),
    [
        ("AccessDeniedException", 403, AccessDeniedError, False),
        ("ThrottlingException", 429, ThrottlingError, True),
        ("InternalServerException", 500, InternalServerError, True),
        ("SomethingNew", 503, InternalServerError, True),
    ],
)
def test_service_errors_keep_code_status_and_retryability(
    code: str, status: int, cls: type[Exception], retryable: bool
) -> None:
    error = call_raising(client_error(code, status))
    assert type(error) is cls
    assert isinstance(error, ServiceError)
    assert (error.code, error.status, error.operation, error.retryable) == (
        code, status, "SendMessage", retryable)
    assert str(error) == f"SendMessage: {code}: nope"


def test_invalid_parameters_are_invalid_input() -> None:
    error = call_raising(boto.ParamValidationError(report="Missing required parameter"))
    assert isinstance(error, InvalidInputError)
    assert "SendMessage: invalid parameters" in str(error)


@pytest.mark.parametrize(
    "exc",
    [
        boto.EndpointConnectionError(endpoint_url="http://127.0.0.1:9"),
        boto.ConnectTimeoutError(endpoint_url="http://127.0.0.1:9"),
        boto.ReadTimeoutError(endpoint_url="http://127.0.0.1:9"),
        boto.ConnectionClosedError(endpoint_url="http://127.0.0.1:9"),
        RuntimeError("some other transport failure"),
    ],
)
def test_transport_failures_are_endpoint_unreachable(exc: Exception) -> None:
    error = call_raising(exc)
    assert isinstance(error, EndpointUnreachableError)
    assert type(exc).__name__ in str(error)
    assert "127.0.0.1" not in str(error)  # the message names the failure, not the URL


def test_sdk_errors_pass_through_unchanged() -> None:
    original = AccessDeniedError("already typed", code="AccessDeniedException")
    assert call_raising(original) is original
