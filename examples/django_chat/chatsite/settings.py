"""Settings of the example site: a chat per browser session, no database needed.

Sessions are stored server-side in files (``SESSION_FILE_PATH``), which every worker process
on the machine shares; any shared store works the same (the database, the cache, Redis).
The chat state itself is what ``SavedChat.to_dict()`` returns, kept in the session.

Environment:
    CONNECT_CHAT_ENDPOINT_URL   the Participant Service endpoint (the emulator: its URL)
    CONNECT_CHAT_INSTANCE_ID    with CONNECT_CHAT_CONTACT_FLOW_ID: start real chats
    CONNECT_CHAT_CONTACT_FLOW_ID
    CONNECT_CHAT_REGION         default us-west-2
    DJANGO_SECRET_KEY           the same in every worker
    DJANGO_SESSION_DIR          where the session files go (the same in every worker)
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "insecure-example-key-change-me")
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.sessions",
    "chat",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]

ROOT_URLCONF = "chatsite.urls"
WSGI_APPLICATION = "chatsite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

DATABASES: dict[str, dict[str, str]] = {}

SESSION_ENGINE = "django.contrib.sessions.backends.file"
SESSION_FILE_PATH = os.environ.get(
    "DJANGO_SESSION_DIR", os.path.join(tempfile.gettempdir(), "connect-chat-django-sessions")
)
os.makedirs(SESSION_FILE_PATH, exist_ok=True)
SESSION_COOKIE_HTTPONLY = True

USE_TZ = True
TIME_ZONE = "UTC"

CONNECT_CHAT = {
    "ENDPOINT_URL": os.environ.get("CONNECT_CHAT_ENDPOINT_URL") or None,
    "INSTANCE_ID": os.environ.get("CONNECT_CHAT_INSTANCE_ID") or None,
    "CONTACT_FLOW_ID": os.environ.get("CONNECT_CHAT_CONTACT_FLOW_ID") or None,
    "REGION": os.environ.get("CONNECT_CHAT_REGION", "us-west-2"),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"connect_chat": {"handlers": ["console"], "level": "WARNING"}},
}
