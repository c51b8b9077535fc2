"""The desk panel with appointments configured: booking for a caller, and the slot of a called
appointment (with its video link), on a real hub with a fake clock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, expect

from tests.appointments.apptools import booked, check_in
from tests.hubtools import FakeClock, ThreadHub, free_port, write_config

from .webtools import choose_desk, make_user, sign_in


@pytest.fixture
def madrid_desk(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(
        bypass_csp=True,
        locale="en-GB",
        timezone_id="Europe/Madrid",
        viewport={"width": 1366, "height": 768},
    )
    yield context
    context.close()


def test_the_panel_offers_booking_and_shows_a_called_appointments_slot_and_video_link(
    appt_hub: ThreadHub, madrid_desk: BrowserContext
) -> None:
    appt = booked(appt_hub, "10:00", video=True)
    r = check_in(appt_hub, appt["code"], lang="en")
    assert r.status_code == 201, r.text
    make_user(appt_hub.config, "ana", "staff")
    page = madrid_desk.new_page()
    sign_in(page, appt_hub.url, "ana")
    choose_desk(page, "1")

    config = json.loads(page.locator("#desk-config").text_content() or "{}")
    assert config["booking"] is True
    expect(page.locator("details.book summary")).to_have_text("Book an appointment for a caller")
    expect(page.locator("#book-form")).to_be_attached()

    page.keyboard.press("n")
    expect(page.locator("#number")).to_have_text("A001")
    expect(page.locator("#slot-row")).to_be_visible()
    expect(page.locator("#slot")).to_have_text("10:00")
    expect(page.locator("#video-row")).to_be_visible()
    href = page.locator("#video").get_attribute("href") or ""
    assert href.startswith("https://meet.example.org/office360-"), href


def test_without_appointments_the_panel_offers_no_booking(
    tmp_path: Path, madrid_desk: BrowserContext
) -> None:
    port = free_port()
    hub = ThreadHub(
        write_config(tmp_path, port, "[appointments]\nenabled = false\n"), port, FakeClock()
    )
    hub.start()
    try:
        make_user(hub.config, "ana", "staff")
        page = madrid_desk.new_page()
        sign_in(page, hub.url, "ana")
        choose_desk(page, "1")
        config = json.loads(page.locator("#desk-config").text_content() or "{}")
        assert config["booking"] is False
        expect(page.locator("#book-form")).to_have_count(0)
    finally:
        hub.stop()


@pytest.mark.parametrize(
    ("lang", "called", "again", "serving"),
    [
        ("en", "Called", "Called again (1)", "Serving"),
        ("es", "Llamado", "Llamado de nuevo (1)", "Atendiendo"),
    ],
)
def test_the_panel_uses_staff_wording_for_the_ticket_status(
    appt_hub: ThreadHub,
    madrid_desk: BrowserContext,
    lang: str,
    called: str,
    again: str,
    serving: str,
) -> None:
    r = requests.post(
        f"{appt_hub.url}/api/v1/tickets",
        json={"service": "general"},
        headers=appt_hub.headers("kiosk"),
        timeout=5,
    )
    assert r.status_code == 201, r.text
    make_user(appt_hub.config, "ana", "staff")
    page = madrid_desk.new_page()
    sign_in(page, appt_hub.url, "ana")
    choose_desk(page, "1")
    page.goto(f"{appt_hub.url}/desk?lang={lang}")
    expect(page.locator("#live")).to_have_class("pill on", timeout=5000)
    page.keyboard.press("n")
    expect(page.locator("#status")).to_have_text(called)
    expect(page.locator("button[data-action=recall]")).to_be_enabled()
    page.keyboard.press("r")
    expect(page.locator("#status")).to_have_text(again)
    expect(page.locator("button[data-action=start]")).to_be_enabled()
    page.keyboard.press("s")
    expect(page.locator("#status")).to_have_text(serving)
