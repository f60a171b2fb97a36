"""transcript.py: order by time, dedupe by id, placeholders, receipts, paging token."""

from __future__ import annotations

import random

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from connect_chat.enums import ContentType, MessageDirection, MessageStatus
from connect_chat.models import Event, Message, Metadata
from connect_chat.transcript import CHUNK, Transcript


def ts(second: int, ms: int = 0) -> str:
    minute, sec = divmod(second, 60)
    hour, minute = divmod(minute, 60)
    return f"2024-01-01T{hour:02d}:{minute:02d}:{sec:02d}.{ms:03d}Z"


def msg(i: int, *, second: int | None = None, role: str = "AGENT", text: str = "",
        history: bool = False) -> Message:
    return Message(id=f"m{i}", time_stamp=ts(i if second is None else second),
                   content_type="text/plain", participant=role, text=text or f"t{i}",
                   is_from_history=history)


def ids(t: Transcript) -> list[str]:
    return [item.id for item in t.view()]


def test_items_are_ordered_by_time_not_arrival() -> None:
    t = Transcript()
    for i in (3, 1, 2, 0):
        t.merge(msg(i))
    assert ids(t) == ["m0", "m1", "m2", "m3"]


def test_equal_times_keep_arrival_order() -> None:
    t = Transcript()
    for i in (5, 2, 9):
        t.merge(msg(i, second=7))
    assert ids(t) == ["m5", "m2", "m9"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=400), min_size=1, max_size=300),
       st.randoms(use_true_random=False))
def test_shuffled_and_duplicated_inputs_give_one_sorted_copy(numbers: list[int],
                                                             rnd: random.Random) -> None:
    items = [msg(n, history=rnd.random() < 0.5) for n in numbers]
    items += [msg(n) for n in rnd.sample(numbers, k=len(numbers) // 2)]
    rnd.shuffle(items)
    t = Transcript()
    for item in items:
        t.merge(item)
    assert ids(t) == [f"m{n}" for n in sorted(set(numbers))]
    assert all(t.debug_check().values())


def test_many_items_split_chunks_and_index_reads_work() -> None:
    t = Transcript()
    order = list(range(5 * CHUNK))
    random.Random(7).shuffle(order)
    for i in order:
        t.merge(msg(i))
    view = t.view()
    assert len(view) == 5 * CHUNK
    assert view[0].id == "m0" and view[-1].id == f"m{5 * CHUNK - 1}"
    assert view[CHUNK + 3].id == f"m{CHUNK + 3}"
    assert [i.id for i in view[2:4]] == ["m2", "m3"]
    assert all(t.debug_check().values())
    for i in range(0, 5 * CHUNK, 2):
        t.remove(f"m{i}")
    assert ids(t) == [f"m{i}" for i in range(1, 5 * CHUNK, 2)]
    assert all(t.debug_check().values())


def test_a_duplicate_reports_no_change_and_views_are_snapshots() -> None:
    t = Transcript()
    assert t.merge(msg(1)) is not None
    before = t.view()
    assert t.merge(msg(1)) is None
    assert t.view() is before
    t.merge(msg(2))
    assert len(before) == 1 and len(t.view()) == 2


def placeholder(pid: str = "local-1", second: int = 50) -> Message:
    return Message(id=pid, time_stamp=ts(second), content_type="text/plain", participant="CUSTOMER",
                   text="hello", message_direction=MessageDirection.OUTGOING,
                   metadata=Metadata(id=pid, time_stamp=ts(second), content_type="text/plain",
                                     status=MessageStatus.SENDING))


def echo(server_id: str = "s-1", second: int = 51) -> Message:
    return Message(id=server_id, time_stamp=ts(second), content_type="text/plain",
                   participant="CUSTOMER", text="hello", display_name="Ann",
                   message_direction=MessageDirection.OUTGOING,
                   metadata=Metadata(id=server_id, time_stamp=ts(second), content_type="x",
                                     status=MessageStatus.SENT))


def test_placeholder_then_response_then_echo_keeps_persistent_id() -> None:
    t = Transcript()
    t.add_placeholder(placeholder())
    assert t.view()[0].id == "local-1"
    change = t.confirm_sent("local-1", "s-1", ts(51))
    assert change is not None and change.replaced_id == "local-1"
    sent = t.get("s-1")
    assert isinstance(sent, Message) and sent.status is MessageStatus.SENT
    assert sent.persistent_id == "local-1"
    t.merge(echo())
    assert ids(t) == ["s-1"]
    final = t.get("s-1")
    assert isinstance(final, Message) and final.persistent_id == "local-1"
    assert final.display_name == "Ann"
    assert t.get("local-1") is final  # the old id still finds it


def test_echo_before_response_leaves_one_item_with_the_placeholder_identity() -> None:
    t = Transcript()
    t.add_placeholder(placeholder())
    change = t.merge(echo())
    assert change is not None and change.replaced_id == "local-1"
    assert ids(t) == ["s-1"]  # never both at once
    assert t.confirm_sent("local-1", "s-1", ts(51)) is None
    assert ids(t) == ["s-1"]
    item = t.get("s-1")
    assert isinstance(item, Message)
    assert item.persistent_id == "local-1" and item.status is MessageStatus.SENT
    assert t.mark_failed("local-1", ts(60)) is None  # the service has it: not failed


def test_identical_texts_in_flight_each_end_up_once() -> None:
    t = Transcript()
    t.add_placeholder(placeholder("local-1", second=50))
    t.add_placeholder(placeholder("local-2", second=50))
    t.merge(echo("s-2", second=52))  # the second send's echo arrives first
    assert len(t) == 2
    t.merge(echo("s-1", second=51))
    assert len(t) == 2
    t.confirm_sent("local-1", "s-1", ts(51))  # the answers say which is which
    t.confirm_sent("local-2", "s-2", ts(52))
    assert [(i.id, i.persistent_id) for i in t.view()] == [("s-1", "local-1"),
                                                           ("s-2", "local-2")]


def test_an_echo_from_elsewhere_does_not_swallow_our_message() -> None:
    t = Transcript()
    t.add_placeholder(placeholder("local-1", second=50))
    t.merge(echo("other-device", second=51))  # same text, sent by another tab
    change = t.confirm_sent("local-1", "s-1", ts(52))
    assert change is not None and change.item.id == "s-1"
    assert ids(t) == ["other-device", "s-1"]
    assert all(isinstance(i, Message) and i.status is MessageStatus.SENT for i in t.view())


def test_receipts_move_status_forward_only() -> None:
    t = Transcript()
    t.add_placeholder(placeholder())
    t.confirm_sent("local-1", "s-1", ts(51))
    read = Metadata(id="s-1", time_stamp=ts(60), content_type="m", status=MessageStatus.READ)
    delivered = attrs.evolve(read, status=MessageStatus.DELIVERED)
    assert t.merge(delivered) is not None
    assert t.merge(read) is not None
    assert t.merge(delivered) is None
    item = t.get("s-1")
    assert isinstance(item, Message) and item.status is MessageStatus.READ
    t.merge(echo())  # a late echo (status SENT) does not downgrade either
    item = t.get("s-1")
    assert isinstance(item, Message) and item.status is MessageStatus.READ


def test_receipt_before_its_message_is_kept_until_the_message_arrives() -> None:
    t = Transcript()
    t.merge(Metadata(id="m1", time_stamp=ts(9), content_type="m", status=MessageStatus.DELIVERED))
    assert len(t) == 0
    t.merge(msg(1))
    item = t.get("m1")
    assert isinstance(item, Message) and item.status is MessageStatus.DELIVERED


def test_failed_send_keeps_the_placeholder_as_failed() -> None:
    t = Transcript()
    t.add_placeholder(placeholder())
    t.mark_failed("local-1", ts(55))
    item = t.get("local-1")
    assert isinstance(item, Message) and item.status is MessageStatus.FAILED
    assert t.newest_server_item() is None


def test_newest_server_item_skips_placeholders() -> None:
    t = Transcript()
    t.merge(msg(1))
    t.add_placeholder(placeholder(second=99))
    newest = t.newest_server_item()
    assert newest is not None and newest.id == "m1"


def test_previous_token_rules() -> None:
    t = Transcript()
    t.merge_page([msg(10), msg(11)], next_token="older-1")
    assert t.previous_transcript_next_token == "older-1"
    t.merge_page([msg(12)], next_token="newer")  # a newer page does not move the token
    assert t.previous_transcript_next_token == "older-1"
    t.merge_page([msg(3), msg(4)], next_token=None)  # older page reaching the start
    assert t.previous_transcript_next_token is None
    t.merge_page([msg(20)], scan_direction="FORWARD", next_token="fwd")
    assert t.previous_transcript_next_token is None
    t.previous_transcript_next_token = "keep"
    t.merge_page([], next_token="x", start_position_given=True)
    assert t.previous_transcript_next_token == "keep"
    assert ids(t) == ["m3", "m4", "m10", "m11", "m12", "m20"]


def test_events_dedupe_like_messages() -> None:
    t = Transcript()
    joined = Event(id="e1", time_stamp=ts(1), content_type=ContentType.JOINED.value,
                   display_name="Sam", is_from_history=True)
    t.merge(joined)
    assert t.merge(attrs.evolve(joined, is_from_history=False)) is None
    assert len(t) == 1


def test_view_renders_html() -> None:
    t = Transcript()
    t.merge(msg(1, text="<b>x</b>"))
    html = t.view()._repr_html_()
    assert "&lt;b&gt;x&lt;/b&gt;" in html and 'class="cc-chat"' in html


def test_a_live_item_older_than_the_first_page_does_not_hide_the_token() -> None:
    t = Transcript()
    t.merge(msg(1))  # live, before history arrived
    t.merge_page([msg(10), msg(11)], next_token="older")
    assert t.previous_transcript_next_token == "older"
    t.merge_page([msg(12)], next_token="other")  # newer page: no change
    assert t.previous_transcript_next_token == "older"
    t.merge_page([msg(5)], next_token="oldest", requested_token="older")  # the chain goes on
    assert t.previous_transcript_next_token == "oldest"


def test_attachment_echo_replaces_its_placeholder() -> None:
    t = Transcript()
    local = attrs.evolve(placeholder(), text="file.pdf", content_type="application/pdf",
                         attachment_id="local-att")
    t.add_placeholder(local)
    t.attachment_started("local-1", "att-9")
    echo = Message(id="srv-att", time_stamp=ts(52), content_type="application/pdf",
                   participant="CUSTOMER", text="file.pdf", attachment_id="att-9")
    change = t.merge(echo)
    assert change is not None and change.replaced_id == "local-1"
    assert ids(t) == ["srv-att"]
    item = t.get("srv-att")
    assert isinstance(item, Message)
    assert item.persistent_id == "local-1" and item.status is MessageStatus.SENT
    assert item.attachment_id == "att-9"


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from(["a", "b"]), min_size=1, max_size=6),
       st.randoms(use_true_random=False))
def test_any_interleaving_of_sends_echoes_and_answers_ends_with_each_message_once(
        texts: list[str], rnd: random.Random) -> None:
    t = Transcript()
    started = 0
    pending: dict[int, list[str]] = {}
    for n in range(len(texts)):
        later = ["echo", "answer"]
        rnd.shuffle(later)
        pending[n] = ["placeholder", *later]
    while pending:
        n = rnd.choice(sorted(pending))
        step = pending[n].pop(0)
        if not pending[n]:
            del pending[n]
        local, server = f"local-{n}", f"s-{n}"
        if step == "placeholder":
            t.add_placeholder(attrs.evolve(placeholder(local, second=10 + n), text=texts[n]))
            started += 1
        elif step == "echo":
            t.merge(attrs.evolve(echo(server, second=20 + n), text=texts[n]))
        else:
            t.confirm_sent(local, server, ts(20 + n))
        shown = list(t.view())  # at every moment: each message sent so far shown once
        assert len(shown) == started
        assert len({i.persistent_id for i in shown}) == started
    items = list(t.view())
    assert len(items) == len(texts)
    assert sorted(i.id for i in items) == sorted(f"s-{n}" for n in range(len(texts)))
    assert sorted(i.persistent_id for i in items) == sorted(
        f"local-{n}" for n in range(len(texts)))
    assert all(isinstance(i, Message) and i.status is MessageStatus.SENT for i in items)
    assert all(t.debug_check().values())


def test_trim_keeps_the_newest_items_and_never_a_message_in_flight() -> None:
    """Issue 16, item 6: a long-running bot bounds the transcript (transcript_max_items)."""
    t = Transcript()
    t.add_placeholder(placeholder("local-old", second=1))  # in flight, and the oldest
    for n in range(2, 60):
        t.merge(attrs.evolve(placeholder(f"id-{n}", second=n), participant="AGENT",
                             metadata=None))
    gone = t.trim(10)
    assert [i.id for i in gone] == [f"id-{n}" for n in range(2, 51)]
    assert len(t) == 10 and "local-old" in t  # the send in flight stays
    assert [i.id for i in t.view()] == ["local-old"] + [f"id-{n}" for n in range(51, 60)]
    assert t.debug_check()["sorted"] and t.debug_check()["length"]
    assert t.trim(10) == []
