"""Enrollment end to end: a device shows a code, a technician approves it, the device gets a token."""

from __future__ import annotations

import subprocess
import sys

import requests

from tests.hubtools import ROOT, LiveHub, ThreadHub


def pair(hub: ThreadHub | LiveHub, code: str, role: str = "kiosk") -> requests.Response:
    return requests.post(
        f"{hub.url}/api/v1/pairing",
        json={"code": code, "role": role, "device": "kiosk-door"},
        timeout=5,
    )


def collect(hub: ThreadHub | LiveHub, code: str) -> requests.Response:
    return requests.post(f"{hub.url}/api/v1/pairing/collect", json={"code": code}, timeout=5)


def approve(hub: ThreadHub | LiveHub, code: str, role: str = "admin") -> requests.Response:
    return requests.post(
        f"{hub.url}/api/v1/pairing/approve",
        json={"code": code},
        headers=hub.headers(role),
        timeout=5,
    )


def test_pair_approve_collect_once(thread_hub: ThreadHub) -> None:
    assert pair(thread_hub, "KD47XQ").json()["status"] == "pending"
    waiting = collect(thread_hub, "KD47XQ")
    assert (waiting.status_code, waiting.json()["status"]) == (202, "pending")
    assert approve(thread_hub, "kd4-7xq").json()["status"] == "approved"  # as typed by a person
    got = collect(thread_hub, "KD47XQ")
    assert got.status_code == 200
    token = got.json()["token"]
    issued = requests.post(
        f"{thread_hub.url}/api/v1/tickets",
        json={"service": "general"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert issued.status_code == 201  # a kiosk token
    again = collect(thread_hub, "KD47XQ")
    assert (again.status_code, again.json()["error"]) == (409, "pairing_code_used")


def test_a_code_is_approved_once(thread_hub: ThreadHub) -> None:
    pair(thread_hub, "ACDEFG")
    assert approve(thread_hub, "ACDEFG").status_code == 200
    second = approve(thread_hub, "ACDEFG")
    assert (second.status_code, second.json()["error"]) == (409, "pairing_code_used")


def test_expired_code(thread_hub: ThreadHub) -> None:
    pair(thread_hub, "HJKMNP")
    thread_hub.clock.advance(minutes=11)
    r = approve(thread_hub, "HJKMNP")
    assert (r.status_code, r.json()["error"]) == (409, "pairing_code_expired")
    r = collect(thread_hub, "HJKMNP")
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
    assert pair(live_hub, "TWXY34", role="display").status_code == 200
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
    token = collect(live_hub, "TWXY34").json()["token"]
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
