"""`office360 printer test [--config FILE] [--printer URL]`: report the status, print a ticket."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from pydantic import ValidationError

from office360.cli import add_config_argument
from office360.config import ConfigError, PrinterSettings, Settings, load_settings

from .errors import PrinterError
from .factory import printer_from_settings
from .preview import PreviewPrinter, sample_ticket

EXIT_PRINTED, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
NO_STATUS_HINT = (
    "  the printer takes connections but never answered DLE EOT: if it is on and has paper,\n"
    "  it may not support status queries; set [printer] ask_status = false and test again"
)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    printer = sub.add_parser("printer", help="ticket printer tools for technicians")
    verbs = printer.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True
    test = verbs.add_parser("test", help="report the printer's status and print a test ticket")
    add_config_argument(test)
    test.add_argument("--printer", metavar="URL", help="printer URL instead of [printer] url")
    test.add_argument("--profile", help="python-escpos profile instead of [printer] profile")
    test.add_argument("--paper", type=int, choices=(80, 58), help="paper width in mm")
    test.add_argument("--lang", default=None, help="language of the test ticket (default: es)")
    test.add_argument("--status-only", action="store_true", help="report the status, print nothing")
    test.set_defaults(func=run_test)


def _settings(args: argparse.Namespace) -> tuple[Settings | None, PrinterSettings]:
    """The config file's printer section; with --printer and no config file, the defaults."""
    try:
        settings: Settings | None = load_settings(args.config)
    except ConfigError:
        if args.config or not args.printer:
            raise
        settings = None
    section = settings.printer if settings else PrinterSettings()
    overrides: dict[str, object] = {}
    if args.printer:
        overrides["url"] = args.printer
    if args.profile:
        overrides["profile"] = args.profile
    if args.paper:
        overrides["paper_width_mm"] = args.paper
    if overrides:
        try:
            section = PrinterSettings.model_validate(section.model_dump() | overrides)
        except ValidationError as exc:
            error = exc.errors()[0]
            key = "printer." + ".".join(str(part) for part in error["loc"])
            reason = str(error["msg"]).removeprefix("Value error, ")
            raise ConfigError("command line", key, reason) from None
    return settings, section


def run_test(args: argparse.Namespace) -> int:
    settings, section = _settings(args)
    out = sys.stdout
    try:
        printer = printer_from_settings(section)
    except PrinterError as exc:
        print(f"printer: {exc.code}: {exc.message}", file=sys.stderr)
        return EXIT_FAILED
    print(
        f"printer: {printer.url}  profile {printer.profile_name}  {printer.paper_width_mm} mm  "
        f"{printer.geometry.columns} columns  code page {printer.code_page}",
        file=out,
    )
    status = printer.status()
    print(f"status: {status.value}", file=out)
    if args.status_only:
        return EXIT_PRINTED if status.can_print else EXIT_FAILED
    office = settings.default_office if settings else None
    lang = args.lang or (office.languages[0] if office else "es")
    ticket = sample_ticket(lang, number="T001", office=office.name if office else "office360")
    base = settings.hub.base_url() if settings else "http://127.0.0.1:8360"
    ticket = replace(ticket, status_url=f"{base}/status/0?t=printer-test", priority=None)
    if lost := printer.unencodable(ticket):
        print(
            f"warning: printer_text_unencodable: {lost!r} print as '?' in {printer.code_page}",
            file=out,
        )
    try:
        printer.print_ticket(ticket)
    except PrinterError as exc:
        print(f"print: failed: {exc.code}: {exc.message}", file=out)
        if exc.code == "printer_timeout" and printer.can_read_status:
            print(NO_STATUS_HINT, file=out)
        return EXIT_FAILED
    where = f" -> {printer.last_path}" if isinstance(printer, PreviewPrinter) else ""
    print(f"print: ok ({printer.last_job_bytes} bytes){where}", file=out)
    return EXIT_PRINTED
