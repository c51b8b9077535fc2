"""A citizen's opt-in to SMS about their ticket: given on the kiosk, the phone page or at booking.

Authorised by the ticket's status-link token (``?t=``) or a kiosk/staff token of its office.
Nothing is sent to a ticket without one; the number is deleted when the ticket is done.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from office360.core.errors import Conflict, DomainError, NotFound

from .. import outbox as ob
from .. import repository as repo
from ..auth import CAN_ISSUE, Principal, check_status_token
from ..notify_sms import mask_phone, normalize_phone
from .deps import MaybeCaller, State
from .models import ERRORS, Strict

router = APIRouter(prefix="/api/v1", tags=["notifications"], responses=ERRORS)

TicketId = Annotated[int, Path(ge=1, le=2**53)]
StatusToken = Annotated[str | None, Query(alias="t", max_length=64, description="status token")]


class NewContact(Strict):
    phone: str = Field(min_length=6, max_length=32, examples=["+34 612 345 456"])
    lang: str | None = Field(None, max_length=8, description="default: the ticket's language")


class Contact(BaseModel):
    ticket: int
    phone: str = Field(description="masked")
    near_position: int
    near_wait_minutes: float


def _ticket_for(
    conn: Any, svc: Any, ticket_id: int, caller: Principal | None, token: str | None
) -> Any:
    row = repo.get_ticket(conn, ticket_id)
    unknown = NotFound("unknown_ticket", f"no ticket {ticket_id}")
    if row is None:
        raise unknown
    if caller is None:
        if not token or not check_status_token(svc.secret, ticket_id, token):
            raise unknown  # the same answer as an unknown id: ids cannot be probed
    elif caller.role not in CAN_ISSUE:
        raise DomainError("forbidden", f"a {caller.role} token cannot register contacts")
    elif caller.office_id and caller.office_id != row.office_id:
        raise unknown
    return row


@router.post("/tickets/{ticket_id}/contact", status_code=201, response_model=Contact)
async def add_contact(
    ticket_id: TicketId,
    body: NewContact,
    request: Request,
    state: State,
    caller: MaybeCaller,
    t: StatusToken = None,
) -> dict[str, Any]:
    outbox: ob.Outbox = request.app.state.outbox
    sms = outbox.sms
    if sms is None:
        raise Conflict("sms_unavailable", "this office sends no SMS")
    phone = normalize_phone(body.phone)
    svc = state.service

    def work() -> None:
        with svc.transaction() as conn:
            row = _ticket_for(conn, svc, ticket_id, caller, t)
            if row.status != "waiting":
                raise Conflict("ticket_not_waiting", "SMS can be asked for while waiting only")
            lang = body.lang if body.lang in ("es", "en") else row.lang
            now = svc.clock()
            ob.put_contact(conn, ticket_id, phone, lang, now)
            # Already near the front: say so now rather than at the next change.
            rows: list[dict[str, Any]] = []
            outbox.near_messages(conn, row.office_id, [row.service_id], now, rows)
            ob.enqueue(conn, rows)
        if rows:
            outbox.wake()

    await state.run(work)
    return {
        "ticket": ticket_id,
        "phone": mask_phone(phone),
        "near_position": sms.near_position,
        "near_wait_minutes": sms.near_wait_minutes,
    }


@router.delete("/tickets/{ticket_id}/contact", status_code=204, response_class=Response)
async def remove_contact(
    ticket_id: TicketId, state: State, caller: MaybeCaller, t: StatusToken = None
) -> Response:
    svc = state.service

    def work() -> None:
        with svc.transaction() as conn:
            _ticket_for(conn, svc, ticket_id, caller, t)
            ob.delete_contact(conn, ticket_id)

    await state.run(work)
    return Response(status_code=204)
