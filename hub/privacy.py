"""Erase personal data after [privacy] personal_data_days; keep what the KPIs count.

Erased: the name, e-mail and phone of appointments whose slot is older than that (the name
column cannot be NULL, so it becomes ""), SMS numbers left on tickets (`ticket_contacts`, when
that table exists), and the text of feedback comments. Kept: tickets (they hold no personal data),
times, statuses and ratings, so a KPI report of a past period gives the same figures before and
after. Run from the hub's hourly purge, at most once a day (`purge_daily`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, or_, update

from . import tables as t


@dataclass(frozen=True)
class Purged:
    appointments: int
    contacts: int
    comments: int


def purge_personal_data(conn: Connection, now: datetime, days: int) -> Purged:
    cutoff = now - timedelta(days=days)
    comments = conn.execute(
        update(t.feedback)
        .where(t.feedback.c.created_at < cutoff, t.feedback.c.comment.is_not(None))
        .values(comment=None)
    ).rowcount
    appointments = 0
    table = getattr(t, "appointments", None)
    if table is not None:
        a = table.c
        appointments = conn.execute(
            update(table)
            .where(
                a.slot_at < cutoff, or_(a.name != "", a.email.is_not(None), a.phone.is_not(None))
            )
            .values(name="", email=None, phone=None)
        ).rowcount
    contacts = 0
    table = getattr(t, "ticket_contacts", None)
    if table is not None:
        contacts = conn.execute(delete(table).where(table.c.created_at < cutoff)).rowcount
    return Purged(appointments or 0, contacts or 0, comments or 0)


def purge_daily(conn: Connection, holder: Any, now: datetime, days: int) -> Purged | None:
    """`purge_personal_data` once per calendar day (UTC); `holder` (the hub's state) remembers
    the day of the last run. None when it already ran today."""
    today: date = now.date()
    if getattr(holder, "privacy_purged_on", None) == today:
        return None
    purged = purge_personal_data(conn, now, days)
    holder.privacy_purged_on = today
    return purged
