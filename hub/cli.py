"""`office360 hub [serve|migrate]` and `office360 token create|list|revoke`."""

from __future__ import annotations

import argparse
import logging
import secrets
import sys
from pathlib import Path

from office360.cli import add_config_argument, settings_from
from office360.config import ConfigError, Settings

from . import repository as repo
from .auth import ROLES, hash_token, new_token
from .db import make_engine, migrate
from .services import utcnow


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    hub = sub.add_parser("hub", help="run the office hub (or migrate its database)")
    hub.add_argument("verb", nargs="?", choices=["serve", "migrate"], default="serve")
    add_config_argument(hub)
    hub.add_argument("--host", help="listen address (default: [hub] host)")
    hub.add_argument("--port", type=int, help="listen port (default: [hub] port)")
    hub.add_argument("--data-dir", type=Path, help="state folder (default: [hub] data_dir)")
    hub.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    hub.set_defaults(func=run_hub)

    token = sub.add_parser("token", help="create, list or revoke API tokens")
    verbs = token.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True
    create = verbs.add_parser("create", help="make a token and print it once")
    add_config_argument(create)
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--desk", help="the desk a staff token acts for")
    create.add_argument("--name", required=True, help="who or what holds it, e.g. 'Kiosk door'")
    create.add_argument("--office", help="bind the token to one office (default: any office)")
    create.add_argument("--data-dir", type=Path)
    create.set_defaults(func=run_token_create)
    listing = verbs.add_parser("list", help="list tokens (never the secret)")
    add_config_argument(listing)
    listing.add_argument("--data-dir", type=Path)
    listing.set_defaults(func=run_token_list)
    revoke = verbs.add_parser("revoke", help="revoke a token by id")
    add_config_argument(revoke)
    revoke.add_argument("id", type=int)
    revoke.add_argument("--data-dir", type=Path)
    revoke.set_defaults(func=run_token_revoke)

    device = sub.add_parser("device", help="enroll kiosks and displays")
    dverbs = device.add_subparsers(dest="verb", metavar="VERB")
    dverbs.required = True
    approve = dverbs.add_parser("approve", help="approve the pairing code a new device shows")
    add_config_argument(approve)
    approve.add_argument("code", help="the code on the device's screen, e.g. KD4-7XQ")
    approve.add_argument("--data-dir", type=Path)
    approve.set_defaults(func=run_device_approve)


def effective_settings(args: argparse.Namespace) -> Settings:
    settings = settings_from(args)
    changes = {}
    for name in ("host", "port", "data_dir"):
        value = getattr(args, name, None)
        if value is not None:
            changes[name] = value
    if changes:
        settings = settings.model_copy(update={"hub": settings.hub.model_copy(update=changes)})
    return settings


def _prepare_data_dir(settings: Settings) -> None:
    data_dir = settings.hub.data_dir
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        probe = data_dir / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(
            settings.source, "hub.data_dir", f"{data_dir} is not writable ({exc.strerror})"
        ) from None


def run_hub(args: argparse.Namespace) -> int:
    settings = effective_settings(args)
    _prepare_data_dir(settings)
    if args.verb == "migrate":
        migrate(settings.hub.sqlalchemy_url())
        print(f"database at {settings.hub.sqlalchemy_url()} is up to date")
        return 0

    from .app import create_app
    from .workers import HubServer, Supervisor, uvicorn_config

    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    print(
        f"office360 hub on {settings.hub.base_url()}  "
        f"(API schema: {settings.hub.base_url()}/openapi.json, described in docs/api.md)",
        flush=True,
    )
    if settings.hub.workers > 1 or settings.hub.writer_process:
        return Supervisor(settings, args.log_level, settings.hub.workers).run()
    server = HubServer(
        uvicorn_config(
            create_app(settings), args.log_level, host=settings.hub.host, port=settings.hub.port
        )
    )
    server.run()
    return 0 if server.started else 3


def _engine(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    settings = effective_settings(args)
    _prepare_data_dir(settings)
    url = settings.hub.sqlalchemy_url()
    migrate(url)
    return settings, make_engine(url, pool_size=1)


def run_token_create(args: argparse.Namespace) -> int:
    settings, engine = _engine(args)
    office = settings.office(args.office)
    if office is None:
        raise ConfigError(
            settings.source, "--office", f"no office {args.office!r} in the configuration"
        )
    if args.role == "staff":
        if not args.desk:
            print("office360 token create: a staff token needs --desk", file=sys.stderr)
            return 2
        if office.desk_by_id(args.desk) is None:
            print(
                f"office360 token create: office {office.id} has no desk {args.desk!r}",
                file=sys.stderr,
            )
            return 2
    elif args.desk:
        print("office360 token create: --desk is only for staff tokens", file=sys.stderr)
        return 2
    token = new_token()
    with engine.begin() as conn:
        token_id = repo.insert_token(
            conn,
            name=args.name,
            role=args.role,
            office_id=args.office or (office.id if args.desk else None),
            desk_id=args.desk,
            token_hash=hash_token(token),
            created_at=utcnow(),
        )
    engine.dispose()
    print(token)
    print(f"token {token_id} ({args.role}) created; it is shown only this once", file=sys.stderr)
    return 0


def run_token_list(args: argparse.Namespace) -> int:
    _settings, engine = _engine(args)
    with engine.connect() as conn:
        rows = repo.list_tokens(conn)
    engine.dispose()
    print(f"{'id':>4}  {'role':8} {'desk':6} {'office':10} {'state':8} name")
    for r in rows:
        state = "revoked" if r.revoked_at else "active"
        print(
            f"{r.id:>4}  {r.role:8} {r.desk_id or '-':6} {r.office_id or '*':10} {state:8} {r.name}"
        )
    return 0


def run_token_revoke(args: argparse.Namespace) -> int:
    _settings, engine = _engine(args)
    with engine.begin() as conn:
        done = repo.revoke_token(conn, args.id, utcnow())
    engine.dispose()
    if not done:
        print(f"office360 token revoke: no active token {args.id}", file=sys.stderr)
        return 1
    print(f"token {args.id} revoked")
    return 0


def run_device_approve(args: argparse.Namespace) -> int:
    from office360.core.errors import DomainError

    from . import pairing

    _settings, engine = _engine(args)
    try:
        with engine.begin() as conn:
            secret = repo.get_or_create_secret(conn, "status_links", lambda: secrets.token_hex(32))
            result = pairing.approve(conn, args.code, utcnow(), secret.encode())
    except DomainError as exc:
        print(f"office360 device approve: {exc.message} ({exc.code})", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(f"approved {result['role']} {result['device']!r} for office {result['office']}")
    return 0
