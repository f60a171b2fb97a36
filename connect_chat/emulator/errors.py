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


def not_found(message: str, resource_id: str) -> ApiError:
    return ApiError(404, "ResourceNotFoundException", message, ResourceId=resource_id)


def invalid_parameter(message: str) -> ApiError:
    """StartChatContact's (service ``connect``) validation error."""
    return ApiError(400, "InvalidParameterException", message)


def invalid_request(message: str) -> ApiError:
    return ApiError(400, "InvalidRequestException", message)
