"""Load-test Amazon Connect chat with Locust: customers that greet, ask, wait, send a file, end.

Against a local emulator with an echo agent (the default target)::

    connect-chat emulator --port 8000 --agent echo
    locust -f examples/locustfile.py --headless -u 200 -r 50 -t 1m --processes 2

Options of this file (after Locust's own): ``--agent-delay S`` (the emulator's agent answers
S seconds late), ``--flow-delay S`` (StartChatContact, i.e. the contact flow, takes S seconds),
``--reply-timeout S`` (a later answer fails the step), ``--think-time S`` (a customer's
pause between steps), ``--attachment-bytes N``. Against a
real instance (see docs/load-testing.md first: quotas, cost, never production)::

    locust -f examples/locustfile.py --host "" --connect-instance-id ID \\
        --connect-contact-flow-id FLOW --connect-region us-west-2 ...
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

import requests
from locust import between, events, task

from connect_chat import ContentType, Event, TranscriptItem
from connect_chat.locust import ChatUser, StartChatContact

logger = logging.getLogger(__name__)
DEFAULT_HOST = "http://127.0.0.1:8000"
_files: dict[int, Path] = {}


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument("--agent-delay", type=float, default=0.0, include_in_web_ui=True,
                        help="emulator: seconds before the echo agent's answer shows")
    parser.add_argument("--flow-delay", type=float, default=0.0, include_in_web_ui=True,
                        help="emulator: seconds StartChatContact (the contact flow) takes")
    parser.add_argument("--think-time", type=float, default=1.0, include_in_web_ui=True,
                        help="seconds a customer pauses between steps")
    parser.add_argument("--reply-timeout", type=float, default=30.0,
                        help="seconds to wait for an answer before the step fails")
    parser.add_argument("--attachment-bytes", type=int, default=2048,
                        help="size of the text file each customer sends")
    parser.add_argument("--connect-instance-id", default="", help="a real Amazon Connect instance")
    parser.add_argument("--connect-contact-flow-id", default="", help="its chat contact flow")
    parser.add_argument("--connect-region", default="us-west-2", help="its region")


@events.init.add_listener
def _configure(environment: Any, **_kwargs: Any) -> None:
    options = environment.parsed_options
    if options is not None:
        Customer.reply_timeout = options.reply_timeout
    if options is not None and options.connect_instance_id:
        Customer.chat_starter = StartChatContact.amazon_connect(
            options.connect_instance_id, options.connect_contact_flow_id, options.connect_region
        )
        Customer.chat_region = options.connect_region


@events.test_start.add_listener
def _emulator_timings(environment: Any, **_kwargs: Any) -> None:
    """Arm the emulator's agent and flow delays once (master or single process)."""
    options = environment.parsed_options
    if options is None or options.connect_instance_id or environment.runner is None:
        return
    if type(environment.runner).__name__ == "WorkerRunner":
        return
    host = (environment.host or DEFAULT_HOST).rstrip("/")
    faults = [{"Fault": "clear"}]
    if options.agent_delay > 0:
        faults.append({"Fault": "delay_echo", "Seconds": options.agent_delay})
    if options.flow_delay > 0:
        faults.append({"Fault": "latency", "Seconds": options.flow_delay,
                       "Operations": ["StartChatContact"]})
    for fault in faults:
        requests.post(f"{host}/emulator/faults", json=fault, timeout=10).raise_for_status()


def agent_joined(item: TranscriptItem) -> bool:
    """An agent joined the chat (the flow routed the customer to someone)."""
    return (
        isinstance(item, Event)
        and item.content_type == ContentType.JOINED
        and str(item.participant) == "AGENT"
    )


class Customer(ChatUser):
    """One customer: a whole chat per task run, then a pause before the next chat."""

    host = DEFAULT_HOST
    wait_time = between(1, 3)

    def _think(self) -> None:
        options = self.environment.parsed_options
        self.pause(options.think_time if options is not None else 1.0)

    def pause(self, seconds: float) -> None:
        import gevent

        gevent.sleep(seconds)

    def _attachment(self) -> Path:
        options = self.environment.parsed_options
        size = options.attachment_bytes if options is not None else 2048
        path = _files.get(size)
        if path is None:
            path = Path(tempfile.mkdtemp(prefix="connect-chat-load-")) / "receipt.txt"
            path.write_bytes((b"order 1234, qty 1\n" * (size // 18 + 1))[:size])
            _files[size] = path
        return path

    @task
    def chat(self) -> None:
        self.connect()
        self.reply("Hello!", name="greet")
        self._think()
        self.reply("Where is my order #1234?", name="ask")
        self.wait_for(agent_joined, name="agent_joined")
        self._think()
        self.send_attachment(self._attachment())
        self.send("Thanks, bye", name="goodbye")
        self.disconnect()
