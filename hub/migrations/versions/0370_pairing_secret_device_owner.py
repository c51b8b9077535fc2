"""pairing secrets, pairing client addresses, device report owners

- pairing_requests.secret_hash: only the device that opened a code may collect its token
  (a request without one, opened before this revision, cannot be collected: the device opens a
  new code).
- pairing_requests.client_addr: at most a few pending requests per client address.
- device_reports.token_id: the token a device name belongs to (another token is refused).

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


def upgrade() -> None:
    with op.batch_alter_table("pairing_requests") as batch:
        batch.add_column(sa.Column("secret_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("client_addr", sa.String(length=64), nullable=True))
    with op.batch_alter_table("device_reports") as batch:
        batch.add_column(sa.Column("token_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("device_reports") as batch:
        batch.drop_column("token_id")
    with op.batch_alter_table("pairing_requests") as batch:
        batch.drop_column("client_addr")
        batch.drop_column("secret_hash")
