"""Admin page for webhooks: subscriptions (add, delete) and the delivery log of every message."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request, Response

from .. import outbox as ob
from .. import webhooks as wh
from ..api.webhooks import _delivery, _public
from ..sessions import StaffSession
from .admin import _admin
from .auth_pages import read_form
from .common import form_csrf_ok, hub, office_of, render

router = APIRouter(include_in_schema=False)
LOG_ROWS = 100
EVENT_PATTERN = re.compile(r"^(\*|[a-z_]{1,20}\.(\*|[a-z_]{1,30}))$")  # as the API accepts


def _outbox(request: Request) -> ob.Outbox:
    return request.app.state.outbox  # type: ignore[no-any-return]


async def _page(
    request: Request, session: StaffSession, status: int = 200, **extra: Any
) -> Response:
    state = hub(request)

    def load() -> tuple[dict[str, int], list[dict[str, Any]]]:
        with state.service.transaction(write=False) as conn:
            rows = ob.deliveries(conn, None, None, None, None, LOG_ROWS)
            return ob.counts(conn), [_delivery(r) for r in rows]

    counts, log = await state.run(load)
    return render(
        request,
        "admin_notifications.html",
        status,
        session=session,
        office=office_of(request, session),
        hooks=[_public(s) for s in _outbox(request).subscriptions],
        counts=counts,
        log=log,
        section="notifications",
        **{"notice": None, "error": None, "new_secret": None, **extra},
    )


@router.get("/admin/notifications")
async def notifications_page(request: Request) -> Response:
    session = await _admin(request)
    if not isinstance(session, StaffSession):
        return session
    return await _page(request, session)


@router.post("/admin/notifications")
async def add_webhook(request: Request) -> Response:
    session = await _admin(request)
    if not isinstance(session, StaffSession):
        return session
    form = await read_form(request)
    if not form_csrf_ok(request, form.get("csrf"), session):
        return await _page(request, session, 403, error="csrf.failed")
    if session.role != "admin":
        return await _page(request, session, 403, error="err.forbidden")
    url = form.get("url", "").strip()[:2000]
    events = [e.strip() for e in form.get("events", "").split(",") if e.strip()] or list(
        wh.DEFAULT_EVENTS
    )
    if not url.startswith(("http://", "https://")) or any(
        not EVENT_PATTERN.match(e) for e in events
    ):
        return await _page(request, session, 422, error="admin.webhook_invalid")
    state = hub(request)
    svc = state.service
    secret = wh.new_secret()

    def work() -> list[wh.Subscription]:
        with svc.transaction() as conn:
            description = form.get("description", "").strip()[:200]
            wh.add_subscription(conn, url, secret, events, description, svc.clock())
            return wh.load_api_subscriptions(conn)

    _outbox(request).set_api_subscriptions(await state.run(work))
    return await _page(request, session, notice="admin.secret_once", new_secret=secret)


@router.post("/admin/notifications/delete")
async def delete_webhook(request: Request) -> Response:
    session = await _admin(request)
    if not isinstance(session, StaffSession):
        return session
    form = await read_form(request)
    if not form_csrf_ok(request, form.get("csrf"), session):
        return await _page(request, session, 403, error="csrf.failed")
    if session.role != "admin":
        return await _page(request, session, 403, error="err.forbidden")
    try:
        webhook_id = int(form.get("id", ""))
    except ValueError:
        return await _page(request, session, 422, error="admin.webhook_invalid")
    state = hub(request)
    svc = state.service

    def work() -> list[wh.Subscription] | None:
        with svc.transaction() as conn:
            if not wh.delete_subscription(conn, webhook_id):
                return None
            ob.fail_pending_for(conn, f"api:{webhook_id}", "the subscription was deleted")
            return wh.load_api_subscriptions(conn)

    subs = await state.run(work)
    if subs is None:
        return await _page(request, session, 404, error="admin.webhook_invalid")
    _outbox(request).set_api_subscriptions(subs)
    return await _page(request, session, notice="admin.deleted")
