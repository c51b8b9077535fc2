"""The low-reach layout (cookie o360_layout=low): what is to be touched sits in the lower part
of the screen, for a wheelchair user at the desk panel, /take and /book."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import BrowserContext, Page, expect

from tests.hubtools import LiveHub

from .test_desk_and_phone import desk_calling

LOW = {"name": "o360_layout", "value": "low"}
DESK_BUTTONS = ("next", "recall", "start", "finish")


def _top(page: Page, selector: str) -> float:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return float(box["y"])


def _tops_below(page: Page, selectors: list[str], fraction: float) -> None:
    height = page.viewport_size["height"]  # type: ignore[index]
    for selector in selectors:
        for element in page.locator(selector).all():
            box = element.bounding_box()
            assert box is not None, selector
            assert box["y"] >= fraction * height, (page.url, selector, box, height)
            assert box["height"] >= 44 and box["width"] >= 44, (selector, box)


def _no_overflow(page: Page) -> None:
    size = page.viewport_size
    assert size is not None
    width = page.evaluate("document.documentElement.scrollWidth")
    height = page.evaluate("document.documentElement.scrollHeight")
    assert width <= size["width"] and height <= size["height"], (page.url, width, height, size)


def _remembered_by_the_toggle(page: Page, label: str) -> None:
    toggle = page.locator("button.layout-toggle")
    expect(toggle).to_have_text(label)
    expect(toggle).to_have_attribute("aria-pressed", "false")
    toggle.click()
    expect(page.locator("html")).to_have_class("low-reach")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert cookies.get("o360_layout") == "low"
    page.reload()
    expect(page.locator("html")).to_have_class("low-reach")  # from the server: no flash
    page.locator("button.layout-toggle").click()
    expect(page.locator("html")).not_to_have_class("low-reach")
    assert {c["name"]: c["value"] for c in page.context.cookies()}["o360_layout"] == "default"


def test_the_desk_panel_in_low_reach_keeps_the_ticket_and_buttons_in_the_lower_half(
    make_hub: Callable[[str], LiveHub], desk_1280: BrowserContext
) -> None:
    hub, page = desk_calling(make_hub, desk_1280, "taxes", "2", "C001")
    # Without the cookie the panel is as before: the buttons start near the top.
    expect(page.locator("html")).not_to_have_class("low-reach")
    assert _top(page, "button[data-action=next]") < 0.45 * 800
    desk_1280.add_cookies([{**LOW, "url": hub.url}])
    page.reload()
    expect(page.locator("html")).to_have_class("low-reach")
    expect(page.locator("#number")).to_have_text("C001")
    _tops_below(page, [f"button[data-action={a}]" for a in DESK_BUTTONS], 0.45)
    assert _top(page, "#number") >= 0.5 * 800
    # Nothing to touch above about the middle; the bar's controls are at the bottom.
    _tops_below(page, ["button[data-action]:visible", "#transfer-to"], 0.45)
    _tops_below(page, [".theme-toggle", ".layout-toggle", "a.lang"], 0.5)
    _no_overflow(page)


def test_the_desk_panel_in_low_reach_fits_a_tablet(
    make_hub: Callable[[str], LiveHub], browser_context_tablet: BrowserContext
) -> None:
    hub, page = desk_calling(make_hub, browser_context_tablet, "taxes", "2", "C001")
    browser_context_tablet.add_cookies([{**LOW, "url": hub.url}])
    page.reload()
    expect(page.locator("#number")).to_have_text("C001")
    _tops_below(page, [f"button[data-action={a}]" for a in DESK_BUTTONS], 0.45)
    assert _top(page, "#number") >= 0.5 * 600
    _tops_below(page, [".theme-toggle", ".layout-toggle"], 0.5)
    _no_overflow(page)


def test_the_desk_panel_has_a_low_reach_toggle_that_is_remembered(
    make_hub: Callable[[str], LiveHub], desk_1280: BrowserContext
) -> None:
    _, page = desk_calling(make_hub, desk_1280, "taxes", "2", "C001")
    _remembered_by_the_toggle(page, "Low reach")


def test_take_in_low_reach_puts_the_service_buttons_in_the_lower_part(
    make_hub: Callable[[str], LiveHub], phone_390: BrowserContext
) -> None:
    hub = make_hub("")
    page = phone_390.new_page()
    page.goto(f"{hub.url}/take")
    expect(page.locator("button.choice")).to_have_count(3)
    assert _top(page, "button.choice") < 0.45 * 844  # unchanged without the cookie
    page.goto(f"{hub.url}/take?lang=es")
    _remembered_by_the_toggle(page, "Alcance bajo")
    phone_390.add_cookies([{**LOW, "url": hub.url}])
    page.goto(f"{hub.url}/take?lang=en")
    expect(page.locator("html")).to_have_class("low-reach")
    expect(page.locator("button.layout-toggle")).to_have_text("Low reach")
    _tops_below(page, ["button.choice", ".theme-toggle", ".layout-toggle", "a.lang"], 0.45)
    _no_overflow(page)


def test_book_in_low_reach_puts_choices_and_the_submit_button_in_the_lower_part(
    make_hub: Callable[[str], LiveHub], phone_390: BrowserContext
) -> None:
    hub = make_hub("")
    page = phone_390.new_page()
    page.goto(f"{hub.url}/book?lang=en")
    assert page.locator("a.booking-choice").count() > 0  # the test config takes appointments
    assert _top(page, "a.booking-choice") < 0.45 * 844
    _remembered_by_the_toggle(page, "Low reach")
    phone_390.add_cookies([{**LOW, "url": hub.url}])
    page.reload()
    expect(page.locator("html")).to_have_class("low-reach")
    _tops_below(page, ["a.booking-choice", ".theme-toggle", ".layout-toggle", ".o360-lang"], 0.45)
