"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.tables

SPECIAL_WAITING = (
    "status = 'waiting' AND "
    "(priority IS NOT NULL OR slot_at IS NOT NULL OR overtaken_at IS NOT NULL)"
)

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("office_id", sa.String(length=40), nullable=True),
        sa.Column("desk_id", sa.String(length=40), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", hub.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", hub.tables.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_table(
        "counters",
        sa.Column("office_id", sa.String(length=40), nullable=False),
        sa.Column("prefix", sa.String(length=2), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("office_id", "prefix", "day", name=op.f("pk_counters")),
    )
    op.create_table(
        "desks",
        sa.Column("office_id", sa.String(length=40), nullable=False),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("services", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column(
            "current_ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("updated_at", hub.tables.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("office_id", "id", name=op.f("pk_desks")),
    )
    op.create_table(
        "device_reports",
        sa.Column("device", sa.String(length=80), nullable=False),
        sa.Column("office_id", sa.String(length=40), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("received_at", hub.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("device", name=op.f("pk_device_reports")),
    )
    op.create_table(
        "events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("office_id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("at", hub.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_office", ["office_id", "id"], unique=False)

    op.create_table(
        "hub_secrets",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_hub_secrets")),
    )
    op.create_table(
        "idempotency",
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", hub.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_idempotency")),
    )
    op.create_table(
        "offices",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offices")),
    )
    op.create_table(
        "services",
        sa.Column("office_id", sa.String(length=40), nullable=False),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("prefix", sa.String(length=2), nullable=False),
        sa.Column("names", sa.JSON(), nullable=False),
        sa.Column("icon", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("office_id", "id", name=op.f("pk_services")),
    )
    op.create_table(
        "tickets",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("office_id", sa.String(length=40), nullable=False),
        sa.Column("service_id", sa.String(length=40), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("number", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.String(length=40), nullable=True),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("issued_at", hub.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("fair_at", hub.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("slot_at", hub.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("overtaken_at", hub.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("called_at", hub.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("started_at", hub.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", hub.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("desk_id", sa.String(length=40), nullable=True),
        sa.Column("recalls", sa.Integer(), nullable=False),
        sa.Column(
            "transferred_from", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("appointment_id", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tickets_finished", ["office_id", "service_id", "finished_at"], unique=False
        )
        batch_op.create_index(
            "ix_tickets_special",
            ["office_id", "status", "service_id", "fair_at", "priority", "slot_at", "overtaken_at"],
            unique=False,
            sqlite_where=sa.text(SPECIAL_WAITING),
            postgresql_where=sa.text(SPECIAL_WAITING),
        )
        batch_op.create_index(
            "ix_tickets_queue",
            ["office_id", "status", "service_id", "fair_at", "slot_at"],
            unique=False,
        )
        batch_op.create_index(
            "uq_tickets_number",
            ["office_id", "day", "number"],
            unique=True,
            sqlite_where=sa.text("transferred_from IS NULL"),
            postgresql_where=sa.text("transferred_from IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_tickets_number",
            sqlite_where=sa.text("transferred_from IS NULL"),
            postgresql_where=sa.text("transferred_from IS NULL"),
        )
        batch_op.drop_index("ix_tickets_queue")
        batch_op.drop_index("ix_tickets_special")
        batch_op.drop_index("ix_tickets_finished")

    op.drop_table("tickets")
    op.drop_table("services")
    op.drop_table("offices")
    op.drop_table("idempotency")
    op.drop_table("hub_secrets")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_office")

    op.drop_table("events")
    op.drop_table("device_reports")
    op.drop_table("desks")
    op.drop_table("counters")
    op.drop_table("api_tokens")
