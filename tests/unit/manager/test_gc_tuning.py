"""The Manager's garbage-collector settings: start-up objects frozen, released on restart."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from flamenco.manager import gc_tuning


@pytest.fixture
def restored_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_gc")
def test_start_up_objects_are_frozen_and_released_again() -> None:
    built_at_start_up = {"job types": ["echo-sleep-test"]}
    gc_tuning.settle_after_start_up()
    assert gc.get_freeze_count() > 0
    # Frozen objects are not in any generation that a collection scans.
    assert not any(obj is built_at_start_up for obj in gc.get_objects())
    assert gc.get_threshold() == gc_tuning.THRESHOLDS

    gc_tuning.release_before_restart()
    assert gc.get_freeze_count() == 0
    assert any(obj is built_at_start_up for obj in gc.get_objects())
