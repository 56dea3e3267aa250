"""Which task status changes count as queue waits and as run durations."""

from __future__ import annotations

from flamenco.api.enums import TaskStatus
from flamenco.manager.metrics.recorder import NO_METRICS, PrometheusRecorder, TaskTransition

QUEUED, ACTIVE = TaskStatus.QUEUED, TaskStatus.ACTIVE


def _value(recorder: PrometheusRecorder, name: str, **labels: str) -> float:
    return recorder.registry.get_sample_value(name, labels) or 0.0


def test_transitions_into_and_out_of_active() -> None:
    recorder = PrometheusRecorder()
    recorder.task_transitions(
        [
            TaskTransition("blender", QUEUED, ACTIVE, 12.0),
            TaskTransition("blender", TaskStatus.SOFT_FAILED, ACTIVE, 3.0),
            TaskTransition("blender", ACTIVE, TaskStatus.COMPLETED, 100.0),
            TaskTransition("ffmpeg", ACTIVE, TaskStatus.FAILED, 7.0),
            # Neither waiting for a Worker nor running: not measured.
            TaskTransition("blender", QUEUED, TaskStatus.CANCELED, 50.0),
            TaskTransition("blender", TaskStatus.PAUSED, ACTIVE, 50.0),
            # Unknown start, or a clock that stepped back.
            TaskTransition("blender", QUEUED, ACTIVE, None),
            TaskTransition("blender", ACTIVE, TaskStatus.COMPLETED, -1.0),
        ]
    )
    wait = "flamenco_task_queue_wait_seconds"
    assert _value(recorder, f"{wait}_count", task_type="blender") == 2
    assert _value(recorder, f"{wait}_sum", task_type="blender") == 15
    duration = "flamenco_task_duration_seconds"
    assert _value(recorder, f"{duration}_sum", task_type="blender", status="completed") == 100
    assert _value(recorder, f"{duration}_count", task_type="blender", status="completed") == 1
    assert _value(recorder, f"{duration}_sum", task_type="ffmpeg", status="failed") == 7


def test_recorders_are_independent_and_off_means_off() -> None:
    first, second = PrometheusRecorder(), PrometheusRecorder()
    first.task_update()
    assert _value(first, "flamenco_task_updates_total") == 1
    assert _value(second, "flamenco_task_updates_total") == 0
    assert NO_METRICS.enabled is False
    NO_METRICS.task_update()  # Accepted, and nowhere to be seen.
