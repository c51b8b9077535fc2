"""Bearer tokens bound to a role (and a desk for staff), stored only as hashes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Literal

TOKEN_PREFIX = "o360_"
ROLES = ("admin", "manager", "staff", "kiosk", "display")
Role = Literal["admin", "manager", "staff", "kiosk", "display"]

# Who may do what. Staff may act only on their own desk; managers and admins on any.
CAN_ISSUE = frozenset({"admin", "manager", "staff", "kiosk"})
CAN_ACT_ANY_DESK = frozenset({"admin", "manager"})
CAN_READ = frozenset(ROLES)
CAN_REPORT_HEALTH = frozenset({"kiosk", "display", "admin"})


@dataclass(frozen=True)
class Principal:
    token_id: int
    name: str
    role: str
    office_id: str | None
    desk_id: str | None

    @property
    def scope(self) -> str:
        """The namespace of this caller's Idempotency-Keys."""
        return f"token:{self.token_id}"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so one SHA-256 is enough (no slow hash needed to resist guessing).
    return hashlib.sha256(token.encode()).hexdigest()


def status_token(secret: bytes, ticket_id: int) -> str:
    """The unguessable part of a ticket's status link, derived so nothing secret is stored per ticket."""
    mac = hmac.new(secret, f"ticket:{ticket_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:16]).decode().rstrip("=")


def check_status_token(secret: bytes, ticket_id: int, token: str) -> bool:
    # bytes: compare_digest refuses str with non-ASCII characters
    return hmac.compare_digest(status_token(secret, ticket_id).encode(), token.encode())


class TokenCache:
    """Recently seen tokens, so each request does not hit the database. Revocation applies within
    `ttl` seconds."""

    def __init__(self, ttl: float = 2.0) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, Principal | None]] = {}

    def get(self, token_hash: str) -> tuple[bool, Principal | None]:
        entry = self._entries.get(token_hash)
        if entry is None or entry[0] < time.monotonic():
            return False, None
        return True, entry[1]

    def put(self, token_hash: str, principal: Principal | None) -> None:
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[token_hash] = (time.monotonic() + self.ttl, principal)

    def clear(self) -> None:
        self._entries.clear()
