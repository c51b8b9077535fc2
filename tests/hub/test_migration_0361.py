"""Migration 0361: ix_tickets_finished keeps finished tickets only, on a database with tickets."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic import command

from hub.db import alembic_config, migrate

TICKET = (
    "INSERT INTO tickets (office_id, service_id, day, number, status, lang, channel, issued_at,"
    " fair_at, started_at, finished_at, recalls) VALUES ('o', 's', '2026-11-29', ?, ?, 'es',"
    " 'walk_in', '2026-11-29 09:00:00', '2026-11-29 09:00:00', ?, ?, 0)"
)
RECENT = (
    "SELECT started_at, finished_at FROM tickets WHERE office_id = 'o' AND service_id = 's'"
    " AND finished_at IS NOT NULL AND started_at IS NOT NULL ORDER BY finished_at DESC LIMIT 20"
)


def _index_sql(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        row = conn.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'ix_tickets_finished'"
        ).fetchone()
    return str(row[0])


def test_the_index_leaves_out_tickets_not_finished_and_serves_the_mean(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    url = f"sqlite:///{path}"
    config = alembic_config(url)
    command.upgrade(config, "0360")
    assert "WHERE" not in _index_sql(path)
    with sqlite3.connect(path) as conn:
        conn.execute(TICKET, ("A001", "done", "2026-11-29 09:01:00", "2026-11-29 09:05:00"))
        conn.execute(TICKET, ("A002", "waiting", None, None))
    migrate(url)
    assert _index_sql(path).endswith("WHERE finished_at IS NOT NULL")
    with sqlite3.connect(path) as conn:
        plan = " ".join(str(r[3]) for r in conn.execute("EXPLAIN QUERY PLAN " + RECENT))
        assert conn.execute(RECENT).fetchall() == [("2026-11-29 09:01:00", "2026-11-29 09:05:00")]
    assert "USING INDEX ix_tickets_finished" in plan
    command.downgrade(config, "0360")
    assert "WHERE" not in _index_sql(path)
