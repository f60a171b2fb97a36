"""A chat per browser session, served by any worker process.

Each request rebuilds the chat from the session (``SavedChat.from_dict``), does its one thing
over REST (``RestChat``: no WebSocket, no thread), and stores the updated state back. So the
worker that answers a request never needs to be the one that started the chat, and nothing is
left running between requests. The page polls ``chat/poll`` for what is new.
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from connect_chat import ContentType
from connect_chat.cli_contact import (
    EMULATOR_CONTACT_FLOW_ID,
    EMULATOR_INSTANCE_ID,
    start_chat_contact,
)
from connect_chat.errors import ChatEndedError, ConnectChatError
from connect_chat.models import Event, Message, TranscriptItem
from connect_chat.resume import RestChat, SavedChat

SESSION_KEY = "connect_chat"

View = Callable[..., HttpResponse]


def item_json(item: TranscriptItem) -> dict[str, Any]:
    """What the page needs to show one transcript item."""
    data: dict[str, Any] = {"id": item.id, "time": item.time_stamp, "type": item.content_type}
    if isinstance(item, Message):
        data.update(
            kind="attachment" if item.attachment_id else "message",
            role=item.participant,
            name=item.display_name,
            text=item.text,
            attachment_id=item.attachment_id,
        )
    elif isinstance(item, Event):
        data.update(kind="event", role=item.participant, name=item.display_name)
    return data


def with_chat(view: Callable[[HttpRequest, RestChat], HttpResponse]) -> View:
    """Load the session's chat, run the view, store the chat's new state back."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        state = request.session.get(SESSION_KEY)
        if state is None:
            return JsonResponse({"error": "no chat: POST chat/start first"}, status=409)
        chat = RestChat(SavedChat.from_dict(state))
        try:
            response = view(request, chat, *args, **kwargs)
        except ChatEndedError:
            del request.session[SESSION_KEY]
            return JsonResponse({"error": "the chat has ended", "ended": True}, status=410)
        except ConnectChatError as error:
            return JsonResponse({"error": str(error)}, status=502)
        finally:
            chat.close()
        if SESSION_KEY in request.session:
            request.session[SESSION_KEY] = chat.saved.to_dict()
        return response

    return wrapper


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "chat/index.html", {"has_chat": SESSION_KEY in request.session})


@require_POST
def start(request: HttpRequest) -> HttpResponse:
    config = settings.CONNECT_CHAT
    name = (request.POST.get("name") or "Customer").strip()[:256] or "Customer"
    if config["INSTANCE_ID"] and config["CONTACT_FLOW_ID"]:
        details = start_chat_contact(
            instance_id=config["INSTANCE_ID"],
            contact_flow_id=config["CONTACT_FLOW_ID"],
            display_name=name,
            region=config["REGION"],
        )
    elif config["ENDPOINT_URL"]:  # the emulator: any instance, throw-away signature
        details = start_chat_contact(
            instance_id=EMULATOR_INSTANCE_ID,
            contact_flow_id=EMULATOR_CONTACT_FLOW_ID,
            display_name=name,
            region=config["REGION"],
            endpoint_url=config["ENDPOINT_URL"],
            emulator_credentials=True,
        )
    else:
        return JsonResponse({"error": "CONNECT_CHAT is not configured"}, status=500)
    saved = SavedChat.from_chat_details(
        details, region=config["REGION"], endpoint_url=config["ENDPOINT_URL"]
    )
    request.session[SESSION_KEY] = saved.to_dict()
    return JsonResponse({"contact_id": details.contact_id})


@require_POST
@with_chat
def send(request: HttpRequest, chat: RestChat) -> HttpResponse:
    text = request.POST.get("text", "").strip()
    if not text:
        return JsonResponse({"error": "empty message"}, status=400)
    return JsonResponse({"id": chat.send_message(ContentType.PLAIN_TEXT, text)})


@require_GET
@with_chat
def poll(request: HttpRequest, chat: RestChat) -> HttpResponse:
    items = chat.new_items()
    ended = any(i.content_type == ContentType.ENDED.value for i in items)
    if ended:
        del request.session[SESSION_KEY]
    return JsonResponse({"items": [item_json(i) for i in items], "ended": ended})


@require_POST
@with_chat
def attach(request: HttpRequest, chat: RestChat) -> HttpResponse:
    upload = request.FILES.get("file")
    if upload is None:
        return JsonResponse({"error": "no file"}, status=400)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / Path(upload.name or "attachment").name
        with path.open("wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        return JsonResponse({"attachment_id": chat.send_attachment(path)})


@require_GET
@with_chat
def attachment(request: HttpRequest, chat: RestChat, attachment_id: str) -> HttpResponse:
    name = Path(request.GET.get("name") or "attachment").name
    path = chat.download_attachment(attachment_id, name, tempfile.mkdtemp(prefix="chat-"))
    return FileResponse(path.open("rb"), as_attachment=True, filename=path.name)


@require_POST
@with_chat
def end(request: HttpRequest, chat: RestChat) -> HttpResponse:
    chat.disconnect()
    del request.session[SESSION_KEY]
    return JsonResponse({"ended": True})
