"""The booking pages (/book, /book/manage) on a phone_390: high-contrast theme and touch targets."""

from __future__ import annotations

from playwright.sync_api import BrowserContext, Page, expect

from tests.appointments.apptools import booked
from tests.hubtools import ThreadHub

CONTRAST = """(sel) => {
  const lum = (c) => {
    const [r, g, b] = c.match(/[\\d.]+/g).slice(0, 3).map(Number).map((v) => {
      v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const el = document.querySelector(sel);
  let bg = 'rgba(0, 0, 0, 0)';
  for (let e = el; e && /rgba\\(.*, 0\\)$/.test(bg); e = e.parentElement) {
    bg = getComputedStyle(e).backgroundColor;
  }
  const a = lum(getComputedStyle(el).color), b = lum(bg);
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


def _high_contrast(page: Page) -> None:
    expect(page.locator("html")).to_have_class("hc")
    for selector in ("body", "h1", "main p"):
        ratio = page.evaluate(CONTRAST, selector)
        assert ratio >= 7, (page.url, selector, ratio)
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(0, 0, 0)", background


def _steps(page: Page, url: str) -> list[str]:
    """Walk /book to the details step; the URL of each step."""
    page.goto(f"{url}/book?lang=en")
    seen = [page.url]
    page.locator("a.booking-choice").first.click()
    seen.append(page.url)
    page.locator("a.booking-choice").first.click()
    seen.append(page.url)
    page.locator("a.booking-choice").first.click()
    seen.append(page.url)
    expect(page.locator("form.booking-form")).to_be_visible()
    return seen


def test_every_booking_step_and_the_manage_page_follow_the_high_contrast_cookie(
    appt_hub: ThreadHub, phone_390: BrowserContext
) -> None:
    phone_390.add_cookies([{"name": "o360_theme", "value": "hc", "url": appt_hub.url}])
    page = phone_390.new_page()
    for url in _steps(page, appt_hub.url):
        page.goto(url)
        _high_contrast(page)
    appt = booked(appt_hub, "11:00")
    page.goto(appt["manage_url"])
    _high_contrast(page)


def test_the_booking_pages_have_a_theme_toggle_that_is_remembered(
    appt_hub: ThreadHub, phone_390: BrowserContext
) -> None:
    page = phone_390.new_page()
    page.goto(f"{appt_hub.url}/book?lang=es")
    expect(page.locator("html")).not_to_have_class("hc")
    toggle = page.locator("button.theme-toggle")
    expect(toggle).to_have_text("Alto contraste")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    box = toggle.bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] >= 44
    toggle.click()
    expect(page.locator("html")).to_have_class("hc")
    page.reload()
    _high_contrast(page)
    expect(page.locator("button.theme-toggle")).to_have_attribute("aria-pressed", "true")


def _targets(page: Page, selector: str) -> None:
    links = page.locator(selector).all()
    assert links, (page.url, selector)
    for link in links:
        box = link.bounding_box()
        assert box is not None and box["height"] >= 44 and box["width"] >= 44, (
            page.url,
            link.inner_text(),
            box,
        )


def test_the_small_text_links_of_the_booking_steps_are_44_px_touch_targets(
    appt_hub: ThreadHub, phone_390: BrowserContext
) -> None:
    page = phone_390.new_page()
    days, slots, details = _steps(page, appt_hub.url)[1:]
    page.goto(days)
    _targets(page, ".booking-summary a, .booking > p > a")
    page.goto(slots)
    _targets(page, ".booking-summary a, .booking > p > a")
    page.goto(details)
    _targets(page, ".booking-summary a, .booking > p > a")
    page.click("form.booking-form button[type=submit]")  # no name: the error summary
    expect(page.locator("#errors")).to_be_visible()
    _targets(page, ".booking-errors a")
