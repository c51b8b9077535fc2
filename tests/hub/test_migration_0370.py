"""Migration 0370: pairing secrets and client addresses, device reports keyed by office and name
with owners, on a database with rows in both tables; on SQLite, and on PostgreSQL when
scripts/test-postgres.sh started one (OFFICE360_TEST_PG)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text

from hub import pairing
from hub.auth import Principal
from hub.db import alembic_config, migrate
from office360.core.errors import DomainError
from office360.enrollment import hash_code
from tests.hubtools import new_postgres_database

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
KEY = b"k"
REPORT = (
    "INSERT INTO device_reports (device, office_id, role, report, received_at)"
    " VALUES (:device, :office, 'kiosk', '{}', :at)"
)


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hub.db'}"
    if not os.environ.get("OFFICE360_TEST_PG"):
        pytest.skip("no PostgreSQL server (scripts/test-postgres.sh start)")
    return new_postgres_database()


def columns(url: str, table: str) -> set[str]:
    engine = create_engine(url)
    try:
        return {c["name"] for c in inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def primary_key(url: str, table: str) -> list[str]:
    engine = create_engine(url)
    try:
        return list(inspect(engine).get_pk_constraint(table)["constrained_columns"])
    finally:
        engine.dispose()


def test_rows_from_before_keep_working_and_a_code_without_secret_cannot_be_collected(
    url: str,
) -> None:
    config = alembic_config(url)
    command.upgrade(config, "0004")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO pairing_requests (code_hash, role, office_id, device_name,"
                " created_at, expires_at, approved_at) VALUES (:h, 'kiosk', 'centro', 'k1',"
                " :at, :until, :at)"
            ),
            {"h": hash_code("KD47XQ", KEY), "at": NOW, "until": NOW + timedelta(minutes=10)},
        )
        conn.execute(text(REPORT), {"device": "kiosk-1", "office": "centro", "at": NOW})
    migrate(url)
    assert {"secret_hash", "client_addr"} <= columns(url, "pairing_requests")
    assert "token_id" in columns(url, "device_reports")
    assert primary_key(url, "device_reports") == ["office_id", "device"]
    with engine.begin() as conn, pytest.raises(DomainError) as caught:
        pairing.collect(conn, "KD47XQ", "", NOW, KEY)
    assert caught.value.code == "pairing_secret_invalid"
    later = NOW + timedelta(minutes=1)
    with engine.begin() as conn:
        # the row from before is kept, unowned: the first kiosk of its office takes it
        kiosk = Principal(7, "kiosk", "kiosk", "centro", None)
        assert pairing.claim_device_name(conn, kiosk, "centro", "kiosk-1") == 7
        # another office's kiosk-1 is another device
        conn.execute(text(REPORT), {"device": "kiosk-1", "office": "norte", "at": later})
        rows = conn.execute(text("SELECT office_id, device FROM device_reports")).all()
        assert sorted(rows) == [("centro", "kiosk-1"), ("norte", "kiosk-1")]
    engine.dispose()
    command.downgrade(config, "0004")
    assert "secret_hash" not in columns(url, "pairing_requests")
    assert "token_id" not in columns(url, "device_reports")
    assert primary_key(url, "device_reports") == ["device"]
    engine = create_engine(url)
    with engine.begin() as conn:  # of a name in two offices, the latest report is kept
        rows = conn.execute(text("SELECT office_id, device FROM device_reports")).all()
    engine.dispose()
    assert rows == [("norte", "kiosk-1")]
