"""Every way the database can fail a request becomes a coded 503, never a 500: what SQLAlchemy
wraps, and what the hot path's DB-API cursor (hub/fastsql.py) raises unwrapped."""

from __future__ import annotations

import asyncio
import sqlite3

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import OperationalError

from hub import errors

CASES = [
    (sqlite3.OperationalError("database or disk is full"), "storage_full", "30"),
    (sqlite3.OperationalError("disk I/O error"), "storage_full", "30"),
    (
        OperationalError("INSERT", {}, sqlite3.OperationalError("database or disk is full")),
        "storage_full",
        "30",
    ),
    (
        psycopg.errors.DiskFull("could not extend file: No space left on device"),
        "storage_full",
        "30",
    ),
    (
        psycopg.OperationalError("server closed the connection unexpectedly"),
        "service_unavailable",
        "2",
    ),
    (
        OperationalError("SELECT 1", {}, psycopg.OperationalError("connection refused")),
        "service_unavailable",
        "2",
    ),
    (sqlite3.OperationalError("database is locked"), "service_unavailable", "2"),
]


@pytest.mark.parametrize(("raised", "code", "retry_after"), CASES)
def test_database_failures_are_coded_503s(raised: Exception, code: str, retry_after: str) -> None:
    app = FastAPI()
    errors.install(app)

    @app.post("/write")
    async def write() -> None:
        raise raised

    async def post() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            return await client.post("/write")

    answer = asyncio.run(post())
    assert answer.status_code == 503
    assert answer.json()["error"] == code, answer.json()
    assert answer.headers["Retry-After"] == retry_after
