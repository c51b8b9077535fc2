"""Pairing a new kiosk or display with its hub, without anybody typing a token.

The device makes a short one-time code (:func:`new_pairing_code`) and shows it on its screen;
a technician enters it on the hub's admin page. The hub keeps only :func:`hash_code` of it in a
:class:`PairingRequest` and applies the rules here: a code expires, and is approved once and
collected once, and only by the device that opened it: the hub answers the opening with a
random secret (:func:`new_pairing_secret`, never shown on screen) and keeps only its hash, so a
bystander who reads the code off the screen cannot collect the token. The device then stores its
token with :func:`store_token` (mode 0600); meanwhile it keeps the code it has open with
:func:`store_pending_code`, to withdraw it when it opens another one.

Everything takes the clock as an argument; nothing here does I/O except the device's file helpers.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
import secrets
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from .core.errors import Conflict, DomainError, Invalid, NotFound

# No 0/O, 1/I/L, 2/Z, 5/S, 8/B, U/V: nothing a technician can misread on a screen across a room.
ALPHABET = "ACDEFGHJKMNPQRTWXY34679"
CODE_LENGTH = 6
CODE_TTL = timedelta(minutes=10)
TOKEN_FILE_NAME = "device.token"
PENDING_FILE_NAME = "pairing.pending"
DeviceRole = Literal["kiosk", "display"]


def new_pairing_code(length: int = CODE_LENGTH) -> str:
    """A random code such as ``K7FM3X`` (shown as ``K7F-M3X`` by :func:`format_code`)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def format_code(code: str) -> str:
    """Groups of three for reading aloud and typing: ``K7F-M3X``."""
    return "-".join(code[i : i + 3] for i in range(0, len(code), 3))


def normalize_code(typed: str, length: int = CODE_LENGTH) -> str:
    """What a person typed (any case, spaces, dashes) as a canonical code; Invalid otherwise."""
    code = "".join(ch for ch in typed.upper() if ch not in " -_.\t")
    if len(code) != length or any(ch not in ALPHABET for ch in code):
        raise Invalid(
            "pairing_code_invalid",
            f"a pairing code has {length} characters from {ALPHABET} (got {typed!r})",
        )
    return code


def new_pairing_secret() -> str:
    """What the hub hands the device that opened a code (256 random bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """Hex SHA-256 of a pairing secret: 256 random bits need no key or slow hash."""
    return hashlib.sha256(secret.encode()).hexdigest()


def hash_code(code: str, key: bytes = b"") -> str:
    """Hex HMAC-SHA256 of the normalized code. Pass the hub's secret as ``key`` so a leaked
    table of hashes cannot be reversed by trying every code offline."""
    return hmac.new(key, normalize_code(code).encode("ascii"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class PairingRequest:
    """One pending pairing as the hub stores it. Immutable: each step returns a new value."""

    code_hash: str
    role: DeviceRole
    office: str
    device_name: str
    created_at: datetime
    expires_at: datetime
    approved_at: datetime | None = None
    token_id: str | None = None
    """Set on approval: which token the device receives (the hub keeps the token itself)."""
    collected_at: datetime | None = None
    secret_hash: str | None = None
    """:func:`hash_secret` of the secret the opening device got (None: nobody can collect)."""

    @classmethod
    def open(
        cls,
        code: str,
        role: DeviceRole,
        office: str,
        device_name: str,
        now: datetime,
        *,
        key: bytes = b"",
        ttl: timedelta = CODE_TTL,
        secret: str = "",
    ) -> PairingRequest:
        if role not in ("kiosk", "display"):
            raise Invalid(
                "pairing_role_invalid", f"a device pairs as kiosk or display, not {role!r}"
            )
        secret_hash = hash_secret(secret) if secret else None
        return cls(
            hash_code(code, key),
            role,
            office,
            device_name[:80],
            now,
            now + ttl,
            secret_hash=secret_hash,
        )

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def matches(self, code: str, key: bytes = b"") -> bool:
        try:
            return hmac.compare_digest(self.code_hash, hash_code(code, key))
        except DomainError:
            return False

    def check_secret(self, secret: str) -> None:
        """Only the device that opened the code may collect: NotFound otherwise (checked before
        anything else, so a wrong secret learns nothing and changes nothing)."""
        if not (
            secret
            and self.secret_hash
            and hmac.compare_digest(self.secret_hash, hash_secret(secret))
        ):
            raise NotFound(
                "pairing_secret_invalid",
                "only the device that opened this pairing code can collect its token",
            )

    def approve(self, token_id: str, now: datetime) -> PairingRequest:
        """The technician entered the code on the hub: bind a token. Once only, before expiry."""
        if self.approved_at is not None:
            raise Conflict("pairing_code_used", "this pairing code was already used")
        self._check_fresh(now)
        return dataclasses.replace(self, approved_at=now, token_id=token_id)

    def collect(self, now: datetime) -> PairingRequest:
        """The device fetches its token: only after approval, only once, only before expiry."""
        if self.collected_at is not None:
            raise Conflict("pairing_code_used", "the token for this code was already collected")
        self._check_fresh(now)
        if self.approved_at is None:
            raise Conflict("pairing_pending", "waiting for a technician to approve this code")
        return dataclasses.replace(self, collected_at=now)

    def _check_fresh(self, now: datetime) -> None:
        if self.is_expired(now):
            raise Conflict(
                "pairing_code_expired",
                "this pairing code has expired; restart pairing on the device for a new one",
            )


def find_request(requests: list[PairingRequest], code: str, key: bytes = b"") -> PairingRequest:
    """The request a typed code belongs to (what the hub's approve endpoint looks up)."""
    wanted = hash_code(code, key)
    for request in requests:
        if hmac.compare_digest(request.code_hash, wanted):
            return request
    raise DomainError("pairing_code_unknown", "no device is waiting with this pairing code")


# --- the device side: the token file, and the code it has open -----------------------------------


def token_path(state_dir: str | Path) -> Path:
    return Path(state_dir) / TOKEN_FILE_NAME


def store_token(state_dir: str | Path, token: str) -> Path:
    """Write the token atomically, mode 0600 from the first byte; returns the file's path."""
    token = token.strip()
    if not token or any(ch.isspace() for ch in token):
        raise Invalid("token_invalid", "the hub sent an empty or malformed token")
    target = token_path(state_dir)
    _write_private(target, token + "\n")
    return target


def store_pending_code(state_dir: str | Path, code: str, secret: str) -> None:
    """Remember the code the device has open and its secret (mode 0600), so that it can withdraw
    the code from the hub when it opens another one, even after a restart."""
    _write_private(Path(state_dir) / PENDING_FILE_NAME, f"{code}\n{secret}\n")


def load_pending_code(state_dir: str | Path) -> tuple[str, str] | None:
    """(code, secret) stored by :func:`store_pending_code`, or None."""
    try:
        code, secret = (Path(state_dir) / PENDING_FILE_NAME).read_text(encoding="ascii").split()
    except (OSError, ValueError):
        return None
    return code, secret


def forget_pending_code(state_dir: str | Path) -> None:
    (Path(state_dir) / PENDING_FILE_NAME).unlink(missing_ok=True)


def _write_private(target: Path, text: str) -> None:
    """Write atomically, mode 0600 from the first byte."""
    target.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp creates the file with mode 0600, so it is never readable by others
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_token(state_dir: str | Path) -> str:
    """The stored token, or "" when the device has not been paired yet."""
    try:
        return token_path(state_dir).read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return ""
