"""The database commands of flamenco-manager (check, recover, back up, move to PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
import sys
import urllib.parse
from pathlib import Path
from typing import TextIO

import psycopg

from flamenco.manager import config
from flamenco.manager.config.paths import is_postgresql_url
from flamenco.manager.persistence import (
    backups,
    errors,
    postgresql_migrate,
    recovery,
    sqlite_to_postgresql,
)
from flamenco.manager.persistence.integrity import IntegrityReport
from flamenco.manager.persistence.postgresql import redact

PROGRAM = "flamenco-manager"


def manager_command(loaded: config.LoadedConfig, option: str) -> str:
    """The command line an operator types to run `flamenco-manager OPTION` on this configuration."""
    default = Path.cwd() / config.DEFAULT_CONFIG_FILENAME
    if loaded.path.absolute() == default.absolute():
        return f"{PROGRAM} {option}"
    return f"{PROGRAM} --config {loaded.path.absolute()} {option}"


def damaged_database_advice(loaded: config.LoadedConfig) -> str:
    """What to do about a database that failed its check, as lines for a person."""
    return (
        f"  To see what is wrong:   {manager_command(loaded, '--check-database')}\n"
        f"  To rebuild it:          {manager_command(loaded, '--recover-database')}\n"
        "                          (stop the Manager first; a copy of the damaged file is kept)\n"
        f"  Or restore a backup from {loaded.database_backup_path}\n"
        "  (see docs/database.md, 'Restoring a backup')."
    )


def cannot_start_message(loaded: config.LoadedConfig, error: errors.IntegrityError) -> str:
    """The start-up refusal for a database that fails its check: what failed, and what to do."""
    lines = [f"{PROGRAM}: cannot start: the database {loaded.database_path} is damaged."]
    if error.report is not None:
        lines += _report_lines(error.report, indent="  ")
    else:
        lines.append(f"  {error.message}")
    lines.append("The farm's jobs and Workers are in that file; nothing has been changed.")
    lines.append(damaged_database_advice(loaded))
    return "\n".join(lines)


def check(loaded: config.LoadedConfig, out: TextIO = sys.stdout) -> int:
    """`--check-database`: 0 when the database is fine, 1 when damaged, 2 when it cannot be read."""
    path = loaded.database_path
    if not path.is_file():
        print(
            f"{PROGRAM}: there is no database at {path} (the Manager creates it when it starts)",
            file=sys.stderr,
        )
        return 2
    try:
        report = recovery.check_file_blocking(path)
    except (OSError, sqlite3.Error) as error:
        print(f"{PROGRAM}: cannot check {path}: {error}", file=sys.stderr)
        return 2
    print(f"Database: {path} ({_size(path)})", file=out)
    for line in _report_lines(report, indent=""):
        print(line, file=out)
    if report.ok:
        print("The database is fine.", file=out)
        return 0
    print("The database is DAMAGED. Stop the Manager, then:", file=out)
    print(damaged_database_advice(loaded), file=out)
    return 1


def recover(loaded: config.LoadedConfig, out: TextIO = sys.stdout) -> int:
    """`--recover-database`: 0 when a checked, rebuilt database is in place, 1 otherwise."""
    path = loaded.database_path
    print(f"Recovering {path}", file=out)
    try:
        result = recovery.recover_blocking(
            path,
            dt.datetime.now(dt.UTC),
            shell=shutil.which("sqlite3"),
            progress=lambda line: print(f"  {line}", file=out, flush=True),
        )
    except (OSError, sqlite3.Error, errors.PersistenceError) as error:
        print(f"{PROGRAM}: cannot recover the database: {error}", file=sys.stderr)
        print(
            f"The database was left as it was. Restore a backup from "
            f"{loaded.database_backup_path} instead (see docs/database.md).",
            file=sys.stderr,
        )
        return 1
    counts = result.row_counts
    print(
        f"Recovered with {result.method}: {counts.get('jobs', 0)} jobs, "
        f"{counts.get('tasks', 0)} tasks, {counts.get('workers', 0)} Workers. "
        "The integrity and foreign key checks pass.",
        file=out,
    )
    if result.lost_and_found:
        print(
            f"{result.lost_and_found} rows could not be placed in a table and were left out.",
            file=out,
        )
    print(
        f"The damaged file is kept as {result.damaged_copy}; delete it once the farm works.\n"
        "Start the Manager again.",
        file=out,
    )
    return 0


def backup(loaded: config.LoadedConfig, out: TextIO = sys.stdout) -> int:
    """`--backup-database`: back up now (the Manager may run); 0 when a checked copy exists."""
    folder = loaded.database_backup_path
    try:
        made = backups.make_backup_blocking(loaded.database_path, folder, dt.datetime.now(dt.UTC))
        removed = backups.prune_backups(
            folder, loaded.database_path, loaded.config.database_backup_keep
        )
    except (OSError, sqlite3.Error, errors.PersistenceError) as error:
        print(f"{PROGRAM}: cannot back up the database: {error}", file=sys.stderr)
        return 1
    print(
        f"Backed up {loaded.database_path} to {made.path} ({_size(made.path)}, checked).", file=out
    )
    if removed:
        print(
            f"Removed {len(removed)} older backup(s), keeping the newest "
            f"{loaded.config.database_backup_keep}.",
            file=out,
        )
    return 0


def _report_lines(report: IntegrityReport, *, indent: str) -> list[str]:
    lines = [f"{indent}Schema version: {_describe_version(report)}"]
    if report.problems:
        lines.append(f"{indent}Integrity check: FAILED")
        lines += [f"{indent}  {problem}" for problem in report.problems[:20]]
        if len(report.problems) > 20:
            lines.append(f"{indent}  ... and {len(report.problems) - 20} more")
    else:
        lines.append(f"{indent}Integrity check: ok")
    if report.misreports:
        lines.append(
            f"{indent}  SQLite {sqlite3.sqlite_version} also reported {len(report.misreports)} "
            f"time(s) {report.misreports[0]!r}: a known false report of this SQLite for that "
            "table's layout (the value is there). Starting this Manager upgrades the schema, "
            "after which it no longer appears."
        )
    if report.foreign_key_violation_count:
        lines.append(
            f"{indent}Foreign key check: FAILED, {report.foreign_key_violation_count} row(s) "
            "refer to rows that do not exist"
        )
        lines += [f"{indent}  {violation}" for violation in report.foreign_key_violations]
    elif report.foreign_keys_checked:
        lines.append(f"{indent}Foreign key check: ok")
    else:
        lines.append(f"{indent}Foreign key check: could not run")
    return lines


def _describe_version(report: IntegrityReport) -> str:
    version, latest = report.schema_version, report.latest_schema_version
    if version == latest:
        return f"{version} (up to date)"
    if version < latest:
        return f"{version} (this Manager upgrades it to {latest} when it starts)"
    return f"{version} (newer than this Manager, which knows up to {latest})"


def _size(path: Path) -> str:
    size = float(path.stat().st_size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def check_postgresql(loaded: config.LoadedConfig, out: TextIO = sys.stdout) -> int:
    """`--check-database` on PostgreSQL: the server answers and holds our schema."""
    url = str(loaded.database_location)
    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            problem = postgresql_migrate.schema_problem(conn)
            version = postgresql_migrate.current_version(conn)
    except psycopg.Error as error:
        print(f"{PROGRAM}: cannot check {redact(url)}: {error}".rstrip(), file=sys.stderr)
        return 2
    print(f"Database: {redact(url)} (PostgreSQL), schema version {version}", file=out)
    if problem:
        print(f"The database is not ready for this Manager: {problem}", file=out)
        return 1
    print("The database is fine (PostgreSQL checks its own files).", file=out)
    return 0


def not_for_postgresql(option: str) -> int:
    """--recover-database and --backup-database are for SQLite files."""
    print(
        f"{PROGRAM}: {option} works on SQLite files; PostgreSQL has its own tools for that "
        "(pg_dump and pg_restore, see docs/scale-out.md)",
        file=sys.stderr,
    )
    return 2


def migrate_to_postgresql(loaded: config.LoadedConfig, url: str, out: TextIO = sys.stdout) -> int:
    """`--migrate-database URL`: copy the SQLite farm into an empty PostgreSQL database.

    0 when the copy is committed and matches; 1 when it failed or did not match
    (rolled back); 2 when it was refused before copying anything.
    """
    option = "--migrate-database"
    if loaded.uses_postgresql:
        print(
            f"{PROGRAM}: {option} copies a farm from SQLite, but {loaded.path} already uses "
            f"PostgreSQL ({redact(str(loaded.database_location))}); there is nothing to move",
            file=sys.stderr,
        )
        return 2
    if not is_postgresql_url(url):
        print(
            f"{PROGRAM}: {option} needs the URL of a PostgreSQL database, such as "
            f"postgresql://flamenco@db-host/flamenco, not {url!r}",
            file=sys.stderr,
        )
        return 2
    source = loaded.database_path
    print(f"Copying the farm in {source}\n         to {redact(url)}", file=out, flush=True)
    try:
        copied = sqlite_to_postgresql.copy_farm_blocking(
            source, url, progress=lambda line: print(f"  {line}", file=out, flush=True)
        )
    except sqlite_to_postgresql.SourceDamaged as error:
        print(f"{PROGRAM}: cannot migrate: {error}", file=sys.stderr)
        print("Nothing was copied. Repair the SQLite database first:", file=sys.stderr)
        print(damaged_database_advice(loaded), file=sys.stderr)
        return 2
    except sqlite_to_postgresql.MigrationRefused as error:
        print(f"{PROGRAM}: cannot migrate: {error}", file=sys.stderr)
        print("Nothing was copied; the SQLite database was not changed.", file=sys.stderr)
        return 2
    except sqlite_to_postgresql.CopyFailed as error:
        if error.checks:
            for line in _comparison_lines(error.checks):
                print(line, file=out)
        print(f"{PROGRAM}: {error}", file=sys.stderr)
        print(
            "PostgreSQL holds none of the farm's rows; the SQLite database was not changed, "
            "and the Manager can keep running on it.",
            file=sys.stderr,
        )
        return 1
    for line in _comparison_lines(copied.checks):
        print(line, file=out)
    tables = len(copied.checks)
    rows = sum(check.target.rows for check in copied.checks)
    print(
        f"Copied {rows} rows in {copied.copy_seconds:.1f} s. All {tables} tables match "
        "(row counts and id sums), and new rows get ids past the copied ones. "
        f"The SQLite database was not changed.",
        file=out,
    )
    print(_next_steps(loaded, url), file=out)
    return 0


def _comparison_lines(checks: tuple[sqlite_to_postgresql.TableCheck, ...]) -> list[str]:
    width = max(len(check.table.name) for check in checks)
    lines = [f"  {'table':<{width}}  {'SQLite':>10}  {'PostgreSQL':>10}  check"]
    for check in checks:
        verdict = "ok" if check.matches else "MISMATCH: " + "; ".join(check.differences())
        lines.append(
            f"  {check.table.name:<{width}}  {check.source.rows:>10}  {check.target.rows:>10}  "
            f"{verdict}"
        )
    return lines


def _next_steps(loaded: config.LoadedConfig, url: str) -> str:
    shown = hide_password(url)
    lines = [
        "Next steps (this command changed no configuration):",
        "  1. Keep the Manager stopped until step 4: changes made on SQLite from now on would",
        "     not be in PostgreSQL.",
        f"  2. In {loaded.path.absolute()}, set",
        f"       database: {shown}",
    ]
    if shown != url:
        lines.append("     with the real password (or leave it out and put it in ~/.pgpass).")
    lines += [
        f"  3. Keep local_manager_storage_path ({loaded.local_storage_path}): task logs and",
        "     last-rendered images are there, not in the database. Several Manager processes",
        "     on several machines must all use that one folder (a shared mount).",
        "  4. Start the Manager. Keep the SQLite file as a backup until you are happy.",
        "See docs/scale-out.md, 'Moving a farm from SQLite to PostgreSQL'.",
    ]
    return "\n".join(lines)


def hide_password(url: str) -> str:
    """`url` with its password, if it has one, replaced by ****; otherwise `url` as given."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    in_query = any(key == "password" for key, _ in query)
    if parts.password is None and not in_query:
        return url
    netloc = parts.netloc
    if parts.password is not None:
        user_info, _, host = netloc.rpartition("@")
        netloc = f"{user_info.split(':', 1)[0]}:****@{host}"
    if in_query:
        query = [(key, "****" if key == "password" else value) for key, value in query]
    return urllib.parse.urlunsplit(
        parts._replace(netloc=netloc, query=urllib.parse.urlencode(query, safe="*"))
    )
