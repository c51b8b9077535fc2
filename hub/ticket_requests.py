"""A plain ticket request of hub/fastpath.py, as the grouped paths (hub/pg_tickets.py,
hub/sqlite_tickets.py) take it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .auth import CAN_ISSUE, Principal

if TYPE_CHECKING:
    from .services import HubService, Outcome


@dataclass
class TicketRequest:
    principal: Principal
    idem_key: str | None
    request_hash: str
    fields: dict[str, Any]
    """hub/fastpath.py issue_fields(): service, channel, priority, lang, office."""


def is_plain(svc: HubService, request: TicketRequest) -> bool:
    """True when HubService.issue_ticket would take no other branch than the grouped paths code:
    no outbox hook, a role that issues, a known office and service, a known priority or none."""
    principal, fields = request.principal, request.fields
    if svc.notify is not None or principal.role not in CAN_ISSUE:
        return False
    office_id = fields["office"]
    if principal.office_id:
        if office_id and office_id != principal.office_id:
            return False
        office_id = principal.office_id
    office = svc.settings.office(office_id)
    if office is None or not any(s.id == fields["service"] for s in office.services):
        return False
    priority = fields["priority"]
    return priority is None or priority in svc.settings.queue.priority_categories


def issue_generic(svc: HubService, request: TicketRequest) -> Outcome:
    """The request through HubService.issue_ticket, the reference the grouped paths follow."""
    f, caller = request.fields, request.principal
    return svc.run_write(
        caller.scope,
        request.idem_key,
        request.request_hash,
        lambda conn, events: svc.issue_ticket(
            conn, events, caller, f["office"], f["service"], f["priority"], f["lang"], f["channel"]
        ),
    )
