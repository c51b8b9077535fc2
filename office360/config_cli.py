"""`office360 config check FILE`."""

from __future__ import annotations

import argparse
import sys

from .config import load_settings


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    config = sub.add_parser("config", help="check a configuration file")
    verbs = config.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True
    check = verbs.add_parser("check", help="validate FILE against the schema and exit")
    check.add_argument("file", nargs="?", help="the TOML file (default: as for --config)")
    check.add_argument("--config", dest="config_file", metavar="FILE", help="the same as FILE")
    check.set_defaults(func=run_check)


def run_check(args: argparse.Namespace) -> int:
    settings = load_settings(args.file or args.config_file)
    offices = ", ".join(
        f"{o.id} ({len(o.services)} services, {len(o.desks)} desks)" for o in settings.offices
    )
    print(f"{settings.source}: ok: {offices}", file=sys.stdout)
    return 0
