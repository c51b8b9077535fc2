"""The dashboard's charts are readable from two metres on a 1280x800 screen: every label at least
16 CSS px, none overlapping another, none cut off by the chart's edge."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.analytics.test_dashboard_page import seed_february
from tests.analytics.test_hub_feedback import post, serve, token_of
from tests.analytics.test_hub_reports_api import DAY, make_day
from tests.hubtools import ThreadHub

MIN_PX = 16.0

# Per chart: its caption, and per <text>: its label, rendered font size (computed size times the
# SVG's scale on screen) and box; plus the chart's own box.
MEASURE = """() => [...document.querySelectorAll('svg.chart')].map(svg => {
    const box = r => ({left: r.left, top: r.top, right: r.right, bottom: r.bottom});
    return {
        chart: svg.querySelector('title').textContent,
        box: box(svg.getBoundingClientRect()),
        texts: [...svg.querySelectorAll('text')].map(t => ({
            text: t.textContent,
            px: parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a,
            box: box(t.getBoundingClientRect()),
        })),
    };
})"""


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    slack = 0.5  # sub-pixel rounding of touching boxes
    return (
        a["left"] < b["right"] - slack
        and b["left"] < a["right"] - slack
        and a["top"] < b["bottom"] - slack
        and b["top"] < a["bottom"] - slack
    )


def inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    slack = 0.5
    return (
        inner["left"] >= outer["left"] - slack
        and inner["right"] <= outer["right"] + slack
        and inner["top"] >= outer["top"] - slack
        and inner["bottom"] <= outer["bottom"] + slack
    )


def chart_text_faults(charts: list[dict[str, Any]]) -> list[str]:
    faults = []
    for chart in charts:
        texts = chart["texts"]
        for t in texts:
            if t["px"] < MIN_PX:
                faults.append(f"{chart['chart']}: {t['text']!r} is {t['px']:.1f} px")
            if not inside(t["box"], chart["box"]):
                faults.append(f"{chart['chart']}: {t['text']!r} is cut off")
        for i, a in enumerate(texts):
            for b in texts[i + 1 :]:
                if overlap(a["box"], b["box"]):
                    faults.append(f"{chart['chart']}: {a['text']!r} overlaps {b['text']!r}")
    return faults


@pytest.mark.parametrize("lang", ["en", "es"])
def test_dashboard_chart_text_is_16px_at_1280_and_never_overlaps(
    thread_hub: ThreadHub, desk_1280: BrowserContext, lang: str
) -> None:
    seed_february(thread_hub)  # a month of days: many labels under the axis
    make_day(thread_hub)
    done = serve(thread_hub)
    assert post(thread_hub, done["id"], {"rating": 5}, token_of(done)).status_code == 201
    desk_1280.set_extra_http_headers({"Authorization": f"Bearer {thread_hub.token('manager')}"})
    page = desk_1280.new_page()
    page.goto(
        f"{thread_hub.url}/admin/dashboard?from=2026-02-01&to={DAY}&lang={lang}"
        f"&a_from=2026-02-01&a_to=2026-02-15&b_from=2026-02-16&b_to={DAY}"
        f"&plan_desks=2&plan_day={DAY}"
    )
    # per day, wait per day, wait by hour, channels, stars; the comparison; the plan
    expect(page.locator("svg.chart")).to_have_count(7)
    charts: list[dict[str, Any]] = page.evaluate(MEASURE)
    assert all(len(chart["texts"]) >= 4 for chart in charts)
    smallest = min(t["px"] for chart in charts for t in chart["texts"])
    faults = chart_text_faults(charts)
    assert not faults, f"smallest {smallest:.1f} px; " + "; ".join(faults)
