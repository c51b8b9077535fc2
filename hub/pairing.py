"""Device enrollment: a kiosk or display shows a one-time code, a technician approves it, the
device collects its token once. Codes are stored keyed-hashed; the token is made at collection,
so its plain text is never stored."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from office360.core.errors import DomainError
from office360.enrollment import PairingRequest, hash_code, normalize_code

from . import repository as repo
from . import tables as t
from .auth import hash_token, new_token

MAX_PENDING = 50


def _row_to_request(row: Any) -> PairingRequest:
    return PairingRequest(
        code_hash=row.code_hash,
        role=row.role,
        office=row.office_id,
        device_name=row.device_name,
        created_at=row.created_at,
        expires_at=row.expires_at,
        approved_at=row.approved_at,
        token_id=row.token_id,
        collected_at=row.collected_at,
    )


def _load(conn: Connection, code: str, key: bytes) -> PairingRequest:
    wanted = hash_code(normalize_code(code), key)
    c = t.pairing_requests.c
    row = conn.execute(select(t.pairing_requests).where(c.code_hash == wanted)).first()
    if row is None:
        raise DomainError("pairing_code_unknown", "no device is waiting with this pairing code")
    return _row_to_request(row)


def _save(conn: Connection, request: PairingRequest) -> None:
    values = asdict(request)
    c = t.pairing_requests.c
    conn.execute(
        update(t.pairing_requests)
        .where(c.code_hash == values.pop("code_hash"))
        .values(office_id=values.pop("office"), **values)
    )


def open_request(
    conn: Connection,
    code: str,
    role: str,
    office_id: str,
    device_name: str,
    now: datetime,
    key: bytes,
) -> dict[str, Any]:
    c = t.pairing_requests.c
    conn.execute(delete(t.pairing_requests).where(c.expires_at < now))
    pending = conn.execute(select(func.count()).select_from(t.pairing_requests)).scalar_one()
    if pending >= MAX_PENDING:
        raise DomainError("pairing_busy", "too many devices are waiting to pair; try again later")
    request = PairingRequest.open(
        normalize_code(code),
        role,
        office_id,
        device_name,
        now,
        key=key,  # type: ignore[arg-type]
    )
    if conn.execute(select(c.code_hash).where(c.code_hash == request.code_hash)).first():
        raise DomainError("pairing_code_taken", "make a new pairing code on the device")
    values = asdict(request)
    conn.execute(insert(t.pairing_requests).values(office_id=values.pop("office"), **values))
    return {"status": "pending", "expires_at": request.expires_at.isoformat()}


def approve(conn: Connection, code: str, now: datetime, key: bytes) -> dict[str, Any]:
    request = _load(conn, code, key).approve(token_id="pending", now=now)
    _save(conn, request)
    return {
        "status": "approved",
        "role": request.role,
        "device": request.device_name,
        "office": request.office,
    }


def collect(conn: Connection, code: str, now: datetime, key: bytes) -> dict[str, Any]:
    loaded = _load(conn, code, key)
    if loaded.approved_at is None and not loaded.is_expired(now):
        return {"status": "pending", "expires_at": loaded.expires_at.isoformat()}
    request = loaded.collect(now)
    token = new_token()
    token_id = repo.insert_token(
        conn,
        name=f"{request.role} {request.device_name}",
        role=request.role,
        office_id=request.office,
        desk_id=None,
        token_hash=hash_token(token),
        created_at=now,
    )
    _save(conn, replace(request, token_id=str(token_id)))
    return {"status": "collected", "token": token, "role": request.role, "office": request.office}
