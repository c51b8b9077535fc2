"""`[hub] workers = 2`: several processes on one SQLite file and one port (hub/workers.py).

Which worker serves a connection is the kernel's choice, so the tests look it up: the server side
of a loopback connection is a socket in /proc/net/tcp whose inode one worker holds open.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.hub.sse import SSEReader
from tests.hubtools import LiveHub, free_port, wait_healthy, write_config

pytestmark = pytest.mark.skipif(
    not Path("/proc/net/tcp").exists(), reason="needs Linux /proc to see which worker serves"
)


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == str(pid) and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return sorted(found)


def serving_pid(sock: socket.socket, port: int, pids: list[int]) -> int | None:
    """The worker holding the server side of this client socket."""
    client_port = sock.getsockname()[1]
    local, remote = f"0100007F:{port:04X}", f"0100007F:{client_port:04X}"
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == local and fields[2] == remote:
            inode = fields[9]
    if inode is None:
        return None
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) == f"socket:[{inode}]":
                    return pid
            except OSError:
                continue
    return None


def start_two_workers(folder: Path) -> LiveHub:
    port = free_port()
    config = write_config(folder, port)
    text = config.read_text(encoding="utf-8").replace("[hub]\n", "[hub]\nworkers = 2\n", 1)
    config.write_text(text, encoding="utf-8")
    live = LiveHub(config, port)
    live.start()
    assert live.proc is not None
    deadline = time.monotonic() + 20
    while len(children(live.proc.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    return live


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    """Shared by the tests that leave both workers running."""
    live = start_two_workers(tmp_path_factory.mktemp("workers"))
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture
def own_hub(tmp_path: Path) -> Iterator[LiveHub]:
    """For the tests that kill processes."""
    live = start_two_workers(tmp_path)
    try:
        yield live
    finally:
        live.stop()


def workers_of(hub: LiveHub) -> list[int]:
    assert hub.proc is not None
    pids = children(hub.proc.pid)
    assert len(pids) == 2, f"expected 2 workers, found {pids}"
    return pids


def connection_on(hub: LiveHub, pid: int, pids: list[int]) -> http.client.HTTPConnection:
    """A keep-alive connection that the worker `pid` serves (health-checked so it is accepted)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        conn = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=10)
        conn.request("GET", "/healthz")
        conn.getresponse().read()
        assert conn.sock is not None
        if serving_pid(conn.sock, hub.port, pids) == pid:
            return conn
        conn.close()
    raise AssertionError(f"no connection reached worker {pid}")


def post(
    conn: http.client.HTTPConnection, path: str, headers: dict[str, str], body: object = None
) -> tuple[int, dict[str, Any]]:
    data = json.dumps(body).encode() if body is not None else b""
    conn.request(
        "POST",
        path,
        body=data,
        headers={
            **headers,
            "Content-Type": "application/json",
            "Idempotency-Key": uuid.uuid4().hex,
        },
    )
    response = conn.getresponse()
    raw = response.read()
    return response.status, json.loads(raw) if raw else {}


def sse_on(hub: LiveHub, pid: int, pids: list[int], **headers: str) -> SSEReader:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        reader = SSEReader(f"{hub.url}/api/v1/events", {**hub.headers("display"), **headers})
        sock = reader._conn.sock
        assert sock is not None
        if serving_pid(sock, hub.port, pids) == pid:
            return reader
        reader.close()
    raise AssertionError(f"no subscriber reached worker {pid}")


def next_of_type(reader: SSEReader, kind: str) -> dict[str, Any]:
    return reader.next_of(kind, timeout=5.0)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_numbers_stay_unique_when_both_workers_issue(hub: LiveHub) -> None:
    a, b = workers_of(hub)
    headers = hub.headers("kiosk")
    issued: list[dict[str, Any]] = []
    lock = threading.Lock()

    def client(pid: int, service: str) -> None:
        conn = connection_on(hub, pid, [a, b])
        for _ in range(40):
            status, body = post(conn, "/api/v1/tickets", headers, {"service": service})
            assert status == 201, body
            with lock:
                issued.append(body)
        conn.close()

    threads = [
        threading.Thread(target=client, args=(pid, service))
        for pid in (a, b)
        for service in ("general", "general", "taxes")
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(issued) == 240
    numbers = [str(t["number"]) for t in issued]
    assert len(set(numbers)) == 240
    general = sorted(int(n[1:]) for n in numbers if n.startswith("A"))
    assert general == list(range(1, 161))  # no gap, no repeat across the two processes
    admin = hub.headers("admin")
    for ticket in issued[::20]:
        r = requests.get(f"{hub.url}/api/v1/tickets/{ticket['id']}", headers=admin, timeout=5)
        assert r.json()["number"] == ticket["number"]


def test_event_committed_on_one_worker_reaches_a_subscriber_on_the_other(hub: LiveHub) -> None:
    a, b = workers_of(hub)
    on_a = sse_on(hub, a, [a, b])
    on_b = sse_on(hub, b, [a, b])
    writer = connection_on(hub, b, [a, b])
    try:
        status, ticket = post(writer, "/api/v1/tickets", hub.headers("kiosk"), {"service": "taxes"})
        assert status == 201
        for reader in (on_a, on_b):
            issued = next_of_type(reader, "ticket.issued")
            assert issued["ticket"]["id"] == ticket["id"]
        status, called = post(writer, "/api/v1/desks/2/next", hub.headers("staff", "2"))
        assert status == 200
        for reader in (on_a, on_b):
            event = next_of_type(reader, "ticket.called")
            assert event["ticket"]["number"] == called["number"]
    finally:
        writer.close()
        on_a.close()
        on_b.close()


def test_events_arrive_in_id_order_when_both_workers_write(hub: LiveHub) -> None:
    a, b = workers_of(hub)
    reader = sse_on(hub, a, [a, b])
    headers = hub.headers("kiosk")

    def client(pid: int) -> None:
        conn = connection_on(hub, pid, [a, b])
        for _ in range(30):
            assert post(conn, "/api/v1/tickets", headers, {"service": "general"})[0] == 201
        conn.close()

    threads = [threading.Thread(target=client, args=(pid,)) for pid in (a, b, a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    ids: list[int] = []
    while len(ids) < 240:  # 120 tickets: ticket.issued + queue.changed each
        ids.append(int(reader.next(5)["id"]))
    reader.close()
    assert ids == sorted(ids)
    assert ids == list(range(ids[0], ids[0] + 240))  # every event, once


def test_last_event_id_resumes_on_the_other_worker(hub: LiveHub) -> None:
    a, b = workers_of(hub)
    headers = hub.headers("kiosk")
    first = sse_on(hub, a, [a, b])
    writer = connection_on(hub, a, [a, b])
    post(writer, "/api/v1/tickets", headers, {"service": "general"})
    seen = next_of_type(first, "ticket.issued")
    first.close()
    missed = [post(writer, "/api/v1/tickets", headers, {"service": "general"})[1] for _ in range(3)]
    writer.close()
    resumed = sse_on(hub, b, [a, b], **{"Last-Event-ID": str(seen["id"])})
    try:
        got = [next_of_type(resumed, "ticket.issued")["ticket"] for _ in missed]
        assert [t["id"] for t in got] == [t["id"] for t in missed]
    finally:
        resumed.close()


def test_a_killed_worker_is_replaced_and_the_hub_goes_on(own_hub: LiveHub) -> None:
    hub = own_hub
    a, b = workers_of(hub)
    os.kill(a, signal.SIGKILL)
    assert hub.proc is not None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        pids = children(hub.proc.pid)
        if len(pids) == 2 and a not in pids:
            break
        time.sleep(0.05)
    pids = children(hub.proc.pid)
    assert len(pids) == 2 and a not in pids and b in pids
    wait_healthy(hub.url)
    r = requests.post(
        f"{hub.url}/api/v1/tickets", json={"service": "general"}, headers=hub.headers(), timeout=5
    )
    assert r.status_code == 201


def test_workers_die_with_a_killed_supervisor(own_hub: LiveHub) -> None:
    hub = own_hub
    pids = workers_of(hub)
    hub.kill()  # SIGKILL of the supervisor: nothing may keep serving the port
    deadline = time.monotonic() + 10
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(p) for p in pids)
    hub.start()  # the port is free again
    assert requests.get(f"{hub.url}/healthz", timeout=5).status_code == 200


def test_supervisor_tells_systemd_ready_and_pings_only_while_every_worker_beats(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    address = Path(tempfile.mkdtemp(prefix="o360-")) / "notify"
    systemd = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    systemd.bind(str(address))
    systemd.settimeout(0.2)
    monkeypatch.setenv("NOTIFY_SOCKET", str(address))
    monkeypatch.setenv("WATCHDOG_USEC", "1500000")  # pings every 0.5 s while all workers beat
    hub = start_two_workers(tmp_path)

    def messages(seconds: float) -> list[str]:
        got: list[str] = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            with contextlib.suppress(TimeoutError):
                got.append(systemd.recv(4096).decode())
        return got

    try:
        first = messages(3.0)
        assert sum(m.startswith("READY=1") for m in first) == 1
        assert first.count("WATCHDOG=1") >= 2
        stuck = workers_of(hub)[0]
        os.kill(stuck, signal.SIGSTOP)  # a hung event loop stops beating
        try:
            messages(1.5)  # beats already sent may still count for up to half the interval
            assert "WATCHDOG=1" not in messages(1.5)
        finally:
            os.kill(stuck, signal.SIGCONT)
        assert "WATCHDOG=1" in messages(3.0)
    finally:
        hub.stop()
        systemd.close()
