"""A kiosk with no token pairs with a real hub by code, then serves: the real kiosk app offscreen
(kiosk.probe in a subprocess), a real hub on a loopback port, the fake network printer (a real
TCP server). The camera is the only fake: no USB camera here. Screenshots go to
docs/screenshots/kiosk-pairing-*.png.
"""

from __future__ import annotations

import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from office360.enrollment import ALPHABET, CODE_LENGTH, format_code, load_token, token_path
from office360.pairing_client import BUSY, UNREACHABLE, WAITING, PairingClient, status_text
from printer.decode import decode
from printer.fake import FakePrinter
from tests.hubtools import LiveHub, ThreadHub, write_config
from tests.kiosk.drivers.kiosk_driver import ROOT, KioskDriver, Message, kiosk_config

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def fake_printer() -> Iterator[FakePrinter]:
    with FakePrinter() as fake:
        yield fake


def unpaired_kiosk(
    hub: LiveHub | ThreadHub,
    printer: FakePrinter,
    folder: Path,
    size: str = "1280x800",
    extra: str = "",
) -> tuple[KioskDriver, Path]:
    """The kiosk with an empty token and its own state dir; returns the driver and that dir."""
    state_dir = folder / "state"
    config = kiosk_config(hub.config, hub.url, "", printer.url, folder, extra)
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('token = ""', f'token = ""\nstate_dir = "{state_dir}"'))
    return KioskDriver(config, size, name=f"pairing-{size}"), state_dir


def next_code(kiosk: KioskDriver) -> Message:
    message = kiosk.wait_for("pairing", lambda m: m["kind"] == "code")
    code = message["value"]
    assert len(code) == CODE_LENGTH and set(code) <= set(ALPHABET), code
    return message


def approve(hub: LiveHub | ThreadHub, code: str) -> requests.Response:
    return requests.post(
        f"{hub.url}/api/v1/pairing/approve",
        json={"code": code},
        headers=hub.headers("admin"),
        timeout=5,
    )


def office360(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "office360", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def test_kiosk_pairs_by_code_then_issues_a_ticket_with_the_stored_token(
    live_hub: LiveHub, fake_printer: FakePrinter, tmp_path: Path
) -> None:
    kiosk, state_dir = unpaired_kiosk(
        live_hub, fake_printer, tmp_path, extra="priority_categories = []\n"
    )
    with kiosk:
        shown = next_code(kiosk)
        code = shown["value"]
        # readable at 2 m: 180 px type on a 10" 1280x800 panel makes capitals 22 mm tall
        assert shown["code_px"] >= 170
        kiosk.wait_for("pairing", lambda m: m["kind"] == "status" and m["value"] == WAITING)
        kiosk.wait_for("first_frame")
        assert kiosk.controls()["buttons"] == []  # nothing to touch, so nothing out of reach
        kiosk.screenshot("pairing-1280x800")
        assert not token_path(state_dir).exists()

        # the technician, on the hub
        run = office360("device", "approve", "--config", str(live_hub.config), format_code(code))
        assert run.returncode == 0, run.stderr
        assert "approved kiosk 'kiosk-test'" in run.stdout

        kiosk.view("start")  # no restart: the same process goes on to its start screen
        kiosk.wait_for("backend")
        token = load_token(state_dir)
        assert token and stat.S_IMODE(token_path(state_dir).stat().st_mode) == 0o600

        kiosk.tap("walk_in")
        kiosk.view("services")
        kiosk.tap("service:general")
        ticket = kiosk.view("ticket", printed=True)
        number = ticket["number"]
        assert number.startswith("A")
        assert number in decode(fake_printer.wait_for_jobs(1, timeout=5)[0]).text
    # the ticket was issued with the stored token: it is a kiosk's, and it works
    queue = requests.get(
        f"{live_hub.url}/api/v1/queue",
        params={"office": "centro"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert queue.status_code == 200
    waiting = {s["service"]: s["waiting"] for s in queue.json()["services"]}
    assert waiting["general"] == 1
    issued = requests.get(ticket["status_url"].replace("/status/", "/api/v1/tickets/"), timeout=5)
    assert issued.status_code == 200 and issued.json()["number"] == number
    # the code was used: it cannot pair a second device
    again = office360("device", "approve", "--config", str(live_hub.config), code)
    assert again.returncode == 1 and "pairing_code_used" in again.stderr


def test_expired_code_is_replaced_and_a_lost_hub_shows_unavailable_until_it_returns(
    thread_hub: ThreadHub, fake_printer: FakePrinter, tmp_path: Path
) -> None:
    extra = "high_contrast = true\nlow_reach = true\n"
    kiosk, state_dir = unpaired_kiosk(thread_hub, fake_printer, tmp_path, "800x480", extra)
    with kiosk:
        first = next_code(kiosk)
        # the smallest screen too: 108 px type on a 7" 800x480 panel, capitals 15 mm tall
        assert first["code_px"] >= 100
        kiosk.wait_for("first_frame")
        kiosk.screenshot("pairing-high-contrast-low-reach-800x480")

        thread_hub.clock.advance(minutes=11)  # the hub's clock: the first code has expired
        second = next_code(kiosk)["value"]
        assert second != first["value"]
        assert approve(thread_hub, first["value"]).status_code in (404, 409)

        thread_hub.stop()
        unavailable = kiosk.view("unavailable")
        assert unavailable["attempts"] >= 1
        kiosk.wait_for("pairing", lambda m: m["kind"] == "status" and m["value"] == UNREACHABLE)
        thread_hub.start()
        kiosk.wait_for("pairing", lambda m: m["kind"] == "status" and m["value"] == WAITING)
        assert not token_path(state_dir).exists()

        assert approve(thread_hub, second).status_code == 200
        kiosk.view("start")
        kiosk.wait_for("backend")
        assert load_token(state_dir)
        assert stat.S_IMODE(token_path(state_dir).stat().st_mode) == 0o600


def test_a_code_is_replaced_before_it_expires(thread_hub: ThreadHub, tmp_path: Path) -> None:
    """Shown too long, a code is replaced without waiting for the hub to call it expired, so a
    technician never types one about to die."""
    codes: list[str] = []
    pairing = PairingClient(
        thread_hub.url,
        "kiosk",
        tmp_path,
        office="centro",
        on_code=codes.append,
        poll_s=0.05,
        refresh_s=0.3,
    )
    first = pairing.open()
    result: list[str | None] = []
    waiter = threading.Thread(target=lambda: result.append(pairing.wait()), daemon=True)
    waiter.start()
    deadline = time.monotonic() + 10
    while len(codes) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(codes) >= 2 and codes[1] != first
    pairing.refresh_s = 600  # keep the next one
    time.sleep(0.3)
    assert pairing.code in codes[1:]
    assert approve(thread_hub, pairing.code).status_code == 200
    waiter.join(10)
    assert result and result[0] and load_token(tmp_path) == result[0]
    pairing.close()


def test_a_kiosk_that_cannot_keep_a_token_is_refused_with_the_way_to_make_one(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    config = write_config(
        tmp_path, 8360, f'[device]\ntoken = ""\nstate_dir = "{blocker / "state"}"\n'
    )
    result = office360("kiosk", "--config", str(config))
    assert result.returncode == 2
    assert "state_dir_not_writable" in result.stderr
    assert "office360 token create --role kiosk" in result.stderr


def test_a_token_file_pairing_would_never_fill_is_named(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        8360,
        f'[device]\ntoken_file = "{tmp_path / "elsewhere.token"}"\n'
        f'state_dir = "{tmp_path / "state"}"\n',
    )
    result = office360("kiosk", "--config", str(config))
    assert result.returncode == 2
    assert "token_file_outside_state_dir" in result.stderr


def test_a_busy_hub_is_said_on_the_pairing_screen_and_the_kiosk_tries_again_by_itself(
    thread_hub: ThreadHub, fake_printer: FakePrinter, tmp_path: Path
) -> None:
    """429 pairing_busy (this address has 5 codes waiting) is not "temporarily unavailable": the
    pairing screen says, in Spanish and English, that the hub is busy pairing other devices and
    that the kiosk will try again by itself, which it does after the hub's Retry-After."""
    for code in ("ACDEFG", "HJKMNP", "QRTWXY", "AC3467", "HJ9KMN"):  # from this address too
        assert requests.post(
            f"{thread_hub.url}/api/v1/pairing",
            json={"code": code, "role": "kiosk", "device": "another kiosk"},
            timeout=5,
        ).ok
    thread_hub.clock.advance(minutes=9, seconds=57)  # the first place frees in 3 s
    kiosk, state_dir = unpaired_kiosk(thread_hub, fake_printer, tmp_path)
    with kiosk:
        busy = kiosk.wait_for("pairing", lambda m: m["kind"] == "status")
        assert busy["value"] == BUSY
        assert busy["status_text"] == status_text(BUSY)
        assert "emparejando otros dispositivos" in busy["status_text"]
        assert "busy pairing other devices; trying again by itself" in busy["status_text"]
        assert busy["instruction_text"] == ""  # no code to enter: no "enter this code"
        kiosk.wait_for("first_frame")
        kiosk.screenshot("pairing-busy-1280x800")
        thread_hub.clock.advance(minutes=1)  # the other kiosk's codes expire
        code = next_code(kiosk)["value"]
        waiting = kiosk.wait_for(
            "pairing", lambda m: m["kind"] == "status" and m["value"] == WAITING
        )
        assert "Enter this code" in waiting["instruction_text"]
        pairing = [m for m in kiosk.messages if m.get("event") == "pairing"]
        assert [m["kind"] for m in pairing] == ["status", "code", "status"]  # no retry
        assert not [m for m in kiosk.messages if m.get("screen") == "unavailable"]
        assert approve(thread_hub, code).status_code == 200
        kiosk.view("start")
        assert load_token(state_dir)
