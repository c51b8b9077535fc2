"""Kiosk devices failing mid-use: the printer's connection dropped in the middle of a ticket, and
the camera unplugged and plugged in again. Each asserts that nothing the hub accepted was lost or
issued twice, that the citizen is told what to do, and that the hub learns of the fault from the
kiosk's health report.

Real parts: the kiosk app in an offscreen Kivy window (kiosk.probe, one process per scenario),
a real hub, the fake network printer (a real TCP server that drops the connection after some
bytes). The camera is the package's FakeCamera: there is no USB camera here to unplug.
tests/kiosk/test_app.py covers the paper-out ticket and the camera view toggling; these go on to
the hub's side of each fault.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, text

from printer.decode import decode
from printer.fake import FakePrinter
from tests.appointments.apptools import booked
from tests.hubtools import LiveHub, ThreadHub, database_url_for
from tests.kiosk.drivers.kiosk_driver import KioskDriver, kiosk_config

pytestmark = [pytest.mark.ui, pytest.mark.timeout(120)]
DEVICE = "kiosk-test"  # [kiosk] device_name in kiosk_config


@pytest.fixture
def fake_printer() -> Iterator[FakePrinter]:
    with FakePrinter() as fake:
        yield fake


def start_kiosk(hub: LiveHub | ThreadHub, printer: FakePrinter, folder: Path) -> KioskDriver:
    config = kiosk_config(hub.config, hub.url, hub.token("kiosk"), printer.url, folder)
    driver = KioskDriver(config, name="faults")
    driver.view("start")
    driver.wait_for("backend")
    return driver


def health_report(
    hub: LiveHub | ThreadHub, check: Callable[[dict[str, Any]], bool], timeout: float = 20
) -> dict[str, Any]:
    """The kiosk's latest health report once it passes `check` (reports come every 5 s)."""
    deadline = time.monotonic() + timeout
    seen: dict[str, Any] = {}
    while time.monotonic() < deadline:
        answer = requests.get(f"{hub.url}/api/v1/devices", headers=hub.headers(), timeout=5)
        for device in answer.json():
            if device.get("device") == DEVICE:
                seen = dict(device.get("report") or device)
                if check(seen):
                    return seen
        time.sleep(0.3)
    raise AssertionError(f"no health report passing the check; last: {seen}")


def stored_numbers(hub: LiveHub | ThreadHub) -> list[str]:
    """Every ticket number in the hub's database (SQLite or PostgreSQL), as stored."""
    engine = create_engine(database_url_for(hub.config))
    try:
        with engine.connect() as db:
            rows = db.execute(text("SELECT number FROM tickets ORDER BY id"))
            return [str(row[0]) for row in rows]
    finally:
        engine.dispose()


def walk_in(kiosk: KioskDriver, service: str) -> None:
    kiosk.tap("walk_in")
    kiosk.view("services")
    kiosk.tap(f"service:{service}")
    kiosk.view("priority")
    kiosk.tap("priority:none")


def test_printer_dropped_mid_ticket(
    live_hub: LiveHub, fake_printer: FakePrinter, tmp_path: Path
) -> None:
    with start_kiosk(live_hub, fake_printer, tmp_path) as kiosk:
        health_report(live_hub, lambda r: r.get("printer") == "ok")
        fake_printer.set_state(drop_after=60)  # the cable pulled after the ticket's first lines
        walk_in(kiosk, "general")
        ticket = kiosk.view("ticket", printed=False)
        # The citizen is given the phone QR with the number instead of the paper.
        assert ticket["number"].startswith("A") and ticket["problem"]
        assert ticket["status_url"].startswith(live_hub.url + "/status/")
        kiosk.screenshot("faults-printer-dropped-1280x800")
        dropped = [c for c in fake_printer.connections if c.dropped]
        assert len(dropped) == 1 and 0 < len(dropped[0].data) <= 60  # cut off mid-ticket
        # The ticket exists in the hub exactly once, whatever the printer did.
        status = requests.get(
            ticket["status_url"].replace("/status/", "/api/v1/tickets/"), timeout=5
        )
        assert status.status_code == 200 and status.json()["number"] == ticket["number"]
        assert stored_numbers(live_hub) == [ticket["number"]]
        # The hub hears of it from the kiosk's health report, sent as soon as the print failed.
        report = health_report(
            live_hub, lambda r: r["details"].get("print_problem") is not None, timeout=4
        )
        assert report["details"]["print_problem"] == ticket["problem"], report

        fake_printer.set_state(drop_after=None)  # plugged back in
        kiosk.tap("done")
        kiosk.view("start")
        walk_in(kiosk, "general")
        again = kiosk.view("ticket", printed=True)
        assert again["number"] != ticket["number"]
        assert again["number"] in decode(fake_printer.wait_for_jobs(2, timeout=5)[-1]).text
        assert stored_numbers(live_hub) == [ticket["number"], again["number"]]
        health_report(
            live_hub, lambda r: r["printer"] == "ok" and r["details"]["print_problem"] is None
        )


def test_camera_unplugged_and_replugged(
    thread_hub: ThreadHub, fake_printer: FakePrinter, tmp_path: Path
) -> None:
    by_wedge = booked(thread_hub, "10:00")["code"]
    by_camera = booked(thread_hub, "09:45")["code"]
    with start_kiosk(thread_hub, fake_printer, tmp_path) as kiosk:
        kiosk.tap("scan")
        kiosk.view("scan", camera_ok=True)
        kiosk.send(cmd="unplug")
        kiosk.view("scan", camera_ok=False)  # the scan screen says the camera is not working
        health_report(thread_hub, lambda r: r.get("camera") == "no_camera")
        assert stored_numbers(thread_hub) == []
        # The keyboard-wedge scanner still checks people in meanwhile.
        kiosk.send(cmd="wedge", text=by_wedge)
        first = kiosk.view("ticket", printed=True)
        kiosk.tap("done")
        kiosk.view("start")

        kiosk.send(cmd="replug")
        kiosk.tap("scan")
        kiosk.view("scan", camera_ok=True, timeout_s=15)
        kiosk.send(cmd="code", text=by_camera)
        second = kiosk.view("ticket", printed=True)
        assert second["number"] != first["number"]
        assert second["number"] in decode(fake_printer.wait_for_jobs(2, timeout=5)[-1]).text
        health_report(thread_hub, lambda r: r.get("camera") == "ok")
    # Each appointment gave exactly one ticket.
    assert stored_numbers(thread_hub) == [first["number"], second["number"]]
