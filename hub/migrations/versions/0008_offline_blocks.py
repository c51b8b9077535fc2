"""kiosk offline mode: reserved number blocks and the tickets sent from them

Revision ID: 0008
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.tables

revision = "0008"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "offline_blocks",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.String(length=40), nullable=False),
        sa.Column("prefix", sa.String(length=2), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("first", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.Column("created_at", hub.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offline_blocks")),
    )
    op.create_index(
        "ix_offline_blocks_device", "offline_blocks", ["token_id", "office_id", "day", "prefix"]
    )
    op.create_table(
        "offline_tickets",
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("local_id", sa.String(length=64), nullable=False),
        sa.Column("ticket_id", BigId, nullable=False),
        sa.Column("block_id", BigId, nullable=False),
        sa.Column("number", sa.String(length=12), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("received_at", hub.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_id", "local_id", name=op.f("pk_offline_tickets")),
    )
    op.create_index("ix_offline_tickets_block", "offline_tickets", ["block_id"])


def downgrade() -> None:
    op.drop_index("ix_offline_tickets_block", table_name="offline_tickets")
    op.drop_table("offline_tickets")
    op.drop_index("ix_offline_blocks_device", table_name="offline_blocks")
    op.drop_table("offline_blocks")
