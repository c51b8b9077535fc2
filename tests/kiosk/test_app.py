"""The real kiosk app in an offscreen Kivy window, driven by simulated touches, with a real hub on a
loopback port, a FakeCamera fed QR frames made here, and the fake network printer (a real TCP
server). Each scenario runs the app in its own process (kiosk.probe); screenshots go to
docs/screenshots/kiosk-*.png.

The camera is the only fake: no USB camera here. Scenarios that check in appointments use the
in-thread hub (`thread_hub`), whose clock is fixed on a Monday morning, so a booked slot can be
checked in whatever the time of day the suite runs; the others use the `live_hub` subprocess,
which can be stopped and started again.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from printer.decode import decode
from printer.fake import FakePrinter
from tests.appointments.apptools import booked
from tests.hubtools import LiveHub, ThreadHub
from tests.kiosk.drivers.kiosk_driver import KioskDriver, kiosk_config

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def fake_printer() -> Iterator[FakePrinter]:
    with FakePrinter() as fake:
        yield fake


def start_kiosk(
    hub: LiveHub | ThreadHub,
    printer: FakePrinter,
    folder: Path,
    size: str = "1280x800",
    extra: str = "",
    name: str = "",
) -> KioskDriver:
    config = kiosk_config(hub.config, hub.url, hub.token("kiosk"), printer.url, folder, extra)
    driver = KioskDriver(config, size, name=name)
    driver.view("start")
    driver.wait_for("first_frame")
    driver.wait_for("backend")  # camera, printer and hub client up
    return driver


def printed(printer: FakePrinter, count: int = 1) -> Any:
    return decode(printer.wait_for_jobs(count, timeout=5)[count - 1])


def assert_low_reach(driver: KioskDriver) -> list[str]:
    """Every control of the screen shown lies in the lower half of the window."""
    controls = driver.controls()
    height = controls["window"][1]
    assert controls["buttons"], "a screen with controls"
    for button in controls["buttons"]:
        _x, y, _w, h = button["rect"]
        assert y + h <= height / 2 + 1, button
        assert h >= 60, button  # a big touch target
    return [b["target"] for b in controls["buttons"]]


def test_walk_in_with_priority_prints_the_ticket(
    live_hub: LiveHub, fake_printer: FakePrinter, tmp_path: Path
) -> None:
    with start_kiosk(live_hub, fake_printer, tmp_path) as kiosk:
        kiosk.screenshot("start-1280x800")
        kiosk.tap("lang:en")
        kiosk.view("start", lang="en")
        kiosk.screenshot("start-en-1280x800")
        kiosk.tap("walk_in")
        kiosk.view("services", lang="en")
        kiosk.screenshot("services-1280x800")
        kiosk.tap("service:certificates")
        kiosk.view("priority")
        kiosk.screenshot("priority-1280x800")
        fake_printer.set_state(delay_s=0.12)  # a slow printer: the issuing screen stays up
        kiosk.tap("priority:reduced_mobility")
        kiosk.view("issuing", number="B001")
        kiosk.screenshot("issuing-1280x800")
        ticket = kiosk.view("ticket", printed=True)
        kiosk.screenshot("ticket-1280x800")
        document = printed(fake_printer)
        assert ticket["number"] == "B001" and "B001" in document.text
        assert document.qr_payloads == [ticket["status_url"]]
        assert ticket["status_url"].startswith(live_hub.url + "/status/")
        status = requests.get(
            ticket["status_url"].replace("/status/", "/api/v1/tickets/"), timeout=5
        )
        assert status.status_code == 200 and status.json()["priority"] == "reduced_mobility"
        assert status.json()["lang"] == "en"
        kiosk.tap("done")
        kiosk.view("start", lang="es")  # the next citizen starts afresh
        report = _health_report(live_hub, "kiosk-test")
        assert report["printer"] == "ok" and report["camera"] == "ok"


def _health_report(hub: LiveHub, device: str) -> dict[str, Any]:
    import time

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        answer = requests.get(
            f"{hub.url}/api/v1/devices", headers=hub.headers("admin"), timeout=5
        ).json()
        found = [d for d in answer if d.get("device") == device]
        if found:
            return dict(found[0].get("report") or found[0])
        time.sleep(0.5)
    raise AssertionError(f"no health report from {device}")


def test_paper_out_gives_the_phone_qr_portrait(
    live_hub: LiveHub, fake_printer: FakePrinter, tmp_path: Path
) -> None:
    fake_printer.set_state("paper_out")
    extra = "priority_categories = []\n"
    with start_kiosk(live_hub, fake_printer, tmp_path, "800x1280", extra) as kiosk:
        kiosk.screenshot("start-800x1280")
        kiosk.tap("walk_in")
        kiosk.view("services")
        kiosk.screenshot("services-800x1280")
        kiosk.tap("service:taxes")  # no priority step configured
        ticket = kiosk.view("ticket", printed=False)
        assert ticket["problem"] == "printer_paper_out" and ticket["number"] == "C001"
        assert ticket["status_url"].startswith(live_hub.url + "/status/")
        kiosk.screenshot("ticket-phone-800x1280")
        assert fake_printer.jobs == []
        fake_printer.set_state("ok")  # paper back: the next citizen gets paper again
        kiosk.tap("done")
        kiosk.view("start")
        kiosk.tap("walk_in")
        kiosk.view("services")
        kiosk.tap("service:taxes")
        ticket = kiosk.view("ticket", printed=True)
        assert ticket["number"] == "C002" and "C002" in printed(fake_printer).text
        kiosk.screenshot("ticket-800x1280")


def test_scan_appointment_forged_code_wedge_and_camera_unplugged(
    thread_hub: ThreadHub, fake_printer: FakePrinter, tmp_path: Path
) -> None:
    genuine = booked(thread_hub, "10:00")["code"]
    second = booked(thread_hub, "09:45")["code"]
    forged = genuine[:-6] + ("AAAAAA" if not genuine.endswith("AAAAAA") else "BBBBBB")
    with start_kiosk(thread_hub, fake_printer, tmp_path) as kiosk:
        kiosk.tap("scan")
        kiosk.view("scan")
        kiosk.screenshot("scan-1280x800")
        kiosk.send(cmd="code", text=forged)
        kiosk.wait_for("beep")
        error = kiosk.view("error")
        assert error["error"] == "qr_signature_invalid"
        kiosk.screenshot("error-1280x800")
        kiosk.tap("action:home")
        kiosk.view("start")
        kiosk.send(cmd="code", text=genuine)  # held up at the start screen: read there too
        ticket = kiosk.view("ticket", printed=True)
        document = printed(fake_printer)
        assert ticket["number"] in document.text
        assert document.qr_payloads == [ticket["status_url"]]
        kiosk.screenshot("ticket-appointment-1280x800")
        # a keyboard-wedge scanner types the code and Enter, on the ticket screen of the last one
        kiosk.send(cmd="wedge", text=second)
        wedged = kiosk.view("ticket", printed=True)
        assert wedged["number"] != ticket["number"]
        assert wedged["number"] in printed(fake_printer, 2).text
        kiosk.tap("done")
        kiosk.view("start")
        kiosk.tap("scan")
        kiosk.view("scan")
        kiosk.send(cmd="unplug")
        kiosk.view("scan", camera_ok=False)
        kiosk.screenshot("camera-unplugged-1280x800")
        kiosk.send(cmd="replug")
        kiosk.view("scan", camera_ok=True, timeout_s=15)


def test_hub_down_then_recovery_high_contrast_low_reach(
    live_hub: LiveHub, fake_printer: FakePrinter, tmp_path: Path
) -> None:
    extra = "high_contrast = true\nlow_reach = true\nidle_timeout_s = 5\n"
    with start_kiosk(live_hub, fake_printer, tmp_path, extra=extra) as kiosk:
        assert set(assert_low_reach(kiosk)) == {"scan", "walk_in", "lang:es", "lang:en"}
        kiosk.screenshot("start-high-contrast-low-reach-1280x800")
        kiosk.tap("walk_in")
        kiosk.view("services")
        assert "service:general" in assert_low_reach(kiosk)
        kiosk.screenshot("services-high-contrast-low-reach-1280x800")
        kiosk.tap("service:general")
        kiosk.view("priority")
        assert "priority:none" in assert_low_reach(kiosk)
        kiosk.screenshot("priority-high-contrast-low-reach-1280x800")
        live_hub.stop()
        kiosk.tap("priority:none")
        kiosk.view("unavailable")
        kiosk.screenshot("unavailable-1280x800")
        live_hub.start()
        kiosk.view("start", timeout_s=20)  # recovered by itself
        kiosk.tap("walk_in")
        kiosk.view("services")
        kiosk.tap("service:general")
        kiosk.view("priority")
        kiosk.tap("priority:none")
        ticket = kiosk.view("ticket", printed=True)
        assert ticket["number"] in printed(fake_printer).text
        kiosk.screenshot("ticket-high-contrast-1280x800")
        kiosk.tap("done")
        kiosk.view("start")
        kiosk.tap("lang:en")
        kiosk.tap("walk_in")
        kiosk.view("services", lang="en")
        idle = kiosk.view("start", timeout_s=10)  # nobody touched it: back, language forgotten
        assert idle["lang"] == "es"


def test_smallest_screen_keeps_every_control_whole(
    live_hub: LiveHub, fake_printer: FakePrinter, tmp_path: Path
) -> None:
    """800x480, the smallest screen supported: every button inside the window, none overlapping."""
    with start_kiosk(live_hub, fake_printer, tmp_path, "800x480") as kiosk:
        for step, screen in (
            ("", "start"),
            ("walk_in", "services"),
            ("service:general", "priority"),
        ):
            if step:
                kiosk.tap(step)
                kiosk.view(screen)
            controls = kiosk.controls()
            width, height = controls["window"]
            rects = [b["rect"] for b in controls["buttons"]]
            for x, y, w, h in rects:
                assert x >= 0 and x + w <= width and y >= 0 and y + h <= height
                assert h >= 48 and w >= 120
            for i, (x, y, w, h) in enumerate(rects):
                for x2, y2, w2, h2 in rects[i + 1 :]:
                    assert x + w <= x2 or x2 + w2 <= x or y + h <= y2 or y2 + h2 <= y
            kiosk.screenshot(f"{screen}-800x480")
        kiosk.tap("priority:none")
        kiosk.view("ticket", printed=True)
        kiosk.screenshot("ticket-800x480")
