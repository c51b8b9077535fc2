"""Admin pages: office, users, device tokens, device health with warnings, the QR poster."""

from __future__ import annotations

import time
from collections.abc import Callable

import requests
from playwright.sync_api import BrowserContext, expect

from tests.hubtools import LiveHub

from .webtools import assert_accessible, make_user, screenshot, sign_in


def report(hub: LiveHub, token: str, device: str, printer: str) -> requests.Response:
    return requests.post(
        f"{hub.url}/api/v1/devices/health",
        json={"device": device, "version": "0.1.0", "printer": printer, "camera": "ok"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )


def test_admin_manages_users_and_tokens_and_sees_device_health(
    make_hub: Callable[[str], LiveHub], desk_context: BrowserContext
) -> None:
    hub = make_hub("[web]\ndevice_silent_minutes = 0.02\n")
    make_user(hub.config, "root", "admin")
    page = desk_context.new_page()
    sign_in(page, hub.url, "root")
    expect(page).to_have_url(f"{hub.url}/admin")
    expect(page.locator("table").first).to_contain_text("Certificates")
    expect(page.locator("main")).to_contain_text("read from the configuration file")
    expect(page.locator("main")).to_contain_text("09:00-14:00")  # [appointments] hours
    assert_accessible(page)
    screenshot(page, "admin-overview.png")

    # Users: add one, then disable it.
    page.click("a[href='/admin/users']")
    page.fill("#u-login", "carla")
    page.fill("#u-name", "Carla")
    page.select_option("#u-role", "staff")
    page.fill("#u-password", "another secret")
    page.click("form.grid-form button")
    expect(page.locator(".notice")).to_have_text("Done.")
    row = page.locator("tr", has_text="carla")
    expect(row).to_contain_text("active")
    assert_accessible(page)
    screenshot(page, "admin-users.png")
    row.locator("button").click()
    expect(page.locator("tr", has_text="carla")).to_contain_text("disabled")

    # Device tokens: created (shown once), used, revoked.
    page.click("a[href='/admin/tokens']")
    page.fill("#k-name", "Kiosk door")
    page.select_option("#k-role", "kiosk")
    page.click("form.grid-form button")
    token = page.locator("#new-token").input_value()
    assert token.startswith("o360_")
    assert_accessible(page)
    screenshot(page, "admin-tokens.png")
    assert report(hub, token, "kiosk-door", "ok").status_code == 200
    time.sleep(1.5)  # the door kiosk falls silent (limit 1.2 s)
    assert report(hub, token, "kiosk-hall", "paper_low").status_code == 200
    page.goto(f"{hub.url}/admin/tokens")
    assert token not in page.content()  # shown only once
    page.locator("tr", has_text="Kiosk door").locator("button").click()
    expect(page.locator("tr", has_text="Kiosk door")).to_contain_text("revoked")
    assert report(hub, token, "kiosk-door", "ok").status_code == 401

    page.click("a[href='/admin/devices']")
    expect(page.locator("tr", has_text="kiosk-door")).to_contain_text("Silent for")
    expect(page.locator("tr", has_text="kiosk-hall")).to_contain_text("Printer: paper_low")
    expect(page.locator("tr", has_text="kiosk-hall")).not_to_contain_text("Silent")
    assert_accessible(page)
    screenshot(page, "admin-devices.png")

    page.goto(f"{hub.url}/admin/poster")
    expect(page.locator("svg.qr path")).to_have_count(1)
    expect(page.locator(".url")).to_have_text(f"{hub.url}/take")
    assert_accessible(page)
    screenshot(page, "admin-poster.png")


def test_staff_may_not_open_the_admin_pages(
    make_hub: Callable[[str], LiveHub], desk_context: BrowserContext
) -> None:
    hub = make_hub("")
    make_user(hub.config, "ana", "staff")
    page = desk_context.new_page()
    sign_in(page, hub.url, "ana")
    response = page.goto(f"{hub.url}/admin/users")
    assert response is not None and response.status == 403
    page.goto(f"{hub.url}/signin")  # signed-out pages redirect to sign-in with a way back
    anonymous = desk_context.browser.new_context()  # type: ignore[union-attr]
    other = anonymous.new_page()
    other.goto(f"{hub.url}/admin/tokens")
    expect(other).to_have_url(f"{hub.url}/signin?next=%2Fadmin%2Ftokens")
    anonymous.close()
