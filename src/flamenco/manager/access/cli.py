"""`flamenco-manager` commands for access tokens: create, list and revoke, straight in the database.

They work while the Manager runs, and are how the first administrator's token is
made when access control is switched on.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import getpass
import os
import sys
from typing import TextIO

from flamenco import durations
from flamenco.clock import SystemClock
from flamenco.manager import config, persistence
from flamenco.manager.access import passwords
from flamenco.manager.access.roles import Role
from flamenco.manager.access.service import AccessControl, TokenKind
from flamenco.manager.persistence.access import AccessToken

DATABASE_BUSY_TIMEOUT_MS = 10_000
PASSWORD_VARIABLE = "FLAMENCO_PASSWORD"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("access tokens (see docs/access-control.md)")
    commands = group.add_mutually_exclusive_group()
    commands.add_argument(
        "--create-token",
        metavar="NAME",
        help="create an API token acting for NAME (a person or script) with --role, "
        "print it, then exit",
    )
    commands.add_argument(
        "--create-enrolment-token",
        metavar="NAME",
        help="create a Worker enrolment token (see --single-use), print it, then exit",
    )
    commands.add_argument(
        "--create-user",
        metavar="NAME",
        help="add a web interface user with --role (or change an existing one's role and "
        f"password); the password comes from ${PASSWORD_VARIABLE}, else it is asked for",
    )
    commands.add_argument(
        "--list-tokens", action="store_true", help="list the tokens that work, then exit"
    )
    commands.add_argument(
        "--revoke-token", metavar="ID", type=int, help="revoke the token with this ID, then exit"
    )
    group.add_argument(
        "--role",
        choices=[str(role) for role in Role],
        help="the role of a token made with --create-token, or of a user",
    )
    group.add_argument(
        "--valid-for",
        metavar="DURATION",
        help="how long a new token works, e.g. 720h (default: until revoked)",
    )
    group.add_argument(
        "--single-use", action="store_true", help="an enrolment token that works only once"
    )
    group.add_argument("--description", default="", help="what a new token is for")


def wants_command(args: argparse.Namespace) -> bool:
    return bool(
        args.create_token
        or args.create_user
        or args.create_enrolment_token
        or args.list_tokens
        or args.revoke_token is not None
    )


def run(args: argparse.Namespace, loaded: config.LoadedConfig, out: TextIO = sys.stdout) -> int:
    """Run the token command asked for; its exit code (2 for a wrong command line)."""
    valid_for: dt.timedelta | None = None
    if args.valid_for:
        try:
            valid_for = durations.parse_duration(args.valid_for)
        except ValueError as error:
            print(f"flamenco-manager: --valid-for: {error}", file=sys.stderr)
            return 2
        if valid_for <= dt.timedelta(0):
            print("flamenco-manager: --valid-for must be longer than 0s", file=sys.stderr)
            return 2
    if (args.create_token or args.create_user) and not args.role:
        option = "--create-token" if args.create_token else "--create-user"
        print(f"flamenco-manager: {option} needs --role", file=sys.stderr)
        return 2
    password = ""
    if args.create_user:
        password = os.environ.get(PASSWORD_VARIABLE) or getpass.getpass(
            f"password for {args.create_user}: "
        )
        problem = passwords.password_problem(password)
        if problem:
            print(f"flamenco-manager: {problem}", file=sys.stderr)
            return 2
    if args.create_token and args.single_use:
        print("flamenco-manager: only enrolment tokens can be --single-use", file=sys.stderr)
        return 2
    return asyncio.run(_run(args, loaded, valid_for, password, out))


async def _run(
    args: argparse.Namespace,
    loaded: config.LoadedConfig,
    valid_for: dt.timedelta | None,
    password: str,
    out: TextIO,
) -> int:
    db = await persistence.open_database(
        loaded.database_location, busy_timeout_ms=DATABASE_BUSY_TIMEOUT_MS
    )
    try:
        access = AccessControl(
            db=db,
            clock=SystemClock(),
            enabled=loaded.config.access_control,
            enrolment_secret=loaded.config.worker_enrolment_secret,
            worker_check=_no_workers,
        )
        if args.create_user:
            await access.save_user(args.create_user, Role(args.role), password)
            print(f"user {args.create_user} saved, role {args.role}", file=out)
            return 0
        if args.list_tokens:
            records = await access.fetch_tokens()
            for record in records:
                print(describe(record), file=out)
            if not records:
                print("no tokens", file=out)
            return 0
        if args.revoke_token is not None:
            if await access.revoke_token(args.revoke_token):
                print(f"token {args.revoke_token} revoked", file=out)
                return 0
            print(f"flamenco-manager: no token {args.revoke_token}", file=sys.stderr)
            return 1
        if args.create_token:
            created = await access.create_token(
                kind=TokenKind.API,
                principal=args.create_token,
                role=Role(args.role),
                description=args.description,
                valid_for=valid_for,
            )
        else:
            created = await access.create_token(
                kind=TokenKind.ENROLMENT,
                principal=args.create_enrolment_token,
                role=None,
                description=args.description,
                valid_for=valid_for,
                single_use=args.single_use,
            )
        print(describe(created.record), file=out)
        # Last, alone on its line, so that scripts can take it with `tail -1`.
        print(created.token, file=out)
        if not loaded.config.access_control and created.record.kind == TokenKind.API:
            print(
                "note: access_control is off in the configuration, so tokens are not needed yet",
                file=sys.stderr,
            )
        return 0
    finally:
        await db.close()


def describe(record: AccessToken) -> str:
    parts = [f"{record.id}: {record.kind} token for {record.principal}"]
    if record.role:
        parts.append(f"role {record.role}")
    parts.append(f"created {record.created_at:%Y-%m-%d %H:%M:%S %Z}")
    if record.expires_at is not None:
        parts.append(f"expires {record.expires_at:%Y-%m-%d %H:%M:%S %Z}")
    if record.single_use:
        parts.append("single use" + (", used" if record.used_at is not None else ""))
    if record.description:
        parts.append(record.description)
    return ", ".join(parts)


async def _no_workers(worker_uuid: str, secret: str) -> bool:
    return False
