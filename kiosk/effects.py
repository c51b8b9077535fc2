"""Carry out the flow's commands: hub requests and printing. Blocking; run off the UI thread.

Each `run_*` returns the flow method to call next and its arguments, as a `Result`, so the app
can hand it to the UI thread unchanged. No Kivy here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from office360 import qrtoken
from office360.client import HubClient, HubError
from printer import PrinterError, TicketData
from printer.escpos_backend import TicketPrinter

from .flow import CheckIn, IssueTicket, LoadServices, PrintTicket, services_from_json

if TYPE_CHECKING:
    from .offline.mode import OfflineMode

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
        offline: OfflineMode | None = None,
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
        self.print_problem: str | None = None
        """Why the last ticket did not print (None once one has): a printer that dropped the
        connection mid-ticket answers "ok" to the next status query, so the health report says it."""
        self.offline = offline  # issues from reserved numbers while the hub is unreachable

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
        if self.offline is not None and self.offline.hub_known_down():
            return self.issue_offline(command.key, command.service, command.priority, command.lang)
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
            if exc.code == "hub_unreachable" and self.offline is not None:
                self.offline.hub_unreachable()
                return self.issue_offline(
                    command.key, command.service, command.priority, command.lang
                )
            return Result("request_failed", (command.key, exc.code))
        return Result("ticket_received", (command.key, ticket))

    def issue_offline(
        self, key: str, service: str, priority: str | None, lang: str, code: str | None = None
    ) -> Result:
        """A number from the kiosk's reserved blocks, spooled for the hub (kiosk/offline)."""
        from .offline.mode import OFFLINE_REASON

        assert self.offline is not None
        channel = "appointment" if code else "walk_in"
        ticket = self.offline.issue(
            service, priority, lang, local_id=key, channel=channel, appointment_code=code
        )
        if ticket is None:  # no number left: the "temporarily unavailable" screen
            return Result("request_failed", (key, "hub_unreachable"))
        return Result("ticket_received", (key, ticket, OFFLINE_REASON))

    def check_in(self, command: CheckIn) -> Result:
        claims = None
        if self.keys:  # refuse forged or foreign codes here, even while the hub is away
            try:
                claims = qrtoken.verify(command.code, self.keys, self.now(), office=self.office_id)
            except qrtoken.TokenError as exc:
                return Result("request_failed", (command.key, exc.code, self.slot_day(command)))
        elif not command.code.startswith(qrtoken.SCHEME):
            return Result("request_failed", (command.key, qrtoken.QR_MALFORMED))
        # Offline, only a code verified here gets a number; the hub checks the appointment in
        # when the spool reaches it.
        offline = self.offline if claims is not None else None
        if offline is not None and claims is not None and offline.hub_known_down():
            return self.issue_offline(command.key, claims.service, None, command.lang, command.code)
        try:
            answer = self.client.checkin(command.code, command.lang, idempotency_key=command.key)
        except HubError as exc:
            log.info("check-in: %s", exc)
            if exc.code == "hub_unreachable" and offline is not None and claims is not None:
                offline.hub_unreachable()
                return self.issue_offline(
                    command.key, claims.service, None, command.lang, command.code
                )
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
            self.print_problem = exc.code
            return Result("print_failed", (command.key, exc.code))
        except Exception:  # never leave the citizen waiting on a printer bug
            log.exception("printing %s failed", command.ticket.get("number"))
            self.print_problem = "printer_error"
            return Result("print_failed", (command.key, "printer_error"))
        self.print_problem = None
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
            status_url=str(ticket.get("status_url") or ""),
            footer=_offline_note(command.lang) if ticket.get("offline") else None,
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


def _offline_note(lang: str) -> str:
    from .offline.mode import printed_note

    return printed_note(lang)
