"""SQL for staff users and their browser sessions. Functions take an open connection."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select, update

from . import tables as t

_u = t.users.c
_s = t.sessions.c


def insert_user(conn: Connection, **values: Any) -> int:
    result = conn.execute(insert(t.users).values(**values))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def user_by_login(conn: Connection, login: str) -> Row[Any] | None:
    return conn.execute(select(t.users).where(_u.login == login)).first()


def user_by_id(conn: Connection, user_id: int) -> Row[Any] | None:
    return conn.execute(select(t.users).where(_u.id == user_id)).first()


def list_users(conn: Connection) -> list[Row[Any]]:
    return list(conn.execute(select(t.users).order_by(_u.login)))


def set_active(conn: Connection, login: str, active: bool) -> bool:
    result = conn.execute(update(t.users).where(_u.login == login).values(active=active))
    return bool(result.rowcount)


def set_password_hash(conn: Connection, user_id: int, password_hash: str) -> None:
    conn.execute(update(t.users).where(_u.id == user_id).values(password_hash=password_hash))


def insert_session(conn: Connection, **values: Any) -> None:
    conn.execute(insert(t.sessions).values(**values))


def session_with_user(conn: Connection, id_hash: str) -> Row[Any] | None:
    """The session and its user's columns in one row (user columns prefixed user_)."""
    q = (
        select(
            _s.id_hash,
            _s.user_id,
            _s.desk_id,
            _s.csrf_hash,
            _s.expires_at,
            _u.login.label("user_login"),
            _u.name.label("user_name"),
            _u.role.label("user_role"),
            _u.office_id.label("user_office_id"),
            _u.active.label("user_active"),
        )
        .select_from(t.sessions.join(t.users, _u.id == _s.user_id))
        .where(_s.id_hash == id_hash)
    )
    return conn.execute(q).first()


def set_session_desk(conn: Connection, id_hash: str, desk_id: str | None) -> None:
    conn.execute(update(t.sessions).where(_s.id_hash == id_hash).values(desk_id=desk_id))


def delete_session(conn: Connection, id_hash: str) -> None:
    conn.execute(delete(t.sessions).where(_s.id_hash == id_hash))


def delete_user_sessions(conn: Connection, user_id: int) -> int:
    return conn.execute(delete(t.sessions).where(_s.user_id == user_id)).rowcount or 0


def purge_sessions(conn: Connection, now: datetime) -> int:
    return conn.execute(delete(t.sessions).where(_s.expires_at < now)).rowcount or 0
