"""Command line of the Manager: `python -m flamenco.manager` or `flamenco-manager`."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import signal
import ssl
import sys
from pathlib import Path

from flamenco import FLAMENCO_API_VERSION, __version__, logsetup
from flamenco.manager import config, connections, interpreter_tuning, keys
from flamenco.manager.access import cli as access_cli
from flamenco.manager.app import create_app
from flamenco.manager.cluster.processes import EXIT_RESTART_ALL, run_supervisor
from flamenco.manager.lifecycle import Ending
from flamenco.manager.persistence import IntegrityError, PersistenceError
from flamenco.manager.persistence import cli as database_cli
from flamenco.shaman import cli as shaman_cli

logger = logging.getLogger("flamenco.manager")

# How long requests still in progress may take when the Manager stops; open
# connections of web interfaces and Workers would otherwise keep it waiting.
SHUTDOWN_GRACE_SECONDS = 2.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="flamenco-manager", description="Flamenco Manager: the heart of the render farm."
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=Path("flamenco-manager.yaml"),
        help="configuration file (default: flamenco-manager.yaml in the working directory)",
    )
    parser.add_argument("--version", action="store_true", help="show the version and exit")
    parser.add_argument(
        "--write-config", action="store_true", help="write the configuration file and exit"
    )
    parser.add_argument("--debug", action="store_true", help="log debug messages")
    parser.add_argument("--quiet", action="store_true", help="log only warnings and errors")
    parser.add_argument(
        "--setup-assistant",
        action="store_true",
        help="start the first-run setup assistant, even when the configuration is complete",
    )
    parser.add_argument(
        "--shaman-gc-show",
        action="store_true",
        help="show what Shaman garbage collection would delete, then exit",
    )
    parser.add_argument(
        "--shaman-gc-delete", action="store_true", help="run Shaman garbage collection, then exit"
    )
    database = parser.add_mutually_exclusive_group()
    database.add_argument(
        "--check-database",
        action="store_true",
        help="check the database (integrity, foreign keys, schema version) without changing it; "
        "exit 0 when it is fine, 1 when it is damaged",
    )
    database.add_argument(
        "--recover-database",
        action="store_true",
        help="rebuild a damaged database into a new file and put it in place, keeping a copy "
        "of the damaged one; stop the Manager first",
    )
    database.add_argument(
        "--backup-database",
        action="store_true",
        help="back up the database now (also while the Manager runs), then exit",
    )
    database.add_argument(
        "--migrate-database",
        metavar="URL",
        help="copy the farm from the configured SQLite database into the empty PostgreSQL "
        "database at URL (postgresql://...), check the copy, then exit; the SQLite file and "
        "the configuration are left as they are (see docs/scale-out.md)",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        metavar="N",
        help="serve the farm with N Manager processes on one port (needs PostgreSQL and Redis; "
        "see docs/scale-out.md)",
    )
    access_cli.add_arguments(parser)
    # Set by --processes for its children: share the port, leave restarts to the parent.
    parser.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.processes < 1:
        parser.error("--processes must be 1 or more")
    return args


async def serve(loaded: config.LoadedConfig, *, reuse_port: bool = False) -> int:
    """Run the Manager until a signal stops it; restart it in-process when it asks to.

    With `reuse_port`, one of several processes on the port: a restart is left to
    the supervisor, which restarts them all.
    """
    signalled = asyncio.Event()
    loop = asyncio.get_running_loop()
    descriptor_limit = connections.raise_descriptor_limit()
    if descriptor_limit is not None:
        logger.info("open file limit: %d", descriptor_limit)
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, signalled.set)
    while True:
        ending = await serve_once(
            loaded, signalled, reuse_port=reuse_port, descriptor_limit=descriptor_limit
        )
        if ending is Ending.FAILURE:
            return 1
        if ending is Ending.STOP:
            return 0
        if reuse_port:
            return EXIT_RESTART_ALL
        logger.info("restarting with the new configuration")
        loaded = config.load_config(loaded.path)


async def serve_once(
    loaded: config.LoadedConfig,
    signalled: asyncio.Event,
    *,
    reuse_port: bool = False,
    descriptor_limit: int | None = None,
) -> Ending:
    app = await create_app(loaded)
    lifecycle = app[keys.RESTART]
    host, port = config.listen_address(loaded.config.listen)
    limits = connections.ConnectionLimits.from_config(loaded.config)
    guard = connections.ConnectionGuard(
        limits, connections.connection_cap(limits.max_connections, descriptor_limit)
    )
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(guard.handle_loop_exception)
    runner = connections.make_runner(
        app, limits, handle_signals=False, shutdown_timeout=SHUTDOWN_GRACE_SECONDS
    )
    await runner.setup()
    try:
        site = connections.GuardedSite(
            runner, guard, host, port, reuse_port=reuse_port, ssl_context=_tls_context(loaded)
        )
        await site.start()
        where = f"{host or 'all interfaces'} port {port}"
        if loaded.tls_files is not None:
            where += " (HTTPS)"
        logger.info(
            "Flamenco Manager %s listening on %s, for at most %d connections at a time",
            __version__,
            where,
            guard.cap,
        )
        interpreter_tuning.settle_after_start_up()
        if loaded.is_first_run:
            logger.warning(
                "first run: open http://localhost:%d/ to configure the shared storage", port
            )
        waiters = {
            asyncio.create_task(signalled.wait()),
            asyncio.create_task(lifecycle.ended.wait()),
        }
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
        ending = Ending.STOP if signalled.is_set() else lifecycle.ending
        logger.info("shutting down" if ending is not Ending.RESTART else "stopping to restart")
        return ending
    finally:
        await runner.cleanup()
        loop.set_exception_handler(None)
        interpreter_tuning.release_before_restart()


def _tls_context(loaded: config.LoadedConfig) -> ssl.SSLContext | None:
    """HTTPS with `listen_tls_certificate` and `listen_tls_key`; None for plain HTTP."""
    files = loaded.tls_files
    if files is None:
        return None
    certificate, key = files
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(certificate, key)
    except (OSError, ssl.SSLError) as error:
        raise config.ConfigError(
            f"listen_tls_certificate {certificate} and listen_tls_key {key} cannot be used: {error}"
        ) from error
    return context


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.version:
        print(f"Flamenco Manager {FLAMENCO_API_VERSION} (flamenco-py {__version__})")
        return 0
    logsetup.configure(debug=args.debug, quiet=args.quiet)
    try:
        loaded = config.load_config(args.config)
    except config.ConfigError as error:
        print(f"flamenco-manager: {error}", file=sys.stderr)
        return 2
    if args.setup_assistant:
        loaded = dataclasses.replace(loaded, force_first_run=True)
    if args.write_config:
        config.write_config(loaded.config, loaded.path)
        print(f"configuration written to {loaded.path}")
        return 0
    if access_cli.wants_command(args):
        try:
            return access_cli.run(args, loaded)
        except (OSError, PersistenceError) as error:
            print(f"flamenco-manager: {error}", file=sys.stderr)
            return 1
    database_exit = _run_database_command(args, loaded)
    if database_exit is not None:
        return database_exit
    if args.shaman_gc_show or args.shaman_gc_delete:
        # Showing wins when both are given: deleting is the one that cannot be undone.
        return shaman_cli.collect_garbage_once(
            config.shaman_settings(loaded), dry_run=args.shaman_gc_show
        )
    if args.processes > 1:
        problem = _cannot_run_several(loaded)
        if problem:
            print(f"flamenco-manager: --processes {args.processes}: {problem}", file=sys.stderr)
            return 2
        return run_supervisor(args.processes, _child_arguments(argv))
    try:
        return asyncio.run(serve(loaded, reuse_port=args.reuse_port))
    except IntegrityError as error:
        print(database_cli.cannot_start_message(loaded, error), file=sys.stderr)
        return 1
    except (OSError, PersistenceError, config.ConfigError) as error:
        print(f"flamenco-manager: cannot start: {error}", file=sys.stderr)
        return 1


def _run_database_command(args: argparse.Namespace, loaded: config.LoadedConfig) -> int | None:
    """Run the database command asked for, if any: its exit code, or None when none was."""
    database_command = (
        database_cli.check
        if args.check_database
        else database_cli.recover
        if args.recover_database
        else database_cli.backup
        if args.backup_database
        else None
    )
    if database_command is None and args.migrate_database is None:
        return None
    if loaded.uses_postgresql and database_command is not None:
        if args.check_database:
            return database_cli.check_postgresql(loaded)
        option = "--recover-database" if args.recover_database else "--backup-database"
        return database_cli.not_for_postgresql(option)
    if not args.debug:
        # Migration notes while rebuilding or copying would only muddle the command's own report.
        logging.getLogger("flamenco.manager.persistence").setLevel(logging.WARNING)
    if args.migrate_database is not None:
        return database_cli.migrate_to_postgresql(loaded, args.migrate_database)
    assert database_command is not None
    return database_command(loaded)


def _cannot_run_several(loaded: config.LoadedConfig) -> str | None:
    if not loaded.uses_postgresql:
        return (
            "several processes need a shared PostgreSQL database (database: postgresql://...); "
            "SQLite allows one writing process"
        )
    if not loaded.config.redis_url:
        return "several processes need redis_url, so that live events reach every process"
    return None


def _child_arguments(argv: list[str] | None) -> list[str]:
    """The command line without --processes, for each child."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    kept: list[str] = []
    skip = False
    for argument in arguments:
        if skip:
            skip = False
        elif argument == "--processes":
            skip = True
        elif not argument.startswith("--processes="):
            kept.append(argument)
    return kept


if __name__ == "__main__":
    sys.exit(main())
