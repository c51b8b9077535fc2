"""What the grouped ticket paths (hub/pg_tickets.py, hub/sqlite_tickets.py) are compared with: the
same requests through HubService.issue_ticket one at a time."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from hub.auth import Principal
from hub.services import HubService, Outcome
from hub.ticket_requests import TicketRequest, issue_generic
from office360.core.errors import DomainError

KIOSK = Principal(7, "kiosk", "kiosk", "centro", None)
OTHER_KIOSK = Principal(8, "kiosk 2", "kiosk", "centro", None)
DISPLAY = Principal(9, "display", "display", "centro", None)
ADMIN_DESK = Principal(11, "admin", "admin", None, None)


def ticket_request(
    service: str = "general",
    key: str | None = None,
    priority: str | None = None,
    principal: Principal = KIOSK,
    request_hash: str = "h",
    lang: str | None = "es",
) -> TicketRequest:
    fields = {"service": service, "channel": "walk_in", "priority": priority, "lang": lang}
    return TicketRequest(principal, key, request_hash, fields | {"office": None})


def generic_issue(svc: HubService, r: TicketRequest) -> Outcome | Exception:
    try:
        return issue_generic(svc, r)
    except DomainError as exc:
        return exc


def answer_of(result: Outcome | Exception) -> Any:
    if isinstance(result, DomainError):
        return ("error", result.code)
    assert isinstance(result, Outcome)
    return (result.status, result.body, result.events, result.replayed)


def stored_rows(svc: HubService) -> dict[str, list[Any]]:
    queries = {
        "tickets": "SELECT * FROM tickets ORDER BY id",
        "events": "SELECT id, office_id, type, at, payload FROM events ORDER BY id",
        "counters": "SELECT * FROM counters ORDER BY office_id, prefix, day",
        "idempotency": "SELECT * FROM idempotency ORDER BY scope, key",
        "waiting": "SELECT * FROM waiting_counts ORDER BY office_id, service_id",
    }
    with svc.engine.connect() as conn:
        return {name: [tuple(r) for r in conn.execute(text(q))] for name, q in queries.items()}


OFFLINE_RANGE_CASES = [  # [queue] offline_numbers_from = 800; the offline blocks end at 999
    (797, ["A798", "A799", "A1000", "A1001", "A1002"]),
    (799, ["A1000", "A1001", "A1002", "A1003", "A1004"]),
    (850, ["A1000", "A1001", "A1002", "A1003", "A1004"]),
    (998, ["A1000", "A1001", "A1002", "A1003", "A1004"]),
    (999, ["A1000", "A1001", "A1002", "A1003", "A1004"]),
    (1200, ["A1201", "A1202", "A1203", "A1204", "A1205"]),
]
"""The counter's last number, and the numbers five tickets are then given."""


def set_counter(svc: HubService, last: int) -> None:
    with svc.transaction() as conn:
        day = svc.clock().date().isoformat()
        conn.execute(
            text("INSERT INTO counters VALUES ('centro', 'A', :d, :last)"), {"d": day, "last": last}
        )
