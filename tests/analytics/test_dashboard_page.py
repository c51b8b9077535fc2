"""The managers' dashboard in a real browser (Debian's Chromium through Playwright): figures, SVG
charts, CSV export, comparison and planner, in English and Spanish; a screenshot for the docs."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree

import pytest
import requests
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from hub import tables
from hub.db import make_engine
from tests.hubtools import ThreadHub, database_url_for
from tests.web.webtools import CHROMIUM_ARGS, SCREENSHOTS, assert_accessible, screenshot

from .test_hub_reports_api import DAY, make_day

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    assert CHROMIUM.exists(), "Debian's chromium is missing: apt-get install chromium"
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


def manager_page(browser: Browser, hub: ThreadHub, role: str = "manager") -> Page:
    # bypass_csp: axe-core is injected as an inline script, which the page's CSP forbids
    context = browser.new_context(
        viewport={"width": 1366, "height": 900},
        locale="en-GB",
        bypass_csp=True,
        extra_http_headers={"Authorization": f"Bearer {hub.token(role)}"},
    )
    return context.new_page()


def seed_february(hub: ThreadHub) -> None:
    """Four weeks of tickets before the scenario day, straight into the database (seeded)."""
    rng = random.Random(9)
    services = ("general", "certificates", "taxes")
    desks = {"general": ("1", "2"), "certificates": ("1", "3"), "taxes": ("2", "3")}
    rows, day = [], date(2026, 2, 2)
    while day < date(2026, 3, 2):
        if day.weekday() < 5:
            busy = 1.0 if day < date(2026, 2, 16) else 0.7  # fewer waits after the "launch"
            for n in range(rng.randint(25, 45)):
                service = rng.choice(services)
                local = datetime(day.year, day.month, day.day, 9) + timedelta(
                    minutes=rng.uniform(0, 300)
                )
                issued = local.replace(tzinfo=UTC) - timedelta(hours=1)  # Madrid is UTC+1
                called = issued + timedelta(seconds=rng.expovariate(1 / (420 * busy)))
                started = called + timedelta(seconds=rng.uniform(20, 90))
                no_show = rng.random() < 0.06
                rows.append(
                    {
                        "office_id": "centro",
                        "service_id": service,
                        "day": day.isoformat(),
                        "number": f"{service[0].upper()}{n:03d}",
                        "status": "no_show" if no_show else "done",
                        "priority": None,
                        "lang": "es",
                        "channel": rng.choice(("walk_in", "walk_in", "appointment", "web")),
                        "issued_at": issued,
                        "fair_at": issued,
                        "called_at": called,
                        "started_at": None if no_show else started,
                        "finished_at": None
                        if no_show
                        else started + timedelta(seconds=rng.uniform(150, 600)),
                        "desk_id": rng.choice(desks[service]),
                        "recalls": 0,
                    }
                )
        day += timedelta(days=1)
    engine = make_engine(database_url_for(hub.config), pool_size=1)
    with engine.begin() as conn:
        conn.execute(tables.tickets.insert(), rows)
    engine.dispose()


def test_dashboard_shows_the_day_exports_and_plans(thread_hub: ThreadHub, browser: Browser) -> None:
    make_day(thread_hub)
    page = manager_page(browser, thread_hub)
    page.goto(f"{thread_hub.url}/admin/dashboard?from={DAY}&to={DAY}&lang=en")
    expect(page.locator("h1")).to_have_text("Results")
    expect(page.locator("#kpi-issued")).to_have_text("5")
    expect(page.locator("#kpi-wait")).to_contain_text("4.2")  # 255 s
    expect(page.locator("#kpi-within")).to_have_text("100 %")
    charts = page.locator("svg.chart")
    assert charts.count() == 4  # per day, wait per day, wait by hour, channels
    for svg in charts.all():
        root = ElementTree.fromstring(svg.evaluate("e => e.outerHTML"))
        ns = "{http://www.w3.org/2000/svg}"
        assert root.find(f"{ns}title") is not None and root.find(f"{ns}desc") is not None
        assert root.get("role") == "img"
    assert_accessible(page)

    # the export link, fetched with the browser's own request context (same token, same origin)
    href = page.get_attribute("#csv-export", "href")
    assert href is not None and "format=csv" in href
    export = page.request.get(f"{thread_hub.url}{href}")
    assert export.ok and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text())))
    office = next(row for row in rows if row["dimension"] == "office")
    assert (office["issued"], office["wait_mean_s"]) == ("5", "255.0")

    page.select_option("#plan_day", DAY)
    page.fill("#plan_desks", "1")
    page.click("#plan button[type=submit]")
    expect(page.locator("#plan-arrivals")).to_have_text("3")
    expect(page.locator("#plan-wait")).to_contain_text("0.0")

    page.goto(f"{thread_hub.url}/admin/dashboard?from={DAY}&to={DAY}&lang=es")
    expect(page.locator("h1")).to_have_text("Resultados")
    expect(page.locator("#services-table")).to_contain_text("Tributos")
    page.context.close()


def test_dashboard_compares_two_periods_screenshot(thread_hub: ThreadHub, browser: Browser) -> None:
    seed_february(thread_hub)
    make_day(thread_hub)
    page = manager_page(browser, thread_hub)
    page.goto(f"{thread_hub.url}/admin/dashboard?from=2026-02-01&to={DAY}&lang=en")
    expect(page.locator("#kpi-issued")).not_to_have_text("5")
    page.fill("#a_from", "2026-02-01")
    page.fill("#a_to", "2026-02-15")
    page.fill("#b_from", "2026-02-16")
    page.fill("#b_to", DAY)
    page.click("#compare button[type=submit]")
    table = page.locator("#compare-table")
    expect(table).to_contain_text("Mean wait")
    expect(table).to_contain_text("General information")
    assert page.locator("svg.chart").count() == 5
    assert_accessible(page)
    expect(table).to_contain_text("pp")  # shares compare in percentage points
    page.locator("#compare").screenshot(path=str(SCREENSHOTS / "dashboard-compare.png"))
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "dashboard.png")
    page.context.close()


def test_dashboard_needs_a_manager(thread_hub: ThreadHub, browser: Browser) -> None:
    page = manager_page(browser, thread_hub, role="kiosk")
    response = page.goto(f"{thread_hub.url}/admin/dashboard")
    assert response is not None and response.status == 403
    page.context.close()
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{thread_hub.url}/admin/dashboard?lang=en")
    assert "/signin" in page.url
    bad = page.goto(f"{thread_hub.url}/admin/dashboard?from=2026-03-05&to=2026-03-01")
    assert bad is not None and "/signin" in page.url
    context.close()


def test_dashboard_bad_dates_get_a_message(thread_hub: ThreadHub, browser: Browser) -> None:
    page = manager_page(browser, thread_hub)
    response = page.goto(f"{thread_hub.url}/admin/dashboard?from=2026-03-05&to=2026-03-01&lang=en")
    assert response is not None and response.status == 422
    expect(page.locator("p.error")).to_contain_text("end date is before the start date")
    response = page.goto(f"{thread_hub.url}/admin/dashboard?from=yesterday&lang=en")
    assert response is not None and response.status == 422
    expect(page.locator("p.error").first).to_contain_text("is not a date")
    page.context.close()


def test_feedback_form_include_in_a_real_browser(thread_hub: ThreadHub, browser: Browser) -> None:
    """feedback_form.html as the phone page will include it, served from the hub's origin."""
    from hub.web.common import templates

    from .test_hub_feedback import serve, token_of

    done = serve(thread_hub)
    html = templates.get_template("feedback_form.html").render(
        lang="en", ticket={"id": done["id"], "status": "waiting"}, token=token_of(done)
    )
    page_html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>t</title></head><body>'
        f'<section id="ticket" class="ticket status-serving">A001</section>{html}</body></html>'
    )
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="en-GB")
    page = context.new_page()
    page.route(
        f"{thread_hub.url}/feedback-test",
        lambda route: route.fulfill(status=200, content_type="text/html", body=page_html),
    )
    page.goto(f"{thread_hub.url}/feedback-test")
    form = page.locator("#feedback")
    expect(form).to_be_hidden()
    # the status page's script marks the ticket done: the form appears
    page.evaluate("document.getElementById('ticket').className = 'ticket status-done'")
    expect(form).to_be_visible()
    page.click(".feedback-send")
    expect(page.locator(".feedback-result")).to_have_text("Choose 1 to 5 stars.")
    page.click(".feedback-star[value='4']")
    expect(page.locator(".feedback-star.on")).to_have_count(4)
    page.fill("#feedback-comment", "Great, call me on 600 12 34 56")
    page.click(".feedback-send")
    expect(page.locator(".feedback-result")).to_have_text("Thank you for your rating!")
    expect(page.locator(".feedback-send")).to_be_disabled()
    report = requests.get(
        f"{thread_hub.url}/api/v1/reports/kpis",
        params={"from": DAY, "to": DAY},
        headers=thread_hub.headers("manager"),
        timeout=10,
    ).json()
    assert report["feedback"][0]["ratings"]["4"] == 1
    context.close()
