"""Small HTTP helpers for the appointment tests."""

from __future__ import annotations

from typing import Any

import requests

from tests.hubtools import ThreadHub

MONDAY = "2026-03-02"
TUESDAY = "2026-03-03"


def slots(hub: ThreadHub, service: str = "general", day: str = MONDAY) -> list[dict[str, Any]]:
    r = requests.get(
        f"{hub.url}/api/v1/appointments/slots", params={"service": service, "day": day}, timeout=5
    )
    assert r.status_code == 200, r.text
    return list(r.json()["slots"])


def slot_at(hub: ThreadHub, local_time: str, service: str = "general", day: str = MONDAY) -> str:
    return next(s["start"] for s in slots(hub, service, day) if s["time"] == local_time)


def book(
    hub: ThreadHub,
    start: str,
    service: str = "general",
    headers: dict[str, str] | None = None,
    **body: Any,
) -> requests.Response:
    payload = {"service": service, "slot_at": start, "name": "J. P.", **body}
    return requests.post(
        f"{hub.url}/api/v1/appointments", json=payload, headers=headers or {}, timeout=5
    )


def booked(hub: ThreadHub, local_time: str = "10:00", **kw: Any) -> dict[str, Any]:
    day = kw.pop("day", MONDAY)
    service = kw.pop("service", "general")
    r = book(hub, slot_at(hub, local_time, service, day), service, **kw)
    assert r.status_code == 201, r.text
    return dict(r.json())


def token_of(appointment: dict[str, Any]) -> str:
    return str(appointment["manage_url"].split("?t=")[1])


def check_in(hub: ThreadHub, code: str, role: str = "kiosk", **body: Any) -> requests.Response:
    return requests.post(
        f"{hub.url}/api/v1/checkin",
        json={"code": code, **body},
        headers=hub.headers(role),
        timeout=5,
    )
