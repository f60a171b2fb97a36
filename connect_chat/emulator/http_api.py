"""The REST surface: ACPS and Connect routes at their real paths, plus the attachment URLs.

Every request is parsed leniently (any Content-Type, any or no ``Authorization``, header names
in any case), run through the fault switches (latency, injected errors, the SendMessage
response delay), answered with the service's success or error shape, and logged as a
:class:`CallRecord`.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from aiohttp import web

from connect_chat.emulator import operations as ops
from connect_chat.emulator.calls import CallLog, CallRecord
from connect_chat.emulator.errors import ApiError, validation
from connect_chat.emulator.faults import Faults
from connect_chat.emulator.guard import read_body
from connect_chat.emulator.records import Participant
from connect_chat.emulator.state import State

logger = logging.getLogger(__name__)

#: The model's limit on ``X-Amz-Bearer`` (ParticipantToken / ConnectionToken): 1-1000.
MAX_BEARER = 1000

ParticipantOp = Callable[[State, Participant, dict[str, Any]], dict[str, Any]]

#: Operations whose ClientToken makes a repeat of the same request replay the first answer.
REPLAYABLE = frozenset(
    {
        "SendMessage",
        "SendEvent",
        "DisconnectParticipant",
        "StartAttachmentUpload",
        "CompleteAttachmentUpload",
    }
)

_ACPS_ROUTES: list[tuple[str, str, ParticipantOp]] = [
    ("/participant/message", "SendMessage", ops.send_message),
    ("/participant/event", "SendEvent", ops.send_event),
    ("/participant/transcript", "GetTranscript", ops.get_transcript),
    ("/participant/disconnect", "DisconnectParticipant", ops.disconnect_participant),
    ("/participant/start-attachment-upload", "StartAttachmentUpload", ops.start_attachment_upload),
    (
        "/participant/complete-attachment-upload",
        "CompleteAttachmentUpload",
        ops.complete_attachment_upload,
    ),
    ("/participant/attachment", "GetAttachment", ops.get_attachment),
    ("/participant/authentication-url", "GetAuthenticationUrl", ops.get_authentication_url),
    (
        "/participant/cancel-authentication",
        "CancelParticipantAuthentication",
        ops.cancel_participant_authentication,
    ),
]


def _json_response(status: int, body: dict[str, Any], code: str | None = None) -> web.Response:
    headers = {"x-amzn-RequestId": str(uuid.uuid4())}
    if code is not None:
        headers["x-amzn-ErrorType"] = code
    return web.Response(
        status=status, text=json.dumps(body), content_type="application/json", headers=headers
    )


def _attempt(request: web.Request) -> int | None:
    for part in request.headers.get("amz-sdk-request", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == "attempt" and value.isdigit():
            return int(value)
    return None


def _parse_body(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except RecursionError:  # nested deeper than the parser goes: still a client error
        raise validation("The request body is nested too deeply") from None
    except ValueError:
        raise validation("The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise validation("The request body must be a JSON object")
    return body


class RestApi:
    """Binds the REST routes of one emulator to its state, faults and call log."""

    def __init__(self, state: State, faults: Faults, calls: CallLog) -> None:
        self.state = state
        self.faults = faults
        self.calls = calls

    def add_routes(self, app: web.Application) -> None:
        app.router.add_put("/contact/chat", self.start_chat_contact)
        app.router.add_post("/participant/connection", self.create_participant_connection)
        for path, operation, fn in _ACPS_ROUTES:
            app.router.add_post(path, self._participant_handler(operation, fn))
        app.router.add_get("/participant/views/{token:.+}", self.describe_view)
        app.router.add_put("/attachments/upload/{id}", self.upload)
        app.router.add_get("/attachments/download/{id}", self.download)

    # --- plumbing ------------------------------------------------------------------------
    def _record(
        self,
        request: web.Request,
        operation: str,
        participant: Participant | None,
        body: dict[str, Any],
        status: int,
        code: str | None,
        contact_id: str | None = None,
    ) -> None:
        token = body.get("ClientToken")
        self.calls.append(
            CallRecord(
                operation=operation,
                contact_id=participant.contact_id if participant else contact_id,
                participant_id=participant.participant_id if participant else None,
                body=body,
                status=status,
                client_token=token if isinstance(token, str) else None,
                attempt=_attempt(request),
                error_code=code,
                headers={
                    k: v
                    for k, v in request.headers.items()
                    if k.lower() not in ("x-amz-bearer", "authorization")
                },
            )
        )

    async def _latency(
        self, operation: str, contact_id: str | None, *, explicit_only: bool = False
    ) -> None:
        """Wait as a ``latency`` fault says (without blocking other requests)."""
        delay = self.faults.injected_latency(operation, contact_id, explicit_only=explicit_only)
        if delay > 0:
            await self.faults.hold(delay)

    def _fault(self, operation: str, contact_id: str | None) -> ApiError | None:
        injected = self.faults.injected_error(operation, contact_id)
        if injected is None:
            return None
        status, code = injected
        return ApiError(status, code, f"Injected fault: {code}")

    async def _run(
        self,
        request: web.Request,
        operation: str,
        action: Callable[[dict[str, Any], Participant | None], dict[str, Any]],
        token: str | None,
    ) -> web.Response:
        participant = self.state.identify(token)
        contact_id = participant.contact_id if participant else None
        body: dict[str, Any] = {}
        raw = await read_body(request, self.state.settings.request_timeout)  # before latency
        await self._latency(operation, contact_id)
        try:
            if token is not None and len(token) > MAX_BEARER:
                raise validation(
                    "1 validation error detected: Value at 'X-Amz-Bearer' failed to satisfy "
                    f"constraint: Member must have length less than or equal to {MAX_BEARER}"
                )
            body = _parse_body(raw)
            fault = self._fault(operation, contact_id)
            if fault is not None:
                raise fault
            answer = action(body, participant)
        except ApiError as err:
            self._record(request, operation, participant, body, err.status, err.code)
            logger.debug("%s -> %s %s", operation, err.status, err.code)
            return _json_response(err.status, err.body(), err.code)
        if operation == "SendMessage":
            # The echo is already queued on the sockets: holding the answer lets it go first.
            delay = self.faults.injected_response_delay(contact_id)
            if delay > 0:
                await self.faults.hold(delay)
        self._record(request, operation, participant, body, 200, None)
        return _json_response(200, answer)

    def _participant_handler(self, operation: str, fn: ParticipantOp) -> Callable[..., Any]:
        async def handler(request: web.Request) -> web.Response:
            token = request.headers.get("X-Amz-Bearer")

            def action(body: dict[str, Any], who: Participant | None) -> dict[str, Any]:
                client_token = body.get("ClientToken")
                ct = client_token if isinstance(client_token, str) else None
                replay_allowed = not (
                    operation == "DisconnectParticipant"
                    and self.state.settings.behaviour.disconnect_replay == "403"
                )
                if who is not None and operation in REPLAYABLE and replay_allowed:
                    replay = self.state.replays.replayed(who.participant_id, operation, ct, body)
                    if replay is not None:
                        return replay
                participant = self.state.by_connection_token(token)
                answer = fn(self.state, participant, body)
                if operation in REPLAYABLE:
                    self.state.replays.remember(
                        participant.participant_id, operation, ct, body, answer
                    )
                return answer

            return await self._run(request, operation, action, token)

        return handler

    # --- special routes ------------------------------------------------------------------
    async def create_participant_connection(self, request: web.Request) -> web.Response:
        token = request.headers.get("X-Amz-Bearer")

        def action(body: dict[str, Any], who: Participant | None) -> dict[str, Any]:
            return ops.create_participant_connection(self.state, token, body)

        return await self._run(request, "CreateParticipantConnection", action, token)

    async def describe_view(self, request: web.Request) -> web.Response:
        token = request.headers.get("X-Amz-Bearer")
        view_token = request.match_info["token"]

        def action(body: dict[str, Any], who: Participant | None) -> dict[str, Any]:
            participant = self.state.by_connection_token(token)
            return ops.describe_view(self.state, participant, view_token)

        return await self._run(request, "DescribeView", action, token)

    async def start_chat_contact(self, request: web.Request) -> web.Response:
        body: dict[str, Any] = {}
        operation = "StartChatContact"
        raw = await read_body(request, self.state.settings.request_timeout)
        await self._latency(operation, None)
        try:
            body = _parse_body(raw)
            fault = self._fault(operation, None)
            if fault is not None:
                raise fault
            client_token = body.get("ClientToken")
            ct = client_token if isinstance(client_token, str) and client_token else None
            answer = self.state.replays.replayed("connect", operation, ct, body)
            if answer is None:
                answer = ops.start_chat_contact(self.state, body)
                self.state.replays.remember("connect", operation, ct, body, answer)
        except ApiError as err:
            self._record(request, operation, None, body, err.status, err.code)
            return _json_response(err.status, err.body(), err.code)
        self._record(request, operation, None, body, 200, None, contact_id=answer["ContactId"])
        return _json_response(200, answer)

    # --- pre-signed attachment URLs (S3 stand-in) ----------------------------------------
    @staticmethod
    def _s3_error(status: int, code: str, message: str) -> web.Response:
        xml = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>{message}</Message></Error>"
        )
        return web.Response(status=status, text=xml, content_type="application/xml")

    async def upload(self, request: web.Request) -> web.Response:
        data = await read_body(request, self.state.settings.request_timeout)
        attachment = self.state.attachments.get(request.match_info["id"])
        participant = None
        if attachment is not None:
            contact = self.state.contacts.get(attachment.contact_id)
            participant = contact.participants.get(attachment.participant_id) if contact else None
        body = {"Size": len(data)}
        await self._latency(
            "UploadAttachment", participant.contact_id if participant else None, explicit_only=True
        )

        def fail(status: int, code: str, message: str) -> web.Response:
            self._record(request, "UploadAttachment", participant, body, status, code)
            return self._s3_error(status, code, message)

        injected = self.faults.injected_error(
            "UploadAttachment", participant.contact_id if participant else None, explicit_only=True
        )
        if injected is not None:
            return fail(injected[0], "InternalError", "Injected fault")
        if (
            attachment is None
            or request.query.get("X-Amz-Signature") != attachment.upload_signature
        ):
            return fail(403, "SignatureDoesNotMatch", "The request signature does not match")
        if time.time() >= attachment.upload_expires_at:
            return fail(403, "AccessDenied", "Request has expired")
        for name, value in attachment.headers.items():
            sent = request.headers.get(name)
            if sent is None or (name.lower() != "content-type" and sent != value):
                return fail(
                    403,
                    "SignatureDoesNotMatch",
                    f"Missing or wrong signed header {name} (see HeadersToInclude)",
                )
        if attachment.completed:
            return fail(403, "AccessDenied", "The upload has been completed")
        if len(data) != attachment.size:
            return fail(400, "IncompleteBody", "The body size does not match AttachmentSizeInBytes")
        attachment.data = data
        self._record(request, "UploadAttachment", participant, body, 200, None)
        return web.Response(status=200, headers={"ETag": f'"{uuid.uuid4().hex}"'})

    async def download(self, request: web.Request) -> web.Response:
        attachment = self.state.attachments.get(request.match_info["id"])
        participant = None
        if attachment is not None:
            contact = self.state.contacts.get(attachment.contact_id)
            participant = contact.participants.get(attachment.participant_id) if contact else None
        signature = request.query.get("X-Amz-Signature", "")
        await self._latency(
            "DownloadAttachment",
            participant.contact_id if participant else None,
            explicit_only=True,
        )

        def fail(status: int, code: str, message: str) -> web.Response:
            self._record(request, "DownloadAttachment", participant, {}, status, code)
            return self._s3_error(status, code, message)

        injected = self.faults.injected_error(
            "DownloadAttachment",
            participant.contact_id if participant else None,
            explicit_only=True,
        )
        if injected is not None:
            return fail(injected[0], "InternalError", "Injected fault")
        if attachment is None or attachment.data is None or signature not in attachment.downloads:
            return fail(403, "AccessDenied", "Access Denied")
        if time.time() >= attachment.downloads[signature]:
            return fail(403, "AccessDenied", "Request has expired")
        self._record(request, "DownloadAttachment", participant, {}, 200, None)
        return web.Response(
            status=200,
            body=attachment.data,
            content_type=attachment.content_type,
            headers={
                "Content-Disposition": (
                    "inline"
                    if request.query.get("response-content-disposition") == "inline"
                    else "attachment"
                )
                + f'; filename="{attachment.name}"'
            },
        )
