"""A reused session keeps no past chat (issue 16, item 3).

Before, every connection of a ``ChatSession`` stayed alive -- with its transcript -- through
``SessionStats`` -> the receipt throttle -> its scheduling closure -> the connection: a
``ChatSession.shared()`` in a long-running web process grew without end. Now a connection's
receipt counts are folded into the stats when it ends and nothing else holds it.
"""

from __future__ import annotations

import gc
import weakref
from typing import Any

from connect_chat import ChatSession, ContentType, GlobalConfig, MessageReceiptType


def test_twenty_chats_on_one_session_leave_no_connection_behind(
        emu: Any, config: GlobalConfig) -> None:
    session = ChatSession(config)
    connections: list[weakref.ref[Any]] = []
    transcripts: list[weakref.ref[Any]] = []
    try:
        for n in range(20):
            details = emu.start_chat()
            agent = emu.agent(details.contact_id)
            agent.join()
            session.connect(details)
            said = agent.send_message(f"hello {n}")
            item = session.wait_for(lambda i, said=said: i.id == said, timeout=5)
            session.send_message_receipt(MessageReceiptType.MESSAGE_READ, item)
            session.send_message(ContentType.PLAIN_TEXT, f"answer {n}")
            conn = session._conn
            assert conn is not None
            connections.append(weakref.ref(conn))
            transcripts.append(weakref.ref(conn.transcript))
            del conn, item
            if n % 2:
                session.reset()
            else:
                session.disconnect()
                session.reset()
        gc.collect()
        alive = [ref for ref in connections + transcripts if ref() is not None]
        assert alive == [], f"{len(alive)} connections/transcripts of past chats still alive"
        assert session.stats.messages_sent == 20
        stats = session.stats.as_dict()  # the ended connections' receipt counts are kept
        assert sum(stats[f"receipts_{k}"] for k in ("sent", "suppressed", "superseded",
                                                     "failed")) >= 20
    finally:
        session.reset()
