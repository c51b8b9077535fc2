"""Contactless walk-in (/take), sign-in rate limits, CSRF refusals, cancelling from the phone."""

from __future__ import annotations

from collections.abc import Callable

import requests
from playwright.sync_api import BrowserContext, expect

from tests.hubtools import LiveHub

from .webtools import PASSWORD, assert_accessible, choose_desk, make_user, screenshot, sign_in

TAKE_LIMITS = """
[web]
take_per_device_per_hour = 2
take_per_address_per_hour = 3
signin_max_failures = 3
"""


def test_take_issues_virtual_tickets_and_refuses_a_flood(
    make_hub: Callable[[str], LiveHub],
    phone_context: BrowserContext,
    browser_context_factory: Callable[[], BrowserContext],
) -> None:
    hub = make_hub(TAKE_LIMITS)
    page = phone_context.new_page()
    page.goto(f"{hub.url}/take")
    expect(page.locator("button.choice")).to_have_count(3)
    assert_accessible(page)
    screenshot(page, "take-services.png")
    page.click("button[value=certificates]")
    expect(page).to_have_url(f"{hub.url}/status/1?t=" + page.url.split("?t=")[1])
    expect(page.locator("#number")).to_have_text("B001")
    expect(page.locator("#service")).to_have_text("Certificates")
    page.goto(f"{hub.url}/take")
    page.click("button[value=general]")
    expect(page.locator("#number")).to_have_text("A001")
    # A third from the same phone: refused.
    page.goto(f"{hub.url}/take")
    page.click("button[value=general]")
    expect(page.locator(".error")).to_have_text(
        "You already took a number on this phone. Wait to be called."
    )
    assert_accessible(page)
    screenshot(page, "take-refused.png")
    # Another phone on the same network: one more, then the address limit.
    other = browser_context_factory().new_page()
    other.goto(f"{hub.url}/take")
    other.click("button[value=taxes]")
    expect(other.locator("#number")).to_have_text("C001")
    other.goto(f"{hub.url}/take")
    other.click("button[value=taxes]")
    expect(other.locator(".error")).to_contain_text("Too many numbers were taken from this network")
    queue = requests.get(f"{hub.url}/api/v1/queue", headers=hub.headers("admin"), timeout=5).json()
    assert sum(s["waiting"] for s in queue["services"]) == 3


def test_take_can_be_switched_off(
    make_hub: Callable[[str], LiveHub], phone_context: BrowserContext
) -> None:
    hub = make_hub("[web]\ntake_enabled = false\n")
    page = phone_context.new_page()
    response = page.goto(f"{hub.url}/take")
    assert response is not None and response.status == 403
    expect(page.locator(".error")).to_contain_text("Please use the kiosk")
    r = requests.post(f"{hub.url}/take", data={"service": "general"}, timeout=5)
    assert r.status_code == 403


def test_phone_cancel_button_cancels_the_ticket(
    make_hub: Callable[[str], LiveHub], phone_context: BrowserContext
) -> None:
    hub = make_hub("")
    page = phone_context.new_page()
    page.goto(f"{hub.url}/take?lang=es")
    page.click("button[value=general]")
    expect(page.locator("#status")).to_have_text("En espera")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#cancel button")
    expect(page.locator("#status")).to_have_text("Cancelado")
    expect(page.locator("#cancel")).to_be_hidden()
    ticket_id = page.url.split("/status/")[1].split("?")[0]
    r = requests.get(
        f"{hub.url}/api/v1/tickets/{ticket_id}", headers=hub.headers("admin"), timeout=5
    )
    assert r.json()["status"] == "cancelled"


def test_signin_is_rate_limited_per_login(
    make_hub: Callable[[str], LiveHub], desk_context: BrowserContext
) -> None:
    hub = make_hub(TAKE_LIMITS)
    make_user(hub.config, "ana", "staff")
    page = desk_context.new_page()
    page.goto(f"{hub.url}/signin")
    assert_accessible(page)
    screenshot(page, "signin.png")
    for _ in range(3):
        sign_in(page, hub.url, "ana", "wrong password")
        expect(page.locator(".error")).to_have_text("Wrong login or password.")
    # The right password is refused too while the login is locked.
    sign_in(page, hub.url, "ana", PASSWORD)
    expect(page.locator(".error")).to_contain_text("Too many attempts")
    expect(page).to_have_url(f"{hub.url}/signin")
    # Another login from the same address still works.
    make_user(hub.config, "ben", "staff")
    sign_in(page, hub.url, "ben")
    expect(page).to_have_url(f"{hub.url}/desk/choose")


def test_writes_without_the_csrf_token_are_refused(
    make_hub: Callable[[str], LiveHub], desk_context: BrowserContext
) -> None:
    hub = make_hub("")
    make_user(hub.config, "ana", "staff")
    page = desk_context.new_page()
    sign_in(page, hub.url, "ana")
    choose_desk(page, "1")
    result = page.evaluate(
        """async () => {
            const bare = await fetch('/api/v1/desks/1/pause', {method: 'POST'});
            const wrong = await fetch('/api/v1/desks/1/pause',
                                      {method: 'POST', headers: {'X-CSRF-Token': 'forged'}});
            const read = await fetch('/api/v1/queue');
            return [bare.status, (await bare.json()).error, wrong.status, read.status];
        }"""
    )
    assert result == [403, "csrf_failed", 403, 200]
    # A form posted without the token (as another site would) changes nothing.
    page.evaluate(
        """() => { const f = document.createElement('form'); f.method = 'post';
                   f.action = '/desk/choose'; const i = document.createElement('input');
                   i.name = 'desk'; i.value = '3'; f.appendChild(i); document.body.appendChild(f);
                   f.submit(); }"""
    )
    expect(page.locator(".error")).to_contain_text("The form has expired")
    page.goto(f"{hub.url}/desk")
    expect(page.locator(".brand")).to_contain_text("Mostrador 1")
    expect(page.locator("#desk-state")).to_have_text("Desk open")
