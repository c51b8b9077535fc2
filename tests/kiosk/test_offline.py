"""Kiosk offline mode against a real hub (uvicorn in a thread, on a loopback port) whose clock the
test moves, with real SQLite spools and the fake network printer (a real TCP server). No mocks.

The fault test of issue 10: the hub is down for ten minutes while two kiosks keep issuing, then
back; ten minutes of fake time pass in a second or two.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from kiosk.effects import Effects, Result
from kiosk.flow import (
    CHECK_IN_NOTES,
    CheckIn,
    FlowConfig,
    IssueTicket,
    KioskFlow,
    PrintTicket,
    Screen,
    ServiceChoice,
)
from kiosk.offline.mode import OFFLINE_REASON, OfflineMode, ServiceInfo, printed_note
from kiosk.offline.spool import Spool
from kiosk.offline.sync import OfflineSync
from office360.client import HubClient
from office360.config import load_settings
from printer import open_printer
from printer.decode import decode
from printer.fake import FakePrinter
from tests.appointments.apptools import booked
from tests.hubtools import FakeClock, LiveHub, ThreadHub, make_token

pytestmark = pytest.mark.timeout(120)
SERVICES = ("general", "certificates", "taxes")


@dataclass
class Kiosk:
    effects: Effects
    sync: OfflineSync
    flow: KioskFlow
    spool: Spool
    states: list[tuple[bool, bool]] = field(default_factory=list)

    def walk_in(self, service: str) -> Any:
        """A citizen takes a number, as the app's worker would carry it out."""
        self.flow.go_walk_in()
        run(self.flow, self.effects, self.flow.choose_service(service))
        return self.flow.view

    def done(self) -> None:
        self.flow.done()


def run(flow: KioskFlow, effects: Effects, commands: list[Any]) -> None:
    """Carry out the commands as the app's worker would; a LoadServices retry is left out."""
    while commands:
        command = commands.pop(0)
        if isinstance(command, (IssueTicket, CheckIn, PrintTicket)):
            result = effects.run(command)
            assert isinstance(result, Result)
            commands += getattr(flow, result.method)(*result.args) or []


def kiosk_for(
    hub: ThreadHub,
    token: str,
    folder: Path,
    clock: FakeClock,
    *,
    printer_url: str | None = None,
    public_keys: tuple[str, ...] = (),
    block: int = 20,
) -> Kiosk:
    office = load_settings(hub.config).offices[0]
    spool = Spool(folder / f"spool-{uuid.uuid4().hex[:6]}.sqlite3", token)
    states: list[tuple[bool, bool]] = []
    mode = OfflineMode(
        spool,
        {s.id: ServiceInfo(s.prefix, dict(s.names)) for s in office.services},
        office.timezone,
        now=clock,
        on_state=lambda ready, down: states.append((ready, down)),
    )
    sync = OfflineSync(
        HubClient(hub.url, token, office="centro", timeout_s=2, retries=0),
        mode,
        block_size=block,
        refresh_s=60,
        retry_first_s=0.02,
        retry_max_s=0.1,
    )
    effects = Effects(
        HubClient(hub.url, token, office="centro", timeout_s=2, retries=0),
        open_printer(printer_url, timeout_s=1.0) if printer_url else None,
        office_id="centro",
        office_name=office.name,
        timezone=office.timezone,
        public_keys=public_keys,
        now=clock,
        offline=mode,
    )
    flow = KioskFlow(FlowConfig(), clock=lambda: 0.0, today=lambda: date(2026, 3, 2))
    flow.services_loaded([ServiceChoice(s.id, dict(s.names), s.icon) for s in office.services])
    return Kiosk(effects, sync, flow, spool, states)


@pytest.fixture
def fake_printer() -> Iterator[FakePrinter]:
    with FakePrinter() as fake:
        yield fake


def call_all(hub: ThreadHub, service: str) -> list[dict[str, Any]]:
    """Every waiting ticket of a service, in the order the desks are given them."""
    desk = "2" if service == "taxes" else "1"
    headers = hub.headers("staff", desk)
    called = []
    while True:
        r = requests.post(
            f"{hub.url}/api/v1/desks/{desk}/next",
            params={"service": service},
            headers=headers,
            timeout=5,
        )
        assert r.status_code in (200, 204), r.text
        if r.status_code == 204:
            return called
        called.append(r.json())
        requests.post(f"{hub.url}/api/v1/desks/{desk}/start", json={}, headers=headers, timeout=5)


def issue_online(hub: ThreadHub, service: str) -> dict[str, Any]:
    r = requests.post(
        f"{hub.url}/api/v1/tickets",
        json={"service": service},
        headers=hub.headers("kiosk"),
        timeout=5,
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_hub_down_ten_minutes_two_kiosks_keep_issuing_nothing_lost_or_given_twice(
    thread_hub: ThreadHub, fake_printer: FakePrinter, tmp_path: Path
) -> None:
    clock = thread_hub.clock
    one = kiosk_for(
        thread_hub, thread_hub.token("kiosk"), tmp_path, clock, printer_url=fake_printer.url
    )
    two = kiosk_for(thread_hub, make_token(thread_hub.config, "kiosk"), tmp_path, clock)
    assert one.sync.sync_once() and two.sync.sync_once()  # blocks reserved while online
    assert one.states[-1] == (True, False)
    issued: list[tuple[datetime, str, str]] = []  # (issue time, service, number)
    before = one.walk_in("general")
    assert before.ticket is not None and before.ticket.status_url  # from the hub, online
    issued.append((clock(), "general", before.ticket.number))
    one.done()
    fake_printer.wait_for_jobs(1, timeout=5)

    thread_hub.stop()
    outage_start = clock()
    for i in range(20):  # one citizen every 30 s for ten minutes, at either kiosk
        clock.advance(seconds=30)
        kiosk = one if i % 2 == 0 else two
        service = SERVICES[i % 3]
        view = kiosk.walk_in(service)
        assert view.screen is Screen.TICKET and view.ticket is not None
        assert view.ticket.note == CHECK_IN_NOTES[OFFLINE_REASON]
        assert view.ticket.status_url == "" and view.ticket.ticket["offline"] is True
        issued.append((clock(), service, view.ticket.number))
        kiosk.done()
        if i % 5 == 4:
            assert not kiosk.sync.sync_once()  # still down: the spool waits
    assert clock() - outage_start == timedelta(minutes=10)
    assert one.states[-1] == (True, True)  # numbers left, hub away: the "offline" mark
    assert one.spool.counts()["pending"] == 10 and two.spool.counts()["pending"] == 10

    # Kiosk one printed its offline tickets: the number, the note, no status QR.
    jobs = fake_printer.wait_for_jobs(11, timeout=10)
    offline_doc = decode(jobs[1])
    assert issued[1][2] in offline_doc.text and offline_doc.qr_payloads == []
    assert printed_note("es")[:30] in " ".join(offline_doc.text.split())

    thread_hub.start()  # back, ten minutes later by its clock too
    clock.advance(seconds=30)
    after = issue_online(thread_hub, "taxes")
    issued.append((clock(), "taxes", after["number"]))
    assert one.sync.sync_once() and two.sync.sync_once()
    assert one.spool.counts() == {"pending": 0, "sent": 10, "refused": 0}
    assert two.spool.counts() == {"pending": 0, "sent": 10, "refused": 0}
    assert one.states[-1] == (True, False)

    numbers = [n for _, _, n in issued]
    assert len(set(numbers)) == len(numbers) == 22  # never the same number twice
    for service in SERVICES:
        expected = [n for _, s, n in sorted(issued) if s == service]
        called = [t["number"] for t in call_all(thread_hub, service)]
        assert called == expected, service  # each exactly once, in issue-time order

    # A lost answer makes the kiosk send again: the hub answers with what it stored.
    with sqlite3.connect(one.spool.path) as db:
        db.execute("UPDATE tickets SET state = 'pending'")
    assert one.sync.send_pending() == 10
    queue = requests.get(f"{thread_hub.url}/api/v1/queue", headers=thread_hub.headers(), timeout=5)
    assert all(s["waiting"] == 0 for s in queue.json()["services"])


def test_positions_after_the_merge_follow_issue_time(thread_hub: ThreadHub, tmp_path: Path) -> None:
    clock = thread_hub.clock
    kiosk = kiosk_for(thread_hub, thread_hub.token("kiosk"), tmp_path, clock)
    assert kiosk.sync.sync_once()
    thread_hub.stop()
    offline = []
    for _ in range(3):
        clock.advance(minutes=2)
        view = kiosk.walk_in("certificates")
        assert view.ticket is not None
        offline.append(view.ticket.number)
        kiosk.done()
    thread_hub.start()
    clock.advance(minutes=1)
    late = issue_online(thread_hub, "certificates")
    assert late["position"] == 1  # the hub does not know the offline tickets yet
    assert kiosk.sync.sync_once()
    stored = [json_ticket for json_ticket in _sent_tickets(kiosk.spool)]
    assert [t["number"] for t in stored] == offline
    positions = [
        requests.get(
            f"{thread_hub.url}/api/v1/tickets/{t['id']}", headers=thread_hub.headers(), timeout=5
        ).json()["position"]
        for t in stored
    ]
    now_late = requests.get(
        f"{thread_hub.url}/api/v1/tickets/{late['id']}", headers=thread_hub.headers(), timeout=5
    ).json()
    assert positions == [1, 2, 3] and now_late["position"] == 4


def _sent_tickets(spool: Spool) -> list[dict[str, Any]]:
    import json

    with sqlite3.connect(spool.path) as db:
        rows = db.execute("SELECT hub_ticket FROM tickets WHERE state = 'sent' ORDER BY seq")
        return [json.loads(r[0]) for r in rows]


def test_an_appointment_scanned_while_the_hub_is_down_is_checked_in_when_it_is_back(
    thread_hub: ThreadHub, tmp_path: Path
) -> None:
    from hub.keys import read_ring

    appointment = booked(thread_hub, "10:00")
    settings = load_settings(thread_hub.config)
    ring = read_ring(settings.hub.data_dir / settings.appointments.key_file)
    clock = thread_hub.clock
    kiosk = kiosk_for(
        thread_hub, thread_hub.token("kiosk"), tmp_path, clock, public_keys=ring.public_texts()
    )
    assert kiosk.sync.sync_once()
    thread_hub.stop()
    clock.advance(minutes=10)
    run(kiosk.flow, kiosk.effects, kiosk.flow.code_read(appointment["code"]))
    ticket = kiosk.flow.view.ticket
    assert kiosk.flow.view.screen is Screen.TICKET and ticket is not None
    assert ticket.service == "general" and ticket.ticket["channel"] == "appointment"
    thread_hub.start()
    assert kiosk.sync.sync_once()
    read = requests.get(
        f"{thread_hub.url}/api/v1/appointments/{appointment['id']}",
        headers=thread_hub.headers("admin"),
        timeout=5,
    ).json()
    assert read["status"] == "checked_in"
    [stored] = _sent_tickets(kiosk.spool)
    assert stored["number"] == ticket.number and stored["channel"] == "appointment"


def test_with_no_number_left_the_kiosk_says_it_is_unavailable(
    thread_hub: ThreadHub, tmp_path: Path
) -> None:
    clock = thread_hub.clock
    kiosk = kiosk_for(thread_hub, thread_hub.token("kiosk"), tmp_path, clock, block=2)
    never_synced = kiosk_for(thread_hub, thread_hub.token("kiosk"), tmp_path, clock)
    assert kiosk.sync.sync_once()
    thread_hub.stop()
    assert never_synced.walk_in("taxes").screen is Screen.UNAVAILABLE
    numbers = []
    for _ in range(2):
        view = kiosk.walk_in("taxes")
        assert view.ticket is not None
        numbers.append(view.ticket.number)
        kiosk.done()
    assert numbers == ["C800", "C801"]  # the range kept for blocks
    assert kiosk.states[-1] == (True, True)  # other services still have numbers
    assert kiosk.walk_in("taxes").screen is Screen.UNAVAILABLE


def test_the_sync_thread_drains_the_spool_by_itself_when_the_hub_returns(
    thread_hub: ThreadHub, tmp_path: Path
) -> None:
    clock = thread_hub.clock
    kiosk = kiosk_for(thread_hub, thread_hub.token("kiosk"), tmp_path, clock)
    assert kiosk.sync.sync_once()
    thread_hub.stop()
    kiosk.sync.start()
    try:
        view = kiosk.walk_in("general")
        assert view.ticket is not None and view.ticket.ticket["offline"]
        time.sleep(0.3)  # a few passes fail meanwhile
        assert kiosk.spool.counts()["pending"] == 1
        thread_hub.start()
        deadline = time.monotonic() + 10
        while kiosk.spool.counts()["pending"] and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        kiosk.sync.stop()
    assert kiosk.spool.counts() == {"pending": 0, "sent": 1, "refused": 0}
    [stored] = call_all(thread_hub, "general")
    assert stored["number"] == view.ticket.number


def test_spool_keeps_tickets_across_a_restart_and_apart_per_token(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    day = "2026-03-02"
    block = {"id": 7, "service": "general", "prefix": "A", "day": day, "first": 5, "last": 6}
    spool = Spool(path, "token-1")
    spool.store_blocks([{**block, "next": 5}], [day])
    at = datetime.fromisoformat("2026-03-02T09:00:00+00:00")
    first = spool.issue("general", day, at, "es", local_id="k" * 32)
    again = spool.issue("general", day, at, "es", local_id="k" * 32)
    assert first is not None and first == again  # the same request: the same ticket
    spool.close()

    reopened = Spool(path, "token-1")  # e.g. after a power cut
    assert [t.number for t in reopened.pending()] == ["A005"]
    # The hub's answer may lag behind the kiosk: the higher next number is kept.
    reopened.store_blocks([{**block, "next": 5}], [day])
    second = reopened.issue("general", day, at, "en")
    assert second is not None and second.number == "A006"
    assert reopened.issue("general", day, at, "en") is None  # the block is used up
    assert reopened.numbers_left(day) == 0

    other = Spool(path, "token-2")  # paired again: the old token's blocks are not used
    assert other.numbers_left(day) == 0 and other.pending() == []
    other.store_blocks([], ["2026-03-03"])
    assert reopened.numbers_left(day) == 0 and len(reopened.pending()) == 2
    reopened.store_blocks([], ["2026-03-03"])  # a new day: yesterday's block is dropped
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM blocks").fetchone()[0] == 0


def test_the_real_kiosk_prints_an_offline_number_and_sends_it_when_the_hub_is_back(
    live_hub: LiveHub, fake_printer: FakePrinter, tmp_path: Path
) -> None:
    """The app offscreen (kiosk.probe), the hub a real subprocess stopped and started again."""
    from tests.kiosk.drivers.kiosk_driver import KioskDriver, kiosk_config

    extra = "priority_categories = []\n"
    config = kiosk_config(
        live_hub.config,
        live_hub.url,
        live_hub.token("kiosk"),
        fake_printer.url,
        tmp_path,
        extra,
        offline=True,
    )
    state_dir = tmp_path / "state"
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace("timeout_s = 2\n", f'timeout_s = 2\nstate_dir = "{state_dir}"\n', 1)
    )
    spool = state_dir / "kiosk-offline.sqlite3"
    with KioskDriver(config, "1280x800", name="offline") as kiosk:
        kiosk.view("start")
        kiosk.wait_for("backend")
        # one block a service for today (and, after [kiosk] offline_next_day_from, for tomorrow)
        _wait(lambda: _count(spool, "SELECT count(DISTINCT service) FROM blocks") == 3)
        live_hub.stop()
        kiosk.tap("walk_in")
        kiosk.view("services")
        kiosk.tap("service:general")
        ticket = kiosk.view("ticket", printed=True)
        assert ticket["status_url"] == "" and ticket["number"] == "A800"
        kiosk.screenshot("offline")
        document = decode(fake_printer.wait_for_jobs(1, timeout=5)[0])
        assert "A800" in document.text and document.qr_payloads == []
        kiosk.tap("done")
        kiosk.view("start")
        kiosk.screenshot("offline-start")  # with the small "working offline" mark
        live_hub.start()
        _wait(lambda: _count(spool, "SELECT count(*) FROM tickets WHERE state = 'sent'") == 1)
    queue = requests.get(f"{live_hub.url}/api/v1/queue", headers=live_hub.headers(), timeout=5)
    waiting = {s["service"]: s["waiting"] for s in queue.json()["services"]}
    assert waiting == {"general": 1, "certificates": 0, "taxes": 0}


def _count(path: Path, query: str) -> int:
    if not path.exists():
        return -1
    with sqlite3.connect(path) as db:
        try:
            return int(db.execute(query).fetchone()[0])
        except sqlite3.OperationalError:  # the kiosk is still creating its tables
            return -1


def _wait(done: Any, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.mark.parametrize(
    ("ready", "down", "lost_goes_to"),
    [(True, True, Screen.START), (False, True, Screen.UNAVAILABLE), (True, False, Screen.START)],
)
def test_the_flow_stays_open_while_offline_numbers_are_left(
    ready: bool, down: bool, lost_goes_to: Screen
) -> None:
    flow = KioskFlow(FlowConfig(), clock=lambda: 0.0)
    flow.offline_state(ready, down)
    assert flow.view.offline is (ready and down)  # the start screen's small mark
    flow.hub_lost()
    assert flow.view.screen is lost_goes_to
    retry = flow.services_failed("hub_unreachable")  # the retry of GET /services failed too
    assert (retry == []) is ready and flow.view.screen is lost_goes_to


def test_numbers_arriving_take_the_kiosk_out_of_unavailable_and_the_mark_stays() -> None:
    flow = KioskFlow(FlowConfig(), clock=lambda: 0.0)
    flow.services_loaded([ServiceChoice("general", {"en": "General"})])
    flow.hub_lost()
    assert flow.view.screen is Screen.UNAVAILABLE
    flow.offline_state(True, True)
    assert flow.view.screen is Screen.START and flow.view.offline
    flow.go_walk_in()
    assert flow.view.screen is Screen.SERVICES and flow.view.offline
    flow.back()
    assert flow.view.offline
    flow.offline_state(True, False)  # the hub is back: the mark goes
    assert not flow.view.offline
