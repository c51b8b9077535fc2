"""The hub's QR signing keys in a private file under data_dir (mode 0600).

The hub re-reads the file when it changes, so `office360 keys rotate` takes effect without a
restart; codes signed with a retired key keep verifying while the ring keeps that key.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from office360.core.errors import DomainError
from office360.qrtoken import KeyRing, TokenError, generate_signing_key

log = logging.getLogger("office360.hub.keys")


class KeyFileError(DomainError):
    """The key file is missing, unreadable or not a key ring."""


def read_ring(path: Path) -> KeyRing:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KeyFileError(
            "keys_missing", f"{path}: no QR signing keys; run `office360 keys create`"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError("keys_unreadable", f"{path}: cannot read the key file ({exc})") from None
    try:
        return KeyRing.from_text(text)
    except TokenError as exc:
        raise KeyFileError("keys_malformed", f"{path}: {exc.message}") from None


def write_ring(path: Path, ring: KeyRing) -> None:
    """Replace the key file atomically; it is never readable by anyone but its owner."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(ring.to_text())
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def create_ring(path: Path, *, force: bool = False, kid: str | None = None) -> KeyRing:
    if path.exists() and not force:
        raise KeyFileError(
            "keys_exist", f"{path} already holds keys; use `office360 keys rotate` (or --force)"
        )
    ring = KeyRing(generate_signing_key(kid))
    write_ring(path, ring)
    return ring


def rotate_ring(path: Path, keep: int, kid: str | None = None) -> KeyRing:
    ring = read_ring(path).rotate(keep=keep, kid=kid)
    write_ring(path, ring)
    return ring


class KeyStore:
    """The current ring, re-read whenever the file's modification time changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._ring: KeyRing | None = None
        self._stamp: tuple[int, int] | None = None

    def load_or_create(self) -> KeyRing:
        with self._lock:
            if not self.path.exists():
                create_ring(self.path)
                log.warning("made new QR signing keys in %s", self.path)
            elif self.path.stat().st_mode & 0o077:
                log.warning("%s is readable by other users: chmod 600 it", self.path)
        return self.ring()

    def ring(self) -> KeyRing:
        try:
            st = self.path.stat()
        except OSError:
            st = None
        stamp = (st.st_mtime_ns, st.st_size) if st else None
        with self._lock:
            if self._ring is None or stamp != self._stamp:
                if st is None and self._ring is not None:
                    return self._ring  # the file is being replaced: keep the last good ring
                self._ring = read_ring(self.path)
                self._stamp = stamp
            return self._ring
