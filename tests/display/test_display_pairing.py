"""A display with no token pairs with a real hub by code, offscreen, then shows the board."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import requests

from office360.client import HubClient
from office360.enrollment import ALPHABET, CODE_LENGTH, load_token, token_path
from tests.display.display_probe import ProbedDisplay, display_config
from tests.display.test_display_app import SCREENSHOTS, png_is_not_blank, png_size
from tests.hubtools import LiveHub

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
