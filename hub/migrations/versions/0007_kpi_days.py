"""results: office-days that are over, collected for KPI reports (counts and durations only)

Revision ID: 0007
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.tables

revision = "0007"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "kpi_days",
        sa.Column("office_id", sa.String(length=40), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("format", sa.Integer(), nullable=False),
        sa.Column("tickets", sa.Integer(), nullable=False),
        sa.Column("last_id", BigId, nullable=False),
        sa.Column("cells", sa.Text(), nullable=False),
        sa.Column("measures", sa.LargeBinary(), nullable=False),
        sa.Column("stored_at", hub.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("office_id", "day", name=op.f("pk_kpi_days")),
    )


def downgrade() -> None:
    op.drop_table("kpi_days")
