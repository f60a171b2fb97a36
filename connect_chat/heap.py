"""Keep a load generator's startup heap out of the garbage collector's full passes.

Why: a Locust process imports Locust, gevent and botocore (~130,000 objects the collector
tracks) before it creates thousands of sessions, and each full collection walks all of them:
a stop-the-world pause every user of the process sees (up to ~300 ms with 2,000 chats), and a
quarter of the time a ramp-up of 1,000 chats took. Nothing in that startup heap becomes
garbage, so it is collected once (garbage is not frozen) and then frozen (``gc.freeze``):
later passes walk only what the test itself created. Once per process.

The chats themselves can be frozen too, once they are all started (:func:`freeze_heap`): a
capacity test holds them for the whole run, and at 1,000 chats each full pass took up to
~300 ms, the tail of every latency the process measured. That freeze does not collect first
(a full pass over the chats is the very pause it avoids; freezing itself costs nothing), so
reference cycles already garbage then, or left by a frozen chat that ends, stay in memory
until :func:`refreeze_heap` thaws everything, collects and freezes the survivors (at the
test's end).

Frozen chats alone made full passes shorter but much more frequent: CPython starts one when
what reached the oldest generation since the last full pass exceeds a quarter of what that
pass left there, and once the heap is frozen that is only the little created since. At
2,000 chats the collector ran a full pass every ~10 s, ~120-190 ms each, and those pauses
(with the backlog each left) made most of the SDK's ``reply`` p99. So while the chats are
frozen, :func:`hold_full_collections` keeps the automatic full passes off (the young
generations are collected as usual, so short-lived cycles still go at once) until
:func:`release_full_collections`. In the SDK's steady state nothing becomes cyclic
garbage (see ``connect_chat.client.acyclic_parsers``), so nothing waits for them.
"""

from __future__ import annotations

import gc
import logging
import threading

__all__ = [
    "freeze_heap",
    "freeze_startup_heap",
    "hold_full_collections",
    "refreeze_heap",
    "release_full_collections",
]

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_frozen = False
#: The oldest generation's threshold while full collections are held (None: not held).
_held_threshold: int | None = None
#: A threshold the young collections never reach in a test's lifetime (a full pass would
#: need this many collections of the middle generation: years at a load test's rates).
HELD_THRESHOLD = 1 << 30


def freeze_startup_heap() -> int:
    """Collect, then freeze every object alive now, the first time it is called in this
    process; returns how many objects it froze (0 on later calls)."""
    global _frozen
    with _lock:
        if _frozen:
            return 0
        _frozen = True
        frozen = _collect_and_freeze()
    logger.info("froze %d startup objects out of the garbage collector's passes", frozen)
    return frozen


def freeze_heap() -> int:
    """Freeze every object the collector tracks now, without collecting first (each call
    adds what was created since); returns how many objects it froze."""
    with _lock:
        frozen = _freeze()
    logger.info("froze %d more objects out of the garbage collector's passes", frozen)
    return frozen


def refreeze_heap() -> int:
    """Thaw every frozen object, collect what has become garbage, freeze the survivors again;
    returns how many objects are frozen now."""
    with _lock:
        gc.unfreeze()
        _collect_and_freeze()
        frozen = gc.get_freeze_count()
    logger.info("refroze the heap: %d objects out of the garbage collector's passes", frozen)
    return frozen


def _collect_and_freeze() -> int:
    gc.collect()  # garbage first: a frozen cycle would never be reclaimed
    return _freeze()


def _freeze() -> int:
    """Freeze what the collector tracks now; how many objects that added."""
    before = gc.get_freeze_count()
    gc.freeze()
    return gc.get_freeze_count() - before


def hold_full_collections() -> bool:
    """Keep the automatic full collections off (the younger generations are collected as
    usual) until :func:`release_full_collections`; False if they were already held."""
    global _held_threshold
    with _lock:
        if _held_threshold is not None:
            return False
        young, middle, oldest = gc.get_threshold()
        _held_threshold = oldest
        gc.set_threshold(young, middle, HELD_THRESHOLD)
    logger.info("automatic full garbage collections held")
    return True


def release_full_collections() -> bool:
    """Give the oldest generation its threshold back; False if nothing was held."""
    global _held_threshold
    with _lock:
        if _held_threshold is None:
            return False
        young, middle, _ = gc.get_threshold()
        gc.set_threshold(young, middle, _held_threshold)
        _held_threshold = None
    logger.info("automatic full garbage collections released")
    return True
