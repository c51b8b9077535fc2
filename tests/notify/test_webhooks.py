"""Signed webhooks from a real hub (in a thread, fake clock) to a real receiver on loopback."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import requests

from hub.outbox_worker import backoff, http_result
from hub.webhooks import matches, signature, verify
from tests.hubtools import FakeClock, ThreadHub
from tests.notify.conftest import SECRET
from tests.notify.receiver import Receiver, wait_for

FAST = """
[notifications]
poll_s = 0.1
retry_base_s = 1
retry_max_s = 4
"""

MakeHub = Callable[[str], ThreadHub]


def webhook_config(receiver: Receiver, events: str = '["ticket.issued", "ticket.called"]') -> str:
    return (
        FAST
        + f"""
[[notifications.webhooks]]
url = "{receiver.url}"
secret = "{SECRET}"
events = {events}
"""
    )


def issue(hub: ThreadHub, n: int, service: str = "general") -> list[int]:
    ids = []
    for _ in range(n):
        r = requests.post(
            f"{hub.url}/api/v1/tickets",
            json={"service": service},
            headers=hub.headers("kiosk"),
            timeout=5,
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids


def log(hub: ThreadHub, **params: str) -> dict[str, object]:
    r = requests.get(
        f"{hub.url}/api/v1/webhooks/deliveries",
        params=params,
        headers=hub.headers("admin"),
        timeout=5,
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_events_arrive_signed_and_are_logged(make_hub: MakeHub, receiver: Receiver) -> None:
    hub = make_hub(webhook_config(receiver))
    (ticket,) = issue(hub, 1)
    called = requests.post(
        f"{hub.url}/api/v1/desks/1/next", headers=hub.headers("staff", "1"), timeout=5
    )
    assert called.status_code == 200
    wait_for(lambda: len(receiver.events()) == 2, what="two deliveries")
    issued, call = sorted(receiver.events(), key=lambda e: e["id"])
    assert (issued["type"], call["type"]) == ("ticket.issued", "ticket.called")
    assert issued["ticket"]["id"] == call["ticket"]["id"] == ticket
    assert call["ticket"]["desk"] == "1" and call["office"] == "centro"
    first = receiver.received[0]
    stamp = first.headers["X-Office360-Timestamp"]
    assert abs(int(stamp) - time.time()) < 60
    assert first.headers["X-Office360-Signature"] == signature(SECRET, stamp, first.body)
    assert first.headers["Content-Type"] == "application/json"
    assert not receiver.rejected
    wait_for(lambda: log(hub)["counts"] == {"sent": 2}, what="both marked sent")
    deliveries = log(hub)["deliveries"]
    assert isinstance(deliveries, list)
    assert {d["event_type"] for d in deliveries} == {"ticket.issued", "ticket.called"}
    assert all(d["webhook"] == "config:0" and d["last_status"] == 200 for d in deliveries)


def test_receiver_down_then_back_gets_every_message_once(
    make_hub: MakeHub, receiver: Receiver, clock: FakeClock
) -> None:
    hub = make_hub(webhook_config(receiver, '["ticket.issued"]'))
    receiver.stop()
    issue(hub, 6)
    wait_for(
        lambda: all(d["attempts"] >= 2 for d in log(hub)["deliveries"]),  # type: ignore[attr-defined]
        what="retries while down",
        tick=lambda: clock.advance(seconds=1),
    )
    deliveries = log(hub)["deliveries"]
    assert isinstance(deliveries, list) and len(deliveries) == 6
    assert {d["status"] for d in deliveries} <= {"pending", "sending"}
    assert any(d["last_error"] == "connection failed" for d in deliveries)
    issue(hub, 2)  # the queue goes on while the receiver is away
    receiver.start()
    wait_for(
        lambda: log(hub)["counts"] == {"sent": 8},
        what="all sent",
        tick=lambda: clock.advance(seconds=1),
    )
    assert len(receiver.deliveries()) == 8
    assert all(len(copies) == 1 for copies in receiver.deliveries().values())
    assert sorted(e["ticket"]["number"] for e in receiver.events()) == [
        f"A{n:03d}" for n in range(1, 9)
    ]


def test_a_slow_receiver_delays_no_ticket(make_hub: MakeHub, receiver: Receiver) -> None:
    receiver.delay_s = 1.5
    hub = make_hub(webhook_config(receiver, '["*"]'))
    issue(hub, 1)  # warm up
    started = time.monotonic()
    issue(hub, 5)
    assert time.monotonic() - started < 1.5, "issuing waited for the webhook receiver"
    wait_for(lambda: len(receiver.deliveries()) >= 4, timeout=30, what="slow deliveries")


def test_receiver_refusing_for_good_is_not_retried(make_hub: MakeHub, receiver: Receiver) -> None:
    receiver.status = 410
    hub = make_hub(webhook_config(receiver, '["ticket.issued"]'))
    issue(hub, 1)
    wait_for(lambda: log(hub)["counts"] == {"failed": 1}, what="failed")
    (d,) = log(hub)["deliveries"]  # type: ignore[misc]
    assert (d["attempts"], d["last_status"], d["last_error"]) == (1, 410, "HTTP 410")


def test_admin_api_adds_lists_and_deletes_subscriptions(
    make_hub: MakeHub, receiver: Receiver
) -> None:
    hub = make_hub(FAST)
    url = f"{hub.url}/api/v1/webhooks"
    body = {"url": receiver.url, "events": ["ticket.called"], "secret": SECRET}
    refused = requests.post(url, json=body, headers=hub.headers("manager"), timeout=5)
    assert (refused.status_code, refused.json()["error"]) == (403, "forbidden")
    made = requests.post(url, json=body, headers=hub.headers("admin"), timeout=5)
    assert made.status_code == 201, made.text
    sub = made.json()
    assert sub["secret"] == SECRET and sub["key"] == f"api:{sub['id']}"
    listed = requests.get(url, headers=hub.headers("admin"), timeout=5).json()
    assert [s["key"] for s in listed] == [sub["key"]]
    assert "secret" not in listed[0] and listed[0]["secret_hint"] == "…" + SECRET[-4:]
    # The new subscription takes effect at once.
    issue(hub, 1)
    requests.post(f"{hub.url}/api/v1/desks/1/next", headers=hub.headers("staff", "1"), timeout=5)
    wait_for(lambda: len(receiver.events()) == 1, what="the call")
    assert receiver.events()[0]["type"] == "ticket.called"
    generated = requests.post(
        url, json={"url": receiver.url}, headers=hub.headers("admin"), timeout=5
    ).json()
    assert generated["secret"].startswith("whsec_") and len(generated["secret"]) > 40
    assert generated["events"] == ["ticket.*", "appointment.*"]
    gone = requests.delete(f"{url}/{sub['id']}", headers=hub.headers("admin"), timeout=5)
    assert gone.status_code == 204
    again = requests.delete(f"{url}/{sub['id']}", headers=hub.headers("admin"), timeout=5)
    assert (again.status_code, again.json()["error"]) == (404, "unknown_webhook")
    bad = requests.post(
        url, json={"url": "ftp://x", "events": []}, headers=hub.headers("admin"), timeout=5
    )
    assert (bad.status_code, bad.json()["error"]) == (422, "invalid_request")


def test_receiver_with_a_wrong_secret_rejects(make_hub: MakeHub, receiver: Receiver) -> None:
    hub = make_hub(webhook_config(receiver, '["ticket.issued"]').replace(SECRET, "x" * 20))
    issue(hub, 1)
    wait_for(lambda: len(receiver.rejected) == 1, what="a rejected delivery")
    assert not receiver.received
    wait_for(lambda: log(hub)["counts"] == {"failed": 1}, what="401 is final")


@pytest.mark.parametrize(
    ("pattern", "event", "expected"),
    [
        ("*", "queue.changed", True),
        ("ticket.*", "ticket.called", True),
        ("ticket.*", "appointment.booked", False),
        ("ticket.called", "ticket.called", True),
        ("ticket.called", "ticket.recalled", False),
        ("ticket.*", "tickets.called", False),
    ],
)
def test_event_patterns(pattern: str, event: str, expected: bool) -> None:
    assert matches(pattern, event) is expected


def test_signature_is_hmac_sha256_over_timestamp_and_body() -> None:
    # Known answer: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac key
    sig = signature("key", "1700000000", b'{"a":1}')
    assert (
        sig
        == "sha256=" + __import__("hmac").new(b"key", b'1700000000.{"a":1}', "sha256").hexdigest()
    )
    assert verify("key", "1700000000", b'{"a":1}', sig)
    assert not verify("key", "1700000001", b'{"a":1}', sig)
    assert not verify("other", "1700000000", b'{"a":1}', sig)


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (200, "sent"),
        (204, "sent"),
        (301, "failed"),
        (400, "failed"),
        (401, "failed"),
        (408, "retry"),
        (429, "retry"),
        (500, "retry"),
        (503, "retry"),
    ],
)
def test_http_answers(code: int, outcome: str) -> None:
    assert http_result(code).status == outcome


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap() -> None:
    for attempt, ceiling in [(1, 5), (2, 10), (3, 20), (10, 300), (30, 300)]:
        delays = [backoff(attempt, 5, 300) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert max(delays) - min(delays) > ceiling / 10  # jittered, not constant
