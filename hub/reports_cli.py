"""`office360 report --from DATE --to DATE [--office ID] --format csv|json`: the KPI report, read
straight from the hub's database (the hub may be running: the report only reads)."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from sqlalchemy.exc import OperationalError

from office360.cli import add_config_argument, settings_from
from office360.core.errors import DomainError
from office360.core.kpi import ServiceLevel

from .reports_repo import build_report, read_engine, report_body


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "report", help="KPIs of a date range (per office, service, desk, hour, day) as CSV or JSON"
    )
    parser.add_argument("--from", dest="first", required=True, type=_date, metavar="DATE")
    parser.add_argument("--to", dest="last", required=True, type=_date, metavar="DATE")
    parser.add_argument("--office", help="one office (default: every office)")
    parser.add_argument("--format", choices=("csv", "json"), default="csv")
    parser.add_argument("--target-minutes", type=float, default=10.0, help="service level target")
    parser.add_argument("--goal", type=float, default=0.8, help="share meeting the target")
    parser.add_argument("--output", type=Path, help="write here instead of standard output")
    add_config_argument(parser)
    parser.set_defaults(func=run_report)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def run_report(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    if args.office and settings.office(args.office) is None:
        print(f"office360 report: no office {args.office!r} [unknown_office]", file=sys.stderr)
        return 1
    url = settings.hub.sqlalchemy_url()
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        print(f"office360 report: no database at {url} [database_missing]", file=sys.stderr)
        return 1
    engine = read_engine(url)
    try:
        level = ServiceLevel(args.target_minutes * 60, args.goal)
        report, feedback = build_report(engine, settings, args.first, args.last, args.office, level)
    except DomainError as exc:
        print(f"office360 report: {exc.message} [{exc.code}]", file=sys.stderr)
        return 1
    except OperationalError as exc:  # an old schema: the hub migrates it when it starts
        print(
            f"office360 report: cannot read the database: {exc.orig} [database_error]",
            file=sys.stderr,
        )
        return 1
    finally:
        engine.dispose()
    out = args.output.open("w", encoding="utf-8", newline="") if args.output else sys.stdout
    try:
        if args.format == "csv":
            report.write_csv(out)
        else:
            import json

            body = report_body(report, feedback, args.office, args.first, args.last)
            out.write(json.dumps(body, ensure_ascii=False, indent=1) + "\n")
    finally:
        if args.output:
            out.close()
    return 0
