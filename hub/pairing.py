"""Device enrollment: a kiosk or display shows a one-time code, a technician approves it, the
device collects its token once, proving with the secret it got when it opened the code that it is
the device that shows it. Codes are stored keyed-hashed and secrets hashed; the token is made at
collection, so its plain text is never stored. A device that opens a new code withdraws its
previous one (`cancel`, with that code's secret), so its stale codes do not hold places.

Also here: which token a device name's health report belongs to in its office
(`claim_device_name`); collecting a token gives it the device's name there."""

from __future__ import annotations

import math
from dataclasses import asdict, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, delete, func, insert, select, update

from office360.core.errors import Conflict, DomainError
from office360.enrollment import PairingRequest, hash_code, new_pairing_secret, normalize_code

from . import repository as repo
from . import tables as t
from .auth import Principal, hash_token, new_token

MAX_PENDING = 50
"""Requests waiting at once, from everywhere: the last resort against a flood."""
MAX_PENDING_PER_ADDRESS = 5
"""Requests not yet collected from one client address, so one address cannot fill the table."""
RETRY_AFTER_MAX_S = 60
"""A busy answer's Retry-After: until a counted request expires, at most this (a request may also
be collected or withdrawn sooner)."""


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
        secret_hash=row.secret_hash,
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
    client_addr: str = "unknown",
) -> dict[str, Any]:
    """Store a pending request; the answer carries the secret that collecting it will need (only
    its hash is stored). `client_addr` is the caller's address, for the per-address limit."""
    c = t.pairing_requests.c
    client_addr = client_addr[:64]
    conn.execute(delete(t.pairing_requests).where(c.expires_at <= now))  # as is_expired()
    same_address = (c.client_addr == client_addr, c.collected_at.is_(None))
    from_address = conn.execute(
        select(func.count()).select_from(t.pairing_requests).where(*same_address)
    ).scalar_one()
    if from_address >= MAX_PENDING_PER_ADDRESS:
        raise _busy(
            conn, now, "too many pairing requests from this address; try again later", same_address
        )
    pending = conn.execute(select(func.count()).select_from(t.pairing_requests)).scalar_one()
    if pending >= MAX_PENDING:
        raise _busy(conn, now, "too many devices are waiting to pair; try again later", ())
    secret = new_pairing_secret()
    request = PairingRequest.open(
        normalize_code(code),
        role,  # type: ignore[arg-type]
        office_id,
        device_name,
        now,
        key=key,
        secret=secret,
    )
    if conn.execute(select(c.code_hash).where(c.code_hash == request.code_hash)).first():
        raise DomainError("pairing_code_taken", "make a new pairing code on the device")
    values = asdict(request)
    conn.execute(
        insert(t.pairing_requests).values(
            office_id=values.pop("office"), client_addr=client_addr, **values
        )
    )
    return {"status": "pending", "expires_at": request.expires_at.isoformat(), "secret": secret}


def _busy(
    conn: Connection, now: datetime, message: str, counted: tuple[ColumnElement[bool], ...]
) -> DomainError:
    """pairing_busy, with `retry_after_s`: seconds until the first of the `counted` requests
    expires (1 to RETRY_AFTER_MAX_S)."""
    c = t.pairing_requests.c
    first = conn.execute(select(func.min(c.expires_at)).where(*counted)).scalar_one()
    wait = math.ceil((first - now).total_seconds()) if first is not None else 1
    return DomainError("pairing_busy", message, retry_after_s=min(max(wait, 1), RETRY_AFTER_MAX_S))


def cancel(conn: Connection, code: str, secret: str, key: bytes) -> dict[str, Any]:
    """Withdraw a request not yet collected, for the device holding its secret (a wrong secret
    changes nothing): a device opening a new code withdraws its previous one, which then stops
    counting against the limits on pending requests."""
    loaded = _load(conn, code, key)
    loaded.check_secret(secret)
    if loaded.collected_at is not None:
        raise Conflict("pairing_code_used", "the token for this code was already collected")
    conn.execute(
        delete(t.pairing_requests).where(t.pairing_requests.c.code_hash == loaded.code_hash)
    )
    return {"status": "cancelled"}


def approve(conn: Connection, code: str, now: datetime, key: bytes) -> dict[str, Any]:
    request = _load(conn, code, key).approve(token_id="pending", now=now)
    _save(conn, request)
    return {
        "status": "approved",
        "role": request.role,
        "device": request.device_name,
        "office": request.office,
    }


def collect(conn: Connection, code: str, secret: str, now: datetime, key: bytes) -> dict[str, Any]:
    """The token, for the device holding the code's secret; a wrong secret changes nothing."""
    loaded = _load(conn, code, key)
    loaded.check_secret(secret)
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
    # A re-paired device: its name in its office is the new token's, not the old one's.
    set_device_owner(conn, request.office, request.device_name, token_id)
    return {"status": "collected", "token": token, "role": request.role, "office": request.office}


# --- device names: whose health reports a name stands for -------------------------------------


def claim_device_name(
    conn: Connection, principal: Principal, office_id: str, device: str
) -> int | None:
    """The token that will own `device` in `office_id` (the caller's office) once this report is
    stored. Another office's device of the same name is another row, untouched.

    In an office a name belongs to the first token that reports under it, or to the token last
    collected by pairing under that name there (`collect`, a re-paired device). Another token is
    refused (Conflict `device_name_taken`) unless the owner is revoked or gone (a replaced
    device). Rows with no owner (from before owners were kept, or made by an admin) go to the
    first device that reports under them. An admin may report under any name without taking it
    over: the owner stays."""
    c, tok = t.device_reports.c, t.api_tokens.c
    row = conn.execute(
        select(c.token_id, tok.id.label("owner_id"), tok.revoked_at)
        .select_from(t.device_reports.outerjoin(t.api_tokens, tok.id == c.token_id))
        .where(c.office_id == office_id, c.device == device)
    ).first()
    if principal.role == "admin":
        return row.token_id if row is not None else None
    if row is None or row.token_id is None or row.token_id == principal.token_id:
        return principal.token_id
    if row.owner_id is not None and row.revoked_at is None:
        raise Conflict(
            "device_name_taken",
            f"another device of this office reports as {device!r}; give this one its own name",
        )
    return principal.token_id


def set_device_owner(conn: Connection, office_id: str, device: str, token_id: int | None) -> None:
    """Give `device`'s name in `office_id` to `token_id`, if the device has reported there."""
    c = t.device_reports.c
    conn.execute(
        update(t.device_reports)
        .where(c.office_id == office_id, c.device == device)
        .values(token_id=token_id)
    )
