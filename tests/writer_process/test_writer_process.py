"""`[hub] writer_process = true`: the plain ticket and desk requests are written by one more
process, off the HTTP workers (hub/writer_process.py).

SQLite only (the setting is refused with a database server), so these tests live outside
tests/hub, which scripts/test.sh runs on PostgreSQL too. Real processes throughout: `office360 hub`
as a subprocess, its supervisor forking one HTTP worker and the writer.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from hub.app import create_app
from hub.writer_process import WriterServer
from office360.config import ConfigError, load_settings
from office360.core.errors import NotFound
from tests.faults.load import TicketLoad
from tests.hub.sse import SSEReader
from tests.hub.test_workers import alive, children
from tests.hubtools import LiveHub, free_port, write_config

pytestmark = pytest.mark.skipif(
    not Path("/proc/net/tcp").exists(), reason="needs Linux /proc to tell the writer apart"
)


def writer_config(folder: Path, workers: int = 1) -> Path:
    config = write_config(folder, free_port())
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace("[hub]\n", f"[hub]\nwriter_process = true\nworkers = {workers}\n", 1),
        encoding="utf-8",
    )
    return config


def start(folder: Path, workers: int = 1) -> LiveHub:
    config = writer_config(folder, workers)
    port = int(config.read_text().split("port = ")[1].split()[0])
    live = LiveHub(config, port)
    live.start()
    assert live.proc is not None
    deadline = time.monotonic() + 20
    while len(children(live.proc.pid)) < workers + 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    return live


def listening_inode(port: int) -> str:
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == f"0100007F:{port:04X}" and fields[3] == "0A":
            return fields[9]
    raise AssertionError(f"nothing listens on port {port}")


def roles(hub: LiveHub) -> tuple[list[int], int]:
    """The HTTP workers (they hold the listening socket) and the writer (it does not)."""
    assert hub.proc is not None
    inode = listening_inode(hub.port)
    http, writers = [], []
    for pid in children(hub.proc.pid):
        held = set()
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                held.add(os.readlink(fd))
            except OSError:
                continue
        (http if f"socket:[{inode}]" in held else writers).append(pid)
    assert len(writers) == 1, (http, writers)
    return http, writers[0]


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    live = start(tmp_path_factory.mktemp("writer"))
    try:
        yield live
    finally:
        live.stop()


def issue(hub: LiveHub, service: str = "general", key: str | None = None) -> requests.Response:
    headers = {**hub.headers("kiosk"), "Idempotency-Key": key or uuid.uuid4().hex}
    return requests.post(
        f"{hub.url}/api/v1/tickets", json={"service": service}, headers=headers, timeout=20
    )


def test_plain_writes_wait_for_the_writer_while_reads_go_on(hub: LiveHub) -> None:
    _, writer = roles(hub)
    os.kill(writer, signal.SIGSTOP)
    try:
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(issue, hub)
            time.sleep(1.0)
            assert not pending.done(), "the HTTP worker wrote the ticket itself"
            queue = requests.get(f"{hub.url}/api/v1/queue", headers=hub.headers(), timeout=5)
            assert queue.status_code == 200 and queue.json()["services"]
            os.kill(writer, signal.SIGCONT)
            answer = pending.result(20)
        assert answer.status_code == 201, answer.text
        got = requests.get(answer.json()["status_url"].replace("/status/", "/api/v1/tickets/"))
        assert got.status_code == 200 and got.json()["number"] == answer.json()["number"]
    finally:
        os.kill(writer, signal.SIGCONT)


def script(hub: LiveHub) -> list[tuple[int, Any]]:
    """Plain requests of each kind the writer answers, and what a caller sees of each answer."""
    kiosk, staff = hub.headers("kiosk"), hub.headers("staff", "2")
    seen: list[tuple[int, Any]] = []

    def post(path: str, headers: dict[str, str], body: Any = None, key: str = "") -> None:
        sent = {**headers, "Idempotency-Key": key or uuid.uuid4().hex}
        r = requests.post(f"{hub.url}{path}", json=body, headers=sent, timeout=20)
        if r.status_code == 204:
            seen.append((204, None))
            return
        data = r.json()
        if "error" in data:
            seen.append((r.status_code, (data["error"], r.headers.get("Retry-After"))))
        else:
            shown = {k: v for k, v in data.items() if k not in ("issued_at", "called_at")}
            shown["status_url"] = bool(shown.get("status_url"))
            seen.append((r.status_code, shown))

    post("/api/v1/desks/2/next", staff)  # nobody waits: 204
    post("/api/v1/tickets", kiosk, {"service": "general"}, key="first")
    post("/api/v1/tickets", kiosk, {"service": "general"}, key="first")  # replayed
    post("/api/v1/tickets", kiosk, {"service": "taxes"}, key="first")  # key reused: refused
    post("/api/v1/tickets", kiosk, {"service": "taxes", "priority": "elderly"})
    post("/api/v1/tickets", kiosk, {"service": "nothing"})  # unknown service
    post("/api/v1/tickets", kiosk, {"service": "taxes", "priority": "vip"})  # unknown priority
    post("/api/v1/desks/2/next", staff)  # the priority ticket first
    post("/api/v1/desks/2/recall", staff)
    post("/api/v1/desks/2/start", staff)
    post("/api/v1/desks/2/start", staff)  # wrong state
    post("/api/v1/desks/2/finish", staff)
    post("/api/v1/desks/1/next", staff)  # another desk's token
    post("/api/v1/desks/2/next?service=certificates", staff)  # a service desk 2 does not serve
    post("/api/v1/desks/2/pause", staff)
    post("/api/v1/desks/2/next", staff)  # paused
    post("/api/v1/desks/2/resume", staff)
    post("/api/v1/desks/2/next?service=general", staff)
    post("/api/v1/desks/2/no-show", staff)
    return seen


def test_answers_are_those_of_a_single_hub(tmp_path: Path) -> None:
    single = LiveHub(write_config(tmp_path / "single", free_port()), 0)
    single.port = int(single.config.read_text().split("port = ")[1].split()[0])
    single.start()
    split = start(tmp_path / "split")
    try:
        expected, got = script(single), script(split)
    finally:
        single.stop()
        split.stop()
    assert got == expected
    codes = [answer[0] for answer in got]
    assert 201 in codes and 204 in codes and 200 in codes and 404 in codes and 409 in codes


def test_events_reach_the_http_workers_subscribers(hub: LiveHub) -> None:
    reader = SSEReader(f"{hub.url}/api/v1/events", hub.headers("display"))
    try:
        ticket = issue(hub, "certificates").json()
        assert reader.next_of("ticket.issued")["ticket"]["id"] == ticket["id"]
        called = requests.post(
            f"{hub.url}/api/v1/desks/3/next?service=certificates",
            headers=hub.headers("staff", "3"),
            timeout=10,
        )
        assert called.status_code == 200, called.text
        event = reader.next_of("ticket.called")
        assert event["ticket"]["number"] == called.json()["number"] == ticket["number"]
    finally:
        reader.close()


def test_a_killed_writer_is_replaced_and_nothing_accepted_is_lost(tmp_path: Path) -> None:
    hub = start(tmp_path, workers=2)
    try:
        _, writer = roles(hub)
        load = TicketLoad(hub.url, hub.headers("kiosk"), give_up_after_s=30).start()
        try:
            load.wait_for(40)
            os.kill(writer, signal.SIGKILL)
            killed_at = time.monotonic()
            deadline = killed_at + 30
            while load.first_201_after(killed_at + 0.5) is None:
                assert time.monotonic() < deadline, "no ticket accepted after the writer died"
                time.sleep(0.05)
            load.wait_for(load.count() + 40, timeout=30)
        finally:
            load.stop()
        assert not alive(writer)
        _, replacement = roles(hub)
        assert replacement != writer
        assert not load.unresolved
        print("answers:", load.statuses())
        for answer in load.answers:
            if answer.status != 201:
                assert answer.status in (503, None), (answer.status, answer.body)
                if answer.status == 503:
                    assert answer.body is not None
                    assert answer.body["error"] == "service_unavailable", answer.body
                    assert answer.retry_after == "1"
    finally:
        hub.stop()
    database = hub.config.parent / "data" / "office360.db"
    with sqlite3.connect(database) as db:
        stored = {int(i): str(n) for i, n in db.execute("SELECT id, number FROM tickets")}
    db.close()
    accepted = {int(t["id"]): str(t["number"]) for t in load.accepted.values()}
    assert accepted.items() <= stored.items(), "a ticket that got 201 is not in the database"
    assert len(stored) == len(accepted), "a ticket was stored twice or without an answer"
    assert len(set(stored.values())) == len(stored), "a number was given twice"


def test_the_setting_is_refused_with_a_database_server(tmp_path: Path) -> None:
    config = writer_config(tmp_path)
    text = config.read_text(encoding="utf-8")
    text = text.replace('database_url = ""', 'database_url = "postgresql+psycopg://u@db/office"')
    config.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_settings(config)
    assert refused.value.key.startswith("hub")
    assert "writer_process" in refused.value.reason


def test_the_writer_answers_errors_as_the_hub_does(tmp_path: Path) -> None:
    """The writer renders a failed write with the application's own handlers (hub/errors.py)."""
    app = create_app(load_settings(writer_config(tmp_path)))
    server = WriterServer(app, str(tmp_path / "unused.sock"))

    def answer(exc: Exception) -> Any:
        # a loop of its own, in a thread: a browser test may have left one running in this thread
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, server._error(exc)).result(10)

    status, headers, body = answer(sqlite3.OperationalError("database or disk is full"))
    assert status == 503 and b'"storage_full"' in body
    assert (b"retry-after", b"30") in headers

    status, headers, body = answer(NotFound("unknown_service", "no such"))
    assert status == 404 and b'"unknown_service"' in body

    status, _, body = answer(RuntimeError("a bug"))
    assert status == 500 and b'"internal_error"' in body


def test_stopping_the_hub_answers_every_write_it_took(tmp_path: Path) -> None:
    """SIGTERM under load: the HTTP workers finish their requests before the writer stops, so no
    request gets a 5xx and every stored ticket was answered 201 (clients send no key here)."""
    hub = start(tmp_path)
    assert hub.proc is not None
    statuses: list[int | str] = []
    stop = time.monotonic() + 30

    def client() -> None:
        session = requests.Session()
        while time.monotonic() < stop:
            try:
                r = session.post(
                    f"{hub.url}/api/v1/tickets",
                    json={"service": "general"},
                    headers=hub.headers("kiosk"),
                    timeout=10,
                )
            except requests.RequestException:
                statuses.append("no answer")
                return
            statuses.append(r.status_code)

    with ThreadPoolExecutor(8) as pool:
        for _ in range(8):
            pool.submit(client)
        time.sleep(1.5)
        hub.proc.send_signal(signal.SIGTERM)
        assert hub.proc.wait(20) == 0
    hub.proc = None
    database = hub.config.parent / "data" / "office360.db"
    with sqlite3.connect(database) as db:
        stored = int(db.execute("SELECT count(*) FROM tickets").fetchone()[0])
    db.close()
    assert {s for s in statuses if s != 201} <= {"no answer"}, set(statuses)
    assert stored == statuses.count(201)


def test_callers_waiting_for_a_missing_writer_share_one_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hub import writer_process
    from hub.auth import Principal
    from hub.errors import WriterUnavailable
    from hub.pg_desks import DeskRequest

    monkeypatch.setattr(writer_process, "CONNECT_FOR_S", 0.5)
    client = writer_process.WriterClient(str(tmp_path / "nobody.sock"))
    caller = Principal(1, "kiosk", "kiosk", "centro", None)

    async def six() -> list[float]:
        loop = asyncio.get_running_loop()
        started = loop.time()

        async def one() -> float:
            with pytest.raises(WriterUnavailable):
                await client.desk(DeskRequest(caller, None, "h", None, "1", "next"))
            return loop.time() - started

        return list(await asyncio.gather(*(one() for _ in range(6))))

    with ThreadPoolExecutor(1) as pool:
        waited = pool.submit(asyncio.run, six()).result(30)
    assert max(waited) < 1.5, waited  # one shared 0.5-s attempt, not six in a row
