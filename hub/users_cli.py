"""`office360 user add|list|disable`: staff who sign in to the desk panel and the admin pages."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from sqlalchemy.exc import IntegrityError

from office360.cli import add_config_argument
from office360.config import ConfigError

from . import users_repo
from .cli import _engine
from .services import utcnow
from .sessions import USER_ROLES, hash_password

MIN_PASSWORD = 8


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    user = sub.add_parser("user", help="add, list or disable staff users (desk panel, admin pages)")
    verbs = user.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True
    add = verbs.add_parser("add", help="add a user; asks for the password (or --password-stdin)")
    add_config_argument(add)
    add.add_argument("login")
    add.add_argument("--role", required=True, choices=USER_ROLES)
    add.add_argument("--name", help="the name shown on the pages (default: the login)")
    add.add_argument("--office", help="the user's office (default: the default office)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.add_argument("--data-dir", type=Path)
    add.set_defaults(func=run_add)
    listing = verbs.add_parser("list", help="list users (never their password hash)")
    add_config_argument(listing)
    listing.add_argument("--data-dir", type=Path)
    listing.set_defaults(func=run_list)
    disable = verbs.add_parser("disable", help="disable a user and end their sessions")
    add_config_argument(disable)
    disable.add_argument("login")
    disable.add_argument("--data-dir", type=Path)
    disable.set_defaults(func=run_disable)


def _read_password(from_stdin: bool) -> str | None:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        print("office360 user add: the passwords differ", file=sys.stderr)
        return None
    return first


def run_add(args: argparse.Namespace) -> int:
    settings, engine = _engine(args)
    office = settings.office(args.office)
    if office is None:
        raise ConfigError(
            settings.source, "--office", f"no office {args.office!r} in the configuration"
        )
    if not 2 <= len(args.login) <= 80:
        print("office360 user add: the login must have 2 to 80 characters", file=sys.stderr)
        return 2
    password = _read_password(args.password_stdin)
    if password is None:
        return 2
    if len(password) < MIN_PASSWORD:
        print(f"office360 user add: use at least {MIN_PASSWORD} characters", file=sys.stderr)
        return 2
    try:
        with engine.begin() as conn:
            user_id = users_repo.insert_user(
                conn,
                login=args.login,
                name=args.name or args.login,
                role=args.role,
                office_id=office.id,
                password_hash=hash_password(password),
                active=True,
                created_at=utcnow(),
            )
    except IntegrityError:
        print(f"office360 user add: login {args.login!r} exists", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(f"user {user_id} {args.login} ({args.role}, office {office.id}) added")
    return 0


def run_list(args: argparse.Namespace) -> int:
    _settings, engine = _engine(args)
    with engine.connect() as conn:
        rows = users_repo.list_users(conn)
    engine.dispose()
    print(f"{'login':20} {'role':8} {'office':10} {'state':9} name")
    for r in rows:
        state = "active" if r.active else "disabled"
        print(f"{r.login:20} {r.role:8} {r.office_id or '*':10} {state:9} {r.name}")
    return 0


def run_disable(args: argparse.Namespace) -> int:
    _settings, engine = _engine(args)
    with engine.begin() as conn:
        user = users_repo.user_by_login(conn, args.login)
        if user is not None:
            users_repo.set_active(conn, args.login, False)
            ended = users_repo.delete_user_sessions(conn, user.id)
    engine.dispose()
    if user is None:
        print(f"office360 user disable: no user {args.login!r}", file=sys.stderr)
        return 1
    print(f"user {args.login} disabled; {ended} session(s) ended")
    return 0
