"""Interpreter settings that keep long pauses out of the Manager's event loop."""

from __future__ import annotations

import gc
import sys

# CPython's defaults (700, 10, 10) run a collection every 700 allocations. A busy
# Manager holds ~100,000 live objects (open connections, their tasks and
# timers), so frequent older-generation collections paused the event loop for
# 30-70 ms every few seconds, which is what a Worker asking for a task felt.
# Most young objects die by reference counting anyway, so collecting less often
# costs little memory.
GC_THRESHOLDS = (10_000, 20, 20)

# How long a thread may keep the GIL while another waits for it (CPython: 5 ms).
# The database threads give up the GIL at every SQLite call and must wait for it
# again each time, so while one thread builds a list of 10,000 jobs, a Worker's
# scheduling transaction waited 5 ms per statement: 160 ms in all, and under
# 30 ms with 0.5 ms.
SWITCH_INTERVAL_SECONDS = 0.0005


def settle_after_start_up() -> None:
    """Freeze what start-up built, collect less often, and hand the GIL over sooner.

    Start-up objects (modules, the compiled spec, job types) live as long as the
    Manager; frozen, they are no longer scanned by every full collection.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)


def release_before_restart() -> None:
    """Let the collector reclaim what the stopped Manager froze, before it starts anew."""
    gc.unfreeze()
