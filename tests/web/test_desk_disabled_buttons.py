"""The desk panel's disabled buttons: still legible (WCAG AA text contrast, 4.5:1) in the normal and
the high-contrast theme, and told apart from the enabled ones by more than their colour."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import BrowserContext, Page, expect

from tests.hubtools import ThreadHub

from .webtools import choose_desk, make_user, sign_in

# For each disabled button and each element with text in it: the contrast ratio of the text
# against the button's face as they reach the screen, composed over the page's backgrounds, with
# the opacity of the button (or of anything around it) taken into account.
CONTRAST = """() => {
    const rgba = s => { const v = s.match(/[\\d.]+/g).map(Number); return v.length > 3 ? v : [...v, 1]; };
    const over = (top, under) => [0, 1, 2].map(i => top[i] * top[3] + under[i] * (1 - top[3]));
    const lum = c => c.map(v => v / 255)
        .map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
        .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
    const ratio = (a, b) => {
        const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
        return (hi + 0.05) / (lo + 0.05);
    };
    function seen(el) {  // [text, background] as painted
        const chain = [];
        for (let e = el; e; e = e.parentElement) chain.unshift(e);
        let face = [255, 255, 255], behindGroup = null, opacity = 1;
        for (const e of chain) {
            const style = getComputedStyle(e);
            if (parseFloat(style.opacity) < 1) {
                behindGroup = behindGroup || face;
                opacity *= parseFloat(style.opacity);
            }
            face = over(rgba(style.backgroundColor), face);
        }
        let text = over(rgba(getComputedStyle(el).color), face);
        if (behindGroup) {
            text = over([...text, opacity], behindGroup);
            face = over([...face, opacity], behindGroup);
        }
        return [text, face];
    }
    return [...document.querySelectorAll('button.act:disabled')].flatMap(button =>
        [button, ...button.querySelectorAll('*')]
            .filter(e => [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))
            .map(e => ({
                action: button.dataset.action,
                text: e.textContent.trim(),
                ratio: ratio(...seen(e)),
                border: getComputedStyle(button).borderTopStyle,
            })));
}"""


def disabled_buttons(page: Page) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page.evaluate(CONTRAST)
    return found


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
        found = disabled_buttons(page)
        actions = {b["action"] for b in found}
        assert actions == {"next", "recall", "start", "no-show", "finish", "transfer"}, theme
        faint = [f"{b['action']} {b['text']!r} {b['ratio']:.2f}" for b in found if b["ratio"] < 4.5]
        lowest = min(b["ratio"] for b in found)
        assert not faint, f"{theme}: lowest {lowest:.2f}:1; {faint}"
        # not colour alone: a dashed border where an enabled button has a solid one
        assert {b["border"] for b in found} == {"dashed"}, theme
        assert resume.evaluate("b => getComputedStyle(b).borderTopStyle") == "solid", theme
