"""/take refused for the per-phone limit: it links back to the numbers this phone took."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import BrowserContext, expect

from tests.hubtools import LiveHub

from .webtools import assert_accessible

LIMITS = "[web]\ntake_per_device_per_hour = 2\ntake_per_address_per_hour = 10\n"


def test_a_refused_phone_gets_links_to_the_numbers_it_took(
    make_hub: Callable[[str], LiveHub], phone_context: BrowserContext
) -> None:
    hub = make_hub(LIMITS)
    page = phone_context.new_page()
    for service, number in (("certificates", "B001"), ("general", "A001")):
        page.goto(f"{hub.url}/take")
        page.click(f"button[value={service}]")
        expect(page.locator("#number")).to_have_text(number)
    first_url = page.url
    page.goto(f"{hub.url}/take")
    page.click("button[value=general]")
    expect(page.locator(".error")).to_have_text(
        "You already took a number on this phone. Wait to be called."
    )
    links = page.locator("a.taken-link")
    expect(links).to_have_count(2)
    expect(links.nth(0)).to_contain_text("A001")  # newest first
    expect(links.nth(0)).to_contain_text("Waiting")
    expect(links.nth(1)).to_contain_text("B001")
    expect(page.locator("#take-find")).to_have_count(0)
    box = links.nth(0).bounding_box()
    assert box is not None and box["height"] >= 44
    assert_accessible(page)
    links.nth(0).click()
    expect(page).to_have_url(first_url)
    expect(page.locator("#number")).to_have_text("A001")


def test_a_refused_phone_without_its_numbers_is_told_how_to_find_them(
    make_hub: Callable[[str], LiveHub], phone_context: BrowserContext
) -> None:
    hub = make_hub(LIMITS)
    page = phone_context.new_page()
    for _ in range(2):
        page.goto(f"{hub.url}/take")
        page.click("button[value=general]")
        expect(page.locator("#number")).to_be_visible()
    # The list of numbers was lost (cookie cleared or forged), the device cookie kept.
    kept = [c for c in phone_context.cookies() if c["name"] != "o360_taken"]
    phone_context.clear_cookies()
    phone_context.add_cookies(kept)  # type: ignore[arg-type]
    phone_context.add_cookies([{"name": "o360_taken", "value": "1:forged.2:x", "url": hub.url}])
    page.goto(f"{hub.url}/take?lang=es")
    page.click("button[value=general]")
    expect(page.locator(".error")).to_contain_text("Ya ha cogido un número desde este teléfono")
    expect(page.locator("a.taken-link")).to_have_count(0)
    expect(page.locator("#take-find")).to_contain_text("historial del navegador")
