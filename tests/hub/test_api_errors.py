"""Bad input and missing rights: a 4xx with a code and a message, never a 500."""

from __future__ import annotations

import pytest
import requests

from tests.hubtools import ThreadHub


def post(
    hub: ThreadHub, path: str, role: str | None = "admin", desk: str | None = None, **kw: object
) -> requests.Response:
    headers = hub.headers(role, desk) if role else {}
    headers.update(kw.pop("headers", {}))  # type: ignore[arg-type]
    return requests.post(f"{hub.url}/api/v1{path}", headers=headers, timeout=5, **kw)  # type: ignore[arg-type]


def assert_error(r: requests.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]


def test_missing_token(thread_hub: ThreadHub) -> None:
    r = post(thread_hub, "/tickets", role=None, json={"service": "general"})
    assert_error(r, 401, "unauthorized")
    assert r.headers["WWW-Authenticate"] == "Bearer"


def test_wrong_token(thread_hub: ThreadHub) -> None:
    r = post(
        thread_hub,
        "/tickets",
        role=None,
        json={"service": "general"},
        headers={"Authorization": "Bearer o360_not-a-real-token"},
    )
    assert_error(r, 401, "unauthorized")


def test_revoked_token_is_refused(thread_hub: ThreadHub) -> None:
    from hub import repository
    from hub.db import make_engine
    from hub.services import utcnow
    from tests.hubtools import database_url_for

    assert (
        post(thread_hub, "/tickets", role="kiosk", json={"service": "general"}).status_code == 201
    )
    engine = make_engine(database_url_for(thread_hub.config), pool_size=1)
    with engine.begin() as conn:
        kiosk = next(r for r in repository.list_tokens(conn) if r.role == "kiosk")
        assert repository.revoke_token(conn, kiosk.id, utcnow())
    engine.dispose()
    import time

    time.sleep(2.1)  # the token cache keeps an answer at most 2 s
    assert_error(
        post(thread_hub, "/tickets", role="kiosk", json={"service": "general"}), 401, "unauthorized"
    )


@pytest.mark.parametrize(
    ("role", "desk", "path", "code"),
    [
        ("display", None, "/tickets", "forbidden"),
        ("kiosk", None, "/desks/1/next", "forbidden"),
        ("display", None, "/desks/1/next", "forbidden"),
        ("staff", "2", "/desks/1/next", "forbidden"),
    ],
)
def test_roles_are_enforced(
    thread_hub: ThreadHub, role: str, desk: str | None, path: str, code: str
) -> None:
    assert_error(
        post(thread_hub, path, role=role, desk=desk, json={"service": "general"}), 403, code
    )


def test_staff_acts_on_its_own_desk(thread_hub: ThreadHub) -> None:
    post(thread_hub, "/tickets", json={"service": "general"})
    r = post(thread_hub, "/desks/1/next", role="staff", desk="1")
    assert r.status_code == 200
    assert r.json()["desk"] == "1"


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        (
            {"data": b"{not json", "headers": {"Content-Type": "application/json"}},
            400,
            "invalid_json",
        ),
        ({"json": {"service": "nope"}}, 404, "unknown_service"),
        ({"json": {}}, 422, "invalid_request"),
        ({"json": {"service": "general", "colour": "red"}}, 422, "invalid_request"),
        ({"json": {"service": 12}}, 422, "invalid_request"),
        ({"json": ["general"]}, 422, "invalid_request"),
        ({"json": {"service": "general", "priority": "vip"}}, 422, "unknown_priority"),
        ({"json": {"service": "general", "channel": "pigeon"}}, 422, "invalid_request"),
        ({"json": {"service": "general", "office": "elsewhere"}}, 404, "unknown_office"),
        (
            {"data": b"x" * 70_000, "headers": {"Content-Type": "application/json"}},
            413,
            "body_too_large",
        ),
    ],
)
def test_bad_ticket_requests(
    thread_hub: ThreadHub, kwargs: dict[str, object], status: int, code: str
) -> None:
    assert_error(post(thread_hub, "/tickets", **kwargs), status, code)


def test_oversized_chunked_body_is_refused(thread_hub: ThreadHub) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(100):
            yield b"x" * 1000

    assert_error(
        post(thread_hub, "/tickets", data=chunks(), headers={"Content-Type": "application/json"}),
        413,
        "body_too_large",
    )


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/desks/99/next", 404, "unknown_desk"),
        ("/desks/1/dance", 422, "invalid_request"),
        ("/desks/1/recall", 409, "desk_idle"),
        ("/desks/1/finish", 409, "desk_idle"),
        ("/desks/1/next?service=taxes", 409, "desk_does_not_serve"),
    ],
)
def test_bad_desk_requests(thread_hub: ThreadHub, path: str, status: int, code: str) -> None:
    assert_error(post(thread_hub, path), status, code)


def test_actions_in_the_wrong_state(thread_hub: ThreadHub) -> None:
    post(thread_hub, "/tickets", json={"service": "general"})
    post(thread_hub, "/tickets", json={"service": "general"})
    assert post(thread_hub, "/desks/1/next").status_code == 200
    assert_error(post(thread_hub, "/desks/1/finish"), 409, "ticket_not_serving")
    assert_error(post(thread_hub, "/desks/1/next"), 409, "desk_busy")
    assert post(thread_hub, "/desks/1/start").status_code == 200
    assert_error(post(thread_hub, "/desks/1/recall"), 409, "ticket_not_called")
    assert_error(post(thread_hub, "/desks/1/no-show"), 409, "ticket_not_called")
    assert_error(
        post(thread_hub, "/desks/1/transfer", json={"service": "general"}), 422, "same_service"
    )
    assert_error(
        post(thread_hub, "/desks/1/transfer", json={"service": "nope"}), 404, "unknown_service"
    )
    assert_error(post(thread_hub, "/desks/1/transfer", json={}), 422, "invalid_request")


def test_unknown_ticket_and_path(thread_hub: ThreadHub) -> None:
    r = requests.get(
        f"{thread_hub.url}/api/v1/tickets/999", headers=thread_hub.headers(), timeout=5
    )
    assert_error(r, 404, "unknown_ticket")
    r = requests.get(
        f"{thread_hub.url}/api/v1/tickets/99999999999999999999",
        headers=thread_hub.headers(),
        timeout=5,
    )
    assert_error(r, 422, "invalid_request")
    r = requests.get(f"{thread_hub.url}/api/v1/nothing-here", timeout=5)
    assert_error(r, 404, "not_found")
