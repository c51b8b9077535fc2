"""SMS through a real HTTP gateway stand-in: opt-in, "your turn is near", "you are called"."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from hub.notify_sms import gateway_request, mask_phone, normalize_phone
from office360.config import SmsSettings
from office360.core.errors import Invalid
from tests.hubtools import ThreadHub, database_url_for
from tests.notify.receiver import Receiver, wait_for

MakeHub = Callable[[str], ThreadHub]


def sms_config(gateway: Receiver, near_position: int = 2) -> str:
    return f"""
[notifications]
poll_s = 0.1

[notifications.sms]
enabled = true
url = "{gateway.url}"
headers = {{ Authorization = "Bearer gw-key" }}
body_template = '{{"to": "{{to}}", "text": "{{text}}", "from": "Office360"}}'
near_position = {near_position}
near_wait_minutes = 0
"""


def issue(hub: ThreadHub, n: int) -> list[dict[str, object]]:
    out = []
    for _ in range(n):
        r = requests.post(
            f"{hub.url}/api/v1/tickets",
            json={"service": "general", "lang": "es"},
            headers=hub.headers("kiosk"),
            timeout=5,
        )
        assert r.status_code == 201, r.text
        out.append(r.json())
    return out


def status_token(ticket: dict[str, object]) -> str:
    return str(ticket["status_url"]).split("?t=")[1]


def desk(hub: ThreadHub, number: str, action: str) -> None:
    r = requests.post(
        f"{hub.url}/api/v1/desks/{number}/{action}", headers=hub.headers("staff", number), timeout=5
    )
    assert r.status_code in (200, 204), r.text


def contacts(hub: ThreadHub) -> list[tuple[int, str]]:
    path = database_url_for(hub.config).removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        return list(db.execute("SELECT ticket_id, phone FROM ticket_contacts"))


def test_opted_in_citizen_is_told_when_near_and_when_called(
    make_hub: MakeHub, gateway: Receiver
) -> None:
    hub = make_hub(sms_config(gateway))
    tickets = issue(hub, 4)
    mine = tickets[3]
    r = requests.post(
        f"{hub.url}/api/v1/tickets/{mine['id']}/contact",
        params={"t": status_token(mine)},
        json={"phone": "+34 612 34 54 56"},
        timeout=5,
    )
    assert r.status_code == 201, r.text
    assert r.json() == {
        "ticket": mine["id"],
        "phone": "+34 6•• ••• •56",
        "near_position": 2,
        "near_wait_minutes": 0,
    }
    desk(hub, "1", "next")  # A001 called: A004 is now 3rd
    desk(hub, "1", "start")
    assert not gateway.received
    desk(hub, "2", "next")  # A002 called: A004 is 2nd -> near
    wait_for(lambda: len(gateway.received) == 1, what="the near SMS")
    near = gateway.received[0]
    assert near.headers["Authorization"] == "Bearer gw-key"
    assert near.headers["Content-Type"] == "application/json"
    body = near.json()
    assert body["to"] == "+34612345456" and body["from"] == "Office360"
    assert body["text"].startswith("Oficina 360 Centro: su turno A004 se acerca (1 por delante")
    desk(hub, "2", "start")
    desk(hub, "1", "next")  # A003
    desk(hub, "1", "start")
    desk(hub, "2", "next")  # A004 at desk 2
    wait_for(lambda: len(gateway.received) == 2, what="the called SMS")
    assert gateway.received[1].json()["text"] == (
        "Oficina 360 Centro: le llaman. Número A004, Mostrador 2."
    )
    desk(hub, "2", "start")
    assert contacts(hub) == [(mine["id"], "+34612345456")]
    desk(hub, "2", "next")  # finishes A004: its number is deleted with it
    assert contacts(hub) == []
    # Nobody else opted in: only two messages went out, and the log shows the number masked.
    log = requests.get(
        f"{hub.url}/api/v1/webhooks/deliveries",
        params={"kind": "sms"},
        headers=hub.headers("admin"),
        timeout=5,
    ).json()
    assert {d["destination"] for d in log["deliveries"]} == {"+34 6•• ••• •56"}
    assert len(gateway.received) == 2
    path = database_url_for(hub.config).removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        stored = {row[0] for row in db.execute("SELECT destination FROM outbox")}
    assert stored == {"+34 6•• ••• •56"}, "a sent SMS row still holds the full number"


def test_already_near_is_told_at_once_in_english(make_hub: MakeHub, gateway: Receiver) -> None:
    hub = make_hub(sms_config(gateway))
    (mine,) = issue(hub, 1)
    r = requests.post(
        f"{hub.url}/api/v1/tickets/{mine['id']}/contact",
        params={"t": status_token(mine)},
        json={"phone": "+44 7700 900123", "lang": "en"},
        timeout=5,
    )
    assert r.status_code == 201
    wait_for(lambda: len(gateway.received) == 1, what="the near SMS")
    assert (
        gateway.received[0]
        .json()["text"]
        .startswith("Oficina 360 Centro: your turn A001 is near (0 ahead")
    )


def test_contact_refusals(make_hub: MakeHub, gateway: Receiver) -> None:
    hub = make_hub(sms_config(gateway))
    (ticket,) = issue(hub, 1)
    url = f"{hub.url}/api/v1/tickets/{ticket['id']}/contact"
    token = status_token(ticket)
    cases = [
        ({"t": "wrong"}, {"phone": "+34612345456"}, 404, "unknown_ticket"),
        ({}, {"phone": "+34612345456"}, 404, "unknown_ticket"),
        ({"t": token}, {"phone": "call me maybe"}, 422, "phone_invalid"),
        ({"t": token}, {"phone": "+34 612"}, 422, "phone_invalid"),
        ({"t": token}, {}, 422, "invalid_request"),
    ]
    for params, body, status, code in cases:
        r = requests.post(url, params=params, json=body, timeout=5)
        assert (r.status_code, r.json()["error"]) == (status, code), (params, body)
    # A kiosk token may register it for the citizen; a display token may not.
    kiosk = requests.post(
        url, json={"phone": "+34612345456"}, headers=hub.headers("kiosk"), timeout=5
    )
    assert kiosk.status_code == 201
    display = requests.post(
        url, json={"phone": "+34612345456"}, headers=hub.headers("display"), timeout=5
    )
    assert display.status_code == 403
    # Opting out deletes the number.
    gone = requests.delete(url, params={"t": token}, timeout=5)
    assert gone.status_code == 204 and contacts(hub) == []


def test_without_sms_configured_the_opt_in_is_refused(make_hub: MakeHub) -> None:
    hub = make_hub("")
    (ticket,) = issue(hub, 1)
    r = requests.post(
        f"{hub.url}/api/v1/tickets/{ticket['id']}/contact",
        params={"t": status_token(ticket)},
        json={"phone": "+34612345456"},
        timeout=5,
    )
    assert (r.status_code, r.json()["error"]) == (409, "sms_unavailable")
    assert contacts(hub) == []


@pytest.mark.parametrize(
    ("raw", "normal", "masked"),
    [
        ("+34 612 34 54 56", "+34612345456", "+34 6•• ••• •56"),
        ("+34-612-345-456", "+34612345456", "+34 6•• ••• •56"),
        ("(+44) 7700.900.123", "+447700900123", "+44 7 ••• ••• •23"),
        ("612345456", "612345456", "6•• ••• •56"),
    ],
)
def test_phone_numbers_normalised_and_masked(raw: str, normal: str, masked: str) -> None:
    assert normalize_phone(raw) == normal
    assert mask_phone(normal) == masked
    assert sum(ch.isdigit() for ch in masked) <= 5  # country code + 1 + last 2 at most


@pytest.mark.parametrize("raw", ["", "12345", "+34 abc 456 789", "+" + "1" * 16, "++34612345"])
def test_bad_phone_numbers(raw: str) -> None:
    with pytest.raises(Invalid) as info:
        normalize_phone(raw)
    assert info.value.code == "phone_invalid"


def test_gateway_request_escapes_for_each_format() -> None:
    text = 'Llaman "A004" & co\nMostrador 2'
    json_req = gateway_request(
        SmsSettings(
            enabled=True, url="http://gw/send", body_template='{"to":"{to}","msg":"{text}"}'
        ),
        "+34612345456",
        text,
    )
    assert json.loads(json_req.body or b"") == {"to": "+34612345456", "msg": text}
    form_req = gateway_request(
        SmsSettings(
            enabled=True, url="http://gw/send", body_format="form", body_template="to={to}&m={text}"
        ),
        "+34612345456",
        text,
    )
    assert parse_qs((form_req.body or b"").decode()) == {"to": ["+34612345456"], "m": [text]}
    assert form_req.headers["Content-Type"] == "application/x-www-form-urlencoded"
    get_req = gateway_request(
        SmsSettings(enabled=True, method="GET", url="http://gw/send?to={to}&text={text}"),
        "+34612345456",
        text,
    )
    assert get_req.body is None
    assert parse_qs(urlsplit(get_req.url).query) == {"to": ["+34612345456"], "text": [text]}


def test_booking_phone_opts_the_checked_in_ticket_in(make_hub: MakeHub, gateway: Receiver) -> None:
    from tests.appointments.apptools import booked, check_in

    hub = make_hub(sms_config(gateway))
    appointment = booked(hub, "10:00", phone="+34 600 111 222", lang="en")
    r = check_in(hub, appointment["code"])
    assert r.status_code == 201, r.text
    ticket = r.json()["ticket"]
    assert contacts(hub) == [(ticket["id"], "+34600111222")]
    wait_for(lambda: len(gateway.received) == 1, what="the near SMS")
    assert (
        gateway.received[0]
        .json()["text"]
        .startswith(f"Oficina 360 Centro: your turn {ticket['number']} is near")
    )


def test_a_transfer_keeps_the_opt_in(make_hub: MakeHub, gateway: Receiver) -> None:
    hub = make_hub(sms_config(gateway, near_position=0))
    (mine,) = issue(hub, 1)
    requests.post(
        f"{hub.url}/api/v1/tickets/{mine['id']}/contact",
        params={"t": status_token(mine)},
        json={"phone": "+34612345456"},
        timeout=5,
    )
    desk(hub, "1", "next")
    desk(hub, "1", "start")
    moved = requests.post(
        f"{hub.url}/api/v1/desks/1/transfer",
        json={"service": "taxes"},
        headers=hub.headers("staff", "1"),
        timeout=5,
    )
    assert moved.status_code == 200, moved.text
    assert contacts(hub) == [(moved.json()["id"], "+34612345456")]
    desk(hub, "2", "next")  # desk 2 serves taxes: the transferred ticket is called there
    wait_for(lambda: len(gateway.received) == 2, what="two called SMS")
    assert gateway.received[1].json()["text"].endswith("Mostrador 2.")
