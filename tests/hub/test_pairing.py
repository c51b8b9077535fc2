"""Enrollment end to end: a device shows a code, a technician approves it, the device gets a token."""

from __future__ import annotations

import subprocess
import sys

import requests
from sqlalchemy import create_engine, text

from hub.pairing import MAX_PENDING, MAX_PENDING_PER_ADDRESS, RETRY_AFTER_MAX_S
from office360.enrollment import ALPHABET, hash_secret
from tests.hubtools import ROOT, LiveHub, ThreadHub, database_url_for


def pair(
    hub: ThreadHub | LiveHub, code: str, role: str = "kiosk", address: str = ""
) -> requests.Response:
    """Open CODE; `address` poses as that client (uvicorn trusts X-Forwarded-For from loopback)."""
    return requests.post(
        f"{hub.url}/api/v1/pairing",
        json={"code": code, "role": role, "device": "kiosk-door"},
        headers={"X-Forwarded-For": address} if address else {},
        timeout=5,
    )


def collect(hub: ThreadHub | LiveHub, code: str, secret: str | None) -> requests.Response:
    body = {"code": code} if secret is None else {"code": code, "secret": secret}
    return requests.post(f"{hub.url}/api/v1/pairing/collect", json=body, timeout=5)


def approve(hub: ThreadHub | LiveHub, code: str, role: str = "admin") -> requests.Response:
    return requests.post(
        f"{hub.url}/api/v1/pairing/approve",
        json={"code": code},
        headers=hub.headers(role),
        timeout=5,
    )


def test_pair_approve_collect_once(thread_hub: ThreadHub) -> None:
    opened = pair(thread_hub, "KD47XQ").json()
    assert opened["status"] == "pending"
    secret = opened["secret"]
    waiting = collect(thread_hub, "KD47XQ", secret)
    assert (waiting.status_code, waiting.json()["status"]) == (202, "pending")
    assert approve(thread_hub, "kd4-7xq").json()["status"] == "approved"  # as typed by a person
    got = collect(thread_hub, "KD47XQ", secret)
    assert got.status_code == 200
    token = got.json()["token"]
    issued = requests.post(
        f"{thread_hub.url}/api/v1/tickets",
        json={"service": "general"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert issued.status_code == 201  # a kiosk token
    again = collect(thread_hub, "KD47XQ", secret)
    assert (again.status_code, again.json()["error"]) == (409, "pairing_code_used")


def test_a_code_is_approved_once(thread_hub: ThreadHub) -> None:
    pair(thread_hub, "ACDEFG")
    assert approve(thread_hub, "ACDEFG").status_code == 200
    second = approve(thread_hub, "ACDEFG")
    assert (second.status_code, second.json()["error"]) == (409, "pairing_code_used")


def test_expired_code(thread_hub: ThreadHub) -> None:
    secret = pair(thread_hub, "HJKMNP").json()["secret"]
    thread_hub.clock.advance(minutes=11)
    r = approve(thread_hub, "HJKMNP")
    assert (r.status_code, r.json()["error"]) == (409, "pairing_code_expired")
    r = collect(thread_hub, "HJKMNP", secret)
    assert (r.status_code, r.json()["error"]) == (409, "pairing_code_expired")


def test_unknown_code_and_rights(thread_hub: ThreadHub) -> None:
    r = approve(thread_hub, "QRTWXY")
    assert (r.status_code, r.json()["error"]) == (404, "pairing_code_unknown")
    pair(thread_hub, "QRTWXY")
    r = approve(thread_hub, "QRTWXY", role="kiosk")
    assert (r.status_code, r.json()["error"]) == (403, "forbidden")
    r = requests.post(
        f"{thread_hub.url}/api/v1/pairing/approve", json={"code": "QRTWXY"}, timeout=5
    )
    assert r.status_code == 401


def test_codes_with_confusable_letters_are_refused(thread_hub: ThreadHub) -> None:
    r = pair(thread_hub, "O0I1LB")
    assert r.status_code in (400, 422)


def test_approve_from_the_command_line(live_hub: LiveHub) -> None:
    opened = pair(live_hub, "TWXY34", role="display")
    assert opened.status_code == 200
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "office360",
            "device",
            "approve",
            "--config",
            str(live_hub.config),
            "TWX-Y34",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "approved display" in run.stdout
    token = collect(live_hub, "TWXY34", opened.json()["secret"]).json()["token"]
    events = requests.get(
        f"{live_hub.url}/api/v1/queue", headers={"Authorization": f"Bearer {token}"}, timeout=5
    )
    assert events.status_code == 200
    again = subprocess.run(
        [
            sys.executable,
            "-m",
            "office360",
            "device",
            "approve",
            "--config",
            str(live_hub.config),
            "TWXY34",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert again.returncode == 1 and "pairing_code_used" in again.stderr


def test_only_the_device_that_opened_a_code_collects_its_token(thread_hub: ThreadHub) -> None:
    secret = pair(thread_hub, "KXP9WT").json()["secret"]
    assert len(secret) >= 43  # 32 random bytes
    for bystander in (None, "", "a-guess", secret[:-1] + ("A" if secret[-1] != "A" else "B")):
        r = collect(thread_hub, "KXP9WT", bystander)  # pending: not even that is told
        assert (r.status_code, r.json()["error"]) == (404, "pairing_secret_invalid")
    assert approve(thread_hub, "KXP9WT").status_code == 200
    for bystander in (None, "a-guess"):
        r = collect(thread_hub, "KXP9WT", bystander)
        assert (r.status_code, r.json()["error"]) == (404, "pairing_secret_invalid")
    got = collect(thread_hub, "KXP9WT", secret)  # the bystander consumed nothing
    assert got.status_code == 200 and got.json()["token"]
    # the hub keeps only the secret's hash
    engine = create_engine(database_url_for(thread_hub.config))
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT secret_hash FROM pairing_requests")).scalar_one()
    engine.dispose()
    assert stored == hash_secret(secret) and secret not in stored


def test_pending_requests_are_limited_per_address(thread_hub: ThreadHub) -> None:
    codes = iter(a + b + "TWXY" for a in ALPHABET for b in ALPHABET)
    for _ in range(MAX_PENDING_PER_ADDRESS):
        assert pair(thread_hub, next(codes), address="10.0.0.7").status_code == 200
    flood = pair(thread_hub, next(codes), address="10.0.0.7")
    assert (flood.status_code, flood.json()["error"]) == (429, "pairing_busy")
    other = pair(thread_hub, "KD47XQ", address="10.0.0.8")  # everybody else still pairs
    assert other.status_code == 200
    assert approve(thread_hub, "KD47XQ").status_code == 200
    secret = other.json()["secret"]
    assert collect(thread_hub, "KD47XQ", secret).status_code == 200
    thread_hub.clock.advance(minutes=11)  # expired requests stop counting
    assert pair(thread_hub, next(codes), address="10.0.0.7").status_code == 200


def cancel(hub: ThreadHub | LiveHub, code: str, secret: str) -> requests.Response:
    return requests.post(
        f"{hub.url}/api/v1/pairing/cancel", json={"code": code, "secret": secret}, timeout=5
    )


def test_a_busy_hub_says_when_a_place_frees(thread_hub: ThreadHub) -> None:
    """Retry-After: until the first request counted against the limit expires, 1 to 60 s."""
    codes = iter(a + b + "KMNP" for a in ALPHABET for b in ALPHABET)
    for _ in range(MAX_PENDING_PER_ADDRESS):
        assert pair(thread_hub, next(codes), address="10.0.0.9").status_code == 200
    busy = pair(thread_hub, next(codes), address="10.0.0.9")
    assert (busy.status_code, busy.json()["error"]) == (429, "pairing_busy")
    assert busy.headers["Retry-After"] == str(RETRY_AFTER_MAX_S)  # 10 minutes away
    thread_hub.clock.advance(minutes=9, seconds=48)
    busy = pair(thread_hub, next(codes), address="10.0.0.9")
    assert (busy.status_code, busy.headers["Retry-After"]) == (429, "12")
    thread_hub.clock.advance(seconds=12)
    assert pair(thread_hub, next(codes), address="10.0.0.9").status_code == 200


def test_a_full_hub_says_when_a_place_frees(thread_hub: ThreadHub) -> None:
    codes = iter(a + b + "QRTW" for a in ALPHABET for b in ALPHABET)
    for n in range(MAX_PENDING):
        if n == 1:
            thread_hub.clock.advance(seconds=30)
        address = f"10.1.0.{n // MAX_PENDING_PER_ADDRESS}"
        assert pair(thread_hub, next(codes), address=address).status_code == 200
    thread_hub.clock.advance(minutes=9, seconds=25)
    full = pair(thread_hub, next(codes), address="10.2.0.1")
    assert (full.status_code, full.json()["error"]) == (429, "pairing_busy")
    assert full.headers["Retry-After"] == "5"  # the first one, opened 30 s before the others


def test_a_device_withdraws_its_previous_code_with_its_secret(thread_hub: ThreadHub) -> None:
    """So that its stale codes stop holding the places of its address; only its secret does."""
    codes = [a + "CDEFG" for a in ALPHABET[:MAX_PENDING_PER_ADDRESS]]
    secrets = [pair(thread_hub, code, address="10.0.0.5").json()["secret"] for code in codes]
    assert pair(thread_hub, "HJKMNP", address="10.0.0.5").status_code == 429
    for wrong in ("", "a-guess", secrets[1]):  # another device's secret is no better
        r = cancel(thread_hub, codes[0], wrong)
        assert r.status_code in (404, 422)
        if r.status_code == 404:
            assert r.json()["error"] == "pairing_secret_invalid"
    assert pair(thread_hub, "HJKMNP", address="10.0.0.5").status_code == 429  # nothing changed
    r = cancel(thread_hub, codes[0], secrets[0])
    assert (r.status_code, r.json()) == (200, {"status": "cancelled"})
    assert pair(thread_hub, "HJKMNP", address="10.0.0.5").status_code == 200  # its place is free
    for gone in (approve(thread_hub, codes[0]), collect(thread_hub, codes[0], secrets[0])):
        assert (gone.status_code, gone.json()["error"]) == (404, "pairing_code_unknown")
    r = cancel(thread_hub, codes[0], secrets[0])
    assert (r.status_code, r.json()["error"]) == (404, "pairing_code_unknown")
    # a code whose token was collected stays as it is
    assert approve(thread_hub, codes[1]).status_code == 200
    assert collect(thread_hub, codes[1], secrets[1]).status_code == 200
    r = cancel(thread_hub, codes[1], secrets[1])
    assert (r.status_code, r.json()["error"]) == (409, "pairing_code_used")
    again = collect(thread_hub, codes[1], secrets[1])
    assert (again.status_code, again.json()["error"]) == (409, "pairing_code_used")
