"""Table definitions (SQLAlchemy Core). The migrations in hub/migrations create them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.engine import Dialect


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, whatever the backend keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


SPECIAL_WAITING = (
    "status = 'waiting' AND "
    "(priority IS NOT NULL OR slot_at IS NOT NULL OR overtaken_at IS NOT NULL)"
)

BigId = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

offices = Table(
    "offices",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("languages", JSON, nullable=False),
)

services = Table(
    "services",
    metadata,
    Column("office_id", String(40), primary_key=True),
    Column("id", String(40), primary_key=True),
    Column("prefix", String(2), nullable=False),
    Column("names", JSON, nullable=False),
    Column("icon", String(40), nullable=False, default=""),
    Column("position", Integer, nullable=False, default=0),
)

desks = Table(
    "desks",
    metadata,
    Column("office_id", String(40), primary_key=True),
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("services", JSON, nullable=False),
    Column("state", String(16), nullable=False, default="open"),
    Column("current_ticket_id", BigId, nullable=True),
    Column("updated_at", UTCDateTime, nullable=True),
)

tickets = Table(
    "tickets",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("office_id", String(40), nullable=False),
    Column("service_id", String(40), nullable=False),
    Column("day", String(10), nullable=False),
    Column("number", String(12), nullable=False),
    Column("status", String(16), nullable=False),
    Column("priority", String(40), nullable=True),
    Column("lang", String(8), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("fair_at", UTCDateTime, nullable=False),
    Column("slot_at", UTCDateTime, nullable=True),
    Column("overtaken_at", UTCDateTime, nullable=True),
    Column("called_at", UTCDateTime, nullable=True),
    Column("started_at", UTCDateTime, nullable=True),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("desk_id", String(40), nullable=True),
    Column("recalls", Integer, nullable=False, default=0),
    Column("transferred_from", BigId, nullable=True),
    Column("appointment_id", String(40), nullable=True),
    Index("ix_tickets_queue", "office_id", "status", "service_id", "fair_at", "slot_at"),
    Index(
        "ix_tickets_finished",
        "office_id",
        "service_id",
        "finished_at",
        sqlite_where=text("finished_at IS NOT NULL"),
        postgresql_where=text("finished_at IS NOT NULL"),
    ),
    # the few waiting tickets the policy treats specially (priority, appointment, passed over);
    # covering, so SQLite's planner prefers it to ix_tickets_queue
    Index(
        "ix_tickets_special",
        "office_id",
        "status",
        "service_id",
        "fair_at",
        "priority",
        "slot_at",
        "overtaken_at",
        sqlite_where=text(SPECIAL_WAITING),
        postgresql_where=text(SPECIAL_WAITING),
    ),
    Index(
        "uq_tickets_number",
        "office_id",
        "day",
        "number",
        unique=True,
        sqlite_where=Column("transferred_from").is_(None),
        postgresql_where=Column("transferred_from").is_(None),
    ),
)

counters = Table(
    "counters",
    metadata,
    Column("office_id", String(40), primary_key=True),
    Column("prefix", String(2), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("last_seq", Integer, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("office_id", String(40), nullable=False),
    Column("type", String(40), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("payload", Text, nullable=False),
    Index("ix_events_office", "office_id", "id"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("office_id", String(40), nullable=True),
    Column("desk_id", String(40), nullable=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
)

idempotency = Table(
    "idempotency",
    metadata,
    Column("scope", String(64), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

hub_secrets = Table(
    "hub_secrets",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("value", String(200), nullable=False),
)

# One row per device of an office: the same name in two offices is two devices.
device_reports = Table(
    "device_reports",
    metadata,
    Column("office_id", String(40), primary_key=True),
    Column("device", String(80), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("report", JSON, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    # The api_tokens.id the name belongs to in its office (hub/pairing.py claim_device_name,
    # collect); None: unclaimed.
    Column("token_id", Integer, nullable=True),
)

# --- staff users and their browser sessions (hub/users_repo.py, hub/sessions.py) ---------------

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("login", String(80), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("office_id", String(40), nullable=True),
    Column("password_hash", String(255), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", Integer, nullable=False),
    Column("desk_id", String(40), nullable=True),
    Column("csrf_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_sessions_user", "user_id"),
    Index("ix_sessions_expires", "expires_at"),
)

pairing_requests = Table(
    "pairing_requests",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("office_id", String(40), nullable=False),
    Column("device_name", String(80), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("approved_at", UTCDateTime, nullable=True),
    Column("collected_at", UTCDateTime, nullable=True),
    Column("token_id", String(40), nullable=True),
    # SHA-256 of the secret the opening device got; only it may collect the token.
    Column("secret_hash", String(64), nullable=True),
    # Who opened the request (hub/pairing.py MAX_PENDING_PER_ADDRESS).
    Column("client_addr", String(64), nullable=True),
)

# --- appointments (hub/appointments_repo.py) ---------------------------------------------------

appointments = Table(
    "appointments",
    metadata,
    # A random 53-bit number (hub/appointments_service.py): ids cannot be counted or guessed.
    Column("id", BigId, primary_key=True, autoincrement=False),
    Column("office_id", String(40), nullable=False),
    Column("service_id", String(40), nullable=False),
    Column("slot_at", UTCDateTime, nullable=False),
    Column("slot_minutes", Integer, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("video", Boolean, nullable=False, default=False),
    Column("video_room", String(40), nullable=True),
    # Personal data, kept to the minimum: a name or initials, optionally one way to reach them.
    Column("name", String(100), nullable=False),
    Column("email", String(254), nullable=True),
    Column("phone", String(32), nullable=True),
    Column("lang", String(8), nullable=False),
    Column("status", String(16), nullable=False),
    Column("ticket_id", BigId, nullable=True),
    Column("manage_token_hash", String(64), nullable=False),
    Column("sequence", Integer, nullable=False, default=0),
    Column("external_id", String(200), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("checked_in_at", UTCDateTime, nullable=True),
    Index("ix_appointments_slot", "office_id", "service_id", "slot_at"),
    Index("uq_appointments_external", "office_id", "external_id", unique=True),
)

# Places taken per slot: booking is "UPDATE ... SET booked = booked + 1 WHERE booked < capacity",
# so of two people racing for the last place exactly one updates a row (SQLite and PostgreSQL).
appointment_slots = Table(
    "appointment_slots",
    metadata,
    Column("office_id", String(40), primary_key=True),
    Column("service_id", String(40), primary_key=True),
    Column("slot_at", UTCDateTime, primary_key=True),
    Column("booked", Integer, nullable=False),
)

# --- notifications: the outbox and what feeds it (hub/outbox.py, hub/outbox_worker.py) -----------

# One message to send (a webhook POST, an SMS, an e-mail), written in the transaction of the event
# that causes it; the worker claims due rows, sends, and marks them.
outbox = Table(
    "outbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # webhook | sms | email
    Column("dedupe_key", String(200), nullable=False, unique=True),
    Column("target", String(80), nullable=True),  # the webhook subscription, or the message kind
    Column("office_id", String(40), nullable=True),
    Column("event_type", String(40), nullable=True),
    # A phone number or address: personal data, masked once the row is done.
    Column("destination", String(2000), nullable=False),
    Column("payload", Text, nullable=False),
    Column("status", String(16), nullable=False),  # pending | sending | sent | failed | cancelled
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("claimed_until", UTCDateTime, nullable=True),
    Column("last_error", String(500), nullable=True),
    Column("last_status", Integer, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    Index("ix_outbox_due", "status", "next_attempt_at"),
    Index("ix_outbox_kind", "kind", "id"),
)

# Subscriptions added through the admin API. The secret is kept as given: the hub must compute
# HMACs with it for every delivery, which a hash of it cannot do.
webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("url", String(2000), nullable=False),
    Column("secret", String(200), nullable=False),
    Column("events", JSON, nullable=False),
    Column("description", String(200), nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
)

# A citizen's opt-in to SMS about one ticket; deleted when the ticket is done.
ticket_contacts = Table(
    "ticket_contacts",
    metadata,
    Column("ticket_id", BigId, primary_key=True, autoincrement=False),
    Column("phone", String(32), nullable=False),
    Column("lang", String(8), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("near_sent_at", UTCDateTime, nullable=True),
)

# --- citizen feedback (hub/feedback.py); the comment is purged after [privacy] personal_data_days

feedback = Table(
    "feedback",
    metadata,
    Column("ticket_id", BigId, primary_key=True, autoincrement=False),  # once per ticket
    Column("office_id", String(40), nullable=False),
    Column("service_id", String(40), nullable=False),
    Column("desk_id", String(40), nullable=True),
    Column("rating", Integer, nullable=False),
    Column("comment", Text, nullable=True),  # contact details already stripped
    Column("channel", String(16), nullable=False),  # phone or kiosk
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_feedback_office", "office_id", "created_at"),
)

# --- kiosk offline mode (hub/offline_repo.py) ---------------------------------------------------

# Numbers reserved from an office's daily counter for one kiosk (its token), to issue while the
# hub is unreachable: first..last of prefix on the office's local day.
offline_blocks = Table(
    "offline_blocks",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("token_id", Integer, nullable=False),
    Column("office_id", String(40), nullable=False),
    Column("prefix", String(2), nullable=False),
    Column("day", String(10), nullable=False),
    Column("first", Integer, nullable=False),
    Column("last", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_offline_blocks_device", "token_id", "office_id", "day", "prefix"),
)

# Each ticket a kiosk issued offline and sent later, once per (token, local id): a resend is
# answered with the stored ticket instead of a second one.
offline_tickets = Table(
    "offline_tickets",
    metadata,
    Column("token_id", Integer, primary_key=True),
    Column("local_id", String(64), primary_key=True),
    Column("ticket_id", BigId, nullable=False),
    Column("block_id", BigId, nullable=False),
    Column("number", String(12), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Index("ix_offline_tickets_block", "block_id"),
)

kpi_days = Table(
    "kpi_days",
    metadata,
    Column("office_id", String(40), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("zone", String(64), nullable=False),
    Column("format", Integer, nullable=False),
    Column("tickets", Integer, nullable=False),
    Column("last_id", BigId, nullable=False),
    Column("cells", Text, nullable=False),
    Column("measures", LargeBinary, nullable=False),
    Column("stored_at", UTCDateTime, nullable=False),
)
"""The collected tickets (`pack_days`) of each office-day that is over, so a report of a year
reads a row a day, not every ticket: counts per service, desk, hour, channel and status, and the
durations of each cell (no ticket id, number or personal data). `tickets` and `last_id` are the
day's fingerprint when it was collected (see `_fingerprints`); a row whose fingerprint no longer
matches the tickets table is not used."""
