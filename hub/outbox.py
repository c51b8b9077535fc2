"""The outbox: messages written in the same transaction as the event that causes them.

`Outbox.enqueue_for_event` is the hook `HubService._emit` calls for every event, inside the
event's transaction. It is installed only while something listens (a webhook, SMS or e-mail is
configured): with nothing configured `HubService.notify` is None and events cost nothing more.
hub/outbox_worker.py claims the due rows, sends them and marks them. All the outbox's SQL is here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Row, and_, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from office360.config import Settings
from office360.core import events as ev

from . import appointments_repo as arepo
from . import repository as repo
from . import tables as t
from .notify_sms import called_text, mask_phone, near_text
from .webhooks import Subscription, from_config

if TYPE_CHECKING:
    from .services import HubService

log = logging.getLogger("office360.outbox")

WEBHOOK, SMS, EMAIL = "webhook", "sms", "email"
PENDING, SENDING, SENT, FAILED, CANCELLED = "pending", "sending", "sent", "failed", "cancelled"
DONE = (SENT, FAILED, CANCELLED)

APPOINTMENT_BOOKED = "appointment.booked"
APPOINTMENT_RESCHEDULED = "appointment.rescheduled"
APPOINTMENT_CANCELLED = "appointment.cancelled"
APPOINTMENT_CHECKED_IN = "appointment.checked_in"
TICKET_DONE = (ev.TICKET_FINISHED, ev.TICKET_NO_SHOW, ev.TICKET_CANCELLED)
ACTIVE_TICKET = ("waiting", "called", "recalled", "serving")

_o = t.outbox.c
_k = t.ticket_contacts.c


def mask_email(address: str) -> str:
    """ "maria.lopez@example.org" -> "m•••@e•••.org"."""
    local, _, domain = address.rpartition("@")
    if not local:
        return "•••"
    host, _, tld = domain.rpartition(".")
    return f"{local[0]}•••@{(host or domain)[:1]}•••" + (f".{tld}" if host else "")


def mask_destination(kind: str, destination: str) -> str:
    if "•" in destination:
        return destination  # masked already (a finished row)
    if kind == SMS:
        return mask_phone(destination)
    if kind == EMAIL:
        return mask_email(destination)
    return destination  # a webhook's URL is configuration, not personal data


class Outbox:
    """What the hub sends, decided per event. One per hub process (app.state.outbox)."""

    def __init__(self, service: HubService, settings: Settings) -> None:
        n = settings.notifications
        self.svc = service
        self.config = n
        self.sms = n.sms if n.sms.enabled and n.sms.url else None
        self.email = n.email if n.email.enabled else None
        self.file_subscriptions = from_config(n.webhooks)
        self.api_subscriptions: list[Subscription] = []
        self._by_type: dict[str, tuple[Subscription, ...]] = {}
        self._insert = _insert_ignoring_duplicates(service.engine.dialect.name)
        self.wake: Callable[[], None] = lambda: None
        """Set by the worker: tells it new rows may be due."""

    # --- which subscriptions exist --------------------------------------------------------------

    @property
    def subscriptions(self) -> list[Subscription]:
        return self.file_subscriptions + self.api_subscriptions

    def subscription(self, key: str) -> Subscription | None:
        return next((s for s in self.subscriptions if s.key == key), None)

    def set_api_subscriptions(self, subs: list[Subscription]) -> None:
        self.api_subscriptions = subs
        self._by_type = {}
        self.attach()

    def active(self) -> bool:
        return bool(self.sms or self.email or self.subscriptions)

    def attach(self) -> None:
        """Install the hook in HubService._emit only while something listens."""
        self.svc.notify = self.enqueue_for_event if self.active() else None

    # --- the hook -----------------------------------------------------------------------------

    def enqueue_for_event(self, conn: Connection, event: dict[str, Any]) -> None:
        kind = event["type"]
        subs = self._by_type.get(kind)
        if subs is None:
            subs = self._by_type[kind] = tuple(s for s in self.subscriptions if s.wants(kind))
        now = self.svc.clock()
        rows: list[dict[str, Any]] = []
        if subs:
            body = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
            for sub in subs:
                rows.append(
                    _row(
                        WEBHOOK,
                        f"webhook:{sub.key}:{event['id']}",
                        sub.url,
                        body,
                        now,
                        target=sub.key,
                        office_id=event["office"],
                        event_type=kind,
                    )
                )
        if self.sms is not None:
            self._sms_for_event(conn, event, kind, now, rows)
        if self.email is not None and kind.startswith("appointment."):
            self._email_for_event(conn, event, kind, now, rows)
        if rows:
            conn.execute(self._insert, rows)
            self.wake()

    # --- SMS ----------------------------------------------------------------------------------

    def _sms_for_event(
        self,
        conn: Connection,
        event: dict[str, Any],
        kind: str,
        now: datetime,
        rows: list[dict[str, Any]],
    ) -> None:
        if kind == ev.QUEUE_CHANGED:
            services = [s["service"] for s in event.get("services", ())]
            self.near_messages(conn, event["office"], services, now, rows)
        elif kind in (ev.TICKET_CALLED, ev.TICKET_RECALLED):
            ticket = event["ticket"]
            contact = get_contact(conn, ticket["id"])
            if contact is not None:
                office = self.svc.offices[event["office"]]
                text = called_text(
                    contact.lang,
                    office.name,
                    ticket["number"],
                    ticket.get("desk_name") or ticket.get("desk") or "",
                )
                key = f"sms:called:{ticket['id']}:{ticket.get('recalls', 0)}"
                rows.append(_sms_row(key, contact.phone, text, now, event, "called"))
        elif kind in TICKET_DONE:
            delete_contact(conn, event["ticket"]["id"])
        elif kind == ev.TICKET_TRANSFERRED:
            # The citizen keeps their number in the new queue; so does their opt-in.
            conn.execute(
                update(t.ticket_contacts)
                .where(_k.ticket_id == event["ticket"]["id"])
                .values(ticket_id=event["to"]["id"], near_sent_at=None)
            )
        elif kind == APPOINTMENT_CHECKED_IN and event.get("ticket_id"):
            appointment = arepo.get_appointment(conn, event["appointment"]["id"])
            if appointment is not None and appointment.phone:
                from .notify_sms import normalize_phone

                try:
                    phone = normalize_phone(appointment.phone)
                except Exception:  # booked with a number the gateway could not use
                    return
                put_contact(conn, event["ticket_id"], phone, appointment.lang, now)
                service = event["appointment"]["service"]
                self.near_messages(conn, event["office"], [service], now, rows)

    def near_messages(
        self,
        conn: Connection,
        office_id: str,
        service_ids: list[str],
        now: datetime,
        rows: list[dict[str, Any]],
    ) -> None:
        """ "Your turn is near" for opted-in waiting tickets of these services not told yet."""
        assert self.sms is not None
        if not service_ids or (not self.sms.near_position and not self.sms.near_wait_minutes):
            return
        c = t.tickets.c
        found = conn.execute(
            select(_k.ticket_id, _k.phone, _k.lang, c.service_id, c.number)
            .join(t.tickets, c.id == _k.ticket_id)
            .where(
                _k.near_sent_at.is_(None),
                c.office_id == office_id,
                c.status == "waiting",
                c.service_id.in_(service_ids),
            )
        ).all()
        if not found:
            return
        from .services import _position

        office = self.svc.offices[office_id]
        waiting_by_service: dict[str, Any] = {}
        for contact in found:
            waiting = waiting_by_service.get(contact.service_id)
            if waiting is None:
                waiting = repo.waiting_in_service(conn, office_id, contact.service_id)
                waiting_by_service[contact.service_id] = waiting
            me = next((q for q in waiting if q.id == contact.ticket_id), None)
            if me is None:
                continue
            place = _position(me, waiting, now, self.svc.policy)
            wait_s = self.svc._estimate(conn, office, contact.service_id, place - 1)
            by_place = bool(self.sms.near_position) and place <= self.sms.near_position
            by_wait = (
                bool(self.sms.near_wait_minutes)
                and wait_s is not None
                and wait_s <= self.sms.near_wait_minutes * 60
            )
            if not (by_place or by_wait):
                continue
            text = near_text(contact.lang, office.name, contact.number, place - 1, wait_s)
            key = f"sms:near:{contact.ticket_id}"
            event = {"office": office_id, "type": "ticket.near"}
            rows.append(_sms_row(key, contact.phone, text, now, event, "near"))
            conn.execute(
                update(t.ticket_contacts)
                .where(_k.ticket_id == contact.ticket_id)
                .values(near_sent_at=now)
            )

    # --- e-mail -------------------------------------------------------------------------------

    def _email_for_event(
        self,
        conn: Connection,
        event: dict[str, Any],
        kind: str,
        now: datetime,
        rows: list[dict[str, Any]],
    ) -> None:
        assert self.email is not None
        appointment_id = event["appointment"]["id"]
        if kind in (APPOINTMENT_RESCHEDULED, APPOINTMENT_CANCELLED, APPOINTMENT_CHECKED_IN):
            cancel_pending(conn, f"email:reminder:{appointment_id}:")
        if kind == APPOINTMENT_CHECKED_IN:
            return
        row = arepo.get_appointment(conn, appointment_id)
        if row is None or not row.email:
            return
        template = {
            APPOINTMENT_BOOKED: "confirmation",
            APPOINTMENT_RESCHEDULED: "rescheduled",
            APPOINTMENT_CANCELLED: "cancelled",
        }.get(kind)
        if template is None:
            return
        rows.append(_email_row(template, row, now, now, event))
        remind_at = row.slot_at - timedelta(hours=self.email.reminder_hours_before)
        if template != "cancelled" and self.email.reminder_hours_before and remind_at > now:
            rows.append(_email_row("reminder", row, remind_at, now, event))


# --- rows ----------------------------------------------------------------------------------------


def _row(
    kind: str,
    dedupe_key: str,
    destination: str,
    payload: str,
    due: datetime,
    *,
    target: str | None,
    office_id: str | None,
    event_type: str | None,
    created_at: datetime | None = None,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "dedupe_key": dedupe_key,
        "target": target,
        "office_id": office_id,
        "event_type": event_type,
        "destination": destination,
        "payload": payload,
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": due,
        "created_at": created_at or due,
    }


def _sms_row(
    key: str, phone: str, text: str, now: datetime, event: dict[str, Any], what: str
) -> dict[str, Any]:
    payload = json.dumps({"text": text}, ensure_ascii=False)
    return _row(
        SMS,
        key,
        phone,
        payload,
        now,
        target=what,
        office_id=event["office"],
        event_type=event["type"],
    )


def _email_row(
    template: str, appointment: Row[Any], due: datetime, now: datetime, event: dict[str, Any]
) -> dict[str, Any]:
    payload = json.dumps(
        {"template": template, "appointment_id": appointment.id, "sequence": appointment.sequence}
    )
    key = f"email:{template}:{appointment.id}:{appointment.sequence}"
    return _row(
        EMAIL,
        key,
        appointment.email,
        payload,
        due,
        target=template,
        office_id=appointment.office_id,
        event_type=event["type"],
        created_at=now,
    )


def _insert_ignoring_duplicates(dialect: str) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING: the same message enqueued twice is stored once."""
    if dialect == "postgresql":
        return postgresql.insert(t.outbox).on_conflict_do_nothing(index_elements=["dedupe_key"])
    return sqlite.insert(t.outbox).on_conflict_do_nothing(index_elements=["dedupe_key"])


def enqueue(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(_insert_ignoring_duplicates(conn.dialect.name), rows)


# --- contacts ----------------------------------------------------------------------------------


def get_contact(conn: Connection, ticket_id: int) -> Row[Any] | None:
    return conn.execute(select(t.ticket_contacts).where(_k.ticket_id == ticket_id)).first()


def put_contact(conn: Connection, ticket_id: int, phone: str, lang: str, now: datetime) -> None:
    delete_contact(conn, ticket_id)
    conn.execute(
        t.ticket_contacts.insert().values(
            ticket_id=ticket_id, phone=phone, lang=lang, created_at=now, near_sent_at=None
        )
    )


def delete_contact(conn: Connection, ticket_id: int) -> bool:
    return conn.execute(delete(t.ticket_contacts).where(_k.ticket_id == ticket_id)).rowcount > 0


def purge_contacts(conn: Connection, older_than: datetime) -> int:
    """Opt-ins of tickets that are done, or older than the limit, whatever their state."""
    c = t.tickets.c
    active = select(c.id).where(c.status.in_(ACTIVE_TICKET))
    stmt = delete(t.ticket_contacts).where(
        or_(_k.created_at < older_than, _k.ticket_id.not_in(active))
    )
    return conn.execute(stmt).rowcount or 0


# --- the worker's SQL --------------------------------------------------------------------------


def _due(now: datetime) -> Any:
    return or_(
        and_(_o.status == PENDING, _o.next_attempt_at <= now),
        and_(_o.status == SENDING, _o.claimed_until < now),
    )


def claim(conn: Connection, now: datetime, lease: timedelta, limit: int) -> list[Row[Any]]:
    """Mark up to `limit` due rows as being sent by this process, and return them.

    One statement: on PostgreSQL the inner SELECT skips rows another replica has locked, and the
    outer WHERE re-checks the state, so two replicas never claim the same row."""
    inner = select(_o.id).where(_due(now)).order_by(_o.next_attempt_at, _o.id).limit(limit)
    if conn.dialect.name == "postgresql":
        inner = inner.with_for_update(skip_locked=True)
    stmt = (
        update(t.outbox)
        .where(_o.id.in_(inner.scalar_subquery()), _due(now))
        .values(status=SENDING, claimed_until=now + lease, attempts=_o.attempts + 1)
        .returning(*t.outbox.c)
    )
    return sorted(conn.execute(stmt).all(), key=lambda r: r.id)


def finish(
    conn: Connection,
    row: Row[Any],
    status: str,
    now: datetime,
    *,
    error: str | None = None,
    http_status: int | None = None,
    retry_at: datetime | None = None,
) -> None:
    """Record one attempt's result: sent, failed, cancelled, or pending again at `retry_at`."""
    values: dict[str, Any] = {
        "status": status,
        "claimed_until": None,
        "last_error": error[:500] if error else None,
        "last_status": http_status,
    }
    if status == SENT:
        values["sent_at"] = now
    if status in DONE:
        # The address is no longer needed: keep only what the delivery log shows.
        values["destination"] = mask_destination(row.kind, row.destination)
    if status == PENDING:
        assert retry_at is not None
        values["next_attempt_at"] = retry_at
    conn.execute(update(t.outbox).where(_o.id == row.id, _o.status == SENDING).values(**values))


def release_claims(conn: Connection) -> int:
    """After a restart of the only hub process (SQLite): rows it was sending are due again."""
    stmt = update(t.outbox).where(_o.status == SENDING).values(status=PENDING, claimed_until=None)
    return conn.execute(stmt).rowcount or 0


def cancel_pending(conn: Connection, key_prefix: str) -> int:
    stmt = (
        update(t.outbox)
        .where(_o.status == PENDING, _o.dedupe_key.startswith(key_prefix, autoescape=True))
        .values(status=CANCELLED, last_error="superseded")
    )
    return conn.execute(stmt).rowcount or 0


def fail_pending_for(conn: Connection, target: str, reason: str) -> int:
    stmt = (
        update(t.outbox)
        .where(_o.status.in_((PENDING, SENDING)), _o.target == target, _o.kind == WEBHOOK)
        .values(status=FAILED, last_error=reason)
    )
    return conn.execute(stmt).rowcount or 0


def purge(conn: Connection, before: datetime) -> int:
    stmt = delete(t.outbox).where(_o.status.in_(DONE), _o.created_at < before)
    return conn.execute(stmt).rowcount or 0


def deliveries(
    conn: Connection,
    kind: str | None,
    status: str | None,
    target: str | None,
    before_id: int | None,
    limit: int,
) -> list[Row[Any]]:
    q = select(t.outbox)
    if kind:
        q = q.where(_o.kind == kind)
    if status:
        q = q.where(_o.status == status)
    if target:
        q = q.where(_o.target == target)
    if before_id:
        q = q.where(_o.id < before_id)
    return list(conn.execute(q.order_by(_o.id.desc()).limit(limit)))


def counts(conn: Connection) -> dict[str, int]:
    rows = conn.execute(select(_o.status, func.count()).group_by(_o.status))
    return {r[0]: int(r[1]) for r in rows}
