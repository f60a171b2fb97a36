"""enums.py: the order of delivery states (``MessageStatus.rank``)."""

from __future__ import annotations

from connect_chat.enums import MessageStatus


def test_delivery_states_rank_in_order() -> None:
    order = [MessageStatus.SENDING, MessageStatus.SENT, MessageStatus.DELIVERED,
             MessageStatus.READ]
    ranks = [status.rank for status in order]
    assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks)
    assert MessageStatus.FAILED.rank == MessageStatus.UNKNOWN.rank < MessageStatus.SENDING.rank


def test_no_status_ranks_below_every_status() -> None:
    assert MessageStatus.rank_of(None) == -1
    assert all(MessageStatus.rank_of(s) == s.rank > -1 for s in MessageStatus)
