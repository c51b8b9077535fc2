"""SQL of the kiosk offline mode: number blocks and the offline tickets received from them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update

from . import tables as t

_b = t.offline_blocks.c
_o = t.offline_tickets.c


OFFLINE_TOP = 999
"""The last number of the range kept for offline blocks (3 digits, as `format_number` pads)."""


def reserve_numbers(
    conn: Connection, office_id: str, prefix: str, day: str, count: int, region_from: int
) -> int:
    """The first of `count` numbers of `prefix` on `day` that nobody else will give: from the
    range `region_from`..OFFLINE_TOP kept for blocks while it has room and the day's counter has
    not reached it, else from the daily counter (past that range)."""
    c = t.counters.c
    where = (c.office_id == office_id, c.prefix == prefix, c.day == day)
    counter = conn.execute(select(c.last_seq).where(*where)).scalar()
    if region_from:
        top = conn.execute(
            select(func.max(_b.last)).where(
                _b.office_id == office_id,
                _b.prefix == prefix,
                _b.day == day,
                _b.first >= region_from,
                _b.last <= OFFLINE_TOP,
            )
        ).scalar()
        first = int(top) + 1 if top is not None else region_from
        if (counter or 0) < region_from and first + count - 1 <= OFFLINE_TOP:
            return first
    first = (counter or 0) + 1
    if region_from and first + count - 1 >= region_from:
        first = max(first, OFFLINE_TOP + 1)
    last = first + count - 1
    if counter is None:
        conn.execute(
            insert(t.counters).values(office_id=office_id, prefix=prefix, day=day, last_seq=last)
        )
    else:
        conn.execute(update(t.counters).where(*where).values(last_seq=last))
    return first


def skip_offline_range(
    conn: Connection, office_id: str, prefix: str, day: str, seq: int, region_from: int
) -> int:
    """The hub's own next number: `seq`, or the first past the range kept for offline blocks
    when `seq` falls in it (the counter is moved there)."""
    if not region_from or not region_from <= seq <= OFFLINE_TOP:
        return seq
    c = t.counters.c
    conn.execute(
        update(t.counters)
        .where(c.office_id == office_id, c.prefix == prefix, c.day == day)
        .values(last_seq=OFFLINE_TOP + 1)
    )
    return OFFLINE_TOP + 1


def insert_block(conn: Connection, **values: Any) -> int:
    result = conn.execute(insert(t.offline_blocks).values(**values))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def blocks_of_device(
    conn: Connection, token_id: int, office_id: str, days: list[str]
) -> list[Row[Any]]:
    """The device's blocks for these days, each with how many of its numbers were sent back
    (`used`) and the highest of them (`top`, 0 when none)."""
    used = (
        select(
            _o.block_id,
            func.count().label("used"),
            func.max(_o.seq).label("top"),
        )
        .group_by(_o.block_id)
        .subquery()
    )
    query = (
        select(
            t.offline_blocks,
            func.coalesce(used.c.used, 0).label("used"),
            func.coalesce(used.c.top, 0).label("top"),
        )
        .select_from(t.offline_blocks.outerjoin(used, used.c.block_id == _b.id))
        .where(_b.token_id == token_id, _b.office_id == office_id, _b.day.in_(days))
        .order_by(_b.day, _b.prefix, _b.first)
    )
    return list(conn.execute(query))


def block_for_number(
    conn: Connection, token_id: int, office_id: str, prefix: str, day: str, seq: int
) -> Row[Any] | None:
    return conn.execute(
        select(t.offline_blocks).where(
            _b.token_id == token_id,
            _b.office_id == office_id,
            _b.prefix == prefix,
            _b.day == day,
            _b.first <= seq,
            _b.last >= seq,
        )
    ).first()


def offline_ticket(conn: Connection, token_id: int, local_id: str) -> Row[Any] | None:
    return conn.execute(
        select(t.offline_tickets).where(_o.token_id == token_id, _o.local_id == local_id)
    ).first()


def insert_offline_ticket(conn: Connection, **values: Any) -> None:
    conn.execute(insert(t.offline_tickets).values(**values))


def ticket_with_number(conn: Connection, office_id: str, day: str, number: str) -> Row[Any] | None:
    c = t.tickets.c
    return conn.execute(
        select(c.id).where(
            c.office_id == office_id,
            c.day == day,
            c.number == number,
            c.transferred_from.is_(None),
        )
    ).first()
