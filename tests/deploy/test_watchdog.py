"""sd_notify against a real unix datagram socket standing in for systemd."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from office360 import watchdog


@pytest.fixture
def notify_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(2)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    yield sock
    sock.close()


def received(sock: socket.socket, timeout: float = 0.0) -> list[str]:
    messages = []
    sock.settimeout(timeout)
    with contextlib.suppress(TimeoutError, BlockingIOError):
        while True:
            messages.append(sock.recv(4096).decode())
    return messages


def test_ready_ping_status_stopping_reach_the_socket(notify_socket: socket.socket) -> None:
    assert watchdog.ready("serving 3 desks")
    assert watchdog.ping()
    assert watchdog.status("hub unreachable, retrying")
    assert watchdog.stopping()
    assert received(notify_socket, 0.5) == [
        "READY=1\nSTATUS=serving 3 desks",
        "WATCHDOG=1",
        "STATUS=hub unreachable, retrying",
        "STOPPING=1",
    ]


def test_abstract_socket_address(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"office360-test-{os.getpid()}-{time.monotonic_ns()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert watchdog.ready()
        sock.settimeout(2)
        assert sock.recv(100) == b"READY=1"


def test_no_op_without_systemd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert watchdog.ready() is False
    assert watchdog.ping() is False


def test_a_vanished_socket_is_not_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "gone.sock"))
    assert watchdog.ping() is False


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, None),
        ({"WATCHDOG_USEC": "30000000"}, 30.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}, 30.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
    ],
)
def test_watchdog_interval(env: dict[str, str], expected: float | None) -> None:
    assert watchdog.watchdog_interval(env) == expected


def test_loop_watchdog_pings_only_while_the_loop_beats() -> None:
    now = [100.0]
    sent: list[float] = []
    dog = watchdog.LoopWatchdog(
        timeout=30, send=lambda: sent.append(now[0]) or True, clock=lambda: now[0]
    )
    assert dog.tick()  # just created: counts as a beat
    now[0] += 14
    assert dog.tick()
    now[0] += 2  # 16 s without a beat: more than half the timeout
    assert not dog.tick()
    dog.beat()
    assert dog.tick()
    assert sent == [100.0, 114.0, 116.0]


def test_loop_watchdog_disabled_without_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    dog = watchdog.LoopWatchdog()
    assert not dog.enabled
    dog.start()  # no thread, nothing to stop
    assert not dog.tick()
    dog.stop()


def test_loop_watchdog_thread_stops_pinging_when_the_loop_freezes(
    notify_socket: socket.socket,
) -> None:
    dog = watchdog.LoopWatchdog(timeout=0.6)  # ticks every 0.2 s, beat must be < 0.3 s old
    dog.start()
    try:
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:  # a healthy main loop
            dog.beat()
            time.sleep(0.05)
        alive = received(notify_socket)
        assert len(alive) >= 3 and set(alive) == {"WATCHDOG=1"}
        time.sleep(0.45)  # the loop "freezes": the beat gets stale
        received(notify_socket)  # drop pings sent while the beat was still fresh
        time.sleep(0.8)
        assert received(notify_socket) == []
    finally:
        dog.stop()


def test_asyncio_keepalive_pings_from_the_event_loop(notify_socket: socket.socket) -> None:
    async def main() -> None:
        task = asyncio.create_task(watchdog.asyncio_keepalive(timeout=0.3))
        await asyncio.sleep(0.35)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert received(notify_socket, 0.2).count("WATCHDOG=1") >= 3
