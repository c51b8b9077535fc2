"""Contrast of disabled buttons as they reach the screen, shared by the browser tests."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

# For each button matching the selector and each element with text in it: the contrast ratio of
# the text against the button's face as they reach the screen, composed over the page's
# backgrounds, with the opacity of the button (or of anything around it) taken into account.
CONTRAST = """(selector) => {
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
    return [...document.querySelectorAll(selector)].flatMap(button =>
        [button, ...button.querySelectorAll('*')]
            .filter(e => [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))
            .map(e => ({
                action: button.dataset.action || null,
                text: e.textContent.trim(),
                ratio: ratio(...seen(e)),
                border: getComputedStyle(button).borderTopStyle,
            })));
}"""


def disabled_buttons(page: Page, selector: str) -> list[dict[str, Any]]:
    """Each text inside the buttons matching `selector` (give one that matches disabled ones):
    the button's data-action, the text, its contrast ratio as painted and the border style."""
    found: list[dict[str, Any]] = page.evaluate(CONTRAST, selector)
    return found
