"""The booking page in a real browser (Debian's Chromium through Playwright) against a real hub:
book, get the QR, decode it, check in with it."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import zxingcpp
from PIL import Image

from tests.hubtools import ThreadHub

pytestmark = pytest.mark.web

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("no Chromium at /usr/bin/chromium (Debian package chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 900, "height": 1000}, locale="es-ES")
    pg = context.new_page()
    yield pg
    context.close()


def _assert_targets_and_labels(page: Any) -> None:
    """Every choice and button is at least 44 px high and wide; every field has a label."""
    for el in page.locator(".booking-choice, .booking-button, .o360-lang").all():
        box = el.bounding_box()
        assert box is not None and box["height"] >= 44 and box["width"] >= 44, el.inner_text()
    for field in page.locator("main input:not([type=hidden])").all():
        field_id = field.get_attribute("id")
        assert field_id and page.locator(f"label[for='{field_id}']").count() == 1


def _no_sideways_scroll(page: Any) -> bool:
    return bool(
        page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
    )


def test_book_get_the_qr_and_check_in_with_it(appt_hub: ThreadHub, page: Any) -> None:
    page.goto(f"{appt_hub.url}/book")
    assert page.locator("html").get_attribute("lang") == "es"  # from Accept-Language
    assert page.locator("h1").inner_text() == "¿Para qué trámite es la cita?"
    page.get_by_role("link", name="Read this page in English").click()
    assert page.locator("h1").inner_text() == "What is the appointment for?"
    assert "lang=en" in page.url
    _assert_targets_and_labels(page)
    page.screenshot(path=str(SHOTS / "book-service.png"), full_page=True)

    # service by keyboard: Tab to the link, Enter
    link = page.get_by_role("link", name="Certificates")
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**service=certificates**")
    assert page.locator("h1").inner_text() == "Choose a day"
    page.get_by_role("link", name="Monday 2 March 2026").click()
    assert page.locator("h1").inner_text() == "Choose a time"
    assert page.locator(".booking-taken").first.inner_text().startswith("09:00")  # past
    _assert_targets_and_labels(page)
    page.screenshot(path=str(SHOTS / "book-slot.png"), full_page=True)
    page.get_by_role("link", name="10:00", exact=True).click()

    assert page.locator("h1").inner_text() == "Your details"
    _assert_targets_and_labels(page)
    page.get_by_label("Name or initials").fill("A. G.")
    page.get_by_label("E-mail (optional)").fill("ag@example.org")
    page.get_by_role("button", name="Confirm the appointment").click()

    page.wait_for_url("**/book/manage/**")
    assert page.locator("h1").inner_text() == "Appointment confirmed"
    summary = page.locator(".booking-summary").inner_text()
    assert "Certificates" in summary and "10:00" in summary and "Monday 2 March 2026" in summary
    qr = page.locator("img#qr")
    assert "Monday 2 March 2026" in (qr.get_attribute("alt") or "")
    assert page.evaluate("document.getElementById('qr').naturalWidth") > 100
    manage_link = page.locator("#manage-link").input_value()
    assert "/book/manage/" in manage_link and "?t=" in manage_link
    _assert_targets_and_labels(page)
    page.screenshot(path=str(SHOTS / "book-confirmation.png"), full_page=True)

    png = requests.get(qr.get_attribute("src"), timeout=5)
    assert png.status_code == 200
    codes = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
    assert len(codes) == 1 and codes[0].text.startswith("O360:")
    ics = requests.get(page.locator("#ics").get_attribute("href"), timeout=5)
    assert "DTSTART:20260302T090000Z" in ics.text

    appt_hub.clock.advance(minutes=28)  # 09:58
    r = requests.post(
        f"{appt_hub.url}/api/v1/checkin",
        json={"code": codes[0].text},
        headers=appt_hub.headers("kiosk"),
        timeout=5,
    )
    assert r.status_code == 201, r.text
    assert r.json()["ticket"]["number"] == "B001"
    assert r.json()["ticket"]["channel"] == "appointment"
    page.reload()
    assert page.locator("h1").inner_text() == "Appointment checked in"
    assert page.locator("img#qr").count() == 0


def test_mistakes_are_shown_next_to_the_field_and_cancel_needs_a_tick(
    appt_hub: ThreadHub, page: Any
) -> None:
    page.goto(f"{appt_hub.url}/book?lang=es&service=general&day=2026-03-02")
    page.get_by_role("link", name="11:00", exact=True).click()
    page.get_by_label("Correo electrónico (opcional)").fill("no es un correo")
    page.get_by_label("Nombre o iniciales").fill("M. T.")
    page.get_by_role("button", name="Confirmar la cita").click()
    errors = page.locator("#errors")
    assert errors.is_visible() and "correo no parece válido" in errors.inner_text()
    assert page.evaluate("document.activeElement.id") == "errors"
    assert (
        page.get_by_label("Correo electrónico (opcional)").get_attribute("aria-invalid") == "true"
    )
    assert page.get_by_label("Nombre o iniciales").input_value() == "M. T."  # kept
    page.get_by_label("Correo electrónico (opcional)").fill("")
    page.get_by_label("Prefiero una cita por vídeo").check()
    page.get_by_role("button", name="Confirmar la cita").click()
    assert page.locator("h1").inner_text() == "Cita confirmada"
    video = page.get_by_role("link", name="Entrar en la sala de vídeo")
    assert (video.get_attribute("href") or "").startswith("https://meet.example.org/office360-")

    # 200 % zoom: half the CSS width; nothing needs sideways scrolling
    page.set_viewport_size({"width": 450, "height": 900})
    assert _no_sideways_scroll(page)
    _assert_targets_and_labels(page)

    # cancel without ticking the box: the browser refuses; the page stays the same
    page.get_by_role("button", name="Anular la cita").click()
    assert page.locator("h1").inner_text() == "Cita confirmada"
    page.get_by_label("Sí, quiero anular esta cita").check()
    page.get_by_role("button", name="Anular la cita").click()
    assert page.locator("h1").inner_text() == "Cita anulada"
    free = requests.get(
        f"{appt_hub.url}/api/v1/appointments/slots",
        params={"service": "general", "day": "2026-03-02"},
        timeout=5,
    ).json()["slots"]
    assert next(s for s in free if s["time"] == "11:00")["free"] == 2


def test_reschedule_from_the_confirmation_page(appt_hub: ThreadHub, page: Any) -> None:
    from tests.appointments.apptools import booked

    appt = booked(appt_hub, "10:00", lang="en")
    page.goto(appt["manage_url"])
    old_src = page.locator("img#qr").get_attribute("src")
    old_png = requests.get(appt["qr_png_url"], timeout=5).content
    page.get_by_role("link", name="Change the time").click()
    page.get_by_role("link", name="Tuesday 3 March 2026").click()
    page.get_by_role("link", name="12:30", exact=True).click()
    assert page.locator("h1").inner_text() == "Change the time of your appointment"
    page.get_by_role("button", name="Move to this time").click()
    assert "no longer works" in page.locator(".booking-lead").inner_text()
    assert "Tuesday 3 March 2026" in page.locator(".booking-summary").inner_text()
    assert page.locator("img#qr").get_attribute("src") == old_src  # same link, new code
    assert requests.get(appt["qr_png_url"], timeout=5).content != old_png


def test_a_wrong_manage_link_says_so(appt_hub: ThreadHub, page: Any) -> None:
    response = page.goto(f"{appt_hub.url}/book/manage/4294967999?t=nope&lang=en")
    assert response is not None and response.status == 404
    assert page.locator("h1").inner_text() == "We cannot find that appointment"
    headers = response.headers
    assert headers["referrer-policy"] == "no-referrer"
    assert "default-src 'self'" in headers["content-security-policy"]
