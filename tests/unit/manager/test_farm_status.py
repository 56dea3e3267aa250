"""The farm status from Worker and job counts."""

from __future__ import annotations

import pytest

from flamenco.api.enums import FarmStatus
from flamenco.manager.services.farm_status import compute_farm_status


@pytest.mark.parametrize(
    ("workers", "jobs", "expected"),
    [
        pytest.param({}, {}, FarmStatus.INOPERATIVE, id="no_workers"),
        pytest.param(
            {"offline": 2, "error": 1}, {"active": 1}, FarmStatus.INOPERATIVE, id="all_down"
        ),
        pytest.param({"awake": 1}, {"active": 1}, FarmStatus.ACTIVE, id="working"),
        pytest.param({"asleep": 2}, {"queued": 1}, FarmStatus.WAITING, id="work_but_asleep"),
        pytest.param({"awake": 1}, {"queued": 3}, FarmStatus.WAITING, id="queued_not_started"),
        pytest.param({"asleep": 2, "offline": 1}, {"completed": 5}, FarmStatus.ASLEEP, id="asleep"),
        pytest.param({"awake": 1, "asleep": 1}, {"completed": 5}, FarmStatus.IDLE, id="idle"),
        pytest.param({"starting": 1}, {}, FarmStatus.IDLE, id="starting_worker_no_work"),
    ],
)
def test_compute_farm_status(
    workers: dict[str, int], jobs: dict[str, int], expected: FarmStatus
) -> None:
    assert compute_farm_status(workers, jobs) == expected
