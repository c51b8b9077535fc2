"""The `office360` command. Each subcommand hands over to its role's `cli` module.

A role module exposes `register(subparsers) -> None`; each parser it adds sets
`func(args) -> int`. Roles are imported lazily so a kiosk without the hub's extras still runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from . import __version__
from .config import ConfigError, Settings, load_settings

# subcommand -> module providing register(); listed so `office360 --help` shows them all
ROLES: dict[str, str] = {
    "hub": "hub.cli",
    "token": "hub.cli",
    "keys": "hub.appointments_cli",
    "appointments": "hub.appointments_cli",
    "user": "hub.users_cli",
    "report": "hub.reports_cli",
    "device": "hub.cli",
    "config": "office360.config_cli",
    "demo": "office360.demo",
    "printer": "printer.cli",
    "kiosk": "kiosk.cli",
    "scan": "kiosk.cli",
    "display": "display.cli",
}


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="TOML file (default: $OFFICE360_CONFIG, /etc/office360/office360.toml, ./office360.toml)",
    )


def settings_from(args: argparse.Namespace) -> Settings:
    return load_settings(getattr(args, "config", None))


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser for `argv`: only the named subcommand's role is imported (a role module can
    cost a second: the hub's, the printer's capabilities); `--help` and the like import them all."""
    parser = argparse.ArgumentParser(prog="office360", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"office360 {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    words = list(sys.argv[1:] if argv is None else argv)
    command = next((w for w in words if not w.startswith("-")), None)
    roles = {command: ROLES[command]} if command in ROLES else ROLES
    seen: set[str] = set()
    for name, module_name in roles.items():
        if module_name in seen:
            continue
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            missing = exc.name or module_name
            stub = sub.add_parser(name, help=f"(unavailable: {missing} is not installed)")
            stub.set_defaults(func=_unavailable(name, missing))
            continue
        seen.add(module_name)
        module.register(sub)
    return parser


def _unavailable(name: str, missing: str):  # type: ignore[no-untyped-def]
    def run(_args: argparse.Namespace) -> int:
        print(
            f"office360 {name}: needs the Python package {missing!r}; "
            f"install the matching extra, e.g. pip install 'office360[{name}]'",
            file=sys.stderr,
        )
        return 3

    return run


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser(argv).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"office360: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
