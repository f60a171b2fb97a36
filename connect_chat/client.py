"""``AWSClient``: the Amazon Connect Participant Service calls, over one botocore client.

A plain class meant to be subclassed: override any method (to add headers, log, route
through a gateway, fake responses in tests) and pass the subclass -- or an instance -- as
``GlobalConfig(custom_aws_client=...)``. Methods you do not override keep the default
behaviour, and an override may call ``super()``.

The botocore client is created once per ``AWSClient``, with
``Config(signature_version=UNSIGNED)``: the service authenticates each call with the
``X-Amz-Bearer`` header, which botocore fills from the ``ParticipantToken`` /
``ConnectionToken`` parameter (the service model places both in that header). Retries use
botocore's "standard" mode. botocore errors become the SDK's typed errors
(:mod:`connect_chat.errors`) with the service code and HTTP status kept and the botocore
exception as ``__cause__``; no token ever appears in their messages.

Every call has a deadline (:mod:`connect_chat.deadlines`): ``call_timeout`` seconds, or less
inside a ``deadlines.bounded`` block (a session's connect or send budget), retries included.
botocore's ``read_timeout`` bounds each read only: a server trickling its answer would hold
the caller for good. Past the deadline the call's socket is shut down and
``RequestTimeoutError`` raised; :meth:`AWSClient.cancel_calls` (``disconnect()``, ``reset()``)
ends every call in flight at once with ``SessionClosedError``; :meth:`AWSClient.close` drops
the keep-alive connections.
"""

from __future__ import annotations

import base64
import logging
import threading
import uuid
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from connect_chat._version import __version__
from connect_chat.deadlines import CallGroup, install_botocore_hooks
from connect_chat.errors import (
    ConnectChatError,
    EndpointUnreachableError,
    InvalidInputError,
    ServiceError,
    service_error_class,
)
from connect_chat.models import ConnectionDetails, StartPosition
from connect_chat.redaction import register_call, scrub_error
from connect_chat.timestamps import parse_expiry

if TYPE_CHECKING:
    from botocore.config import Config

# botocore is imported where it is first needed (building a client): ``import connect_chat``
# then costs a fraction of ``import botocore.session``, which a program that only reads the
# models, or the ``connect-chat --help`` of the command line, never needs.

logger = logging.getLogger(__name__)

#: iOS ``GlobalConfig.defaultRegion`` (also :data:`connect_chat.config.DEFAULT_REGION`).
DEFAULT_REGION = "us-west-2"

#: Default total time of one call (``AWSClient(call_timeout=...)``), retries included.
DEFAULT_CALL_TIMEOUT = 30.0

#: CreateParticipantConnection ``Type`` of a customer session.
CONNECTION_TYPES = ("WEBSOCKET", "CONNECTION_CREDENTIALS")

_RETRYABLE_CODES = frozenset({"ThrottlingException", "InternalServerException"})

T = TypeVar("T")


_loader_lock = threading.Lock()
_loader: Any = None


def _shared_loader(session: Any) -> Any:
    """One botocore data loader for every ``AWSClient`` of the process.

    The loader caches the parsed service model and endpoint data: a fresh botocore session
    per client would parse them again, about 7 MiB and 100 ms per client -- with hundreds
    of sessions in one process, gigabytes. Each client still gets its own botocore session
    (its own configuration and environment), only the read-only model data is shared; its
    search path is the ``data_path`` (``AWS_DATA_PATH``) seen by the first client.
    """
    import botocore.loaders

    global _loader
    with _loader_lock:
        if _loader is None:
            _loader = botocore.loaders.create_loader(session.get_config_variable("data_path"))
        return _loader


def _decode_blob(value: str) -> bytes:
    """botocore's own blob decoding, as a plain function (see :func:`acyclic_parsers`)."""
    return base64.b64decode(value)


def acyclic_parsers(session: Any) -> None:
    """Make the session's response parsers free of reference cycles.

    botocore builds a parser for every response; by default the parser hands its own bound
    method (``_default_blob_parser``) to the event-stream parser it keeps, a cycle only the
    garbage collector reclaims: three objects of cyclic garbage per call, which kept full
    collections (stop-the-world passes over the whole heap) running under load. The same
    decoding given as a plain function leaves no cycle (botocore's documented
    ``set_parser_defaults`` hook).
    """
    session.get_component("response_parser_factory").set_parser_defaults(
        blob_parser=_decode_blob
    )


def base_botocore_config() -> Config:
    """The SDK's botocore settings (a user ``Config`` is merged over them)."""
    from botocore import UNSIGNED
    from botocore.config import Config

    return Config(
        signature_version=UNSIGNED,
        retries={"mode": "standard", "total_max_attempts": 3},
        connect_timeout=10,
        read_timeout=30,
        user_agent_extra=f"connect-chat/{__version__}",
    )


def _sdk_error(operation: str, exc: Exception) -> ConnectChatError:
    """A botocore error (or any other a call raised) -> the SDK's typed error."""
    from botocore import exceptions as boto

    if isinstance(exc, boto.ClientError):
        response = exc.response if isinstance(exc.response, dict) else {}
        error = response.get("Error", {})
        code = str(error.get("Code") or "")
        message = str(error.get("Message") or code or "service error")
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        cls = service_error_class(code, status)
        return cls(
            message,
            code=code,
            status=status,
            operation=operation,
            retryable=code in _RETRYABLE_CODES or (status is not None and status >= 500),
        )
    if isinstance(exc, boto.ParamValidationError):
        return InvalidInputError(f"{operation}: invalid parameters: {exc}")
    if isinstance(exc, (boto.EndpointConnectionError, boto.ConnectTimeoutError,
                        boto.ReadTimeoutError, boto.ConnectionClosedError)):
        return EndpointUnreachableError(
            f"{operation}: the Participant Service endpoint could not be reached "
            f"({type(exc).__name__})"
        )
    # botocore's other transport errors
    return EndpointUnreachableError(f"{operation}: request failed ({type(exc).__name__})")


class AWSClient:
    """The Participant Service operations the chat needs (iOS ``AWSClient``, in Python).

    ``region``, ``endpoint_url`` (the emulator, a VPC endpoint) and ``botocore_config``
    (proxies, timeouts, retries) configure the one botocore client, built here.
    ``disable_csm=True`` (the default) keeps botocore's client-side monitoring off whatever
    the environment says; ``False`` lets the environment (``AWS_CSM_ENABLED``) decide.
    ``call_timeout`` bounds each call, botocore's retries included (None: only an enclosing
    ``deadlines.bounded`` block or botocore's own timeouts bound it).

    One instance given to several sessions (``GlobalConfig(custom_aws_client=instance)``)
    shares :attr:`calls`: ``disconnect()`` of one of them ends the calls in flight of all.
    """

    def __init__(
        self,
        region: str = DEFAULT_REGION,
        endpoint_url: str | None = None,
        botocore_config: Config | None = None,
        *,
        disable_csm: bool = True,
        call_timeout: float | None = DEFAULT_CALL_TIMEOUT,
    ) -> None:
        import botocore.session
        from botocore import UNSIGNED
        from botocore.config import Config

        self.region = region
        self.endpoint_url = endpoint_url
        config = base_botocore_config()
        if botocore_config is not None:
            config = config.merge(botocore_config)
        config = config.merge(Config(signature_version=UNSIGNED))
        session = botocore.session.get_session()
        session.register_component("data_loader", _shared_loader(session))
        acyclic_parsers(session)
        if disable_csm:
            session.set_config_variable("csm_enabled", False)
        self._client = session.create_client(
            "connectparticipant",
            region_name=region,
            endpoint_url=endpoint_url,
            config=config,
        )
        self.calls = CallGroup(call_timeout)
        install_botocore_hooks(self._client)

    @property
    def botocore_client(self) -> Any:
        """The underlying botocore ``connectparticipant`` client."""
        return self._client

    @property
    def calls(self) -> CallGroup:
        """The calls in flight (``calls.cancel()`` ends them) and their default bound.

        Made on first use for a subclass whose ``__init__`` did not call ours.
        """
        group = self.__dict__.get("_calls")
        if not isinstance(group, CallGroup):
            group = self.__dict__["_calls"] = CallGroup(DEFAULT_CALL_TIMEOUT)
        return group

    @calls.setter
    def calls(self, group: CallGroup) -> None:
        self.__dict__["_calls"] = group

    @property
    def call_timeout(self) -> float | None:
        """The default total time of one call, retries included (seconds)."""
        return self.calls.default_timeout

    @call_timeout.setter
    def call_timeout(self, value: float | None) -> None:
        if value is not None and (
            not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0
        ):
            raise InvalidInputError(
                f"call_timeout must be a positive number or None, got {value!r}"
            )
        self.calls.default_timeout = value

    def cancel_calls(self) -> int:
        """End every call in flight at once (``SessionClosedError`` in its caller).

        Calls made afterwards are not affected. Returns how many calls were ended.
        """
        return self.calls.cancel()

    def close(self) -> None:
        """Close the keep-alive connections (the client stays usable: it opens new ones)."""
        client = self.__dict__.get("_client")
        if client is None:
            return
        try:
            client.close()
        except Exception as exc:  # closing must never fail a disconnect
            logger.debug("closing the botocore connections failed: %s", type(exc).__name__)

    # -- plumbing ------------------------------------------------------------------------

    def _call(self, operation: str, method: Callable[..., T], **params: Any) -> T:
        """Run one botocore call within its deadline and translate its errors."""
        register_call(self, params)  # its tokens are kept out of every library's log
        with self.calls.scope(operation):
            try:
                response = method(**params)
            except ConnectChatError:
                raise
            except Exception as exc:
                error, cause = scrub_error(_sdk_error(operation, exc), exc)
                raise error from cause
        register_call(self, {}, response)
        return response

    @staticmethod
    def _client_token(client_token: str | None) -> str:
        return client_token or str(uuid.uuid4())

    # -- operations ----------------------------------------------------------------------

    def create_participant_connection(self, participant_token: str) -> ConnectionDetails:
        """CreateParticipantConnection (WEBSOCKET + CONNECTION_CREDENTIALS): fresh URL and token."""
        response = self._call(
            "CreateParticipantConnection",
            self._client.create_participant_connection,
            ParticipantToken=participant_token,
            Type=list(CONNECTION_TYPES),
        )
        websocket = response.get("Websocket") or {}
        credentials = response.get("ConnectionCredentials") or {}
        url, token = websocket.get("Url"), credentials.get("ConnectionToken")
        if not url or not token:
            raise ServiceError(
                "the response lacks the WebSocket URL or the connection token",
                operation="CreateParticipantConnection",
            )
        return ConnectionDetails(
            websocket_url=url,
            connection_token=token,
            expiry=parse_expiry(credentials.get("Expiry")),
            websocket_url_expiry=parse_expiry(websocket.get("ConnectionExpiry")),
        )

    def disconnect_participant_connection(
        self, connection_token: str, client_token: str | None = None
    ) -> None:
        """DisconnectParticipant: the customer leaves the chat."""
        self._call(
            "DisconnectParticipant",
            self._client.disconnect_participant,
            ConnectionToken=connection_token,
            ClientToken=self._client_token(client_token),
        )

    def send_message(
        self,
        connection_token: str,
        content_type: str,
        message: str,
        client_token: str | None = None,
    ) -> Mapping[str, Any]:
        """SendMessage; returns the service response (``Id``, ``AbsoluteTime``).

        Pass the same ``client_token`` when retrying one message: the service stores it once.
        """
        return self._call(
            "SendMessage",
            self._client.send_message,
            ConnectionToken=connection_token,
            ContentType=content_type,
            Content=message,
            ClientToken=self._client_token(client_token),
        )

    def send_event(
        self,
        connection_token: str,
        content_type: str,
        content: str | None = None,
        client_token: str | None = None,
    ) -> Mapping[str, Any]:
        """SendEvent (typing, receipts); an empty ``content`` is left out."""
        params: dict[str, Any] = {
            "ConnectionToken": connection_token,
            "ContentType": content_type,
            "ClientToken": self._client_token(client_token),
        }
        if content:
            params["Content"] = content
        return self._call("SendEvent", self._client.send_event, **params)

    def get_transcript(
        self,
        connection_token: str,
        *,
        scan_direction: str | None = None,
        sort_order: str | None = None,
        max_results: int | None = None,
        next_token: str | None = None,
        start_position: StartPosition | None = None,
        contact_id: str | None = None,
    ) -> Mapping[str, Any]:
        """GetTranscript; returns the service response (``Transcript``, ``NextToken``...)."""
        params: dict[str, Any] = {"ConnectionToken": connection_token}
        if scan_direction is not None:
            params["ScanDirection"] = str(scan_direction)
        if sort_order is not None:
            params["SortOrder"] = str(sort_order)
        if max_results is not None:
            params["MaxResults"] = max_results
        if next_token:
            params["NextToken"] = next_token
        if start_position is not None and start_position.to_request():
            params["StartPosition"] = start_position.to_request()
        if contact_id:
            params["ContactId"] = contact_id
        return self._call("GetTranscript", self._client.get_transcript, **params)

    def start_attachment_upload(
        self,
        connection_token: str,
        content_type: str,
        attachment_name: str,
        attachment_size_in_bytes: int,
        client_token: str | None = None,
    ) -> Mapping[str, Any]:
        """StartAttachmentUpload; returns ``AttachmentId`` and ``UploadMetadata``."""
        return self._call(
            "StartAttachmentUpload",
            self._client.start_attachment_upload,
            ConnectionToken=connection_token,
            ContentType=content_type,
            AttachmentName=attachment_name,
            AttachmentSizeInBytes=attachment_size_in_bytes,
            ClientToken=self._client_token(client_token),
        )

    def complete_attachment_upload(
        self,
        connection_token: str,
        attachment_ids: Sequence[str],
        client_token: str | None = None,
    ) -> Mapping[str, Any]:
        """CompleteAttachmentUpload for uploaded attachments."""
        return self._call(
            "CompleteAttachmentUpload",
            self._client.complete_attachment_upload,
            ConnectionToken=connection_token,
            AttachmentIds=list(attachment_ids),
            ClientToken=self._client_token(client_token),
        )

    def get_attachment(
        self,
        connection_token: str,
        attachment_id: str,
        url_expiry_in_seconds: int | None = None,
    ) -> Mapping[str, Any]:
        """GetAttachment; returns the pre-signed download ``Url`` and its expiry."""
        params: dict[str, Any] = {
            "ConnectionToken": connection_token,
            "AttachmentId": attachment_id,
        }
        if url_expiry_in_seconds is not None:
            params["UrlExpiryInSeconds"] = url_expiry_in_seconds
        return self._call("GetAttachment", self._client.get_attachment, **params)

    def describe_view(self, connection_token: str, view_token: str) -> Mapping[str, Any]:
        """DescribeView; returns the service response (``View``)."""
        return self._call(
            "DescribeView",
            self._client.describe_view,
            ConnectionToken=connection_token,
            ViewToken=view_token,
        )

    def get_authentication_url(
        self, connection_token: str, session_id: str, redirect_uri: str
    ) -> str:
        """GetAuthenticationUrl (Authenticate Customer flow block): the sign-in URL."""
        response = self._call(
            "GetAuthenticationUrl",
            self._client.get_authentication_url,
            ConnectionToken=connection_token,
            SessionId=session_id,
            RedirectUri=redirect_uri,
        )
        return str(response.get("AuthenticationUrl") or "")

    def cancel_participant_authentication(self, connection_token: str, session_id: str) -> None:
        """CancelParticipantAuthentication."""
        self._call(
            "CancelParticipantAuthentication",
            self._client.cancel_participant_authentication,
            ConnectionToken=connection_token,
            SessionId=session_id,
        )


def warn_if_unverified(client: AWSClient) -> None:
    """The SDK never turns TLS verification off; say so once if a custom client did."""
    try:
        verify = client.botocore_client._endpoint.http_session._verify
    except AttributeError:
        return
    if verify is False:
        logger.warning(
            "the AWS client was built with TLS certificate verification off (verify=False); "
            "traffic to the Participant Service is not authenticated"
        )


def count_retries(client: AWSClient, stats: RetryCounter) -> None:
    """Count each attempt botocore retries (``amz-sdk-request: attempt=N``, N > 1) in
    ``stats`` (held weakly).

    One hook per botocore client, whatever the number of sessions sharing it: a hook per
    session made every request run all of them (O(sessions) per call). Sessions sharing one
    ``AWSClient`` instance each count the retries of all of them.
    """
    try:
        events = client.botocore_client.meta.events
    except AttributeError:
        return
    state = client.__dict__
    sinks = state.get("_retry_sinks")
    if sinks is None:
        sinks = state["_retry_sinks"] = weakref.WeakSet()

        def before_send(request: Any = None, **_: Any) -> None:
            header = getattr(request, "headers", {}).get("amz-sdk-request") if request else None
            if isinstance(header, bytes):
                header = header.decode("ascii", "replace")
            if isinstance(header, str) and "attempt=" in header:
                attempt = header.split("attempt=", 1)[1].split(";", 1)[0].strip()
                if attempt.isdigit() and int(attempt) > 1:
                    for sink in list(sinks):
                        sink.incr("retries")

        events.register(
            "before-send.connectparticipant", before_send,
            unique_id=f"connect-chat-retries-{id(sinks)}",
        )
    sinks.add(stats)


class RetryCounter(Protocol):
    """What :func:`count_retries` counts into (``SessionStats``)."""

    def incr(self, name: str, amount: int = 1) -> None: ...
