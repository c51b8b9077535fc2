"""Admin page for webhooks: add a subscription (secret shown once), see its deliveries, delete it."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable

import requests
from playwright.sync_api import BrowserContext, expect

from tests.hubtools import LiveHub, free_port

from .webtools import assert_accessible, make_user, screenshot, sign_in


def test_admin_adds_a_webhook_sees_its_deliveries_and_deletes_it(
    make_hub: Callable[[str], LiveHub], desk_context: BrowserContext
) -> None:
    received: list[bytes] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        hub = make_hub("")
        make_user(hub.config, "root", "admin")
        page = desk_context.new_page()
        sign_in(page, hub.url, "root")
        page.click("a[href='/admin/notifications']")
        expect(page.locator("main")).to_contain_text("No subscriptions.")
        page.fill("#w-url", f"http://127.0.0.1:{port}/hook")
        page.fill("#w-events", "ticket.issued")
        page.fill("#w-desc", "Registry system")
        page.click("form.grid-form button")
        secret = page.locator("#new-secret").input_value()
        assert len(secret) >= 16
        expect(page.locator("tr", has_text="Registry system")).to_contain_text("ticket.issued")

        r = requests.post(
            f"{hub.url}/api/v1/tickets",
            json={"service": "general"},
            headers=hub.headers(),
            timeout=5,
        )
        assert r.status_code == 201
        for _ in range(100):
            if received:
                break
            threading.Event().wait(0.1)
        assert received and b"ticket.issued" in received[0]
        for _ in range(50):
            page.goto(f"{hub.url}/admin/notifications")
            if page.locator("tr", has_text="sent").count():
                break
            threading.Event().wait(0.1)
        expect(page.locator("tr", has_text="ticket.issued").last).to_contain_text("sent")
        assert secret not in page.content()  # shown once only
        assert_accessible(page)
        screenshot(page, "admin-notifications.png")

        page.locator("tr", has_text="Registry system").locator("button").click()
        expect(page.locator(".notice")).to_contain_text("deleted")
        expect(page.locator("main")).to_contain_text("No subscriptions.")
    finally:
        server.shutdown()
