"""The Manager's interpreter settings: start-up objects frozen and released on restart,
fewer collections, a shorter GIL switch interval."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator

import pytest

from flamenco.manager import interpreter_tuning


@pytest.fixture
def restored_interpreter() -> Iterator[None]:
    thresholds, interval = gc.get_threshold(), sys.getswitchinterval()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    sys.setswitchinterval(interval)


@pytest.mark.usefixtures("restored_interpreter")
def test_start_up_objects_are_frozen_and_released_again() -> None:
    built_at_start_up = {"job types": ["echo-sleep-test"]}
    interpreter_tuning.settle_after_start_up()
    assert gc.get_freeze_count() > 0
    # Frozen objects are not in any generation that a collection scans.
    assert not any(obj is built_at_start_up for obj in gc.get_objects())
    assert gc.get_threshold() == interpreter_tuning.GC_THRESHOLDS
    assert sys.getswitchinterval() == pytest.approx(interpreter_tuning.SWITCH_INTERVAL_SECONDS)

    interpreter_tuning.release_before_restart()
    assert gc.get_freeze_count() == 0
    assert any(obj is built_at_start_up for obj in gc.get_objects())
