"""A display with no token pairs with a real hub by code, offscreen, then shows the board."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import requests

from display.cli import open_pairing
from office360.client import HubClient
from office360.config import load_settings
from office360.enrollment import ALPHABET, CODE_LENGTH, load_token, token_path
from office360.pairing_client import BUSY, WAITING, status_text
from tests.display.display_probe import ProbedDisplay, display_config
from tests.display.test_display_app import SCREENSHOTS, png_is_not_blank, png_size
from tests.hubtools import LiveHub, ThreadHub

pytestmark = pytest.mark.ui


def test_unpaired_display_shows_a_code_and_after_approval_the_board(
    live_hub: LiveHub, tmp_path: Path
) -> None:
    state_dir = tmp_path / "state"
    config = display_config(live_hub.config, live_hub.url, "", tmp_path)
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('token = ""', f'token = ""\nstate_dir = "{state_dir}"'))
    display = ProbedDisplay(config, "1920x1080", silent=True)
    try:
        shown = display.wait_for(lambda m: m.get("event") == "pairing" and m["kind"] == "code")
        code = shown["value"]
        assert len(code) == CODE_LENGTH and set(code) <= set(ALPHABET)
        display.wait_for(lambda m: m.get("event") == "ready")
        shot = display.screenshot(SCREENSHOTS / "display-pairing-1920x1080.png")
        assert png_size(shot) == (1920, 1080) and png_is_not_blank(shot)
        assert not token_path(state_dir).exists()

        approved = requests.post(
            f"{live_hub.url}/api/v1/pairing/approve",
            json={"code": code},
            headers=live_hub.headers("admin"),
            timeout=5,
        )
        assert approved.status_code == 200, approved.text
        display.wait_for(lambda m: m.get("event") == "pairing" and m["value"] == "paired")
        display.board(lambda m: m["connection"] == "connected")

        token = load_token(state_dir)
        assert token and stat.S_IMODE(token_path(state_dir).stat().st_mode) == 0o600
        # the stored token is a display's: the board follows a call made now
        with HubClient(live_hub.url, live_hub.token("kiosk"), office="centro") as kiosk:
            kiosk.issue_ticket("general")
        with HubClient(live_hub.url, live_hub.token("staff", desk="2"), office="centro") as desk:
            desk.desk_action("2", "next")
        display.board(lambda m: m["current"] == "A001" and m["desk"] == "2")
        with HubClient(live_hub.url, token) as paired:
            assert paired.queue("centro")["office"] == "centro"
    finally:
        display.close()


def busy_with_other_codes(hub: ThreadHub) -> None:
    """This address (the loopback) has the 5 codes waiting it may: the hub answers 429
    pairing_busy; the first of them expires in 3 s (its Retry-After)."""
    for code in ("ACDEFG", "HJKMNP", "QRTWXY", "AC3467", "HJ9KMN"):
        assert requests.post(
            f"{hub.url}/api/v1/pairing",
            json={"code": code, "role": "display", "device": "another display"},
            timeout=5,
        ).ok
    hub.clock.advance(minutes=9, seconds=57)


def test_a_busy_hub_is_said_on_the_pairing_screen_and_the_display_tries_again_by_itself(
    thread_hub: ThreadHub, tmp_path: Path
) -> None:
    busy_with_other_codes(thread_hub)
    state_dir = tmp_path / "state"
    config = display_config(thread_hub.config, thread_hub.url, "", tmp_path)
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('token = ""', f'token = ""\nstate_dir = "{state_dir}"'))
    display = ProbedDisplay(config, "1280x720", silent=True)
    try:
        busy = display.wait_for(lambda m: m.get("event") == "pairing")
        assert (busy["kind"], busy["value"]) == ("status", BUSY)
        assert busy["status_text"] == status_text(BUSY)  # Spanish and English
        assert "busy pairing other devices" in busy["status_text"]
        assert busy["instruction_text"] == ""  # no code to enter: no "enter this code"
        display.wait_for(lambda m: m.get("event") == "ready")
        shot = display.screenshot(SCREENSHOTS / "display-pairing-busy-1280x720.png")
        assert png_is_not_blank(shot)
        thread_hub.clock.advance(minutes=1)  # the other display's codes expire
        shown = display.wait_for(lambda m: m.get("event") == "pairing" and m["kind"] == "code")
        waiting = display.wait_for(lambda m: m.get("event") == "pairing" and m["value"] == WAITING)
        assert waiting["status_text"] == status_text(WAITING)
        assert "Enter this code" in waiting["instruction_text"]
        pairing = [m["value"] for m in display.messages if m.get("event") == "pairing"]
        assert pairing == [BUSY, shown["value"], WAITING]
        approved = requests.post(
            f"{thread_hub.url}/api/v1/pairing/approve",
            json={"code": shown["value"]},
            headers=thread_hub.headers("admin"),
            timeout=5,
        )
        assert approved.status_code == 200, approved.text
        display.wait_for(lambda m: m.get("event") == "pairing" and m["value"] == "paired")
        assert load_token(state_dir)
    finally:
        display.close()


def test_a_display_started_while_the_hub_is_busy_pairing_starts_anyway(
    thread_hub: ThreadHub, tmp_path: Path
) -> None:
    """`office360 display` opens its code before the window: busy is no reason to stop."""
    busy_with_other_codes(thread_hub)
    config = display_config(thread_hub.config, thread_hub.url, "", tmp_path)
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('token = ""', f'token = ""\nstate_dir = "{tmp_path}"'))
    pairing = open_pairing(load_settings(config))
    assert pairing is not None and (pairing.code, pairing.status) == ("", BUSY)
    pairing.close()
