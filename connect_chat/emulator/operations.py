"""The service operations: validate a request body, act on the state, return the answer body.

One function per operation, named after it. Each runs on the loop thread and either returns
the JSON answer or raises :class:`ApiError`. The HTTP layer (``http_api``) does the rest.
"""

from __future__ import annotations

import json
import time
from typing import Any

from connect_chat.emulator import items as it
from connect_chat.emulator.errors import (
    ApiError,
    access_denied,
    conflict,
    invalid_parameter,
    invalid_request,
    not_found,
    validation,
)
from connect_chat.emulator.records import (
    Attachment,
    ConnectionToken,
    Contact,
    Participant,
    WebSocketTicket,
    new_token,
)
from connect_chat.emulator.settings import ALL_MESSAGE_TYPES
from connect_chat.emulator.state import State
from connect_chat.emulator.transcript import Start, page
from connect_chat.emulator.validate import get_dict, get_enum, get_int, get_list, get_str
from connect_chat.enums import (
    MAX_CONTENT_LENGTH,
    MESSAGE_CONTENT_LIMITS,
    MESSAGE_CONTENT_TYPES,
    ContentType,
)

CONNECTION_TYPES = ("WEBSOCKET", "CONNECTION_CREDENTIALS", "WEBRTC_CONNECTION")
EVENT_TYPES = frozenset(
    {
        ContentType.TYPING.value,
        ContentType.MESSAGE_DELIVERED.value,
        ContentType.MESSAGE_READ.value,
        ContentType.CONNECTION_ACKNOWLEDGED.value,
    }
)


def _answer_time(item: dict[str, Any]) -> dict[str, Any]:
    return {"Id": item["Id"], "AbsoluteTime": item["AbsoluteTime"]}


# --- Connect: StartChatContact -----------------------------------------------------------------
def start_chat_contact(
    state: State, body: dict[str, Any], *, relaxed: bool = False
) -> dict[str, Any]:
    """``PUT /contact/chat``. ``relaxed`` (the Python control API) allows any chat duration."""
    err = invalid_parameter
    if not relaxed:
        get_str(body, "InstanceId", required=True, max_len=100, error=err)
        get_str(body, "ContactFlowId", required=True, min_len=0, max_len=500, error=err)
    _check_start_chat_extras(body)
    details = body.get("ParticipantDetails")
    if not isinstance(details, dict):
        raise err("ParticipantDetails is required")
    display_name = get_str(details, "DisplayName", required=True, max_len=256, error=err)
    assert display_name is not None
    supported: frozenset[str] | None = None
    types = get_list(body, "SupportedMessagingContentTypes", error=err)
    if types is not None:
        if not types or any(t not in ALL_MESSAGE_TYPES for t in types):
            raise err("SupportedMessagingContentTypes contains an unsupported content type")
        if ContentType.PLAIN_TEXT.value not in types:
            raise err("SupportedMessagingContentTypes must contain text/plain")
        supported = frozenset(types)
    duration: float | None
    if relaxed:
        raw = body.get("ChatDurationInMinutes")
        if raw is not None and (not isinstance(raw, (int, float)) or raw <= 0):
            raise err("ChatDurationInMinutes must be positive")
        duration = float(raw) if raw is not None else None
    else:
        minutes = get_int(body, "ChatDurationInMinutes", minimum=60, maximum=10080, error=err)
        duration = float(minutes) if minutes is not None else None
    initial: tuple[str, str] | None = None
    message = get_dict(body, "InitialMessage", error=err)
    if message:
        content_type = get_str(message, "ContentType", required=True, max_len=100, error=err)
        content = get_str(message, "Content", required=True, max_len=MAX_CONTENT_LENGTH, error=err)
        assert content_type is not None and content is not None
        allowed = supported or state.settings.default_supported_content_types
        if content_type not in MESSAGE_CONTENT_TYPES or content_type not in allowed:
            raise err(f"InitialMessage content type {content_type} is not supported")
        if len(content) > MESSAGE_CONTENT_LIMITS.get(content_type, MAX_CONTENT_LENGTH):
            raise err("InitialMessage Content is too long for its content type")
        initial = (content_type, content)
    source_id: str | None = None
    rehydration: str | None = None
    persistent = get_dict(body, "PersistentChat", error=err)
    if persistent:
        if body.get("RelatedContactId") is not None:
            raise invalid_request("PersistentChat and RelatedContactId cannot be used together")
        rehydration = get_enum(
            persistent, "RehydrationType", ("ENTIRE_PAST_SESSION", "FROM_SEGMENT"), error=err
        )
        source_id = get_str(persistent, "SourceContactId", required=True, max_len=256, error=err)
        if rehydration is None:
            raise err("PersistentChat.RehydrationType is required")
        assert source_id is not None
        source = state.contacts.get(source_id)
        if source is None:
            raise ApiError(404, "ResourceNotFoundException", f"Contact {source_id} not found")
        if not source.ended:
            raise invalid_request("The source contact of a persistent chat must have ended")
    contact = state.create_contact(
        display_name=display_name,
        supported_types=supported,
        duration_minutes=duration,
        source_contact_id=source_id,
        rehydration_type=rehydration,
        initial_message=initial,
    )
    out = {
        "ContactId": contact.contact_id,
        "ParticipantId": contact.customer.participant_id,
        "ParticipantToken": contact.customer.participant_token,
    }
    if source_id is not None:
        out["ContinuedFromContactId"] = source_id
    return out


#: StartChatContact ``Attributes``: the model bounds each key and value (1-32767 / 0-32767
#: characters); the Connect documentation bounds them together at 32768 bytes (UTF-8).
MAX_ATTRIBUTE_LENGTH = 32767
MAX_ATTRIBUTES_BYTES = 32768


def _check_start_chat_extras(body: dict[str, Any]) -> None:
    """The StartChatContact members the emulator does not act on, checked as the model says."""
    err = invalid_parameter
    get_str(body, "ClientToken", min_len=0, max_len=500, error=err)
    get_str(body, "RelatedContactId", max_len=256, error=err)
    get_str(body, "CustomerId", max_len=128, error=err)
    exits = get_list(body, "DisconnectOnCustomerExit", error=err)
    if exits is not None:
        if len(exits) != 1:
            raise err(
                "1 validation error detected: Value at 'disconnectOnCustomerExit' failed to "
                "satisfy constraint: Member must have length between 1 and 1"
            )
        if exits[0] != "AGENT":
            raise err(
                f"1 validation error detected: Value '{exits[0]}' at "
                "'disconnectOnCustomerExit' failed to satisfy constraint: Member must satisfy "
                "enum value set: [AGENT]"
            )
    kinds = get_list(body, "ConnectionTypes", error=err)
    if kinds is not None:
        allowed = (
            "WEBSOCKET",
            "CONNECTION_CREDENTIALS",
            "AUTHENTICATION_SESSION",
            "WEBRTC_CONNECTION",
        )
        if not 1 <= len(kinds) <= 2 or any(k not in allowed for k in kinds):
            raise err("ConnectionTypes must hold 1 or 2 of " + ", ".join(allowed))
    get_enum(get_dict(body, "ParticipantConfiguration", error=err), "ResponseMode",
             ("INCREMENTAL", "COMPLETE"), error=err)  # fmt: skip
    streaming = body.get("ChatStreamingConfiguration")
    if streaming is not None:
        if not isinstance(streaming, dict):
            raise err("Value at 'chatStreamingConfiguration' must be a structure")
        get_str(streaming, "StreamingEndpointArn", required=True, max_len=350, error=err)
    attributes = get_dict(body, "Attributes", error=err)
    total = 0
    for key, value in attributes.items():
        if not isinstance(value, str):
            raise err("Attributes values must be strings")
        if not 1 <= len(key) <= MAX_ATTRIBUTE_LENGTH or len(value) > MAX_ATTRIBUTE_LENGTH:
            raise err("Attributes keys must have 1 to 32767 characters and values at most 32767")
        total += len(key.encode()) + len(value.encode())
    if total > MAX_ATTRIBUTES_BYTES:
        raise err(f"Attributes may hold at most {MAX_ATTRIBUTES_BYTES} bytes in all")
    segments = get_dict(body, "SegmentAttributes", error=err)
    for key, value in segments.items():
        if not 1 <= len(key) <= 128 or not isinstance(value, dict):
            raise err("SegmentAttributes keys must have 1 to 128 characters, values structures")
        get_str(value, "ValueString", min_len=0, max_len=1024, error=err)
        get_str(value, "ValueArn", min_len=0, max_len=1024, error=err)


# --- ACPS --------------------------------------------------------------------------------------
def create_participant_connection(
    state: State, token: str | None, body: dict[str, Any]
) -> dict[str, Any]:
    participant = state.by_participant_token(token)
    types = get_list(body, "Type")
    if types is not None:
        if not types:
            raise validation(
                "1 validation error detected: Value '[]' at 'type' failed to satisfy "
                "constraint: Member must have length greater than or equal to 1"
            )
        for value in types:
            if value not in CONNECTION_TYPES:
                raise validation(
                    f"1 validation error detected: Value '[{value}]' at 'type' failed "
                    "to satisfy constraint: Member must satisfy enum value set: "
                    f"[{', '.join(CONNECTION_TYPES)}]"
                )
    connect = body.get("ConnectParticipant")
    if connect is not None and not isinstance(connect, bool):
        raise validation("ConnectParticipant must be a boolean")
    now = time.time()
    out: dict[str, Any] = {}
    if types and "WEBSOCKET" in types:
        _prune_tickets(state, now)
        ticket = new_token("", 32)
        expires = now + state.settings.websocket_url_ttl
        state.ws_tickets[ticket] = WebSocketTicket(participant, expires)
        out["Websocket"] = {
            "Url": f"{state.ws_base}/ws?token={ticket}",
            "ConnectionExpiry": it.iso_seconds(expires),
        }
    if types and "CONNECTION_CREDENTIALS" in types:
        connection_token = new_token("CT")
        expires = now + state.settings.connection_token_ttl
        state.connection_tokens[connection_token] = ConnectionToken(participant, expires)
        participant.connection_tokens.add(connection_token)
        out["ConnectionCredentials"] = {
            "ConnectionToken": connection_token,
            "Expiry": it.iso_seconds(expires),
        }
    return out


def _prune_tickets(state: State, now: float) -> None:
    if len(state.ws_tickets) > 5000:
        state.ws_tickets = {k: v for k, v in state.ws_tickets.items() if v.expires_at > now}


def _contact_of(state: State, participant: Participant) -> Contact:
    return state.contacts[participant.contact_id]


def send_message(state: State, participant: Participant, body: dict[str, Any]) -> dict[str, Any]:
    content_type = get_str(body, "ContentType", required=True, max_len=100)
    content = get_str(body, "Content", required=True, max_len=MAX_CONTENT_LENGTH)
    get_str(body, "ClientToken", min_len=0, max_len=500)
    assert content_type is not None and content is not None
    contact = _contact_of(state, participant)
    if content_type not in MESSAGE_CONTENT_TYPES or content_type not in contact.supported_types:
        raise validation(f"Content type {content_type} is not supported for this chat")
    limit = MESSAGE_CONTENT_LIMITS.get(content_type, MAX_CONTENT_LENGTH)
    if len(content) > limit:
        raise validation(f"Content of type {content_type} must be at most {limit} characters")
    echo_delay = state.faults.injected_echo_delay(contact.contact_id)
    item = state.post_message(contact, participant, content_type, content, echo_delay=echo_delay)
    return _answer_time(item)


def send_event(state: State, participant: Participant, body: dict[str, Any]) -> dict[str, Any]:
    content_type = get_str(body, "ContentType", required=True, max_len=100)
    get_str(body, "ClientToken", min_len=0, max_len=500)
    assert content_type is not None
    if content_type not in EVENT_TYPES:
        raise validation(f"Content type {content_type} is not a supported event type")
    contact = _contact_of(state, participant)
    if content_type == ContentType.TYPING.value:
        # Typing may come with no Content or an empty one (Android's sample app).
        get_str(body, "Content", min_len=0, max_len=MAX_CONTENT_LENGTH)
        return _answer_time(state.typing(contact, participant))
    content = get_str(body, "Content", max_len=MAX_CONTENT_LENGTH)
    if content_type == ContentType.CONNECTION_ACKNOWLEDGED.value:
        return {"Id": it.new_id(), "AbsoluteTime": it.iso_ms(it.now_ms())}
    message_id = _receipt_target(content)
    if (
        state.settings.receipt_conflict_over_two_participants
        and state.active_participants(contact) > 2
    ):
        raise conflict("Receipts are not supported when more than two participants are active")
    item = state.receipt(
        contact, participant, message_id, read=content_type == ContentType.MESSAGE_READ.value
    )
    if item is None:
        return {"Id": it.new_id(), "AbsoluteTime": it.iso_ms(it.now_ms())}
    return _answer_time(item)


def _receipt_target(content: str | None) -> str:
    if content is None:
        raise validation("Content is required for message receipts")
    try:
        data = json.loads(content)
    except (ValueError, RecursionError):
        raise validation('Content of a receipt must be JSON like {"messageId": "..."}') from None
    message_id = data.get("messageId") if isinstance(data, dict) else None
    if not isinstance(message_id, str) or not message_id:
        raise validation("Content of a receipt must name a messageId")
    return message_id


def get_transcript(state: State, participant: Participant, body: dict[str, Any]) -> dict[str, Any]:
    contact = _contact_of(state, participant)
    contact_id = get_str(body, "ContactId", max_len=256)
    if contact_id is not None and contact_id not in _chain(state, contact):
        raise access_denied()
    max_results = get_int(body, "MaxResults", minimum=0, maximum=100)
    next_token = get_str(body, "NextToken", max_len=1000)
    direction = get_enum(body, "ScanDirection", ("FORWARD", "BACKWARD"))
    sort_order = get_enum(body, "SortOrder", ("ASCENDING", "DESCENDING")) or "DESCENDING"
    start = _start_position(get_dict(body, "StartPosition"))
    if direction is None:
        direction = "FORWARD" if start is not None else "BACKWARD"
    entries, forms = state.transcript_items(contact)
    chosen, token = page(
        entries,
        contact_id=contact.contact_id,
        direction=direction,
        sort_order=sort_order,
        max_results=10 if max_results is None else max_results,
        start=start,
        next_token=next_token,
        include_start=state.settings.behaviour.forward_includes_start,
        token_when_empty=state.settings.behaviour.max_results_zero == "empty_with_token",
    )
    out: dict[str, Any] = {
        "InitialContactId": contact.initial_contact_id,
        "Transcript": [forms[e.item_id] for e in chosen],
    }
    if token is not None:
        out["NextToken"] = token
    return out


def _chain(state: State, contact: Contact) -> set[str]:
    ids = {contact.contact_id}
    source = contact.rehydrated_from
    while source is not None and source not in ids:
        ids.add(source)
        source = state.contacts[source].rehydrated_from if source in state.contacts else None
    return ids


def _start_position(position: dict[str, Any]) -> Start | None:
    """``{}`` (what ChatJS sends without a start) is the same as no StartPosition."""
    item_id = get_str(position, "Id", max_len=256)
    absolute = get_str(position, "AbsoluteTime", max_len=100)
    most_recent = get_int(position, "MostRecent", minimum=0, maximum=100)
    given = [v for v in (item_id, absolute, most_recent) if v is not None]
    if not given:
        return None
    if len(given) > 1:
        raise validation("StartPosition must have exactly one of Id, AbsoluteTime, MostRecent")
    if absolute is not None:
        try:
            return Start(at_ms=it.parse_instant(absolute))
        except ValueError:
            raise validation(
                f"StartPosition.AbsoluteTime {absolute!r} is not an ISO-8601 instant"
            ) from None
    if item_id is not None:
        return Start(item_id=item_id)
    return Start(most_recent=most_recent)


def disconnect_participant(
    state: State, participant: Participant, body: dict[str, Any]
) -> dict[str, Any]:
    get_str(body, "ClientToken", min_len=0, max_len=500)
    state.disconnect(participant)
    return {}


def start_attachment_upload(
    state: State, participant: Participant, body: dict[str, Any]
) -> dict[str, Any]:
    content_type = get_str(body, "ContentType", required=True, max_len=255)
    size = get_int(body, "AttachmentSizeInBytes", required=True, minimum=1)
    name = get_str(body, "AttachmentName", required=True, max_len=256)
    # Required in the model, but Android sends none and works with the service: optional.
    get_str(body, "ClientToken", max_len=500)
    assert content_type is not None and size is not None and name is not None
    settings = state.settings
    if content_type not in settings.allowed_attachment_types:
        raise validation(f"Attachment content type {content_type} is not supported")
    if size > settings.max_attachment_bytes:
        raise validation(
            f"Attachment size {size} exceeds the limit of {settings.max_attachment_bytes} bytes"
        )
    contact = _contact_of(state, participant)
    limit = settings.max_attachments_per_contact
    if limit is not None and contact.attachment_count >= limit:
        raise ApiError(
            402, "ServiceQuotaExceededException", f"The chat already has {limit} attachments"
        )
    contact.attachment_count += 1
    attachment_id = it.new_id()
    expires = time.time() + settings.attachment_url_ttl
    headers = {"Content-Type": content_type, "x-amz-meta-attachment-id": attachment_id}
    attachment = Attachment(
        attachment_id=attachment_id,
        contact_id=participant.contact_id,
        participant_id=participant.participant_id,
        name=name,
        content_type=content_type,
        size=size,
        upload_signature=new_token("", 24),
        upload_expires_at=expires,
        headers=headers,
    )
    state.attachments[attachment_id] = attachment
    url = (
        f"{state.http_base}/attachments/upload/{attachment_id}"
        f"?X-Amz-Expires={int(settings.attachment_url_ttl)}"
        f"&X-Amz-Signature={attachment.upload_signature}"
    )
    return {
        "AttachmentId": attachment_id,
        "UploadMetadata": {
            "Url": url,
            "UrlExpiry": it.iso_seconds(expires),
            "HeadersToInclude": dict(headers),
        },
    }


def _own_attachment(state: State, participant: Participant, attachment_id: str) -> Attachment:
    attachment = state.attachments.get(attachment_id)
    if attachment is None or attachment.contact_id != participant.contact_id:
        raise validation(f"Attachment {attachment_id} was not found")
    return attachment


def complete_attachment_upload(
    state: State, participant: Participant, body: dict[str, Any]
) -> dict[str, Any]:
    ids = get_list(body, "AttachmentIds")
    # Required in the model, but Android sends none and works with the service: optional.
    get_str(body, "ClientToken", max_len=500)
    if ids is None:
        raise validation(
            "1 validation error detected: Value null at 'attachmentIds' failed to "
            "satisfy constraint: Member must not be null"
        )
    if len(ids) != 1 or not isinstance(ids[0], str) or not 1 <= len(ids[0]) <= 256:
        raise validation("AttachmentIds must hold exactly one attachment id")
    attachment = _own_attachment(state, participant, ids[0])
    if attachment.participant_id != participant.participant_id:
        raise validation(f"Attachment {ids[0]} was not found")
    if attachment.completed:
        raise conflict(f"Attachment {ids[0]} has already been completed")
    if attachment.data is None:
        raise validation(f"Attachment {ids[0]} has not been uploaded")
    attachment.completed = True
    contact = _contact_of(state, participant)
    scan = state.settings.attachment_scan
    attachment.status = "IN_PROGRESS" if scan else "APPROVED"
    item = state.publish(
        contact,
        it.attachment_item(
            ms=it.now_ms(),
            attachment_id=attachment.attachment_id,
            name=attachment.name,
            content_type=attachment.content_type,
            status=attachment.status,
            participant_id=participant.participant_id,
            display_name=participant.display_name,
            role=participant.role,
            initial_contact_id=contact.initial_contact_id,
            contact_id=contact.contact_id,
        ),
    )
    if scan:
        verdict = "REJECTED" if scan == "reject" else "APPROVED"
        state.loop.call_later(
            state.settings.attachment_scan_delay,
            state.scan_result,
            contact.contact_id,
            item["Id"],
            attachment.attachment_id,
            verdict,
        )
    if participant.role == "CUSTOMER":
        state.customer_activity(contact)
    return {}


def get_attachment(state: State, participant: Participant, body: dict[str, Any]) -> dict[str, Any]:
    attachment_id = get_str(body, "AttachmentId", required=True, max_len=256)
    expiry = get_int(body, "UrlExpiryInSeconds", minimum=5, maximum=300)
    disposition = get_enum(body, "UrlContentDisposition", ("INLINE", "ATTACHMENT"))
    assert attachment_id is not None
    attachment = _own_attachment(state, participant, attachment_id)
    if not attachment.completed or attachment.status != "APPROVED":
        raise validation(f"Attachment {attachment_id} is not available")
    seconds = 300 if expiry is None else expiry
    signature = new_token("", 24)
    expires = time.time() + seconds
    attachment.downloads[signature] = expires
    url = (
        f"{state.http_base}/attachments/download/{attachment_id}"
        f"?X-Amz-Expires={seconds}&X-Amz-Signature={signature}"
    )
    if disposition is not None:  # S3's response-content-disposition override
        url += f"&response-content-disposition={disposition.lower()}"
    return {
        "Url": url,
        "UrlExpiry": it.iso_seconds(expires),
        "AttachmentSizeInBytes": attachment.size,
    }


def describe_view(state: State, participant: Participant, view_token: str) -> dict[str, Any]:
    if not 1 <= len(view_token) <= 1000:
        raise validation("ViewToken must have a length between 1 and 1000")
    contact = _contact_of(state, participant)
    view = contact.views.get(view_token)
    if view is None:
        # The model's ResourceType enum names no view; a view token is scoped to its contact
        # here, so an unknown one is reported against the CONTACT (an emulator choice).
        raise not_found("View not found", view_token, "CONTACT")
    return {"View": json.loads(json.dumps(view))}


def get_authentication_url(
    state: State, participant: Participant, body: dict[str, Any]
) -> dict[str, Any]:
    session_id = get_str(body, "SessionId", required=True, min_len=36, max_len=36)
    redirect = get_str(body, "RedirectUri", required=True, max_len=1024)
    assert session_id is not None and redirect is not None
    contact = _contact_of(state, participant)
    if session_id not in contact.auth_sessions:
        raise validation("SessionId does not belong to an authentication in progress")
    from urllib.parse import urlencode

    query = urlencode({"SessionId": session_id, "RedirectUri": redirect})
    return {"AuthenticationUrl": f"{state.http_base}/emulator/authenticate?{query}"}


def cancel_participant_authentication(
    state: State, participant: Participant, body: dict[str, Any]
) -> dict[str, Any]:
    session_id = get_str(body, "SessionId", required=True, min_len=36, max_len=36)
    assert session_id is not None
    contact = _contact_of(state, participant)
    if session_id not in contact.auth_sessions:
        raise validation("SessionId does not belong to an authentication in progress")
    contact.auth_sessions.discard(session_id)
    state.emit_event(
        contact.contact_id,
        ContentType.AUTHENTICATION_CANCELLED.value,
        content=json.dumps({"SessionId": session_id}),
        participant_id=None,
        display_name=None,
        participant_role="SYSTEM",
        store=None,  # live-only unless transcript_events="all"
    )
    return {}
