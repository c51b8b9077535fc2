"""Real hubs (uvicorn in a thread, fake clock) configured for appointments."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.hubtools import FakeClock, ThreadHub, free_port, write_config

# The fake clock starts on Monday 2 March 2026, 08:30 UTC = 09:30 in Madrid.
APPOINTMENTS = """
[appointments]
slot_minutes = 15
early_window_minutes = 30
grace_minutes = 10
late_policy = "{late}"
video_url_template = "https://meet.example.org/office360-{{room}}"

[[appointments.services]]
service = "taxes"
capacity = 1
"""


@pytest.fixture
def make_hub(tmp_path: Path, clock: FakeClock) -> Iterator[Callable[..., ThreadHub]]:
    hubs: list[ThreadHub] = []

    def make(late: str = "walk_in", extra: str = "") -> ThreadHub:
        folder = tmp_path / f"hub{len(hubs)}"
        folder.mkdir()
        port = free_port()
        config = write_config(folder, port, extra + APPOINTMENTS.format(late=late))
        hub = ThreadHub(config, port, clock)
        hub.start()
        hubs.append(hub)
        return hub

    yield make
    for hub in hubs:
        hub.stop()


@pytest.fixture
def appt_hub(make_hub: Callable[..., ThreadHub]) -> ThreadHub:
    return make_hub()
