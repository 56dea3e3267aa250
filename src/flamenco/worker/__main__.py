"""Command line of the Worker (`python -m flamenco.worker`): upstream's flags and exit codes."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import shutil
import sys
from pathlib import Path

from flamenco import FLAMENCO_API_VERSION, __version__, logsetup
from flamenco.worker import config, discovery
from flamenco.worker.commands.ffmpeg import ffmpeg_version, find_ffmpeg
from flamenco.worker.worker import RegistrationFailed, Worker, WorkerOptions

logger = logging.getLogger("flamenco.worker")

FIND_MANAGER_TIMEOUT = 60.0
AUTODISCOVERY_TIMEOUT = 600.0
EXIT_ERROR = 1


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    # Upstream's Go flags take one dash (-manager URL); both spellings work here.
    parser = argparse.ArgumentParser(
        prog="flamenco-worker",
        description="Flamenco Worker: runs the tasks a Flamenco Manager hands out.",
        allow_abbrev=False,
    )
    parser.add_argument(
        "-version", "--version", action="store_true", help="show the version and exit"
    )
    parser.add_argument(
        "-flush",
        "--flush",
        action="store_true",
        help="send task updates queued while the Manager was unreachable, then exit",
    )
    parser.add_argument("-debug", "--debug", action="store_true", help="log debug messages")
    parser.add_argument(
        "-quiet", "--quiet", action="store_true", help="log only warnings and errors"
    )
    parser.add_argument("-trace", "--trace", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "-manager", "--manager", default="", metavar="URL", help="URL of the Flamenco Manager"
    )
    parser.add_argument("-register", "--register", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "-find-manager",
        "--find-manager",
        action="store_true",
        help="find a Manager on the local network, print its URL, and exit",
    )
    parser.add_argument(
        "-restart-exit-code",
        "--restart-exit-code",
        type=int,
        default=0,
        metavar="N",
        help="allow the Manager to restart this Worker; it then exits with code N",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.version:
        print(f"Flamenco Worker {FLAMENCO_API_VERSION} (flamenco-py {__version__})")
        return 0
    logsetup.configure(debug=args.debug or args.trace, quiet=args.quiet)
    logger.info(
        "starting Flamenco Worker",
        extra={"version": __version__, "platform": sys.platform, "pid": os.getpid()},
    )
    try:
        return asyncio.run(_main(args))
    except KeyboardInterrupt:
        return 1


async def _main(args: argparse.Namespace) -> int:
    if args.find_manager:
        try:
            url = await discovery.discover(FIND_MANAGER_TIMEOUT)
        except discovery.DiscoveryFailed as error:
            logger.error("could not find a Manager", extra={"error": str(error)})
            return EXIT_ERROR
        print(url)
        return 0

    config_path = Path.cwd() / config.CONFIG_FILENAME
    home = config.flamenco_home()
    try:
        cfg = config.load_config(config_path)
        if args.manager:
            cfg = dataclasses.replace(cfg, manager_url=config.parse_manager_url(args.manager))
            logger.info("using Manager URL from command line", extra={"manager": cfg.manager_url})
    except (config.ConfigError, ValueError) as error:
        logger.error("invalid configuration", extra={"error": str(error)})
        return EXIT_ERROR
    if args.restart_exit_code:
        cfg = dataclasses.replace(cfg, restart_exit_code=args.restart_exit_code)
        logger.info(
            "will tell Manager this Worker can restart", extra={"exit_code": args.restart_exit_code}
        )
    logger.info(
        "configuration",
        extra={
            "config": str(config_path),
            "credentials": str(home / config.CREDENTIALS_FILENAME),
            "database": str(home / config.DATABASE_FILENAME),
        },
    )
    await asyncio.to_thread(_log_tools)

    if not cfg.manager_url:
        try:
            found = await discovery.discover(AUTODISCOVERY_TIMEOUT)
        except discovery.DiscoveryFailed as error:
            logger.error("could not find a Manager", extra={"error": str(error)})
            return EXIT_ERROR
        cfg = dataclasses.replace(cfg, manager_url=found)

    home.mkdir(parents=True, exist_ok=True)
    worker = Worker(WorkerOptions(config=cfg, home=home, flush_only=args.flush))
    try:
        exit_code = await worker.run()
    except RegistrationFailed as error:
        logger.error("unable to register at Manager", extra={"error": str(error)})
        return EXIT_ERROR
    except config.ConfigError as error:
        logger.error("invalid credentials file", extra={"error": str(error)})
        return EXIT_ERROR
    logger.info("shutdown complete", extra={"exit_code": exit_code})
    return exit_code


def _log_tools() -> None:
    """Say which Blender and FFmpeg this machine has; tasks may name others."""
    blender = shutil.which("blender")
    if blender:
        logger.info("Blender found on this system", extra={"path": blender})
    else:
        logger.info("Blender not found on the PATH")
    ffmpeg = find_ffmpeg()
    if ffmpeg:
        logger.info(
            "FFmpeg found on this system",
            extra={"path": ffmpeg, "version": ffmpeg_version(ffmpeg) or "unknown"},
        )
    else:
        logger.warning(
            "FFmpeg could not be found on this system, render jobs may not run correctly"
        )


if __name__ == "__main__":
    sys.exit(main())
