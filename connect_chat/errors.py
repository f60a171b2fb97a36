"""The SDK's exceptions: one root, typed subclasses, service codes kept.

Messages never contain tokens or pre-signed URLs: the service's own message is kept, but
anything the SDK adds is built from ids and names only.
"""

from __future__ import annotations


class ConnectChatError(Exception):
    """Root of every error the SDK raises."""


class InvalidInputError(ConnectChatError, ValueError):
    """An argument was rejected before anything was sent (wrong type, empty, too long...)."""


class SessionClosedError(ConnectChatError):
    """The session is not connected (never connected, disconnected, reset or chat ended)."""


class ChatEndedError(SessionClosedError):
    """The chat has ended: the service no longer accepts this participant's tokens."""


class ConnectionTimeoutError(ConnectChatError, TimeoutError):
    """The WebSocket could not be opened and subscribed within the allowed time."""


class WebSocketError(ConnectChatError):
    """The chat WebSocket failed in a way the SDK could not recover from.

    ``retryable`` says whether another attempt (with a fresh URL) may succeed: a refused
    upgrade with 403 (a stale URL), 408, 429 or 5xx, a network failure, a timeout. A
    certificate the SDK does not trust, or a 4xx refusal of another kind, is not.
    """

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class AttachmentError(ConnectChatError):
    """An attachment upload or download failed outside the Participant Service API."""


class UnsupportedAttachmentError(InvalidInputError):
    """The file's type is not one the service accepts, or it is larger than the limit."""


class MessageNotFoundError(ConnectChatError, KeyError):
    """No transcript item has the given id (for example in ``resend_failed_message``)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "message not found"


class ServiceError(ConnectChatError):
    """The service answered with an error.

    ``code`` is the service's error code (``AccessDeniedException``...), ``status`` the HTTP
    status, ``operation`` the API operation; the botocore exception is the ``__cause__``.
    """

    #: The service error code a subclass stands for ("" for the generic class).
    service_code: str = ""

    def __init__(
        self,
        message: str,
        *,
        code: str = "",
        status: int | None = None,
        operation: str = "",
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.service_code
        self.status = status
        self.operation = operation
        self.retryable = retryable

    def __str__(self) -> str:
        where = f"{self.operation}: " if self.operation else ""
        code = f"{self.code}: " if self.code else ""
        return f"{where}{code}{self.message}"


class AccessDeniedError(ServiceError):
    """403: the token is unknown, expired, or belongs to a chat that ended."""

    service_code = "AccessDeniedException"


class ParticipantTokenRefusedError(ChatEndedError, AccessDeniedError):
    """The service refused the participant token (CreateParticipantConnection, 403).

    The chat has ended -- or the token was never valid: the service answers both alike. It
    is a :class:`ChatEndedError` (what it means for the program) and an
    :class:`AccessDeniedError` (what the service said), wherever the SDK meets it:
    ``connect()``, a send that needed a new connection token, ``RestChat``.
    """

    def __init__(
        self,
        message: str = "",
        *,
        code: str = "",
        status: int | None = 403,
        operation: str = "CreateParticipantConnection",
    ) -> None:
        AccessDeniedError.__init__(
            self,
            message or "the chat has ended (the service refused the participant token: the "
            "chat is over, or the token is not valid)",
            code=code,
            status=status,
            operation=operation,
        )

    @classmethod
    def refusing(cls, cause: AccessDeniedError, message: str = "") -> ParticipantTokenRefusedError:
        """The error for ``cause``, CreateParticipantConnection's AccessDeniedException."""
        return cls(message, code=cause.code, status=cause.status or 403)


class ServiceValidationError(ServiceError):
    """400: the service rejected the request's content."""

    service_code = "ValidationException"


class ResourceNotFoundError(ServiceError):
    """404: for example an unknown view token in DescribeView."""

    service_code = "ResourceNotFoundException"


class ConflictError(ServiceError):
    """409: the request conflicts with the chat's state."""

    service_code = "ConflictException"


class ServiceQuotaExceededError(ServiceError):
    """402: a per-contact quota (attachments) is used up."""

    service_code = "ServiceQuotaExceededException"


class ThrottlingError(ServiceError):
    """429: the request rate is too high (raised after the retry budget)."""

    service_code = "ThrottlingException"


class InternalServerError(ServiceError):
    """5xx: the service failed (raised after the retry budget)."""

    service_code = "InternalServerException"


class EndpointUnreachableError(ConnectChatError, ConnectionError):
    """The endpoint could not be reached at all (DNS, refused, timed out)."""


class RequestTimeoutError(EndpointUnreachableError, TimeoutError):
    """A REST call or an attachment transfer did not complete within its deadline.

    Whatever the server did (trickled its answer, never answered): the call's sockets were
    shut down at the deadline. docs/reliability.md ("Deadlines") lists each call's bound.
    """


_BY_CODE: dict[str, type[ServiceError]] = {
    cls.service_code: cls
    for cls in (
        AccessDeniedError,
        ServiceValidationError,
        ResourceNotFoundError,
        ConflictError,
        ServiceQuotaExceededError,
        ThrottlingError,
        InternalServerError,
    )
}


def service_error_class(code: str, status: int | None = None) -> type[ServiceError]:
    """The typed class for a service error code (or, failing that, an HTTP status)."""
    if code in _BY_CODE:
        return _BY_CODE[code]
    if status == 403:
        return AccessDeniedError
    if status == 429:
        return ThrottlingError
    if status is not None and status >= 500:
        return InternalServerError
    return ServiceError
