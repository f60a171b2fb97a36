"""Keep a load generator's startup heap out of the garbage collector's full passes.

Why: a Locust process imports Locust, gevent and botocore (~130,000 objects the collector
tracks) before it creates thousands of sessions, and each full collection walks all of them:
a stop-the-world pause every user of the process sees (up to ~300 ms with 2,000 chats), and a
quarter of the time a ramp-up of 1,000 chats took. Nothing in that startup heap becomes
garbage, so it is collected once (garbage is not frozen) and then frozen (``gc.freeze``):
later passes walk only what the test itself created. Once per process.
"""

from __future__ import annotations

import gc
import logging
import threading

__all__ = ["freeze_startup_heap"]

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_frozen = False


def freeze_startup_heap() -> int:
    """Collect, then freeze every object alive now, the first time it is called in this
    process; returns how many objects it froze (0 on later calls)."""
    global _frozen
    with _lock:
        if _frozen:
            return 0
        _frozen = True
        gc.collect()
        before = gc.get_freeze_count()
        gc.freeze()
        frozen = gc.get_freeze_count() - before
    logger.info("froze %d startup objects out of the garbage collector's passes", frozen)
    return frozen
