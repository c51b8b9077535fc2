"""ix_tickets_finished holds finished tickets only

Only finished tickets are looked up in it (the mean service time), yet every new ticket had an
entry there too: one page more written by each ticket's commit (bench/sqlite_write_cost.py's
groups of one ticket: 11.4 pages a commit before, 10.2 after).

Revision ID: 0361
Revises: 0360
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0361"
down_revision = "0360"
branch_labels = None
depends_on = None

NAME = "ix_tickets_finished"
COLUMNS = ["office_id", "service_id", "finished_at"]


def upgrade() -> None:
    op.drop_index(NAME, table_name="tickets")
    done = sa.text("finished_at IS NOT NULL")
    op.create_index(NAME, "tickets", COLUMNS, sqlite_where=done, postgresql_where=done)


def downgrade() -> None:
    op.drop_index(NAME, table_name="tickets")
    op.create_index(NAME, "tickets", COLUMNS)
