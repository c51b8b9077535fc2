"""Hot-path statements run on the DB-API cursor of the current SQLAlchemy connection.

SQLAlchemy Core costs about 80 µs a statement on this hardware against about 5 µs for the same
statement on the sqlite3 cursor, and issuing a ticket runs eight. A `Fast` statement is written
once as a Core construct, compiled once per dialect, and executed on the same connection and
transaction as the rest of the use case. Values must be ready for the driver: `db_time()` turns a
datetime into what the hub's `UTCDateTime` column stores, `from_db_time()` reads it back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any, ClassVar

from sqlalchemy import Connection
from sqlalchemy.sql import ClauseElement

_SQLITE_FORMAT = "%Y-%m-%d %H:%M:%S.%f"  # what SQLAlchemy's SQLite DATETIME stores


class Fast:
    made: ClassVar[list[Fast]] = []
    """Every Fast statement, for compile_all()."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[str, tuple[str, Callable[[Mapping[str, Any]], Any]]] = {}
        Fast.made.append(self)

    def _sql(self, conn: Connection) -> tuple[str, Callable[[Mapping[str, Any]], Any]]:
        """The statement's text for the connection's dialect, and what turns the parameters into
        the driver's (a tuple in the statement's order, or the mapping itself)."""
        name = conn.dialect.name
        found = self._compiled.get(name)
        if found is None:
            compiled = self.statement.compile(dialect=conn.dialect)
            order = tuple(compiled.positiontup) if compiled.positiontup else None
            # values written into the statement itself (the 1 of last_seq + 1)
            fixed = {k: v for k, v in compiled.params.items() if v is not None}
            found = (str(compiled), _binder(order, fixed))
            self._compiled[name] = found
        return found

    def execute(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        sql, bind = self._sql(conn)
        raw: Any = conn.connection.dbapi_connection
        cursor = raw.cursor()
        cursor.execute(sql, bind(params))
        return cursor

    def one(self, conn: Connection, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        cursor = self.execute(conn, params)
        try:
            row = cursor.fetchone()
        finally:
            cursor.close()
        return tuple(row) if row is not None else None


def compile_all(conn: Connection) -> int:
    """Compiles every Fast statement for the connection's dialect (at start: otherwise the first
    requests pay for it, about 1 ms a statement, while the others queue behind them)."""
    for fast in Fast.made:
        fast._sql(conn)
    return len(Fast.made)


def _binder(
    order: tuple[str, ...] | None, fixed: dict[str, Any]
) -> Callable[[Mapping[str, Any]], Any]:
    if order is None:
        return (lambda params: {**fixed, **params}) if fixed else (lambda params: params)
    if not order:
        return lambda params: ()
    pick = itemgetter(*order)
    if len(order) == 1:
        if fixed:
            return lambda params: (pick({**fixed, **params}),)
        return lambda params: (pick(params),)
    if fixed:
        return lambda params: pick({**fixed, **params})
    return pick


_last_sqlite_time: tuple[datetime | None, str] = (None, "")
"""The last datetime written for SQLite and its text: a use case writes the same `now` often."""


def db_time(conn: Connection, value: datetime | None) -> Any:
    global _last_sqlite_time
    if value is None:
        return None
    if conn.dialect.name != "sqlite":
        return value if value.tzinfo is UTC else value.astimezone(UTC)
    last = _last_sqlite_time
    if last[0] is value:
        return last[1]
    utc = value if value.tzinfo is UTC else value.astimezone(UTC)
    text = utc.replace(tzinfo=None).isoformat(" ", "microseconds")  # as _SQLITE_FORMAT
    _last_sqlite_time = (value, text)
    return text


def from_db_time(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
