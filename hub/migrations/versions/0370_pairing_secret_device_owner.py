"""pairing secrets, pairing client addresses, device reports per office with owners

- pairing_requests.secret_hash: only the device that opened a code may collect its token
  (a request without one, opened before this revision, cannot be collected: the device opens a
  new code).
- pairing_requests.client_addr: at most a few pending requests per client address.
- device_reports: keyed by (office_id, device), so the same name in two offices ("kiosk-1") is two
  devices; token_id is the token the name belongs to in its office (another token is refused).
  Rows from before keep their office and have no owner: the first report from their office
  takes them.

Downgrading keeps, of the rows that share a device name, only the most recent report.

Revision ID: 0370
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0370"
down_revision = "0004"
branch_labels = None
depends_on = None

PK = "pk_device_reports"

# Of the rows that share a device name, all but the most recent report (ties: the last office).
DROP_OLDER_DUPLICATES = sa.text(
    "DELETE FROM device_reports WHERE EXISTS (SELECT 1 FROM device_reports newer"
    " WHERE newer.device = device_reports.device"
    " AND (newer.received_at > device_reports.received_at"
    " OR (newer.received_at = device_reports.received_at"
    " AND newer.office_id > device_reports.office_id)))"
)


def upgrade() -> None:
    with op.batch_alter_table("pairing_requests") as batch:
        batch.add_column(sa.Column("secret_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("client_addr", sa.String(length=64), nullable=True))
    with op.batch_alter_table("device_reports") as batch:
        batch.add_column(sa.Column("token_id", sa.Integer(), nullable=True))
        batch.drop_constraint(PK, type_="primary")
        batch.create_primary_key(PK, ["office_id", "device"])


def downgrade() -> None:
    op.execute(DROP_OLDER_DUPLICATES)
    with op.batch_alter_table("device_reports") as batch:
        batch.drop_constraint(PK, type_="primary")
        batch.create_primary_key(PK, ["device"])
        batch.drop_column("token_id")
    with op.batch_alter_table("pairing_requests") as batch:
        batch.drop_column("client_addr")
        batch.drop_column("secret_hash")
