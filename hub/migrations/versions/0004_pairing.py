"""device pairing requests

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.tables

revision = "0004"
down_revision = "0001"
branch_labels = ("pairing",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pairing_requests",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("office_id", sa.String(length=40), nullable=False),
        sa.Column("device_name", sa.String(length=80), nullable=False),
        sa.Column("created_at", hub.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", hub.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("approved_at", hub.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("collected_at", hub.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("token_id", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_pairing_requests")),
    )


def downgrade() -> None:
    op.drop_table("pairing_requests")
