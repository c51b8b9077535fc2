"""Signed appointment codes for the QR: compact binary claims + an Ed25519 signature.

Text form: ``O360:`` followed by the bytes in base32 (upper case, no padding), so the whole code
stays in the QR alphanumeric alphabet, which packs 5.5 bits a character instead of 8.

Bytes (all integers big-endian)::

    version u8 = 1 | flags u8 (bit 0: not-before present)
    kid: u8 length + ASCII | appointment id: unsigned LEB128 varint
    office: u8 length + UTF-8 | service: u8 length + UTF-8
    slot start u32 | expires u32 | [not before u32]     (Unix seconds, UTC)
    signature: 64 bytes, Ed25519 over SIGNING_CONTEXT + all the bytes above

The hub signs with its private key; kiosks verify with public keys from their config, so a forged
or altered code is refused even while the hub is unreachable. Several public keys may be valid at
once (rotation): the key id in the code picks one.

Public keys travel as ``kid:BASE64URL`` (32 raw bytes); private keys as
``kid:ed25519-private:BASE64URL`` so one cannot be pasted where the other belongs by mistake.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from office360.core.errors import DomainError

SCHEME = "O360:"
VERSION = 1
SIGNING_CONTEXT = b"office360/appointment-qr\x00"
SIGNATURE_LEN = 64
_FLAG_NBF = 0x01
_U32_MAX = 2**32 - 1
_ID_MAX = 2**63 - 1
_KID_RE = re.compile(r"[A-Za-z0-9_-]{1,16}")
_B32_RE = re.compile(r"[A-Z2-7]+")
_B32_AS_DIGITS = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789abcdefghijklmnopqrstuv"
)
_B64URL_RE = re.compile(r"[A-Za-z0-9_-]+")
_PRIVATE_TAG = "ed25519-private"

# Codes a kiosk shows to a citizen; keys of CITIZEN_MESSAGES.
QR_MALFORMED = "qr_malformed"
QR_SIGNATURE_INVALID = "qr_signature_invalid"
QR_UNKNOWN_KEY = "qr_unknown_key"
QR_EXPIRED = "qr_expired"
QR_NOT_YET_VALID = "qr_not_yet_valid"
QR_WRONG_OFFICE = "qr_wrong_office"
# Programmer or operator errors.
QR_CLAIMS_INVALID = "qr_claims_invalid"
KEY_MALFORMED = "key_malformed"

CITIZEN_MESSAGES: dict[str, dict[str, str]] = {
    QR_MALFORMED: {
        "es": "Este código no es una cita de esta oficina. Pida ayuda en el mostrador.",
        "en": "This code is not an appointment of this office. Please ask at the counter.",
    },
    QR_SIGNATURE_INVALID: {
        "es": "No podemos validar este código. Pida ayuda en el mostrador.",
        "en": "We cannot validate this code. Please ask at the counter.",
    },
    QR_UNKNOWN_KEY: {
        "es": "No podemos validar este código. Pida ayuda en el mostrador.",
        "en": "We cannot validate this code. Please ask at the counter.",
    },
    QR_EXPIRED: {
        "es": "Este código de cita ha caducado. Puede sacar un número sin cita.",
        "en": "This appointment code has expired. You can take a walk-in number.",
    },
    QR_NOT_YET_VALID: {
        "es": "Este código de cita todavía no es válido. Vuelva el día de su cita.",
        "en": "This appointment code is not valid yet. Please come back on the day of it.",
    },
    QR_WRONG_OFFICE: {
        "es": "Esta cita es para otra oficina. Compruebe la dirección en su confirmación.",
        "en": "This appointment is for another office. Check the address on your confirmation.",
    },
}


class TokenError(DomainError):
    """A code that cannot be accepted; `code` is one of the QR_* or KEY_MALFORMED constants."""


def citizen_message(code: str, lang: str = "es") -> str:
    """The sentence a kiosk shows for a refused code, in `lang` (Spanish if not translated)."""
    texts = CITIZEN_MESSAGES.get(code, CITIZEN_MESSAGES[QR_MALFORMED])
    return texts.get(lang) or texts["es"]


@dataclass(frozen=True)
class Claims:
    """What a code says. Times are timezone-aware; `verify` returns them in UTC, whole seconds.

    `kid` is filled in by `verify`; `sign` takes the key id as an argument.
    """

    appointment_id: int
    office: str
    service: str
    slot_start: datetime
    expires_at: datetime
    not_before: datetime | None = None
    kid: str = ""


# ---------------------------------------------------------------------------------------------
# Signing and verifying


def sign(claims: Claims, private_key: Ed25519PrivateKey, kid: str) -> str:
    """The QR text for `claims`, signed with `private_key` under key id `kid`."""
    if claims.kid and claims.kid != kid:
        raise TokenError(QR_CLAIMS_INVALID, f"claims carry key id {claims.kid!r}, signing {kid!r}")
    payload = encode_payload(replace(claims, kid=kid))
    signature = private_key.sign(SIGNING_CONTEXT + payload)
    return SCHEME + _b32encode(payload + signature)


def verify(
    text: str,
    public_keys: Mapping[str, Ed25519PublicKey],
    now: datetime,
    office: str | None = None,
    leeway: timedelta = timedelta(0),
) -> Claims:
    """The claims of a genuine, current code for `office` (any office if None).

    Checks in this order, raising TokenError with the first code that applies: qr_malformed,
    qr_unknown_key, qr_signature_invalid, qr_expired, qr_not_yet_valid, qr_wrong_office.
    `leeway` tolerates a kiosk clock that is a little off.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    raw = decode_text(text)
    if len(raw) <= SIGNATURE_LEN:
        raise TokenError(QR_MALFORMED, "the code is too short")
    payload, signature = raw[:-SIGNATURE_LEN], raw[-SIGNATURE_LEN:]
    claims = decode_payload(payload)
    key = public_keys.get(claims.kid)
    if key is None:
        raise TokenError(QR_UNKNOWN_KEY, f"no public key with id {claims.kid!r}", kid=claims.kid)
    try:
        key.verify(signature, SIGNING_CONTEXT + payload)
    except InvalidSignature:
        raise TokenError(QR_SIGNATURE_INVALID, "the signature does not match") from None
    if now >= claims.expires_at + leeway:
        raise TokenError(QR_EXPIRED, f"the code expired at {claims.expires_at.isoformat()}")
    if claims.not_before is not None and now < claims.not_before - leeway:
        raise TokenError(
            QR_NOT_YET_VALID, f"the code is valid from {claims.not_before.isoformat()}"
        )
    if office is not None and claims.office != office:
        raise TokenError(
            QR_WRONG_OFFICE,
            f"the code is for office {claims.office!r}, not {office!r}",
            office=claims.office,
        )
    return claims


# ---------------------------------------------------------------------------------------------
# Binary form


def encode_payload(claims: Claims) -> bytes:
    """The unsigned bytes for `claims` (with `claims.kid`); TokenError qr_claims_invalid if
    a field does not fit."""
    _check_kid(claims.kid, QR_CLAIMS_INVALID)
    if not 0 <= claims.appointment_id <= _ID_MAX:
        raise TokenError(QR_CLAIMS_INVALID, f"appointment id out of range: {claims.appointment_id}")
    flags = _FLAG_NBF if claims.not_before is not None else 0
    out = bytearray((VERSION, flags))
    out += _short_bytes(claims.kid.encode("ascii"), "kid")
    out += _varint(claims.appointment_id)
    out += _short_bytes(claims.office.encode("utf-8"), "office")
    out += _short_bytes(claims.service.encode("utf-8"), "service")
    times = [claims.slot_start, claims.expires_at]
    if claims.not_before is not None:
        times.append(claims.not_before)
    for when in times:
        out += struct.pack(">I", _unix_seconds(when))
    return bytes(out)


def decode_payload(payload: bytes) -> Claims:
    """Claims from unsigned bytes; TokenError qr_malformed if they are not well formed."""
    reader = _Reader(payload)
    version = reader.u8()
    if version != VERSION:
        raise TokenError(QR_MALFORMED, f"unsupported code version {version}")
    flags = reader.u8()
    if flags & ~_FLAG_NBF:
        raise TokenError(QR_MALFORMED, f"unknown flags {flags:#04x}")
    kid = reader.short_text("ascii")
    if not _KID_RE.fullmatch(kid):
        raise TokenError(QR_MALFORMED, "bad key id")
    appointment_id = reader.varint()
    office = reader.short_text("utf-8")
    service = reader.short_text("utf-8")
    slot_start = _from_unix(reader.u32())
    expires_at = _from_unix(reader.u32())
    not_before = _from_unix(reader.u32()) if flags & _FLAG_NBF else None
    if not reader.at_end():
        raise TokenError(QR_MALFORMED, "unexpected bytes after the claims")
    if not office or not service:
        raise TokenError(QR_MALFORMED, "empty office or service")
    return Claims(appointment_id, office, service, slot_start, expires_at, not_before, kid)


def decode_text(text: str) -> bytes:
    """The signed bytes inside a QR text; only the canonical encoding is accepted, so no two
    texts carry the same bytes."""
    if not isinstance(text, str):
        raise TokenError(QR_MALFORMED, "the code is not text")
    text = text.strip()
    if not text.startswith(SCHEME):
        raise TokenError(QR_MALFORMED, f"the code does not start with {SCHEME}")
    body = text[len(SCHEME) :]
    if len(body) > 1024 or not _B32_RE.fullmatch(body):
        raise TokenError(QR_MALFORMED, "the code is not valid base32")
    # Unpadded base32 read as one big number (int() is far faster than base64.b32decode).
    # Canonical means: the length is the one n bytes encode to, and the spare low bits are 0.
    n = len(body) * 5 // 8
    spare = len(body) * 5 - n * 8
    if -(-n * 8 // 5) != len(body):
        raise TokenError(QR_MALFORMED, "the code is not valid base32")
    value = int(body.translate(_B32_AS_DIGITS), 32)
    if value & ((1 << spare) - 1):
        raise TokenError(QR_MALFORMED, "the code is not in canonical base32")
    return (value >> spare).to_bytes(n, "big")


def _b32encode(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=")


def _short_bytes(data: bytes, field: str) -> bytes:
    if len(data) > 255:
        raise TokenError(QR_CLAIMS_INVALID, f"{field} is longer than 255 bytes")
    if not data and field != "kid":
        raise TokenError(QR_CLAIMS_INVALID, f"{field} is empty")
    return bytes((len(data),)) + data


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _unix_seconds(when: datetime) -> int:
    if when.tzinfo is None:
        raise TokenError(QR_CLAIMS_INVALID, "times must be timezone-aware")
    seconds = int(when.timestamp())
    if not 0 <= seconds <= _U32_MAX:
        raise TokenError(QR_CLAIMS_INVALID, f"time out of range: {when.isoformat()}")
    return seconds


def _from_unix(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise TokenError(QR_MALFORMED, "the code is cut short")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def u8(self) -> int:
        return self.take(1)[0]

    def u32(self) -> int:
        value: int = struct.unpack(">I", self.take(4))[0]
        return value

    def varint(self) -> int:
        value = shift = 0
        while True:
            byte = self.u8()
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                break
            shift += 7
            if shift > 63:
                raise TokenError(QR_MALFORMED, "appointment id too long")
        if byte == 0 and shift:
            raise TokenError(QR_MALFORMED, "appointment id not minimally encoded")
        if value > _ID_MAX:
            raise TokenError(QR_MALFORMED, "appointment id out of range")
        return value

    def short_text(self, encoding: str) -> str:
        data = self.take(self.u8())
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            raise TokenError(QR_MALFORMED, f"a field is not {encoding} text") from None

    def at_end(self) -> bool:
        return self.pos == len(self.data)


# ---------------------------------------------------------------------------------------------
# Keys


@dataclass(frozen=True)
class SigningKey:
    """The hub's private key and the id codes signed with it carry."""

    kid: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    def sign(self, claims: Claims) -> str:
        return sign(claims, self.private_key, self.kid)

    def public_text(self) -> str:
        return public_key_text(self.kid, self.public_key)

    def private_text(self) -> str:
        raw = self.private_key.private_bytes_raw()
        return f"{self.kid}:{_PRIVATE_TAG}:{_b64url(raw)}"


def new_kid() -> str:
    """A short random key id, e.g. ``k3f9a1c``."""
    return "k" + secrets.token_hex(3)


def generate_signing_key(kid: str | None = None) -> SigningKey:
    kid = kid or new_kid()
    _check_kid(kid, KEY_MALFORMED)
    return SigningKey(kid, Ed25519PrivateKey.generate())


def public_key_text(kid: str, public_key: Ed25519PublicKey) -> str:
    """``kid:BASE64URL``: one line for a kiosk's config."""
    _check_kid(kid, KEY_MALFORMED)
    return f"{kid}:{_b64url(public_key.public_bytes_raw())}"


def parse_public_key(text: str) -> tuple[str, Ed25519PublicKey]:
    parts = text.strip().split(":")
    if len(parts) == 3 and parts[1] == _PRIVATE_TAG:
        raise TokenError(KEY_MALFORMED, "this is a private key; give kiosks the public key")
    if len(parts) != 2:
        raise TokenError(KEY_MALFORMED, "a public key is written kid:BASE64URL")
    kid, encoded = parts
    _check_kid(kid, KEY_MALFORMED)
    raw = _b64url_decode(encoded, 32)
    return kid, Ed25519PublicKey.from_public_bytes(raw)


def parse_public_keys(texts: Iterable[str]) -> dict[str, Ed25519PublicKey]:
    """Several ``kid:BASE64URL`` keys, all valid at once; a repeated key id is an error."""
    keys: dict[str, Ed25519PublicKey] = {}
    for text in texts:
        kid, key = parse_public_key(text)
        if kid in keys:
            raise TokenError(KEY_MALFORMED, f"key id {kid!r} appears twice")
        keys[kid] = key
    return keys


def parse_private_key(text: str) -> SigningKey:
    parts = text.strip().split(":")
    if len(parts) != 3 or parts[1] != _PRIVATE_TAG:
        raise TokenError(KEY_MALFORMED, f"a private key is written kid:{_PRIVATE_TAG}:BASE64URL")
    kid, _, encoded = parts
    _check_kid(kid, KEY_MALFORMED)
    raw = _b64url_decode(encoded, 32)
    return SigningKey(kid, Ed25519PrivateKey.from_private_bytes(raw))


@dataclass(frozen=True)
class KeyRing:
    """The hub's keys: one signs new codes; retired public keys still verify codes already given
    out, until the appointments they were issued for are over."""

    signing: SigningKey
    retired: tuple[tuple[str, Ed25519PublicKey], ...] = ()

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        keys = dict(self.retired)
        keys[self.signing.kid] = self.signing.public_key
        return keys

    def public_texts(self) -> list[str]:
        return [public_key_text(kid, key) for kid, key in self.public_keys().items()]

    def rotate(self, keep: int = 1, kid: str | None = None) -> KeyRing:
        """A new signing key; the current one is retired; at most `keep` retired keys remain,
        newest first."""
        new = generate_signing_key(kid)
        known = {k for k, _ in self.retired} | {self.signing.kid}
        if new.kid in known:
            raise TokenError(KEY_MALFORMED, f"key id {new.kid!r} is already in the ring")
        retired = ((self.signing.kid, self.signing.public_key), *self.retired)
        return KeyRing(new, retired[: max(keep, 0)])

    def to_text(self) -> str:
        """The key file: the private key first, then retired public keys; keep it mode 0600."""
        lines = ["# office360 QR signing keys: keep this file private (mode 0600)"]
        lines.append(f"signing {self.signing.private_text()}")
        lines += [f"retired {public_key_text(kid, key)}" for kid, key in self.retired]
        return "\n".join(lines) + "\n"

    @classmethod
    def from_text(cls, text: str) -> KeyRing:
        signing: SigningKey | None = None
        retired: list[tuple[str, Ed25519PublicKey]] = []
        for number, line in enumerate(text.splitlines(), start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            word, _, value = line.partition(" ")
            try:
                if word == "signing" and signing is None:
                    signing = parse_private_key(value)
                elif word == "retired":
                    retired.append(parse_public_key(value))
                else:
                    raise TokenError(KEY_MALFORMED, "expected one 'signing' line, 'retired' lines")
            except TokenError as exc:
                raise TokenError(KEY_MALFORMED, f"line {number}: {exc.message}") from None
        if signing is None:
            raise TokenError(KEY_MALFORMED, "the key file has no 'signing' line")
        kids = [signing.kid, *(kid for kid, _ in retired)]
        if len(set(kids)) != len(kids):
            raise TokenError(KEY_MALFORMED, "a key id appears twice in the key file")
        return cls(signing, tuple(retired))


def _check_kid(kid: str, code: str) -> None:
    if not isinstance(kid, str) or not _KID_RE.fullmatch(kid):
        raise TokenError(code, f"a key id is 1-16 letters, digits, '-' or '_' (got {kid!r})")


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _b64url_decode(encoded: str, length: int) -> bytes:
    if not _B64URL_RE.fullmatch(encoded):
        raise TokenError(KEY_MALFORMED, "the key is not base64url text")
    try:
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError):
        raise TokenError(KEY_MALFORMED, "the key is not base64url text") from None
    if len(raw) != length:
        raise TokenError(KEY_MALFORMED, f"the key must be {length} bytes, got {len(raw)}")
    return raw
