"""Staff sign-in: argon2 password hashes, browser sessions, CSRF tokens and rate limits.

A session id and its CSRF token are random; the database keeps only their SHA-256 hashes. The CSRF
token travels in its own HttpOnly cookie; pages copy it into forms and the panel sends it back in
the X-CSRF-Token header, where it must match both that cookie and the session's stored hash.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from fastapi import Request
from sqlalchemy import Connection

from . import users_repo
from .auth import Principal

SESSION_COOKIE = "o360_session"
CSRF_COOKIE = "o360_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf"
USER_ROLES = ("staff", "manager", "admin")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_hasher = PasswordHasher()
_dummy_hash: str | None = None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not the login exists (an unknown login checks a dummy hash)."""
    global _dummy_hash
    if password_hash is None:
        if _dummy_hash is None:
            _dummy_hash = _hasher.hash(secrets.token_hex(8))
        password_hash = _dummy_hash
        password = password + "\x00unknown"
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class SessionPrincipal(Principal):
    """A signed-in staff member, seen by the API like a token holder."""

    user_id: int = 0
    login: str = ""

    @property
    def scope(self) -> str:
        return f"user:{self.user_id}"


@dataclass(frozen=True)
class StaffSession:
    id_hash: str
    user_id: int
    login: str
    name: str
    role: str
    office_id: str | None
    desk_id: str | None
    csrf_hash: str
    expires_at: datetime

    def principal(self) -> SessionPrincipal:
        return SessionPrincipal(
            token_id=0,
            name=self.name,
            role=self.role,
            office_id=self.office_id,
            desk_id=self.desk_id,
            user_id=self.user_id,
            login=self.login,
        )

    def csrf_ok(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(sha256(token or ""), self.csrf_hash)


def start_session(conn: Connection, user_id: int, now: datetime, hours: float) -> tuple[str, str]:
    """Store a new session; return (session id, CSRF token), both shown only to the browser."""
    session_id = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    users_repo.insert_session(
        conn,
        id_hash=sha256(session_id),
        user_id=user_id,
        desk_id=None,
        csrf_hash=sha256(csrf),
        created_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    return session_id, csrf


def load_session(conn: Connection, session_id: str, now: datetime) -> StaffSession | None:
    if not session_id or len(session_id) > 100:
        return None
    row = users_repo.session_with_user(conn, sha256(session_id))
    if row is None or row.expires_at <= now or not row.user_active:
        return None
    return StaffSession(
        id_hash=row.id_hash,
        user_id=row.user_id,
        login=row.user_login,
        name=row.user_name,
        role=row.user_role,
        office_id=row.user_office_id,
        desk_id=row.desk_id,
        csrf_hash=row.csrf_hash,
        expires_at=row.expires_at,
    )


async def session_from_request(request: Request) -> StaffSession | None:
    """The request's valid session, if its cookie names one (looked up once per request)."""
    if hasattr(request.state, "staff_session"):
        return request.state.staff_session  # type: ignore[no-any-return]
    session: StaffSession | None = None
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        state = request.app.state.hub
        svc = state.service

        def load() -> StaffSession | None:
            with svc.transaction() as conn:
                return load_session(conn, session_id, svc.clock())

        session = await state.run(load)
    request.state.staff_session = session
    return session


def csrf_from_request(request: Request, form_value: str | None = None) -> str | None:
    """The token the request presents (header or form field), if it equals the CSRF cookie."""
    presented = form_value or request.headers.get(CSRF_HEADER)
    cookie = request.cookies.get(CSRF_COOKIE)
    if not presented or not cookie or not hmac.compare_digest(_utf8(presented), _utf8(cookie)):
        return None
    return presented


def secure_cookies(request: Request, mode: str, public_url: str) -> bool:
    if mode == "always":
        return True
    if mode == "never":
        return False
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded == "https" or public_url.startswith("https:")


class RateLimiter:
    """Sliding-window counters kept in memory (see docs/api.md for why not in the database)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_keys: int = 50_000) -> None:
        self.clock = clock
        self.max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _window(self, key: str, window_s: float) -> deque[float]:
        now = self.clock()
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self.max_keys:
                self._forget_old(window_s)
            hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - window_s:
            hits.popleft()
        return hits

    def count(self, key: str, window_s: float) -> int:
        with self._lock:
            return len(self._window(key, window_s))

    def retry_after(self, key: str, window_s: float) -> int:
        with self._lock:
            hits = self._window(key, window_s)
            return int(hits[0] + window_s - self.clock()) + 1 if hits else 0

    def hit(self, key: str) -> None:
        with self._lock:
            self._hits.setdefault(key, deque()).append(self.clock())

    def allow(self, key: str, limit: int, window_s: float) -> bool:
        """Count one attempt if fewer than `limit` happened within the window."""
        with self._lock:
            hits = self._window(key, window_s)
            if len(hits) >= limit:
                return False
            hits.append(self.clock())
            return True

    def reset(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)

    def _forget_old(self, window_s: float) -> None:
        cutoff = self.clock() - window_s
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= cutoff]:
            del self._hits[key]
        if len(self._hits) >= self.max_keys:  # still full of live keys: drop the oldest half
            for key in list(self._hits)[: self.max_keys // 2]:
                del self._hits[key]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def user_summary(row: Any) -> dict[str, Any]:
    return {
        "login": row.login,
        "name": row.name,
        "role": row.role,
        "office": row.office_id,
        "active": bool(row.active),
    }


def _utf8(text: str) -> bytes:
    """compare_digest takes str only when it is ASCII; a forged token may not be."""
    return text.encode("utf-8", "backslashreplace")
