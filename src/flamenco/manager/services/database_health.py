"""What the farm hears about its database: check and backup outcomes as log lines and alarms."""

from __future__ import annotations

import logging
from pathlib import Path

from flamenco.api.enums import AlarmKind
from flamenco.manager import config
from flamenco.manager.persistence.backups import Backup
from flamenco.manager.persistence.cli import damaged_database_advice, manager_command
from flamenco.manager.persistence.integrity import IntegrityReport
from flamenco.manager.services.farm_status import FarmStatusService

logger = logging.getLogger(__name__)


class DatabaseHealth:
    """Turns periodic check and backup results into CRITICAL/ERROR log lines and farm alarms.

    A failed check does not stop the Manager (upstream's does): a check can
    misfire, and a working farm should keep rendering until an operator
    decides. The alarm stays until a later check passes.
    """

    def __init__(self, farm_status: FarmStatusService, loaded: config.LoadedConfig) -> None:
        self._farm_status = farm_status
        self._loaded = loaded

    def integrity_checked(self, report: IntegrityReport) -> None:
        if report.ok:
            self._farm_status.clear_alarm(AlarmKind.DATABASE_INTEGRITY)
            return
        logger.critical(
            "DATABASE CHECK FAILED: %s. The Manager keeps running; stop it when you can.\n%s",
            report.summary(),
            damaged_database_advice(self._loaded),
            extra={"database": str(self._loaded.database_path)},
        )
        self._farm_status.raise_alarm(
            AlarmKind.DATABASE_INTEGRITY,
            f"The database check failed: {report.summary()}. The Manager keeps running, but "
            f"stop it when you can and run "
            f"`{manager_command(self._loaded, '--check-database')}`, then "
            f"`{manager_command(self._loaded, '--recover-database')}` or restore a backup "
            "(see docs/database.md).",
        )

    def backup_made(self, backup: Backup, removed: list[Path]) -> None:
        logger.info(
            "database backed up",
            extra={"backup": str(backup.path), "bytes": backup.size, "removed": len(removed)},
        )
        self._farm_status.clear_alarm(AlarmKind.DATABASE_BACKUP)

    def backup_failed(self, problem: str) -> None:
        logger.error("database backup failed: %s", problem)
        self._farm_status.raise_alarm(
            AlarmKind.DATABASE_BACKUP,
            f"The last database backup failed: {problem}. Check the space and permissions of "
            f"{self._loaded.database_backup_path}.",
        )
