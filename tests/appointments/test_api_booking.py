"""Booking, cancelling and rescheduling through the real HTTP API of a hub."""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any

import pytest
import requests
import zxingcpp
from PIL import Image
from requests.adapters import HTTPAdapter
from sqlalchemy import create_engine, text

from tests.appointments.apptools import MONDAY, TUESDAY, book, booked, slot_at, slots, token_of
from tests.hubtools import ThreadHub, database_url_for


def test_slots_show_free_places_and_a_booking_takes_one(appt_hub: ThreadHub) -> None:
    day = slots(appt_hub)
    assert day[0]["time"] == "09:00" and day[-1]["time"] == "13:45" and len(day) == 20
    # now is 09:30 local: slots that have started are not bookable
    assert [s["free"] for s in day[:3]] == [0, 0, 0]
    ten = next(s for s in day if s["time"] == "10:00")
    assert ten["capacity"] == 2 and ten["free"] == 2  # general: desks 1 and 2

    appt = booked(appt_hub, "10:00", lang="en")
    assert appt["status"] == "booked" and appt["channel"] == "web"
    assert appt["local_time"] == "10:00" and appt["slot_at"] == ten["start"]
    assert appt["code"].startswith("O360:")
    assert appt["id"] > 2**32  # random, not a counter
    assert len(token_of(appt)) >= 32
    assert next(s for s in slots(appt_hub) if s["time"] == "10:00")["free"] == 1


def test_a_full_slot_is_refused(appt_hub: ThreadHub) -> None:
    start = slot_at(appt_hub, "11:00", "taxes")  # taxes: capacity 1 from the config
    assert book(appt_hub, start, "taxes").status_code == 201
    r = book(appt_hub, start, "taxes", name="Other")
    assert r.status_code == 409
    assert r.json()["error"] == "slot_full"


def test_slots_that_do_not_exist_or_have_passed_are_refused(appt_hub: ThreadHub) -> None:
    r = book(appt_hub, "2026-03-02T09:07:00+00:00")
    assert (r.status_code, r.json()["error"]) == (422, "slot_unknown")
    r = book(appt_hub, slot_at(appt_hub, "09:15"))
    assert (r.status_code, r.json()["error"]) == (409, "slot_in_past")
    r = book(appt_hub, "2026-03-02T10:00:00")  # no offset
    assert r.json()["error"] == "slot_unknown"
    r = book(appt_hub, "2027-03-02T10:00:00+00:00")
    assert (r.status_code, r.json()["error"]) == (422, "day_out_of_range")
    far = requests.get(
        f"{appt_hub.url}/api/v1/appointments/slots",
        params={"service": "general", "day": "9999-12-31"},
        timeout=5,
    )
    assert (far.status_code, far.json()["error"]) == (422, "day_out_of_range")
    r = book(appt_hub, slot_at(appt_hub, "10:00"), "nope")
    assert (r.status_code, r.json()["error"]) == (404, "unknown_service")


def test_two_people_racing_for_the_last_place_exactly_one_gets_it(appt_hub: ThreadHub) -> None:
    start = slot_at(appt_hub, "12:00", "taxes")
    racers = 12
    barrier = threading.Barrier(racers)
    statuses: list[tuple[int, str]] = []
    lock = threading.Lock()

    def race(i: int) -> None:
        barrier.wait()
        r = book(appt_hub, start, "taxes", name=f"Racer {i}")
        with lock:
            statuses.append((r.status_code, r.json().get("error", "")))

    threads = [threading.Thread(target=race, args=(i,)) for i in range(racers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(statuses)[0] == (201, "")
    assert [s for s in statuses if s[0] == 201] == [(201, "")]
    assert sorted(statuses)[1:] == [(409, "slot_full")] * (racers - 1)
    assert next(s for s in slots(appt_hub, "taxes") if s["start"] == start)["free"] == 0


def test_cancel_frees_the_place_and_repeating_it_changes_nothing(appt_hub: ThreadHub) -> None:
    appt = booked(appt_hub, "11:00", service="taxes")
    url = f"{appt_hub.url}/api/v1/appointments/{appt['id']}"
    wrong = requests.post(f"{url}/cancel", params={"t": "x" * 32}, timeout=5)
    assert (wrong.status_code, wrong.json()["error"]) == (404, "appointment_unknown")
    r = requests.post(f"{url}/cancel", params={"t": token_of(appt)}, timeout=5)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert r.json()["code"] is None
    again = requests.post(f"{url}/cancel", params={"t": token_of(appt)}, timeout=5)
    assert again.status_code == 200 and again.json()["status"] == "cancelled"
    assert next(s for s in slots(appt_hub, "taxes") if s["time"] == "11:00")["free"] == 1
    # the place is really free: somebody else can book it
    assert book(appt_hub, slot_at(appt_hub, "11:00", "taxes"), "taxes").status_code == 201
    refused = requests.post(
        f"{url}/reschedule",
        params={"t": token_of(appt)},
        json={"slot_at": slot_at(appt_hub, "12:00", "taxes")},
        timeout=5,
    )
    assert (refused.status_code, refused.json()["error"]) == (409, "appointment_cancelled")


def test_reschedule_moves_the_place_and_gives_a_new_code(appt_hub: ThreadHub) -> None:
    appt = booked(appt_hub, "11:00", service="taxes")
    new_start = slot_at(appt_hub, "10:30", "taxes", TUESDAY)
    r = requests.post(
        f"{appt_hub.url}/api/v1/appointments/{appt['id']}/reschedule",
        params={"t": token_of(appt)},
        json={"slot_at": new_start},
        timeout=5,
    )
    assert r.status_code == 200, r.text
    moved = r.json()
    assert moved["slot_at"] == new_start and moved["sequence"] == 1
    assert moved["code"] != appt["code"]
    assert next(s for s in slots(appt_hub, "taxes") if s["time"] == "11:00")["free"] == 1
    assert next(s for s in slots(appt_hub, "taxes", TUESDAY) if s["time"] == "10:30")["free"] == 0
    # moving onto a full slot is refused and keeps the old one
    other = booked(appt_hub, "12:00", service="taxes")
    r = requests.post(
        f"{appt_hub.url}/api/v1/appointments/{other['id']}/reschedule",
        params={"t": token_of(other)},
        json={"slot_at": new_start},
        timeout=5,
    )
    assert (r.status_code, r.json()["error"]) == (409, "slot_full")
    read = requests.get(
        f"{appt_hub.url}/api/v1/appointments/{other['id']}",
        params={"t": token_of(other)},
        timeout=5,
    )
    assert read.json()["local_time"] == "12:00"


def test_reading_needs_the_manage_token_or_a_staff_token(appt_hub: ThreadHub) -> None:
    appt = booked(appt_hub)
    url = f"{appt_hub.url}/api/v1/appointments/{appt['id']}"
    assert requests.get(url, timeout=5).status_code == 404
    assert requests.get(url, params={"t": "nope"}, timeout=5).json()["error"] == (
        "appointment_unknown"
    )
    assert requests.get(url, params={"t": token_of(appt)}, timeout=5).json()["name"] == "J. P."
    staff = requests.get(url, headers=appt_hub.headers("staff", "1"), timeout=5)
    assert staff.status_code == 200 and staff.json()["manage_url"] is None
    kiosk = requests.get(url, headers=appt_hub.headers("kiosk"), timeout=5)
    assert kiosk.status_code == 404


def test_staff_book_for_phone_callers_and_citizens_cannot_claim_it(appt_hub: ThreadHub) -> None:
    start = slot_at(appt_hub, "10:15")
    staff = appt_hub.headers("staff", "1")
    r = book(appt_hub, start, headers=staff, channel="phone", name="M. R.", phone="600 123 456")
    assert r.status_code == 201 and r.json()["channel"] == "phone"
    counter = book(appt_hub, start, headers=staff, name="L. S.")
    assert counter.status_code == 201 and counter.json()["channel"] == "counter"
    r = book(appt_hub, slot_at(appt_hub, "10:30"), channel="phone")
    assert (r.status_code, r.json()["error"]) == (403, "forbidden")
    r = book(appt_hub, slot_at(appt_hub, "10:30"), headers=appt_hub.headers("display"))
    assert (r.status_code, r.json()["error"]) == (403, "forbidden")
    listing = requests.get(
        f"{appt_hub.url}/api/v1/appointments", params={"day": MONDAY}, headers=staff, timeout=5
    )
    assert listing.status_code == 200
    assert sorted((a["local_time"], a["channel"]) for a in listing.json()) == [
        ("10:15", "counter"),
        ("10:15", "phone"),
    ]
    denied = requests.get(
        f"{appt_hub.url}/api/v1/appointments",
        params={"day": MONDAY},
        headers=appt_hub.headers("kiosk"),
        timeout=5,
    )
    assert denied.status_code == 403


def test_personal_data_is_checked(appt_hub: ThreadHub) -> None:
    start = slot_at(appt_hub, "10:45")
    cases = [
        ({"name": "   "}, "name_missing"),
        ({"email": "not-an-address"}, "email_invalid"),
        ({"phone": "call me"}, "phone_invalid"),
    ]
    for body, code in cases:
        r = book(appt_hub, start, **body)
        assert (r.status_code, r.json()["error"]) == (422, code), body
    r = book(appt_hub, start, name="x" * 101)
    assert r.status_code == 422
    r = book(appt_hub, start, email="ana@example.org", phone="+34 600 000 000")
    assert r.status_code == 201 and r.json()["email"] == "ana@example.org"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "\u0000\u202e"),  # NUL and a right-to-left override
        ("name", "Ana\u202eoleF"),
        ("name", "Ana \u2066Fe\u2069"),  # an isolate
        ("name", "Ana\u202aFe"),  # an embedding
        ("name", "Ana\tFe"),
        ("name", "Ana\x7f"),
        ("name", "Ana\x85Fe"),  # NEL, a C1 control
        ("email", "ana\u202e@example.org"),
        ("email", "ana\u0000@example.org"),
        ("phone", "+34 600\u202e000 000"),
    ],
)
def test_control_and_bidi_characters_are_refused(
    appt_hub: ThreadHub, field: str, value: str
) -> None:
    r = book(appt_hub, slot_at(appt_hub, "10:45"), **{field: value})
    assert (r.status_code, r.json()["error"]) == (422, f"{field}_invalid"), r.text
    assert r.json()["message"].startswith(f"{field}:")


def test_names_from_many_languages_are_accepted(appt_hub: ThreadHub) -> None:
    start = slot_at(appt_hub, "11:00")
    for name in ("José Núñez", "Zoë O'Brien", "Zoe\u0308 Ișık", "محمد بن علي", "王小明", "  Ana  "):
        r = book(appt_hub, start, name=name)
        assert r.status_code == 201, (name, r.text)
        assert r.json()["name"] == " ".join(name.split())
        cancel = requests.post(
            f"{appt_hub.url}/api/v1/appointments/{r.json()['id']}/cancel",
            params={"t": token_of(r.json())},
            timeout=5,
        )
        assert cancel.status_code == 200
    for blank in ("   ", "\u3000"):  # only whitespace (an ideographic space too)
        r = book(appt_hub, start, name=blank)
        assert (r.status_code, r.json()["error"]) == (422, "name_missing"), blank


class _FromAddress(HTTPAdapter):
    """Connects from a given local address (127.0.0.2 is another client on the loopback)."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def _client(address: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", _FromAddress(address))
    return session


def test_public_idempotency_keys_are_per_client(appt_hub: ThreadHub) -> None:
    url = f"{appt_hub.url}/api/v1/appointments"
    body = {"service": "general", "slot_at": slot_at(appt_hub, "12:00"), "name": "Ana"}
    key = {"Idempotency-Key": "book-1"}
    one, two = _client("127.0.0.1"), _client("127.0.0.2")
    first = one.post(url, json=body, headers=key, timeout=5)
    assert first.status_code == 201, first.text
    # the same client retrying gets its first answer back
    assert one.post(url, json=body, headers=key, timeout=5).json()["id"] == first.json()["id"]
    # another client with the same key and body books its own: never the first one's link
    other = two.post(url, json=body, headers=key, timeout=5)
    assert other.status_code == 201, other.text
    assert other.json()["id"] != first.json()["id"]
    assert other.json()["manage_url"] != first.json()["manage_url"]
    # and with another body the key is not "reused" for it
    body2 = {**body, "name": "Fe", "slot_at": slot_at(appt_hub, "12:15")}
    third = _client("127.0.0.3").post(url, json=body2, headers=key, timeout=5)
    assert third.status_code == 201, third.text
    assert one.post(url, json=body2, headers=key, timeout=5).json()["error"] == (
        "idempotency_key_reused"
    )


def test_video_appointments_get_an_unguessable_room(appt_hub: ThreadHub) -> None:
    one = booked(appt_hub, "10:00", video=True)
    two = booked(appt_hub, "10:00", video=True)
    prefix = "https://meet.example.org/office360-"
    assert one["video_url"].startswith(prefix) and two["video_url"].startswith(prefix)
    room = one["video_url"].removeprefix(prefix)
    assert len(room) == 20 and room.isalnum()
    assert one["video_url"] != two["video_url"]
    assert booked(appt_hub, "10:15")["video_url"] is None


def test_qr_images_carry_the_code_and_the_calendar_file_the_slot(appt_hub: ThreadHub) -> None:
    appt = booked(appt_hub, "10:00")
    png = requests.get(appt["qr_png_url"], timeout=5)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.headers["cache-control"] == "no-store"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
    assert [d.text for d in decoded] == [appt["code"]]
    svg = requests.get(appt["qr_svg_url"], timeout=5)
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.text.startswith("<svg") and "<path" in svg.text
    ics = requests.get(appt["ics_url"], timeout=5)
    assert ics.headers["content-type"].startswith("text/calendar")
    assert "attachment" in ics.headers["content-disposition"]
    body = ics.text
    assert "DTSTART:20260302T090000Z" in body and "DTEND:20260302T091500Z" in body
    assert "STATUS:CONFIRMED" in body and "\r\n" in body
    assert requests.get(appt["qr_png_url"].split("?")[0], timeout=5).status_code == 404


def test_events_tell_of_bookings_without_personal_data(appt_hub: ThreadHub) -> None:
    appt = booked(
        appt_hub, "10:00", name="Zacarías Únicoapellido", email="zz@example.org", video=True
    )
    requests.post(
        f"{appt_hub.url}/api/v1/appointments/{appt['id']}/cancel",
        params={"t": token_of(appt)},
        timeout=5,
    )
    engine = create_engine(database_url_for(Path(appt_hub.config)))
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT type, payload FROM events WHERE type LIKE 'appointment.%' ORDER BY id")
        ).all()
    engine.dispose()
    assert [r.type for r in rows] == ["appointment.booked", "appointment.cancelled"]
    for r in rows:
        assert str(appt["id"]) in r.payload
        for private in ("Zacar", "Únicoapellido", "zz@example", "meet.example", token_of(appt)):
            assert private not in r.payload
