"""`office360 keys create|rotate|show-public` and `office360 appointments import FILE`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from office360.appointments_import import AppointmentImportError, catalog_from_settings, import_file
from office360.cli import add_config_argument
from office360.config import ConfigError, Settings

from .cli import effective_settings
from .keys import KeyFileError, create_ring, read_ring, rotate_ring


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    keys = sub.add_parser("keys", help="the hub's QR signing keys for appointment codes")
    verbs = keys.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True
    create = verbs.add_parser("create", help="make the signing key (file mode 0600)")
    create.add_argument("--force", action="store_true", help="replace existing keys")
    create.add_argument("--kid", help="key id (default: random, e.g. k3f9a1c)")
    create.set_defaults(func=run_keys_create)
    rotate = verbs.add_parser(
        "rotate", help="new signing key; the old one keeps verifying codes already sent"
    )
    rotate.add_argument("--keep", type=int, help="retired keys kept (default: config)")
    rotate.add_argument("--kid", help="id of the new key (default: random)")
    rotate.set_defaults(func=run_keys_rotate)
    show = verbs.add_parser("show-public", help="public keys for the kiosks' [appointments]")
    show.set_defaults(func=run_keys_show)
    for parser in (create, rotate, show):
        add_config_argument(parser)
        parser.add_argument("--data-dir", type=Path)

    appts = sub.add_parser("appointments", help="appointments: import from other systems")
    averbs = appts.add_subparsers(dest="verb", metavar="VERB")
    averbs.required = True
    imp = averbs.add_parser(
        "import", help="import a CSV or iCalendar file: all rows or none, bad rows by line"
    )
    imp.add_argument("file", type=Path)
    imp.add_argument("--office", help="office of rows that name none (default: the default office)")
    imp.add_argument("--encoding", default="utf-8", help="text encoding of the file (e.g. cp1252)")
    imp.add_argument("--dry-run", action="store_true", help="check the file, store nothing")
    add_config_argument(imp)
    imp.add_argument("--data-dir", type=Path)
    imp.set_defaults(func=run_import)


def _key_path(settings: Settings) -> Path:
    return settings.appointments.key_path(settings.hub.data_dir)


def _fail(what: str, exc: KeyFileError | AppointmentImportError) -> int:
    print(f"office360 {what}: {exc.message} [{exc.code}]", file=sys.stderr)
    return 1


def _print_public(settings: Settings) -> None:
    ring = read_ring(_key_path(settings))
    print("# for the kiosks' configuration, in its [appointments] section:")
    print("public_keys = [")
    for text in ring.public_texts():
        print(f'  "{text}",')
    print("]")


def run_keys_create(args: argparse.Namespace) -> int:
    settings = effective_settings(args)
    try:
        ring = create_ring(_key_path(settings), force=args.force, kid=args.kid)
        print(f"signing key {ring.signing.kid} written to {_key_path(settings)}", file=sys.stderr)
        _print_public(settings)
    except KeyFileError as exc:
        return _fail("keys create", exc)
    return 0


def run_keys_rotate(args: argparse.Namespace) -> int:
    settings = effective_settings(args)
    keep = settings.appointments.keep_retired_keys if args.keep is None else args.keep
    try:
        ring = rotate_ring(_key_path(settings), keep=max(keep, 0), kid=args.kid)
    except KeyFileError as exc:
        return _fail("keys rotate", exc)
    retired = ", ".join(kid for kid, _ in ring.retired) or "none"
    print(
        f"new signing key {ring.signing.kid}; still verifying: {retired}. A running hub picks "
        "the new key up by itself; give the kiosks the public keys below.",
        file=sys.stderr,
    )
    _print_public(settings)
    return 0


def run_keys_show(args: argparse.Namespace) -> int:
    settings = effective_settings(args)
    try:
        _print_public(settings)
    except KeyFileError as exc:
        return _fail("keys show-public", exc)
    return 0


def run_import(args: argparse.Namespace) -> int:
    from .appointments_service import AppointmentService
    from .db import make_engine, migrate
    from .services import HubService, utcnow

    settings = effective_settings(args)
    office = settings.office(args.office)
    if office is None:
        raise ConfigError(settings.source, "--office", f"no office {args.office!r}")
    try:
        rows = import_file(
            args.file,
            catalog_from_settings(settings),
            default_office=office.id,
            now=utcnow(),
            encoding=args.encoding,
        )
        if args.dry_run:
            print(f"{len(rows)} appointment(s) would be imported from {args.file}")
            return 0
        url = settings.hub.sqlalchemy_url()
        migrate(url)
        engine = make_engine(url, pool_size=1)
        service = HubService(engine, settings)
        try:
            count = AppointmentService(service).import_rows(rows)
        finally:
            service.close()
            engine.dispose()
    except AppointmentImportError as exc:
        print(f"office360 appointments import: {args.file}: nothing imported", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print(f"{count} appointment(s) imported from {args.file}")
    return 0
