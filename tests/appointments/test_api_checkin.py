"""Check-in with the QR code at a real hub: on time, early, late, replayed, and every refusal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests

from hub.keys import read_ring
from office360.qrtoken import (
    SCHEME,
    Claims,
    _b32encode,
    decode_payload,
    decode_text,
    generate_signing_key,
)
from tests.appointments.apptools import TUESDAY, booked, check_in, slot_at, token_of
from tests.hubtools import NORTE, FakeClock, ThreadHub, tampered


def _next(hub: ThreadHub, desk: str = "1") -> requests.Response:
    """Serve whoever the desk has called, then call the next one."""
    url = f"{hub.url}/api/v1/desks/{desk}"
    requests.post(f"{url}/start", headers=hub.headers("admin"), timeout=5)
    return requests.post(f"{url}/next", headers=hub.headers("admin"), timeout=5)


def test_on_time_check_in_gives_an_appointment_ticket(
    appt_hub: ThreadHub, clock: FakeClock
) -> None:
    appt = booked(appt_hub, "10:00")
    clock.advance(minutes=32)  # 10:02 local
    r = check_in(appt_hub, appt["code"], lang="en")
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["outcome"], body["reason"], body["replayed"]) == (
        "appointment",
        "appointment_on_time",
        False,
    )
    assert body["message"].startswith("Appointment checked in")
    assert set(body["messages"]) == {"es", "en"}
    ticket = body["ticket"]
    assert ticket["channel"] == "appointment" and ticket["number"] == "A001"
    assert ticket["status"] == "waiting" and ticket["service"] == "general"
    assert body["appointment"] == {
        "id": appt["id"],
        "service": "general",
        "slot_at": appt["slot_at"],
        "video": False,
        "status": "checked_in",
    }
    assert "name" not in body["appointment"]


def test_the_same_code_twice_gives_the_same_ticket(appt_hub: ThreadHub, clock: FakeClock) -> None:
    appt = booked(appt_hub, "10:00")
    clock.advance(minutes=25)
    first = check_in(appt_hub, appt["code"])
    second = check_in(appt_hub, appt["code"])
    third = check_in(appt_hub, appt["code"], role="admin")
    assert first.status_code == 201
    assert second.status_code == 200 and third.status_code == 200
    assert second.json()["replayed"] is True and second.json()["reason"] == "appointment_replayed"
    ids = {r.json()["ticket"]["id"] for r in (first, second, third)}
    assert len(ids) == 1
    clock.advance(minutes=6)  # past the slot: the ticket now counts as waiting
    queue = requests.get(
        f"{appt_hub.url}/api/v1/queue", headers=appt_hub.headers("admin"), timeout=5
    ).json()
    general = next(s for s in queue["services"] if s["service"] == "general")
    assert general["waiting"] == 1


def test_early_arrival_is_called_at_its_slot_time(appt_hub: ThreadHub, clock: FakeClock) -> None:
    appt = booked(appt_hub, "10:00")
    clock.advance(minutes=5)  # 09:35: 25 minutes early, inside the 30-minute window
    r = check_in(appt_hub, appt["code"])
    assert (r.status_code, r.json()["reason"]) == (201, "appointment_early")
    walk_in = requests.post(
        f"{appt_hub.url}/api/v1/tickets",
        json={"service": "general"},
        headers=appt_hub.headers("kiosk"),
        timeout=5,
    ).json()
    later = requests.post(
        f"{appt_hub.url}/api/v1/tickets",
        json={"service": "general"},
        headers=appt_hub.headers("kiosk"),
        timeout=5,
    ).json()
    assert _next(appt_hub).json()["id"] == walk_in["id"]  # the slot has not come yet
    clock.advance(minutes=26)  # 10:01: the slot has come
    assert _next(appt_hub).json()["id"] == r.json()["ticket"]["id"]
    assert _next(appt_hub).json()["id"] == later["id"]


def test_too_early_is_refused_with_the_time_to_come_back(
    appt_hub: ThreadHub, clock: FakeClock
) -> None:
    appt = booked(appt_hub, "11:00")  # now 09:30: 90 minutes early
    r = check_in(appt_hub, appt["code"], lang="en")
    assert r.status_code == 409
    body = r.json()
    assert body["error"] == "appointment_too_early"
    assert datetime.fromisoformat(body["earliest"]) == (
        datetime.fromisoformat(appt["slot_at"]) - timedelta(minutes=30)
    )
    assert body["citizen_message"].startswith("It is too early")
    assert body["messages"]["es"].startswith("Es demasiado pronto")
    clock.advance(minutes=61)  # 10:31
    assert check_in(appt_hub, appt["code"]).status_code == 201


def test_late_arrival_becomes_a_walk_in(appt_hub: ThreadHub, clock: FakeClock) -> None:
    appt = booked(appt_hub, "10:00")
    clock.advance(minutes=41)  # 10:11: one minute past the 10-minute grace
    r = check_in(appt_hub, appt["code"])
    assert r.status_code == 201
    body = r.json()
    assert (body["outcome"], body["reason"]) == ("walk_in", "appointment_late_as_walk_in")
    assert body["ticket"]["channel"] == "walk_in"
    again = check_in(appt_hub, appt["code"])
    assert again.json()["ticket"]["id"] == body["ticket"]["id"]


def test_late_arrival_is_refused_when_configured(
    make_hub: Callable[..., ThreadHub], clock: FakeClock
) -> None:
    hub = make_hub(late="refuse")
    appt = booked(hub, "10:00")
    clock.advance(minutes=40)  # 10:10: still inside the grace period
    hub2_appt = booked(hub, "10:15")
    assert check_in(hub, appt["code"]).status_code == 201
    clock.advance(minutes=16)  # 10:26: 11 minutes after 10:15
    r = check_in(hub, hub2_appt["code"])
    assert (r.status_code, r.json()["error"]) == (409, "appointment_late_refused")
    assert r.json()["citizen_message"].startswith("Ha pasado la hora")


def _signed_by_hub(hub: ThreadHub, claims: Claims) -> str:
    ring = read_ring(Path(hub.config).parent / "data" / "appointment-keys.txt")
    return ring.signing.sign(claims)


def _flip_signature(code: str) -> str:
    raw = bytearray(decode_text(code))
    raw[-10] ^= 0x01
    return SCHEME + _b32encode(bytes(raw))


def _alter_slot(code: str) -> str:
    raw = bytearray(decode_text(code))
    raw[-64 - 5] ^= 0x01  # a bit of the claims (the expiry), signature left as it was
    return SCHEME + _b32encode(bytes(raw))


@pytest.mark.parametrize(
    "case, status, error",
    [
        ("not_a_code", 400, "qr_malformed"),
        ("forged", 400, "qr_signature_invalid"),
        ("altered", 400, "qr_signature_invalid"),
        ("unknown_key", 400, "qr_unknown_key"),
        ("expired", 400, "qr_expired"),
        ("cancelled", 409, "appointment_cancelled"),
        ("unknown_appointment", 404, "appointment_unknown"),
        ("rescheduled", 409, "qr_superseded"),
        ("other_day", 409, "appointment_other_day"),
        ("other_office", 400, "qr_wrong_office"),
    ],
)
def test_bad_codes_are_refused_with_distinct_errors(
    make_hub: Callable[..., ThreadHub], clock: FakeClock, case: str, status: int, error: str
) -> None:
    hub = make_hub(extra=NORTE)
    appt = booked(hub, "10:00")
    code = appt["code"]
    kiosk_office: str | None = None
    if case == "not_a_code":
        code = "https://example.org/not-an-appointment"
    elif case == "forged":
        code = _flip_signature(code)
    elif case == "altered":
        code = _alter_slot(code)
    elif case == "unknown_key":
        stranger = generate_signing_key("kforeign")
        start = datetime.fromisoformat(appt["slot_at"])
        code = stranger.sign(Claims(appt["id"], "centro", "general", start, start + timedelta(1)))
    elif case == "expired":
        clock.advance(days=1)
    elif case == "cancelled":
        requests.post(
            f"{hub.url}/api/v1/appointments/{appt['id']}/cancel",
            params={"t": token_of(appt)},
            timeout=5,
        )
    elif case == "unknown_appointment":
        start = datetime.fromisoformat(appt["slot_at"])
        code = _signed_by_hub(hub, Claims(12345, "centro", "general", start, start + timedelta(1)))
    elif case == "rescheduled":
        requests.post(
            f"{hub.url}/api/v1/appointments/{appt['id']}/reschedule",
            params={"t": token_of(appt)},
            json={"slot_at": slot_at(hub, "10:15")},
            timeout=5,
        )
    elif case == "other_day":
        code = booked(hub, "10:00", day=TUESDAY)["code"]
    elif case == "other_office":
        kiosk_office = "norte"
    clock.advance(minutes=30)
    body = {"office": kiosk_office} if kiosk_office else {}
    r = check_in(hub, code, **body)
    assert (r.status_code, r.json()["error"]) == (status, error), r.text
    assert r.json()["citizen_message"]
    assert {"es", "en"} <= set(r.json()["messages"])
    # nothing was issued
    queue = requests.get(
        f"{hub.url}/api/v1/queue",
        params={"office": "centro"},
        headers=hub.headers("admin"),
        timeout=5,
    ).json()
    assert all(s["waiting"] == 0 for s in queue["services"])


def test_every_byte_of_a_code_flipped_is_refused(appt_hub: ThreadHub, clock: FakeClock) -> None:
    appt = booked(appt_hub, "10:00")
    clock.advance(minutes=30)
    raw = decode_text(appt["code"])
    seen: set[str] = set()
    for i in range(len(raw)):
        bad = bytearray(raw)
        bad[i] ^= 0x40
        r = check_in(appt_hub, SCHEME + _b32encode(bytes(bad)))
        assert r.status_code in (400, 404), (i, r.text)
        seen.add(r.json()["error"])
    assert seen <= {"qr_malformed", "qr_signature_invalid", "qr_unknown_key"}
    assert check_in(appt_hub, appt["code"]).status_code == 201


def test_only_kiosks_and_staff_check_in(appt_hub: ThreadHub) -> None:
    appt = booked(appt_hub, "10:00")
    r = check_in(appt_hub, appt["code"], role="display")
    assert (r.status_code, r.json()["error"]) == (403, "forbidden")
    anonymous = requests.post(
        f"{appt_hub.url}/api/v1/checkin", json={"code": appt["code"]}, timeout=5
    )
    assert anonymous.status_code == 401
    assert check_in(appt_hub, appt["code"], role="admin").status_code == 201


def test_a_rotated_key_still_checks_in_codes_already_sent(
    appt_hub: ThreadHub, clock: FakeClock
) -> None:
    from hub.keys import rotate_ring

    appt = booked(appt_hub, "10:00")
    ring = rotate_ring(Path(appt_hub.config).parent / "data" / "appointment-keys.txt", keep=1)
    fresh = booked(appt_hub, "10:00")
    assert decode_payload(decode_text(fresh["code"])[:-64]).kid == ring.signing.kid
    assert decode_payload(decode_text(appt["code"])[:-64]).kid != ring.signing.kid
    clock.advance(minutes=30)
    assert check_in(appt_hub, appt["code"]).status_code == 201
    assert check_in(appt_hub, fresh["code"]).status_code == 201


def test_a_video_appointment_joins_the_queue_from_its_confirmation_link(
    appt_hub: ThreadHub, clock: FakeClock
) -> None:
    appt = booked(appt_hub, "10:00", video=True)
    token = token_of(appt)
    join = f"{appt_hub.url}/api/v1/appointments/{appt['id']}/join"
    wrong = requests.post(join, params={"t": tampered(token)}, timeout=5)
    assert (wrong.status_code, wrong.json()["error"]) == (404, "appointment_unknown")
    clock.advance(minutes=31)  # 10:01 local
    first = requests.post(join, params={"t": token, "lang": "en"}, timeout=5)
    assert first.status_code == 201, first.text
    ticket = first.json()["ticket"]
    assert ticket["channel"] == "appointment"
    again = requests.post(join, params={"t": token}, timeout=5)
    assert again.status_code == 200 and again.json()["ticket"]["id"] == ticket["id"]
    called = _next(appt_hub)
    assert called.json()["id"] == ticket["id"]
    # the desk finds the video link in the day's list by the ticket it called
    day = requests.get(
        f"{appt_hub.url}/api/v1/appointments",
        params={"day": "2026-03-02"},
        headers=appt_hub.headers("staff", "1"),
        timeout=5,
    ).json()
    mine = next(a for a in day if a["id"] == appt["id"])
    assert mine["video_url"] == appt["video_url"] and mine["ticket_id"] == ticket["id"]


def test_an_appointment_in_person_cannot_join_from_home(
    appt_hub: ThreadHub, clock: FakeClock
) -> None:
    appt = booked(appt_hub, "10:00")
    clock.advance(minutes=31)
    r = requests.post(
        f"{appt_hub.url}/api/v1/appointments/{appt['id']}/join",
        params={"t": token_of(appt)},
        timeout=5,
    )
    assert (r.status_code, r.json()["error"]) == (409, "appointment_in_person")


def test_the_confirmation_page_joins_a_video_appointment_to_the_queue(
    appt_hub: ThreadHub, clock: FakeClock
) -> None:
    appt = booked(appt_hub, "11:00", video=True)
    page = f"{appt_hub.url}/book/manage/{appt['id']}/join"
    early = requests.post(
        page, data={"t": token_of(appt), "lang": "en"}, timeout=5, allow_redirects=False
    )
    assert early.status_code == 409  # 09:30: 90 minutes early, past the window
    assert "early" in early.text.lower()
    clock.advance(minutes=91)
    r = requests.post(
        page, data={"t": token_of(appt), "lang": "en"}, timeout=5, allow_redirects=False
    )
    assert r.status_code == 303
    assert "/status/" in r.headers["location"]
