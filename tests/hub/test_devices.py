"""Device health: reports are checked on the way in and kept per office and device name; in its
office a name belongs to the token that first reported under it, or to the one last paired under
it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, insert

from hub import repository, tables
from hub.auth import hash_token
from tests.hubtools import (
    NORTE,
    FakeClock,
    ThreadHub,
    database_url_for,
    free_port,
    make_token,
    write_config,
)


@pytest.fixture
def hub(tmp_path: Path, clock: FakeClock) -> Iterator[ThreadHub]:
    """Offices centro (the default) and norte."""
    port = free_port()
    thread_hub = ThreadHub(write_config(tmp_path, port, NORTE), port, clock)
    thread_hub.start()
    try:
        yield thread_hub
    finally:
        thread_hub.stop()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def report(
    hub: ThreadHub, token: str, device: str = "k-deep", details: Any = None
) -> requests.Response:
    body = {"device": device, "version": "1.0", "printer": "ok", "camera": "ok"}
    if details is not None:
        body["details"] = details
    return requests.post(
        f"{hub.url}/api/v1/devices/health", json=body, headers=bearer(token), timeout=5
    )


def devices(hub: ThreadHub, token: str, office: str | None = None) -> requests.Response:
    params = {"office": office} if office else {}
    return requests.get(
        f"{hub.url}/api/v1/devices", params=params, headers=bearer(token), timeout=5
    )


def nested(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = [value]
    return value


def test_details_too_deep_or_too_big_are_refused_and_the_list_still_works(hub: ThreadHub) -> None:
    kiosk, admin = make_token(hub.config, "kiosk", office="centro"), hub.token("admin")
    ok = {"office": "centro", "frames": 12, "errors": ["a", "b"], "deep": nested(6)}
    assert report(hub, kiosk, details=ok).status_code == 200
    for bad in ({"deep": nested(300)}, {"deep": nested(8)}, {"blob": "x" * 5000}):
        refused = report(hub, kiosk, details=bad)
        assert refused.status_code == 422
        assert refused.json()["error"] == "invalid_request"
        assert refused.json()["message"].startswith("details:")
    raw = '{"device": "k-deep", "details": {"x": NaN}}'  # json.loads takes it; listing would not
    refused = requests.post(
        f"{hub.url}/api/v1/devices/health",
        data=raw,
        headers={**bearer(kiosk), "Content-Type": "application/json"},
        timeout=5,
    )
    assert (refused.status_code, refused.json()["error"]) == (422, "invalid_request")
    listed = devices(hub, admin)
    assert listed.status_code == 200
    assert [(d["device"], d["report"]["details"]) for d in listed.json()] == [("k-deep", ok)]


def test_a_report_stored_before_the_check_does_not_break_the_list(hub: ThreadHub) -> None:
    engine = create_engine(database_url_for(hub.config))
    with engine.begin() as conn:
        conn.execute(
            insert(tables.device_reports).values(
                device="k-old",
                office_id="centro",
                role="kiosk",
                report={"version": "0.9", "details": {"deep": nested(300)}},
                received_at=datetime.now(UTC),
            )
        )
    engine.dispose()
    listed = devices(hub, hub.token("admin"))
    assert listed.status_code == 200
    (old,) = listed.json()
    assert old["report"]["version"] == "0.9" and "dropped" in old["report"]["details"]
    json.dumps(old)


def test_a_manager_sees_only_the_devices_of_their_office(hub: ThreadHub) -> None:
    assert report(hub, make_token(hub.config, "kiosk", office="centro"), "k-centro").ok
    assert report(hub, make_token(hub.config, "display", office="norte"), "d-norte").ok
    manager = make_token(hub.config, "manager", office="norte")
    other = devices(hub, manager, office="centro")
    assert (other.status_code, other.json()["error"]) == (403, "wrong_office")
    own = devices(hub, manager)
    assert [d["device"] for d in own.json()] == ["d-norte"]
    assert [d["device"] for d in devices(hub, manager, office="norte").json()] == ["d-norte"]
    admin = hub.token("admin")  # an admin of all offices sees all, or one
    assert [d["device"] for d in devices(hub, admin).json()] == ["d-norte", "k-centro"]
    assert [d["device"] for d in devices(hub, admin, office="centro").json()] == ["k-centro"]


def revoke(hub: ThreadHub, token: str) -> None:
    engine = create_engine(database_url_for(hub.config))
    with engine.begin() as conn:
        row = repository.token_by_hash(conn, hash_token(token))
        assert row is not None
        assert repository.revoke_token(conn, row.id, datetime.now(UTC))
    engine.dispose()


def listed(hub: ThreadHub, token: str, office: str | None = None) -> dict[tuple[str, str], Any]:
    """(device, office) -> its row, as GET /devices lists them."""
    return {(d["device"], d["office"]): d for d in devices(hub, token, office).json()}


def pair(hub: ThreadHub, code: str, device: str, office: str, role: str = "kiosk") -> str:
    """A token got the way a device gets it: open CODE, an admin approves, the device collects."""
    body = {"code": code, "role": role, "device": device, "office": office}
    opened = requests.post(f"{hub.url}/api/v1/pairing", json=body, timeout=5)
    assert opened.status_code == 200, opened.text
    approved = requests.post(
        f"{hub.url}/api/v1/pairing/approve",
        json={"code": code},
        headers=bearer(hub.token("admin")),
        timeout=5,
    )
    assert approved.status_code == 200, approved.text
    got = requests.post(
        f"{hub.url}/api/v1/pairing/collect",
        json={"code": code, "secret": opened.json()["secret"]},
        timeout=5,
    )
    assert got.status_code == 200, got.text
    return str(got.json()["token"])


def test_the_same_name_in_two_offices_is_two_devices(hub: ThreadHub) -> None:
    """Kiosks default to "kiosk-1" and displays to "display-<hostname>": every office has them."""
    centro, norte = (make_token(hub.config, "kiosk", office=o) for o in ("centro", "norte"))
    display_centro = make_token(hub.config, "display", office="centro")
    display_norte = make_token(hub.config, "display", office="norte")
    for n in (1, 2):  # each goes on reporting, and neither touches the other's row
        assert report(hub, centro, "kiosk-1", details={"c": n}).status_code == 200
        answer = report(hub, norte, "kiosk-1", details={"n": n})
        assert answer.status_code == 200
        assert answer.json()["office"] == "norte"
        for token in (display_centro, display_norte):
            assert report(hub, token, "display-raspberrypi").status_code == 200
    rows = listed(hub, hub.token("admin"))
    assert list(rows) == [
        ("display-raspberrypi", "centro"),
        ("display-raspberrypi", "norte"),
        ("kiosk-1", "centro"),
        ("kiosk-1", "norte"),
    ]
    assert rows["kiosk-1", "centro"]["report"]["details"] == {"c": 2}
    assert rows["kiosk-1", "norte"]["report"]["details"] == {"n": 2}
    assert {r["role"] for r in rows.values() if r["device"] == "kiosk-1"} == {"kiosk"}
    manager = make_token(hub.config, "manager", office="norte")
    assert list(listed(hub, manager)) == [("display-raspberrypi", "norte"), ("kiosk-1", "norte")]


def test_in_its_office_a_device_name_belongs_to_the_token_that_reported_it_first(
    hub: ThreadHub,
) -> None:
    kiosk = make_token(hub.config, "kiosk", office="centro")
    assert report(hub, kiosk, details={"n": 1}).status_code == 200
    for n, intruder in enumerate(
        (
            make_token(hub.config, "kiosk", office="centro"),  # another kiosk of the office
            make_token(hub.config, "display", office="centro"),  # a display of the office
            make_token(hub.config, "kiosk"),  # a kiosk of no office reports to the default one
        )
    ):
        taken = report(hub, intruder, details={"n": 666})
        assert (taken.status_code, taken.json()["error"]) == (409, "device_name_taken")
        assert report(hub, intruder, f"k-own-{n}").status_code == 200
    assert report(hub, kiosk, details={"n": 2}).status_code == 200  # the owner goes on
    admin = hub.token("admin")
    row = listed(hub, admin)["k-deep", "centro"]
    assert (row["role"], row["report"]["details"]) == ("kiosk", {"n": 2})
    # a replaced device: once the old token is revoked, the new one takes the name
    replacement = make_token(hub.config, "kiosk", office="centro")
    assert report(hub, replacement).status_code == 409
    revoke(hub, kiosk)
    assert report(hub, replacement, details={"n": 5}).status_code == 200
    assert listed(hub, admin)["k-deep", "centro"]["report"]["details"] == {"n": 5}
    other = make_token(hub.config, "kiosk", office="centro")
    assert report(hub, other).status_code == 409  # and holds it in turn


def test_a_re_paired_device_takes_its_name_and_its_old_token_is_refused(hub: ThreadHub) -> None:
    """Pairing again does not revoke the old token; the new one owns the name from collection."""
    old = pair(hub, "KD47XQ", "kiosk-1", "norte")
    assert report(hub, old, "kiosk-1", details={"token": "old"}).status_code == 200
    centro = pair(hub, "HJKMNP", "kiosk-1", "centro")  # another office's kiosk-1: not this one
    assert report(hub, centro, "kiosk-1").status_code == 200
    assert report(hub, old, "kiosk-1", details={"token": "old"}).status_code == 200
    other_name = pair(hub, "QRTWXY", "kiosk-2", "norte")  # paired under another name: no claim
    taken = report(hub, other_name, "kiosk-1")
    assert (taken.status_code, taken.json()["error"]) == (409, "device_name_taken")
    new = pair(hub, "TWXY34", "kiosk-1", "norte")
    refused = report(hub, old, "kiosk-1", details={"token": "old again"})
    assert (refused.status_code, refused.json()["error"]) == (409, "device_name_taken")
    assert report(hub, new, "kiosk-1", details={"token": "new"}).status_code == 200
    rows = listed(hub, hub.token("admin"))
    assert rows["kiosk-1", "norte"]["report"]["details"] == {"token": "new"}
    assert report(hub, centro, "kiosk-1").status_code == 200  # centro's kiosk-1 untouched
    assert report(hub, old, "kiosk-1").status_code == 409


def test_an_admin_report_keeps_the_office_role_and_owner_of_the_row(hub: ThreadHub) -> None:
    display = make_token(hub.config, "display", office="norte")
    assert report(hub, display, "display-raspberrypi", details={"n": 1}).status_code == 200
    admin_norte = make_token(hub.config, "admin", office="norte")
    answer = report(hub, admin_norte, "display-raspberrypi", details={"n": 2})
    assert (answer.status_code, answer.json()["office"]) == (200, "norte")
    admin = hub.token("admin")  # of all offices: reports to the default office, centro
    assert report(hub, admin, "display-raspberrypi", details={"n": 3}).json()["office"] == "centro"
    rows = listed(hub, admin)
    norte = rows["display-raspberrypi", "norte"]
    assert (norte["office"], norte["role"], norte["report"]["details"]) == (
        "norte",
        "display",
        {"n": 2},
    )
    # the admin took nothing over: the display goes on, another device is still refused
    assert report(hub, display, "display-raspberrypi", details={"n": 4}).status_code == 200
    intruder = make_token(hub.config, "display", office="norte")
    assert report(hub, intruder, "display-raspberrypi").status_code == 409
    # centro had no such device: the admin's report made a row of its own with no owner, which
    # the first device of centro to report under the name takes
    centro = rows["display-raspberrypi", "centro"]
    assert (centro["role"], centro["report"]["details"]) == ("admin", {"n": 3})
    first = make_token(hub.config, "display", office="centro")
    assert report(hub, first, "display-raspberrypi").status_code == 200
    assert listed(hub, admin)["display-raspberrypi", "centro"]["role"] == "display"
    second = make_token(hub.config, "kiosk", office="centro")
    assert report(hub, second, "display-raspberrypi").status_code == 409
