"""/book keeps the citizen's choices across a language switch after a form error and follows
the o360_lang cookie; /book/manage of a video appointment speaks of video, not of the kiosk."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from playwright.sync_api import BrowserContext, expect

from tests.appointments.apptools import MONDAY, booked, slot_at
from tests.hubtools import ThreadHub


def _html_lang(text: str) -> str:
    found = re.search(r'<html lang="(\w+)"', text)
    assert found, text[:200]
    return found.group(1)


def test_the_language_switch_after_a_form_error_keeps_service_day_and_slot(
    appt_hub: ThreadHub, phone_390: BrowserContext
) -> None:
    slot = slot_at(appt_hub, "11:00")
    page = phone_390.new_page()
    page.goto(f"{appt_hub.url}/book?lang=en&service=general&day={MONDAY}")
    page.get_by_role("link", name="11:00", exact=True).click()
    page.click("form.booking-form button[type=submit]")  # no name
    expect(page.locator("#errors")).to_be_visible()
    href = page.locator("a.o360-lang").get_attribute("href") or ""
    query = parse_qs(urlsplit(href).query)
    assert query == {"service": ["general"], "day": [MONDAY], "slot": [slot], "lang": ["es"]}
    page.click("a.o360-lang")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator("form.booking-form")).to_be_visible()  # still the details step
    expect(page.locator("form.booking-form input[name=slot]")).to_have_value(slot)
    expect(page.locator("form.booking-form input[name=service]")).to_have_value("general")
    expect(page.locator(".booking-summary")).to_contain_text("11:00")
    page.get_by_label("Nombre o iniciales").fill("M. T.")
    page.get_by_role("button", name="Confirmar la cita").click()
    expect(page.locator("h1")).to_have_text("Cita confirmada")


def test_the_booking_pages_follow_the_language_cookie(appt_hub: ThreadHub) -> None:
    book = f"{appt_hub.url}/book"
    spanish_browser = {"Accept-Language": "es-ES,es;q=0.9"}
    r = requests.get(book, headers=spanish_browser, timeout=5)
    assert _html_lang(r.text) == "es"
    cookie = {"o360_lang": "en"}
    r = requests.get(book, headers=spanish_browser, cookies=cookie, timeout=5)
    assert _html_lang(r.text) == "en"  # the cookie beats Accept-Language
    r = requests.get(f"{book}?lang=es", headers=spanish_browser, cookies=cookie, timeout=5)
    assert _html_lang(r.text) == "es"  # ?lang= beats the cookie, and is remembered
    assert r.cookies.get("o360_lang") == "es"
    appt = booked(appt_hub, "10:00", lang="es")
    r = requests.get(appt["manage_url"], cookies=cookie, timeout=5)
    assert _html_lang(r.text) == "en"
    r = requests.get(appt["manage_url"], headers={"Accept-Language": "en"}, timeout=5)
    assert _html_lang(r.text) == "es"  # no choice made here: the appointment's own language


@pytest.mark.parametrize(
    ("lang", "kiosk", "place", "video_how"),
    [
        ("en", "kiosk", "Place", "you do not need to come to the office"),
        ("es", "quiosco", "Lugar", "no tiene que venir a la oficina"),
    ],
)
def test_the_manage_page_of_a_video_appointment_speaks_of_video_not_of_the_kiosk(
    appt_hub: ThreadHub, lang: str, kiosk: str, place: str, video_how: str
) -> None:
    video = booked(appt_hub, "11:00", video=True)
    r = requests.get(f"{video['manage_url']}&lang={lang}", timeout=5)
    assert r.status_code == 200
    assert kiosk not in r.text
    assert f"<dt>{place}</dt>" not in r.text
    assert video_how in r.text
    assert 'id="qr"' not in r.text
    assert 'id="ics"' in r.text and "/join" in r.text
    in_person = booked(appt_hub, "10:00")
    r = requests.get(f"{in_person['manage_url']}&lang={lang}", timeout=5)
    assert kiosk in r.text and f"<dt>{place}</dt>" in r.text and 'id="qr"' in r.text
    assert video_how not in r.text
