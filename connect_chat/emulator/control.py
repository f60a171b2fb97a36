"""The control API: play the agent, drive the chat, read state, inject faults.

:class:`Control` holds the operations (loop thread only); the Python API (``Emulator`` and
``AgentHandle``) hops onto the loop to call them, and :class:`ControlRoutes` serves the same
operations over HTTP under ``/emulator/``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from aiohttp import web

from connect_chat.emulator import items as it
from connect_chat.emulator import operations as ops
from connect_chat.emulator.behaviour import Behaviour
from connect_chat.emulator.calls import CallLog, CallRecord
from connect_chat.emulator.errors import ApiError
from connect_chat.emulator.faults import DEFAULT_REORDER_HOLD, Faults
from connect_chat.emulator.guard import read_body
from connect_chat.emulator.records import Attachment, Participant, new_token
from connect_chat.emulator.state import State
from connect_chat.enums import ContentType

_RECEIPT_TYPES = (ContentType.MESSAGE_READ.value, ContentType.MESSAGE_DELIVERED.value)


@dataclass(frozen=True)
class SentView:
    """What ``agent.send_view`` sent: the interactive message id and its ViewToken."""

    message_id: str
    view_token: str


class Control:
    """Control operations on the state; raise ``ValueError``/``KeyError`` on misuse."""

    def __init__(self, state: State, calls: CallLog) -> None:
        self.state = state
        self.calls = calls

    def start_chat(
        self,
        display_name: str,
        initial_message: str | dict[str, str] | None,
        supported_content_types: list[str] | None,
        chat_duration_minutes: float | None,
        persistent_chat: str | dict[str, str] | None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"ParticipantDetails": {"DisplayName": display_name}}
        if initial_message is not None:
            body["InitialMessage"] = (
                {"ContentType": ContentType.PLAIN_TEXT.value, "Content": initial_message}
                if isinstance(initial_message, str)
                else dict(initial_message)
            )
        if supported_content_types is not None:
            body["SupportedMessagingContentTypes"] = [str(t) for t in supported_content_types]
        if chat_duration_minutes is not None:
            body["ChatDurationInMinutes"] = chat_duration_minutes
        if persistent_chat is not None:
            body["PersistentChat"] = (
                {"RehydrationType": "ENTIRE_PAST_SESSION", "SourceContactId": persistent_chat}
                if isinstance(persistent_chat, str)
                else dict(persistent_chat)
            )
        try:
            answer = ops.start_chat_contact(self.state, body, relaxed=True)
        except ApiError as err:
            self._record_start(body, None, err.status, err.code)
            raise ValueError(f"{err.code}: {err.message}") from None
        self._record_start(body, answer["ContactId"], 200, None)
        return answer

    def _record_start(
        self, body: dict[str, Any], contact_id: str | None, status: int, code: str | None
    ) -> None:
        """Log a control-API start like a StartChatContact request (no headers, no attempt)."""
        self.calls.append(
            CallRecord(
                operation="StartChatContact",
                contact_id=contact_id,
                participant_id=None,
                body=body,
                status=status,
                client_token=None,
                error_code=code,
            )
        )

    def end_chat(self, contact_id: str) -> None:
        self.state.contact(contact_id)
        self.state.end_chat(contact_id)

    def contact_view(self, contact_id: str) -> dict[str, Any]:
        contact = self.state.contact(contact_id)
        return {
            "ContactId": contact.contact_id,
            "State": "ENDED" if contact.ended else "ACTIVE",
            "Transcript": self.transcript(contact_id),
        }

    def contacts(self) -> list[dict[str, Any]]:
        """Every contact kept, oldest first: id, state, customer, open sockets, item count."""
        return [
            {
                "ContactId": contact.contact_id,
                "State": "ENDED" if contact.ended else "ACTIVE",
                "CustomerParticipantId": contact.customer.participant_id,
                "CustomerDisplayName": contact.customer.display_name,
                "AgentParticipantId": contact.agent.participant_id
                if contact.agent is not None and not contact.agent.left
                else None,
                "WebSockets": sum(1 for s in contact.sockets if s.subscribed),
                "Items": len(contact.items),
            }
            for contact in self.state.contacts.values()
        ]

    def transcript(self, contact_id: str) -> list[dict[str, Any]]:
        contact = self.state.contact(contact_id)
        entries, forms = self.state.transcript_items(contact)
        return [json.loads(json.dumps(forms[e.item_id])) for e in entries]

    # --- agent -------------------------------------------------------------------------------
    def agent_participant_id(self, contact_id: str) -> str | None:
        agent = self.state.contact(contact_id).agent
        return agent.participant_id if agent is not None and not agent.left else None

    def agent_join(self, contact_id: str, display_name: str) -> str:
        return self.state.agent_join(contact_id, display_name).participant_id

    def agent_message(self, contact_id: str, content: str, content_type: str) -> dict[str, Any]:
        if not content:
            raise ValueError("content must not be empty")
        return _id_time(self.state.agent_message(contact_id, content, str(content_type)))

    def agent_event(
        self, contact_id: str, content_type: str, content: str | None
    ) -> dict[str, Any]:
        content_type = str(content_type)
        agent = self.state.current_agent(contact_id)
        contact = self.state.contacts[contact_id]
        if content_type == ContentType.TYPING.value:
            return _id_time(self.state.typing(contact, agent))
        if content_type in _RECEIPT_TYPES:
            message_id = ops._receipt_target(content)
            return self._receipt(
                contact_id, agent, message_id, content_type == ContentType.MESSAGE_READ.value
            )
        return _id_time(
            self.state.emit_event(
                contact_id,
                content_type,
                content=content,
                participant_id=agent.participant_id,
                display_name=None,
                participant_role=None,
                store=None,
            )
        )

    def agent_receipt(self, contact_id: str, message_id: str, read: bool) -> dict[str, Any]:
        agent = self.state.current_agent(contact_id)
        return self._receipt(contact_id, agent, message_id, read)

    def _receipt(
        self, contact_id: str, agent: Participant, message_id: str, read: bool
    ) -> dict[str, Any]:
        contact = self.state.contacts[contact_id]
        try:
            item = self.state.receipt(contact, agent, message_id, read)
        except ApiError as err:
            raise ValueError(err.message) from None
        if item is None:
            return {"Id": None, "AbsoluteTime": None}
        return _id_time(item)

    def agent_leave(self, contact_id: str) -> None:
        self.state.agent_leave(contact_id)

    def agent_display_name(self, contact_id: str, display_name: str) -> dict[str, Any]:
        agent = self.state.current_agent(contact_id)
        return _id_time(
            self.state.emit_event(
                contact_id,
                ContentType.PARTICIPANT_DISPLAY_NAME_UPDATED.value,
                content=None,
                participant_id=agent.participant_id,
                display_name=display_name,
                participant_role=None,
                store=None,
            )
        )

    def _bot(self, contact_id: str) -> Participant:
        contact = self.state.contact(contact_id)
        if contact.ended:
            raise ValueError(f"contact {contact_id} has ended")
        for participant in contact.participants.values():
            if participant.role == "SYSTEM" and participant.display_name == "BOT":
                return participant
        bot = Participant(
            participant_id=it.new_id(), contact_id=contact_id, role="SYSTEM", display_name="BOT"
        )
        contact.participants[bot.participant_id] = bot
        return bot

    def send_interactive(
        self, contact_id: str, template: dict[str, Any] | str, from_bot: bool
    ) -> dict[str, Any]:
        content = template if isinstance(template, str) else json.dumps(template)
        kind = ContentType.INTERACTIVE_TEXT.value
        if not from_bot:
            return _id_time(self.state.agent_message(contact_id, content, kind))
        contact = self.state.contacts.get(contact_id)
        bot = self._bot(contact_id)
        assert contact is not None
        return _id_time(self.state.post_message(contact, bot, kind, content))

    def send_view(
        self,
        contact_id: str,
        *,
        view_id: str,
        name: str,
        template: dict[str, Any] | str,
        input_schema: dict[str, Any] | str,
        actions: list[str],
        version: int,
        view_data: dict[str, Any] | None,
        from_bot: bool,
    ) -> SentView:
        contact = self.state.contact(contact_id)
        token = new_token("VT", 48)
        contact.views[token] = {
            "Id": view_id,
            "Arn": f"arn:aws:connect:us-west-2:111122223333:instance/emulator/view/{view_id}",
            "Name": name,
            "Version": version,
            "Content": {
                "InputSchema": input_schema
                if isinstance(input_schema, str)
                else json.dumps(input_schema),
                "Template": template if isinstance(template, str) else json.dumps(template),
                "Actions": list(actions),
            },
        }
        message = {
            "templateType": "ViewResource",
            "version": "1.0",
            "data": {
                "content": {"viewId": view_id, "viewToken": token, "viewData": view_data or {}}
            },
        }
        sent = self.send_interactive(contact_id, message, from_bot)
        return SentView(message_id=sent["Id"], view_token=token)

    def agent_attachment(self, contact_id: str, name: str, data: bytes, content_type: str) -> str:
        if not data:
            raise ValueError("an attachment needs at least one byte")
        agent = self.state.current_agent(contact_id)
        contact = self.state.contacts[contact_id]
        attachment = Attachment(
            attachment_id=it.new_id(),
            contact_id=contact_id,
            participant_id=agent.participant_id,
            name=name,
            content_type=content_type,
            size=len(data),
            upload_signature=new_token("", 24),
            upload_expires_at=time.time(),
            headers={},
            data=bytes(data),
            completed=True,
        )
        self.state.attachments[attachment.attachment_id] = attachment
        self.state.publish(
            contact,
            it.attachment_item(
                ms=it.now_ms(),
                attachment_id=attachment.attachment_id,
                name=name,
                content_type=content_type,
                status="APPROVED",
                participant_id=agent.participant_id,
                display_name=agent.display_name,
                role=agent.role,
                initial_contact_id=contact.initial_contact_id,
                contact_id=contact_id,
            ),
        )
        return attachment.attachment_id

    def emit_event(
        self,
        contact_id: str,
        content_type: str,
        content: str | None,
        participant_id: str | None,
        display_name: str | None,
        participant_role: str | None,
        store: bool | None,
    ) -> dict[str, Any]:
        return _id_time(
            self.state.emit_event(
                contact_id,
                str(content_type),
                content=content,
                participant_id=participant_id,
                display_name=display_name,
                participant_role=participant_role,
                store=store,
            )
        )

    def start_authentication(self, contact_id: str) -> str:
        session_id = it.new_id()
        self.state.emit_event(
            contact_id,
            ContentType.AUTHENTICATION_INITIATED.value,
            content=json.dumps({"SessionId": session_id}),
            participant_id=None,
            display_name=None,
            participant_role="SYSTEM",
            store=None,  # live-only unless transcript_events="all"
        )
        return session_id

    def customer_id(self, contact_id: str) -> str:
        return self.state.contact(contact_id).customer.participant_id


def _id_time(item: dict[str, Any]) -> dict[str, Any]:
    return {"Id": item["Id"], "AbsoluteTime": item["AbsoluteTime"]}


class ControlRoutes:
    """The HTTP form of the control API (``/emulator/...``, JSON, capitalised keys)."""

    def __init__(
        self,
        control: Control,
        faults: Faults,
        calls: CallLog,
        *,
        behaviour: Callable[[], Behaviour],
        set_behaviour: Callable[[dict[str, Any]], Behaviour],
    ) -> None:
        self.control = control
        self.faults = faults
        self.calls = calls
        self._behaviour = behaviour
        self._set_behaviour = set_behaviour

    def add_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_get("/emulator/contacts", self._wrap(self.list_contacts))
        r.add_post("/emulator/contacts", self._wrap(self.start_chat))
        r.add_get("/emulator/contacts/{cid}", self._wrap(self.get_contact))
        r.add_post("/emulator/contacts/{cid}/end", self._wrap(self.end))
        r.add_post("/emulator/contacts/{cid}/agent/join", self._wrap(self.join))
        r.add_post("/emulator/contacts/{cid}/agent/message", self._wrap(self.message))
        r.add_post("/emulator/contacts/{cid}/agent/event", self._wrap(self.event))
        r.add_post("/emulator/contacts/{cid}/agent/receipt", self._wrap(self.receipt))
        r.add_post("/emulator/contacts/{cid}/agent/leave", self._wrap(self.leave))
        r.add_post("/emulator/contacts/{cid}/agent/interactive", self._wrap(self.interactive))
        r.add_post("/emulator/contacts/{cid}/events", self._wrap(self.system_event))
        r.add_post("/emulator/faults", self._wrap(self.fault))
        r.add_get("/emulator/calls", self._wrap(self.list_calls))
        r.add_delete("/emulator/calls", self._wrap(self.clear_calls))
        r.add_get("/emulator/behaviour", self._wrap(self.get_behaviour))
        r.add_post("/emulator/behaviour", self._wrap(self.post_behaviour))

    def _wrap(self, fn: Any) -> Any:
        async def handler(request: web.Request) -> web.Response:
            raw = await read_body(request, self.control.state.settings.request_timeout)
            try:
                body = json.loads(raw) if raw.strip() else {}
                if not isinstance(body, dict):
                    raise ValueError("the body must be a JSON object")
                answer = fn(request.match_info.get("cid"), body, request)
            except RecursionError:
                return web.json_response({"message": "the body is nested too deeply"}, status=400)
            except KeyError as err:
                return web.json_response(
                    {"message": str(err.args[0] if err.args else err)}, status=404
                )
            except (ValueError, TypeError) as err:
                return web.json_response({"message": str(err)}, status=400)
            return web.json_response(answer)

        return handler

    def start_chat(self, _cid: str | None, body: dict[str, Any], _r: web.Request) -> dict[str, Any]:
        return self.control.start_chat(
            body.get("DisplayName", "Customer"),
            body.get("InitialMessage"),
            body.get("SupportedMessagingContentTypes"),
            body.get("ChatDurationInMinutes"),
            body.get("PersistentChat"),
        )

    def list_contacts(
        self, _cid: str | None, _b: dict[str, Any], _r: web.Request
    ) -> dict[str, Any]:
        return {"Contacts": self.control.contacts()}

    def get_behaviour(
        self, _cid: str | None, _b: dict[str, Any], _r: web.Request
    ) -> dict[str, Any]:
        return self._behaviour().to_mapping()

    def post_behaviour(
        self, _cid: str | None, body: dict[str, Any], _r: web.Request
    ) -> dict[str, Any]:
        return self._set_behaviour(body).to_mapping()

    def get_contact(self, cid: str, _b: dict[str, Any], _r: web.Request) -> dict[str, Any]:
        return self.control.contact_view(cid)

    def end(self, cid: str, _b: dict[str, Any], _r: web.Request) -> dict[str, Any]:
        self.control.end_chat(cid)
        return {}

    def join(self, cid: str, body: dict[str, Any], _r: web.Request) -> dict[str, Any]:
        return {"ParticipantId": self.control.agent_join(cid, body.get("DisplayName", "Agent"))}

    def message(self, cid: str, body: dict[str, Any], _r: web.Request) -> dict[str, Any]:
        return self.control.agent_message(
            cid, _required(body, "Content"), body.get("ContentType", ContentType.PLAIN_TEXT.value)
        )

    def event(self, cid: str, body: dict[str, Any], _r: web.Request) -> dict[str, Any]:
        return self.control.agent_event(cid, _required(body, "ContentType"), body.get("Content"))

    def receipt(self, cid: str, body: dict[str, Any], _r: web.Request) -> dict[str, Any]:
        return self.control.agent_receipt(
            cid, _required(body, "MessageId"), bool(body.get("Read", True))
        )

    def leave(self, cid: str, _b: dict[str, Any], _r: web.Request) -> dict[str, Any]:
        self.control.agent_leave(cid)
        return {}

    def interactive(self, cid: str, body: dict[str, Any], _r: web.Request) -> dict[str, Any]:
        return self.control.send_interactive(
            cid, _required(body, "Template"), bool(body.get("FromBot", True))
        )

    def system_event(self, cid: str, body: dict[str, Any], _r: web.Request) -> dict[str, Any]:
        return self.control.emit_event(
            cid,
            _required(body, "ContentType"),
            body.get("Content"),
            body.get("ParticipantId"),
            body.get("DisplayName"),
            body.get("ParticipantRole"),
            body.get("Store"),
        )

    def fault(self, _cid: str | None, body: dict[str, Any], _r: web.Request) -> dict[str, Any]:
        name = body.get("Fault")
        contact_id = body.get("ContactId")
        if name == "drop_websockets":
            self.faults.drop_websockets(contact_id)
        elif name == "close_websockets":
            self.faults.close_websockets(int(body.get("Code", 1011)), contact_id)
        elif name == "silence_heartbeats":
            self.faults.silence_heartbeats(float(_required(body, "Seconds")), contact_id)
        elif name == "expire_connection_tokens":
            self.faults.expire_connection_tokens(contact_id)
        elif name == "http_errors":
            self.faults.http_errors(
                status=int(body.get("Status", 503)),
                rate=float(body.get("Rate", 0.3)),
                count=body.get("Count"),
                operations=body.get("Operations"),
                seed=body.get("Seed"),
                contact_id=contact_id,
                allow_any_status=bool(body.get("AllowAnyStatus", False)),
            )
        elif name == "latency":
            self.faults.latency(
                seconds=float(_required(body, "Seconds")),
                operations=body.get("Operations"),
                count=_optional_int(body, "Count"),
                contact_id=contact_id,
            )
        elif name == "ping_errors":
            self.faults.ping_errors(
                status=int(body.get("Status", 500)),
                content=str(body.get("Content", "Internal Server Error")),
                count=_optional_int(body, "Count"),
                contact_id=contact_id,
            )
        elif name == "refuse_upgrades":
            self.faults.refuse_upgrades(
                count=_optional_int(body, "Count"),
                status=int(body.get("Status", 403)),
                contact_id=contact_id,
            )
        elif name == "duplicate_chat_frames":
            self.faults.duplicate_chat_frames(
                count=_optional_int(body, "Count"), contact_id=contact_id
            )
        elif name == "reorder_chat_frames":
            self.faults.reorder_chat_frames(
                count=_optional_int(body, "Count", 1),
                contact_id=contact_id,
                hold=float(body.get("Hold", DEFAULT_REORDER_HOLD)),
            )
        elif name == "delay_echo":
            self.faults.delay_echo(
                float(_required(body, "Seconds")),
                count=_optional_int(body, "Count"),
                contact_id=contact_id,
            )
        elif name == "delay_response_after_echo":
            self.faults.delay_response_after_echo(
                float(_required(body, "Seconds")),
                count=_optional_int(body, "Count"),
                contact_id=contact_id,
            )
        elif name == "clear":
            self.faults.clear()
        else:
            raise ValueError(f"unknown fault {name!r}")
        return {}

    def list_calls(
        self, _cid: str | None, _b: dict[str, Any], request: web.Request
    ) -> dict[str, Any]:
        records = self.calls.select(request.query.get("operation"), request.query.get("contact_id"))
        return {"Calls": [{k: v for k, v in asdict(r).items() if k != "headers"} for r in records]}

    def clear_calls(self, _cid: str | None, _b: dict[str, Any], _r: web.Request) -> dict[str, Any]:
        self.calls.clear()
        return {}


def _optional_int(body: dict[str, Any], name: str, default: int | None = None) -> int | None:
    """``body[name]`` as an int; absent (or ``null``, for ``Count``: no limit) -> ``default``."""
    if name not in body:
        return default
    value = body[name]
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{name} must be an integer")
    return int(value)


def _required(body: dict[str, Any], name: str) -> Any:
    if body.get(name) in (None, ""):
        raise ValueError(f"{name} is required")
    return body[name]
