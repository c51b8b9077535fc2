"""All SQL of the appointments part. Functions take a connection inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from . import tables as t

_a = t.appointments.c
_s = t.appointment_slots.c
_GET = select(t.appointments).where(_a.id == bindparam("id"))
_TAKE = (
    update(t.appointment_slots)
    .where(
        _s.office_id == bindparam("o"),
        _s.service_id == bindparam("svc"),
        _s.slot_at == bindparam("at"),
        _s.booked < bindparam("cap"),
    )
    .values(booked=_s.booked + 1)
)
_CHECK_IN = (
    update(t.appointments)
    .where(_a.id == bindparam("aid"), _a.status == "booked")
    .values(status="checked_in", checked_in_at=bindparam("now"), updated_at=bindparam("now"))
)


def insert_appointment(conn: Connection, **values: Any) -> None:
    conn.execute(insert(t.appointments), values)


def get_appointment(conn: Connection, appointment_id: int) -> Row[Any] | None:
    return conn.execute(_GET, {"id": appointment_id}).first()


def update_appointment(conn: Connection, appointment_id: int, **values: Any) -> None:
    conn.execute(update(t.appointments).where(_a.id == appointment_id).values(**values))


def mark_checked_in(conn: Connection, appointment_id: int, now: datetime) -> bool:
    """booked -> checked_in; False if another check-in got there first (or it is not booked)."""
    return conn.execute(_CHECK_IN, {"aid": appointment_id, "now": now}).rowcount == 1


def _ensure_slot_row(conn: Connection, office_id: str, service_id: str, slot_at: datetime) -> None:
    values = {"office_id": office_id, "service_id": service_id, "slot_at": slot_at, "booked": 0}
    dialect = conn.dialect.name
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(t.appointment_slots).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite.insert(t.appointment_slots).on_conflict_do_nothing()
    else:  # pragma: no cover - the hub runs on SQLite or PostgreSQL
        raise RuntimeError(f"unsupported database {dialect}")
    conn.execute(stmt, values)


def take_place(
    conn: Connection, office_id: str, service_id: str, slot_at: datetime, capacity: int
) -> bool:
    """One more place taken in the slot, if fewer than `capacity` are. The conditional UPDATE
    is the guarantee: a racing transaction waits for this one's row lock (PostgreSQL) or the
    write lock (SQLite), then sees the new count."""
    _ensure_slot_row(conn, office_id, service_id, slot_at)
    params = {"o": office_id, "svc": service_id, "at": slot_at, "cap": capacity}
    return conn.execute(_TAKE, params).rowcount == 1


def add_places(
    conn: Connection, office_id: str, service_id: str, slot_at: datetime, n: int
) -> None:
    """Count `n` places taken without a capacity check (imported appointments)."""
    _ensure_slot_row(conn, office_id, service_id, slot_at)
    conn.execute(
        update(t.appointment_slots)
        .where(_s.office_id == office_id, _s.service_id == service_id, _s.slot_at == slot_at)
        .values(booked=_s.booked + n)
    )


def release_place(conn: Connection, office_id: str, service_id: str, slot_at: datetime) -> None:
    conn.execute(
        update(t.appointment_slots)
        .where(
            _s.office_id == office_id,
            _s.service_id == service_id,
            _s.slot_at == slot_at,
            _s.booked > 0,
        )
        .values(booked=_s.booked - 1)
    )


def booked_counts(
    conn: Connection, office_id: str, service_id: str, start: datetime, end: datetime
) -> dict[datetime, int]:
    """slot start -> places taken, for slots in [start, end)."""
    rows = conn.execute(
        select(_s.slot_at, _s.booked).where(
            _s.office_id == office_id,
            _s.service_id == service_id,
            _s.slot_at >= start,
            _s.slot_at < end,
            _s.booked > 0,
        )
    )
    return {r.slot_at: int(r.booked) for r in rows}


def appointments_between(
    conn: Connection, office_id: str, start: datetime, end: datetime, service_id: str | None = None
) -> list[Row[Any]]:
    cond = [_a.office_id == office_id, _a.slot_at >= start, _a.slot_at < end]
    if service_id is not None:
        cond.append(_a.service_id == service_id)
    return list(
        conn.execute(select(t.appointments).where(*cond).order_by(_a.slot_at, _a.created_at, _a.id))
    )


def external_ids_taken(conn: Connection, office_id: str, ids: Iterable[str]) -> set[str]:
    wanted = [i for i in ids if i]
    if not wanted:
        return set()
    taken: set[str] = set()
    for chunk in range(0, len(wanted), 500):
        rows = conn.execute(
            select(_a.external_id).where(
                _a.office_id == office_id, _a.external_id.in_(wanted[chunk : chunk + 500])
            )
        )
        taken.update(str(r.external_id) for r in rows)
    return taken


def count_appointments(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(t.appointments)).scalar_one())
