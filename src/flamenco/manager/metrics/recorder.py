"""The Manager's own measurements (requests, database, tasks, Socket.IO) as Prometheus metrics.

Services receive a `Recorder`: `PrometheusRecorder` when metrics are enabled,
`NO_METRICS` when they are not, so that switching metrics off (`metrics_enabled:
false`) leaves only a no-op call on the hot paths. The farm's counts of jobs,
tasks and Workers are not recorded here: they come from the database when
scraped (metrics.farm_counts), so every process reports the same.

With `--processes N` the supervisor sets PROMETHEUS_MULTIPROC_DIR, and
prometheus-client keeps each process's values in its own file there; whichever
process answers a scrape reports the sum over all of them (metrics.exposition).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)

from flamenco.api.enums import TaskStatus

# Where prometheus-client keeps every process's values, when set (--processes N sets it).
MULTIPROCESS_DIRECTORY_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# Fast things (requests, transactions, fan-out) from a tenth of a millisecond to 10 s.
FAST_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
# Tasks run and wait from seconds (test jobs) to a day (heavy frames, a full farm).
TASK_BUCKETS = (
    1.0,
    5.0,
    15.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
    1800.0,
    3600.0,
    7200.0,
    14400.0,
    43200.0,
    86400.0,
)


@dataclass(frozen=True, slots=True)
class TaskTransition:
    """A task's committed status change, and how long it had been in its old status."""

    task_type: str
    old_status: TaskStatus
    new_status: TaskStatus
    seconds_in_old_status: float | None


class Recorder(Protocol):
    """What services report; every call is cheap and never fails."""

    @property
    def enabled(self) -> bool: ...

    def http_request(self, operation: str, seconds: float) -> None: ...

    def database_transaction(self, kind: str, seconds: float) -> None: ...

    def task_update(self) -> None: ...

    def task_assigned(self, task_type: str) -> None: ...

    def task_failed(self, task_type: str) -> None: ...

    def task_transitions(self, transitions: list[TaskTransition]) -> None: ...

    def socketio_client_connected(self) -> None: ...

    def socketio_client_disconnected(self) -> None: ...

    def socketio_fanout(self, lag_seconds: float) -> None: ...


class NoMetrics:
    """The recorder when metrics are switched off: records nothing."""

    enabled = False

    def http_request(self, operation: str, seconds: float) -> None:
        pass

    def database_transaction(self, kind: str, seconds: float) -> None:
        pass

    def task_update(self) -> None:
        pass

    def task_assigned(self, task_type: str) -> None:
        pass

    def task_failed(self, task_type: str) -> None:
        pass

    def task_transitions(self, transitions: list[TaskTransition]) -> None:
        pass

    def socketio_client_connected(self) -> None:
        pass

    def socketio_client_disconnected(self) -> None:
        pass

    def socketio_fanout(self, lag_seconds: float) -> None:
        pass


NO_METRICS = NoMetrics()


class PrometheusRecorder:
    """Records into prometheus-client metrics, registered in a registry of this app's own."""

    enabled = True

    def __init__(self) -> None:
        # No `_created` series: they double the output and no dashboard of ours reads them.
        # (A setting of the library, for the whole process, which runs one Manager.)
        disable_created_metrics()  # type: ignore[no-untyped-call]
        # Not the library's global registry: tests build many apps in one process.
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self._http = Histogram(
            "flamenco_http_request_duration_seconds",
            "Time the Manager took to answer an API request, by the spec's operation ID.",
            ["operation"],
            buckets=FAST_BUCKETS,
            registry=registry,
        )
        self._transactions = Histogram(
            "flamenco_database_transaction_duration_seconds",
            "Time a database transaction took, from its start to its commit (kind: read or write).",
            ["kind"],
            buckets=FAST_BUCKETS,
            registry=registry,
        )
        self._task_updates = Counter(
            "flamenco_task_updates",
            "Task updates from Workers that the Manager saved.",
            registry=registry,
        )
        self._assignments = Counter(
            "flamenco_task_assignments",
            "Tasks handed to Workers, by task type.",
            ["task_type"],
            registry=registry,
        )
        self._failures = Counter(
            "flamenco_task_failures",
            "Task failures reported by Workers, by task type.",
            ["task_type"],
            registry=registry,
        )
        self._task_duration = Histogram(
            "flamenco_task_duration_seconds",
            "Time a task was active, from its assignment to a Worker until it left "
            "the active status (label status: the status it went to).",
            ["task_type", "status"],
            buckets=TASK_BUCKETS,
            registry=registry,
        )
        self._queue_wait = Histogram(
            "flamenco_task_queue_wait_seconds",
            "Time a task waited as queued (or soft-failed) before a Worker got it.",
            ["task_type"],
            buckets=TASK_BUCKETS,
            registry=registry,
        )
        self._socketio_clients = Gauge(
            "flamenco_socketio_clients",
            "Web interfaces and other Socket.IO clients connected.",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self._fanout = Histogram(
            "flamenco_socketio_fanout_lag_seconds",
            "Time from an event reaching the Socket.IO forwarder until it was queued "
            "for every client in its rooms.",
            buckets=FAST_BUCKETS,
            registry=registry,
        )
        # The label children of the hottest paths, looked up once.
        self._task_updates_child = self._task_updates
        self._transaction_children = {
            kind: self._transactions.labels(kind) for kind in ("read", "write")
        }
        self._http_children: dict[str, Histogram] = {}

    def http_request(self, operation: str, seconds: float) -> None:
        child = self._http_children.get(operation)
        if child is None:
            child = self._http_children[operation] = self._http.labels(operation)
        child.observe(seconds)

    def database_transaction(self, kind: str, seconds: float) -> None:
        self._transaction_children[kind].observe(seconds)

    def task_update(self) -> None:
        self._task_updates_child.inc()

    def task_assigned(self, task_type: str) -> None:
        self._assignments.labels(task_type).inc()

    def task_failed(self, task_type: str) -> None:
        self._failures.labels(task_type).inc()

    def task_transitions(self, transitions: list[TaskTransition]) -> None:
        for transition in transitions:
            seconds = transition.seconds_in_old_status
            if seconds is None or seconds < 0:
                continue  # No start time (tasks from before metrics), or a clock step.
            if transition.new_status == TaskStatus.ACTIVE:
                if transition.old_status in (TaskStatus.QUEUED, TaskStatus.SOFT_FAILED):
                    self._queue_wait.labels(transition.task_type).observe(seconds)
            elif transition.old_status == TaskStatus.ACTIVE:
                self._task_duration.labels(
                    transition.task_type, str(transition.new_status)
                ).observe(seconds)

    def socketio_client_connected(self) -> None:
        self._socketio_clients.inc()

    def socketio_client_disconnected(self) -> None:
        self._socketio_clients.dec()

    def socketio_fanout(self, lag_seconds: float) -> None:
        self._fanout.observe(lag_seconds)
