"""Checking an SQLite database: integrity and foreign keys, SQLite's known misreports told apart."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

from flamenco.manager.persistence import migrate

# More lines than this from integrity_check are not worth reading; the count is kept.
MAX_PROBLEMS = 1000
# How many foreign key violations a report describes one by one.
MAX_DESCRIBED_VIOLATIONS = 5

_NULL_VALUE = re.compile(r"^NULL value in (\w+)\.(\w+)$")
_WITHOUT_ROWID = re.compile(r"\)\s*WITHOUT\s+ROWID\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class IntegrityReport:
    """What `PRAGMA integrity_check` and `PRAGMA foreign_key_check` found."""

    problems: tuple[str, ...]
    # Lines that SQLite 3.40 reports for WITHOUT ROWID tables whose NOT NULL
    # column precedes the key columns, although no value is NULL (checked).
    misreports: tuple[str, ...]
    foreign_key_violations: tuple[str, ...]
    foreign_key_violation_count: int
    schema_version: int
    latest_schema_version: int
    # False when damage stopped the foreign key check from running at all.
    foreign_keys_checked: bool = True

    @property
    def ok(self) -> bool:
        return not self.problems and self.foreign_key_violation_count == 0

    def summary(self) -> str:
        """One line: what failed, or that all is well."""
        if self.ok:
            return "integrity check ok, no foreign key violations"
        parts = []
        if self.problems:
            shown = "; ".join(self.problems[:3])
            more = f" (and {len(self.problems) - 3} more)" if len(self.problems) > 3 else ""
            parts.append(f"integrity check failed: {shown}{more}")
        if self.foreign_key_violation_count:
            parts.append(
                f"{self.foreign_key_violation_count} foreign key violation(s), first: "
                f"{self.foreign_key_violations[0]}"
            )
        return "; ".join(parts)


def check_blocking(conn: sqlite3.Connection) -> IntegrityReport:
    """Run both checks on `conn`; damage that stops a check is reported, not raised."""
    latest = migrate.available_migrations()[-1].version
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError as error:
        _raise_if_busy(error)
        return failed_report(f"cannot read the database: {error}")
    problems: list[str] = []
    misreports: list[str] = []
    try:
        lines = [str(row[0]) for row in conn.execute(f"PRAGMA integrity_check({MAX_PROBLEMS})")]
    except sqlite3.DatabaseError as error:
        _raise_if_busy(error)
        lines = [f"the integrity check stopped: {error}"]
    for line in lines:
        if line == "ok":
            continue
        (misreports if _is_known_misreport(conn, line) else problems).append(line)
    violations: list[str] = []
    count = 0
    checked = True
    try:
        for table, rowid, parent, _ in conn.execute("PRAGMA foreign_key_check"):
            count += 1
            if len(violations) < MAX_DESCRIBED_VIOLATIONS:
                where = f"row {rowid}" if rowid is not None else "a row"
                violations.append(f"{where} of {table} refers to a missing row of {parent}")
    except sqlite3.DatabaseError as error:
        _raise_if_busy(error)
        problems.append(f"the foreign key check stopped: {error}")
        checked = False
    return IntegrityReport(
        tuple(problems), tuple(misreports), tuple(violations), count, version, latest, checked
    )


def failed_report(problem: str) -> IntegrityReport:
    """A report for a check that could not run at all, such as on a file that is no database."""
    latest = migrate.available_migrations()[-1].version
    return IntegrityReport((problem,), (), (), 0, 0, latest, foreign_keys_checked=False)


def _raise_if_busy(error: sqlite3.DatabaseError) -> None:
    # A locked database is not a damaged one: let the caller try again later.
    code = getattr(error, "sqlite_errorcode", 0) & 0xFF
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        raise error


def _is_known_misreport(conn: sqlite3.Connection, line: str) -> bool:
    """Whether `line` is SQLite 3.40's false "NULL value" report for a WITHOUT ROWID table."""
    match = _NULL_VALUE.match(line)
    if match is None:
        return False
    table, column = match.groups()
    try:
        row = conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
        if row is None or not _WITHOUT_ROWID.search(row[0] or ""):
            return False
        # typeof(), because the planner answers "IS NULL" on a NOT NULL column
        # without reading a single value.
        nulls = conn.execute(f'SELECT count(*) FROM "{table}" WHERE typeof("{column}") = \'null\'')
        return bool(nulls.fetchone()[0] == 0)
    except sqlite3.DatabaseError:
        return False
