"""Webhook subscriptions and the delivery log (admin tokens only)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from office360.core.errors import DomainError, NotFound

from .. import outbox as ob
from .. import webhooks as wh
from ..auth import Principal
from .deps import Caller, State
from .models import ERRORS, Strict

router = APIRouter(prefix="/api/v1", tags=["notifications"], responses=ERRORS)

EventPattern = Annotated[
    str, Field(min_length=1, max_length=40, pattern=r"^(\*|[a-z_]{1,20}\.(\*|[a-z_]{1,30}))$")
]


class NewWebhook(Strict):
    url: str = Field(min_length=10, max_length=2000, pattern=r"^https?://[^\s/]+\S*$")
    events: list[EventPattern] = Field(
        default_factory=lambda: list(wh.DEFAULT_EVENTS), min_length=1, max_length=50
    )
    secret: str | None = Field(
        None, min_length=16, max_length=200, description="empty: the hub makes one"
    )
    description: str = Field("", max_length=200)


class Webhook(BaseModel):
    key: str
    id: int | None = Field(description="null for subscriptions from the configuration file")
    source: Literal["config", "api"]
    url: str
    events: list[str]
    description: str
    created_at: str | None
    secret_hint: str = Field(description="the secret's last 4 characters")


class CreatedWebhook(Webhook):
    secret: str = Field(description="shown only in this answer: store it in the receiver")


class Delivery(BaseModel):
    id: int
    kind: str
    webhook: str | None
    event_type: str | None
    destination: str = Field(description="masked for phone numbers and e-mail addresses")
    status: str
    attempts: int
    last_error: str | None
    last_status: int | None
    created_at: str
    next_attempt_at: str
    sent_at: str | None


class DeliveryLog(BaseModel):
    counts: dict[str, int]
    deliveries: list[Delivery]


def _admin(caller: Principal) -> None:
    if caller.role != "admin":
        raise DomainError("forbidden", "only an admin token manages webhooks")


def _public(sub: wh.Subscription) -> dict[str, Any]:
    return {
        "key": sub.key,
        "id": int(sub.key.split(":")[1]) if sub.source == "api" else None,
        "source": sub.source,
        "url": sub.url,
        "events": list(sub.events),
        "description": sub.description,
        "created_at": sub.created_at.isoformat() if sub.created_at else None,
        "secret_hint": "…" + sub.secret[-4:] if sub.secret else "",
    }


def _outbox(request: Request) -> ob.Outbox:
    return request.app.state.outbox  # type: ignore[no-any-return]


@router.get("/webhooks", response_model=list[Webhook])
async def list_webhooks(request: Request, caller: Caller) -> list[dict[str, Any]]:
    _admin(caller)
    return [_public(s) for s in _outbox(request).subscriptions]


@router.post("/webhooks", status_code=201, response_model=CreatedWebhook)
async def add_webhook(
    body: NewWebhook, request: Request, state: State, caller: Caller
) -> dict[str, Any]:
    _admin(caller)
    outbox = _outbox(request)
    svc = state.service
    secret = body.secret or wh.new_secret()

    def work() -> list[wh.Subscription]:
        with svc.transaction() as conn:
            wh.add_subscription(conn, body.url, secret, body.events, body.description, svc.clock())
            return wh.load_api_subscriptions(conn)

    subs = await state.run(work)
    outbox.set_api_subscriptions(subs)
    return {**_public(subs[-1]), "secret": secret}


@router.delete("/webhooks/{webhook_id}", status_code=204, response_class=Response)
async def delete_webhook(
    webhook_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    request: Request,
    state: State,
    caller: Caller,
) -> Response:
    _admin(caller)
    svc = state.service

    def work() -> list[wh.Subscription] | None:
        with svc.transaction() as conn:
            if not wh.delete_subscription(conn, webhook_id):
                return None
            ob.fail_pending_for(conn, f"api:{webhook_id}", "the subscription was deleted")
            return wh.load_api_subscriptions(conn)

    subs = await state.run(work)
    if subs is None:
        raise NotFound("unknown_webhook", f"no webhook {webhook_id} (file ones cannot be deleted)")
    _outbox(request).set_api_subscriptions(subs)
    return Response(status_code=204)


@router.get("/webhooks/deliveries", response_model=DeliveryLog)
async def deliveries(
    state: State,
    caller: Caller,
    kind: Literal["webhook", "sms", "email"] | None = None,
    status: Literal["pending", "sending", "sent", "failed", "cancelled"] | None = None,
    webhook: Annotated[str | None, Query(max_length=80)] = None,
    before: Annotated[int | None, Query(ge=1, le=2**53)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Newest first; page with `before` = the last id seen."""
    _admin(caller)
    svc = state.service

    def read() -> dict[str, Any]:
        with svc.transaction(write=False) as conn:
            rows = ob.deliveries(conn, kind, status, webhook, before, limit)
            counts = ob.counts(conn)
        return {"counts": counts, "deliveries": [_delivery(r) for r in rows]}

    return await state.run(read)


def _delivery(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "kind": r.kind,
        "webhook": r.target if r.kind == ob.WEBHOOK else None,
        "event_type": r.event_type,
        "destination": ob.mask_destination(r.kind, r.destination),
        "status": r.status,
        "attempts": r.attempts,
        "last_error": r.last_error,
        "last_status": r.last_status,
        "created_at": r.created_at.isoformat(),
        "next_attempt_at": r.next_attempt_at.isoformat(),
        "sent_at": r.sent_at.isoformat() if r.sent_at else None,
    }
