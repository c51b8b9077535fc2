"""Shared fixtures: real hubs on loopback ports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hubtools import FakeClock, LiveHub, ThreadHub, free_port, live_hub_in, write_config


@pytest.fixture
def hub_settings_file(tmp_path: Path) -> Path:
    """A config with office centro: services general (A), certificates (B), taxes (C); desks 1-3."""
    return write_config(tmp_path, free_port())


@pytest.fixture
def live_hub(tmp_path: Path) -> Iterator[LiveHub]:
    """`office360 hub` in a subprocess: .url, .token(role, desk=None), .stop(), .start(), .restart()."""
    yield from live_hub_in(tmp_path)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def thread_hub(tmp_path: Path, clock: FakeClock) -> Iterator[ThreadHub]:
    """The hub served in a thread, with a fake clock the test controls (`clock.advance(minutes=5)`)."""
    port = free_port()
    hub = ThreadHub(write_config(tmp_path, port), port, clock)
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()
