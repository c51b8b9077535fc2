"""The live feed of one ticket for its phone status page, authorised by the status-link token.

It rides on the office's broker subscription and keeps only what concerns that ticket: its own
ticket.* events, and its position and estimate when its service's queue changes. Positions are
computed once per queue change and service, and shared by every phone that waits in it.
"""

from __future__ import annotations

import asyncio
import bisect
import json
from collections.abc import AsyncIterator
from typing import Any

from office360.core.errors import NotFound
from office360.core.policy import rank

from .. import repository as repo
from ..auth import check_status_token
from ..events import HEARTBEAT, Subscriber
from ..state import HubState

HEARTBEAT_S = 15.0
FINAL = frozenset({"done", "no_show", "cancelled", "transferred"})
Positions = dict[int, tuple[int, int | None]]


class PositionCache:
    """(office, service) -> the newest computed positions, keyed by the event that caused them."""

    def __init__(self) -> None:
        self._latest: dict[tuple[str, str], tuple[int, asyncio.Future[Positions]]] = {}

    async def get(
        self, state: HubState, office_id: str, service_id: str, event_id: int
    ) -> Positions:
        key = (office_id, service_id)
        cached = self._latest.get(key)
        if cached is None or cached[0] < event_id:
            task = asyncio.ensure_future(state.run(_positions, state, office_id, service_id))
            cached = (event_id, task)
            self._latest[key] = cached
        return await asyncio.shield(cached[1])


def _positions(state: HubState, office_id: str, service_id: str) -> Positions:
    svc = state.service
    office = svc.office(office_id)
    with svc.transaction() as conn:
        now = svc.clock()
        waiting = repo.waiting_in_service(conn, office_id, service_id)
        keyed = sorted((rank(t, now, svc.policy), t.id) for t in waiting)
        ranks = [k for k, _ in keyed]
        out: Positions = {}
        for key, ticket_id in keyed:
            ahead = bisect.bisect_left(ranks, key)
            out[ticket_id] = (ahead + 1, svc._estimate(conn, office, service_id, ahead))
        return out


def _frame(event_id: int, kind: str, data: dict[str, Any]) -> bytes:
    body = json.dumps({"type": kind, **data}, separators=(",", ":"), ensure_ascii=False)
    return f"id: {event_id}\nevent: {kind}\ndata: {body}\n\n".encode()


def _snapshot(state: HubState, ticket_id: int, token: str) -> tuple[int, dict[str, Any]]:
    svc = state.service
    ticket = svc.ticket(ticket_id, None, token)
    with svc.transaction() as conn:
        return repo.last_event_id(conn), ticket


async def open_ticket_stream(
    state: HubState, cache: PositionCache, ticket_id: int, token: str
) -> AsyncIterator[bytes]:
    """Check the token (NotFound otherwise, like the ticket itself) and return the frames."""
    if not check_status_token(state.service.secret, ticket_id, token):
        raise NotFound("unknown_ticket", f"no ticket {ticket_id}")
    office_id = (await state.run(state.service.ticket, ticket_id, None, token))["office"]
    sub = state.broker.subscribe(office_id)  # before the snapshot, so nothing falls in between
    try:
        last_id, ticket = await state.run(_snapshot, state, ticket_id, token)
    except BaseException:
        state.broker.unsubscribe(sub)
        raise
    return _frames(state, cache, sub, ticket, last_id)


async def _frames(
    state: HubState, cache: PositionCache, sub: Subscriber, ticket: dict[str, Any], last_id: int
) -> AsyncIterator[bytes]:
    ticket_id = ticket["id"]
    service = ticket["service"]
    status = ticket["status"]
    shown = (ticket["position"], ticket["estimated_wait_s"])
    try:
        yield b"retry: 2000\n\n"
        yield _frame(last_id, "ticket.state", {"ticket": ticket})
        while True:
            try:
                item = await asyncio.wait_for(sub.queue.get(), HEARTBEAT_S)
            except TimeoutError:
                yield HEARTBEAT
                continue
            if item is None:
                return
            event_id, raw = item
            if event_id <= last_id:
                continue
            event = json.loads(raw.split(b"\ndata: ", 1)[1])
            kind = event["type"]
            if kind.startswith("ticket.") and event["ticket"]["id"] == ticket_id:
                status = event["ticket"]["status"]
                data: dict[str, Any] = {"at": event["at"], "ticket": event["ticket"]}
                if kind == "ticket.transferred":
                    new = event["to"]
                    data["to"] = {**new, "status_url": state.service.status_url(new["id"])}
                yield _frame(event_id, kind, data)
            elif (
                kind == "queue.changed"
                and status == "waiting"
                and any(s["service"] == service for s in event["services"])
            ):
                positions = await cache.get(state, event["office"], service, event_id)
                now_shown = positions.get(ticket_id)
                if now_shown is not None and now_shown != shown:
                    shown = now_shown
                    yield _frame(
                        event_id,
                        "ticket.position",
                        {"position": now_shown[0], "estimated_wait_s": now_shown[1]},
                    )
    finally:
        state.broker.unsubscribe(sub)
