"""The desk panel's disabled buttons: still legible (WCAG AA text contrast, 4.5:1) in the normal and
the high-contrast theme, and told apart from the enabled ones by more than their colour."""

from __future__ import annotations

from playwright.sync_api import BrowserContext, expect

from tests.hubtools import ThreadHub

from .contrast import disabled_buttons
from .webtools import choose_desk, make_user, sign_in


def test_disabled_desk_buttons_are_legible_and_look_unavailable_in_both_themes(
    thread_hub: ThreadHub, desk_1280: BrowserContext
) -> None:
    make_user(thread_hub.config, "ana", "staff")
    page = desk_1280.new_page()
    sign_in(page, thread_hub.url, "ana")
    choose_desk(page, "1")
    # Paused with no ticket in hand: every button but Resume is off, the primary Next among them.
    expect(page.locator("button[data-action=pause]")).to_be_enabled()
    page.keyboard.press("p")
    expect(page.locator("#desk-state")).to_have_text("Desk paused")
    expect(page.locator("button[data-action=next]")).to_be_disabled()
    resume = page.locator("button[data-action=resume]")
    expect(resume).to_be_enabled()
    for theme in ("normal", "high contrast"):
        if theme == "high contrast":
            page.click(".theme-toggle")
            expect(page.locator("html")).to_have_class("hc")
        found = disabled_buttons(page, "button.act:disabled")
        actions = {b["action"] for b in found}
        assert actions == {"next", "recall", "start", "no-show", "finish", "transfer"}, theme
        faint = [f"{b['action']} {b['text']!r} {b['ratio']:.2f}" for b in found if b["ratio"] < 4.5]
        lowest = min(b["ratio"] for b in found)
        assert not faint, f"{theme}: lowest {lowest:.2f}:1; {faint}"
        # not colour alone: a dashed border where an enabled button has a solid one
        assert {b["border"] for b in found} == {"dashed"}, theme
        assert resume.evaluate("b => getComputedStyle(b).borderTopStyle") == "solid", theme
