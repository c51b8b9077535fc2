"""Citizen feedback through the real API: once per finished ticket, contact details stripped."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

import requests

from tests.hubtools import ThreadHub

from .test_hub_reports_api import DAY, act, group, issue, kpis


def serve(hub: ThreadHub, service: str = "general", desk: str = "1") -> dict[str, Any]:
    ticket = issue(hub, service)
    act(hub, desk, "next")
    act(hub, desk, "start")
    hub.clock.advance(minutes=3)
    act(hub, desk, "finish")
    return ticket


def token_of(ticket: dict[str, Any]) -> str:
    return parse_qs(urlparse(ticket["status_url"]).query)["t"][0]


def post(
    hub: ThreadHub,
    ticket_id: object,
    body: dict[str, Any],
    token: str | None = None,
    **headers: str,
) -> requests.Response:
    return requests.post(
        f"{hub.url}/api/v1/tickets/{ticket_id}/feedback",
        params={"t": token} if token is not None else None,
        json=body,
        headers=headers,
        timeout=5,
    )


def test_feedback_from_the_status_link_once_and_stripped(thread_hub: ThreadHub) -> None:
    ticket = serve(thread_hub)
    comment = "Muy bien. Llamadme al +34 600 123 456 o a ana at example dot com"
    r = post(thread_hub, ticket["id"], {"rating": 4, "comment": comment}, token_of(ticket))
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["ticket"], body["rating"], body["channel"]) == (ticket["id"], 4, "phone")
    assert body["comment"] == "Muy bien. Llamadme al [phone] o a [email]"
    again = post(thread_hub, ticket["id"], {"rating": 1}, token_of(ticket))
    assert (again.status_code, again.json()["error"]) == (409, "feedback_given")
    report = kpis(thread_hub).json()
    assert report["feedback"][0] == {
        "office": "centro",
        "service": "",
        "count": 1,
        "mean_rating": 4.0,
        "ratings": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0},
        "comments": 1,
    }
    assert group(report, "office")["served"] == 1


def test_feedback_only_when_done_and_with_the_right_token(thread_hub: ThreadHub) -> None:
    waiting = issue(thread_hub, "taxes")
    r = post(thread_hub, waiting["id"], {"rating": 5}, token_of(waiting))
    assert (r.status_code, r.json()["error"]) == (409, "ticket_not_done")
    done = serve(thread_hub)
    for token in ("wrong", token_of(waiting), ""):
        r = post(thread_hub, done["id"], {"rating": 5}, token)
        assert (r.status_code, r.json()["error"]) == (404, "unknown_ticket"), token
    r = post(thread_hub, 999_999, {"rating": 5}, token_of(done))
    assert r.status_code == 404
    for bad in ({"rating": 0}, {"rating": 6}, {"rating": 3, "comment": "x" * 2001}, {}):
        r = post(thread_hub, done["id"], bad, token_of(done))
        assert (r.status_code, r.json()["error"]) == (422, "invalid_request"), bad
    # a desk cannot rate its own work
    staff = thread_hub.headers("staff", "1")
    r = post(thread_hub, done["id"], {"rating": 5}, **staff)
    assert (r.status_code, r.json()["error"]) == (403, "forbidden")
    # display, staff, manager and admin tokens are refused even with the right status token
    for role, desk in (("display", None), ("staff", "1"), ("manager", None), ("admin", None)):
        r = post(
            thread_hub, done["id"], {"rating": 5}, token_of(done), **thread_hub.headers(role, desk)
        )
        assert (r.status_code, r.json()["error"]) == (403, "forbidden"), role
    assert post(thread_hub, done["id"], {"rating": 5}, token_of(done)).status_code == 201


def test_feedback_from_a_kiosk(thread_hub: ThreadHub) -> None:
    done = serve(thread_hub, "taxes", "2")
    r = post(thread_hub, done["id"], {"rating": 5, "comment": "  "}, **thread_hub.headers("kiosk"))
    assert r.status_code == 201, r.text
    assert (r.json()["channel"], r.json()["comment"]) == ("kiosk", None)
    report = kpis(thread_hub, **{"from": DAY, "to": DAY}).json()
    taxes = next(f for f in report["feedback"] if f["service"] == "taxes")
    assert (taxes["count"], taxes["mean_rating"], taxes["comments"]) == (1, 5.0, 0)
