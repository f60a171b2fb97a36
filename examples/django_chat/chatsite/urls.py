"""The site's URLs: the chat page and its JSON endpoints."""

from __future__ import annotations

from chat import views
from django.urls import path

urlpatterns = [
    path("", views.index, name="index"),
    path("chat/start", views.start, name="start"),
    path("chat/send", views.send, name="send"),
    path("chat/poll", views.poll, name="poll"),
    path("chat/attach", views.attach, name="attach"),
    path("chat/attachment/<str:attachment_id>", views.attachment, name="attachment"),
    path("chat/end", views.end, name="end"),
]
