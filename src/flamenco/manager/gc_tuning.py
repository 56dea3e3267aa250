"""Garbage-collector settings that keep long pauses out of the Manager's event loop."""

from __future__ import annotations

import gc

# CPython's defaults (700, 10, 10) run a collection every 700 allocations. A busy
# Manager holds ~100,000 live objects (open connections, their tasks and
# timers), so frequent older-generation collections paused the event loop for
# 30-70 ms every few seconds, which is what a Worker asking for a task felt.
# Most young objects die by reference counting anyway, so collecting less often
# costs little memory.
THRESHOLDS = (10_000, 20, 20)


def settle_after_start_up() -> None:
    """Move everything built at start-up out of the collector's way, and collect less often.

    Start-up objects (modules, the compiled spec, job types) live as long as the
    Manager; frozen, they are no longer scanned by every full collection.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)


def release_before_restart() -> None:
    """Let the collector reclaim what the stopped Manager froze, before it starts anew."""
    gc.unfreeze()
