"""Device health: reports are checked on the way in, listed per office, and a device name belongs
to the token that first reported under it."""

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
    FakeClock,
    ThreadHub,
    database_url_for,
    free_port,
    make_token,
    write_config,
)

NORTE = """
[[offices]]
id = "norte"
name = "Oficina Norte"
timezone = "Europe/Madrid"

  [[offices.services]]
  id = "general"
  prefix = "N"
  names = { es = "General", en = "General" }

  [[offices.desks]]
  id = "n1"
  services = ["general"]
"""


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


def test_a_device_name_belongs_to_the_token_that_reported_it_first(hub: ThreadHub) -> None:
    kiosk = make_token(hub.config, "kiosk", office="centro")
    assert report(hub, kiosk, details={"n": 1}).status_code == 200
    for own_name, intruder in (
        ("d-norte", make_token(hub.config, "display", office="norte")),  # another office, role
        ("k-door", make_token(hub.config, "kiosk", office="centro")),  # another token
    ):
        taken = report(hub, intruder, details={"n": 666})
        assert (taken.status_code, taken.json()["error"]) == (409, "device_name_taken")
        assert report(hub, intruder, own_name).status_code == 200
    assert report(hub, kiosk, details={"n": 2}).status_code == 200  # the owner goes on
    admin = hub.token("admin")
    rows = {d["device"]: d for d in devices(hub, admin).json()}
    assert (rows["k-deep"]["office"], rows["k-deep"]["report"]["details"]) == ("centro", {"n": 2})
    # an admin may report under any name without taking it over
    assert report(hub, admin, details={"n": 3}).status_code == 200
    assert report(hub, kiosk, details={"n": 4}).status_code == 200
    # a replaced device: once the old token is revoked, the new one takes the name
    replacement = make_token(hub.config, "kiosk", office="centro")
    assert report(hub, replacement).status_code == 409
    revoke(hub, kiosk)
    assert report(hub, replacement, details={"n": 5}).status_code == 200
    rows = {d["device"]: d for d in devices(hub, admin).json()}
    assert rows["k-deep"]["report"]["details"] == {"n": 5}
