"""From the Next click on the desk panel to the call arriving on the citizen's phone page.

    .venv/bin/python bench/web_call_latency.py [--calls 200]

Runs a real hub (`office360 hub` on loopback) and Debian's Chromium through Playwright: one page
is the desk panel (signed in, desk 1), another the phone status page of the ticket about to be
called. The desk page stamps the click (performance.timeOrigin + now, in the click handler), the
phone page stamps the `ticket.called` event when its EventSource delivers it; both pages share
the machine's clock. Also prints the phone page's weight (HTML, CSS and JavaScript, uncompressed).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.hubtools import live_hub_in  # noqa: E402
from tests.web.webtools import CHROMIUM_ARGS, make_user, sign_in  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def page_weight(url: str) -> dict[str, int]:
    html = requests.get(url, timeout=5)
    base = url.split("/status/")[0]
    sizes = {"html": len(html.content)}
    for asset in ("/static/phone.css", "/static/theme.js", "/static/status.js"):
        sizes[asset.rsplit("/", 1)[1]] = len(requests.get(base + asset, timeout=5).content)
    sizes["total"] = sum(sizes.values())
    return sizes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        runner = live_hub_in(Path(folder))
        hub = next(runner)
        try:
            return run(hub, args.calls)
        finally:
            next(runner, None)


def run(hub, calls: int) -> int:  # type: ignore[no-untyped-def]
    make_user(hub.config, "bench", "staff")
    kiosk = hub.headers("kiosk")
    latencies: list[float] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        desk = browser.new_context(
            viewport={"width": 1366, "height": 768}, bypass_csp=True
        ).new_page()
        sign_in(desk, hub.url, "bench")
        desk.click("button[name=desk][value='1']")
        desk.wait_for_selector("#live.on")
        phone = browser.new_context(
            viewport={"width": 360, "height": 740}, bypass_csp=True
        ).new_page()
        weight: dict[str, int] = {}
        for i in range(calls + 5):
            ticket = requests.post(
                f"{hub.url}/api/v1/tickets", json={"service": "general"}, headers=kiosk, timeout=5
            ).json()
            if not weight:
                weight = page_weight(ticket["status_url"])
            phone.goto(ticket["status_url"])
            phone.wait_for_selector("#live.on")
            phone.evaluate("window.__lastEvent = null")
            desk.wait_for_function("!document.querySelector('button[data-action=next]').disabled")
            desk.click("button[data-action=next]")
            phone.wait_for_function(
                "window.__lastEvent && window.__lastEvent.type === 'ticket.called'"
            )
            clicked = desk.evaluate("window.__deskClickAt")
            arrived = phone.evaluate("window.__lastEvent.at")
            if i >= 5:  # the first calls warm up the browser and the hub
                latencies.append(arrived - clicked)
            desk.wait_for_function(
                f"document.getElementById('number').textContent === '{ticket['number']}'"
            )
            desk.click("button[data-action=start]")
            desk.wait_for_function("document.body.dataset.ticketStatus === 'serving'")
        browser.close()
    load = os.getloadavg()
    print(f"calls measured: {len(latencies)}")
    print(
        "click -> phone event (ms): "
        f"p50 {percentile(latencies, 50):.1f}  p90 {percentile(latencies, 90):.1f}  "
        f"p99 {percentile(latencies, 99):.1f}  max {max(latencies):.1f}  "
        f"mean {statistics.mean(latencies):.1f}"
    )
    print(
        "phone page weight (bytes, uncompressed): "
        + "  ".join(f"{k} {v}" for k, v in weight.items())
    )
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 0 if percentile(latencies, 99) <= 150 else 1


if __name__ == "__main__":
    raise SystemExit(main())
