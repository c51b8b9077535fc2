"""Small things on every page: a favicon, touch-sized links on the staff pages and the poster,
weekday names in the admin's opening hours."""

from __future__ import annotations

from collections.abc import Callable

import requests
from playwright.sync_api import Browser, BrowserContext, Response, expect

from tests.hubtools import LiveHub

from .webtools import make_user, sign_in


def test_no_page_asks_for_a_missing_favicon(
    make_hub: Callable[[str], LiveHub], desk_context: BrowserContext
) -> None:
    hub = make_hub("")
    make_user(hub.config, "root", "admin")
    page = desk_context.new_page()
    missing: list[str] = []

    def watch(response: Response) -> None:
        if response.status == 404:
            missing.append(response.url)

    page.on("response", watch)
    for path in ("/take", "/signin", "/book", "/book?lang=en"):
        page.goto(f"{hub.url}{path}")
        page.wait_for_load_state("networkidle")
    sign_in(page, hub.url, "root")
    for path in ("/admin", "/admin/poster", "/desk/choose"):
        page.goto(f"{hub.url}{path}")
        page.wait_for_load_state("networkidle")
    assert not missing, missing
    assert page.locator("link[rel=icon]").count() == 1
    icon = requests.get(f"{hub.url}/static/favicon.svg", timeout=5)
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    legacy = requests.get(f"{hub.url}/favicon.ico", timeout=5)
    assert legacy.status_code == 200 and "<svg" in legacy.text


def test_the_language_links_and_the_posters_admin_link_are_touch_sized(
    make_hub: Callable[[str], LiveHub], browser: Browser
) -> None:
    hub = make_hub("")
    make_user(hub.config, "root", "admin")
    context = browser.new_context(locale="es-ES", viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        sign_in(page, hub.url, "root")
        page.goto(f"{hub.url}/admin?lang=es")
        for link in page.locator(".tools a").all():
            box = link.bounding_box()
            assert box is not None and box["width"] >= 44 and box["height"] >= 44, (
                link.inner_text(),
                box,
            )
        page.goto(f"{hub.url}/admin/poster")
        link = page.locator(".poster a[href='/admin']")
        expect(link).to_have_text("Administración")
        box = link.bounding_box()
        assert box is not None and box["height"] >= 44 and box["width"] >= 44, box
    finally:
        context.close()


def test_the_opening_hours_name_the_weekdays(
    make_hub: Callable[[str], LiveHub], desk_context: BrowserContext
) -> None:
    hub = make_hub('[appointments]\nhours = { sat = "10:00-13:00", mon = "09:00-14:00" }\n')
    make_user(hub.config, "root", "admin")
    page = desk_context.new_page()
    sign_in(page, hub.url, "root")
    for lang, monday, saturday in (("en", "Monday", "Saturday"), ("es", "Lunes", "Sábado")):
        page.goto(f"{hub.url}/admin?lang={lang}")
        rows = page.locator("main table").last.locator("th[scope=row]")
        expect(rows).to_have_text([monday, saturday])  # in weekday order
        text = page.locator("main table").last.inner_text()
        assert "mon" not in text and "sat" not in text, text
