"""A scripted customer bot: it joins a chat as the customer and answers the agent.

Run it on its own and it plays a whole conversation against the embedded emulator (a scripted
agent asks, the bot answers)::

    python examples/bot.py

or point it at a chat that is already started (a standalone emulator, or Amazon Connect)::

    python examples/bot.py --participant-token TOKEN --endpoint-url http://127.0.0.1:8000

``examples/test_my_bot.py`` shows how to test a bot like this one offline with the pytest
plugin (``connect_emulator`` fixture, ``connect_chat.testing`` helpers).
"""

from __future__ import annotations

import argparse
import re
import sys
import threading
from collections.abc import Mapping, Sequence

from connect_chat import (
    ChatDetails,
    ChatSession,
    ContentType,
    GlobalConfig,
    Message,
    TranscriptItem,
)
from connect_chat.errors import SessionClosedError
from connect_chat.interactive import (
    ListPicker,
    QuickReply,
    option_response,
    parse_interactive_content,
)

#: What the bot says when the agent's message contains a keyword (checked in order).
ANSWERS: Mapping[str, str] = {
    "order number": "It's order 1234.",
    "email": "ann@example.com",
    "anything else": "No, that's all. Thank you!",
    "help": "My parcel hasn't arrived yet.",
}
GOODBYES = ("goodbye", "bye", "have a nice day")
FALLBACK = "Sorry, I'm a bot: could you rephrase that?"


class Bot:
    """Answers every agent (or flow) message; leaves the chat when the agent says goodbye.

    Replies are sent from the session's dispatcher thread (the callback), which the SDK
    allows. ``done`` is set when the bot has left or the chat has ended.
    """

    def __init__(
        self,
        session: ChatSession,
        answers: Mapping[str, str] = ANSWERS,
        *,
        preferred_options: Sequence[str] = ("Tomorrow afternoon",),
    ) -> None:
        self.session = session
        self.answers = dict(answers)
        self.preferred_options = tuple(preferred_options)
        self.done = threading.Event()
        self.said: list[str] = []
        # on_message_received fires once per message (status changes go to
        # on_message_updated); but answer_waiting(), on the main thread, may see the message
        # that arrived while connect() loaded the history, which the callback gets too.
        self._answered: set[str] = set()
        self._lock = threading.Lock()
        session.on_message_received = self.on_message
        session.on_chat_ended = self.done.set

    def reply_to(self, item: Message) -> tuple[ContentType, str] | None:
        """What to answer to one message (``None``: say nothing). Pure: easy to unit-test."""
        if item.content_type == ContentType.INTERACTIVE_TEXT.value:
            template = parse_interactive_content(item.text)
            if isinstance(template, ListPicker | QuickReply) and template.options:
                wanted = [o for o in template.options if o in self.preferred_options]
                reply = option_response(wanted[0] if wanted else 0, template)
                return reply.content_type, reply.content
            return None
        text = item.text.lower()
        for keyword, answer in self.answers.items():
            if re.search(rf"\b{re.escape(keyword)}\b", text):
                return ContentType.PLAIN_TEXT, answer
        if any(word in text for word in GOODBYES):
            return None
        return ContentType.PLAIN_TEXT, FALLBACK

    def answer_waiting(self) -> None:
        """Right after ``connect()``: answer the message already waiting, if any.

        History fires no callbacks, so a bot joining a chat that started elsewhere would
        otherwise sit silent until the agent writes again. The newest message counts as
        waiting when it is another participant's and nothing of the customer's came after it.
        """
        for item in reversed(self.session.transcript):
            if isinstance(item, Message) and item.participant not in ("", "CUSTOMER"):
                self.on_message(item)
                return
            if isinstance(item, Message):
                return  # the customer spoke last: nothing is waiting

    def on_message(self, item: TranscriptItem) -> None:
        # History pages fire no on_message_received; what does fire is new: live messages and
        # those fetched after a reconnect (``is_from_history`` set), which need answers too.
        if not isinstance(item, Message) or item.participant in ("CUSTOMER", ""):
            return
        if item.attachment_id is not None:
            return
        with self._lock:
            if item.id in self._answered:
                return
            self._answered.add(item.id)
        reply = self.reply_to(item)
        if reply is not None:
            self.said.append(reply[1])
            self.session.send_message(*reply)
        elif any(word in item.text.lower() for word in GOODBYES):
            self.session.disconnect()  # allowed from a callback: no deadlock
            self.done.set()


def run_scripted_agent() -> int:
    """The whole conversation against the embedded emulator, printed as it goes."""
    from connect_chat.emulator import Emulator
    from connect_chat.testing import wait_until

    with Emulator() as emulator:
        details = emulator.start_chat(display_name="Ann (bot)")
        assert details.contact_id is not None
        agent = emulator.agent(details.contact_id)
        with ChatSession(GlobalConfig(endpoint_url=emulator.endpoint_url)) as session:
            bot = Bot(session)
            session.connect(details)
            agent.join(display_name="Sam")

            def ask(text: str) -> None:
                count = len(bot.said)
                print(f"Sam: {text}")
                agent.send_message(text)
                wait_until(lambda: len(bot.said) > count, timeout=10, message="the bot's answer")
                print(f"bot: {bot.said[-1]}")

            ask("Hello! How can I help?")
            ask("Could you give me your order number?")
            picker = {
                "templateType": "ListPicker",
                "version": "1.0",
                "data": {
                    "content": {
                        "title": "Pick a delivery slot",
                        "elements": [
                            {"title": "Tomorrow morning"},
                            {"title": "Tomorrow afternoon"},
                        ],
                    }
                },
            }
            count = len(bot.said)
            print("Sam: [list picker] Pick a delivery slot")
            agent.send_interactive(picker)
            wait_until(lambda: len(bot.said) > count, timeout=10, message="the bot's choice")
            print(f"bot: {bot.said[-1]}")
            ask("Done. Anything else?")
            print("Sam: Goodbye!")
            agent.send_message("Goodbye!")
            if not bot.done.wait(10):
                print("the bot did not leave", file=sys.stderr)
                return 1
        state = emulator.contact(details.contact_id)["State"]
        print(f"the bot left; contact {details.contact_id} is {state}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participant-token", help="join this chat (else: a scripted demo)")
    parser.add_argument("--endpoint-url", help="the Participant Service endpoint")
    parser.add_argument("--region", default="us-west-2")
    args = parser.parse_args(argv)
    if args.participant_token is None:
        return run_scripted_agent()
    config = GlobalConfig(region=args.region, endpoint_url=args.endpoint_url)
    with ChatSession(config) as session:
        bot = Bot(session)
        try:
            session.connect(ChatDetails(participant_token=args.participant_token))
            bot.answer_waiting()
        except SessionClosedError:
            # The agent may say goodbye (and the bot leave, from its callback) while
            # connect() still loads the history or the bot answers what was waiting.
            if not bot.done.is_set():
                raise
        bot.done.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
