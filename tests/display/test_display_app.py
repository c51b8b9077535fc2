"""The real display app, offscreen, following a real hub on a loopback port."""

from __future__ import annotations

import struct
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from office360.client import HubClient
from tests.display.display_probe import ROOT, ProbedDisplay, UnpluggableLink, display_config
from tests.hubtools import LiveHub

pytestmark = pytest.mark.ui
SCREENSHOTS = ROOT / "docs" / "screenshots"


@pytest.fixture
def kiosk(live_hub: LiveHub) -> Iterator[HubClient]:
    with HubClient(
        live_hub.url, live_hub.token("kiosk"), office="centro", backoff_s=0.05
    ) as client:
        yield client


def desk(live_hub: LiveHub, desk_id: str) -> HubClient:
    return HubClient(
        live_hub.url, live_hub.token("staff", desk=desk_id), office="centro", backoff_s=0.05
    )


def start_display(
    live_hub: LiveHub, tmp_path: Path, size: str = "1280x720", extra: str = "", hub_url: str = ""
) -> ProbedDisplay:
    token = live_hub.token("display")
    config = display_config(live_hub.config, hub_url or live_hub.url, token, tmp_path, extra)
    # --silent: the app's announcer records instead of playing through SDL, so three calls take
    # no 20 s of speech; KivyPlayer itself is tested in test_display_announcer.py.
    display = ProbedDisplay(config, size, silent=True)
    display.wait_for(lambda m: m.get("event") == "ready")
    display.board(lambda m: m["connection"] == "connected")
    return display


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def png_is_not_blank(path: Path) -> bool:
    """At least two distinct colours in the image data (a blank or black frame has one)."""
    data = path.read_bytes()
    chunks, pos = b"", 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"IDAT":
            chunks += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    raw = zlib.decompress(chunks)
    return len(set(raw[1 : 1 + 3 * 400 : 3])) > 1 or len(set(raw[::997])) > 2


def test_issue_and_call_shows_on_the_board_and_is_spoken(
    live_hub: LiveHub, kiosk: HubClient, tmp_path: Path
) -> None:
    display = start_display(
        live_hub, tmp_path, "1920x1080", extra='message = "Bienvenidos · Welcome"'
    )
    try:
        for service in ("certificates", "taxes", "certificates", "general"):
            kiosk.issue_ticket(service, lang="es")
        with desk(live_hub, "3") as desk3, desk(live_hub, "1") as desk1:
            first = desk3.desk_action("3", "next")
            assert first is not None and first["number"] == "B001"
            display.board(lambda m: m["current"] == "B001" and m["desk"] == "3")
            desk3.desk_action("3", "start")
            desk1.desk_action("1", "next")
            desk3.desk_action("3", "next")
        shown = display.board(
            lambda m: m["current"] == "C001" and m["previous"] == ["B002", "B001"]
        )
        assert shown["waiting"]["general"] == 1
        spoken = display.wait_for(lambda m: m.get("event") == "spoken" and "C 1" in m["texts"][0])
        assert spoken["texts"] == ["Número C 1, mostrador 3", "Ticket C 1, desk 3"]
        order = [m["texts"][1] for m in display.messages if m.get("event") == "spoken"]
        assert order == ["Ticket B 1, desk 3", "Ticket B 2, desk 1", "Ticket C 1, desk 3"]
        shot = display.screenshot(SCREENSHOTS / "display-1920x1080.png")
        assert png_size(shot) == (1920, 1080) and png_is_not_blank(shot)
    finally:
        display.close()


def test_small_screen_and_high_contrast(
    live_hub: LiveHub, kiosk: HubClient, tmp_path: Path
) -> None:
    display = start_display(live_hub, tmp_path, "1280x720", extra='theme = "high_contrast"')
    try:
        for _ in range(6):
            kiosk.issue_ticket("taxes")
        with desk(live_hub, "2") as desk2:
            for _ in range(5):
                desk2.desk_action("2", "next")
                desk2.desk_action("2", "start")
        display.board(lambda m: m["current"] == "C005" and len(m["previous"]) == 4)
        shot = display.screenshot(SCREENSHOTS / "display-1280x720-high-contrast.png")
        assert png_size(shot) == (1280, 720) and png_is_not_blank(shot)
    finally:
        display.close()


def test_portrait_screen(live_hub: LiveHub, kiosk: HubClient, tmp_path: Path) -> None:
    extra = 'orientation = "portrait"\nlast_calls = 3\nmessage = "Cita previa: office360.example"'
    display = start_display(live_hub, tmp_path, "720x1280", extra=extra)
    try:
        for _ in range(5):
            kiosk.issue_ticket("general")
        with desk(live_hub, "1") as desk1:
            for _ in range(5):
                desk1.desk_action("1", "next")
                desk1.desk_action("1", "start")
        shown = display.board(lambda m: m["current"] == "A005")
        assert shown["previous"] == ["A004", "A003", "A002"]  # last_calls = 3
        shot = display.screenshot(SCREENSHOTS / "display-portrait-720x1280.png")
        assert png_size(shot) == (720, 1280) and png_is_not_blank(shot)
    finally:
        display.close()


def test_hub_restarted_mid_day_the_display_catches_up(
    live_hub: LiveHub, kiosk: HubClient, tmp_path: Path
) -> None:
    link = UnpluggableLink(live_hub.port)
    display = start_display(live_hub, tmp_path, "1280x720", hub_url=link.url)
    try:
        for _ in range(5):
            kiosk.issue_ticket("general")
        with desk(live_hub, "1") as desk1:
            desk1.desk_action("1", "next")
        display.board(lambda m: m["current"] == "A001")

        link.unplug()  # the display loses the hub ...
        live_hub.restart()  # ... which restarts meanwhile
        lost = display.board(lambda m: m["connection"] == "reconnecting")
        assert lost["current"] == "A001"  # the board keeps its last state
        display.screenshot(SCREENSHOTS / "display-reconnecting.png")

        with desk(live_hub, "1") as desk1, desk(live_hub, "2") as desk2:
            desk1.desk_action("1", "start")
            desk1.desk_action("1", "next")  # A002
            desk2.desk_action("2", "next")  # A003
            desk1.desk_action("1", "start")
            desk1.desk_action("1", "next")  # A004
        missed_at = time.monotonic()
        assert not [m for m in display.messages if m.get("current") in ("A002", "A003", "A004")]

        link.plug()
        back = display.board(lambda m: m["connection"] == "connected" and m["current"] == "A004")
        assert back["t"] > missed_at
        assert back["previous"][:3] == ["A003", "A002", "A001"]
        display.wait_for(
            lambda m: m.get("event") == "spoken" and m["texts"][0].startswith("Número A 4")
        )
        spoken = [m["texts"][0] for m in display.messages if m.get("event") == "spoken"]
        assert spoken == [
            "Número A 1, mostrador 1",
            "Número A 2, mostrador 1",
            "Número A 3, mostrador 2",
            "Número A 4, mostrador 1",
        ]
    finally:
        display.close()
        link.close()


def test_the_hub_accepts_the_displays_health_report(live_hub: LiveHub) -> None:
    from display.announcer import Announcer, RecordingPlayer
    from display.board import BoardState
    from display.health import health_report

    announcer = Announcer(RecordingPlayer(), None, ["es", "en"])
    report = health_report(BoardState(connection="connected", last_event_id=12), announcer)
    with HubClient(live_hub.url, live_hub.token("display")) as display:
        assert display.report_health(report)["device"] == report["device"]
    with HubClient(live_hub.url, live_hub.token("admin")) as admin:
        devices = admin.devices("centro")
    mine = next(d for d in devices if d["device"] == report["device"])
    assert mine["role"] == "display"
    assert mine["report"]["details"]["last_event_id"] == 12
