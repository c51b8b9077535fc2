"""Carry out the flow's commands: hub requests and printing. Blocking; run off the UI thread.

Each `run_*` returns the flow method to call next and its arguments, as a `Result`, so the app
can hand it to the UI thread unchanged. No Kivy here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from office360 import qrtoken
from office360.client import HubClient, HubError
from printer import PrinterError, TicketData
from printer.escpos_backend import TicketPrinter

from .flow import CheckIn, IssueTicket, LoadServices, PrintTicket, services_from_json

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Result:
    method: str
    args: tuple[Any, ...] = ()


class Effects:
    def __init__(
        self,
        client: HubClient,
        printer: TicketPrinter | None,
        *,
        office_id: str,
        office_name: str,
        timezone: str,
        public_keys: Sequence[str] = (),
        only_services: Sequence[str] = (),
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.printer = printer
        self.office_id = office_id
        self.office_name = office_name
        self.zone = ZoneInfo(timezone)
        self.keys: dict[str, Any] = {}
        try:
            self.keys = qrtoken.parse_public_keys(public_keys) if public_keys else {}
        except qrtoken.TokenError as exc:  # the hub still checks every code
            log.error("[appointments] public_keys unusable, codes go to the hub: %s", exc)
        self.only_services = tuple(only_services)
        self.now = now

    def run(self, command: object) -> Result | None:
        if isinstance(command, IssueTicket):
            return self.issue(command)
        if isinstance(command, CheckIn):
            return self.check_in(command)
        if isinstance(command, PrintTicket):
            return self.print_ticket(command)
        if isinstance(command, LoadServices):
            return self.load_services()
        raise TypeError(f"not a command for the worker: {command!r}")

    def issue(self, command: IssueTicket) -> Result:
        try:
            ticket = self.client.issue_ticket(
                command.service,
                command.priority,
                command.lang,
                "walk_in",
                idempotency_key=command.key,
            )
        except HubError as exc:
            log.info("issue ticket: %s", exc)
            return Result("request_failed", (command.key, exc.code))
        return Result("ticket_received", (command.key, ticket))

    def check_in(self, command: CheckIn) -> Result:
        if self.keys:  # refuse forged or foreign codes here, even while the hub is away
            try:
                qrtoken.verify(command.code, self.keys, self.now(), office=self.office_id)
            except qrtoken.TokenError as exc:
                return Result("request_failed", (command.key, exc.code, self.slot_day(command)))
        elif not command.code.startswith(qrtoken.SCHEME):
            return Result("request_failed", (command.key, qrtoken.QR_MALFORMED))
        try:
            answer = self.client.checkin(command.code, command.lang, idempotency_key=command.key)
        except HubError as exc:
            log.info("check-in: %s", exc)
            return Result("request_failed", (command.key, exc.code, self.slot_day(command)))
        ticket = answer.get("ticket") if isinstance(answer, dict) else None
        if not isinstance(ticket, dict):
            return Result("request_failed", (command.key, "bad_response"))
        return Result("ticket_received", (command.key, ticket, str(answer.get("reason", ""))))

    def slot_day(self, command: CheckIn) -> date | None:
        """The appointment's day as written in the code (to say "for tomorrow"), unverified."""
        try:
            raw = qrtoken.decode_text(command.code)
            claims = qrtoken.decode_payload(raw[: -qrtoken.SIGNATURE_LEN])
        except (qrtoken.TokenError, ValueError):
            return None
        return claims.slot_start.astimezone(self.zone).date()

    def print_ticket(self, command: PrintTicket) -> Result:
        if self.printer is None:
            return Result("print_failed", (command.key, "printer_offline"))
        try:
            data = self.ticket_data(command)
            self.printer.print_ticket(data)
        except PrinterError as exc:
            log.warning("printing %s: %s", command.ticket.get("number"), exc)
            return Result("print_failed", (command.key, exc.code))
        except Exception:  # never leave the citizen waiting on a printer bug
            log.exception("printing %s failed", command.ticket.get("number"))
            return Result("print_failed", (command.key, "printer_error"))
        return Result("printed", (command.key,))

    def ticket_data(self, command: PrintTicket) -> TicketData:
        ticket = command.ticket
        names = ticket.get("service_names") or {}
        try:
            issued = datetime.fromisoformat(str(ticket.get("issued_at")))
        except ValueError:
            issued = self.now()
        if issued.tzinfo is None:
            issued = issued.replace(tzinfo=UTC)
        position = ticket.get("position")
        return TicketData(
            office_name=self.office_name,
            number=str(ticket.get("number", "")),
            service_name=names.get(command.lang) or names.get("en") or str(ticket.get("service")),
            lang=command.lang,
            issued_at=issued.astimezone(self.zone),
            position=position if isinstance(position, int) and position >= 1 else None,
            estimated_wait_s=ticket.get("estimated_wait_s"),
            priority=ticket.get("priority") or command.priority,
            status_url=str(ticket.get("status_url", "")),
            footer=None,
        )

    def load_services(self) -> Result:
        try:
            items = self.client.services(self.office_id or None)
        except HubError as exc:
            return Result("services_failed", (exc.code,))
        return Result("services_loaded", (services_from_json(items, self.only_services),))

    def printer_status(self) -> str:
        if self.printer is None:
            return "offline"
        return self.printer.status().value
