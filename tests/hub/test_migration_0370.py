"""Migration 0370: pairing secrets and client addresses, device report owners, on a database with
rows in both tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text

from hub import pairing
from hub.db import alembic_config, migrate
from office360.core.errors import DomainError
from office360.enrollment import hash_code

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
KEY = b"k"


def columns(url: str, table: str) -> set[str]:
    engine = create_engine(url)
    try:
        return {c["name"] for c in inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def test_rows_from_before_keep_working_and_a_code_without_secret_cannot_be_collected(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
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
    migrate(url)
    assert {"secret_hash", "client_addr"} <= columns(url, "pairing_requests")
    assert "token_id" in columns(url, "device_reports")
    with engine.begin() as conn, pytest.raises(DomainError) as caught:
        pairing.collect(conn, "KD47XQ", "", NOW, KEY)
    assert caught.value.code == "pairing_secret_invalid"
    engine.dispose()
    command.downgrade(config, "0004")
    assert "secret_hash" not in columns(url, "pairing_requests")
    assert "token_id" not in columns(url, "device_reports")
