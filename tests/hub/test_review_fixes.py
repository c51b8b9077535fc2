"""Holes an outside review of the API found (2026-11-29): each closed, each kept closed here."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.hub.sse import SSEReader
from tests.hub.test_api_errors import assert_error, post
from tests.hubtools import (
    NORTE,
    FakeClock,
    LiveHub,
    ThreadHub,
    free_port,
    make_token,
    write_config,
)


@pytest.fixture
def two_offices(tmp_path: Path) -> Iterator[ThreadHub]:
    port = free_port()
    hub = ThreadHub(write_config(tmp_path, port, NORTE), port, FakeClock())
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()


def _office_headers(hub: ThreadHub, role: str, office: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(hub.config, role, office=office)}"}


def test_a_token_of_one_office_cannot_cancel_another_offices_ticket(
    two_offices: ThreadHub,
) -> None:
    ticket = post(two_offices, "/tickets", json={"service": "general"}).json()
    assert ticket["office"] == "centro"
    for role in ("kiosk", "staff", "manager"):
        other = _office_headers(two_offices, role, "norte")
        r = post(two_offices, f"/tickets/{ticket['id']}/cancel", role=None, headers=other)
        assert_error(r, 404, "unknown_ticket")
    mine = _office_headers(two_offices, "kiosk", "centro")
    r = post(two_offices, f"/tickets/{ticket['id']}/cancel", role=None, headers=mine)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"


def test_a_display_never_gets_the_link_that_can_cancel_a_ticket(thread_hub: ThreadHub) -> None:
    ticket = post(thread_hub, "/tickets", json={"service": "general"}).json()
    assert post(thread_hub, "/desks/1/next").status_code == 200
    display = thread_hub.headers("display")
    url = f"{thread_hub.url}/api/v1"
    read = requests.get(f"{url}/tickets/{ticket['id']}", headers=display, timeout=5).json()
    assert read["number"] == ticket["number"] and read["status_url"] is None
    queue = requests.get(f"{url}/queue", headers=display, timeout=5).json()
    current = next(d["current"] for d in queue["desks"] if d["id"] == "1")
    assert current["number"] == ticket["number"] and current["status_url"] is None
    # those who issue tickets still get it
    staff = requests.get(f"{url}/tickets/{ticket['id']}", headers=thread_hub.headers(), timeout=5)
    assert staff.json()["status_url"] == ticket["status_url"]


@pytest.mark.parametrize(
    "kw",
    [
        {"data": '{"service":"general"}'},  # no Content-Type at all
        {"data": '{"service":"general"}', "headers": {"Content-Type": "text/plain"}},
        {"data": {"service": "general"}},  # a form, as `curl -d` sends
    ],
)
def test_a_body_that_is_not_sent_as_json_gets_415(thread_hub: ThreadHub, kw: dict) -> None:  # type: ignore[type-arg]
    assert_error(post(thread_hub, "/tickets", **kw), 415, "unsupported_media_type")


@pytest.mark.parametrize(
    "body",
    [b'{"service": "gen\xe9ral"}', b'{"service":' + b"[" * 5000],  # not UTF-8; too deep
)
def test_a_body_json_cannot_decode_is_invalid_json(thread_hub: ThreadHub, body: bytes) -> None:
    r = post(thread_hub, "/tickets", data=body, headers={"Content-Type": "application/json"})
    assert_error(r, 400, "invalid_json")


def test_next_for_a_service_the_office_lacks_is_unknown(thread_hub: ThreadHub) -> None:
    assert_error(post(thread_hub, "/desks/1/next?service=nope"), 404, "unknown_service")


def test_a_forged_non_ascii_csrf_token_is_refused_not_a_crash(thread_hub: ThreadHub) -> None:
    with requests.Session() as browser:
        assert browser.get(f"{thread_hub.url}/signin", timeout=5).status_code == 200
        r = browser.post(
            f"{thread_hub.url}/signin",
            data={"login": "x", "password": "y", "csrf": "é"},
            timeout=5,
            allow_redirects=False,
        )
        assert r.status_code == 403, r.text


def test_a_signed_in_desk_with_a_non_ascii_csrf_header_gets_403(live_hub: LiveHub) -> None:
    from tests.web.test_sessions_api import signed_in_session

    session, csrf = signed_in_session(live_hub)
    url = f"{live_hub.url}/api/v1/desks/1/pause"
    r = session.post(url, headers={"X-CSRF-Token": "\xe9"}, timeout=5)
    assert_error(r, 403, "csrf_failed")
    assert session.post(url, headers={"X-CSRF-Token": csrf}, timeout=5).status_code == 200


@pytest.mark.parametrize("last_id", ["\xb2", "99999999999999999999", "1000000", "1" * 21, "12a"])
def test_a_last_event_id_this_hub_never_sent_resumes_from_the_newest(
    thread_hub: ThreadHub, last_id: str
) -> None:
    post(thread_hub, "/tickets", json={"service": "general"})
    headers = {**thread_hub.headers("display"), "Last-Event-ID": last_id}
    reader = SSEReader(f"{thread_hub.url}/api/v1/events", headers)
    try:
        time.sleep(0.3)
        issued = post(thread_hub, "/tickets", json={"service": "general"}).json()
        event = reader.next_of("ticket.issued", timeout=10)
        assert event["ticket"]["number"] == issued["number"]  # the new one, not a replay
    finally:
        reader.close()


def test_a_hub_with_live_streams_open_stops_at_once_and_cleanly(live_hub: LiveHub) -> None:
    readers = [
        SSEReader(f"{live_hub.url}/api/v1/events", live_hub.headers("display")) for _ in range(3)
    ]
    assert live_hub.proc is not None and live_hub.log is not None
    started = time.monotonic()
    live_hub.proc.send_signal(signal.SIGTERM)
    assert live_hub.proc.wait(10) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal
    took = time.monotonic() - started
    for reader in readers:
        reader.close()
    log = live_hub.log.read_text()
    assert took < 2.5, f"{took:.1f} s to stop"  # the graceful timeout is 3 s
    assert "Traceback" not in log and "Cancel" not in log, log[-3000:]


def test_a_transfer_is_not_a_service_time(thread_hub: ThreadHub) -> None:
    from hub import repository
    from hub.db import make_engine
    from tests.hubtools import database_url_for

    for _ in range(2):
        post(thread_hub, "/tickets", json={"service": "general"})
    assert post(thread_hub, "/desks/1/next").status_code == 200
    assert post(thread_hub, "/desks/1/start").status_code == 200
    thread_hub.clock.advance(seconds=1)
    moved = post(thread_hub, "/desks/1/transfer", json={"service": "taxes"})
    assert moved.status_code == 200, moved.text
    assert post(thread_hub, "/desks/1/next?service=general").status_code == 200
    assert post(thread_hub, "/desks/1/start").status_code == 200
    thread_hub.clock.advance(minutes=5)
    assert post(thread_hub, "/desks/1/finish").status_code == 200
    engine = make_engine(database_url_for(thread_hub.config), pool_size=1)
    with engine.connect() as conn:
        seconds = repository.recent_service_seconds(conn, "centro", "general", 20)
    engine.dispose()
    assert seconds == [300.0]


def test_a_pairing_secret_that_is_not_text_is_refused_not_a_crash(thread_hub: ThreadHub) -> None:
    from tests.hub.test_pairing import approve, pair

    assert pair(thread_hub, "ACDE34").status_code in (200, 201)
    assert approve(thread_hub, "ACDE34").status_code == 200
    r = requests.post(
        f"{thread_hub.url}/api/v1/pairing/collect",
        data=b'{"code": "ACDE34", "secret": "\\ud800"}',  # a lone surrogate: valid JSON
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert_error(r, 422, "invalid_request")
