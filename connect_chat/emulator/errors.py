"""The service's error answers: a status code, a bare ``x-amzn-ErrorType`` and a JSON message."""

from __future__ import annotations

from typing import Any

#: Error code the service answers for an injected HTTP status (fault ``http_errors``).
ACPS_CODE_FOR_STATUS: dict[int, str] = {
    400: "ValidationException",
    402: "ServiceQuotaExceededException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    409: "ConflictException",
    429: "ThrottlingException",
}
CONNECT_CODE_FOR_STATUS: dict[int, str] = {
    400: "InvalidParameterException",
    404: "ResourceNotFoundException",
    429: "LimitExceededException",
}


#: Statuses every AWS API may answer whatever its model says ("Common Errors" of the AWS API
#: references: 400 validation/signature, 403 credentials, 500 internal, 503 unavailable).
COMMON_STATUSES: frozenset[int] = frozenset({400, 403, 500, 503})

_ACPS_BASE = frozenset({400, 403, 429, 500})  # Validation, AccessDenied, Throttling, Internal

#: HTTP statuses of the error shapes each operation declares in botocore's models
#: (``connectparticipant`` 2018-09-07, ``connect`` StartChatContact); checked by a test.
MODEL_STATUSES: dict[str, frozenset[int]] = {
    "CreateParticipantConnection": _ACPS_BASE,
    "DisconnectParticipant": _ACPS_BASE,
    "SendMessage": _ACPS_BASE,
    "SendEvent": _ACPS_BASE | {409},
    "GetTranscript": _ACPS_BASE,
    "StartAttachmentUpload": _ACPS_BASE | {402},
    "CompleteAttachmentUpload": _ACPS_BASE | {402, 409},
    "GetAttachment": _ACPS_BASE,
    "DescribeView": _ACPS_BASE | {404},
    "GetAuthenticationUrl": _ACPS_BASE,
    "CancelParticipantAuthentication": _ACPS_BASE,
    "StartChatContact": frozenset({400, 404, 429, 500}),
}

#: The pre-signed attachment transfers are S3, not a modelled API: any 4xx/5xx.
S3_OPERATIONS: frozenset[str] = frozenset({"UploadAttachment", "DownloadAttachment"})


def possible_statuses(operation: str) -> frozenset[int] | None:
    """The error statuses ``operation`` can really answer (model plus common errors); ``None``
    for the S3 transfers (any); ``KeyError`` for an unknown operation name."""
    if operation in S3_OPERATIONS:
        return None
    return MODEL_STATUSES[operation] | COMMON_STATUSES


def code_for_status(status: int, *, connect: bool) -> str:
    """The error type a service of this kind answers with for ``status``."""
    table = CONNECT_CODE_FOR_STATUS if connect else ACPS_CODE_FOR_STATUS
    if status in table:
        return table[status]
    if status >= 500:
        return "InternalServiceException" if connect else "InternalServerException"
    return "ValidationException" if not connect else "InvalidRequestException"


class ApiError(Exception):
    """An error answer of the emulated service (raised by state operations, sent by handlers)."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """The JSON body: ``message`` (read by botocore, JS and iOS) plus modelled members."""
        out: dict[str, Any] = {"message": self.message}
        out.update(self.extra)
        return out


def validation(message: str) -> ApiError:
    return ApiError(400, "ValidationException", message)


def access_denied(
    message: str = "You do not have sufficient access to perform this action.",
) -> ApiError:
    return ApiError(403, "AccessDeniedException", message)


def conflict(message: str) -> ApiError:
    return ApiError(409, "ConflictException", message)


def not_found(message: str, resource_id: str, resource_type: str) -> ApiError:
    """The model's ResourceNotFoundException: ``Message``, ``ResourceId``, ``ResourceType``."""
    return ApiError(
        404,
        "ResourceNotFoundException",
        message,
        ResourceId=resource_id,
        ResourceType=resource_type,
    )


def invalid_parameter(message: str) -> ApiError:
    """StartChatContact's (service ``connect``) validation error."""
    return ApiError(400, "InvalidParameterException", message)


def invalid_request(message: str) -> ApiError:
    return ApiError(400, "InvalidRequestException", message)
