"""The phone status page of a closed number: rating stars fit small phones; no reconnecting
text, no 'we will tell you' hint and no sound button."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, expect

from tests.hubtools import LiveHub

from .test_desk_and_phone import issue


def _desk(hub: LiveHub, *actions: str) -> None:
    for action in actions:
        r = requests.post(
            f"{hub.url}/api/v1/desks/1/{action}", headers=hub.headers("admin"), timeout=5
        )
        assert r.status_code == 200, (action, r.text)


def _finished(hub: LiveHub) -> dict[str, Any]:
    ticket = issue(hub)
    _desk(hub, "next", "start", "finish")
    return ticket


@pytest.mark.parametrize("width", [320, 390])
def test_the_rating_stars_fit_a_small_phone_and_stay_touch_sized(
    make_hub: Callable[[str], LiveHub], browser: Browser, width: int
) -> None:
    hub = make_hub("")
    ticket = _finished(hub)
    context = browser.new_context(
        locale="en-GB",
        viewport={"width": width, "height": 740},
        has_touch=True,
        is_mobile=True,
        device_scale_factor=2,
    )
    try:
        page = context.new_page()
        page.goto(str(ticket["status_url"]))
        expect(page.locator("#feedback")).to_be_visible()
        inner = page.evaluate("innerWidth")
        assert inner == width
        scroll = page.evaluate("document.scrollingElement.scrollWidth")
        assert scroll <= inner, (scroll, inner)
        stars = page.locator(".feedback-star").all()
        assert len(stars) == 5
        for star in stars:
            box = star.bounding_box()
            assert box is not None
            assert box["x"] >= 0 and box["x"] + box["width"] <= inner, box
            assert box["width"] >= 44 and box["height"] >= 44, box
    finally:
        context.close()


@pytest.mark.parametrize(
    ("lang", "final", "offline", "keep_open"),
    [
        (
            "en",
            "This number is closed: no more updates will come.",
            "Offline; retrying…",
            "Keep this page open",
        ),
        (
            "es",
            "Este número ya está cerrado: no recibirá más avisos.",
            "Sin conexión; reintentando…",
            "Deje esta página abierta",
        ),
    ],
)
def test_a_closed_number_shows_a_final_message_instead_of_reconnecting(
    make_hub: Callable[[str], LiveHub],
    browser: Browser,
    lang: str,
    final: str,
    offline: str,
    keep_open: str,
) -> None:
    hub = make_hub("")
    done = _finished(hub)
    no_show = issue(hub)
    _desk(hub, "next", "no-show")
    cancelled = issue(hub)
    r = requests.post(
        f"{hub.url}/api/v1/tickets/{cancelled['id']}/cancel",
        headers=hub.headers("admin"),
        timeout=5,
    )
    assert r.status_code in (200, 204), r.text
    context = browser.new_context(locale="en-GB", viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        for ticket in (done, no_show, cancelled):
            page.goto(f"{ticket['status_url']}&lang={lang}")
            page.wait_for_timeout(300)  # status.js has run
            expect(page.locator("#live")).to_have_text(final)
            assert offline not in page.inner_text("body")
            assert keep_open not in page.inner_text("body")
            expect(page.locator("#sound")).to_be_hidden()
            expect(page.locator("#keep-open")).to_be_hidden()
    finally:
        context.close()


def test_a_number_closed_while_the_page_is_open_turns_final(
    make_hub: Callable[[str], LiveHub], browser: Browser
) -> None:
    hub = make_hub("")
    ticket = issue(hub)
    context = browser.new_context(locale="en-GB", viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto(str(ticket["status_url"]))
        expect(page.locator("#live")).to_have_text("Updated live", timeout=5000)
        expect(page.locator("#sound")).to_be_visible()
        _desk(hub, "next", "start", "finish")
        expect(page.locator("#live")).to_have_text(
            "This number is closed: no more updates will come.", timeout=5000
        )
        expect(page.locator("#sound")).to_be_hidden()
        expect(page.locator("#keep-open")).to_be_hidden()
    finally:
        context.close()
