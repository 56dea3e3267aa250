"""The farm's jobs, tasks and Workers counted by status, in one snapshot."""

from __future__ import annotations

from dataclasses import dataclass

from flamenco.manager.persistence.connection import Connection


@dataclass(frozen=True, slots=True)
class FarmCounts:
    """Status -> how many; statuses that nothing has are absent."""

    jobs: dict[str, int]
    tasks: dict[str, int]
    workers: dict[str, int]


def count_farm(conn: Connection) -> FarmCounts:
    """Counts from the database itself, so every Manager process of a farm gives the same."""
    return FarmCounts(
        jobs=_by_status(conn, "count_jobs_by_status"),
        tasks=_by_status(conn, "count_tasks_by_status"),
        workers=_by_status(conn, "count_workers_by_status"),
    )


def _by_status(conn: Connection, query: str) -> dict[str, int]:
    return {row["status"]: int(row["count"] or 0) for row in conn.execute(query).fetchall()}
