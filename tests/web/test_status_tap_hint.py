"""The phone status page says plainly that one tap is needed before it can vibrate or sound."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.hubtools import LiveHub

from .test_desk_and_phone import issue

HINTS = {
    "en": "Tap the page once: until you do, your phone cannot vibrate or make a sound",
    "es": "Toque la página una vez: sin ese toque el móvil no puede vibrar ni sonar",
}


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_tap_hint_sits_by_the_sound_button_and_goes_after_a_tap(
    make_hub: Callable[[str], LiveHub], phone_context: BrowserContext, lang: str
) -> None:
    hub = make_hub("")
    ticket = issue(hub)
    page = phone_context.new_page()
    page.goto(f"{ticket['status_url']}&lang={lang}")
    hint = page.locator("#tap-hint")
    expect(hint).to_be_visible()
    expect(hint).to_contain_text(HINTS[lang])
    sound, box = page.locator("#sound").bounding_box(), hint.bounding_box()
    assert sound is not None and box is not None
    assert abs(box["y"] - (sound["y"] + sound["height"])) < 40  # right under the button
    page.locator("#number").tap()  # a tap anywhere on the page
    expect(hint).to_be_hidden()
    expect(page.locator("#sound")).to_have_attribute("aria-pressed", "true")


def test_the_sound_button_also_hides_the_tap_hint(
    make_hub: Callable[[str], LiveHub], phone_context: BrowserContext
) -> None:
    hub = make_hub("")
    page = phone_context.new_page()
    page.goto(str(issue(hub)["status_url"]))
    expect(page.locator("#tap-hint")).to_be_visible()
    page.locator("#sound").click()
    expect(page.locator("#tap-hint")).to_be_hidden()
