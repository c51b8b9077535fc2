"""Citizen feedback after service: a 1-5 rating and an optional comment, once per finished ticket.

A citizen gives it from the phone status page (authorised by the ticket's status token) or at a
kiosk (a kiosk token). The comment is stored without e-mail addresses, phone numbers or ID
numbers (`office360.core.redact`), and erased after [privacy] personal_data_days (hub/privacy.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from office360.core.errors import Conflict, DomainError, Invalid, NotFound
from office360.core.redact import strip_contact_details

from . import repository as repo
from . import tables as t
from .auth import Principal, check_status_token
from .services import HubService

RATINGS = range(1, 6)


def give_feedback(
    svc: HubService,
    ticket_id: int,
    principal: Principal | None,
    token: str | None,
    rating: int,
    comment: str | None,
) -> dict[str, Any]:
    if rating not in RATINGS:
        raise Invalid("rating_invalid", "the rating is a whole number from 1 to 5")
    text = strip_contact_details(comment) if comment else ""
    try:
        with svc.transaction() as conn:
            return _store(svc, conn, ticket_id, principal, token, rating, text or None)
    except IntegrityError:  # two devices at once: the primary key lets only one through
        raise _given() from None


def _store(
    svc: HubService,
    conn: Connection,
    ticket_id: int,
    principal: Principal | None,
    token: str | None,
    rating: int,
    comment: str | None,
) -> dict[str, Any]:
    row = repo.get_ticket(conn, ticket_id)
    unknown = NotFound("unknown_ticket", f"no ticket {ticket_id}")
    if row is None:
        raise unknown
    if principal is not None and principal.role != "kiosk":
        # staff, display, manager and admin tokens are refused even with a valid status token
        raise DomainError("forbidden", "feedback comes from the citizen: a status link or kiosk")
    if token and check_status_token(svc.secret, ticket_id, token):
        channel = "phone"
    elif principal is not None:  # a kiosk
        if principal.office_id and principal.office_id != row.office_id:
            raise unknown  # as for an unknown id: other offices' ids cannot be probed
        channel = "kiosk"
    else:
        raise unknown  # a wrong token answers as an unknown ticket, so ids cannot be probed
    if row.status != "done":
        raise Conflict("ticket_not_done", "feedback can be given once the ticket is done")
    if conn.execute(
        select(t.feedback.c.ticket_id).where(t.feedback.c.ticket_id == ticket_id)
    ).first():
        raise _given()
    now: datetime = svc.clock()
    conn.execute(
        insert(t.feedback).values(
            ticket_id=ticket_id,
            office_id=row.office_id,
            service_id=row.service_id,
            desk_id=row.desk_id,
            rating=rating,
            comment=comment,
            channel=channel,
            created_at=now,
        )
    )
    return {
        "ticket": ticket_id,
        "rating": rating,
        "comment": comment,
        "channel": channel,
        "created_at": now.isoformat(),
    }


def _given() -> Conflict:
    return Conflict("feedback_given", "feedback for this ticket was already given")
