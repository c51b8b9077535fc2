"""The citizen pages' disabled buttons: the booking pages' confirm and cancel buttons while the
form is being sent, and the rating form's send button once the rating is in. Legible (WCAG AA text
contrast, 4.5:1) in the normal and the high-contrast theme, and dashed, not faded, to look off."""

from __future__ import annotations

import re

import requests
from playwright.sync_api import BrowserContext, Page, expect

from tests.appointments.apptools import booked
from tests.hubtools import ThreadHub

from .contrast import disabled_buttons

HIGH_CONTRAST = re.compile(r"\bhc\b")


def _legible_and_dashed(page: Page, selector: str, theme: str) -> float:
    found = disabled_buttons(page, selector)
    assert found, (theme, selector)
    lowest = min(b["ratio"] for b in found)
    assert lowest >= 4.5, f"{theme} {selector}: {lowest:.2f}:1 {found}"
    # not colour alone: a dashed border, and no opacity fading the text
    assert {b["border"] for b in found} == {"dashed"}, (theme, found)
    assert page.eval_on_selector(selector, "b => getComputedStyle(b).opacity") == "1", theme
    return lowest


def _hold_submits(page: Page) -> None:
    """Keep the page on its sending state: the form is submitted (booking.js turns its button
    off) but the browser does not leave, as when the hub is slow to answer."""
    page.evaluate("document.addEventListener('submit', event => event.preventDefault())")


def _both_themes(page: Page, selector: str) -> None:
    for theme in ("normal", "high contrast"):
        if theme == "high contrast":
            page.click(".theme-toggle")
            expect(page.locator("html")).to_have_class(HIGH_CONTRAST)
        _legible_and_dashed(page, selector, theme)


def test_the_booking_buttons_being_sent_are_legible_and_dashed_in_both_themes(
    appt_hub: ThreadHub, phone_390: BrowserContext
) -> None:
    page = phone_390.new_page()
    # The details step: its confirm button turns off once the booking is sent.
    page.goto(f"{appt_hub.url}/book?lang=en")
    for _ in range(3):
        page.locator("a.booking-choice").first.click()
    page.fill("#name", "Lucía Pérez")
    _hold_submits(page)
    confirm = page.locator("form.booking-form button[type=submit]")
    confirm.click()
    expect(confirm).to_be_disabled()
    _both_themes(page, "form.booking-form .booking-button:disabled")
    # The manage page: the red cancel button, which high contrast gives its own text colour.
    appt = booked(appt_hub, "11:00")
    phone_390.clear_cookies()  # back to the normal theme
    page = phone_390.new_page()
    page.goto(appt["manage_url"].replace("?", "?lang=en&"))
    page.check("#cancel-sure")
    _hold_submits(page)
    cancel = page.locator("form.booking-cancel button[type=submit]")
    cancel.click()
    expect(cancel).to_be_disabled()
    _both_themes(page, "form.booking-cancel .booking-button:disabled")


def test_the_rating_send_button_once_sent_is_legible_and_dashed_in_both_themes(
    thread_hub: ThreadHub, phone_390: BrowserContext
) -> None:
    r = requests.post(
        f"{thread_hub.url}/api/v1/tickets",
        json={"service": "general"},
        headers=thread_hub.headers("kiosk"),
        timeout=5,
    )
    assert r.status_code == 201, r.text
    ticket = r.json()
    for action in ("next", "start", "finish"):
        r = requests.post(
            f"{thread_hub.url}/api/v1/desks/1/{action}",
            headers=thread_hub.headers("admin"),
            timeout=5,
        )
        assert r.status_code == 200, (action, r.text)
    page = phone_390.new_page()
    page.goto(ticket["status_url"])
    expect(page.locator("#feedback")).to_be_visible()
    page.click(".feedback-star[value='4']")
    send = page.locator(".feedback-send")
    send.click()
    expect(page.locator(".feedback-result")).to_have_text("Thank you for your rating!")
    expect(send).to_be_disabled()
    _both_themes(page, ".feedback-send:disabled")
