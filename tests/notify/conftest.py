"""Receivers on loopback ports, and hubs configured to notify them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.hubtools import FakeClock, ThreadHub, free_port, write_config
from tests.notify.receiver import Receiver

SECRET = "test-secret-0123456789abcdef"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(free_port(), secret=SECRET)
    r.start()
    try:
        yield r
    finally:
        r.stop()


@pytest.fixture
def gateway() -> Iterator[Receiver]:
    """An SMS gateway: records the calls, checks nothing."""
    r = Receiver(free_port())
    r.start()
    try:
        yield r
    finally:
        r.stop()


@pytest.fixture
def make_hub(tmp_path: Path, clock: FakeClock) -> Iterator[Callable[[str], ThreadHub]]:
    """The hub in a thread of this process (starts in well under a second), with `extra` TOML
    appended to the test config and the fake clock the test moves."""
    hubs: list[ThreadHub] = []

    def make(extra: str) -> ThreadHub:
        folder = tmp_path / f"hub{len(hubs)}"
        folder.mkdir()
        port = free_port()
        hub = ThreadHub(write_config(folder, port, extra), port, clock)
        hub.start()
        hubs.append(hub)
        return hub

    try:
        yield make
    finally:
        for hub in hubs:
            hub.stop()
