"""Pairing codes: the rules the hub applies, and the device's token file."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from office360.core.errors import DomainError
from office360.enrollment import (
    ALPHABET,
    CODE_TTL,
    PairingRequest,
    find_request,
    format_code,
    hash_code,
    hash_secret,
    load_token,
    new_pairing_code,
    new_pairing_secret,
    normalize_code,
    store_token,
    token_path,
)

T0 = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
KEY = b"hub-secret"


def test_codes_are_short_and_unambiguous() -> None:
    codes = {new_pairing_code() for _ in range(500)}
    assert len(codes) > 490  # random, not a counter
    for code in codes:
        assert len(code) == 6
        assert set(code) <= set(ALPHABET)
    assert not set("0O1IL2Z5S8BUV") & set(ALPHABET)


@pytest.mark.parametrize(
    ("typed", "code"),
    [("K7F-M3X", "K7FM3X"), ("k7f m3x", "K7FM3X"), (" K7FM3X\t", "K7FM3X"), ("k7f_m3x", "K7FM3X")],
)
def test_normalize_what_people_type(typed: str, code: str) -> None:
    assert normalize_code(typed) == code


@pytest.mark.parametrize("typed", ["", "K7FM3", "K7FM3XX", "K0FM3X", "K7F-M3?", "ÑANDÚ1"])
def test_bad_codes_get_a_coded_error(typed: str) -> None:
    with pytest.raises(DomainError) as caught:
        normalize_code(typed)
    assert caught.value.code == "pairing_code_invalid"


def test_format_code() -> None:
    assert format_code("K7FM3X") == "K7F-M3X"


def test_hash_is_keyed_and_ignores_how_the_code_was_typed() -> None:
    assert hash_code("K7FM3X", KEY) == hash_code("k7f-m3x", KEY)
    assert hash_code("K7FM3X", KEY) != hash_code("K7FM3X", b"other")
    assert hash_code("K7FM3X", KEY) != hash_code("K7FM3Y", KEY)
    assert "K7FM3X" not in hash_code("K7FM3X", KEY)
    assert len(hash_code("K7FM3X")) == 64


def opened(code: str = "K7FM3X") -> PairingRequest:
    return PairingRequest.open(code, "kiosk", "centro", "kiosk-entrada", T0, key=KEY)


def test_end_to_end_approve_then_collect() -> None:
    code = new_pairing_code()
    pending = opened(code)
    assert pending.code_hash == hash_code(code, KEY)
    assert pending.expires_at == T0 + CODE_TTL
    assert pending.matches(format_code(code).lower(), KEY)
    with pytest.raises(DomainError) as early:
        pending.collect(T0 + timedelta(seconds=5))
    assert early.value.code == "pairing_pending"
    approved = find_request([opened("ACDEFG"), pending], code, KEY).approve(
        "tok-17", T0 + timedelta(minutes=2)
    )
    assert approved.token_id == "tok-17"
    assert pending.approved_at is None  # immutable: the hub stores the new value
    collected = approved.collect(T0 + timedelta(minutes=3))
    assert collected.collected_at == T0 + timedelta(minutes=3)


def test_an_expired_code_is_refused() -> None:
    pending = opened()
    assert not pending.is_expired(T0 + CODE_TTL - timedelta(seconds=1))
    assert pending.is_expired(T0 + CODE_TTL)
    with pytest.raises(DomainError) as caught:
        pending.approve("tok-1", T0 + CODE_TTL + timedelta(seconds=1))
    assert caught.value.code == "pairing_code_expired"
    approved = pending.approve("tok-1", T0 + timedelta(minutes=9))
    with pytest.raises(DomainError) as late:
        approved.collect(T0 + timedelta(minutes=11))
    assert late.value.code == "pairing_code_expired"


def test_a_code_is_used_once() -> None:
    approved = opened().approve("tok-1", T0 + timedelta(minutes=1))
    with pytest.raises(DomainError) as twice:
        approved.approve("tok-2", T0 + timedelta(minutes=2))
    assert twice.value.code == "pairing_code_used"
    collected = approved.collect(T0 + timedelta(minutes=2))
    with pytest.raises(DomainError) as again:
        collected.collect(T0 + timedelta(minutes=3))
    assert again.value.code == "pairing_code_used"


def test_only_the_opening_device_s_secret_collects() -> None:
    secret = new_pairing_secret()
    assert len(secret) >= 43 and secret != new_pairing_secret()
    request = PairingRequest.open("K7FM3X", "kiosk", "centro", "k1", T0, key=KEY, secret=secret)
    assert request.secret_hash == hash_secret(secret) != secret
    request.check_secret(secret)
    without = PairingRequest.open("K7FM3X", "kiosk", "centro", "k1", T0, key=KEY)
    for candidate, secret_of in ((request, ""), (request, "guess"), (without, ""), (without, "x")):
        with pytest.raises(DomainError) as refused:
            candidate.check_secret(secret_of)
        assert refused.value.code == "pairing_secret_invalid"


def test_unknown_and_malformed_codes() -> None:
    with pytest.raises(DomainError) as unknown:
        find_request([opened()], "ACDEFG", KEY)
    assert unknown.value.code == "pairing_code_unknown"
    with pytest.raises(DomainError) as bad:
        find_request([opened()], "hello!", KEY)
    assert bad.value.code == "pairing_code_invalid"
    assert not opened().matches("hello!", KEY)
    with pytest.raises(DomainError) as role:
        PairingRequest.open("K7FM3X", "admin", "centro", "x", T0)  # type: ignore[arg-type]
    assert role.value.code == "pairing_role_invalid"


def test_token_file_is_private_and_replaced_atomically(tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert load_token(state) == ""
    old_umask = os.umask(0o000)  # even a careless umask must not expose the token
    try:
        path = store_token(state, "first-token")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        store_token(state, " second-token\n")
    finally:
        os.umask(old_umask)
    assert path == token_path(state)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.stat().st_uid == os.getuid()
    assert load_token(state) == "second-token"
    assert sorted(p.name for p in state.iterdir()) == ["device.token"]  # no temp file left


@pytest.mark.parametrize("token", ["", "   ", "two words"])
def test_malformed_token_is_refused(tmp_path: Path, token: str) -> None:
    with pytest.raises(DomainError) as caught:
        store_token(tmp_path, token)
    assert caught.value.code == "token_invalid"
    assert not token_path(tmp_path).exists()
