"""The hub killed (SIGKILL) with webhook deliveries pending: they are sent after restart, once."""

from __future__ import annotations

import json
from pathlib import Path

import requests

from tests.hubtools import LiveHub, live_hub_in
from tests.notify.receiver import Receiver, wait_for
from tests.notify.test_webhooks import webhook_config


def _log(hub: LiveHub) -> dict[str, object]:
    r = requests.get(
        f"{hub.url}/api/v1/webhooks/deliveries", headers=hub.headers("admin"), timeout=5
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_hub_killed_with_messages_pending_sends_them_after_restart(
    tmp_path: Path, receiver: Receiver
) -> None:
    gen = live_hub_in(tmp_path, webhook_config(receiver, '["ticket.issued"]'))
    hub = next(gen)
    try:
        receiver.stop()
        for _ in range(5):
            r = requests.post(
                f"{hub.url}/api/v1/tickets",
                json={"service": "general"},
                headers=hub.headers("kiosk"),
                timeout=5,
            )
            assert r.status_code == 201
        wait_for(
            lambda: all(d["attempts"] >= 1 for d in _log(hub)["deliveries"]),  # type: ignore[attr-defined]
            what="attempts while the receiver is down",
        )
        hub.kill()  # no shutdown: rows are left pending, perhaps one mid-send
        receiver.start()
        hub.start()
        wait_for(lambda: len(receiver.deliveries()) == 5, what="5 deliveries after restart")
        wait_for(lambda: _log(hub)["counts"] == {"sent": 5}, what="all marked sent")
        numbers = sorted(json.loads(r.body)["ticket"]["number"] for r in receiver.received)
        assert numbers == ["A001", "A002", "A003", "A004", "A005"]
        assert all(len(copies) == 1 for copies in receiver.deliveries().values())
    finally:
        gen.close()
