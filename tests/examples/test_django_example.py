"""The Django example: one browser session, two worker processes, requests alternating."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connect_chat.emulator import Emulator
from connect_chat.testing import wait_until
from tests.examples.support import EXAMPLES, example_env, serving

pytest.importorskip("django", reason="the Django example needs Django (the dev extra)")
requests = pytest.importorskip("requests")

SITE = EXAMPLES / "django_chat"


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[tuple[Emulator, list[str]]]:
    with Emulator() as emulator:
        env = example_env(
            CONNECT_CHAT_ENDPOINT_URL=emulator.endpoint_url,
            DJANGO_SECRET_KEY="test-secret",
            DJANGO_SESSION_DIR=str(tmp_path / "sessions"),
        )
        with serving(["serve.py"], cwd=SITE, env=env) as first, serving(
            ["serve.py"], cwd=SITE, env=env
        ) as second:
            yield emulator, [first, second]


def test_a_chat_goes_on_whichever_worker_serves_the_request(
    workers: tuple[Emulator, list[str]], tmp_path: Path
) -> None:
    emulator, (one, two) = workers
    assert one != two
    browser = requests.Session()  # the cookie (session id) goes to both workers
    page = browser.get(f"{one}/", timeout=10)
    assert page.status_code == 200 and "Start a chat" in page.text
    headers = {"X-CSRFToken": browser.cookies["csrftoken"], "Referer": f"{one}/"}

    started = browser.post(f"{one}/chat/start", data={"name": "Ann"}, headers=headers, timeout=10)
    assert started.status_code == 200, started.text
    contact_id = started.json()["contact_id"]
    agent = emulator.agent(contact_id)
    agent.join(display_name="Sam")
    agent.send_message("Hello Ann, how can I help?")

    sent = browser.post(f"{two}/chat/send", data={"text": "Where is my parcel?"},
                        headers=headers, timeout=10)
    assert sent.status_code == 200, sent.text

    first_poll = browser.get(f"{one}/chat/poll", timeout=10).json()
    texts = [item.get("text") for item in first_poll["items"] if item["kind"] == "message"]
    assert texts == ["Hello Ann, how can I help?", "Where is my parcel?"]
    assert browser.get(f"{two}/chat/poll", timeout=10).json()["items"] == []

    agent.send_attachment("label.pdf", b"%PDF-1.4 a label", "application/pdf")
    (item,) = browser.get(f"{two}/chat/poll", timeout=10).json()["items"]
    assert item["kind"] == "attachment" and item["text"] == "label.pdf"
    download = browser.get(f"{one}/chat/attachment/{item['attachment_id']}",
                           params={"name": "label.pdf"}, timeout=10)
    assert download.status_code == 200 and download.content == b"%PDF-1.4 a label"

    upload = browser.post(f"{two}/chat/attach", headers=headers, timeout=10,
                          files={"file": ("photo.png", b"\x89PNG fake", "image/png")})
    assert upload.status_code == 200, upload.text
    stored = emulator.transcript(contact_id)
    names = [a["AttachmentName"] for i in stored for a in i.get("Attachments", [])]
    assert names == ["label.pdf", "photo.png"]

    # One connection was made, by the first worker; the other reused it from the session.
    assert len(emulator.calls("CreateParticipantConnection", contact_id)) == 1

    ended = browser.post(f"{one}/chat/end", headers=headers, timeout=10)
    assert ended.json() == {"ended": True}
    wait_until(lambda: emulator.contact(contact_id)["State"] == "ENDED", timeout=10)
    gone = browser.get(f"{two}/chat/poll", timeout=10)
    assert gone.status_code == 409


def test_the_agent_ending_the_chat_is_reported_to_the_page(
    workers: tuple[Emulator, list[str]],
) -> None:
    emulator, (one, two) = workers
    browser = requests.Session()
    browser.get(f"{one}/", timeout=10)
    headers = {"X-CSRFToken": browser.cookies["csrftoken"], "Referer": f"{one}/"}
    contact_id = browser.post(f"{two}/chat/start", headers=headers, timeout=10).json()[
        "contact_id"
    ]
    assert browser.get(f"{one}/chat/poll", timeout=10).status_code == 200
    emulator.end_chat(contact_id)
    answer = browser.get(f"{two}/chat/poll", timeout=10)
    assert answer.status_code == 410 and answer.json()["ended"] is True
    assert browser.get(f"{one}/chat/poll", timeout=10).status_code == 409


def test_a_post_without_the_csrf_token_is_refused(workers: tuple[Emulator, list[str]]) -> None:
    _, (one, _) = workers
    assert requests.post(f"{one}/chat/start", timeout=10).status_code == 403
