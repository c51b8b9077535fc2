"""Signed QR codes: round trip, tampering, expiry, office, key ids and rotation."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from office360 import qrtoken
from office360.qrtoken import (
    SCHEME,
    Claims,
    KeyRing,
    TokenError,
    decode_text,
    generate_signing_key,
    parse_private_key,
    parse_public_key,
    parse_public_keys,
    public_key_text,
    sign,
    verify,
)

SLOT = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
BEFORE = SLOT - timedelta(minutes=20)
CLAIMS = Claims(
    appointment_id=918_273,
    office="centro",
    service="certificates",
    slot_start=SLOT,
    expires_at=SLOT + timedelta(hours=1),
)
B32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


@pytest.fixture(scope="module")
def key() -> qrtoken.SigningKey:
    return generate_signing_key("k1")


@pytest.fixture(scope="module")
def token(key: qrtoken.SigningKey) -> str:
    return key.sign(CLAIMS)


def keys_of(*signing: qrtoken.SigningKey) -> dict[str, object]:
    return {k.kid: k.public_key for k in signing}


def code_of(text: str, key: qrtoken.SigningKey, now: datetime = BEFORE, **kw: object) -> str:
    with pytest.raises(TokenError) as info:
        verify(text, keys_of(key), now, **kw)  # type: ignore[arg-type]
    return info.value.code


def test_round_trip_returns_the_claims_with_the_key_id(token: str, key: qrtoken.SigningKey):
    claims = verify(token, keys_of(key), BEFORE, office="centro")  # type: ignore[arg-type]
    assert claims == Claims(
        918_273, "centro", "certificates", SLOT, SLOT + timedelta(hours=1), None, "k1"
    )


def test_text_is_qr_alphanumeric_and_compact(token: str):
    assert token.startswith(SCHEME)
    assert set(token) <= set(B32_ALPHABET + "O360:")
    assert len(token) < 180  # fits a version 7 QR at level M


def test_non_ascii_office_and_large_ids_round_trip(key: qrtoken.SigningKey):
    claims = Claims(
        2**63 - 1,
        "logroño",
        "trámites",
        SLOT,
        SLOT + timedelta(days=1),
        not_before=SLOT - timedelta(hours=2),
    )
    back = verify(key.sign(claims), keys_of(key), SLOT)  # type: ignore[arg-type]
    assert (back.appointment_id, back.office, back.service) == (2**63 - 1, "logroño", "trámites")
    assert back.not_before == SLOT - timedelta(hours=2)


def test_every_decoded_byte_flipped_is_rejected(token: str, key: qrtoken.SigningKey):
    raw = decode_text(token)
    codes: set[str] = set()
    for i in range(len(raw)):
        for mask in (0x01, 0x80, 0xFF):
            tampered = bytearray(raw)
            tampered[i] ^= mask
            text = SCHEME + base64.b32encode(bytes(tampered)).decode().rstrip("=")
            code = code_of(text, key)
            assert code in {"qr_malformed", "qr_signature_invalid", "qr_unknown_key"}, (i, mask)
            codes.add(code)
    assert codes == {"qr_malformed", "qr_signature_invalid", "qr_unknown_key"}


def test_every_character_of_the_text_changed_is_rejected(token: str, key: qrtoken.SigningKey):
    for i, original in enumerate(token):
        for replacement in {"A", "B", "7", "2", "Z", "a", "0", ":", " "} - {original}:
            text = token[:i] + replacement + token[i + 1 :]
            code = code_of(text, key)
            assert code in {"qr_malformed", "qr_signature_invalid", "qr_unknown_key"}, (i, text)


def test_truncated_extended_and_garbage_texts_are_malformed(token: str, key: qrtoken.SigningKey):
    for text in (
        token[:-1],
        token[:-8],
        token + "A",
        token + "AAAAAAAA",
        "",
        "O360:",
        token.lower(),
        token.replace("O360:", "X360:"),
        "https://example.org/x",
        SCHEME + "A" * 2000,
        SCHEME + "AAAAAAAA" * 10,
    ):
        assert code_of(text, key) == "qr_malformed", text


def test_non_text_input_is_malformed(key: qrtoken.SigningKey):
    assert code_of(b"O360:AAAA", key) == "qr_malformed"  # type: ignore[arg-type]


def test_scanner_newline_is_tolerated(token: str, key: qrtoken.SigningKey):
    assert verify(token + "\r\n", keys_of(key), BEFORE).appointment_id == 918_273  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("now", "leeway", "expected"),
    [
        (SLOT + timedelta(minutes=59, seconds=59), timedelta(0), None),
        (SLOT + timedelta(hours=1), timedelta(0), "qr_expired"),
        (SLOT + timedelta(days=30), timedelta(0), "qr_expired"),
        (SLOT + timedelta(hours=1, minutes=1), timedelta(minutes=2), None),
    ],
)
def test_expiry(token: str, key: qrtoken.SigningKey, now, leeway, expected):
    if expected is None:
        assert verify(token, keys_of(key), now, leeway=leeway).expires_at > now - leeway  # type: ignore[arg-type]
    else:
        assert code_of(token, key, now, leeway=leeway) == expected


def test_not_before(key: qrtoken.SigningKey):
    claims = Claims(
        1,
        "centro",
        "general",
        SLOT,
        SLOT + timedelta(hours=1),
        not_before=SLOT - timedelta(hours=1),
    )
    text = key.sign(claims)
    assert code_of(text, key, SLOT - timedelta(hours=1, seconds=1)) == "qr_not_yet_valid"
    assert verify(text, keys_of(key), SLOT - timedelta(hours=1)).appointment_id == 1  # type: ignore[arg-type]


def test_wrong_office(token: str, key: qrtoken.SigningKey):
    with pytest.raises(TokenError) as info:
        verify(token, keys_of(key), BEFORE, office="norte")  # type: ignore[arg-type]
    assert info.value.code == "qr_wrong_office"
    assert info.value.details == {"office": "centro"}


def test_expired_is_reported_before_wrong_office(token: str, key: qrtoken.SigningKey):
    assert code_of(token, key, SLOT + timedelta(hours=2), office="norte") == "qr_expired"


def test_unknown_key_id(token: str):
    other = generate_signing_key("k2")
    with pytest.raises(TokenError) as info:
        verify(token, keys_of(other), BEFORE)  # type: ignore[arg-type]
    assert info.value.code == "qr_unknown_key"
    assert info.value.details == {"kid": "k1"}


def test_forged_with_another_key_under_a_known_id(key: qrtoken.SigningKey):
    forger = Ed25519PrivateKey.generate()
    forged = sign(CLAIMS, forger, key.kid)
    assert code_of(forged, key) == "qr_signature_invalid"


def test_signature_of_one_code_on_another_payload_is_rejected(key: qrtoken.SigningKey):
    a = decode_text(key.sign(CLAIMS))
    b = decode_text(key.sign(Claims(7, "centro", "general", SLOT, SLOT + timedelta(hours=1))))
    spliced = b[:-64] + a[-64:]
    text = SCHEME + base64.b32encode(spliced).decode().rstrip("=")
    assert code_of(text, key) == "qr_signature_invalid"


def test_rotation_keeps_old_codes_valid_until_the_key_is_dropped():
    ring = KeyRing(generate_signing_key("k2025a"))
    old_code = ring.signing.sign(CLAIMS)
    ring = ring.rotate(kid="k2025b")
    new_code = ring.signing.sign(CLAIMS)
    kiosk_keys = parse_public_keys(ring.public_texts())
    assert set(kiosk_keys) == {"k2025a", "k2025b"}
    assert verify(old_code, kiosk_keys, BEFORE).kid == "k2025a"
    assert verify(new_code, kiosk_keys, BEFORE).kid == "k2025b"
    ring = ring.rotate(kid="k2025c", keep=1)
    kiosk_keys = parse_public_keys(ring.public_texts())
    assert set(kiosk_keys) == {"k2025b", "k2025c"}
    with pytest.raises(TokenError) as info:
        verify(old_code, kiosk_keys, BEFORE)
    assert info.value.code == "qr_unknown_key"


def test_key_ids_with_a_trailing_newline_are_refused():
    with pytest.raises(TokenError) as info:
        generate_signing_key("k1\n")
    assert info.value.code == "key_malformed"


def test_rotate_refuses_a_key_id_already_in_the_ring():
    ring = KeyRing(generate_signing_key("k1")).rotate(kid="k2")
    with pytest.raises(TokenError) as info:
        ring.rotate(kid="k1")
    assert info.value.code == "key_malformed"


def test_key_ring_file_round_trip():
    ring = KeyRing(generate_signing_key("a")).rotate(kid="b").rotate(kid="c", keep=2)
    text = ring.to_text()
    back = KeyRing.from_text(text)
    assert back.signing.kid == "c"
    assert [kid for kid, _ in back.retired] == ["b", "a"]
    code = back.signing.sign(CLAIMS)
    assert verify(code, ring.public_keys(), BEFORE).kid == "c"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "# only a comment\n",
        "retired a:" + "A" * 43 + "\n",
        "signing nonsense\n",
        "bogus line\n",
    ],
)
def test_bad_key_files_are_refused_with_a_code(text: str):
    with pytest.raises(TokenError) as info:
        KeyRing.from_text(text)
    assert info.value.code == "key_malformed"


def test_public_key_text_round_trip(key: qrtoken.SigningKey):
    text = key.public_text()
    kid, public = parse_public_key(text)
    assert kid == "k1"
    assert public_key_text(kid, public) == text
    assert len(text) == len("k1:") + 43


def test_private_key_text_round_trip(key: qrtoken.SigningKey):
    back = parse_private_key(key.private_text())
    assert back.kid == key.kid
    assert back.public_text() == key.public_text()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "k1",
        "k1:",
        "k1:not base64!",
        "k1:" + "A" * 42,  # 31 bytes
        "k1:" + "A" * 44,
        "bad kid with spaces:" + "A" * 43,
        "k" * 17 + ":" + "A" * 43,
        "k1:extra:" + "A" * 43,
        "k1:" + "A" * 20 + "\n" + "A" * 23,
    ],
)
def test_bad_public_keys_are_refused_with_a_code(text: str):
    with pytest.raises(TokenError) as info:
        parse_public_key(text)
    assert info.value.code == "key_malformed"


def test_a_private_key_given_as_public_gets_a_clear_error(key: qrtoken.SigningKey):
    with pytest.raises(TokenError, match="private key") as info:
        parse_public_key(key.private_text())
    assert info.value.code == "key_malformed"


def test_duplicate_key_ids_in_config_are_refused(key: qrtoken.SigningKey):
    with pytest.raises(TokenError, match="twice"):
        parse_public_keys([key.public_text(), key.public_text()])


@pytest.mark.parametrize(
    "claims",
    [
        Claims(-1, "centro", "general", SLOT, SLOT),
        Claims(2**63, "centro", "general", SLOT, SLOT),
        Claims(1, "", "general", SLOT, SLOT),
        Claims(1, "x" * 256, "general", SLOT, SLOT),
        Claims(1, "centro", "general", SLOT.replace(tzinfo=None), SLOT),
        Claims(1, "centro", "general", datetime(2200, 1, 1, tzinfo=UTC), SLOT),
        Claims(1, "centro", "general", SLOT, SLOT, kid="other"),
    ],
)
def test_claims_that_do_not_fit_are_refused_when_signing(claims: Claims, key: qrtoken.SigningKey):
    with pytest.raises(TokenError) as info:
        key.sign(claims)
    assert info.value.code == "qr_claims_invalid"


def test_citizen_messages_exist_in_spanish_and_english():
    for code in (
        "qr_malformed",
        "qr_signature_invalid",
        "qr_unknown_key",
        "qr_expired",
        "qr_not_yet_valid",
        "qr_wrong_office",
    ):
        es, en = qrtoken.citizen_message(code, "es"), qrtoken.citizen_message(code, "en")
        assert es and en and es != en
    assert qrtoken.citizen_message("qr_expired", "fr") == qrtoken.citizen_message("qr_expired")


def test_naive_now_is_a_programming_error(token: str, key: qrtoken.SigningKey):
    with pytest.raises(ValueError, match="timezone-aware"):
        verify(token, keys_of(key), BEFORE.replace(tzinfo=None))  # type: ignore[arg-type]


def test_decoder_agrees_with_base64_and_accepts_only_canonical_text():
    for n in range(1, 120):
        raw = bytes((i * 37 + n) % 256 for i in range(n))
        body = base64.b32encode(raw).decode().rstrip("=")
        assert decode_text(SCHEME + body) == raw
        for char in B32_ALPHABET:  # the last character also carries spare bits
            text = body[:-1] + char
            try:
                decoded = decode_text(SCHEME + text)
            except TokenError as exc:
                assert exc.code == "qr_malformed"
            else:
                assert base64.b32encode(decoded).decode().rstrip("=") == text
        for cut in (1, 2, 3):  # lengths no byte string encodes to are refused
            shorter = body[:-cut]
            if len(shorter) % 8 in (1, 3, 6):
                with pytest.raises(TokenError):
                    decode_text(SCHEME + shorter)
